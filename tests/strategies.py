"""Hypothesis strategies drawing convolution configurations that PyTorch can check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import strategies as st

import strided


@dataclass(frozen=True)
class Config:
    rank: int
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: object               # as given to strided: int, pairs or a string
    pairs: tuple[tuple[int, int], ...]  # the same as (before, after) pairs, for the oracle
    mode: str

    def arrays(self, seed: int = 0, dtype=np.float64):
        """x (N, C, *S), w (O, C/g, *K), b (O,): channels first, PyTorch's layout."""
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(self.batch, self.in_channels, *self.size)).astype(dtype)
        w = rng.normal(size=(self.out_channels, self.in_channels // self.groups,
                             *self.kernel)).astype(dtype)
        b = rng.normal(size=self.out_channels).astype(dtype)
        return x, w, b


@st.composite
def configs(draw, ranks=(1, 2, 3), modes=("zeros", "reflect", "replicate", "circular"),
            max_size=7, batch=(0, 2)) -> Config:
    rank = draw(st.sampled_from(ranks))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    ints = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * rank)  # noqa: E731
    size = draw(ints(1, max_size))
    kernel = draw(ints(1, 3))
    stride = draw(ints(1, 3))
    dilation = draw(ints(1, 2))
    kind = draw(st.sampled_from(["int", "pairs", "valid", "same"]))
    if kind == "int":
        padding = draw(st.integers(0, 2))
        pairs = ((padding, padding),) * rank
    elif kind == "pairs":
        pairs = tuple(draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in range(rank))
        padding = [list(p) for p in pairs]
    else:
        padding = kind
        pairs = tuple(
            strided.same_padding(n, k, s, d) if kind == "same" else (0, 0)
            for n, k, s, d in zip(size, kernel, stride, dilation)
        )
    mode = draw(st.sampled_from(modes))
    for n, k, d, (lo, hi) in zip(size, kernel, dilation, pairs):
        assume(d * (k - 1) + 1 <= n + lo + hi)
        if mode == "reflect":
            assume(max(lo, hi) < n)
        if mode == "circular":  # PyTorch wraps around at most once
            assume(max(lo, hi) <= n)
    return Config(rank, draw(st.integers(*batch)), in_channels, out_channels, groups, size,
                  kernel, stride, dilation, padding, pairs, mode)


def call_or_skip(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, skipping the test when the named algorithm refuses the case."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as refusal:
        pytest.skip(str(refusal))
