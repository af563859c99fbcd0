"""Winograd's minimal filtering F(m x m, r x r) in compiled kernels: 3x3 kernels with m = 2,
4, 6 and 5x5 kernels with m = 2, 4.

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

A tile is ``m`` outputs ``d`` apart, so a dilated kernel runs on its phases in place.

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

from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

from .. import _kernels
from .._runtime._workspace import WEIGHT_BYTES, buffer, empty_safe, get_workspace_limit
from .._spec import ConvSpec
from ._direct import _contiguous, _five, _geometry, _phases

#: The variants (m, r): F(m x m, r x r).
VARIANTS: tuple[tuple[int, int], ...] = ((2, 3), (4, 3), (6, 3), (2, 5), (4, 5))

#: Tile side a = m + r - 1 -> the finite interpolation points (the point at infinity is the
#: last); the matrices of ``csrc/winograd.hpp`` are built from these.
POINTS: dict[int, tuple[Fraction, ...]] = {
    4: tuple(Fraction(p) for p in (0, 1, -1)),
    6: tuple(Fraction(p) for p in (0, 1, -1, Fraction(1, 2), -2)),
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
}


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """Winograd does 2-D, 3x3 or 5x5, stride 1, ungrouped, floating-point convolutions (any
    dilation)."""
    if spec.rank != 2:
        return f"Winograd is 2-D only; got {spec.rank} spatial dimension(s)"
    if spec.kernel_size not in ((3, 3), (5, 5)):
        return f"Winograd needs a 3x3 or 5x5 kernel; got kernel_size={spec.kernel_size}"
    if spec.stride != (1, 1):
        return f"Winograd needs stride 1; got stride={spec.stride}"
    if spec.groups != 1:
        return f"Winograd needs groups=1; got groups={spec.groups}"
    if np.dtype(dtype).kind != "f":
        return f"Winograd's fractions are not exact in integers; got dtype {np.dtype(dtype)}"
    return None


#: The per-call cost of the transformed kernel U (a*a*C*O values: transformed once, then read
#: by every block of tiles from L3 or memory) in tiles' worth of products, per kernel size r:
#: fitted to ``benchmarks/winograd_vs_direct.py``.  3x3: 16 x 7x7 x 512 runs F(2x2) in 0.69 of
#: F(4x4)'s time where products alone predict 1.78, 16 x 14x14 x 256 in 0.86 where they
#: predict 1.36.  5x5: F(4x4) was the faster on every layer measured, down to 16 x 7x7 x 256
#: (0.40 of direct's forward time against F(2x2)'s 0.67), which any value under 183 gives;
#: 64 keeps F(2x2) for outputs of one tile.
KERNEL_TILES: dict[int, int] = {3: 256, 5: 64}


def tile_size(output_size: Sequence[int], dilation: Sequence[int] = (1, 1),
              batch: int = 1, kernel: int = 3) -> int:
    """Output tile m (2, 4 or 6 for a 3x3 kernel, 2 or 4 for 5x5) with the least modelled cost
    ``(m + r - 1)^2 * (tiles + KERNEL_TILES[r])``: products per tile, and the kernel's
    transform and reads per call (tiles counted per phase of a dilation; the smaller m on a
    tie)."""
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
    x5, y5 = _five(_contiguous(x)), _five(y)
    groups = _channel_groups(m, x.itemsize, False, geometry)
    for out in groups:
        g = _with_outputs(geometry, out.stop - out.start)
        def make(out: slice = out, g: np.ndarray = g) -> np.ndarray:
            return _weights(m, _contiguous(w[..., out]), g)
        lanes, _, _, u_size, _ = _plan(m, x.itemsize, False, g)
        if cache is not None and len(groups) == 1 and u_size * x.itemsize <= KEPT_BYTES:
            u = cache.get((m, lanes, _kernels.level()), w, make)
        else:
            u = make()
        _kernels.winograd_forward(m, x5, u, None if bias is None else bias[out], y5[..., out],
                                  g, _scratch(m, x.dtype, False, g))


@empty_safe("output_shape")
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
            relu: bool = False, tile: int | None = None, cache: KernelCache | None = None
            ) -> np.ndarray:
    """y = A^T [U * V] A tile by tile (+ bias, then max(0, .) if ``relu``);
    (N, H, W, C), (r, r, C, O) -> (N, OH, OW, O).  ``tile`` forces m; ``cache`` keeps U."""
    dtype = np.result_type(x, w)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    y = np.empty(spec.output_shape, dtype=dtype)
    geometry = _geometry(spec.batch, 1, spec.in_channels, spec.out_channels, spec.input_size,
                         spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding], relu)
    m = tile or tile_size(spec.output_size, spec.dilation, spec.batch, spec.kernel_size[0])
    _forward_into(x, w, y, geometry, m, bias, cache)
    return y


@empty_safe("input_shape")
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec,
               tile: int | None = None, cache: KernelCache | None = None) -> np.ndarray:
    """dx: the forward kernels on dy with the kernel rotated and its channels swapped,
    (r, r, O, C), padding ``(r - 1) d - p`` (negative where p is wider); -> (N, H, W, C).
    ``cache`` keeps U (of the rotated kernel)."""
    dtype = np.result_type(grad_output, w)
    (_, taps, kernel, dilation, pad), = _phases(spec)  # stride 1: one phase, all of dx
    rotated = np.swapaxes(w.astype(dtype, copy=False)[(*taps, slice(None), slice(None))], -1, -2)
    dx = np.empty(spec.input_shape, dtype=dtype)
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
    dw = np.empty(spec.weight_shape, dtype=dtype)
    geometry = _geometry(spec.batch, 1, spec.in_channels, spec.out_channels, spec.input_size,
                         spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding])
    m = tile or tile_size(spec.output_size, spec.dilation, spec.batch, spec.kernel_size[0])
    x5 = _five(_contiguous(x.astype(dtype, copy=False)))
    dy = _contiguous(grad_output.astype(dtype, copy=False))
    groups = _channel_groups(m, dtype.itemsize, True, geometry)
    for out in groups:
        g = _with_outputs(geometry, out.stop - out.start)
        part = dw if len(groups) == 1 else np.empty((*spec.weight_shape[:-1], out.stop - out.start),
                                                    dtype=dtype)
        _kernels.winograd_grad_weight(m, x5, dy if len(groups) == 1 else _contiguous(dy[..., out]),
                                      part, g, _scratch(m, dtype, True, g))
        if len(groups) > 1:
            dw[..., out] = part
    return dw
