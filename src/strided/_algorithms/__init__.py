"""The convolution algorithms and the one rule that chooses among them.

Every algorithm is a module with the same four functions over canonical arrays (see
``strided._spec``; zero padding only, from ``spec.padding``; dtype float32, float64 or int64)::

    supports(spec, dtype) -> str | None      # None, or why the algorithm cannot do it
    forward(x, w, spec) -> y                 # (N, *S, C), (*K, C/g, O) -> (N, *OS, O)
    grad_input(grad_output, w, spec) -> dx   # (N, *OS, O), (*K, C/g, O) -> (N, *S, C)
    grad_weight(x, grad_output, spec) -> dw  # (N, *S, C), (N, *OS, O) -> (*K, C/g, O)

The algorithms (``algorithm=`` names):

* ``im2col``: gather windows into columns, one GEMM; every case, in a bounded workspace;
* ``winograd``: F(4x4, 3x3) / F(2x2, 3x3), 2-D 3x3 stride-1 ungrouped floats (dilation by
  phases);
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
    3. a single input and output channel (an image filter) with a large kernel, stride 1,
       float (``_single_channel_fft_pays``: at least 121 taps, e.g. 11x11, or at least 49
       on at most 256 x 256 output pixels): ``fft``, whose cost does not grow with the
       kernel;
    4. a 3x3, stride 1, undilated, ungrouped 2-D float convolution with enough channels and
       pixels for Winograd's 4x fewer multiplies to pay for its transforms
       (``_WINOGRAD_PAYS``);
    5. a large kernel (at least 49 taps, e.g. 7x7), stride 1, ungrouped, float: ``fft``,
       whose cost does not grow with the kernel;
    6. anything else: ``direct``, the compiled kernels.

    Accuracy: every algorithm but ``fft`` sums each output's products directly, accurate to
    the output's own size (in float64 about 1e-15 relative).  ``fft`` rounds like a sum over
    the whole image: each output's error is about ``eps * log2(L) * max|x| * sum|w|``
    (``L`` the transform length), so outputs much smaller than the largest ones lose
    relative accuracy (data spanning 1e-6..1: a relative error near 1e-9 in float64 and
    1e-1 in float32 on the small outputs).  Pass ``algorithm="direct"`` where each output
    must be accurate to its own size.  Inputs or weights holding NaN or inf give the direct
    result's NaN and inf pattern whatever the algorithm: ``fft`` computes such calls by
    im2col (see ``_fft``).

    The same rule serves the forward pass and both gradients: each algorithm's gradients run
    on the machinery of its forward pass, and measured to pay in the same places.
    """
    if _pointwise.supports(spec, dtype) is None:
        return _pointwise
    if _direct.supports(spec, dtype) is not None:
        return _im2col
    if (spec.in_channels == spec.out_channels == 1 and _single_channel_fft_pays(spec)
            and _fft.supports(spec, dtype) is None):
        return _fft
    if _winograd.supports(spec, dtype) is None and _winograd_pays(spec):
        return _winograd
    if (math.prod(spec.kernel_size) >= 49 and all(s == 1 for s in spec.stride)
            and _fft.supports(spec, dtype) is None):
        return _fft
    return _direct


def _single_channel_fft_pays(spec: ConvSpec) -> bool:
    """Whether FFT beats ``direct`` on a single-channel filter: measured on the 2-core machine
    (``direct`` costs about 30 us + 0.4 ns per pixel per tap, ``fft`` about 45 ns per pixel):
    at 128x128, 7x7 took 2.3 ms by ``direct`` and 0.7 ms by ``fft``; at 512x512 7x7 took 6.6
    against 14 ms, 11x11 19 against 21 ms, 15x15 35 against 18 ms."""
    taps = math.prod(spec.kernel_size)
    pixels = spec.batch * math.prod(spec.output_size)
    return all(s == 1 for s in spec.stride) and (
        taps >= 121 or (taps >= 49 and pixels <= 256 * 256))


#: Where Winograd beats im2col: (at least this many channels, on at least this many output
#: pixels), any pair that holds, and no dilation (its phases cost more than they save).
#: Measured on the 2-core machine by ``benchmarks/winograd_vs_im2col.py``: elsewhere the
#: transforms of small tiles over few channels cost more than the multiplies they save (up to
#: 6x slower on 7x7 or 14x14 images with 16 to 64 channels).
_WINOGRAD_PAYS = ((64, 56 * 56), (128, 28 * 28), (256, 14 * 14))


def _winograd_pays(spec: ConvSpec) -> bool:
    """Whether ``spec`` has enough channels and pixels for Winograd to beat im2col."""
    channels = min(spec.in_channels, spec.out_channels)
    pixels = math.prod(spec.output_size)
    return all(d == 1 for d in spec.dilation) and any(
        channels >= c and pixels >= p for c, p in _WINOGRAD_PAYS)


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
