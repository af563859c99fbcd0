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

One input and one output channel per group (depthwise, or a single-channel filter) has
faster paths: channels last, each tap multiplies only the part of the output whose inputs
exist (no padded copy), by factors tiled along the width so that each product is one long
contiguous loop; channels first (views of NC*S data), stride 1, each block of images is padded
and flattened so that every tap is one contiguous slice of every plane; the weight gradient is
one ``einsum`` per tap (product and sum in one pass).
"""

from __future__ import annotations

import math

import numpy as np

from .._spec import ConvSpec
from ._threads import THREADS, each, owns_cores, ranges, total, zero_padded
from ._workspace import blocks, empty_safe

#: Bytes of output one block works on: small enough to stay in a core's cache.
_BLOCK_BYTES = 1 << 19


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """The direct method does every convolution (it is fast when ``prod(K) * cg`` is small)."""
    return None


def _tap(array: np.ndarray, tap: tuple[int, ...], spec: ConvSpec, first_row: int,
         rows: int) -> tuple[slice, ...]:
    """Index of the padded-input pixels that ``tap`` reads for output rows [first, first+rows)."""
    sizes = (rows, *spec.output_size[1:])
    firsts = (first_row * spec.stride[0], *([0] * (spec.rank - 1)))
    return (slice(None), *(
        slice(f + k * d, f + k * d + s * (o - 1) + 1, s)
        for f, k, d, s, o in zip(firsts, tap, spec.dilation, spec.stride, sizes)
    ))


def _work(spec: ConvSpec) -> int:
    """Elements the passes stream: one pass over the output per tap and group channel."""
    return (math.prod(spec.output_shape) * math.prod(spec.kernel_size)
            * (spec.in_channels // spec.groups))


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

    each(work, ranges(n, max(THREADS, n * y[0].nbytes // _BLOCK_BYTES)), _work(spec))
    return np.moveaxis(y, 1, -1)


def _depthwise_planar_flat(planar: np.ndarray, weight: np.ndarray, spec: ConvSpec,
                           dtype: np.dtype) -> np.ndarray:
    """Depthwise, stride 1, on channels-first data (N, C, *S), weight (taps, C).

    Each block of images is zero-padded and its planes flattened, (n, C, F); an output pixel
    then sits at the same flat position as its first input, so every tap is one contiguous
    slice at a fixed offset and each multiply-add runs in one long loop per plane.  The
    output is computed on the padded width, (n, C, OS[0], *P[1:]), and the extra columns
    are dropped when it is copied out (they never mix into the kept ones).
    """
    n, c = planar.shape[:2]
    padded = spec.padded_size
    pitch = [math.prod(padded[a + 1:]) for a in range(spec.rank)]  # flat step per axis
    taps = list(np.ndindex(*spec.kernel_size))
    offsets = [sum(k * d * p for k, d, p in zip(tap, spec.dilation, pitch)) for tap in taps]
    length = spec.output_size[0] * pitch[0]
    flat_size = max(offsets) + length
    factors = weight.reshape(len(taps), c, 1)
    interior = tuple(slice(lo, lo + size) for (lo, _), size in zip(spec.padding, spec.input_size))
    crop = tuple(slice(0, size) for size in spec.output_size[1:])
    y = np.empty((n, c, *spec.output_size), dtype=dtype)

    def work(part: slice) -> None:
        count = part.stop - part.start
        flat = np.zeros((count, c, flat_size), dtype=dtype)
        flat[:, :, :math.prod(padded)].reshape(count, c, *padded)[(..., *interior)] = \
            planar[part]
        out = np.empty((count, c, length), dtype=dtype)
        scratch = np.empty_like(out)
        for t, offset in enumerate(offsets):  # every tap covers the whole (padded) output
            source = flat[:, :, offset: offset + length]
            if t == 0:
                np.multiply(source, factors[t], out=out)
            else:
                np.multiply(source, factors[t], out=scratch)
                np.add(out, scratch, out=out)
        full = out.reshape(count, c, spec.output_size[0], *padded[1:])
        y[part] = full[(..., *crop)]

    each(work, ranges(n, max(THREADS, n * y[0].nbytes // _BLOCK_BYTES)), _work(spec))
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

    each(work, ranges(n, THREADS), _work(spec))  # whole images per thread: one image's taps overlap
    crop = tuple(slice(lo, lo + size) for (lo, _), size in zip(spec.padding, spec.input_size))
    return np.moveaxis(dx[(slice(None), slice(None), *crop)], 1, -1)


def _valid(offset: int, step: int, count: int, size: int) -> tuple[int, int]:
    """Output indices [i0, i1) whose input ``i * step + offset`` lies in [0, size)."""
    first = -(-max(0, -offset) // step)
    last = min(count, (size - 1 - offset) // step + 1) if size > offset else 0
    return first, max(first, last)


def _shifted_sum(source: np.ndarray, offsets: list[tuple[int, ...]], factors: np.ndarray,
                 step: tuple[int, ...], out: np.ndarray) -> None:
    """out[n, *i, c] = sum_t source[n, *(i * step + offsets[t]), c] * factors[t, c].

    ``source`` (n, *S, C), ``out`` (n, *OS, C), ``factors`` (taps, C); reads outside
    ``source`` count as zeros, so no padded copy is made: each tap multiplies only the part
    of the output whose inputs exist.  The factors are tiled along the last spatial axis, so
    that NumPy runs each product as one contiguous loop over (width * C) elements instead of
    one short loop per pixel.
    """
    sizes, counts = source.shape[1:-1], out.shape[1:-1]
    tiled = np.broadcast_to(factors[:, None, :], (len(offsets), counts[-1], factors.shape[1]))
    tiled = np.ascontiguousarray(tiled)  # (taps, OW, C)
    scratch = np.empty_like(out)
    ranges_ = [[_valid(o, s, c, z) for o, s, c, z in zip(offset, step, counts, sizes)]
               for offset in offsets]
    full = [t for t, r in enumerate(ranges_) if all(b - a == c for (a, b), c in zip(r, counts))]
    if full:
        order = [full[0]] + [t for t in range(len(offsets)) if t != full[0]]
    else:
        order = list(range(len(offsets)))
        out[...] = 0
    for number, t in enumerate(order):
        spans = ranges_[t]
        if any(b <= a for a, b in spans):
            continue
        dst = (slice(None), *(slice(a, b) for a, b in spans))
        src = (slice(None), *(slice(a * s + o, (b - 1) * s + o + 1, s)
                              for (a, b), s, o in zip(spans, step, offsets[t])))
        factor = tiled[t, spans[-1][0]: spans[-1][1]]
        if number == 0 and full:
            np.multiply(source[src], factor, out=out)
        else:
            part = scratch[dst]
            np.multiply(source[src], factor, out=part)
            np.add(out[dst], part, out=out[dst])


def _depthwise(spec: ConvSpec) -> bool:
    """One input and one output channel per group (the channel axis is never mixed): a
    depthwise convolution, or a single-channel filter."""
    return spec.groups == spec.in_channels == spec.out_channels


def _image_parts(spec: ConvSpec, itemsize: int) -> list[slice]:
    """Images per block: a block of about ``_DEPTHWISE_BYTES``, at least ``THREADS`` blocks."""
    image = (math.prod(spec.input_size) + math.prod(spec.output_size)) * spec.in_channels
    per_block = max(1, _DEPTHWISE_BYTES // max(image * itemsize, 1))
    return ranges(spec.batch, max(THREADS, -(-spec.batch // per_block)))


#: Bytes of input and output one depthwise block works on.
_DEPTHWISE_BYTES = 4 << 20


def _row_blocks(spec: ConvSpec, sizes: tuple[int, ...], itemsize: int
                ) -> list[tuple[slice, slice]]:
    """Blocks (images, rows) of a result of spatial ``sizes``: about ``_DEPTHWISE_BYTES / 2``
    of it each (its scratch is as large), under the workspace, at least ``THREADS`` blocks."""
    row = math.prod(sizes[1:]) * spec.in_channels * itemsize
    return blocks(spec.batch, sizes[0], row, THREADS, _DEPTHWISE_BYTES * THREADS // 2)


def _depthwise_forward(x: np.ndarray, weight: np.ndarray, spec: ConvSpec,
                       dtype: np.dtype) -> np.ndarray:
    """Depthwise on channels-last x (N, *S, C), weight (taps, C): no padded copy."""
    taps = list(np.ndindex(*spec.kernel_size))
    offsets = [tuple(k * d - lo for k, d, (lo, _) in zip(tap, spec.dilation, spec.padding))
               for tap in taps]
    y = np.empty(spec.output_shape, dtype=dtype)

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        moved = [(o + rows.start * spec.stride[0], *rest) for o, *rest in offsets]
        _shifted_sum(x[batch], moved, weight, spec.stride, y[batch, rows])

    each(work, _row_blocks(spec, spec.output_size, y.itemsize), _work(spec))
    return y


def _depthwise_grad_input(dy: np.ndarray, weight: np.ndarray, spec: ConvSpec,
                          dtype: np.dtype) -> np.ndarray:
    """Depthwise input gradient, stride 1: dx[i] = sum_t dy[i + lo - k*d] * w[t]."""
    taps = list(np.ndindex(*spec.kernel_size))
    offsets = [tuple(lo - k * d for k, d, (lo, _) in zip(tap, spec.dilation, spec.padding))
               for tap in taps]
    dx = np.empty(spec.input_shape, dtype=dtype)

    def work(block: tuple[slice, slice]) -> None:
        batch, rows = block
        moved = [(o + rows.start, *rest) for o, *rest in offsets]
        _shifted_sum(dy[batch], moved, weight, (1,) * spec.rank, dx[batch, rows])

    each(work, _row_blocks(spec, spec.input_size, dx.itemsize), _work(spec))
    return dx


def _depthwise_grad_weight(x: np.ndarray, dy: np.ndarray, spec: ConvSpec, dtype: np.dtype,
                           channels_first: bool = False) -> np.ndarray:
    """Depthwise weight gradient dw[t, c], no padded copy.

    x (N, *S, C) and dy (N, *OS, C), or (N, C, *S) and (N, C, *OS) if ``channels_first``.
    """
    taps = list(np.ndindex(*spec.kernel_size))
    counts, sizes = spec.output_size, spec.input_size
    axes = list(range(2 + spec.rank))  # einsum labels of x and dy
    channel = axes[1] if channels_first else axes[-1]
    lead = (slice(None),) if channels_first else ()  # the channel axis before the pixels

    def work(part: slice) -> np.ndarray:
        dw = np.zeros((len(taps), spec.in_channels), dtype=dtype)
        for t, tap in enumerate(taps):
            offset = [k * d - lo for k, d, (lo, _) in zip(tap, spec.dilation, spec.padding)]
            spans = [_valid(o, s, c, z)
                     for o, s, c, z in zip(offset, spec.stride, counts, sizes)]
            if any(b <= a for a, b in spans):
                continue
            dst = (part, *lead, *(slice(a, b) for a, b in spans))
            src = (part, *lead, *(slice(a * s + o, (b - 1) * s + o + 1, s)
                                  for (a, b), s, o in zip(spans, spec.stride, offset)))
            # one pass, no temporary: about twice as fast as multiply, then sum
            dw[t] = np.einsum(x[src], axes, dy[dst], axes, [channel])
        return dw

    return total(work, _image_parts(spec, dtype.itemsize), _work(spec)).reshape(
        spec.weight_shape)


@empty_safe("output_shape")
@owns_cores
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y = sum over taps and j < cg of x_tap[..., j] * w[tap, j]; -> (N, *OS, O)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, w)
    weight = w.reshape(-1, cg, g, og).astype(dtype, copy=False)
    planar = _planar(x, spec)
    if planar is not None and all(s == 1 for s in spec.stride):
        return _depthwise_planar_flat(planar, weight[:, 0, :, 0], spec, dtype)
    if planar is not None:
        return _depthwise_planar(planar, weight[:, 0, :, 0], spec, dtype)
    if _depthwise(spec) and spec.groups > 1:  # one channel: the blocked loop below is faster
        return _depthwise_forward(x, weight[:, 0, :, 0], spec, dtype)
    xp = zero_padded(x, spec)
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

    each(work, _blocks(spec, y.itemsize), _work(spec))
    return y


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx_tap[..., j] += sum over og of dy * w[tap, j], cropped to the input."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(grad_output, w)
    weight = w.reshape(-1, cg, g, og).astype(dtype, copy=False)
    planar = _planar(grad_output, spec)
    flipped_padding = tuple((e - 1 - lo, e - 1 - hi)
                            for e, (lo, hi) in zip(spec.effective_kernel_size, spec.padding))
    if (planar is not None and all(s == 1 for s in spec.stride)
            and min(min(pair) for pair in flipped_padding) >= 0):
        # stride 1: dx is dy correlated with the flipped kernel, padded by Keff - 1 - pad
        transposed = ConvSpec(spec.batch, spec.output_size, spec.in_channels,
                              spec.kernel_size, spec.out_channels, spec.stride, spec.dilation,
                              flipped_padding, spec.groups)
        flipped = weight[:, 0, :, 0].reshape(*spec.kernel_size, -1)[
            (slice(None, None, -1),) * spec.rank].reshape(-1, spec.in_channels)
        return _depthwise_planar_flat(planar, flipped, transposed, dtype)
    if planar is not None:
        return _depthwise_planar_grad_input(planar, weight[:, 0, :, 0], spec, dtype)
    if _depthwise(spec) and all(s == 1 for s in spec.stride):
        return _depthwise_grad_input(grad_output, weight[:, 0, :, 0], spec, dtype)
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
    each(work, ranges(spec.batch, THREADS), _work(spec))
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
        return _depthwise_grad_weight(planar_x, planar_dy, spec, dtype, channels_first=True)
    if _depthwise(spec):
        return _depthwise_grad_weight(x, grad_output, spec, dtype)
    xp = zero_padded(x, spec)
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

    return total(work, _blocks(spec, dtype.itemsize), _work(spec)).reshape(spec.weight_shape)
