"""Each Keras layer of strided against Keras 3 itself, with the same weights, in float64.

Per layer: the output, the parameter count, ``compute_output_shape``, the ``summary()`` row,
and the backward pass (input and weight gradients) against ``torch.autograd`` run through the
Keras layer (Keras' torch backend, so PyTorch float64 computes the oracle's gradients).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from keras_oracle import copy_weights, keras, keras_backward, summary_rows

from strided import Sequential, layers

# (the layer, made from a layers module: strided.layers or keras.layers; input shape)
LAYERS = [
    (lambda L: L.Conv1D(3, 3, strides=2, padding="same"), (9, 2)),
    (lambda L: L.Conv1D(2, 3, padding="causal", dilation_rate=2), (8, 2)),
    (lambda L: L.Conv2D(3, 3, strides=2, padding="same", activation="relu"), (7, 7, 2)),
    (lambda L: L.Conv2D(4, 3, groups=2, dilation_rate=2), (9, 9, 4)),
    (lambda L: L.Conv2D(2, 3, data_format="channels_first"), (2, 7, 7)),
    (lambda L: L.Conv3D(2, 2, padding="same"), (4, 4, 4, 2)),
    (lambda L: L.Conv1DTranspose(3, 3, strides=2), (5, 2)),
    (lambda L: L.Conv2DTranspose(3, 3, strides=2, padding="same"), (4, 4, 2)),
    (lambda L: L.Conv2DTranspose(2, 4, strides=2, output_padding=1), (3, 3, 2)),
    (lambda L: L.Conv2DTranspose(2, 3, dilation_rate=2), (4, 4, 2)),
    (lambda L: L.Conv3DTranspose(2, 2, strides=2, padding="same"), (3, 3, 3, 2)),
    (lambda L: L.DepthwiseConv1D(3, depth_multiplier=2), (8, 3)),
    (lambda L: L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2), (7, 7, 3)),
    (lambda L: L.SeparableConv1D(4, 3, padding="same", activation="tanh"), (8, 3)),
    (lambda L: L.SeparableConv2D(4, 3, strides=2, depth_multiplier=2), (9, 9, 3)),
    (lambda L: L.Dense(3, activation="gelu"), (5,)),
    (lambda L: L.MaxPooling1D(2), (7, 3)),
    (lambda L: L.MaxPooling2D(3, 2, padding="same"), (7, 7, 2)),
    (lambda L: L.MaxPooling3D(2), (4, 4, 4, 2)),
    (lambda L: L.AveragePooling1D(3, 1, padding="same"), (7, 3)),
    (lambda L: L.AveragePooling2D(2), (6, 6, 2)),
    (lambda L: L.AveragePooling3D(2), (4, 4, 4, 1)),
    (lambda L: L.GlobalMaxPooling1D(), (5, 3)),
    (lambda L: L.GlobalAveragePooling2D(), (4, 4, 3)),
    (lambda L: L.GlobalMaxPooling3D(), (3, 3, 3, 2)),
    (lambda L: L.GlobalAveragePooling3D(keepdims=True), (3, 3, 3, 2)),
    (lambda L: L.ZeroPadding1D((1, 2)), (4, 2)),
    (lambda L: L.ZeroPadding2D(((1, 0), (2, 1))), (3, 3, 2)),
    (lambda L: L.ZeroPadding3D(1), (2, 2, 2, 1)),
    (lambda L: L.Cropping1D((1, 2)), (6, 2)),
    (lambda L: L.Cropping2D(((1, 0), (0, 2))), (5, 5, 2)),
    (lambda L: L.Cropping3D(((1, 0), (0, 1), (1, 1))), (4, 4, 4, 1)),
    (lambda L: L.UpSampling1D(3), (4, 2)),
    (lambda L: L.UpSampling2D((2, 3)), (3, 3, 2)),
    (lambda L: L.UpSampling2D((2, 3), interpolation="bilinear"), (3, 4, 2)),
    (lambda L: L.UpSampling2D(2, data_format="channels_first", interpolation="bilinear"),
     (2, 3, 3)),
    (lambda L: L.UpSampling3D(2), (2, 2, 2, 1)),
    (lambda L: L.Reshape((-1, 2)), (4, 3, 2)),
    (lambda L: L.Permute((2, 1, 3)), (3, 4, 2)),
    (lambda L: L.Flatten(), (3, 4, 2)),
    (lambda L: L.Rescaling(0.5, offset=1.0), (3, 4)),
    (lambda L: L.LayerNormalization(), (5, 4)),
    (lambda L: L.LayerNormalization(epsilon=1e-5, center=False), (3, 4, 2)),
    (lambda L: L.BatchNormalization(), (4, 4, 3)),
    (lambda L: L.LeakyReLU(0.1), (6,)),
    (lambda L: L.PReLU(shared_axes=[1, 2]), (3, 3, 2)),
    (lambda L: L.ELU(0.7), (6,)),
    (lambda L: L.Softmax(), (3, 4)),
    (lambda L: L.ReLU(max_value=1.0), (6,)),
    *[(lambda L, a=a: L.Activation(a), (6,)) for a in
      ("selu", "gelu", "swish", "silu", "hard_sigmoid", "softplus", "elu", "tanh", "sigmoid")],
]


# Keras' torch backend computes these layers' means and matrix products in float32 even for
# float64 layers (measured: Dense 6e-8, GlobalAveragePooling2D 3e-8 from the exact values), so
# they are compared at float32's precision; test_keras_gradients.py checks their float64
# backward passes against finite differences.
FLOAT32_IN_KERAS = ("Dense", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
                    "LayerNormalization", "BatchNormalization", "hard_sigmoid")


def _tolerances(layer: object) -> dict[str, float]:
    names = (type(layer).__name__, getattr(getattr(layer, "activation", None), "name", ""))
    loose = any(n in FLOAT32_IN_KERAS for n in names)
    return {"rtol": 1e-5, "atol": 1e-6} if loose else {"rtol": 1e-9, "atol": 1e-11}


def _ids(case: tuple) -> str:
    make, shape = case
    return f"{type(make(layers)).__name__}-{shape}"


def _pair(make, shape, seed=0):
    rng = np.random.default_rng(seed)
    ours = make(layers)
    theirs = make(keras.layers)
    ours.dtype = np.dtype("float64")
    theirs.build((None, *shape))
    ours.build((None, *shape))
    copy_weights(theirs, ours, rng)
    x = rng.normal(size=(3, *shape))
    return ours, theirs, x, rng


@pytest.mark.parametrize("case", LAYERS, ids=[_ids(c) for c in LAYERS])
def test_layer_matches_keras(case) -> None:
    make, shape = case
    ours, theirs, x, rng = _pair(make, shape)
    assert ours.count_params() == theirs.count_params()
    assert ours.compute_output_shape((None, *shape)) == tuple(
        theirs.compute_output_shape((None, *shape)))
    tol = _tolerances(ours)
    expected = np.asarray(theirs(x, training=False).detach().numpy())
    np.testing.assert_allclose(ours(x), expected, **tol)
    # backward, in training mode (BatchNormalization then uses the batch's statistics)
    y = ours(x, training=True)
    grad = rng.normal(size=y.shape)
    k_y, k_dx, k_dw = keras_backward(theirs, x, grad, training=True)
    np.testing.assert_allclose(y, k_y, **tol)
    np.testing.assert_allclose(ours.backward(grad), k_dx, **tol)
    for name, value in k_dw.items():
        np.testing.assert_allclose(ours.grads[name], value, **tol, err_msg=name)
    assert set(ours.grads) == set(k_dw)


@pytest.mark.parametrize("case", LAYERS, ids=[_ids(c) for c in LAYERS])
def test_summary_row_matches_keras(case) -> None:
    make, shape = case
    ours = Sequential([layers.Input(shape), make(layers)], name="m")
    theirs = keras.Sequential([keras.Input(shape), make(keras.layers)], name="m")
    ours.layers[0].name = theirs.layers[0].name = "l"
    assert summary_rows(lambda p: ours.summary(print_fn=p)) == summary_rows(
        lambda p: theirs.summary(print_fn=p))


@pytest.mark.parametrize("case", LAYERS, ids=[_ids(c) for c in LAYERS])
def test_get_config_round_trips_and_uses_keras_names(case) -> None:
    make, shape = case
    ours, theirs = make(layers), make(keras.layers)
    config = ours.get_config()
    again = type(ours).from_config(config)
    assert again.get_config() == config
    # every argument strided keeps is one Keras keeps, under the same name
    assert set(config) - {"algorithm"} <= set(theirs.get_config()), (
        set(config) - set(theirs.get_config()))
    x = np.random.default_rng(1).normal(size=(2, *shape))
    ours(x)
    again.build((None, *shape))
    again.set_weights(ours.get_weights())
    np.testing.assert_array_equal(again(x), ours(x))


MERGES = [
    lambda L: L.Add(), lambda L: L.Subtract(), lambda L: L.Multiply(), lambda L: L.Average(),
    lambda L: L.Maximum(), lambda L: L.Minimum(), lambda L: L.Concatenate(axis=1),
    lambda L: L.Concatenate(),
]


@pytest.mark.parametrize("make", MERGES, ids=lambda m: type(m(layers)).__name__)
def test_merge_layer_matches_keras(make) -> None:
    rng = np.random.default_rng(2)
    shapes = [(3, 4, 2), (3, 4, 2)] if type(make(layers)).__name__ in (
        "Subtract", "Concatenate") else [(3, 4, 2)] * 3
    xs = [rng.normal(size=s) for s in shapes]
    ours, theirs = make(layers), make(keras.layers)
    ours.dtype = np.dtype("float64")
    y = ours(xs, training=True)
    grad = rng.normal(size=y.shape)
    k_y, k_dx, _ = keras_backward(theirs, xs, grad)
    # Keras' torch backend takes maxima and minima in float32: compare at that precision,
    # and exactly with NumPy's
    kind = type(ours).__name__
    if kind in ("Maximum", "Minimum"):
        pick = np.maximum if kind == "Maximum" else np.minimum
        np.testing.assert_array_equal(y, pick.reduce(xs))
    tol = 1e-6 if kind in ("Maximum", "Minimum") else 1e-12
    np.testing.assert_allclose(y, k_y, rtol=tol)
    for d, k in zip(ours.backward(grad), k_dx):
        np.testing.assert_allclose(d, k, rtol=tol, atol=tol * 1e-2)
    assert ours.compute_output_shape([(None, *s[1:]) for s in shapes]) == tuple(
        theirs.compute_output_shape([(None, *s[1:]) for s in shapes]))


def test_spatial_dropout_drops_whole_channels_and_is_identity_at_inference() -> None:
    x = np.ones((4, 5, 5, 8))
    layer = layers.SpatialDropout2D(0.5, seed=3)
    np.testing.assert_array_equal(layer(x), x)
    y = layer(x, training=True)
    per_channel = y.reshape(4, 25, 8)
    assert np.all(per_channel == per_channel[:, :1, :])  # one value per sample and channel
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), y)
    assert layers.SpatialDropout1D(0.5)(np.ones((2, 3, 4)), training=True).shape == (2, 3, 4)


def test_any_callable_is_an_activation_with_its_derivative() -> None:
    layer = layers.Dense(3, activation=lambda z: z ** 3 + np.sin(z))
    x = np.random.default_rng(4).normal(size=(2, 4))
    layer.dtype = np.dtype("float64")
    z = x @ layer(x[:0]).reshape(0, 3).T[:0].T if False else None
    y = layer(x, training=True)
    w, b = layer.get_weights()
    z = x @ w + b
    np.testing.assert_allclose(y, z ** 3 + np.sin(z), rtol=1e-12)
    layer.backward(np.ones_like(y))
    np.testing.assert_allclose(layer.grads["bias"], (3 * z ** 2 + np.cos(z)).sum(0), rtol=1e-9)
    relu = layers.Activation(lambda v: np.maximum(v, 0))  # not complex-friendly: differences
    v = np.array([[-1.0, 2.0]])
    relu(v, training=True)
    np.testing.assert_allclose(relu.backward(np.ones_like(v)), [[0.0, 1.0]], atol=1e-6)


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), ValueError,
     r"DepthwiseConv2D: invalid value for argument `depth_multiplier`.*Received: "
     r"depth_multiplier=0"),
    (lambda: layers.SeparableConv2D(0, 3), ValueError, r"SeparableConv2D: invalid value for "
     r"argument `filters`.*Received: filters=0"),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2), ValueError,
     r"Conv2DTranspose: each output_padding must be smaller than the stride. Received: "
     r"output_padding=2, strides=2"),
    (lambda: layers.Conv3DTranspose(2, 3, padding="causal"), ValueError,
     r"Conv3DTranspose: padding must be one of \('valid', 'same'\)"),
    (lambda: layers.DepthwiseConv1D(3, padding="causal"), ValueError,
     r"DepthwiseConv1D: padding must be one of \('valid', 'same'\). Received: "
     r"padding='causal'"),
    (lambda: layers.SeparableConv1D(2, 3, padding="causal"), ValueError,
     r"SeparableConv1D: padding must be one of \('valid', 'same'\)"),
    (lambda: layers.Conv1DTranspose(2, (3, 3)), ValueError, r"kernel_size must be a positive "
     r"int or a sequence of 1"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), ValueError, r"ZeroPadding2D: padding must be a "
     r"non-negative int.*Received: padding=\(1, 2, 3\)"),
    (lambda: layers.Cropping1D((3, 3))(np.zeros((1, 5, 1))), ValueError, r"Cropping1D: "
     r"cropping \(3, 3\) leaves nothing of an axis of size 5"),
    (lambda: layers.Reshape((4, -1, -1)), ValueError, r"Reshape: target_shape must hold "
     r"positive ints and at most one -1"),
    (lambda: layers.Reshape((5,))(np.zeros((1, 2, 3))), ValueError, r"Reshape: total size of "
     r"the new array must be unchanged"),
    (lambda: layers.Permute((1, 3)), ValueError, r"Permute: invalid permutation argument "
     r"`dims`.*Received: dims=\(1, 3\)"),
    (lambda: layers.LeakyReLU(-1), ValueError, r"LeakyReLU: the negative_slope value.*"
     r"Received: negative_slope=-1"),
    (lambda: layers.UpSampling2D(interpolation="bicubic"), NotImplementedError,
     r"UpSampling2D: only interpolation 'nearest' and 'bilinear' are implemented. Received: "
     r"interpolation='bicubic'"),
    (lambda: layers.Add()([np.zeros((2, 3))]), ValueError, r"Add: a merge layer should be "
     r"called on a list of at least 2 inputs"),
    (lambda: layers.Add()([np.zeros((2, 3)), np.zeros((2, 4))]), ValueError,
     r"Add: inputs must have the same shape \(or shapes that broadcast\)"),
    (lambda: layers.Subtract()([np.zeros((2, 3))] * 3), ValueError, r"Subtract: a Subtract "
     r"layer should be called on exactly 2 inputs"),
    (lambda: layers.Concatenate()([np.zeros((2, 3, 1)), np.zeros((2, 4, 1))]), ValueError,
     r"Concatenate: a Concatenate layer requires inputs with matching shapes except for the "
     r"concatenation axis"),
    (lambda: layers.Add()(np.zeros((2, 3))), TypeError, r"Add: expects a list of inputs"),
])
def test_layer_errors(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


def test_gelu_of_a_0d_input() -> None:
    # gelu's exact erf (np.frompyfunc) returns a Python float, not an array, for a 0-d input
    x = 0.5
    layer = layers.Activation("gelu", dtype="float64")
    cdf = 0.5 * (1 + math.erf(x / math.sqrt(2)))
    assert layer(np.array(x), training=True) == pytest.approx(x * cdf, rel=1e-15)
    slope = cdf + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    assert layer.backward(np.array(1.0)) == pytest.approx(slope, rel=1e-15)
