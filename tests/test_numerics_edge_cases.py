"""Values at the edges: NaN and inf whatever the algorithm, float16 with a bias rounded once,
uint64 beyond int64, and the FFT's documented error on high-dynamic-range data."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
from strided import _core, grad, nn
from strided import functional as F
from strided._algorithms import choose
from strided._spec import make_spec
from strided.layers import Conv2D, Conv2DTranspose


def _same_pattern(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))


@pytest.mark.parametrize("algorithm", ["auto", "fft", "im2col"])
def test_one_nan_gives_the_direct_nan_pattern(algorithm: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, 64, 64))
    x[0, 0, 10, 10] = np.nan
    w = rng.random((8, 3, 7, 7))
    y = F.conv2d(x, w, algorithm=algorithm)
    expected = oracle.conv(x, w)
    assert np.isnan(y).sum() == np.isnan(expected).sum() == 392
    _same_pattern(y, expected)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(y[finite], expected[finite], rtol=1e-10)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fft_with_inf_in_input_and_weight_gives_the_direct_pattern(dtype) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 20, 20)).astype(dtype)
    x[0, 1, 3, 4], x[1, 0, 15, 15] = np.inf, -np.inf
    w = rng.standard_normal((3, 2, 7, 7)).astype(dtype)
    w[1, 1, 2, 2] = 0  # inf * 0 is NaN in the direct sum
    _same_pattern(F.conv2d(x, w, algorithm="fft"), oracle.conv(x, w))
    w[2, 0, 0, 0] = np.nan
    _same_pattern(F.conv2d(x, w, algorithm="fft", padding=3),
                  oracle.conv(x, w, padding=[(3, 3), (3, 3)]))


def test_fft_gradients_with_nan_give_the_im2col_pattern() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((1, 2, 16, 16))
    w = rng.random((2, 2, 7, 7))
    dy = rng.random((1, 2, 10, 10))
    dy[0, 0, 4, 4] = np.nan
    x[0, 1, 0, 0] = np.nan
    for function in (grad.conv2d_input, ):
        _same_pattern(function(x.shape, w, dy, algorithm="fft"),
                      function(x.shape, w, dy, algorithm="im2col"))
    _same_pattern(grad.conv2d_weight(x, w.shape, dy, algorithm="fft"),
                  grad.conv2d_weight(x, w.shape, dy, algorithm="im2col"))


def test_fft_error_is_relative_to_the_largest_values_as_documented() -> None:
    # _fft's docstring: error ~ eps * log2(L) * max|x| * sum|w| for every output, so outputs
    # 1e6 times smaller than the largest keep about 1e-9 relative accuracy in float64.
    rng = np.random.default_rng(3)
    x = rng.random((1, 3, 64, 64))
    x[0, :, :32] *= 1e-6
    w = rng.random((8, 3, 7, 7))
    exact = oracle.conv(x, w)
    y = F.conv2d(x, w, algorithm="fft")
    bound = np.finfo(np.float64).eps * np.log2(64) * np.abs(x).max() * np.abs(w).sum(
        axis=(1, 2, 3)).max()
    assert np.abs(y - exact).max() <= bound
    assert np.abs((y - exact) / exact).max() < 1e-8
    assert "max|x| * sum|w|" in " ".join(choose.__doc__.split())


def test_float16_with_bias_is_rounded_once() -> None:
    x = np.array([1, 2 ** -11], np.float16).reshape(1, 2, 1, 1)
    bias = np.array([2 ** -11], np.float16)
    assert F.conv2d(x, np.ones((1, 2, 1, 1), np.float16), bias)[0, 0, 0, 0] == np.float16(1.001)
    y = F.conv_transpose2d(x, np.ones((2, 1, 1, 1), np.float16), bias)
    assert y.dtype == np.float16 and y[0, 0, 0, 0] == np.float16(1.001)
    layer = Conv2D(1, 1, dtype="float16", bias_initializer="ones")
    layer.build((None, 1, 1, 2))
    layer.set_weights([np.ones((1, 1, 2, 1)), bias])
    assert layer(x.reshape(1, 1, 1, 2))[0, 0, 0, 0] == np.float16(1.001)
    transpose = Conv2DTranspose(1, 1, dtype="float16")
    transpose.build((None, 1, 1, 2))
    transpose.set_weights([np.ones((1, 1, 1, 2)), bias])
    assert transpose(x.reshape(1, 1, 1, 2))[0, 0, 0, 0] == np.float16(1.001)


def test_a_bad_bias_is_refused_before_any_work() -> None:
    spec = make_spec("conv2d", (1, 1, 3, 3), (2, 1, 1, 1), rank=2,
                     data_format="channels_first", weight_format="OIHW")
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(2,\).*bias.shape=\(3,\)"):
        _core.convolve(np.ones((1, 1, 3, 3)), np.ones((2, 1, 1, 1)), spec, bias=np.ones(3),
                       op="conv2d")


def test_uint64_above_int64_is_refused() -> None:
    x = np.full((1, 1, 2, 2), 2 ** 63 + 5, dtype=np.uint64)
    with pytest.raises(ValueError, match=r"conv2d: input holds uint64 values above 2\*\*63 - 1"):
        F.conv2d(x, np.ones((1, 1, 1, 1), np.uint64))
    with pytest.raises(ValueError, match="conv2d: filters holds uint64 values above"):
        nn.conv2d(np.ones((1, 2, 2, 1)), np.full((1, 1, 1, 1), 2 ** 64 - 1, np.uint64), 1,
                  "VALID")
    small = np.full((1, 1, 2, 2), 2 ** 62, dtype=np.uint64)
    assert F.conv2d(small, np.ones((1, 1, 1, 1), np.uint64))[0, 0, 0, 0] == 2 ** 62
