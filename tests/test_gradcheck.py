"""Finite-difference gradient checks in float64 on tiny shapes: every face's backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finite_differences import numeric_gradient
from strategies import configs
from strided import functional as F
from strided import grad as G
from strided.layers import Conv2D


@settings(max_examples=25)
@given(cfg=configs(max_size=5, batch=(1, 2)), seed=st.integers(0, 2**16))
def test_conv_gradients_by_finite_differences(cfg, seed):
    x, w, b = cfg.arrays(seed)
    conv = getattr(F, f"conv{cfg.rank}d")
    options = dict(stride=cfg.stride, padding=cfg.padding, dilation=cfg.dilation,
                   groups=cfg.groups, padding_mode=cfg.mode)
    v = np.random.default_rng(seed + 7).normal(size=conv(x, w, b, **options).shape)
    loss = lambda: np.vdot(conv(x, w, b, **options), v)  # noqa: E731
    grad_in = getattr(G, f"conv{cfg.rank}d_input")(x.shape, w, v, **options)
    grad_w = getattr(G, f"conv{cfg.rank}d_weight")(x, w.shape, v, **options)
    np.testing.assert_allclose(grad_in, numeric_gradient(loss, x), atol=1e-6)
    np.testing.assert_allclose(grad_w, numeric_gradient(loss, w), atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "linear"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_layer_gradients_by_finite_differences(activation, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 5, 3))
    layer = Conv2D(4, (3, 2), strides=(2, 1), padding=padding, activation=activation,
                   bias_initializer="random_normal", dtype="float64")
    y = layer(x, training=True)
    v = rng.normal(size=y.shape)
    dx = layer.backward(v)
    loss = lambda: np.vdot(layer(x), v)  # noqa: E731
    np.testing.assert_allclose(dx, numeric_gradient(loss, x), atol=1e-6)
    for key in ("kernel", "bias"):
        np.testing.assert_allclose(layer.grads[key], numeric_gradient(loss, layer.params[key]),
                                   atol=1e-6)


def test_transposed_convolution_gradient_by_finite_differences():
    # conv_transpose2d is linear in its input with conv2d as its adjoint
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 2, 3, 3))
    w = rng.normal(size=(2, 3, 3, 3))
    y = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    v = rng.normal(size=y.shape)
    loss = lambda: np.vdot(F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), v)  # noqa: E731
    np.testing.assert_allclose(F.conv2d(v, w, stride=2, padding=1), numeric_gradient(loss, x),
                               atol=1e-6)
