"""The convolution family against Keras 3 over drawn configurations (hypothesis): kernel
sizes, strides, dilations, padding, output padding and depth multipliers, forward and the
input gradient, float64."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from keras_oracle import copy_weights, keras, keras_backward

from strided import layers

FAMILY = ["Conv2D", "Conv2DTranspose", "Conv1DTranspose", "DepthwiseConv2D", "SeparableConv2D",
          "Conv3DTranspose"]


@st.composite
def configurations(draw):
    kind = draw(st.sampled_from(FAMILY))
    rank = 1 if "1D" in kind else 3 if "3D" in kind else 2
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2)) if stride == 1 else 1  # Keras: not both above 1
    padding = draw(st.sampled_from(["valid", "same"]))
    smallest = dilation * (kernel - 1) + 1
    size = draw(st.integers(smallest, max(smallest, 6 if rank < 3 else 4)))
    kwargs = {"strides": stride, "padding": padding, "dilation_rate": dilation}
    if "Transpose" in kind and draw(st.booleans()) and stride > 1:
        kwargs["output_padding"] = draw(st.integers(0, stride - 1))
    if kind in ("DepthwiseConv2D", "SeparableConv2D"):
        kwargs["depth_multiplier"] = draw(st.integers(1, 2))
    # (one filter or one channel sends torch's slow_conv2d weight gradient, under Keras, into
    # "grad_weight must be contiguous": two or three of each)
    args = () if kind == "DepthwiseConv2D" else (draw(st.integers(2, 3)),)
    return kind, (*args, kernel), kwargs, (*(size,) * rank, draw(st.integers(2, 3)))


@settings(max_examples=40, deadline=None)
@given(configurations(), st.integers(0, 2 ** 16))
def test_drawn_convolution_layers_match_keras(config, seed) -> None:
    kind, args, kwargs, shape = config
    ours = getattr(layers, kind)(*args, **kwargs, dtype="float64")
    theirs = getattr(keras.layers, kind)(*args, **kwargs)
    try:
        expected_shape = tuple(theirs.compute_output_shape((None, *shape)))
    except ValueError:  # the output would be empty: Keras refuses as strided does
        assume(False)
    assume(all(n is None or n > 0 for n in expected_shape))
    rng = np.random.default_rng(seed)
    theirs.build((None, *shape))
    ours.build((None, *shape))
    copy_weights(theirs, ours, rng)
    assert ours.compute_output_shape((None, *shape)) == expected_shape
    x = rng.normal(size=(2, *shape))
    y = ours(x, training=True)
    grad = rng.normal(size=y.shape)
    k_y, k_dx, k_dw = keras_backward(theirs, x, grad)
    np.testing.assert_allclose(y, k_y, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.backward(grad), k_dx, rtol=1e-9, atol=1e-11)
    for name, value in k_dw.items():
        np.testing.assert_allclose(ours.grads[name], value, rtol=1e-9, atol=1e-11)


@st.composite
def poolings(draw):
    kind = draw(st.sampled_from(["MaxPooling", "AveragePooling"])) + draw(
        st.sampled_from(["1D", "2D", "3D"]))
    rank = int(kind[-2])
    pool = draw(st.integers(1, 3))
    size = draw(st.integers(pool, 6 if rank < 3 else 4))
    kwargs = {"strides": draw(st.integers(1, 3)), "padding": draw(st.sampled_from(
        ["valid", "same"]))}
    return kind, pool, kwargs, (*(size,) * rank, draw(st.integers(1, 2)))


@settings(max_examples=40, deadline=None)
@given(poolings(), st.integers(0, 2 ** 16))
def test_drawn_pooling_layers_match_keras(config, seed) -> None:
    kind, pool, kwargs, shape = config
    ours = getattr(layers, kind)(pool, **kwargs, dtype="float64")
    theirs = getattr(keras.layers, kind)(pool, **kwargs)
    assert ours.compute_output_shape((None, *shape)) == tuple(
        theirs.compute_output_shape((None, *shape)))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, *shape))
    y = ours(x, training=True)
    grad = rng.normal(size=y.shape)
    k_y, k_dx, _ = keras_backward(theirs, x, grad)
    np.testing.assert_allclose(y, k_y, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.backward(grad), k_dx, rtol=1e-9, atol=1e-11)
