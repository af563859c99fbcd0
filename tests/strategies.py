"""Hypothesis strategies drawing convolution configurations that PyTorch can check, and each
algorithm's tolerance against that float64 oracle.

``configs(algorithm=name)`` draws only the configurations ``name`` claims (its ``supports``
accepts the spec that reaches it, after the padding mode has been applied), so a test over
them calls the algorithm on every draw and no refusal can pass for a success.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import oracle
import strided
from strided._spec import ConvSpec

#: Each algorithm's tolerance against PyTorch's float64, by dtype: float64 elementwise, as
#: ``|got - want| <= tol * (|want| + max(1, max |want|))``; float32 as the relative L2 error of
#: the whole result (its inputs rounded to float32 first, so only the algorithm's own rounding
#: counts).  Direct and pointwise add each product once in float64; im2col's BLAS reorders
#: the sums; Winograd's transforms and FFT's round trip lose a few more digits.
TOLERANCES: dict[str, dict[type, float]] = {
    "im2col": {np.float64: 1e-11, np.float32: 3e-6},
    "winograd": {np.float64: 1e-10, np.float32: 1e-5},
    "pointwise": {np.float64: 1e-12, np.float32: 3e-6},
    "direct": {np.float64: 1e-12, np.float32: 3e-6},
    "fft": {np.float64: 1e-10, np.float32: 1e-5},
}
#: ``algorithm="auto"`` may pick any of them.
TOLERANCES["auto"] = {dtype: max(t[dtype] for t in TOLERANCES.values())
                      for dtype in (np.float64, np.float32)}


def assert_close(got: np.ndarray, want: np.ndarray, algorithm: str, what: str = "") -> None:
    """``got`` (float64 or float32) within ``algorithm``'s tolerance of the float64 ``want``."""
    assert got.shape == want.shape, f"{algorithm} {what}: shape {got.shape} != {want.shape}"
    dtype = got.dtype.type
    assert dtype in (np.float64, np.float32), f"{algorithm} {what}: dtype {got.dtype}"
    tol = TOLERANCES[algorithm][dtype]
    if dtype is np.float64:
        scale = max(1.0, float(np.abs(want).max(initial=0)))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale,
                                   err_msg=f"{algorithm} {what}")
        return
    error = np.linalg.norm(got.astype(np.float64) - want) / max(np.linalg.norm(want), 1e-300)
    assert error <= tol, f"{algorithm} {what}: float32 relative L2 error {error:.2e} > {tol}"


def assert_close_to_sums(got: np.ndarray, want: np.ndarray, magnitude: np.ndarray,
                         algorithm: str, what: str = "") -> None:
    """``assert_close`` for float64; float32 within the tolerance relative to ``magnitude``, the
    same sums over the terms' absolute values: a sum that cancels (a weight gradient of few
    terms) is accurate to its terms' size, not its own."""
    if got.dtype == np.float64:
        return assert_close(got, want, algorithm, what)
    assert got.shape == want.shape, f"{algorithm} {what}: shape {got.shape} != {want.shape}"
    tol = TOLERANCES[algorithm][np.float32]
    error = np.linalg.norm(got.astype(np.float64) - want) / max(np.linalg.norm(magnitude), 1e-300)
    assert error <= tol, f"{algorithm} {what}: float32 L2 error {error:.2e} of the sums of |terms|"


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
            max_size=7, batch=(0, 2), groups=(1, 1, 2, 3), algorithm: str | None = None
            ) -> Config:
    """A configuration; with ``algorithm``, only one that algorithm claims (by construction)."""
    if algorithm == "winograd":
        ranks = (2,)
    if algorithm in ("winograd", "fft"):
        groups = (1,)
    rank = draw(st.sampled_from(ranks))
    g = draw(st.sampled_from(groups))
    in_channels = g * draw(st.integers(1, 2))
    out_channels = g * draw(st.integers(1, 2))
    ints = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * rank)  # noqa: E731
    size = draw(ints(1, max_size))
    kernel = draw(ints(1, 3))
    stride = draw(ints(1, 3))
    dilation = draw(ints(1, 2))
    if algorithm == "winograd":
        kernel, stride = draw(st.sampled_from([((3, 3), (1, 1)), ((3, 3), (1, 1)),
                                               ((5, 5), (1, 1)), ((3, 3), (2, 2))]))
        if stride == (2, 2):  # by phases, at dilation 1
            dilation = (1, 1)
    if algorithm == "pointwise":
        kernel = (1,) * rank
    mode = draw(st.sampled_from(modes))
    kinds = ["int", "pairs", "valid", "same"]
    if algorithm == "pointwise" and mode == "zeros":  # zero padding reaches it: none at all
        kinds = ["valid", "same"]  # "same" pads a 1x1 kernel by nothing
    kind = draw(st.sampled_from(kinds))
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
    for n, k, d, (lo, hi) in zip(size, kernel, dilation, pairs):
        assume(d * (k - 1) + 1 <= n + lo + hi)
        if mode == "reflect":
            assume(max(lo, hi) < n)
        if mode == "circular":  # PyTorch wraps around at most once
            assume(max(lo, hi) <= n)
    return Config(rank, draw(st.integers(*batch)), in_channels, out_channels, g, size,
                  kernel, stride, dilation, padding, pairs, mode)


def canonical_oracle(spec: ConvSpec, x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                     dense: bool = False):
    """(y, dx, dw) of PyTorch in float64, in the canonical channels-last layouts.

    ``dense``: a grouped convolution as an ungrouped one with a block-diagonal weight, the
    same sums plus zeros; on large images PyTorch's grouped float64 path is 10x slower.
    """
    if dense and spec.groups > 1:
        g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
        blocks = np.zeros((*spec.kernel_size, spec.in_channels, spec.out_channels))
        for i in range(g):
            blocks[..., i * cg:(i + 1) * cg, i * og:(i + 1) * og] = w[..., i * og:(i + 1) * og]
        y, dx, dw = canonical_oracle(replace(spec, groups=1), x, blocks, dy)
        return y, dx, np.concatenate([dw[..., i * cg:(i + 1) * cg, i * og:(i + 1) * og]
                                      for i in range(g)], axis=-1)
    r = spec.rank
    first, last = (0, r + 1, *range(1, r + 1)), (0, *range(2, r + 2), 1)
    c = np.ascontiguousarray
    y, dx, dw, _ = oracle.conv(c(x.transpose(first)), c(w.transpose(r + 1, r, *range(r))),
                               stride=spec.stride, dilation=spec.dilation, groups=spec.groups,
                               padding=spec.padding, grad_output=c(dy.transpose(first)))
    return y.transpose(last), dx.transpose(last), dw.transpose(*range(2, r + 2), 1, 0)


def run_all(module, spec: ConvSpec, x, w, dy):
    """An algorithm module's (forward, grad_input, grad_weight) on canonical arrays."""
    return (module.forward(x, w, spec), module.grad_input(dy, w, spec),
            module.grad_weight(x, dy, spec))


def canonical_arrays(spec: ConvSpec, seed: int = 0):
    """Standard normal x (N, *S, C), w (*K, C/g, O) and dy (N, *OS, O) in float64."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(spec.input_shape), rng.standard_normal(spec.weight_shape),
            rng.standard_normal(spec.output_shape))
