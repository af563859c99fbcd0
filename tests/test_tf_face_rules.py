"""TensorFlow's own rules in ``strided.nn``, from TensorFlow's tests: grouped filters, the
expanded batch, empty spatial inputs and degenerate transposed convolutions; and what strided
deliberately does beyond the frameworks, documented."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
import strided
from strided import functional as F
from strided import layers, nn


def test_filters_dividing_the_channels_give_a_grouped_convolution() -> None:
    y = nn.conv2d(np.ones((1, 3, 3, 4)), np.ones((1, 1, 2, 2)), 1, "VALID")
    assert y.shape == (1, 3, 3, 2)
    np.testing.assert_array_equal(y, 2.0)


@pytest.mark.parametrize(("rank", "face"), [(1, nn.conv1d), (2, nn.conv2d),
                                            (2, nn.convolution)])
def test_grouped_filters_match_a_grouped_oracle(rank: int, face) -> None:
    rng = np.random.default_rng(0)
    spatial = (7,) * rank
    x = rng.standard_normal((2, *spatial, 6))
    w = rng.standard_normal((*(3,) * rank, 2, 9))  # groups = 6 / 2 = 3, 3 filters per group
    y = face(x, w, 1, "VALID")
    expected = oracle.conv(np.moveaxis(x, -1, 1), np.moveaxis(w, (-1, -2), (0, 1)), groups=3)
    np.testing.assert_allclose(np.moveaxis(y, -1, 1), expected, rtol=1e-12, atol=1e-12)


def test_grouped_filters_must_also_divide_the_filters() -> None:
    with pytest.raises(ValueError, match=r"conv2d: groups must divide the output channels; got "
                                         r"3 output channels and groups=2"):
        nn.conv2d(np.ones((1, 3, 3, 4)), np.ones((1, 1, 2, 3)), 1, "VALID")
    with pytest.raises(ValueError, match=r"conv3d: input has 4 channels but filters expect 2"):
        nn.conv3d(np.ones((1, 3, 3, 3, 4)), np.ones((1, 1, 1, 2, 2)), 1, "VALID")


@pytest.mark.parametrize(("face", "x_shape", "w_shape"), [
    (nn.conv2d, (2, 5, 3, 3, 1), (1, 1, 1, 1)),
    (nn.conv1d, (2, 3, 4, 6, 2), (3, 2, 5)),
    (nn.conv3d, (3, 2, 4, 4, 4, 1), (2, 2, 2, 1, 2)),
    (nn.convolution, (2, 2, 6, 6, 3), (3, 3, 3, 4)),
])
def test_several_leading_batch_dimensions_are_kept(face, x_shape, w_shape) -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    rank = len(w_shape) - 2
    y = face(x, w, 1, "VALID")
    lead = x_shape[:len(x_shape) - rank - 1]
    flat = face(x.reshape(-1, *x_shape[len(lead):]), w, 1, "VALID")
    assert y.shape == (*lead, *flat.shape[1:])
    np.testing.assert_array_equal(y.reshape(flat.shape), flat)
    if x_shape == (2, 5, 3, 3, 1):
        assert y.shape == (2, 5, 3, 3, 1)


def test_empty_spatial_input_with_padding_gives_zeros() -> None:
    y = nn.conv2d(np.ones((1, 0, 2, 1)), np.ones((1, 1, 1, 1)), 1,
                  [[0, 0], [1, 1], [1, 1], [0, 0]])
    assert y.shape == (1, 2, 4, 1)
    np.testing.assert_array_equal(y, 0)
    with pytest.raises(ValueError, match="kernel is larger than the padded input"):
        nn.conv2d(np.ones((1, 0, 2, 1)), np.ones((1, 1, 1, 1)), 1, "VALID")


@pytest.mark.parametrize(("x_shape", "w_shape", "output_shape"), [
    ((1, 2, 2, 0), (2, 2, 1, 0), (1, 3, 3, 1)),
    ((1, 0, 4, 1), (1, 1, 1, 1), (1, 0, 4, 1)),
    ((0, 2, 2, 3), (2, 2, 1, 3), (0, 3, 3, 1)),
])
def test_degenerate_transposed_convolutions_give_zeros(x_shape, w_shape, output_shape) -> None:
    y = nn.conv2d_transpose(np.ones(x_shape), np.ones(w_shape), output_shape, 1, "VALID")
    assert y.shape == output_shape
    np.testing.assert_array_equal(y, 0)
    with pytest.raises(ValueError, match=r"conv2d_transpose: input \(1, 0, 4, 1\), filters "
                                         r"\(1, 1, 2, 1\) and output_shape \(1, 0, 4, 1\) "
                                         r"disagree"):
        nn.conv2d_transpose(np.ones((1, 0, 4, 1)), np.ones((1, 1, 2, 1)), (1, 0, 4, 1), 1,
                            "VALID")


@pytest.mark.parametrize("noise_shape", ["Invalid", (20, 1.5, 10), (20, -1, 10), (20, 0, 10)])
def test_dropout_checks_noise_shape(noise_shape) -> None:
    with pytest.raises(ValueError, match=r"Dropout: noise_shape must be None or a tuple of "
                                         r"positive ints"):
        layers.Dropout(0.5, noise_shape=noise_shape)


def test_dropout_noise_shape_must_broadcast() -> None:
    layer = layers.Dropout(0.5, noise_shape=(None, 3))
    with pytest.raises(ValueError, match=r"noise_shape=\(None, 3\) for inputs of shape \(2, 4\)"):
        layer(np.ones((2, 4)), training=True)
    mask = layers.Dropout(0.5, noise_shape=(None, 1), seed=0)(np.ones((50, 4)), training=True)
    assert np.all(mask == mask[:, :1])  # whole rows kept or dropped


def test_keras_arguments_keras_allows() -> None:
    layer = layers.Dropout(rate=1.0)
    y = layer(np.ones((3, 4)), training=True)
    np.testing.assert_array_equal(y, 0)
    np.testing.assert_array_equal(layer.backward(np.ones((3, 4))), 0)
    norm = layers.BatchNormalization(epsilon=0, momentum=1.5)
    x = np.arange(8.0).reshape(4, 2)
    y = norm(x, training=True)
    np.testing.assert_allclose(y, (x - x.mean(0)) / x.std(0), rtol=1e-6)
    np.testing.assert_allclose(norm.params["moving_mean"], 1.5 * 0 + (1 - 1.5) * x.mean(0))
    with pytest.raises(ValueError, match=r"epsilon must be non-negative\. Received: "
                                         r"epsilon=-1"):
        layers.BatchNormalization(epsilon=-1)


def test_activation_can_be_set_to_none() -> None:
    conv = layers.Conv2D(1, 1, activation="relu", kernel_initializer="ones")
    x = -np.ones((1, 2, 2, 1))
    assert np.all(conv(x) == 0)
    conv.activation = None
    np.testing.assert_array_equal(conv(x), x)
    dense = layers.Dense(1, activation="relu", kernel_initializer="ones")
    dense.activation = "linear"
    np.testing.assert_array_equal(dense(-np.ones((1, 1))), -1)
    with pytest.raises(ValueError, match=r"Unknown activation.*Received: activation='nope'"):
        dense.activation = "nope"


def test_strides_and_dilations_together_are_exact_and_documented() -> None:
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 11, 11)), rng.standard_normal((3, 2, 3, 3))
    np.testing.assert_allclose(F.conv2d(x, w, stride=2, dilation=2),
                               oracle.conv(x, w, stride=2, dilation=2), rtol=1e-12, atol=1e-12)
    for doc in (nn.__doc__, F.__doc__, layers.Conv2D.__doc__):
        assert "strides and dilations above 1 together" in " ".join(doc.split()) or (
            "``strides`` and ``dilation_rate`` above 1 together" in " ".join(doc.split()))


def test_integer_input_with_float_bias_promotes_as_numpy_and_is_documented() -> None:
    y = F.conv2d(np.ones((1, 1, 2, 2), np.int64), np.ones((1, 1, 1, 1), np.int64),
                 np.array([0.5]))
    assert y.dtype == np.float64 and y[0, 0, 0, 0] == 1.5
    assert "a float bias on an integer input gives a float result" in " ".join(F.__doc__.split())


def test_same_with_a_stride_in_the_pytorch_face_is_tensorflows_and_documented() -> None:
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    y = F.conv2d(x, w, stride=2, padding="same")
    assert y.shape == (1, 1, 3, 3) == (1, 1, *strided.output_shape((5, 5), 3, 2, "same"))
    np.testing.assert_array_equal(y[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]])
    assert "also works with a stride above 1, by TensorFlow's rule" in " ".join(F.__doc__.split())
