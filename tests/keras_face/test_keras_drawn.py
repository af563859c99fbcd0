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


def _uneven_same(pool: int, stride: int, padding: str, size: int) -> bool:
    """Whether TensorFlow's SAME pads one side more than the other (out = ceil(n / s))."""
    out = -(-size // stride)
    return padding == "same" and max((out - 1) * stride + pool - size, 0) % 2 == 1


@settings(max_examples=40, deadline=None)
@given(poolings(), st.integers(0, 2 ** 16))
def test_drawn_pooling_layers_match_keras(config, seed) -> None:
    kind, pool, kwargs, shape = config
    # Keras' torch backend pads an uneven SAME average pooling by repeating the edge
    # (keras/src/backend/torch/nn.py, _apply_same_padding: mode="replicate"), so the repeated
    # value counts in its average; TensorFlow and strided average the real inputs only, which
    # test_uneven_same_average_pooling_averages_the_real_inputs checks by hand.
    assume(not (kind.startswith("Average")
                and _uneven_same(pool, kwargs["strides"], kwargs["padding"], shape[0])))
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


def test_uneven_same_average_pooling_averages_the_real_inputs() -> None:
    # SAME with pool 3, stride 2 on 4 steps pads 0 before and 1 after (TensorFlow's rule):
    # the windows are x[0:3] and x[2:4], each averaged over the inputs it holds
    x = np.array([1.0, 2.0, 4.0, 8.0]).reshape(1, 4, 1)
    layer = layers.AveragePooling1D(3, strides=2, padding="same", dtype="float64")
    np.testing.assert_allclose(layer(x, training=True)[0, :, 0], [7 / 3, 6.0], rtol=1e-15)
    dx = layer.backward(np.ones((1, 2, 1)))
    np.testing.assert_allclose(dx[0, :, 0], [1 / 3, 1 / 3, 1 / 3 + 1 / 2, 1 / 2], rtol=1e-15)
