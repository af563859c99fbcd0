"""Differential tests: every face and every algorithm against PyTorch (CPU, float64).

Configurations are drawn by hypothesis: 1-D, 2-D and 3-D, stride, dilation, groups, per-side
padding, "same" with any stride (checked against the explicit pairs of TensorFlow's rule), and
padding modes; forward, input gradient, weight gradient and bias gradient.  Every test runs
under every instruction-set level of the compiled kernels this CPU has (the ``level`` fixture);
each algorithm is drawn only the configurations it claims, and must compute on every draw.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import oracle
import strided
from strategies import assert_close, configs
from strided import functional as F
from strided import grad as G
from strided import nn
from strided.layers import Conv1D, Conv2D, Conv3D

ALGORITHMS = strided.algorithms()


def close(actual, expected, tol=1e-10):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=30)  # per level and algorithm
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_functional_forward_and_gradients(level, runs, algorithm, data, seed):
    """Every algorithm, on every configuration it claims, computes all three directions."""
    cfg = data.draw(configs(algorithm=algorithm, batch=(1, 2)), label="cfg")
    runs.expect(algorithm, share=1.0)
    runs.draw()
    x, w, b = cfg.arrays(seed)
    dy_shape = oracle.conv(x, w, b, cfg.stride, cfg.pairs, cfg.dilation, cfg.groups,
                           cfg.mode).shape
    dy = np.random.default_rng(seed + 1).normal(size=dy_shape)
    y_ref, dx_ref, dw_ref, _ = oracle.conv(x, w, b, cfg.stride, cfg.pairs, cfg.dilation,
                                           cfg.groups, cfg.mode, grad_output=dy)
    args = (cfg.stride, cfg.padding, cfg.dilation, cfg.groups)
    options = {"padding_mode": cfg.mode, "algorithm": algorithm}
    r = cfg.rank
    y = getattr(F, f"conv{r}d")(x, w, b, *args, **options)
    assert_close(y, y_ref, algorithm, "forward")
    dx = getattr(G, f"conv{r}d_input")(x.shape, w, dy, *args, **options)
    assert_close(dx, dx_ref, algorithm, "grad_input")
    dw = getattr(G, f"conv{r}d_weight")(x, w.shape, dy, *args, **options)
    assert_close(dw, dw_ref, algorithm, "grad_weight")


@given(cfg=configs(modes=("zeros",), groups=(1,)), seed=st.integers(0, 2**16),
       channels_last=st.booleans())
def test_tensorflow_face(level, cfg, seed, channels_last):
    # tf.nn.conv2d infers groups from the filter's input depth; grouped: tested below
    x, w, _ = cfg.arrays(seed)
    y_ref = oracle.conv(x, w, None, cfg.stride, cfg.pairs, cfg.dilation, cfg.groups)
    hwio = np.moveaxis(w, (0, 1), (-1, -2))
    fn = {1: nn.conv1d, 2: nn.conv2d, 3: nn.conv3d}[cfg.rank]
    padding = cfg.padding
    if isinstance(padding, str):
        padding = padding.upper()
    elif isinstance(padding, int):  # TensorFlow's explicit form: a pair per input dimension
        padding = [[padding] * 2] * cfg.rank
    full = [[0, 0], *padding] if not isinstance(padding, str) else padding
    if channels_last:
        xin = np.moveaxis(x, 1, -1)
        if not isinstance(full, str):
            full = [*full, [0, 0]]
        fmt = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[cfg.rank]
        strides = [1, *cfg.stride, 1]
    else:
        xin = x
        if not isinstance(full, str):
            full = [[0, 0], *full]
        fmt = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[cfg.rank]
        strides = [1, 1, *cfg.stride]
    y = fn(xin, hwio, strides, full, data_format=fmt, dilations=list(cfg.dilation))
    close(np.moveaxis(y, -1, 1) if channels_last else y, y_ref)


@given(size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_same_is_tensorflows_explicit_asymmetric_padding(size, kernel, stride, dilation):
    # out = ceil(in / stride); total = max((out - 1) * s + d * (k - 1) + 1 - in, 0);
    # the smaller half before, the odd pixel after (bottom / right), written out here.
    pairs = []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
        pairs.append((total // 2, total - total // 2))
    x = np.random.default_rng(0).normal(size=(2, *size, 3))
    w = np.random.default_rng(1).normal(size=(*kernel, 3, 2))
    same = nn.conv2d(x, w, stride, "SAME", dilations=dilation)
    assert same.shape[1:3] == tuple(-(-n // s) for n, s in zip(size, stride))
    explicit = nn.conv2d(x, w, stride, [[0, 0], *map(list, pairs), [0, 0]], dilations=dilation)
    close(same, explicit)


@given(cfg=configs(ranks=(2,), modes=("zeros",)), seed=st.integers(0, 2**16),
       multiplier=st.integers(1, 3))
def test_depthwise_conv2d(level, cfg, seed, multiplier):
    rng = np.random.default_rng(seed)
    c = cfg.in_channels
    x = rng.normal(size=(cfg.batch, *cfg.size, c))
    filt = rng.normal(size=(*cfg.kernel, c, multiplier))
    # PyTorch: groups = C, weight (C * M, 1, kH, kW) with output channel c * M + m
    w_torch = np.moveaxis(filt, (2, 3), (0, 1)).reshape(c * multiplier, 1, *cfg.kernel)
    y_ref = oracle.conv(np.moveaxis(x, -1, 1), w_torch, None, cfg.stride, cfg.pairs,
                        cfg.dilation, c)
    padding = cfg.padding.upper() if isinstance(cfg.padding, str) else [
        [0, 0], *([[cfg.padding] * 2] * 2 if isinstance(cfg.padding, int) else cfg.padding),
        [0, 0]]
    y = nn.depthwise_conv2d(x, filt, [1, *cfg.stride, 1], padding, dilations=cfg.dilation)
    close(np.moveaxis(y, -1, 1), y_ref)


def test_grouped_convolution_through_tensorflow_face(level):
    # TF infers groups from filters.shape[2] < input channels; strided takes groups explicitly
    # only through the PyTorch and Keras faces, and the two agree.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 4))
    layer = Conv2D(6, 3, groups=2, use_bias=False, dtype="float64")
    y = layer(x)
    ref = oracle.conv(np.moveaxis(x, -1, 1), np.moveaxis(layer.kernel, (-1, -2), (0, 1)), None,
                      1, None, 1, 2)
    close(np.moveaxis(y, -1, 1), ref)


@given(rank=st.sampled_from([1, 2, 3]), seed=st.integers(0, 2**16),
       groups=st.sampled_from([1, 2]), data=st.data())
def test_conv_transpose_against_torch(level, rank, seed, groups, data):
    ints = lambda lo, hi: data.draw(st.tuples(*[st.integers(lo, hi)] * rank))  # noqa: E731
    stride, dilation, kernel = ints(1, 3), ints(1, 2), ints(1, 3)
    padding, size = ints(0, 2), ints(1, 5)
    extra = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    rng = np.random.default_rng(seed)
    cin, cout = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    x = rng.normal(size=(2, cin, *size))
    w = rng.normal(size=(cin, cout // groups, *kernel))
    b = rng.normal(size=cout)
    out = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
           for n, s, p, d, k, o in zip(size, stride, padding, dilation, kernel, extra)]
    assume(min(out) >= 1)
    ref = oracle.conv_transpose(x, w, b, stride, padding, extra, groups, dilation)
    fn = getattr(F, f"conv_transpose{rank}d")
    close(fn(x, w, b, stride, padding, extra, groups, dilation), ref)


@given(size=st.tuples(st.integers(1, 6), st.integers(1, 6)), seed=st.integers(0, 2**16),
       stride=st.integers(1, 3), padding=st.sampled_from(["SAME", "VALID"]))
def test_tensorflow_conv2d_transpose_is_the_input_gradient(level, size, seed, stride,
                                                           padding):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(3, 3, 2, 4))  # (kH, kW, C_out of the transpose, C_in of it)
    forward_in = (2, *size, 2)
    assume(padding == "SAME" or min(size) >= 3)
    out = strided.output_shape(size, 3, stride, padding.lower())
    dy = rng.normal(size=(2, *out, 4))
    y = nn.conv2d_transpose(dy, w, forward_in, stride, padding)
    pairs = [strided.same_padding(n, 3, stride, 1) if padding == "SAME" else (0, 0)
             for n in size]
    _, dx_ref, _, _ = oracle.conv(rng.normal(size=(2, 2, *size)), np.moveaxis(w, (2, 3), (1, 0)),
                                  None, stride, pairs, 1, 1, grad_output=np.moveaxis(dy, -1, 1))
    close(np.moveaxis(y, -1, 1), dx_ref)


@pytest.mark.parametrize(("layer_cls", "rank"), [(Conv1D, 1), (Conv2D, 2), (Conv3D, 3)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_keras_layers_forward_and_backward(level, layer_cls, rank, data_format):
    rng = np.random.default_rng(rank)
    size = (6, 5, 4)[:rank]
    shape = (2, *size, 4) if data_format == "channels_last" else (2, 4, *size)
    x = rng.normal(size=shape)
    layer = layer_cls(6, 3, strides=2, padding="same", dilation_rate=1, groups=2,
                      activation="tanh", data_format=data_format, dtype="float64")
    y = layer(x, training=True)
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy)
    to_first = (lambda a: a) if data_format == "channels_first" else (
        lambda a: np.moveaxis(a, -1, 1))
    w = np.moveaxis(layer.kernel, (-1, -2), (0, 1))
    pairs = [strided.same_padding(n, 3, 2, 1) for n in size]
    z, dz_x, dz_w, dz_b = oracle.conv(
        to_first(x), w, layer.bias, 2, pairs, 1, 2,
        grad_output=to_first(dy) * (1 - np.tanh(oracle.conv(to_first(x), w, layer.bias, 2,
                                                             pairs, 1, 2)) ** 2))
    close(to_first(y), np.tanh(z))
    close(to_first(dx), dz_x)
    close(np.moveaxis(layer.grads["kernel"], (-1, -2), (0, 1)), dz_w)
    close(layer.grads["bias"], dz_b)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_unbatched_input_as_pytorch_takes_it(level, rank):
    rng = np.random.default_rng(rank)
    x = rng.normal(size=(2, *[5] * rank))
    w = rng.normal(size=(3, 2, *[2] * rank))
    y = getattr(F, f"conv{rank}d")(x, w, stride=2, padding=1)
    close(y, oracle.conv(x[None], w, None, 2, [(1, 1)] * rank)[0])
    wt = rng.normal(size=(2, 3, *[2] * rank))
    close(getattr(F, f"conv_transpose{rank}d")(x, wt, stride=2),
          oracle.conv_transpose(x[None], wt, stride=2)[0])
