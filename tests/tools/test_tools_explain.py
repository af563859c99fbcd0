"""``explain``: the lecture's worked examples, with a loop reference that shares no code."""

from __future__ import annotations

import numpy as np
import pytest

from strided import kernels
from strided.tools import explain

LECTURE_I = [[2, 0, 1, 3], [7, 1, 1, 0], [0, 2, 5, 0], [0, 5, 1, 4]]
LECTURE_K = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]


def reference(image: object, kernel: object, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The lecture's V(x, y) = sum_m sum_n I(x + m, y + n) K(m, n), zero padding, by loops."""
    i = np.pad(np.asarray(image), pad)
    k = np.asarray(kernel)
    oh = (i.shape[0] - k.shape[0]) // stride + 1
    ow = (i.shape[1] - k.shape[1]) // stride + 1
    v = np.zeros((oh, ow), dtype=np.result_type(i, k))
    for x in range(oh):
        for y in range(ow):
            for m in range(k.shape[0]):
                for n in range(k.shape[1]):
                    v[x, y] += i[x * stride + m, y * stride + n] * k[m, n]
    return v


def test_lecture_example_and_not_the_misprint() -> None:
    e = explain(LECTURE_I, LECTURE_K)
    assert e.output.tolist() == [[-4, -3], [3, -8]]
    assert e.output.tolist() != [[-4, -3], [2, -9]]  # printed twice in the slides: wrong
    np.testing.assert_array_equal(e.output, reference(LECTURE_I, LECTURE_K))


def test_lecture_v10_slide() -> None:
    e = explain(LECTURE_I, LECTURE_K)
    np.testing.assert_array_equal(e.receptive_field(1, 0), [[7, 1, 1], [0, 2, 5], [0, 5, 1]])
    assert e.products(1, 0).sum() == 3
    lines = e.explain_position(1, 0)
    assert lines[0].startswith("V(1, 0) = sum_m sum_n I(1 + m, 0 + n) * K(m, n)")
    assert "  m = 0:  7*1 + 1*1 + 1*1  =  9" in lines
    assert "  m = 2:  0*(-1) + 5*(-1) + 1*(-1)  =  -6" in lines
    assert lines[-1] == "  V(1, 0) = 9 + 0 + (-6) = 3"


def test_lecture_padding_problem_example() -> None:
    image = [[2, 0, 1, 3], [0, 1, 1, 0], [0, 0, 2, 0], [0, 1, 1, 1]]
    assert explain(image, LECTURE_K).output.tolist() == [[1, 2], [0, -1]]


def test_lecture_sobel_valid_and_same() -> None:
    image = [[2, 0, 3, 1], [1, 1, 0, 0], [1, 0, 2, 0], [1, 0, 1, 2]]
    assert explain(image, kernels.SOBEL_X).output.tolist() == [[0, 1], [-1, -1]]
    same = explain(image, kernels.SOBEL_X, padding="same")
    assert same.output.tolist() == [[-1, -1, -1, 6], [-2, 0, 1, 5], [-1, -1, -1, 5],
                                    [0, -1, -4, 4]]
    np.testing.assert_array_equal(same.output, reference(image, kernels.SOBEL_X, pad=1))
    assert same.padding == ((1, 1), (1, 1))
    assert same.is_padding.sum() == 6 * 6 - 16
    text = "\n".join(same.explain_position(0, 0))
    assert "(0)*1 + (0)*0 + (0)*(-1)" in text  # the padding cells are marked
    assert "(numbers in parentheses are padding cells)" in text


# The lecture's curve detector (after Deshpande 2016) and the mouse's receptive fields.
# Its formula lists five products, (50*30)+(50*30)+(50*30)+(20*30)+(50*30), and says 6600:
# four 1500s and one 600 do make 6600.  The slide's extracted text prints the filter 8 wide
# with the top tap in column 6, which would meet the receptive field's 30 there and give
# 7500; the 7x7 filter of the original figure has that tap in column 5, giving 6600.
EAR = np.array([
    [0, 0, 0, 0, 0, 0, 30],
    [0, 0, 0, 0, 50, 50, 50],
    [0, 0, 0, 20, 50, 0, 0],
    [0, 0, 0, 50, 50, 0, 0],
    [0, 0, 0, 50, 50, 0, 0],
    [0, 0, 0, 50, 50, 0, 0],
    [0, 0, 0, 50, 50, 0, 0],
])
OTHER = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [0, 40, 0, 0, 0, 0, 0],
    [40, 0, 40, 0, 0, 0, 0],
    [40, 20, 0, 0, 0, 0, 0],
    [0, 50, 0, 0, 0, 0, 0],
    [0, 0, 50, 0, 0, 0, 0],
    [25, 25, 0, 50, 0, 0, 0],
])


def test_curve_detector_lights_up_on_the_ear() -> None:
    e = explain(EAR, kernels.CURVE_DETECTOR)
    assert e.output.tolist() == [[6600]]
    assert sorted(e.products(0, 0)[e.products(0, 0) != 0].tolist()) == [600, 1500, 1500,
                                                                        1500, 1500]
    printed = kernels.CURVE_DETECTOR.copy()
    printed[0] = [0, 0, 0, 0, 0, 0, 30]  # the top tap as the extracted slide text has it
    assert explain(EAR, printed).output.tolist() == [[7500]]
    assert explain(OTHER, kernels.CURVE_DETECTOR).output.tolist() == [[0]]


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_matches_the_loop_reference(stride: int, pad: int) -> None:
    rng = np.random.default_rng(stride * 10 + pad)
    image = rng.integers(-5, 6, (7, 6))
    kernel = rng.integers(-3, 4, (3, 2))
    e = explain(image, kernel, stride=stride, padding=pad)
    np.testing.assert_array_equal(e.output, reference(image, kernel, stride, pad))
    for row in range(e.output.shape[0]):
        for col in range(e.output.shape[1]):
            assert e.products(row, col).sum() == e.output[row, col]


def test_stride_and_same_windows_start_where_tensorflow_puts_them() -> None:
    e = explain(np.arange(25).reshape(5, 5), np.ones((3, 3), int), stride=2, padding="same")
    assert e.output.shape == (3, 3) and e.padding == ((1, 1), (1, 1))
    np.testing.assert_array_equal(e.receptive_field(1, 1), np.arange(25).reshape(5, 5)[1:4, 1:4])
    assert "(I's row = 1*2 - 1 + m, column = 1*2 - 1 + n" in "\n".join(e.explain_position(1, 1))


def test_convolve_flips_the_kernel() -> None:
    e = explain(LECTURE_I, LECTURE_K, convolve=True)
    assert e.output.tolist() == [[4, 3], [-3, 8]]  # the edge kernel flipped is its negative
    assert "K flipped (as it slides):" in e.text()


def test_reflect_padding_cells_hold_mirrored_values() -> None:
    e = explain([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.ones((3, 3), int), padding=1,
                padding_mode="reflect")
    assert e.padded[0].tolist() == [5, 4, 5, 6, 5]
    assert e.output[0, 0] == 5 + 4 + 5 + 2 + 1 + 2 + 5 + 4 + 5


def test_text_shows_input_kernel_and_output() -> None:
    text = explain(LECTURE_I, LECTURE_K).text(at=[(0, 1)])
    assert "output V: 2x2   rows: (4 + 0 + 0 - 3) // 1 + 1 = 2" in text
    assert "output V:\n  -4 -3\n   3 -8" in text
    assert "V(0, 1) = 4 + 0 + (-7) = -3" in text


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"input": [1, 2, 3]}, ValueError, r"explain: input must be a non-empty 2-D matrix; got "
                                       r"input.shape=\(3,\)"),
    ({"kernel": np.ones((5, 5))}, ValueError, r"explain: the kernel is larger than the padded "
                                              r"input"),
    ({"stride": 0}, ValueError, r"explain: stride must be a positive int"),
    ({"padding": "full"}, ValueError, r"explain: padding must be 'valid', 'same'"),
    ({"input": [["a", "b"], ["c", "d"]]}, TypeError, r"explain: input must hold numbers"),
])
def test_errors(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    arguments: dict[str, object] = {"input": LECTURE_I, "kernel": LECTURE_K, **kwargs}
    with pytest.raises(error, match=message):
        explain(**arguments)  # type: ignore[arg-type]


def test_position_outside_the_output() -> None:
    with pytest.raises(ValueError, match=r"output position \(2, 0\) is outside the 2x2 output; "
                                         r"rows are 0..1 and columns 0..1"):
        explain(LECTURE_I, LECTURE_K).explain_position(2, 0)


def test_dilation_windows_products_and_formula_against_torch() -> None:
    import torch

    rng = np.random.default_rng(3)
    image, kernel = rng.integers(-4, 9, (7, 8)), rng.integers(-3, 4, (3, 2))
    e = explain(image, kernel, (2, 1), ((1, 2), (0, 1)), dilation=(2, 3))
    padded = torch.nn.functional.pad(torch.tensor(image, dtype=torch.float64)[None, None],
                                     (0, 1, 1, 2))
    oracle = torch.nn.functional.conv2d(padded, torch.tensor(kernel, dtype=torch.float64)
                                        [None, None], stride=(2, 1), dilation=(2, 3))[0, 0]
    np.testing.assert_array_equal(e.output, oracle.numpy())
    for row, col in np.ndindex(*e.output.shape):
        assert e.products(row, col).sum() == e.output[row, col]
    # V(1, 2): padded rows 2, 4, 6 and columns 2, 5 are image rows 1, 3, 5 and columns 2, 5
    np.testing.assert_array_equal(e.receptive_field(1, 2), image[1:6:2, 2:6:3])
    lines = e.explain_position(1, 2)
    assert lines[0].startswith("V(1, 2) = sum_m sum_n I(1 + 2m, 2 + 3n) * K(m, n)")
    assert "receptive field I[1:6:2, 2:6:3]" in lines[2]
    assert e.size_formula() == ("output V: 3x6   rows: (7 + 1 + 2 - 2*(3 - 1) - 1) // 2 + 1 = 3"
                                "   columns: (8 + 0 + 1 - 3*(2 - 1) - 1) // 1 + 1 = 6")
