"""Images and matrices in and out, and filtering in strips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strided import functional, kernels
from strided.tools import filter_image, load_kernel, load_matrix, read_image, write_image


def full_conv(image: np.ndarray, kernel: np.ndarray, **kwargs: object) -> np.ndarray:
    """Every channel at once through the public conv2d: (H, W, C) -> (H', W', C)."""
    x = image.transpose(2, 0, 1)[:, None].astype(np.float64)
    return functional.conv2d(x, kernel[None, None].astype(np.float64),
                             **kwargs)[:, 0].transpose(1, 2, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(("stride", "padding"), [(1, "same"), (2, "same"), (3, "valid"),
                                                 (2, ((2, 0), (1, 3)))])
def test_strips_equal_one_convolution(photo: np.ndarray, mode: str, stride: int,
                                      padding: object) -> None:
    kernel = np.random.default_rng(0).normal(size=(3, 5))
    expected = full_conv(photo, kernel, stride=stride, padding=padding, padding_mode=mode)
    # a tiny max_elements forces one or two output rows per strip
    pixels, stats = filter_image(photo, kernel, stride, padding, mode, normalize=True,
                                 max_elements=2000)
    assert pixels.shape == expected.shape and pixels.dtype == np.uint8
    low, high = expected.min(), expected.max()
    np.testing.assert_allclose([stats["minimum"], stats["maximum"]], [low, high])
    np.testing.assert_array_equal(pixels, np.rint((expected - low) * 255 / (high - low)))


def test_clipping_is_counted(digit: np.ndarray) -> None:
    pixels, stats = filter_image(digit, kernels.SOBEL_X)
    expected = full_conv(digit[:, :, None], kernels.SOBEL_X, padding="same")[:, :, 0]
    np.testing.assert_array_equal(pixels, np.clip(expected, 0, 255))
    assert stats["clipped"] == pytest.approx(np.mean((expected < 0) | (expected > 255)))
    assert stats["clipped"] > 0.05  # the digit's edges go well outside 0..255


def test_identity_and_sixteen_bit(tmp_path: Path) -> None:
    image = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500)
    path = write_image(tmp_path / "deep.png", image)
    back = read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)
    pixels, stats = filter_image(back, kernels.IDENTITY)
    np.testing.assert_array_equal(pixels, image)
    assert stats["clipped"] == 0


def test_write_leaves_no_temporary_files(tmp_path: Path, digit: np.ndarray) -> None:
    write_image(tmp_path / "a.png", digit)
    write_image(tmp_path / "a.png", digit[::-1])  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), digit[::-1])


def test_read_colour_and_grey(photo_jpg: Path, photo: np.ndarray) -> None:
    colour = read_image(photo_jpg)
    assert colour.shape == (*photo.shape[:2], 3) and colour.dtype == np.uint8
    assert np.abs(colour.astype(int) - photo).mean() < 6  # JPEG is lossy
    assert read_image(photo_jpg, grey=True).shape == photo.shape[:2]


def test_load_matrix_sources(tmp_path: Path) -> None:
    matrix = np.array([[1, 2], [3, 4]])
    np.save(tmp_path / "m.npy", matrix)
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    np.testing.assert_array_equal(load_matrix(str(tmp_path / "m.npy")), matrix)
    np.testing.assert_array_equal(load_matrix(str(tmp_path / "m.csv")), matrix)
    np.testing.assert_array_equal(load_matrix("1,2;3,4"), matrix)
    np.testing.assert_array_equal(load_kernel("sobel-x"), kernels.SOBEL_X)
    np.testing.assert_allclose(load_kernel("gaussian", size=3, sigma=1.0),
                               kernels.gaussian(3, 1.0))


def test_load_matrix_never_unpickles(tmp_path: Path) -> None:
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(OSError, match=r"cannot read input '.*evil.npy': not a NumPy .npy array"):
        load_matrix(str(tmp_path / "evil.npy"), "input")


@pytest.mark.parametrize(("source", "error", "message"), [
    ("missing.npy", OSError, r"cannot read input 'missing.npy': no such file"),
    ("1,2;3", ValueError, r"input '1,2;3' has rows of different lengths"),
])
def test_load_matrix_errors(source: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        load_matrix(source, "input")


def test_read_image_errors(tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(OSError, match=r"cannot read image '.*fake.png': not an image Pillow"):
        read_image(tmp_path / "fake.png")
    with pytest.raises(OSError, match=r"cannot read image '.*none.png': no such file"):
        read_image(tmp_path / "none.png")
    with pytest.raises(ValueError, match=r"cannot write image '.*x.txt': unknown type '.txt'"):
        write_image(tmp_path / "x.txt", np.zeros((2, 2), np.uint8))
