"""The convolution algorithms and the one rule that chooses among them.

Every algorithm is a module with the same four functions over canonical arrays (see
``strided._spec``; zero padding only, from ``spec.padding``; dtype float32, float64 or int64)::

    supports(spec, dtype) -> str | None      # None, or why the algorithm cannot do it
    forward(x, w, spec) -> y                 # (N, *S, C), (*K, C/g, O) -> (N, *OS, O)
    grad_input(grad_output, w, spec) -> dx   # (N, *OS, O), (*K, C/g, O) -> (N, *S, C)
    grad_weight(x, grad_output, spec) -> dw  # (N, *S, C), (N, *OS, O) -> (*K, C/g, O)

The algorithms (``algorithm=`` names):

* ``im2col``: gather windows into columns, one GEMM; every case, in a bounded workspace;
* ``winograd``: compiled F(2x2 / 4x4 / 6x6, 3x3), 2-D 3x3 stride-1 ungrouped floats (dilation
  by phases);
* ``pointwise``: 1x1 kernels without padding as one plain GEMM;
* ``direct``: compiled register-blocked kernels (float32, float64), every case;
* ``fft``: products per frequency, ungrouped floats, for large kernels.

Each algorithm's functions use both cores themselves (``_threads``); the choice for
``algorithm="auto"`` is ``choose``, the one rule.  An algorithm asked by name for a case its
``supports`` refuses raises ``NotImplementedError`` (``resolve``); nothing falls back silently.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from .._spec import ConvSpec
from . import _direct, _fft, _im2col, _levels, _pointwise, _winograd

ALGORITHMS: dict[str, ModuleType] = {
    "im2col": _im2col,
    "winograd": _winograd,
    "pointwise": _pointwise,
    "direct": _direct,
    "fft": _fft,
}


def choose(spec: ConvSpec, dtype: np.dtype) -> ModuleType:
    """The ``algorithm="auto"`` rule: the first of these that applies.

    1. a 1x1 kernel without padding: ``pointwise``, one matrix product;
    2. integers (exact in int64), which the compiled kernels do not compute: ``im2col``;
    3. a 3x3, stride 1, ungrouped 2-D float convolution (any dilation) with at least
       ``_WINOGRAD_CHANNELS`` input and output channels: ``winograd``, 2.25x to 5x fewer
       multiplies than direct;
    4. a large kernel (at least 49 taps, e.g. 7x7), stride 1, ungrouped, float: ``fft``,
       whose cost does not grow with the kernel;
    5. anything else: ``direct``, the compiled kernels.

    The same rule serves the forward pass and both gradients: each algorithm's gradients run
    on the machinery of its forward pass, and measured to pay in the same places.
    """
    if _pointwise.supports(spec, dtype) is None:
        return _pointwise
    if _direct.supports(spec, dtype) is not None:
        return _im2col
    if _winograd.supports(spec, dtype) is None and _winograd_pays(spec):
        return _winograd
    if (math.prod(spec.kernel_size) >= 49 and all(s == 1 for s in spec.stride)
            and _fft.supports(spec, dtype) is None):
        return _fft
    return _direct


#: Winograd against direct (``_winograd_pays``), measured in CPU time of one thread by
#: ``PYTHONPATH=src python benchmarks/winograd_vs_direct.py`` on the suite's, the held-out
#: and the reported 3x3 stride-1 layers (Zen 3, AVX2, float32; winograd / direct time for
#: forward, input gradient, weight gradient, at the tile size ``tile_size`` picks):
#:
#:     ResNet 3x3 a  16 x 56^2, 64 -> 64        0.53 0.60 0.08   (F6)
#:     ResNet 3x3 b  16 x 28^2, 128 -> 128      0.40 0.39 0.10   (F4)
#:     ResNet 3x3 c  16 x 14^2, 256 -> 256      0.37 0.49 0.24   (F2)
#:     ResNet 3x3 d  16 x 7^2, 512 -> 512       0.48 0.68 0.72   (F2)
#:     dilated       16 x 56^2, 64 -> 64, d=2   0.50 0.43 0.06   (F6)
#:     held-out 1, 4, 8, 14                     0.39-0.99 0.46-0.91 0.06-0.34
#:     reported 64x64x32 and batch-1 3x3        0.63-0.72 0.56-0.91 0.31-0.56
#:     Keras article 4 x 28^2, 3 -> 2           0.71 0.74 1.29   (F2; about 0.1 ms)
#:     few channels: 8 x 56^2, 3 -> 16          1.23 1.03 1.29   (F4)
#:                   8 x 56^2, 8 -> 8           0.82 0.66 0.52   (F4)
#:                   8 x 28^2, 4 -> 64          0.62 0.82 0.33   (F4)
#:                   8 x 56^2, 16 -> 16         0.59 0.72 0.61   (F4)
#:
#: (benchmarks/results/winograd_vs_direct.txt; the shared machine moves single cells by up to
#: 40 % between runs, but no layer from 4 channels on came out above 1 at its tile size.)
#: Winograd wins everywhere from 4 channels on both sides; below, its transforms cost more
#: than the multiplies save.
_WINOGRAD_CHANNELS = 4


def _winograd_pays(spec: ConvSpec) -> bool:
    """Whether ``spec`` has channels enough for Winograd to beat direct."""
    return min(spec.in_channels, spec.out_channels) >= _WINOGRAD_CHANNELS


def resolve(algorithm: str, spec: ConvSpec, dtype: np.dtype, op: str) -> ModuleType:
    """The algorithm named ``algorithm`` (or chosen, for "auto"), checked to support ``spec``."""
    if algorithm == "auto":
        return choose(spec, dtype)
    module = ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if module is None:
        names = ", ".join(repr(name) for name in ["auto", *ALGORITHMS])
        raise ValueError(f"{op}: algorithm must be one of {names}; got algorithm={algorithm!r}")
    reason = module.supports(spec, dtype)
    if reason is not None:
        raise NotImplementedError(f"{op}: algorithm={algorithm!r} cannot do this convolution: "
                                  f"{reason}; use algorithm='auto'")
    return module
