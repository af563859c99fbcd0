"""The convolution algorithms and the one rule that chooses among them.

Every algorithm is a module with the same four functions over canonical arrays (see
``strided._spec``; zero padding only, from ``spec.padding``; dtype float32, float64 or int64)::

    supports(spec, dtype) -> str | None      # None, or why the algorithm cannot do it
    forward(x, w, spec) -> y                 # (N, *S, C), (*K, C/g, O) -> (N, *OS, O)
    grad_input(grad_output, w, spec) -> dx   # (N, *OS, O), (*K, C/g, O) -> (N, *S, C)
    grad_weight(x, grad_output, spec) -> dw  # (N, *S, C), (N, *OS, O) -> (*K, C/g, O)

The algorithms (``algorithm=`` names):

* ``im2col``: gather windows into columns, one GEMM; every case, in a bounded workspace;
* ``winograd``: compiled F(2x2 / 4x4 / 6x6, 3x3) and F(2x2 / 4x4, 5x5), 2-D 3x3 and 5x5
  stride-1 ungrouped floats (dilation by phases), and 3x3 stride 2 by its phases;
* ``pointwise``: 1x1 kernels without padding as one plain GEMM;
* ``direct``: compiled register-blocked kernels (float32, float64), every case;
* ``fft``: products per frequency, ungrouped floats, for large kernels.

Each algorithm's functions use both cores themselves (``_threads``); the choice for
``algorithm="auto"`` is ``choose``, the one rule.  An algorithm asked by name for a case its
``supports`` refuses raises ``NotImplementedError`` (``resolve``); nothing falls back silently.
"""

from __future__ import annotations

import math
from typing import Literal, Protocol

import numpy as np

from .._spec import ConvSpec
from . import _direct, _fft, _im2col, _pointwise, _winograd
from . import _levels as _levels  # applies STRIDED_ISA at import


class Algorithm(Protocol):
    """What every algorithm module provides (canonical C-contiguous arrays, zero padding)."""

    def supports(self, spec: ConvSpec, dtype: np.dtype) -> str | None: ...
    def forward(self, x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray: ...
    def grad_input(self, grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec
                   ) -> np.ndarray: ...
    def grad_weight(self, x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec
                    ) -> np.ndarray: ...


ALGORITHMS: dict[str, Algorithm] = {
    "im2col": _im2col,
    "winograd": _winograd,
    "pointwise": _pointwise,
    "direct": _direct,
    "fft": _fft,
}


#: A pass of the convolution: the forward pass or one of its two gradients.
Direction = Literal["forward", "grad_input", "grad_weight"]


def choose(spec: ConvSpec, dtype: np.dtype, direction: Direction = "forward") -> Algorithm:
    """The ``algorithm="auto"`` rule: the first of these that applies.

    1. integers (exact in int64), which the compiled kernels do not compute: ``pointwise``
       for a 1x1 kernel without padding, else ``im2col``;
    2. a 1x1 kernel without padding: the weight gradient channels last as ``direct`` where
       the kernels' tiles hold four vectors (AVX-512) or a channel count is at most 32, whose
       thin products BLAS runs slowly (2 threads, least of 15, Zen 5, ``pointwise`` against
       ``direct`` ms: held-out 2 0.25 -> 0.10, 11 4.65 -> 1.18, 9 6.43 -> 1.95, 12 3.09 ->
       2.75, the suite's pointwise 7.7 -> 7.3; at AVX2, 0.28 -> 0.11, 1.52 -> 1.27, 5.71 ->
       2.29, 2.81 -> 2.82, and 7.3 -> 14.7 on the suite's pointwise, whose channels are
       wide); else the weight gradient (and the input gradient of fewer than 4 input
       channels) as ``pointwise``'s one BLAS product; channels first (zero
       padding mode) with more than 4 input channels, every pass as ``pointwise``, whose
       products read and write that layout as it is (no transposing copies; a timing
       script around the channels-first calls, ``auto`` against ``algorithm="pointwise"``,
       2 threads, least of 15: held-out 12 forward 13.1 -> 6.8 ms, input gradient 15.0 -> 7.7; the
       suite's pointwise 33.7 -> 20.0 and 38.9 -> 16.1; reported 1x1 2.6 -> 2.3 and
       2.8 -> 2.0; held-out 2 0.40 -> 0.46 and 0.51 -> 0.49); the rest ``direct`` (1 to 4
       channels first: its kernels write the planes directly, 1.6 ms against 8.8 on
       held-out 13);
    3. a single input and output channel (an image filter) with at least 576 taps (24x24),
       stride 1: ``fft``, whose cost does not grow with the kernel;
    4. a 3x3 or 5x5, stride 1, ungrouped 2-D convolution (any dilation) with at least
       ``_WINOGRAD_CHANNELS[r, direction]`` input and output channels: ``winograd``, 2.25x
       to 6.25x fewer multiplies than direct (measurements beside ``_WINOGRAD_CHANNELS``;
       FFT took 3 to 5.5 times direct's time on the 5x5 layers);
    5. at least 169 taps (13x13), stride 1, ungrouped: ``fft``;
    6. the input gradient with fewer than 4 input channels per group (not depthwise): the
       kernels' lanes run over the input channels there, so ``im2col``'s products pay;
    7. anything else: ``direct``, the compiled kernels.

    Measured (``benchmarks/algorithms.py``: each algorithm's CPU time on one thread over the
    suite's 14 layers; the held-out layers were not used) on the 2-core AMD EPYC (Zen 3,
    AVX2): ``direct`` is fastest or within 10 % on every layer but these; single-channel
    filters cross over to FFT between 21x21 and 31x31 on 128 to 2048 pixels a side (e.g. at
    512x512: 21x21 11.9 ms direct, 16.4 fft; 31x31 27.9 against 18.6); the 11x11 16-channel
    layer ties with FFT (16.6 against 18.4); 1x1 weight gradients are BLAS's (28 against 57
    ms).

    Accuracy: every algorithm but ``fft`` sums each output's products directly, accurate to
    the output's own size (in float64 about 1e-15 relative).  ``fft`` rounds like a sum over
    the whole image: each output's error is about ``eps * log2(L) * max|x| * sum|w|``
    (``L`` the transform length), so outputs much smaller than the largest ones lose
    relative accuracy (data spanning 1e-6..1: a relative error near 1e-9 in float64 and
    1e-1 in float32 on the small outputs).  Pass ``algorithm="direct"`` where each output
    must be accurate to its own size.  Inputs or weights holding NaN or inf give the direct
    result's NaN and inf pattern whatever the algorithm: ``fft`` computes such calls by
    im2col (see ``_fft``).
    """
    pointwise = _pointwise.supports(spec, dtype) is None
    cg = spec.in_channels // spec.groups
    taps = math.prod(spec.kernel_size)
    if _direct.supports(spec, dtype) is not None:
        return _pointwise if pointwise else _im2col
    if pointwise:
        planar = spec.data_format == "channels_first" and spec.padding_mode == "zeros"
        thin = min(cg, spec.out_channels // spec.groups) <= 32
        if direction == "grad_weight" and not planar and (thin or _direct.four_vector_tiles(dtype)):
            return _direct
        if (direction == "grad_weight" or (direction == "grad_input" and cg < 4)
                or (planar and cg > 4)):
            return _pointwise
        return _direct
    fft = _fft.supports(spec, dtype) is None and all(s == 1 for s in spec.stride)
    if spec.in_channels == spec.out_channels == 1:
        return _fft if fft and taps >= 576 else _direct
    if _winograd.supports(spec, dtype) is None and _winograd_pays(spec, direction):
        return _winograd
    if fft and taps >= 169:
        return _fft
    if direction == "grad_input" and cg < 4 and not (cg == 1 and spec.groups > 1):
        return _im2col
    return _direct


#: Winograd against direct (``_winograd_pays``), measured in CPU time of one thread by
#: ``PYTHONPATH=src python benchmarks/winograd_vs_direct.py --repeats 2`` on the suite's, the
#: held-out and the reported 3x3 and 5x5 stride-1 layers and on few-channel ones (Zen 3, AVX2,
#: float32; winograd / direct time for forward, input gradient, weight gradient, at the tile
#: size ``tile_size`` picks; the 12:45 run in benchmarks/results/winograd_vs_direct.txt):
#:
#:     3x3 ResNet a  16 x 56^2, 64 -> 64        0.56 0.58 0.76   (F6)
#:         ResNet b  16 x 28^2, 128 -> 128      0.39 0.32 0.42   (F4)
#:         ResNet c  16 x 14^2, 256 -> 256      0.46 0.49 0.44   (F2)
#:         ResNet d  16 x 7^2, 512 -> 512       0.56 1.04 0.45   (F2)
#:         dilated   16 x 56^2, 64 -> 64, d=2   0.44 0.43 0.51   (F6)
#:         held-out 1, 4, 8, 14 (32 -> 64..512) 0.58-0.94 0.68-0.89 0.50-0.66
#:         reported 64x64x32 and batch-1 64     0.61-0.71 0.59-0.61 0.69-0.82
#:         Keras article 4 x 28^2, 3 -> 2       1.32 1.17 2.50   (F2)
#:         8 x 56^2, 3 -> 16                    0.98 0.64 1.80   (F4)
#:         8 x 56^2, 8 -> 8                     0.69 0.78 2.66   (F4)
#:         8 x 28^2, 4 -> 64                    1.90 0.93 1.53   (F4)
#:         8 x 56^2, 16 -> 16                   0.91 0.85 1.31   (F4)
#:     5x5 reported 8 x 32^2, 32 -> 64          0.40 0.46 0.53   (F4, and below)
#:         16 x 28^2, 64 -> 64                  0.35 0.42 0.42
#:         16 x 14^2, 128 -> 128                0.55 0.51 0.43
#:         16 x 7^2, 256 -> 256                 0.57 0.69 0.43
#:         8 x 32^2, 16 -> 16                   0.50 0.69 1.08
#:         8 x 32^2, 4 -> 32                    0.82 0.86 2.33
#:
#: The shared machine moves single cells by up to 40 % between runs.  The forward pass and
#: input gradient win from 8 channels on both sides for 3x3 (at 4 input channels the
#: transforms cost more than the multiplies save) and, as measured, from 16 for 5x5; the
#: weight gradient, against direct kernels that reduce over pixels in registers, only from 32.
#: FFT (``_fft``) took 3.0 to 5.5 times direct's time on the 5x5 layers (31.8 ms against
#: 10.7 forward on 8 x 32^2, 32 -> 64), so no 5x5 layer goes to it.
_WINOGRAD_CHANNELS: dict[tuple[int, Direction], int] = {
    (3, "forward"): 8, (3, "grad_input"): 8, (3, "grad_weight"): 32,
    (5, "forward"): 16, (5, "grad_input"): 16, (5, "grad_weight"): 32,
}


#: Stride-2 3x3 layers by their phases (F(4x4, 2x2) over 4C channels), winograd / direct for
#: forward, input gradient, weight gradient (the same command, ``--sets stride-2``, and the
#: suite's and held-out set's two): downsample 16 x 56^2, 64 -> 128: 0.95 0.99 1.29; held-out
#: 5, 8 x 56^2, 128 -> 256: 1.38 1.91 1.03; 16 x 28^2, 128 -> 256: 1.62 1.60 1.30; 16 x 14^2,
#: 256 -> 512: 1.58 2.37 1.52; 8 x 112^2, 16 -> 32: 1.74 1.22 1.96.  Never faster than
#: direct beyond noise: the phases' kernel (16 taps of which 9 are real) and its transform
#: (a^2 4C O values, 4x a stride-1 layer's) cost what the fewer multiplies save, so ``auto``
#: keeps stride 2 on direct (``algorithm="winograd"`` still runs it).


def _winograd_pays(spec: ConvSpec, direction: Direction) -> bool:
    """Whether ``spec`` has channels enough for Winograd to beat direct in ``direction``
    (never at stride 2, as measured above)."""
    if spec.stride != (1, 1):
        return False
    return (min(spec.in_channels, spec.out_channels)
            >= _WINOGRAD_CHANNELS[spec.kernel_size[0], direction])


def resolve(algorithm: str, spec: ConvSpec, dtype: np.dtype, op: str,
            direction: Direction = "forward") -> Algorithm:
    """The algorithm named ``algorithm`` (or chosen, for "auto"), checked to support ``spec``."""
    if algorithm == "auto":
        return choose(spec, dtype, direction)
    module = ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if module is None:
        names = ", ".join(repr(name) for name in ["auto", *ALGORITHMS])
        raise ValueError(f"{op}: algorithm must be one of {names}; got algorithm={algorithm!r}")
    reason = module.supports(spec, dtype)
    if reason is not None:
        raise NotImplementedError(f"{op}: algorithm={algorithm!r} cannot do this convolution: "
                                  f"{reason}; use algorithm='auto'")
    return module
