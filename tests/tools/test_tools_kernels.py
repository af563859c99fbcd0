"""The kernel catalogue: known behaviour on images, scipy.ndimage as an oracle, parsing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from strided import functional, kernels


def same(image: np.ndarray, kernel: np.ndarray, mode: str = "zeros") -> np.ndarray:
    """Cross-correlate a 2-D image with "same" padding through the public conv2d."""
    return functional.conv2d(image[None, None].astype(np.float64),
                             np.asarray(kernel, dtype=np.float64)[None, None],
                             padding="same", padding_mode=mode)[0, 0]


def test_names_all_resolve_and_are_2d_and_odd() -> None:
    for name in kernels.names():
        kernel = kernels.get(name)
        assert kernel.ndim == 2 and kernel.shape[0] % 2 == 1 and kernel.shape[1] % 2 == 1, name
        assert kernels.describe(name)


def test_constants_are_read_only_and_get_returns_copies() -> None:
    with pytest.raises(ValueError, match="read-only"):
        kernels.SOBEL_X[0, 0] = 5
    copy = kernels.get("sobel-x")
    copy[0, 0] = 5
    assert kernels.SOBEL_X[0, 0] == 1


def test_aliases_case_and_separators() -> None:
    assert np.array_equal(kernels.get("Sobel_X"), kernels.SOBEL_X)
    assert np.array_equal(kernels.get("edge"), [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    assert np.array_equal(kernels.get("blur"), np.full((3, 3), 1 / 9))
    assert np.array_equal(kernels.get("shift"), [[0, 0, 0], [1, 0, 0], [0, 0, 0]])


def test_lecture_kernels_as_printed() -> None:
    assert np.array_equal(kernels.HORIZONTAL_EDGE, [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    assert np.array_equal(kernels.SOBEL_X, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    assert np.array_equal(kernels.SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert kernels.SOBEL_X.dtype == np.int64 and kernels.BOX_BLUR.dtype == np.float64


@pytest.mark.parametrize("name", ["box-blur", "gaussian", "identity", "sharpen"])
def test_constant_image_stays_constant_under_sum_one_kernels(name: str) -> None:
    image = np.full((9, 11), 7.0)
    out = same(image, kernels.get(name), mode="replicate")
    np.testing.assert_allclose(out, 7.0)


@pytest.mark.parametrize("name", ["outline", "sobel-x", "sobel-y", "prewitt-x", "prewitt-y",
                                  "laplacian", "horizontal-edge"])
def test_edge_kernels_give_zero_on_a_constant_image(name: str) -> None:
    out = same(np.full((8, 8), 3.0), kernels.get(name), mode="replicate")
    np.testing.assert_allclose(out, 0.0, atol=1e-12)


def test_sobel_x_on_a_vertical_step_gives_a_vertical_line() -> None:
    image = np.zeros((8, 10))
    image[:, 5:] = 1.0  # dark left, bright right
    out = same(image, kernels.SOBEL_X, mode="replicate")
    # left minus right: -4 on the two columns beside the step, zero elsewhere
    expected = np.zeros_like(out)
    expected[:, 4:6] = -4
    np.testing.assert_array_equal(out, expected)
    assert np.all(same(image, kernels.SOBEL_Y, mode="replicate") == 0)


@pytest.mark.parametrize(("name", "shift"), [("shift-right", (0, 1)), ("shift-left", (0, -1)),
                                             ("shift-down", (1, 0)), ("shift-up", (-1, 0))])
def test_shift_kernels_move_the_image_by_one_pixel(name: str, shift: tuple[int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 9, (7, 8)).astype(np.float64)
    out = same(image, kernels.get(name), mode="circular")
    np.testing.assert_array_equal(out, np.roll(image, shift, axis=(0, 1)))


@pytest.mark.parametrize("name", [n for n in kernels.names() if n != "curve-detector"])
def test_against_scipy_ndimage_correlate(name: str) -> None:
    image = np.random.default_rng(1).normal(size=(12, 9))
    kernel = kernels.get(name).astype(np.float64)
    expected = ndimage.correlate(image, kernel, mode="constant", cval=0.0)
    np.testing.assert_allclose(same(image, kernel), expected, atol=1e-12)


def test_gaussian_is_normalised_symmetric_and_peaked() -> None:
    k = kernels.gaussian(7, sigma=1.5)
    assert k.shape == (7, 7)
    np.testing.assert_allclose(k.sum(), 1.0)
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(k, k[::-1, ::-1])
    assert k[3, 3] == k.max()
    g = np.exp(-((np.arange(7) - 3) ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(k, np.outer(g, g) / np.outer(g, g).sum())
    wide = kernels.get("gaussian", size=7, sigma=5.0)
    assert wide[3, 3] < k[3, 3]  # a larger sigma spreads the weight


def test_box_any_odd_size() -> None:
    np.testing.assert_allclose(kernels.box(5), np.full((5, 5), 1 / 25))
    np.testing.assert_allclose(kernels.get("box-blur", size=5), np.full((5, 5), 1 / 25))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: kernels.get("sobelz"), r"unknown kernel name 'sobelz'; known names: identity"),
    (lambda: kernels.gaussian(4), r"gaussian: size must be a positive odd int .*size=4"),
    (lambda: kernels.gaussian(5, sigma=0), r"gaussian: sigma must be a positive number; "
                                           r"got sigma=0"),
    (lambda: kernels.get("sobel-x", size=5), r"size applies to 'gaussian' and 'box-blur' only"),
    (lambda: kernels.get("box-blur", sigma=1.0), r"sigma applies to 'gaussian' only"),
    (lambda: kernels.parse("1,2;3"), r"rows of different lengths \[2, 1\]"),
    (lambda: kernels.parse("1,x;3,4"), r"'x' is not a number"),
    (lambda: kernels.parse(" ; "), r"is empty"),
])
def test_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_parse_forms() -> None:
    np.testing.assert_array_equal(kernels.parse("1,1,1;0,0,0;-1,-1,-1"),
                                  kernels.HORIZONTAL_EDGE)
    np.testing.assert_array_equal(kernels.parse("[1 2]\n[3 4]"), [[1, 2], [3, 4]])
    thirds = kernels.parse("1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9")
    assert thirds.dtype == np.float64
    np.testing.assert_allclose(thirds, kernels.BOX_BLUR)
    assert kernels.parse("0.5, -2e1").tolist() == [[0.5, -20.0]]
