"""Winograd's minimal filtering F(m x m, 3x3), m = 2, 4, 6, in compiled kernels.

Lavin and Gray's algorithm computes each ``m x m`` output tile from an ``a x a`` input tile
``d`` (``a = m + 2``) and the 3x3 kernel ``g`` as::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element-wise, per channel pair)

Summed over input channels the element-wise product becomes ``a * a`` matrix products, one
per tile position: ``a^2 / m^2`` multiplies per output and channel pair in place of direct's
9 (4x fewer for F(4x4, 3x3), 5.06x for F(6x6, 3x3), 2.25x for F(2x2, 3x3)).  The kernels
(``csrc/winograd.inc``) transform the kernel once per call, then per block of tiles that stays
in L2 run the input transform (zeros outside the input: no padded copy), the products
(register-blocked like the direct kernels) and the output transform (bias and ReLU fused)::

    forward      y  = conv(x, w)        (N, H, W, C), (3, 3, C, O) -> (N, OH, OW, O)
    grad_input   dx = conv(dy, w rotated 180 degrees, channels swapped), stride 1, padding
                      2d - p (``_direct._phases``' one phase of a stride-1 convolution)
    grad_weight  dg = G^T [sum over tiles of V^T (A dY A^T)] G

A tile is ``m`` outputs ``d`` apart, so a dilated kernel runs on its phases in place.

Accuracy: the transforms mix values of different sizes, so the interpolation points
(``POINTS``) are the small ones, 0, +-1, +-1/2, +-2 (of seven sets tried for F(6x6, 3x3) in
a float32 simulation, this one had the least error; +-1/4 or +-3/2 doubled it).  float32
relative L2 error against float64 at 512 channels (tests/test_winograd.py), forward / input
gradient / weight gradient: F(2x2) 7.0e-7 / 7.1e-7 / 1.5e-7, F(4x4) 3.0e-6 / 3.0e-6 / 6.2e-7,
F(6x6) 8.9e-6 / 9.0e-6 / 1.9e-6, all within the 1e-5 that ``strided`` promises; float64 is
exact to ~1e-14.

References
----------
.. [1] A. Lavin and S. Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016,
   arXiv:1509.09308.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .. import _kernels
from .._runtime._workspace import empty_safe
from .._spec import ConvSpec
from ._direct import _contiguous, _five, _geometry, _phases

#: Output tile size m -> the finite interpolation points of F(m x m, 3x3) (the point at
#: infinity is the last); the matrices of ``csrc/winograd.hpp`` are built from these.
POINTS: dict[int, tuple[Fraction, ...]] = {
    2: tuple(Fraction(p) for p in (0, 1, -1)),
    4: tuple(Fraction(p) for p in (0, 1, -1, Fraction(1, 2), -2)),
    6: tuple(Fraction(p) for p in (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))),
}


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """Winograd does 2-D, 3x3, stride 1, ungrouped, floating-point convolutions (any dilation)."""
    if spec.rank != 2:
        return f"Winograd is 2-D only; got {spec.rank} spatial dimension(s)"
    if spec.kernel_size != (3, 3):
        return f"Winograd needs a 3x3 kernel; got kernel_size={spec.kernel_size}"
    if spec.stride != (1, 1):
        return f"Winograd needs stride 1; got stride={spec.stride}"
    if spec.groups != 1:
        return f"Winograd needs groups=1; got groups={spec.groups}"
    if np.dtype(dtype).kind != "f":
        return f"Winograd's fractions are not exact in integers; got dtype {np.dtype(dtype)}"
    return None


#: The per-call cost of the transformed kernel U (a*a*C*O values: transformed once, then read
#: by every block of tiles from L3 or memory) in tiles' worth of products: fitted to
#: ``benchmarks/winograd_vs_direct.py`` (16 x 7x7 x 512 runs F(2x2) in 0.69 of F(4x4)'s time
#: where products alone predict 1.78, 16 x 14x14 x 256 in 0.86 where they predict 1.36).
KERNEL_TILES = 256


def tile_size(output_size: Sequence[int], dilation: Sequence[int] = (1, 1),
              batch: int = 1) -> int:
    """Output tile m of 2, 4 or 6 with the least modelled cost ``(m + 2)^2 * (tiles +
    KERNEL_TILES)``: products per tile, and the kernel's transform and reads per call (tiles
    counted per phase of a dilation; the smaller m on a tie)."""
    def cost(m: int) -> int:
        tiles = batch
        for n, d in zip(output_size, dilation):
            tiles *= sum(-(-len(range(r, n, d)) // m) for r in range(min(d, n)))
        return (m + 2) ** 2 * (tiles + KERNEL_TILES)
    return min((2, 4, 6), key=cost)


def _forward_into(x: np.ndarray, w: np.ndarray, y: np.ndarray, geometry: np.ndarray, m: int,
                  bias: np.ndarray | None) -> None:
    _kernels.winograd_forward(m, _five(_contiguous(x)), _contiguous(w), bias, _five(y),
                              geometry)


@empty_safe("output_shape")
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
            relu: bool = False, tile: int | None = None) -> np.ndarray:
    """y = A^T [U * V] A tile by tile (+ bias, then max(0, .) if ``relu``);
    (N, H, W, C), (3, 3, C, O) -> (N, OH, OW, O).  ``tile`` forces m (2, 4 or 6)."""
    dtype = np.result_type(x, w)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    y = np.empty(spec.output_shape, dtype=dtype)
    geometry = _geometry(spec.batch, 1, spec.in_channels, spec.out_channels, spec.input_size,
                         spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding], relu)
    m = tile or tile_size(spec.output_size, spec.dilation, spec.batch)
    _forward_into(x, w, y, geometry, m, bias)
    return y


@empty_safe("input_shape")
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec,
               tile: int | None = None) -> np.ndarray:
    """dx: the forward kernels on dy with the kernel rotated and its channels swapped,
    (3, 3, O, C), padding ``2d - p`` (negative where p is wider); -> (N, H, W, C)."""
    dtype = np.result_type(grad_output, w)
    (_, taps, kernel, dilation, pad), = _phases(spec)  # stride 1: one phase, all of dx
    rotated = np.swapaxes(w.astype(dtype, copy=False)[(*taps, slice(None), slice(None))], -1, -2)
    dx = np.empty(spec.input_shape, dtype=dtype)
    geometry = _geometry(spec.batch, 1, spec.out_channels, spec.in_channels, spec.output_size,
                         spec.input_size, kernel, (1, 1), dilation, pad)
    m = tile or tile_size(spec.input_size, dilation, spec.batch)
    _forward_into(grad_output.astype(dtype, copy=False), rotated, dx, geometry, m, None)
    return dx


@empty_safe("weight_shape")
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec,
                tile: int | None = None) -> np.ndarray:
    """dw = G^T [sum over tiles of V^T (A dY A^T)] G; -> (3, 3, C, O)."""
    dtype = np.result_type(x, grad_output)
    dw = np.empty(spec.weight_shape, dtype=dtype)
    geometry = _geometry(spec.batch, 1, spec.in_channels, spec.out_channels, spec.input_size,
                         spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding])
    m = tile or tile_size(spec.output_size, spec.dilation, spec.batch)
    _kernels.winograd_grad_weight(m, _five(_contiguous(x.astype(dtype, copy=False))),
                                  _contiguous(grad_output.astype(dtype, copy=False)), dw,
                                  geometry)
    return dw

