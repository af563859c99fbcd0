"""strided.signal against scipy.signal: true convolution and correlation, every mode."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from strided import signal


@given(ndim=st.integers(1, 3), seed=st.integers(0, 2**16), mode=st.sampled_from(
    ["full", "valid", "same"]), data=st.data())
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_nd_against_scipy(name, ndim, seed, mode, data):
    image_shape = data.draw(st.tuples(*[st.integers(1, 7)] * ndim))
    kernel_shape = tuple(data.draw(st.integers(1, n)) for n in image_shape)
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=kernel_shape)
    expected = getattr(scipy.signal, name)(image, kernel, mode=mode, method="direct")
    np.testing.assert_allclose(getattr(signal, name)(image, kernel, mode=mode), expected,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize(("boundary", "fillvalue"), [("fill", 0), ("fill", 2.5), ("wrap", 0),
                                                     ("symm", 0)])
@pytest.mark.parametrize("kernel_shape", [(3, 3), (2, 4), (1, 1), (4, 2)])
def test_2d_boundaries_against_scipy(name, mode, boundary, fillvalue, kernel_shape):
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(6, 7)), rng.normal(size=kernel_shape)
    expected = getattr(scipy.signal, name)(image, kernel, mode, boundary, fillvalue)
    actual = getattr(signal, name)(image, kernel, mode, boundary, fillvalue)
    np.testing.assert_allclose(actual, expected, atol=1e-12)


def test_convolution_flips_the_kernel():
    # A single 1 at the kernel's top left: true convolution, out[i] = sum of in[i - m] k[m],
    # moves a dot up and left; cross-correlation, sum of in[i + m] k[m], down and right.
    image = np.zeros((5, 5))
    image[2, 2] = 1
    kernel = np.zeros((3, 3))
    kernel[0, 0] = 1
    assert signal.convolve2d(image, kernel, "same")[1, 1] == 1
    assert signal.correlate2d(image, kernel, "same")[3, 3] == 1


def test_integer_images_stay_integers():
    out = signal.convolve2d(np.arange(9).reshape(3, 3), np.ones((2, 2), int))
    assert out.dtype.kind == "i"
    np.testing.assert_array_equal(out, scipy.signal.convolve2d(np.arange(9).reshape(3, 3),
                                                               np.ones((2, 2), int)))
