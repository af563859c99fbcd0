"""``filter_image`` with large kernels: FFT chosen, strips of useful size, one convolution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from strided import functional
from strided._algorithms import ALGORITHMS, choose
from strided._spec import make_spec
from strided.tools import _images
from strided.tools._images import filter_image


def _single(size: int, kernel: int, batch: int = 1):
    return make_spec("filter", (batch, size, size, 1), (kernel, kernel, 1, 1), rank=2,
                     padding="same")


def test_auto_takes_fft_for_large_single_channel_kernels() -> None:
    f64 = np.dtype(np.float64)
    assert choose(_single(128, 63), f64) is ALGORITHMS["fft"]
    assert choose(_single(512, 31), f64) is ALGORITHMS["fft"]
    assert choose(_single(512, 21), f64) is ALGORITHMS["direct"]
    assert choose(_single(128, 5), f64) is ALGORITHMS["direct"]
    assert choose(_single(128, 63), np.dtype(np.int64)) is ALGORITHMS["im2col"]


@pytest.fixture
def counted(monkeypatch):
    calls: list[tuple[int, ...]] = []
    original = functional.conv2d

    def conv2d(x, w, *args, **kwargs):
        calls.append(x.shape)
        return original(x, w, *args, **kwargs)

    monkeypatch.setattr(_images.functional, "conv2d", conv2d)
    return calls


@pytest.mark.parametrize("normalize", [False, True])
def test_a_large_kernel_is_filtered_in_few_strips_once(counted, normalize: bool) -> None:
    rng = np.random.default_rng(0)
    image = (rng.random((96, 80)) * 255).astype(np.uint8)
    kernel = rng.random((41, 41)) - 0.5
    pixels, stats = filter_image(image, kernel, normalize=normalize)
    assert len(counted) == 1  # 96 rows of 120 padded columns fit one strip
    expected = ndimage.correlate(image.astype(np.float64), kernel, mode="constant")
    assert stats["minimum"] == pytest.approx(expected.min(), rel=1e-9)
    assert stats["maximum"] == pytest.approx(expected.max(), rel=1e-9)
    if normalize:
        want = np.rint((expected - expected.min()) * 255 / np.ptp(expected))
    else:
        want = np.clip(np.rint(expected), 0, 255)
    np.testing.assert_array_equal(pixels, want.astype(np.uint8))


def test_small_strips_hold_at_least_a_kernel_of_rows(counted) -> None:
    image = np.arange(60 * 50, dtype=np.uint16).reshape(60, 50) % 251
    kernel = np.ones((9, 9)) / 81
    pixels, _ = filter_image(image, kernel, max_elements=1000)
    assert all(shape[2] >= 9 + 8 for shape in counted[:-1])  # output rows + the overlap
    assert len(counted) <= -(-60 // 9)
    expected = ndimage.correlate(image.astype(np.float64), kernel, mode="constant")
    np.testing.assert_array_equal(pixels, np.clip(np.rint(expected), 0, 65535))
