"""Each layer's backward pass against central finite differences, in float64 on tiny shapes.

For a layer ``f`` and a fixed random ``r``, the scalar ``L = sum(f(x) * r)`` has
``dL/dx = f.backward(r)`` and ``dL/dw = f.grads[w]``; both are compared with
``(L(v + h) - L(v - h)) / 2h`` for every element ``v``.
"""

from __future__ import annotations

import numpy as np
import pytest

from finite_differences import numeric_gradient
from strided import layers, losses


def check_layer(layer: layers.Layer, x: np.ndarray, seed: int = 0, tol: float = 1e-6) -> None:
    rng = np.random.default_rng(seed)
    y = layer(x, training=True)
    r = rng.normal(size=y.shape)
    dx = layer.backward(r)
    grads = {k: g.copy() for k, g in layer.grads.items()}

    def loss() -> float:
        return float(np.sum(layer(x, training=True) * r))

    np.testing.assert_allclose(dx, numeric_gradient(loss, x), rtol=tol, atol=tol)
    assert set(grads) == {k for k in layer.params if k not in layer.non_trainable_keys}
    for key, grad in grads.items():
        np.testing.assert_allclose(grad, numeric_gradient(loss, layer.params[key]), rtol=tol,
                                   atol=tol, err_msg=key)


def _x(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


CASES = {
    "dense": (lambda: layers.Dense(4, activation="tanh", bias_initializer="random_normal",
                                   dtype="float64"), (3, 5)),
    "dense_rank3": (lambda: layers.Dense(3, dtype="float64"), (2, 3, 4)),
    "conv1d_causal": (lambda: layers.Conv1D(3, 3, padding="causal", dilation_rate=2,
                                            activation="sigmoid", dtype="float64"), (2, 9, 2)),
    "conv2d_lecture": (lambda: layers.Conv2D(4, 5, strides=2, padding="same", activation="relu",
                                             bias_initializer="random_normal", dtype="float64"),
                       (2, 8, 8, 1)),
    "conv2d_groups": (lambda: layers.Conv2D(4, 3, groups=2, padding="valid",
                                            data_format="channels_first", dtype="float64"),
                      (2, 4, 5, 6)),
    "conv3d": (lambda: layers.Conv3D(2, 2, strides=(1, 2, 1), padding="same", dtype="float64"),
               (1, 3, 4, 3, 2)),
    "depthwise": (lambda: layers.DepthwiseConv2D(3, strides=2, padding="same",
                                                 depth_multiplier=2, activation="tanh",
                                                 bias_initializer="random_normal",
                                                 dtype="float64"), (2, 6, 5, 3)),
    "transpose_same": (lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same",
                                                      bias_initializer="random_normal",
                                                      dtype="float64"), (2, 3, 4, 2)),
    "transpose_valid_output_padding": (
        lambda: layers.Conv2DTranspose(2, (3, 2), strides=2, output_padding=1,
                                       activation="sigmoid", dtype="float64"), (1, 3, 3, 2)),
    "max_pool": (lambda: layers.MaxPooling2D(dtype="float64"), (2, 4, 6, 3)),
    "max_pool_same_overlap": (lambda: layers.MaxPooling2D(3, strides=2, padding="same",
                                                          dtype="float64"), (2, 5, 6, 2)),
    "max_pool_1d": (lambda: layers.MaxPooling1D(2, dtype="float64"), (2, 7, 2)),
    "avg_pool": (lambda: layers.AveragePooling2D(dtype="float64"), (2, 4, 4, 3)),
    "avg_pool_same": (lambda: layers.AveragePooling2D(3, strides=2, padding="same",
                                                      data_format="channels_first",
                                                      dtype="float64"), (2, 2, 5, 5)),
    "avg_pool_3d": (lambda: layers.AveragePooling3D(2, dtype="float64"), (1, 4, 2, 4, 2)),
    "global_avg": (lambda: layers.GlobalAveragePooling2D(dtype="float64"), (2, 3, 4, 5)),
    "global_max": (lambda: layers.GlobalMaxPooling2D(keepdims=True, dtype="float64"),
                   (2, 3, 4, 5)),
    "flatten": (lambda: layers.Flatten(data_format="channels_first", dtype="float64"),
                (2, 3, 2, 2)),
    "batch_norm": (lambda: layers.BatchNormalization(
        gamma_initializer="random_normal", beta_initializer="random_normal", dtype="float64"),
        (4, 3, 3, 2)),
    "batch_norm_axis1": (lambda: layers.BatchNormalization(axis=1, dtype="float64"),
                         (5, 3, 2)),
    "relu_layer": (lambda: layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2,
                                       dtype="float64"), (3, 7)),
    "relu_plain": (lambda: layers.ReLU(dtype="float64"), (3, 7)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_gradients_match_finite_differences(name: str) -> None:
    make, shape = CASES[name]
    check_layer(make(), _x(*shape))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "linear"])
def test_activation_gradients_match_finite_differences(activation: str) -> None:
    check_layer(layers.Activation(activation, dtype="float64"), _x(3, 5))
    check_layer(layers.Dense(4, activation=activation, dtype="float64"), _x(3, 5))


def test_dropout_backward_applies_the_forward_mask() -> None:
    layer = layers.Dropout(0.5, seed=3, dtype="float64")
    x = _x(50, 8) + 10  # no zeros in x, so the mask can be read off y
    y = layer(x, training=True)
    kept = y != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(y[kept], 2 * x[kept])
    g = _x(50, 8, seed=2)
    np.testing.assert_allclose(layer.backward(g), np.where(kept, 2 * g, 0))
    np.testing.assert_array_equal(layer(x), x)  # inference: the identity


@pytest.mark.parametrize("loss", [
    losses.SparseCategoricalCrossentropy(),
    losses.SparseCategoricalCrossentropy(from_logits=True),
    losses.CategoricalCrossentropy(),
    losses.CategoricalCrossentropy(from_logits=True),
    losses.MeanSquaredError(),
])
def test_loss_gradients_match_finite_differences(loss: losses.Loss) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 3))
    probabilities = not getattr(loss, "from_logits", True)
    y_pred = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True) if probabilities \
        else logits
    labels = np.array([0, 2, 1, 2])
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y_true = labels
    elif isinstance(loss, losses.CategoricalCrossentropy):
        y_true = np.eye(3)[labels]
    else:
        y_true = rng.normal(size=(4, 3))
    numeric = numeric_gradient(lambda: loss(y_true, y_pred), y_pred)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), numeric, rtol=1e-6, atol=1e-8)


def test_cross_entropy_values_match_a_plain_formula() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    expected = -(np.log(0.7) + np.log(0.8)) / 2
    assert losses.SparseCategoricalCrossentropy()([0, 2], p) == pytest.approx(expected)
    assert losses.CategoricalCrossentropy()(np.eye(3)[[0, 2]], p) == pytest.approx(expected)
    z = np.log(p)
    assert losses.SparseCategoricalCrossentropy(from_logits=True)([0, 2], z) == \
        pytest.approx(expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_cross_entropy_value_and_gradient_are_its_two_calls(dtype, weighted) -> None:
    """The training step's both-at-once path gives ``loss(...)`` and ``loss.gradient(...)``
    bit for bit, clipped probabilities included, and PyTorch's float64 autograd of Keras'
    formula (normalise, clip to [1e-7, 1 - 1e-7], -log of the label's)."""
    import torch

    rng = np.random.default_rng(5)
    p = rng.random((9, 4)) + 0.05
    p[1] = [1e-9, 0.5, 0.25, 0.25]  # the label's probability clipped low: no gradient
    p[2] = [1.0, 1e-9, 1e-9, 1e-9]  # and clipped high
    p[3] *= 3  # rows that do not sum to 1
    y_pred = p.astype(dtype)
    labels = np.array([0, 0, 0, 3, 1, 2, 3, 2, 1])
    weights = rng.random(9) if weighted else None
    loss = losses.SparseCategoricalCrossentropy()
    value, grad = loss.value_and_gradient(labels, y_pred, weights)
    assert value == loss(labels, y_pred, weights)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, loss.gradient(labels, y_pred, weights))
    assert not grad[1].any() and not grad[2].any()

    t = torch.tensor(y_pred.astype(np.float64), requires_grad=True)
    q = (t / t.sum(dim=1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
    per_sample = -torch.log(q[torch.arange(9), torch.from_numpy(labels)])
    w = torch.ones(9, dtype=torch.float64) if weights is None else torch.from_numpy(weights)
    total = (per_sample * w).sum() / 9
    total.backward()
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(total.item(), rel=tol)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=tol, atol=tol)


def _max_pool_backward_loop(x: np.ndarray, g: np.ndarray, pool: int, stride: int,
                            pad: tuple[int, int]) -> np.ndarray:
    """Each window sends its gradient to its first maximum in row-major order (TensorFlow's
    MaxPoolGrad), windows that overlap adding up: (N, H, W, C) loops."""
    lo = pad[0]
    dx = np.zeros_like(x)
    h, w = x.shape[1:3]
    for b, i, j, k in np.ndindex(*g.shape):
        best, where = -np.inf, None
        for p, q in np.ndindex(pool, pool):
            r, s = i * stride + p - lo, j * stride + q - lo
            if 0 <= r < h and 0 <= s < w and x[b, r, s, k] > best:
                best, where = x[b, r, s, k], (b, r, s, k)
        dx[where] += g[b, i, j, k]
    return dx


@pytest.mark.parametrize(("pool", "stride", "padding", "size"), [
    (2, 2, "valid", 6),  # windows tile the input
    (2, 2, "valid", 7),  # the last row and column belong to no window
    (3, 2, "same", 7),  # overlapping windows, padded
    (2, 2, "same", 5),  # padded, no overlap
])
def test_max_pool_gradient_goes_to_the_first_of_equal_maxima(pool: int, stride: int,
                                                            padding: str, size: int) -> None:
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(2, size, size, 3)), 0)  # after a ReLU: ties at 0
    x[0, :2, :2, 0] = 1.5  # a whole window of equal maxima
    layer = layers.MaxPooling2D(pool, stride, padding=padding, dtype="float64")
    y = layer(x, training=True)
    g = rng.normal(size=y.shape)
    pad = (0, 0) if padding == "valid" else layer._geometry((size, size))[0][0]
    expected = _max_pool_backward_loop(x, g, pool, stride, pad)
    np.testing.assert_allclose(layer.backward(g), expected, rtol=0, atol=1e-12)  # sum order
