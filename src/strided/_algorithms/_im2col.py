"""im2col + GEMM: gather each output pixel's receptive field into a row, then one matmul.

Shapes (``g`` groups, ``cg = C / g``, ``og = O / g``, ``kk = prod(K)``)::

    windows(x)  (N, *OS, *K, C)   a read-only view, no copy
    columns     (g, M, kk * cg)   M output pixels of one slab; the only copy
    weight      (g, kk * cg, og)
    y           (g, M, og)        -> (N, *OS, O)

The columns are built slab by slab (``_workspace.slabs``), so the scratch memory stays under
``WORKSPACE_BYTES`` whatever the batch or image size.  The input gradient is the transpose:
``columns = grad_output @ weight.T`` scattered back (col2im) one kernel tap at a time.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._spec import ConvSpec
from ._workspace import slabs


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """im2col does every convolution."""
    return None


def windows(x_padded: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The receptive field of every output pixel: (N, *P, C) -> (N, *OS, *K, C), a view."""
    rank = spec.rank
    spatial = tuple(range(1, rank + 1))
    view = sliding_window_view(x_padded, spec.effective_kernel_size, axis=spatial)
    # -> (N, *W, C, *Keff); take every stride-th window and every dilation-th tap
    index = (
        slice(None),
        *(slice(None, (o - 1) * s + 1, s) for o, s in zip(spec.output_size, spec.stride)),
        slice(None),
        *(slice(None, None, d) for d in spec.dilation),
    )
    return np.moveaxis(view[index], rank + 1, -1)  # -> (N, *OS, *K, C)


def _pad(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    if any(lo or hi for lo, hi in spec.padding):
        return np.pad(x, [(0, 0), *spec.padding, (0, 0)])
    return x


def _grouped_weight(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(*K, cg, O) -> (g, kk * cg, og)."""
    g = spec.groups
    kk = math.prod(spec.kernel_size)
    w = w.reshape(kk, spec.in_channels // g, g, spec.out_channels // g)
    return np.moveaxis(w, 2, 0).reshape(g, -1, spec.out_channels // g)


def _columns(window_slab: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(n, *os, *K, C) view -> (g, M, kk * cg) contiguous columns."""
    g = spec.groups
    split = window_slab.reshape(*window_slab.shape[:-1], g, spec.in_channels // g)
    grouped = np.ascontiguousarray(np.moveaxis(split, -2, 0))  # -> (g, n, *os, *K, cg)
    return grouped.reshape(g, -1, math.prod(spec.kernel_size) * (spec.in_channels // g))


def _by_group(grad_slab: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(n, *os, O) -> (g, M, og)."""
    g = spec.groups
    return np.moveaxis(grad_slab.reshape(-1, g, spec.out_channels // g), 1, 0)


def _slabs(spec: ConvSpec, itemsize: int):
    """Slabs of (batch, first output axis) whose columns fit the workspace."""
    row = math.prod(spec.output_size[1:]) * math.prod(spec.kernel_size) * spec.in_channels
    return slabs(spec.batch, spec.output_size[0], row * itemsize)


def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y[n, *o, c_out] = sum over taps and group channels of x_padded * w."""
    view = windows(_pad(x, spec), spec)
    weight = _grouped_weight(w, spec)
    y = np.empty(spec.output_shape, dtype=np.result_type(x, w))
    for batch, rows in _slabs(spec, x.itemsize):
        out = np.matmul(_columns(view[batch, rows], spec), weight)  # -> (g, M, og)
        target = y[batch, rows]
        target[...] = np.moveaxis(out, 0, 1).reshape(target.shape)
    return y


def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = sum over output pixels of columns.T @ grad_output: (g, kk*cg, M) @ (g, M, og)."""
    view = windows(_pad(x, spec), spec)
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dw = np.zeros((g, math.prod(spec.kernel_size) * cg, og), dtype=np.result_type(x, grad_output))
    for batch, rows in _slabs(spec, x.itemsize):
        columns = _columns(view[batch, rows], spec)
        dw += np.matmul(columns.transpose(0, 2, 1), _by_group(grad_output[batch, rows], spec))
    dw = dw.reshape(g, *spec.kernel_size, cg, og)
    return np.moveaxis(dw, 0, -2).reshape(spec.weight_shape)  # -> (*K, cg, g * og)


def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx = col2im(grad_output @ w.T): each tap's columns added back where that tap read."""
    g, cg = spec.groups, spec.in_channels // spec.groups
    weight_t = _grouped_weight(w, spec).transpose(0, 2, 1)  # (g, og, kk * cg)
    dtype = np.result_type(grad_output, w)
    dx_padded = np.zeros((spec.batch, *spec.padded_size, spec.in_channels), dtype=dtype)
    for batch, rows in _slabs(spec, dtype.itemsize):
        out_rows = rows.stop - rows.start
        columns = np.matmul(_by_group(grad_output[batch, rows], spec), weight_t)
        columns = columns.reshape(g, batch.stop - batch.start, out_rows, *spec.output_size[1:],
                                  *spec.kernel_size, cg)
        columns = np.moveaxis(columns, 0, -2)  # -> (n, os..., *K, g, cg)
        sizes = (out_rows, *spec.output_size[1:])
        first = (rows.start * spec.stride[0], *([0] * (spec.rank - 1)))
        for tap in np.ndindex(*spec.kernel_size):
            where = tuple(
                slice(f + k * d, f + k * d + s * (o - 1) + 1, s)
                for f, k, d, s, o in zip(first, tap, spec.dilation, spec.stride, sizes)
            )
            part = columns[(slice(None),) * (1 + spec.rank) + tap]
            dx_padded[(batch, *where)] += part.reshape(*part.shape[:-2], spec.in_channels)
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(spec.padding, spec.input_size))
    return dx_padded[(slice(None), *crop)]
