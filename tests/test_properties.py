"""Properties any convolution has, at realistic sizes: linearity, identity, shift, groups,
the adjoint identity that ties the gradients to the forward pass, empty batches, NaN and Inf."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strided
from strategies import configs
from strided import functional as F
from strided import grad as G
from strided import nn
from strided._algorithms import ALGORITHMS as MODULES
from strided._spec import make_spec

ALGORITHMS = strided.algorithms()


def claims(algorithm: str, x_shape, w_shape, **options) -> bool:
    """Whether ``algorithm`` claims this ``strided.functional`` call (NCHW, OIHW, float64),
    as the spec that reaches it after the padding mode is applied."""
    spec = make_spec("test", x_shape, w_shape, rank=len(x_shape) - 2,
                     data_format="channels_first", weight_format="OIHW", **options)
    if spec.padding_mode != "zeros":
        spec = spec.with_padding(((0, 0),) * spec.rank, spec.padded_size)
    return MODULES[algorithm].supports(spec, np.dtype(np.float64)) is None


def args(cfg):
    return (cfg.stride, cfg.padding, cfg.dilation, cfg.groups)


@given(cfg=configs(), seed=st.integers(0, 2**16))
def test_output_shape_is_the_formula(cfg, seed):
    x, w, _ = cfg.arrays(seed)
    y = getattr(F, f"conv{cfg.rank}d")(x, w, None, *args(cfg), padding_mode=cfg.mode)
    size = strided.output_shape(cfg.size, cfg.kernel, cfg.stride, cfg.pairs, cfg.dilation)
    assert y.shape == (cfg.batch, cfg.out_channels, *size)
    for n, k, s, d, (lo, hi), o in zip(cfg.size, cfg.kernel, cfg.stride, cfg.dilation,
                                       cfg.pairs, size):
        assert o == (n + lo + hi - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_linear_in_input_and_in_weight(level, algorithm):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 3, 6, 12, 12))
    k, padding = (1, 0) if algorithm == "pointwise" else (3, 1)  # a case it claims
    w1, w2 = rng.normal(size=(2, 8, 6, k, k))
    assert claims(algorithm, x1.shape, w1.shape, padding=padding)
    conv = lambda x, w: F.conv2d(x, w, padding=padding, algorithm=algorithm)  # noqa: E731
    np.testing.assert_allclose(conv(2 * x1 - 3 * x2, w1), 2 * conv(x1, w1) - 3 * conv(x2, w1),
                               atol=1e-10)
    np.testing.assert_allclose(conv(x1, 2 * w1 - 3 * w2), 2 * conv(x1, w1) - 3 * conv(x1, w2),
                               atol=1e-10)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_identity_kernel_returns_the_input(mode):
    x = np.random.default_rng(1).normal(size=(2, 3, 9, 7))
    identity = np.zeros((3, 1, 3, 3))
    identity[:, 0, 1, 1] = 1
    np.testing.assert_array_equal(F.conv2d(x, identity, padding="same", groups=3,
                                           padding_mode=mode), x)


def test_lecture_shift_kernel_moves_the_image_one_pixel_right():
    shift = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0]])  # the lecture's "Shift" kernel
    image = np.arange(1, 26).reshape(5, 5)
    out = nn.conv2d(image[None, :, :, None], shift[:, :, None, None], 1, "SAME")[0, :, :, 0]
    np.testing.assert_array_equal(out[:, 1:], image[:, :-1])
    np.testing.assert_array_equal(out[:, 0], 0)


def test_groups_equal_to_channels_is_a_per_channel_loop():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 10, 10))
    w = rng.normal(size=(10, 1, 3, 3))  # channel multiplier 2
    y = F.conv2d(x, w, padding=1, stride=2, groups=5)
    loop = np.concatenate([F.conv2d(x[:, c:c + 1], w[2 * c:2 * c + 2], padding=1, stride=2)
                           for c in range(5)], axis=1)
    np.testing.assert_allclose(y, loop, atol=1e-12)


_ADJOINT_CASES = [  # kernel, stride, padding, dilation, groups, mode
    (3, 1, 1, 1, 1, "zeros"), (3, 2, "same", 1, 1, "zeros"), (3, 1, 2, 2, 4, "reflect"),
    (3, 3, 1, 1, 2, "circular"), (3, 2, 0, 1, 1, "replicate"), (3, 1, 1, 2, 1, "circular"),
    (1, 1, 0, 1, 1, "zeros"), (1, 2, 0, 1, 4, "zeros"), (1, 3, 1, 1, 2, "reflect"),
]
_ADJOINT_U, _ADJOINT_O = (4, 16, 32, 32), 32
#: Each algorithm over the cases it claims (every one has at least two).
_ADJOINT = [(algorithm, case) for algorithm in ALGORITHMS for case in _ADJOINT_CASES
            if claims(algorithm, _ADJOINT_U, (_ADJOINT_O, 16 // case[4], case[0], case[0]),
                      stride=case[1], padding=case[2], dilation=case[3], groups=case[4],
                      padding_mode=case[5])]


def test_every_algorithm_has_adjoint_cases():
    counts = {algorithm: sum(a == algorithm for a, _ in _ADJOINT) for algorithm in ALGORITHMS}
    assert min(counts.values()) >= 2, counts


@pytest.mark.parametrize(("algorithm", "case"), _ADJOINT, ids=str)
def test_adjoint_identity(level, algorithm, case):
    # <conv(u, w), v> = <u, conv_input_grad(v, w)> = <w, conv_weight_grad(u, v)>
    kernel, stride, padding, dilation, groups, mode = case
    rng = np.random.default_rng(3)
    u = rng.normal(size=_ADJOINT_U)
    w = rng.normal(size=(_ADJOINT_O, 16 // groups, kernel, kernel))
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                   padding_mode=mode, algorithm=algorithm)
    y = F.conv2d(u, w, **options)
    v = rng.normal(size=y.shape)
    lhs = np.vdot(y, v)
    np.testing.assert_allclose(np.vdot(u, G.conv2d_input(u.shape, w, v, **options)), lhs,
                               rtol=1e-10)
    np.testing.assert_allclose(np.vdot(w, G.conv2d_weight(u, w.shape, v, **options)), lhs,
                               rtol=1e-10)


def test_empty_batch_gives_empty_results():
    x = np.zeros((0, 3, 8, 8))
    w = np.ones((4, 3, 3, 3))
    y = F.conv2d(x, w, np.ones(4), padding=1)
    assert y.shape == (0, 4, 8, 8)
    assert G.conv2d_input(x.shape, w, y, padding=1).shape == x.shape
    np.testing.assert_array_equal(G.conv2d_weight(x, w.shape, y, padding=1), np.zeros(w.shape))
    assert nn.conv2d(np.zeros((0, 8, 8, 3)), np.ones((3, 3, 3, 4)), 2, "SAME").shape == (
        0, 4, 4, 4)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_and_inf_propagate_as_ieee_says():
    x = np.zeros((1, 1, 6, 6))
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 5, 5] = np.inf
    y = F.conv2d(x, np.ones((1, 1, 2, 2)))[0, 0]
    assert np.isnan(y[0, 0]) and np.isposinf(y[4, 4])
    assert np.isfinite(np.delete(y.ravel(), [0, 24])).all()  # windows without them are finite
    # inf times a zero weight is nan, as in IEEE arithmetic and in PyTorch
    assert np.isnan(F.conv2d(x, np.zeros((1, 1, 2, 2)))[0, 0, 4, 4])


def test_large_input_in_bounded_memory():
    # 1 x 1 x 2048 x 2048 through a 5x5 filter: the columns (400 MiB in float64) exceed the
    # 256 MiB workspace, so im2col must work in slabs and still be exact.
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 1, 2048, 2048))
    w = rng.normal(size=(1, 1, 5, 5))
    y = F.conv2d(x, w, padding="same", algorithm="im2col")
    rows = slice(1000, 1004)
    expected = F.conv2d(x[:, :, 998:1006], w, padding=((0, 0), (2, 2)), algorithm="im2col")
    np.testing.assert_allclose(y[:, :, rows], expected, atol=1e-12)
