"""im2col + GEMM: gather each output pixel's receptive field into a row, then one matmul.

Shapes (``g`` groups, ``cg = C / g``, ``og = O / g``, ``kk = prod(K)``)::

    windows(x)  (N, *OS, *K, C)   a read-only view, no copy
    columns     (g, M, kk * cg)   M output pixels of one slab; the only copy
    weight      (g, kk * cg, og)
    y           (g, M, og)        -> (N, *OS, O)

The columns are built block by block (``_workspace.blocks``), so the scratch memory stays
under ``WORKSPACE_BYTES`` whatever the batch or image size; the blocks run on ``THREADS``
threads at a time, each gathering its columns and multiplying them (one BLAS thread each).
The input gradient is the transpose: ``columns = grad_output @ weight.T`` scattered back
(col2im) one kernel tap at a time.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._spec import ConvSpec
from . import _workspace
from ._threads import THREADS, each, owns_cores
from ._workspace import blocks, empty_safe


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


#: Columns smaller than this are gathered and multiplied on the calling thread alone: handing
#: half of a sub-millisecond job to another thread costs more than it saves.
_SMALL_BYTES = 2 << 20


def _blocks(spec: ConvSpec, itemsize: int) -> list[tuple[slice, slice]]:
    """Blocks of (batch, first output axis) whose columns fit the workspace, per thread."""
    # per output row: its columns and its block of the GEMM's result
    row = math.prod(spec.output_size[1:]) * (math.prod(spec.kernel_size) * spec.in_channels
                                             + spec.out_channels)
    small = spec.batch * spec.output_size[0] * row * itemsize < _SMALL_BYTES
    # the zero-padded copy of the input counts against the workspace too
    padded = 0
    if any(lo or hi for lo, hi in spec.padding):
        padded = math.prod((spec.batch, *spec.padded_size, spec.in_channels)) * itemsize
    budget = max(_workspace.WORKSPACE_BYTES - padded, 1)
    return blocks(spec.batch, spec.output_size[0], row * itemsize, 1 if small else THREADS,
                  budget)


def _grouped_matmul(columns: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(g, M, K) @ (g, K, og) -> (g, M, og), one 2-D BLAS call per group."""
    out = np.empty((columns.shape[0], columns.shape[1], weight.shape[2]),
                   dtype=np.result_type(columns, weight))
    for k in range(columns.shape[0]):
        np.matmul(columns[k], weight[k], out=out[k])
    return out


@empty_safe("output_shape")
@owns_cores
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y[n, *o, c_out] = sum over taps and group channels of x_padded * w."""
    view = windows(_pad(x, spec), spec)
    weight = _grouped_weight(w, spec)
    y = np.empty(spec.output_shape, dtype=np.result_type(x, w))

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        target = y[batch, rows]
        columns = _columns(view[batch, rows], spec)
        if spec.groups == 1:  # a block of whole rows is contiguous in y: the GEMM writes there
            np.matmul(columns[0], weight[0], out=target.reshape(columns.shape[1], -1))
            return
        out = _grouped_matmul(columns, weight)  # -> (g, M, og)
        target[...] = np.moveaxis(out, 0, 1).reshape(target.shape)

    each(work, _blocks(spec, x.itemsize))
    return y


@empty_safe("weight_shape")
@owns_cores
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = sum over output pixels of columns.T @ grad_output: (g, kk*cg, M) @ (g, M, og)."""
    view = windows(_pad(x, spec), spec)
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, grad_output)

    def work(block: tuple[slice, slice]) -> np.ndarray:
        batch, rows = block
        columns = _columns(view[batch, rows], spec)
        return _grouped_matmul(columns.transpose(0, 2, 1),
                               _by_group(grad_output[batch, rows], spec))

    dw = np.zeros((g, math.prod(spec.kernel_size) * cg, og), dtype=dtype)
    parts = _blocks(spec, x.itemsize)
    for start in range(0, len(parts), THREADS):  # at most THREADS partial sums alive
        for partial in each(work, parts[start: start + THREADS]):
            dw += partial
    dw = dw.reshape(g, *spec.kernel_size, cg, og)
    return np.moveaxis(dw, 0, -2).reshape(spec.weight_shape)  # -> (*K, cg, g * og)


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx = col2im(grad_output @ w.T): each tap's columns added back where that tap read."""
    g, cg = spec.groups, spec.in_channels // spec.groups
    weight_t = _grouped_weight(w, spec).transpose(0, 2, 1)  # (g, og, kk * cg)
    dtype = np.result_type(grad_output, w)
    dx_padded = np.zeros((spec.batch, *spec.padded_size, spec.in_channels), dtype=dtype)

    def scatter(batch: slice, rows: slice, columns: np.ndarray) -> None:
        out_rows = rows.stop - rows.start
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

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        columns = _grouped_matmul(_by_group(grad_output[batch, rows], spec), weight_t)
        scatter(batch, rows, columns)

    parts = _blocks(spec, dtype.itemsize)
    if all(rows == slice(0, spec.output_size[0]) for _, rows in parts):
        each(work, parts)  # whole images: the blocks write disjoint parts of dx
    else:
        for batch, rows in parts:  # row blocks of one image overlap in dx: one at a time
            columns = _grouped_matmul(_by_group(grad_output[batch, rows], spec), weight_t)
            scatter(batch, rows, columns)
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(spec.padding, spec.input_size))
    return dx_padded[(slice(None), *crop)]
