"""The core against the plain loop reference (tests/reference.py), and padding modes that
PyTorch cannot check (circular wrapping more than once, symmetric) against NumPy's np.pad."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
import strided
from strategies import configs
from strided import functional as F
from strided import grad as G


@settings(max_examples=30)
@pytest.mark.parametrize("algorithm", strided.algorithms())
@given(cfg=configs(modes=("zeros",), max_size=5, batch=(1, 2)), seed=st.integers(0, 2**16))
def test_forward_and_gradients_against_loops(algorithm, cfg, seed):
    x, w, _ = cfg.arrays(seed)
    options = dict(stride=cfg.stride, padding=cfg.padding, dilation=cfg.dilation,
                   groups=cfg.groups, algorithm=algorithm)
    loops = (cfg.stride, cfg.pairs, cfg.dilation, cfg.groups)
    try:
        y = getattr(F, f"conv{cfg.rank}d")(x, w, **options)
    except NotImplementedError:
        return
    np.testing.assert_allclose(y, reference.conv(x, w, *loops), atol=1e-10)
    dy = np.random.default_rng(seed).normal(size=y.shape)
    np.testing.assert_allclose(getattr(G, f"conv{cfg.rank}d_input")(x.shape, w, dy, **options),
                               reference.conv_grad_input(dy, w, x.shape, *loops), atol=1e-10)
    np.testing.assert_allclose(getattr(G, f"conv{cfg.rank}d_weight")(x, w.shape, dy, **options),
                               reference.conv_grad_weight(x, dy, w.shape, *loops), atol=1e-10)


@pytest.mark.parametrize(("mode", "numpy_mode"), [("circular", "wrap"),
                                                  ("symmetric", "symmetric"),
                                                  ("replicate", "edge")])
def test_padding_modes_beyond_the_input_size(mode, numpy_mode):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 2, 3, 4))
    w = rng.normal(size=(3, 2, 3, 3))
    pads = [(5, 4), (2, 6)]  # wider than the image: wraps / mirrors more than once
    y = F.conv2d(x, w, padding=pads, padding_mode=mode)
    padded = np.pad(x, [(0, 0), (0, 0), *pads], mode=numpy_mode)
    np.testing.assert_allclose(y, reference.conv(padded, w, (1, 1), [(0, 0)] * 2, (1, 1)),
                               atol=1e-12)
    # and the input gradient is the adjoint of that padding
    v = rng.normal(size=y.shape)
    dx = G.conv2d_input(x.shape, w, v, padding=pads, padding_mode=mode)
    np.testing.assert_allclose(np.vdot(dx, x), np.vdot(y, v), rtol=1e-12)
