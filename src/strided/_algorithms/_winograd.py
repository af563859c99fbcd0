"""Winograd's minimal filtering F(m x m, r x r) in compiled kernels: 3x3 kernels with m = 2,
4, 6 and 5x5 kernels with m = 2, 4 at stride 1; 3x3 kernels at stride 2 by their phases, a
stride-1 2x2 convolution over the input's four phases stacked as channels, with m = 4.

Lavin and Gray's algorithm computes each ``m x m`` output tile from an ``a x a`` input tile
``d`` (``a = m + r - 1``) and the r x r kernel ``g`` as::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element-wise, per channel pair)

Summed over input channels the element-wise product becomes ``a * a`` matrix products, one
per tile position: ``a^2 / m^2`` multiplies per output and channel pair in place of direct's
``r^2`` (for 3x3: 2.25x fewer with F(2x2), 4x with F(4x4), 5.06x with F(6x6); for 5x5: 2.78x
with F(2x2), 6.25x with F(4x4)).  The kernels (``csrc/winograd.inc``) transform the kernel
(``U = G g G^T``, once per call, or once for a layer in inference while its kernel does not
change: ``KernelCache``), then per block of tiles that stays in L2 run the input transform
(zeros outside the input: no padded copy), the products (register-blocked like the direct
kernels) and the output transform (bias and ReLU fused)::

    forward      y  = conv(x, w)        (N, H, W, C), (r, r, C, O) -> (N, OH, OW, O)
    grad_input   dx = conv(dy, w rotated 180 degrees, channels swapped), stride 1, padding
                      (r - 1) d - p (``_direct._phases``' one phase of a stride-1 convolution)
    grad_weight  dg = G^T [sum over tiles of V^T (A dY A^T)] G

A tile is ``m`` outputs ``d`` apart, so a dilated kernel runs on its phases in place.  A
stride-2 layer's phases are a copy (``_to_phases``), made for groups of images that fit half
the workspace limit.

Memory: every buffer is allocated here, under the workspace limit (``get_workspace_limit``):
U (a^2 C O values), and per thread the block's V and M (about 320 KiB) and, for the weight
gradient, its own dU (a^2 C O).  A call that would need more is cut into groups of output
channels, each under the limit (at least one vector's worth of channels whatever the limit).

Accuracy: the transforms mix values of different sizes, so the interpolation points
(``POINTS``) are the small ones, 0, +-1, +-1/2, +-2 (of seven sets tried for F(6x6, 3x3) in
a float32 simulation, this one had the least error; +-1/4 or +-3/2 doubled it).  The points
depend only on ``a``: F(2x2, 5x5) has F(4x4, 3x3)'s and F(4x4, 5x5) F(6x6, 3x3)'s.  float32
relative L2 error against float64 at 512 channels (``tests/test_winograd.py``), forward /
input gradient / weight gradient: ``ERROR_AT_512``; all within the 1e-5 that ``strided``
promises; float64 is exact to ~1e-14.

References
----------
.. [1] A. Lavin and S. Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016,
   arXiv:1509.09308.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

from .. import _kernels
from .._runtime._workspace import (
    WEIGHT_BYTES,
    buffer,
    empty_safe,
    get_workspace_limit,
    output_array,
)
from .._spec import ConvSpec
from . import _layout
from ._direct import _five, _geometry, _phases

#: The variants (m, r): F(m x m, r x r); F(4x4, 2x2) computes stride-2 3x3 layers from their
#: phases (``_phased``).  The kernels have F(6x6, 2x2) too, unused: over a 512-channel layer's
#: 2048 phase channels its float32 forward error was 1.1e-5, above the 1e-5 promised.
VARIANTS: tuple[tuple[int, int], ...] = ((2, 3), (4, 3), (6, 3), (2, 5), (4, 5), (4, 2))

#: Tile side a = m + r - 1 -> the finite interpolation points (the point at infinity is the
#: last); the matrices of ``csrc/winograd.hpp`` are built from these.
POINTS: dict[int, tuple[Fraction, ...]] = {
    4: tuple(Fraction(p) for p in (0, 1, -1)),
    5: tuple(Fraction(p) for p in (0, 1, -1, Fraction(1, 2))),
    6: tuple(Fraction(p) for p in (0, 1, -1, Fraction(1, 2), -2)),
    7: tuple(Fraction(p) for p in (0, 1, -1, Fraction(1, 2), Fraction(-1, 2), 2)),
    8: tuple(Fraction(p) for p in (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))),
}

#: float32 relative L2 error against float64 at 512 channels, (forward, input gradient,
#: weight gradient) per variant, measured by ``tests/test_winograd.py`` (which holds them
#: under 1e-5).
ERROR_AT_512: dict[tuple[int, int], tuple[float, float, float]] = {
    (2, 3): (7.0e-7, 7.1e-7, 1.7e-7),
    (4, 3): (3.0e-6, 3.0e-6, 6.1e-7),
    (6, 3): (9.1e-6, 9.0e-6, 1.8e-6),
    (2, 5): (3.3e-6, 3.3e-6, 8.2e-7),
    (4, 5): (8.6e-6, 8.6e-6, 1.7e-6),
    (4, 2): (3.5e-6, 3.0e-6, 4.6e-7),  # a stride-2 3x3 layer: 2048 channels of phases
}


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """Winograd does 2-D, ungrouped, floating-point convolutions: 3x3 or 5x5 at stride 1 (any
    dilation), and 3x3 at stride 2 (dilation 1, by phases)."""
    if spec.rank != 2:
        return f"Winograd is 2-D only; got {spec.rank} spatial dimension(s)"
    if spec.kernel_size not in ((3, 3), (5, 5)):
        return f"Winograd needs a 3x3 or 5x5 kernel; got kernel_size={spec.kernel_size}"
    if spec.stride != (1, 1) and not _phased(spec):
        return (f"Winograd needs stride 1, or stride 2 for a 3x3 kernel at dilation 1; got "
                f"stride={spec.stride}, kernel_size={spec.kernel_size}, "
                f"dilation={spec.dilation}")
    if spec.groups != 1:
        return f"Winograd needs groups=1; got groups={spec.groups}"
    if np.dtype(dtype).kind != "f":
        return f"Winograd's fractions are not exact in integers; got dtype {np.dtype(dtype)}"
    return None


def _phased(spec: ConvSpec) -> bool:
    """A 3x3 stride-2 convolution at dilation 1: computed from its phases (``_to_phases``)."""
    return spec.kernel_size == (3, 3) and spec.stride == (2, 2) and spec.dilation == (1, 1)


#: The per-call cost of the transformed kernel U (a*a*C*O values: transformed once, then read
#: by every block of tiles from L3 or memory) in tiles' worth of products, per kernel size r:
#: fitted to ``benchmarks/winograd_vs_direct.py``.  3x3: 16 x 7x7 x 512 runs F(2x2) in 0.69 of
#: F(4x4)'s time where products alone predict 1.78, 16 x 14x14 x 256 in 0.86 where they
#: predict 1.36.  5x5: F(4x4) was the faster on every layer measured, down to 16 x 7x7 x 256
#: (0.40 of direct's forward time against F(2x2)'s 0.67), which any value under 183 gives;
#: 64 keeps F(2x2) for outputs of one tile.  2x2 (a stride-2 3x3 layer's phases): as 3x3.
KERNEL_TILES: dict[int, int] = {2: 256, 3: 256, 5: 64}


def tile_size(output_size: Sequence[int], dilation: Sequence[int] = (1, 1),
              batch: int = 1, kernel: int = 3) -> int:
    """Output tile m (2, 4 or 6 for a 3x3 kernel, 2 or 4 for 5x5, 4 for 2x2) with the
    least modelled cost ``(m + r - 1)^2 * (tiles + KERNEL_TILES[r])``: products per tile, and
    the kernel's transform and reads per call (tiles counted per phase of a dilation; the
    smaller m on a tie)."""
    def cost(m: int) -> int:
        tiles = batch
        for n, d in zip(output_size, dilation):
            tiles *= sum(-(-len(range(r, n, d)) // m) for r in range(min(d, n)))
        return (m + kernel - 1) ** 2 * (tiles + KERNEL_TILES[kernel])
    return min((m for m, r in VARIANTS if r == kernel), key=cost)


#: A layer keeps its transformed kernel up to this size (a 3x3 512 -> 512 kernel's F(2x2) U is
#: 16 MiB, its F(6x6) U 64 MiB): larger ones are transformed on every call.
KEPT_BYTES = WEIGHT_BYTES


class KernelCache:
    """The transformed kernel U of one layer, kept while the kernel does not change.

    ``get`` compares the kernel with a copy of the one U came from, byte for byte (cheaper
    than transforming it again: one read of each against a^2 / r^2 times as many values
    written), so a kernel changed in place or replaced never gives a stale U.  The entry is
    one tuple, replaced whole: threads calling one layer at once see either entry, each
    consistent.
    """

    def __init__(self) -> None:
        self._entry: tuple[tuple[object, ...], np.ndarray, np.ndarray] | None = None

    def get(self, key: tuple[object, ...], kernel: np.ndarray,
            make: Callable[[], np.ndarray]) -> np.ndarray:
        """U for ``kernel`` under ``key`` (tile, lanes, level): kept, or ``make()`` kept."""
        entry = self._entry
        if entry is not None:
            kept_key, kept, u = entry
            if (kept_key == key and kept.dtype == kernel.dtype and kept.shape == kernel.shape
                    and np.array_equal(kept.view(np.uint8),
                                       np.ascontiguousarray(kernel).view(np.uint8))):
                return u
        self._entry = None  # the old U goes before the new one is made
        copy = np.array(kernel, order="C")
        u = make()
        self._entry = (key, copy, u)
        return u

    def clear(self) -> None:
        """Forget the kept U."""
        self._entry = None


def _plan(m: int, itemsize: int, grad_weight: bool, geometry: np.ndarray
          ) -> tuple[int, int, int, int, int]:
    """(lanes, tiles per block, parts, U values, scratch values per part) of one call."""
    return _kernels.winograd_plan(m, itemsize, grad_weight, geometry)


def _needed(m: int, itemsize: int, grad_weight: bool, geometry: np.ndarray) -> int:
    """Bytes of the buffers of one call: U (forward) and every part's scratch."""
    _, _, parts, u, scratch = _plan(m, itemsize, grad_weight, geometry)
    return ((0 if grad_weight else u) + parts * scratch) * itemsize


def _channel_groups(m: int, itemsize: int, grad_weight: bool, geometry: np.ndarray
                    ) -> list[slice]:
    """Output channels in groups whose buffers fit the workspace limit: all at once if they
    fit, else halves until they do (never fewer than one block of lanes)."""
    out = int(geometry[3])
    limit = get_workspace_limit()
    step, lanes = out, _plan(m, itemsize, grad_weight, geometry)[0]
    while step > lanes and _needed(m, itemsize, grad_weight, _with_outputs(geometry, step)) > limit:
        step = max(lanes, -(-(step // 2) // lanes) * lanes)
    return [slice(o, min(o + step, out)) for o in range(0, out, step)]


def _with_outputs(geometry: np.ndarray, og: int) -> np.ndarray:
    g = geometry.copy()
    g[3] = og
    return g


def _scratch(m: int, dtype: np.dtype, grad_weight: bool, geometry: np.ndarray) -> np.ndarray:
    _, _, parts, _, per_part = _plan(m, dtype.itemsize, grad_weight, geometry)
    return buffer("winograd scratch", (parts * per_part,), dtype)


def _weights(m: int, w: np.ndarray, geometry: np.ndarray) -> np.ndarray:
    """U = G g G^T for the forward kernels; w (r, r, C, O) C-contiguous."""
    u_size = _plan(m, w.itemsize, False, geometry)[3]
    u = np.empty(u_size, dtype=w.dtype)
    _kernels.winograd_weights(m, w, u, geometry)
    return u


def _forward_into(x: np.ndarray, w: np.ndarray, y: np.ndarray, geometry: np.ndarray, m: int,
                  bias: np.ndarray | None, cache: KernelCache | None) -> None:
    """y = the forward kernels' result, by groups of output channels under the workspace
    limit; ``cache`` keeps U when there is one group."""
    x5, y5 = _five(np.ascontiguousarray(x)), _five(y)
    groups = _channel_groups(m, x.itemsize, False, geometry)
    for out in groups:
        g = _with_outputs(geometry, out.stop - out.start)
        def make(out: slice = out, g: np.ndarray = g) -> np.ndarray:
            return _weights(m, np.ascontiguousarray(w[..., out]), g)
        lanes, _, _, u_size, _ = _plan(m, x.itemsize, False, g)
        if cache is not None and len(groups) == 1 and u_size * x.itemsize <= KEPT_BYTES:
            u = cache.get((m, lanes, _kernels.level()), w, make)
        else:
            u = make()
        _kernels.winograd_forward(m, x5, u, None if bias is None else bias[out], y5[..., out],
                                  g, _scratch(m, x.dtype, False, g))


@empty_safe("output_shape")
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
            relu: bool = False, tile: int | None = None, cache: KernelCache | None = None,
            out: np.ndarray | None = None) -> np.ndarray:
    """y = A^T [U * V] A tile by tile (+ bias, then max(0, .) if ``relu``);
    (N, H, W, C), (r, r, C, O) -> (N, OH, OW, O).  ``tile`` forces m; ``cache`` keeps U;
    ``out``: a C-contiguous array of y's shape and dtype to write y into."""
    dtype = np.result_type(x, w)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    y = output_array(out, spec.output_shape, dtype)
    if _phased(spec):
        _phased_forward(x, w, y, spec, bias, relu, tile, cache)
        return y
    geometry = _geometry(spec.batch, 1, spec.in_channels, spec.out_channels, spec.input_size,
                         spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding], relu)
    m = tile or tile_size(spec.output_size, spec.dilation, spec.batch, spec.kernel_size[0])
    _forward_into(x, w, y, geometry, m, bias, cache)
    return y


@empty_safe("input_shape")
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec,
               tile: int | None = None, cache: KernelCache | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
    """dx: the forward kernels on dy with the kernel rotated and its channels swapped,
    (r, r, O, C), padding ``(r - 1) d - p`` (negative where p is wider); -> (N, H, W, C).
    ``cache`` keeps U (of the rotated kernel); ``out`` as for ``forward``."""
    dtype = np.result_type(grad_output, w)
    dx = output_array(out, spec.input_shape, dtype)
    if _phased(spec):
        return _phased_grad_input(grad_output.astype(dtype, copy=False),
                                  w.astype(dtype, copy=False), dx, spec, tile, cache)
    (_, _, kernel, dilation, pad), = _phases(spec)  # stride 1: one phase, all of dx
    rotated = _layout.rotated(w.astype(dtype, copy=False))  # stride 1: every tap, reversed
    geometry = _geometry(spec.batch, 1, spec.out_channels, spec.in_channels, spec.output_size,
                         spec.input_size, kernel, (1, 1), dilation, pad)
    m = tile or tile_size(spec.input_size, dilation, spec.batch, spec.kernel_size[0])
    _forward_into(grad_output.astype(dtype, copy=False), rotated, dx, geometry, m, None, cache)
    return dx


@empty_safe("weight_shape")
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec,
                tile: int | None = None) -> np.ndarray:
    """dw = G^T [sum over tiles of V^T (A dY A^T)] G; -> (r, r, C, O)."""
    dtype = np.result_type(x, grad_output)
    if _phased(spec):
        return _phased_grad_weight(x.astype(dtype, copy=False),
                                   grad_output.astype(dtype, copy=False), spec, tile)
    dw = np.empty(spec.weight_shape, dtype=dtype)
    geometry = _geometry(spec.batch, 1, spec.in_channels, spec.out_channels, spec.input_size,
                         spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding])
    m = tile or tile_size(spec.output_size, spec.dilation, spec.batch, spec.kernel_size[0])
    _grad_weight_into(x.astype(dtype, copy=False), grad_output.astype(dtype, copy=False), dw,
                      geometry, m)
    return dw


def _grad_weight_into(x: np.ndarray, dy: np.ndarray, dw: np.ndarray, geometry: np.ndarray,
                      m: int) -> None:
    """dw (r, r, C, O) = the weight-gradient kernels' result, by groups of output channels
    under the workspace limit."""
    x5, dy = _five(np.ascontiguousarray(x)), np.ascontiguousarray(dy)
    groups = _channel_groups(m, dw.itemsize, True, geometry)
    for out in groups:
        g = _with_outputs(geometry, out.stop - out.start)
        whole = len(groups) == 1
        part = dw if whole else np.empty((*dw.shape[:-1], out.stop - out.start), dtype=dw.dtype)
        dy_part = dy if whole else np.ascontiguousarray(dy[..., out])
        _kernels.winograd_grad_weight(m, x5, dy_part, part, g, _scratch(m, dw.dtype, True, g))
        if not whole:
            dw[..., out] = part


# ---------------------------------------------------------------------------------------------
# Stride 2, 3x3: the phases.  Per dimension, input index 2o + k - p = 2(o + q) + h with the
# phase h = (k - p) mod 2 and q = floor((k - p) / 2), which takes two values q0 + j (j = 0, 1,
# q0 = floor(-p / 2)).  So the layer is a stride-1 2x2 convolution of the phases stacked as
# channels, x'[n, i, j, (h_row, h_col, c)] = x[n, 2i + h_row, 2j + h_col, c] (zero past the
# input), with the kernel w'[j_row, j_col, (h_row, h_col, c), o] = w[k_row, k_col, c, o] (zero
# where no tap lands) and padding -q0 before; 16 of its 4C x 2 x 2 taps per output are real
# for 9, so F(4x4, 2x2) does 25 * 4 / 16 = 6.25 multiplies per output and input channel
# against direct's 9.  The input gradient is the same 2x2 convolution's
# (then dx from dx'), the weight gradient its weight gradient (then w's taps from w').


def _phase_taps(pad: int) -> list[tuple[int, int]]:
    """Per tap k = 0, 1, 2 of one dimension: (j, h) of its place in the 2x2 kernel's phases."""
    q0 = -((pad + 1) // 2)
    return [(((k - pad) - (k - pad) % 2) // 2 - q0, (k - pad) % 2) for k in range(3)]


def _phase_geometry(spec: ConvSpec) -> tuple[list[int], list[int], list[int]]:
    """(x' size, padding before of the 2x2 convolution, (j, h) per tap) per dimension."""
    sizes = [-(-n // 2) for n in spec.input_size]
    pads = [(lo + 1) // 2 for lo, _ in spec.padding]
    return sizes, pads, [lo for lo, _ in spec.padding]


def _to_phases(x: np.ndarray, sizes: list[int]) -> np.ndarray:
    """(N, H, W, C) -> x' (N, H', W', 4C), a copy, zeros past the input."""
    n, h, w, c = x.shape
    out = np.zeros((n, sizes[0], 2, sizes[1], 2, c), dtype=x.dtype)
    out.reshape(n, 2 * sizes[0], 2 * sizes[1], c)[:, :h, :w] = x
    return np.ascontiguousarray(out.transpose(0, 1, 3, 2, 4, 5)).reshape(n, *sizes, 4 * c)


def _from_phases(xp: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """x' (N, H', W', 4C) -> (N, H, W, C): the inverse of ``_to_phases`` on the input's part."""
    n, h2, w2, c4 = xp.shape
    c = c4 // 4
    full = xp.reshape(n, h2, w2, 2, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h2, 2 * w2, c)
    return np.ascontiguousarray(full[:, :shape[1], :shape[2]])


def _phase_kernel(w: np.ndarray, pads: list[int]) -> np.ndarray:
    """w (3, 3, C, O) -> w' (2, 2, 4C, O)."""
    rows, cols = _phase_taps(pads[0]), _phase_taps(pads[1])
    c, o = w.shape[2:]
    wp = np.zeros((2, 2, 2, 2, c, o), dtype=w.dtype)
    for kr, (jr, hr) in enumerate(rows):
        for kc, (jc, hc) in enumerate(cols):
            wp[jr, jc, hr, hc] = w[kr, kc]
    return wp.reshape(2, 2, 4 * c, o)


def _from_phase_kernel(wp: np.ndarray, pads: list[int], shape: tuple[int, ...]) -> np.ndarray:
    """dw' (2, 2, 4C, O) -> dw (3, 3, C, O): each tap's place in w'."""
    rows, cols = _phase_taps(pads[0]), _phase_taps(pads[1])
    w6 = wp.reshape(2, 2, 2, 2, *shape[2:])
    dw = np.empty(shape, dtype=wp.dtype)
    for kr, (jr, hr) in enumerate(rows):
        for kc, (jc, hc) in enumerate(cols):
            dw[kr, kc] = w6[jr, jc, hr, hc]
    return dw


def _image_groups(batch: int, per_image: int) -> list[slice]:
    """Images in groups whose phase copies (``per_image`` bytes each) fit half the workspace
    limit, one image at least."""
    step = max(1, get_workspace_limit() // 2 // max(per_image, 1))
    return [slice(i, min(i + step, batch)) for i in range(0, batch, step)]


def _phased_forward(x: np.ndarray, w: np.ndarray, y: np.ndarray, spec: ConvSpec,
                    bias: np.ndarray | None, relu: bool, tile: int | None,
                    cache: KernelCache | None) -> None:
    sizes, pads, raw = _phase_geometry(spec)
    wp = _phase_kernel(w, raw)
    m = tile or tile_size(spec.output_size, (1, 1), spec.batch, 2)
    kept = cache if cache is not None else KernelCache()  # U once for all groups
    for images in _image_groups(spec.batch, 4 * math.prod(sizes) * x.shape[-1] * x.itemsize):
        xp = _to_phases(x[images], sizes)
        geometry = _geometry(xp.shape[0], 1, 4 * spec.in_channels, spec.out_channels, sizes,
                             spec.output_size, (2, 2), (1, 1), (1, 1), pads, relu)
        _forward_into(xp, wp, y[images], geometry, m, bias, kept)


def _phased_grad_input(dy: np.ndarray, w: np.ndarray, dx: np.ndarray, spec: ConvSpec,
                       tile: int | None, cache: KernelCache | None) -> np.ndarray:
    """dx' = the 2x2 convolution's input gradient: its kernel rotated, channels swapped,
    padding 1 - p' before; then dx from dx'."""
    sizes, pads, raw = _phase_geometry(spec)
    rotated = np.swapaxes(_phase_kernel(w, raw)[::-1, ::-1], -1, -2)
    m = tile or tile_size(sizes, (1, 1), spec.batch, 2)
    kept = cache if cache is not None else KernelCache()
    for images in _image_groups(spec.batch, 4 * math.prod(sizes) * dx.shape[-1] * dx.itemsize):
        n = len(range(spec.batch)[images])
        dxp = np.empty((n, *sizes, 4 * spec.in_channels), dtype=dy.dtype)
        geometry = _geometry(n, 1, spec.out_channels, 4 * spec.in_channels, spec.output_size,
                             sizes, (2, 2), (1, 1), (1, 1), [1 - p for p in pads])
        _forward_into(np.ascontiguousarray(dy[images]), rotated, dxp, geometry, m, None, kept)
        dx[images] = _from_phases(dxp, spec.input_shape)
    return dx


def _phased_grad_weight(x: np.ndarray, dy: np.ndarray, spec: ConvSpec, tile: int | None
                        ) -> np.ndarray:
    sizes, pads, raw = _phase_geometry(spec)
    dwp = np.zeros((2, 2, 4 * spec.in_channels, spec.out_channels), dtype=x.dtype)
    part = np.empty_like(dwp)
    m = tile or tile_size(spec.output_size, (1, 1), spec.batch, 2)
    for images in _image_groups(spec.batch, 4 * math.prod(sizes) * x.shape[-1] * x.itemsize):
        xp = _to_phases(x[images], sizes)
        geometry = _geometry(xp.shape[0], 1, 4 * spec.in_channels, spec.out_channels, sizes,
                             spec.output_size, (2, 2), (1, 1), (1, 1), pads)
        _grad_weight_into(xp, np.ascontiguousarray(dy[images]), part, geometry, m)
        dwp += part
    return _from_phase_kernel(dwp, raw, spec.weight_shape)
