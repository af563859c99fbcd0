"""Every call, shape and worked example of the three seed documents, through strided's faces.

Numbers are the documents' where they are right; where a printed answer is wrong, the test
holds the right one and says so.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
import strided
from strided import functional as F
from strided import nn
from strided.layers import Conv2D

LECTURE_IMAGE = np.array([[2, 0, 1, 3], [7, 1, 1, 0], [0, 2, 5, 0], [0, 5, 1, 4]])
HORIZONTAL_EDGE = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
SOBEL_X = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
SOBEL_IMAGE = np.array([[2, 0, 3, 1], [1, 1, 0, 0], [1, 0, 2, 0], [1, 0, 1, 2]])


def tf_conv(image, kernel, strides=1, padding="VALID"):
    """The lecture's tf.nn.conv2d on one grey image: NHWC input, HWIO filter."""
    batch = nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], strides, padding)
    return batch[0, :, :, 0]


def torch_conv(image, kernel, stride=1, padding=0):
    return F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]


def keras_conv(image, kernel, strides=1, padding="valid"):
    layer = Conv2D(1, kernel.shape, strides=strides, padding=padding, use_bias=False,
                   dtype="float64")
    layer.build((None, *image.shape, 1))
    layer.set_weights([kernel[:, :, None, None]])
    return layer(image[None, :, :, None])[0, :, :, 0]


FACES = [tf_conv, torch_conv]


@pytest.mark.parametrize("face", FACES)
def test_what_convolution_does(face):
    # V(0,0) = (2+0+1) - (0+2+5) = -4, V(0,1) = (0+1+3) - (2+5+0) = -3,
    # V(1,0) = (7+1+1) - (0+5+1) = 3,  V(1,1) = (1+1+0) - (5+1+4) = -8.
    # The "Key Idea 1" and "partially connected" slides print [[-4, -3], [2, -9]]: wrong.
    out = face(LECTURE_IMAGE, HORIZONTAL_EDGE)
    np.testing.assert_array_equal(out, [[-4, -3], [3, -8]])
    assert out.dtype.kind == "i"  # integer input, integer answer: no rounding anywhere


def test_keras_face_on_the_lecture_example():
    out = keras_conv(LECTURE_IMAGE.astype(float), HORIZONTAL_EDGE.astype(float))
    np.testing.assert_array_equal(out, [[-4, -3], [3, -8]])


def test_the_formula_term_by_term():
    # V(1, 0) = sum over m, n of I(1 + m, 0 + n) K(m, n), as on the slide
    by_hand = sum(LECTURE_IMAGE[1 + m, 0 + n] * HORIZONTAL_EDGE[m, n]
                  for m in range(3) for n in range(3))
    assert tf_conv(LECTURE_IMAGE, HORIZONTAL_EDGE)[1, 0] == by_hand == 3


@pytest.mark.parametrize("face", FACES)
def test_problem_with_convolution_output_is_smaller(face):
    image = np.array([[2, 0, 1, 3], [0, 1, 1, 0], [0, 0, 2, 0], [0, 1, 1, 1]])
    np.testing.assert_array_equal(face(image, HORIZONTAL_EDGE), [[1, 2], [0, -1]])


@pytest.mark.parametrize("face", FACES)
def test_valid_padding_sobel(face):
    np.testing.assert_array_equal(face(SOBEL_IMAGE, SOBEL_X), [[0, 1], [-1, -1]])


@pytest.mark.parametrize("padding", ["SAME", "same", "Same"])
def test_same_padding_homework(padding):
    expected = [[-1, -1, -1, 6], [-2, 0, 1, 5], [-1, -1, -1, 5], [0, -1, -4, 4]]
    np.testing.assert_array_equal(tf_conv(SOBEL_IMAGE, SOBEL_X, padding=padding), expected)
    np.testing.assert_array_equal(torch_conv(SOBEL_IMAGE, SOBEL_X, padding=padding), expected)
    # SAME with a 3x3 kernel and stride 1 is one zero on every side: the slide's p = 1
    np.testing.assert_array_equal(torch_conv(SOBEL_IMAGE, SOBEL_X, padding=1), expected)


def test_stride_two_on_five_by_five():
    image = np.array([[2, 0, 3, 1, 0], [2, 4, 5, 2, 3], [0, 0, 3, 3, 1], [2, 9, 9, 7, 8],
                      [3, 4, 7, 2, 1]])
    # Windows start at rows and columns 0 and 2; worked by hand:
    # (5 - 3), (4 - 7), (3 - 14), (7 - 10)
    expected = [[2, -3], [-11, -3]]
    np.testing.assert_array_equal(tf_conv(image, HORIZONTAL_EDGE, strides=[1, 2, 2, 1]), expected)
    np.testing.assert_array_equal(torch_conv(image, HORIZONTAL_EDGE, stride=2), expected)
    np.testing.assert_array_equal(
        keras_conv(image.astype(float), HORIZONTAL_EDGE.astype(float), strides=2), expected)


def test_larger_stride_turns_bigger_input_into_same_output():
    assert strided.output_shape((4, 4), 3, stride=1) == (2, 2)
    assert strided.output_shape((5, 5), 3, stride=2) == (2, 2)


def test_padding_two_surrounds_with_zeros():
    image = np.array([[2, 3], [9, 2]])
    padded = torch_conv(image, np.array([[1]]), padding=2)  # a 1x1 identity shows the padding
    expected = np.zeros((6, 6), dtype=int)
    expected[2:4, 2:4] = image
    np.testing.assert_array_equal(padded, expected)


@pytest.mark.parametrize(("w", "f", "s", "p", "expected"), [
    (4, 3, 1, 0, 2),  # "Output size for VALID padding": (4 - 3 + 0) / 1 + 1 = 2
    (4, 3, 1, 1, 4),  # "Output size for SAME padding": (4 - 3 + 2) / 1 + 1 = 4
    (5, 3, 2, 0, 2),
    (2, 3, 1, 2, 4),
])
def test_lecture_output_size_formula(w, f, s, p, expected):
    assert strided.output_shape(w, f, stride=s, padding=p) == expected
    assert (w - f + 2 * p) // s + 1 == expected
    image = np.arange(w * w).reshape(w, w)
    assert torch_conv(image, np.ones((f, f), int), stride=s, padding=p).shape == (expected,) * 2


def test_mnist_layer_of_the_lecture():
    rng = np.random.default_rng(0)
    inputs = rng.random((8, 28, 28, 1), dtype=np.float32)  # (batch_sz, 28, 28, 1)
    filters = rng.normal(0, 0.1, [5, 5, 1, 16]).astype(np.float32)
    conv = nn.conv2d(inputs, filters, [1, 2, 2, 1], padding="SAME")
    assert conv.shape == (8, 14, 14, 16)
    assert conv.dtype == np.float32
    expected = reference.conv(inputs[:1].transpose(0, 3, 1, 2).astype(np.float64),
                              filters.transpose(3, 2, 0, 1).astype(np.float64),
                              (2, 2), [(1, 2), (1, 2)], (1, 1))
    np.testing.assert_allclose(conv[:1].transpose(0, 3, 1, 2), expected, rtol=1e-5, atol=1e-5)


def test_cifar_layer_of_the_lecture():
    # The slide's blanks: tf.random.normal([5, 5, 3, 16]) and conv2d(inputs, filter,
    # [1, 2, 2, 1], padding="SAME")
    rng = np.random.default_rng(1)
    inputs = rng.random((4, 32, 32, 3), dtype=np.float32)
    filters = rng.normal(0, 0.1, [5, 5, 3, 16]).astype(np.float32)
    assert nn.conv2d(inputs, filters, [1, 2, 2, 1], padding="SAME").shape == (4, 16, 16, 16)


def test_curve_detector_product_sum():
    # The receptive field and the filter of the "Detecting patterns" slide, 7x7.
    field = np.zeros((7, 7), int)
    field[0, 6] = 30
    field[1, 4:7] = 50
    field[2, 3:5] = (20, 50)
    field[3:7, 3:5] = 50
    curve = np.zeros((7, 7), int)
    curve[0, 6] = 30
    curve[1, 5] = 30
    curve[2:6, 3] = 30
    # The slide sums (50*30)*4 + (20*30) = 6600 but leaves out the top-right 30*30 = 900 that
    # its own numbers hold: the product-sum of the printed numbers is 7500.
    assert tf_conv(field, curve)[0, 0] == 7500 == (field * curve).sum()
    other = np.zeros((7, 7), int)
    other[1, 1] = other[2, 0] = other[2, 2] = other[3, 0] = 40
    other[3, 1] = 20
    other[4, 1] = other[5, 2] = other[6, 3] = 50
    other[6, 0:2] = 25
    assert tf_conv(other, curve)[0, 0] == 0  # "Multiplication and Summation = 0"


def test_pytorch_note_rgb_image_with_four_kernels():
    # conv2d(3, 4): 4 filters x 3 channels = 12 kernels; each output channel is the sum of its
    # filter's 3 per-channel convolutions.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 3, 9, 9))
    w = rng.normal(size=(4, 3, 3, 3))
    y = F.conv2d(x, w)
    per_kernel = [[F.conv2d(x[:, c:c + 1], w[o:o + 1, c:c + 1]) for c in range(3)]
                  for o in range(4)]
    assert sum(len(row) for row in per_kernel) == 12
    np.testing.assert_allclose(y, np.concatenate([sum(row) for row in per_kernel], axis=1))


@pytest.mark.parametrize(("h", "p", "d", "k", "s"), [(32, 0, 1, 3, 1), (32, 1, 2, 3, 2),
                                                      (28, 2, 3, 5, 3), (7, 0, 1, 7, 1)])
def test_pytorch_note_size_formula_with_dilation(h, p, d, k, s):
    # The note prints H_out = (H_in + 2P - D(K - 1) - 1) / S; PyTorch's formula, and the
    # true size, is floor of that plus one.
    expected = (h + 2 * p - d * (k - 1) - 1) // s + 1
    x = np.zeros((1, 1, h, h))
    assert F.conv2d(x, np.zeros((1, 1, k, k)), stride=s, padding=p, dilation=d).shape[2] == expected
    assert strided.output_shape(h, k, s, p, d) == expected


def test_keras_article_conv2d():
    input_shape = (4, 28, 28, 3)
    x = np.random.default_rng(3).normal(size=input_shape)
    layer = Conv2D(2, 3, activation="relu", input_shape=input_shape[1:])
    y = layer(x)
    assert y.shape == (4, 26, 26, 2)
    assert (y >= 0).all()
    # a filter is a stack of C_in = 3 kernels of 3x3; there are `filters` = 2 of them
    assert layer.kernel.shape == (3, 3, 3, 2)
    assert layer.count_params() == 3 * 3 * 3 * 2 + 2
