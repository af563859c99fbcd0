"""im2col + GEMM: gather each output pixel's receptive field into a row, then one matmul.

Shapes (``g`` groups, ``cg = C / g``, ``og = O / g``, ``kk = prod(K)``)::

    windows(x)  (N, *OS, *K, C)   a read-only view, no copy
    columns     (g, M, kk * cg)   M output pixels of one slab; the only copy
    weight      (g, kk * cg, og)
    y           (g, M, og)        -> (N, *OS, O)

The columns are built block by block (``_workspace.blocks``), so the scratch memory stays
under ``get_workspace_limit()`` whatever the batch or image size; the blocks run on
``get_num_threads()`` threads at a time, each gathering its columns and multiplying them
(one BLAS thread each).
The input gradient is the transpose: ``columns = grad_output @ weight.T`` scattered back
(col2im) one kernel tap at a time.

Few input channels: one channel's columns are gathered tap-major, (kk, M), one contiguous
row per tap, and up to ``_FEW_CHANNELS`` channels are scattered back tap-major, (kk * C, M),
one add per tap and channel, so that NumPy's loops run along pixels rather than along 1 to 4
channels.  For channels-first callers with few input channels the forward GEMM is turned
around, (O, K) @ (K, M), and fills (N, O, *OS) planes (see ``forward``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._runtime import _workspace
from .._runtime._threads import each, get_num_threads, owns_cores, total, zero_padded
from .._runtime._workspace import blocks, buffer, empty_safe
from .._spec import ConvSpec
from ._adjoint import input_gradient_as_forward


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """im2col does every convolution."""
    return None


def windows(x_padded: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The receptive field of every output pixel: (N, *P, C) -> (N, *OS, *K, C), a read-only
    view: output pixel ``o`` and tap ``k`` read padded pixel ``o * stride + k * dilation``."""
    spatial = x_padded.strides[1:-1]
    return as_strided(
        x_padded, (x_padded.shape[0], *spec.output_size, *spec.kernel_size, x_padded.shape[-1]),
        (x_padded.strides[0], *(s * step for s, step in zip(spec.stride, spatial)),
         *(d * step for d, step in zip(spec.dilation, spatial)), x_padded.strides[-1]),
        writeable=False)


def _grouped_weight(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(*K, cg, O) -> (g, kk * cg, og): a view for one group (or for the input gradient's
    transposed kernel, ``_adjoint``, whose view the GEMM reads as a transposed operand)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    kk = math.prod(spec.kernel_size)
    return w.reshape(kk, cg, g, og).transpose(2, 0, 1, 3).reshape(g, -1, og)


#: Up to this many input channels, the input gradient scatters tap-major columns.
_FEW_CHANNELS = 4


def _columns(window_slab: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(n, *os, *K, C) view -> (g, M, kk * cg) contiguous columns."""
    g = spec.groups
    by_group = window_slab.reshape(*window_slab.shape[:-1], g, spec.in_channels // g)
    moved = by_group[None, ..., 0, :] if g == 1 else np.moveaxis(by_group, -2, 0)
    # -> (g, n, *os, *K, cg)
    grouped = buffer("im2col.columns", moved.shape, moved.dtype)
    np.copyto(grouped, moved)
    return grouped.reshape(g, -1, math.prod(spec.kernel_size) * (spec.in_channels // g))


def _tap_major(window_slab: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """One input channel: (n, *os, *K, 1) view -> (kk, M) columns, one copy per tap.

    Each tap's copy writes a contiguous row; gathering (M, kk) rows at once would copy one
    element at a time (a last axis of length 1), about twice as slow.
    """
    kk = math.prod(spec.kernel_size)
    columns = buffer("im2col.columns", (kk, *window_slab.shape[:1 + spec.rank]), window_slab.dtype)
    for t, tap in enumerate(np.ndindex(*spec.kernel_size)):
        columns[t] = window_slab[(Ellipsis, *tap, 0)]
    return columns.reshape(kk, -1)


def _by_group(grad_slab: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(n, *os, O) -> (g, M, og)."""
    g = spec.groups
    return np.moveaxis(grad_slab.reshape(-1, g, spec.out_channels // g), 1, 0)


#: Columns smaller than this are gathered and multiplied on the calling thread alone: handing
#: half of a sub-millisecond job to another thread costs more than it saves.
_SMALL_BYTES = 2 << 20


#: The forward pass gathers and multiplies blocks of about this many bytes per thread, so
#: that the columns are still in cache when the GEMM reads them: 15-20 % faster than blocks
#: as large as the workspace on the downsampling and stem layers (19-20 -> 14 ms, 26 -> 16 ms).
#: The weight gradient's blocks are also at least 4x the partial (K, O) product each adds.
_CACHED_BYTES = 2 << 20


def _blocks(spec: ConvSpec, itemsize: int, per_thread: int | None = None
            ) -> list[tuple[slice, slice]]:
    """Blocks of (batch, first output axis) whose columns fit the workspace, per thread;
    and ``per_thread`` bytes, if given, where that makes at least four blocks a thread."""
    # per output row: its columns and its block of the GEMM's result
    row = math.prod(spec.output_size[1:]) * (math.prod(spec.kernel_size) * spec.in_channels
                                             + spec.out_channels)
    total = spec.batch * spec.output_size[0] * row * itemsize
    small = total < _SMALL_BYTES
    # the zero-padded copy of the input counts against the workspace too
    padded = 0
    if any(lo or hi for lo, hi in spec.padding):
        padded = math.prod((spec.batch, *spec.padded_size, spec.in_channels)) * itemsize
    budget = max(_workspace.get_workspace_limit() - padded, 1)
    threads = get_num_threads()
    if per_thread is not None and total > 4 * per_thread * threads:  # >= 4 blocks a thread
        budget = min(budget, per_thread * threads)
    return blocks(spec.batch, spec.output_size[0], row * itemsize, 1 if small else threads,
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
    view = windows(zero_padded(x, spec), spec)
    weight = _grouped_weight(w, spec)
    dtype = np.result_type(x, w)
    y = np.empty(spec.output_shape, dtype=dtype)

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        target = y[batch, rows]
        if spec.in_channels == 1:  # (kk, M).T @ (kk, O): BLAS reads the transpose in place
            columns_t = _tap_major(view[batch, rows], spec)
            np.matmul(columns_t.T, weight[0], out=target.reshape(columns_t.shape[1], -1))
            return
        columns = _columns(view[batch, rows], spec)
        if spec.groups == 1:  # a block of whole rows is contiguous in y: the GEMM writes there
            np.matmul(columns[0], weight[0], out=target.reshape(columns.shape[1], -1))
            return
        out = _grouped_matmul(columns, weight)  # -> (g, M, og)
        target[...] = np.moveaxis(out, 0, 1).reshape(target.shape)

    each(work, _blocks(spec, x.itemsize, _CACHED_BYTES))
    return y


@empty_safe("weight_shape")
@owns_cores
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = sum over output pixels of columns.T @ grad_output: (g, kk*cg, M) @ (g, M, og)."""
    view = windows(zero_padded(x, spec), spec)
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups

    def work(block: tuple[slice, slice]) -> np.ndarray:
        batch, rows = block
        grad = _by_group(grad_output[batch, rows], spec)  # (g, M, og)
        if spec.in_channels == 1:
            return (_tap_major(view[batch, rows], spec) @ grad[0])[None]  # (kk, M) @ (M, O)
        columns = _columns(view[batch, rows], spec)
        return _grouped_matmul(columns.transpose(0, 2, 1), grad)  # (g, K, og)

    # blocks in cache, but several times the partial product each adds
    partial = math.prod(spec.kernel_size) * cg * spec.out_channels * x.itemsize
    dw = total(work, _blocks(spec, x.itemsize, max(_CACHED_BYTES, 4 * partial)))
    dw = dw.reshape(g, *spec.kernel_size, cg, og)
    return np.moveaxis(dw, 0, -2).reshape(spec.weight_shape)  # -> (*K, cg, g * og)


def _tap_slices(rows: slice, sizes: tuple[int, ...], spec: ConvSpec
                ) -> Iterator[tuple[slice, ...]]:
    """Per kernel tap (in C order), the padded input pixels it reads for the output pixels
    ``sizes`` from output row ``rows.start``: ``start + k * dilation`` on, every stride-th."""
    first = (rows.start * spec.stride[0], *([0] * (spec.rank - 1)))
    return itertools.product(*(
        [slice(f + k * d, f + k * d + s * (o - 1) + 1, s) for k in range(kernel)]
        for f, kernel, d, s, o in zip(first, spec.kernel_size, spec.dilation, spec.stride,
                                      sizes)))


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx = col2im(grad_output @ w.T): each tap's columns added back where that tap read.

    With stride 1 and more than one input channel per group it is the forward pass on dy
    instead (``_adjoint``), a gather and a GEMM with no scatter: 12-40 % faster on 3x3
    layers.  (With one input channel that GEMM would be a matrix-vector product, and with a
    stride, one forward pass per phase measured slower than the scatter.)
    """
    if all(s == 1 for s in spec.stride) and spec.in_channels > spec.groups:
        return input_gradient_as_forward(grad_output, w, spec, forward)
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
        for tap, where in zip(np.ndindex(*spec.kernel_size), _tap_slices(rows, sizes, spec)):
            part = columns[(slice(None),) * (1 + spec.rank) + tap]
            dx_padded[(batch, *where)] += part.reshape(*part.shape[:-2], spec.in_channels)

    def scatter_few(batch: slice, rows: slice) -> None:
        """Few input channels: tap-major columns (kk * C, M), one add per tap and channel,
        each running along output pixels instead of along C channels."""
        grad = grad_output[batch, rows]
        columns = buffer("im2col.columns",
                         (weight_t.shape[2], grad.size // weight_t.shape[1]), dtype)
        np.matmul(weight_t[0].T, grad.reshape(-1, weight_t.shape[1]).T, out=columns)
        columns = columns.reshape(-1, spec.in_channels, *grad.shape[:-1])
        for t, where in enumerate(_tap_slices(rows, grad.shape[1:-1], spec)):
            for c in range(spec.in_channels):
                index: tuple[slice | int, ...] = (batch, *where, c)
                target = dx_padded[index]
                np.add(target, columns[t, c], out=target)

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        if g == 1 and spec.in_channels <= _FEW_CHANNELS:
            scatter_few(batch, rows)
            return
        columns = _grouped_matmul(_by_group(grad_output[batch, rows], spec), weight_t)
        scatter(batch, rows, columns)

    parts = _blocks(spec, dtype.itemsize)
    if all(rows == slice(0, spec.output_size[0]) for _, rows in parts):
        each(work, parts)  # whole images: the blocks write disjoint parts of dx
    else:
        for part in parts:  # row blocks of one image overlap in dx: one at a time
            work(part)
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(spec.padding, spec.input_size))
    return dx_padded[(slice(None), *crop)]
