"""Each dtype computed to the accuracy a user expects of it; integers exactly."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
import reference
import strided
from strategies import assert_close
from strided import functional as F
from strided import grad as G
from strided import nn


@pytest.mark.parametrize("algorithm", strided.algorithms())
def test_float32_close_to_float64(level, algorithm):
    """Each algorithm on a case it claims (pointwise: 1x1), float32 within its tolerance."""
    rng = np.random.default_rng(0)
    k, p = (1, 0) if algorithm == "pointwise" else (3, 1)
    x = rng.normal(size=(4, 8, 20, 20)).astype(np.float32).astype(np.float64)
    w = rng.normal(size=(16, 8, k, k)).astype(np.float32).astype(np.float64)
    dy = rng.normal(size=(4, 16, 20, 20)).astype(np.float32).astype(np.float64)
    y64, dx64, dw64, _ = oracle.conv(x, w, None, 1, [(p, p)] * 2, 1, 1, grad_output=dy)
    x32, w32, dy32 = (a.astype(np.float32) for a in (x, w, dy))
    y = F.conv2d(x32, w32, padding=p, algorithm=algorithm)
    dx = G.conv2d_input(x.shape, w32, dy32, padding=p, algorithm=algorithm)
    dw = G.conv2d_weight(x32, w.shape, dy32, padding=p, algorithm=algorithm)
    for actual, expected, what in [(y, y64, "forward"), (dx, dx64, "grad_input"),
                                   (dw, dw64, "grad_weight")]:
        assert actual.dtype == np.float32
        assert_close(actual, expected, algorithm, what)


def test_float16_is_float16_accumulated_in_float32():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 10, 10)).astype(np.float16)
    w = rng.normal(size=(3, 4, 3, 3)).astype(np.float16)
    y = F.conv2d(x, w)
    assert y.dtype == np.float16
    exact = oracle.conv(x.astype(np.float64), w.astype(np.float64))
    # one rounding to float16 at the end: within half an ulp of float16, plus float32 sums
    np.testing.assert_allclose(y.astype(np.float64), exact, rtol=2**-10, atol=2**-10)


def test_integers_are_exact_beyond_float64_precision():
    # products near 2^60: float64 (53-bit mantissa) would round them
    rng = np.random.default_rng(2)
    x = rng.integers(-(2**40), 2**40, size=(1, 2, 5, 5))
    w = rng.integers(-(2**18), 2**18, size=(2, 2, 2, 2))
    y = F.conv2d(x, w, dilation=2, padding=1)  # PyTorch refuses dilated integer convolutions
    exact = reference.conv(x.astype(object), w.astype(object), (1, 1), [(1, 1)] * 2, (2, 2))
    assert y.dtype == np.int64
    assert (y.astype(object) == exact).all()
    assert not (F.conv2d(x.astype(np.float64), w.astype(np.float64), dilation=2, padding=1)
                .astype(np.int64).astype(object) == exact).all()


def test_integer_gradients_are_exact():
    rng = np.random.default_rng(3)
    x = rng.integers(-50, 50, size=(2, 2, 6, 6))
    w = rng.integers(-50, 50, size=(3, 2, 3, 3))
    dy = rng.integers(-50, 50, size=(2, 3, 3, 3))
    dx = G.conv2d_input(x.shape, w, dy, stride=2, padding=1)
    dw = G.conv2d_weight(x, w.shape, dy, stride=2, padding=1)
    assert dx.dtype == dw.dtype == np.int64
    np.testing.assert_array_equal(dx, reference.conv_grad_input(dy, w, x.shape, (2, 2),
                                                                [(1, 1)] * 2, (1, 1)))
    np.testing.assert_array_equal(dw, reference.conv_grad_weight(x, dy, w.shape, (2, 2),
                                                                 [(1, 1)] * 2, (1, 1)))


def test_uint8_image_does_not_wrap():
    image = np.full((1, 5, 5, 1), 255, dtype=np.uint8)
    kernel = np.ones((3, 3, 1, 1), dtype=np.uint8)
    y = nn.conv2d(image, kernel, 1, "VALID")
    assert y.dtype == np.int64
    assert (y == 9 * 255).all()


def test_bool_arrays_count():
    x = np.eye(4, dtype=bool)[None, None]
    assert F.conv2d(x, np.ones((1, 1, 2, 2), dtype=bool))[0, 0].tolist() == [
        [2, 1, 0], [1, 2, 1], [0, 1, 2]]


def test_mixed_integer_and_float_follow_numpy_promotion():
    x = np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4)
    w = np.full((1, 1, 2, 2), 0.5, dtype=np.float64)
    y = F.conv2d(x, w)
    assert y.dtype == np.float64
    assert y[0, 0, 0, 0] == 0.5 * (0 + 1 + 4 + 5)


def test_lists_are_accepted_like_arrays():
    y = F.conv2d([[[[1, 2], [3, 4]]]], [[[[1]]]], bias=[10])
    np.testing.assert_array_equal(y, [[[[11, 12], [13, 14]]]])
