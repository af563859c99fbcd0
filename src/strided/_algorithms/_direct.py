"""Direct convolution: one shifted multiply-add per kernel tap and input channel of a group.

For depthwise and other convolutions with few channels per group, a GEMM has nothing to
multiply (1 x 1 matrices per group); summing the shifted windows is cheaper.  Shapes (``g``
groups, ``cg = C/g``, ``og = O/g``)::

    tap view  x_padded[:, k*d : ... : s]     (N, *OS, g, cg)     a view, one per tap
    weight    w[tap]                         (cg, g, og)
    y        += view[..., j, None] * w[tap][j]                   for every tap and j < cg

The work is ``prod(K) * cg`` passes over the output, cut into blocks of images (or rows)
that stay in cache and run on ``THREADS`` threads.  The input gradient adds the same products
back into the tap views; the weight gradient sums ``view * dy`` over pixels.  Exact in
int64.
"""

from __future__ import annotations

import math

import numpy as np

from .._spec import ConvSpec
from ._threads import THREADS, each, owns_cores, ranges
from ._workspace import blocks, empty_safe

#: Bytes of output one block works on: small enough to stay in a core's cache.
_BLOCK_BYTES = 1 << 19


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """The direct method does every convolution (it is fast when ``prod(K) * cg`` is small)."""
    return None


def _pad(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    if any(lo or hi for lo, hi in spec.padding):
        return np.pad(x, [(0, 0), *spec.padding, (0, 0)])
    return x


def _tap(array: np.ndarray, tap: tuple[int, ...], spec: ConvSpec, first_row: int,
         rows: int) -> tuple[slice, ...]:
    """Index of the padded-input pixels that ``tap`` reads for output rows [first, first+rows)."""
    sizes = (rows, *spec.output_size[1:])
    firsts = (first_row * spec.stride[0], *([0] * (spec.rank - 1)))
    return (slice(None), *(
        slice(f + k * d, f + k * d + s * (o - 1) + 1, s)
        for f, k, d, s, o in zip(firsts, tap, spec.dilation, spec.stride, sizes)
    ))


def _blocks(spec: ConvSpec, itemsize: int) -> list[tuple[slice, slice]]:
    """Blocks of (batch, output rows) of about ``_BLOCK_BYTES`` of output each."""
    row = math.prod(spec.output_size[1:]) * spec.out_channels * itemsize
    return blocks(spec.batch, spec.output_size[0], row, THREADS, _BLOCK_BYTES * THREADS)


def _planar(array: np.ndarray, spec: ConvSpec) -> np.ndarray | None:
    """For depthwise convolutions, (N, C, *S) when ``array`` is a view of NC*S data."""
    groups_are_channels = spec.groups == spec.in_channels == spec.out_channels > 1
    planar = np.moveaxis(array, -1, 1)
    return planar if groups_are_channels and planar.flags.c_contiguous else None


def _depthwise_planar(planar: np.ndarray, weight: np.ndarray, spec: ConvSpec,
                      dtype: np.dtype) -> np.ndarray:
    """Depthwise on channels-first data (N, C, *S), weight (taps, C): each plane shifted.

    The ``strided.functional`` face hands algorithms (N, *S, C) views of NC*S arrays; working
    on the planes keeps every step contiguous along a row, and the result, a (N, *OS, C) view
    of a contiguous (N, C, *OS) array, goes back to NC*S without a copy.
    """
    n, c = planar.shape[:2]
    padded = planar
    if any(lo or hi for lo, hi in spec.padding):
        padded = np.pad(planar, [(0, 0), (0, 0), *spec.padding])
    y = np.empty((n, c, *spec.output_size), dtype=dtype)
    taps = list(np.ndindex(*spec.kernel_size))
    factors = weight.reshape(len(taps), c, *([1] * spec.rank))

    def work(part: slice) -> None:
        out = y[part]
        scratch = np.empty_like(out)
        for t, tap in enumerate(taps):
            index = _tap(padded, tap, spec, 0, spec.output_size[0])[1:]
            view = padded[(part, slice(None), *index)]
            if t == 0:
                np.multiply(view, factors[t], out=out)
            else:
                np.multiply(view, factors[t], out=scratch)
                out += scratch

    each(work, ranges(n, max(THREADS, n * y[0].nbytes // _BLOCK_BYTES)))
    return np.moveaxis(y, 1, -1)


def _depthwise_planar_grad_input(planar: np.ndarray, weight: np.ndarray, spec: ConvSpec,
                                 dtype: np.dtype) -> np.ndarray:
    """Depthwise input gradient on channels-first dy (N, C, *OS): each tap added back."""
    n, c = planar.shape[:2]
    dx = np.zeros((n, c, *spec.padded_size), dtype=dtype)
    taps = list(np.ndindex(*spec.kernel_size))
    factors = weight.reshape(len(taps), c, *([1] * spec.rank))

    def work(part: slice) -> None:
        grad = planar[part]
        scratch = np.empty(grad.shape, dtype=dtype)
        for t, tap in enumerate(taps):
            index = _tap(dx, tap, spec, 0, spec.output_size[0])[1:]
            np.multiply(grad, factors[t], out=scratch)
            dx[(part, slice(None), *index)] += scratch

    each(work, ranges(n, THREADS))  # whole images per thread: one image's taps overlap
    crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(spec.padding, spec.input_size))
    return np.moveaxis(dx[(slice(None), slice(None), *crop)], 1, -1)


def _depthwise_planar_grad_weight(x: np.ndarray, grad: np.ndarray, spec: ConvSpec,
                                  dtype: np.dtype) -> np.ndarray:
    """Depthwise weight gradient on channels-first x (N, C, *S) and dy (N, C, *OS)."""
    n, c = x.shape[:2]
    padded = x
    if any(lo or hi for lo, hi in spec.padding):
        padded = np.pad(x, [(0, 0), (0, 0), *spec.padding])
    taps = list(np.ndindex(*spec.kernel_size))
    spatial = tuple(range(2, 2 + spec.rank))

    def work(part: slice) -> np.ndarray:
        dw = np.empty((len(taps), c), dtype=dtype)
        scratch = np.empty(grad[part].shape, dtype=dtype)
        for t, tap in enumerate(taps):
            index = _tap(padded, tap, spec, 0, spec.output_size[0])[1:]
            np.multiply(padded[(part, slice(None), *index)], grad[part], out=scratch)
            dw[t] = scratch.sum(axis=spatial).sum(axis=0)
        return dw

    parts = ranges(n, max(THREADS, n * grad[0].nbytes // _BLOCK_BYTES))
    total = np.zeros((len(taps), c), dtype=dtype)
    for start in range(0, len(parts), THREADS):
        for partial in each(work, parts[start: start + THREADS]):
            total += partial
    return total.reshape(spec.weight_shape)


@empty_safe("output_shape")
@owns_cores
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y = sum over taps and j < cg of x_tap[..., j] * w[tap, j]; -> (N, *OS, O)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, w)
    weight = w.reshape(-1, cg, g, og).astype(dtype, copy=False)
    planar = _planar(x, spec)
    if planar is not None:
        return _depthwise_planar(planar, weight[:, 0, :, 0], spec, dtype)
    xp = _pad(x, spec)
    y = np.empty(spec.output_shape, dtype=dtype)
    taps = list(np.ndindex(*spec.kernel_size))

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        out = y[batch, rows]
        if og > 1:
            out = out.reshape(*out.shape[:-1], g, og)
        scratch = np.empty_like(out)
        for t, tap in enumerate(taps):
            view = xp[batch][_tap(xp, tap, spec, rows.start, rows.stop - rows.start)]
            for j in range(cg):
                if og == 1:  # depthwise-like: (..., C) * (C,), the channels contiguous
                    source, factor = view[..., j::cg], weight[t, j, :, 0]
                else:
                    source, factor = view.reshape(*view.shape[:-1], g, cg)[..., j, None], \
                        weight[t, j]
                if t == 0 and j == 0:
                    np.multiply(source, factor, out=out)
                else:
                    np.multiply(source, factor, out=scratch)
                    out += scratch

    each(work, _blocks(spec, y.itemsize))
    return y


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx_tap[..., j] += sum over og of dy * w[tap, j], cropped to the input."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(grad_output, w)
    weight = w.reshape(-1, cg, g, og).astype(dtype, copy=False)
    planar = _planar(grad_output, spec)
    if planar is not None:
        return _depthwise_planar_grad_input(planar, weight[:, 0, :, 0], spec, dtype)
    dx = np.zeros((spec.batch, *spec.padded_size, spec.in_channels), dtype=dtype)
    taps = list(np.ndindex(*spec.kernel_size))
    dy = grad_output.reshape(*grad_output.shape[:-1], g, og)

    def work(batch: slice) -> None:
        for start in range(batch.start, batch.stop):
            images = slice(start, start + 1)
            target = dx[images]
            for t, tap in enumerate(taps):
                view = target[_tap(target, tap, spec, 0, spec.output_size[0])]
                view = view.reshape(*view.shape[:-1], g, cg)
                for j in range(cg):
                    if og == 1:
                        view[..., j] += dy[images][..., 0] * weight[t, j, :, 0]
                    else:
                        view[..., j] += (dy[images] * weight[t, j]).sum(axis=-1)

    # whole images per thread: the taps of one image overlap in dx
    each(work, ranges(spec.batch, THREADS))
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(spec.padding, spec.input_size))
    return dx[(slice(None), *crop)]


@empty_safe("weight_shape")
@owns_cores
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw[tap, j] = sum over pixels of x_tap[..., j] * dy; -> (*K, cg, O)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, grad_output)
    planar_x, planar_dy = _planar(x, spec), _planar(grad_output, spec)
    if planar_x is not None and planar_dy is not None:
        return _depthwise_planar_grad_weight(planar_x, planar_dy, spec, dtype)
    xp = _pad(x, spec)
    taps = list(np.ndindex(*spec.kernel_size))
    dy = grad_output.reshape(*grad_output.shape[:-1], g, og)
    axes = tuple(range(1 + spec.rank))

    def work(block: tuple[slice, slice]) -> np.ndarray:
        batch, rows = block
        dw = np.empty((len(taps), cg, g, og), dtype=dtype)
        grad = dy[batch, rows]
        for t, tap in enumerate(taps):
            view = xp[batch][_tap(xp, tap, spec, rows.start, rows.stop - rows.start)]
            view = view.reshape(*view.shape[:-1], g, cg)
            for j in range(cg):
                if og == 1:  # depthwise-like: (P, C) products summed down the pixels
                    product = np.multiply(view[..., j::cg].reshape(-1, g), grad.reshape(-1, g))
                    dw[t, j, :, 0] = product.sum(axis=0)
                else:
                    dw[t, j] = (view[..., j, None] * grad).sum(axis=axes)
        return dw

    total = np.zeros((len(taps), cg, g, og), dtype=dtype)
    parts = _blocks(spec, dtype.itemsize)
    for start in range(0, len(parts), THREADS):
        for partial in each(work, parts[start: start + THREADS]):
            total += partial
    return total.reshape(spec.weight_shape)
