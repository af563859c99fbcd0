"""The compiled layer kernels (csrc/layers.inc) through the Keras layers, against PyTorch
float64, under every instruction-set level (``level``) and with 2 threads and 1: pooling with
kept indices, batch normalisation (with and without its ReLU folded in), conv + bias + ReLU in
one pass, Dense + ReLU, ReLU, Adam, and the fused BatchNormalization + ReLU of Sequential.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import strided
from strided import Sequential, layers, optimizers
from strided._spec import pooling_geometry
from strided.layers import _compiled

RNG = np.random.default_rng(12)


@pytest.fixture(params=[1, 2])
def threads(request: pytest.FixtureRequest):
    saved = strided.get_num_threads()
    strided.set_num_threads(request.param)
    yield request.param
    strided.set_num_threads(saved)


def t(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    """channels-last numpy -> channels-first float64 torch tensor."""
    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 1)))
    return x.requires_grad_(grad)


def n(x: torch.Tensor) -> np.ndarray:
    return np.moveaxis(x.detach().numpy(), 1, -1)


def forward_backward(layer, x: np.ndarray, g: np.ndarray):
    y = layer(x, training=True)
    return y, layer.backward(g)


def tf_pads(size, pool, stride, padding):
    pads, _ = pooling_geometry(size, pool, stride, padding, "test")
    return pads


# (pool, strides, padding, input size): overlapping windows, SAME's uneven pads, 1-D and 3-D
POOLS = [((2, 2), (2, 2), "valid", (8, 8)), ((3, 3), (2, 2), "same", (7, 9)),
         ((3, 3), (1, 1), "same", (5, 5)), ((2, 2), (2, 2), "same", (7, 7)),
         ((3, 2), (2, 1), "valid", (9, 6))]


@pytest.mark.parametrize("pool, strides, padding, size", POOLS)
def test_max_pooling_against_torch(level, threads, pool, strides, padding, size):
    x = RNG.normal(size=(3, *size, 5))
    layer = layers.MaxPooling2D(pool, strides, padding, dtype="float64")
    out = layer.compute_output_shape((3, *size, 5))
    g = RNG.normal(size=out)
    y, dx = forward_backward(layer, x, g)
    assert isinstance(layer._cache[3], tuple) and layer._cache[3][0] == "compiled"
    (top, bottom), (left, right) = tf_pads(size, pool, strides, padding)
    xt = t(x, True)
    yt = TF.max_pool2d(TF.pad(xt, (left, right, top, bottom), value=-np.inf), pool, strides)
    yt.backward(t(g))
    np.testing.assert_allclose(y, n(yt), rtol=0, atol=0)
    np.testing.assert_allclose(dx, n(xt.grad), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("pool, strides, padding, size", POOLS)
def test_average_pooling_against_torch(level, threads, pool, strides, padding, size):
    x = RNG.normal(size=(2, *size, 4))
    layer = layers.AveragePooling2D(pool, strides, padding, dtype="float64")
    g = RNG.normal(size=layer.compute_output_shape((2, *size, 4)))
    y, dx = forward_backward(layer, x, g)
    (top, bottom), (left, right) = tf_pads(size, pool, strides, padding)
    # TF's SAME averages the real inputs only: the sum of a zero-padded window over the
    # count of a padded window of ones
    xt = t(x, True)
    pad = (left, right, top, bottom)
    total = TF.avg_pool2d(TF.pad(xt, pad), pool, strides, divisor_override=1)
    count = TF.avg_pool2d(TF.pad(torch.ones_like(xt), pad), pool, strides, divisor_override=1)
    yt = total / count
    yt.backward(t(g))
    np.testing.assert_allclose(y, n(yt), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dx, n(xt.grad), rtol=1e-13, atol=1e-14)


def test_pooling_1d_and_3d_against_torch(level):
    x = RNG.normal(size=(2, 9, 3))
    layer = layers.MaxPooling1D(3, 2, dtype="float64")
    g = RNG.normal(size=layer.compute_output_shape(x.shape))
    y, dx = forward_backward(layer, x, g)
    xt = t(x, True)
    yt = TF.max_pool1d(xt, 3, 2)
    yt.backward(t(g))
    np.testing.assert_array_equal(y, n(yt))
    np.testing.assert_allclose(dx, n(xt.grad), atol=1e-15)
    x = RNG.normal(size=(2, 4, 6, 4, 2))
    layer3 = layers.AveragePooling3D(2, dtype="float64")
    g = RNG.normal(size=layer3.compute_output_shape(x.shape))
    y, dx = forward_backward(layer3, x, g)
    xt = t(x, True)
    yt = TF.avg_pool3d(xt, 2)
    yt.backward(t(g))
    np.testing.assert_allclose(y, n(yt), rtol=1e-13)
    np.testing.assert_allclose(dx, n(xt.grad), rtol=1e-13)


def test_max_pooling_first_of_equal_maxima_takes_the_gradient(level):
    x = np.zeros((1, 2, 2, 3))
    layer = layers.MaxPooling2D(2, dtype="float64")
    layer(x, training=True)
    dx = layer.backward(np.ones((1, 1, 1, 3)))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])


def test_max_pooling_float32_and_minus_infinity(level):
    x = np.full((1, 4, 4, 2), -np.inf, np.float32)
    x[0, 3, 3, 1] = 2
    layer = layers.MaxPooling2D(2)
    y = layer(x, training=True)
    assert y.dtype == np.float32 and y[0, 1, 1, 1] == 2 and y[0, 0, 0, 0] == -np.inf
    dx = layer.backward(np.ones(y.shape, np.float32))
    assert dx.sum() == 8 and dx[0, 3, 3, 1] == 1 and dx[0, 0, 0, 0] == 1


@pytest.mark.parametrize("relu", [False, True])
def test_batch_normalization_against_torch(level, threads, relu):
    x = RNG.normal(2.0, 3.0, size=(6, 5, 7, 4))
    g = RNG.normal(size=x.shape)
    layer = layers.BatchNormalization(epsilon=1e-3, dtype="float64")
    layer.build(x.shape)
    layer.params["gamma"][:] = RNG.normal(size=4)
    layer.params["beta"][:] = RNG.normal(size=4)
    gamma, beta = layer.params["gamma"].copy(), layer.params["beta"].copy()
    layer.relu_fused = relu
    y, dx = forward_backward(layer, x, g)
    xt, gt, bt = t(x, True), torch.tensor(gamma, requires_grad=True), torch.tensor(
        beta, requires_grad=True)
    yt = TF.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-3)
    if relu:
        yt = TF.relu(yt)
    yt.backward(t(g))
    np.testing.assert_allclose(y, n(yt), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, n(xt.grad), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], gt.grad.numpy(), rtol=1e-11)
    np.testing.assert_allclose(layer.grads["beta"], bt.grad.numpy(), rtol=1e-11)
    # the moving statistics: Keras' rule, with the biased variance
    np.testing.assert_allclose(layer.params["moving_mean"], 0.01 * x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(layer.params["moving_variance"],
                               0.99 + 0.01 * x.var(axis=(0, 1, 2)))
    inference = layer(x)
    expected = (x - layer.params["moving_mean"]) / np.sqrt(
        layer.params["moving_variance"] + 1e-3) * gamma + beta
    np.testing.assert_allclose(inference, np.maximum(expected, 0) if relu else expected,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("strides, padding, filters", [(2, "same", 16), (1, "same", 32),
                                                        (1, "valid", 7)])
def test_conv_bias_relu_in_one_pass_against_torch(level, threads, strides, padding, filters):
    x = RNG.normal(size=(3, 12, 12, 3))
    layer = layers.Conv2D(filters, 5 if strides == 2 else 3, strides=strides, padding=padding,
                          activation="relu", dtype="float64")
    layer.build(x.shape)
    layer.params["bias"][:] = RNG.normal(size=filters)
    g = RNG.normal(size=layer.compute_output_shape(x.shape))
    y, dx = forward_backward(layer, x, g)
    assert layer._cache[2] is None  # z was not kept: the ReLU was applied in the same pass
    k = layer.params["kernel"]
    kt = torch.tensor(np.ascontiguousarray(k.transpose(3, 2, 0, 1)), requires_grad=True)
    bt = torch.tensor(layer.params["bias"], requires_grad=True)
    xt = t(x, True)
    if padding == "same":
        (top, bottom), (left, right) = tf_pads((12, 12), k.shape[:2], (strides,) * 2, "same")
        xp = TF.pad(xt, (left, right, top, bottom))
    else:
        xp = xt
    yt = TF.relu(TF.conv2d(xp, kt, bt, stride=strides))
    yt.backward(t(g))
    np.testing.assert_allclose(y, n(yt), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, n(xt.grad), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"],
                               kt.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], bt.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_dense_relu_and_relu_layer_against_torch(level, threads):
    x = RNG.normal(size=(9, 6))
    dense = layers.Dense(5, activation="relu", dtype="float64")
    dense.build(x.shape)
    dense.params["bias"][:] = RNG.normal(size=5)
    g = RNG.normal(size=(9, 5))
    y, dx = forward_backward(dense, x, g)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(dense.params["kernel"], requires_grad=True)
    bt = torch.tensor(dense.params["bias"], requires_grad=True)
    yt = TF.relu(xt @ wt + bt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dense.grads["kernel"], wt.grad.numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dense.grads["bias"], bt.grad.numpy(), rtol=1e-13, atol=1e-14)
    relu = layers.ReLU(dtype="float64")
    x = RNG.normal(size=(4, 3, 3, 8))
    g = RNG.normal(size=x.shape)
    y, dx = forward_backward(relu, x, g)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(dx, g * (x > 0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_kernel_against_keras_rule(level, threads, dtype):
    shape = (300, 70)  # more than one chunk of the kernel
    w = RNG.normal(size=shape).astype(dtype)
    expected = w.astype(np.float64)
    optimizer = optimizers.Adam(0.01)
    m, v = np.zeros(shape), np.zeros(shape)
    tol = 1e-13 if dtype == np.float64 else 1e-5
    for step in range(1, 4):
        grad = RNG.normal(size=shape).astype(dtype)
        optimizer.apply({"w": w}, {"w": grad}, key="layer")
        optimizer.finish_step()
        lr = 0.01 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
        m += 0.1 * (grad - m)
        v += 0.001 * (grad * grad - v)
        expected -= lr * m / (np.sqrt(v) + 1e-7)
        assert w.dtype == dtype
        np.testing.assert_allclose(w, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 6, 16])
def test_relu_backward_and_bias_sum_against_torch(level, threads, dtype, channels):
    """dz = dy where y > 0, else 0 (a NaN of dy too), and the bias gradient sum_rows dz, over
    channel counts below, at and above a vector, on rows that fill no whole number of
    blocks; signs at random, as a ReLU's outputs."""
    rows = 700  # two whole blocks of 256 rows and a part
    y = np.maximum(RNG.normal(size=(rows, channels)), 0).astype(dtype)
    g = RNG.normal(size=(rows, channels)).astype(dtype)
    g.flat[np.flatnonzero(y == 0)[:5]] = np.nan  # masked away, as threshold_backward's
    dz, bias = _compiled.relu_backward(y, g, True)
    dz_alone, none = _compiled.relu_backward(y, g, False)
    yt, gt = torch.tensor(y, dtype=torch.float64), torch.tensor(g, dtype=torch.float64)
    expected = torch.ops.aten.threshold_backward(gt, yt, 0).numpy()
    assert dz.dtype == dtype and none is None
    np.testing.assert_array_equal(dz, expected.astype(dtype))
    np.testing.assert_array_equal(dz_alone, dz)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(bias, expected.sum(axis=0), rtol=tol, atol=tol)
    _, only = _compiled.relu_backward(None, g[y > 0].reshape(-1, 1), True)
    np.testing.assert_allclose(only, [expected.sum()], rtol=tol, atol=tol)


def test_sequential_folds_relu_into_batch_normalization(level):
    """BatchNormalization + ReLU in a Sequential: one pass each way, as the unfused pair."""
    x = RNG.normal(size=(4, 6, 6, 3))

    def model(relu):
        return Sequential([layers.Input((6, 6, 3)), layers.Conv2D(4, 3, dtype="float64"),
                           layers.BatchNormalization(dtype="float64"), relu,
                           layers.Flatten(), layers.Dense(2, dtype="float64")])

    fused = model(layers.ReLU(dtype="float64"))
    plain = model(layers.ReLU(negative_slope=0.0, threshold=0.0, max_value=1e300,
                              dtype="float64"))  # not plain: not fused
    plain.set_weights(fused.get_weights())
    g = RNG.normal(size=(4, 2))
    for m in (fused, plain):
        m._forward(x, training=True)
        m._backward(g)
    assert fused._passed == {2} and plain._passed == set()
    assert not hasattr(fused.layers[1], "relu_fused") or not fused.layers[1].__dict__.get(
        "relu_fused")
    for a, b in zip(fused.layers, plain.layers):
        for key in a.grads:
            np.testing.assert_allclose(a.grads[key], b.grads[key], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fused.predict(x), plain.predict(x), rtol=1e-12)


def test_kernels_refuse_inconsistent_buffers():
    from strided import _kernels
    geometry = _compiled._pool_geometry((1, 4, 4, 2), (2, 2), (2, 2), (2, 2), ((0, 0), (0, 0)))
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="index must be contiguous int32"):
        _kernels.max_pool(x, np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2), np.int64), geometry)
    with pytest.raises(ValueError, match="y must be 8 contiguous values"):
        _kernels.max_pool(x, np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 2), np.int32), geometry)
    with pytest.raises(ValueError, match="index out of range"):
        _kernels.max_pool_backward(np.zeros((1, 2, 2, 2)), np.full((1, 2, 2, 2), 99, np.int32),
                                   x.copy(), geometry)
    with pytest.raises(ValueError, match="mean must be 3 contiguous float64"):
        _kernels.moments(np.zeros((5, 3)), np.zeros(3, np.float32), np.zeros(3), 1)
    with pytest.raises(ValueError, match="whole rows of 4 channels"):
        _kernels.moments(np.zeros((5, 3)), np.zeros(4), np.zeros(4), 1)


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "reflect", "wrap"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("channels", [1, 2])  # grey images have a kernel of their own
def test_augmentations_compiled_equal_numpy(level, monkeypatch, fill_mode, interpolation,
                                            channels):
    """RandomRotation, RandomZoom and RandomTranslation in the compiled kernel against the
    layers' NumPy path, from the same random draws."""
    x = RNG.normal(size=(5, 9, 8, channels))

    def run(usable: bool):
        monkeypatch.setattr(_compiled, "usable", lambda *a: usable)
        made = [layers.RandomRotation(0.2, fill_mode, interpolation, seed=1, fill_value=0.5,
                                      dtype="float64"),
                layers.RandomZoom((-0.3, 0.4), (0.2, 0.5), fill_mode, interpolation, seed=2,
                                  fill_value=0.5, dtype="float64"),
                layers.RandomTranslation(0.3, 0.4, fill_mode, interpolation, seed=3,
                                         fill_value=0.5, dtype="float64")]
        return [layer(x, training=True) for layer in made]

    for ours, numpy_path in zip(run(True), run(False)):
        np.testing.assert_allclose(ours, numpy_path, rtol=1e-12, atol=1e-12)


def test_augmentations_known_maps(level):
    x = RNG.normal(size=(2, 6, 6, 3)).astype(np.float32)
    quarter = layers.RandomRotation((0.25, 0.25), interpolation="nearest")
    np.testing.assert_array_equal(quarter(x, training=True), np.rot90(x, 1, axes=(1, 2)))
    same = layers.RandomZoom((0.0, 0.0), interpolation="bilinear")
    np.testing.assert_array_equal(same(x, training=True), x)
    np.testing.assert_array_equal(quarter(x), x)  # inference: the identity
