"""One convolution over a dask array: output chunks that mirror the input's, halos read from
the neighbouring chunks, each block a VALID convolution in memory.

Along a spatial axis of ``n`` pixels in chunks starting at ``B_0 = 0 < B_1 < ...``, with
padding ``(lo, hi)``, stride ``s`` and dilated kernel extent ``e``, output ``o`` reads padded
positions ``[o * s, o * s + e)``.  The output chunks start at ``ceil(B_i / s)`` (clipped to
the output's size, empty ones dropped): the input's chunks divided by the stride, so regular
chunks that are multiples of the stride give regular output chunks (``to_zarr`` writes them
as they are).  Output block ``[o0, o1)`` reads padded positions ``[o0 * s, (o1 - 1) * s + e)``:
its own chunk and halos of about ``lo`` before and ``e - s - lo`` after it, from as many
neighbouring chunks as that takes (chunks may be smaller than the kernel).  Positions in the
padding are gathered by the padding mode's index map (``_padding.source_index``), so circular
padding reads the far end of the image and zero padding reads nothing.  No padded or
rechunked copy of the image is ever made: a task holds its block, its halo and its output.

The batch axis needs no halo (output chunks = input chunks); the channel axis is one chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise, product

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .. import _algorithms, _core
from .._padding import source_index
from .._spec import ConvSpec


@dataclass(frozen=True)
class AxisBlock:
    """What one output block reads along one spatial axis.

    ``pieces``: ``(input chunk index, start, stop)`` within that chunk, in order; ``take``:
    positions into the pieces laid end to end (``-1`` for a zero of the padding), or None when
    the pieces are read as they are.
    """

    pieces: tuple[tuple[int, int, int], ...]
    take: np.ndarray | None


def axis_plan(chunks: Sequence[int], padding: tuple[int, int], mode: str, stride: int,
              extent: int, out_size: int) -> tuple[tuple[int, ...], list[AxisBlock]]:
    """The output chunks along one spatial axis and what each output block reads."""
    n = sum(chunks)
    lo, hi = padding
    starts = np.cumsum([0, *chunks])
    cuts = sorted({0, out_size, *(min(-(-int(b) // stride), out_size) for b in starts[1:-1])})
    index = source_index(n, lo, hi, "replicate" if mode == "zeros" else mode)
    blocks = []
    for o0, o1 in pairwise(cuts):
        padded = np.arange(o0 * stride, (o1 - 1) * stride + extent)
        source = index[padded]
        if mode == "zeros":
            source = np.where((padded >= lo) & (padded < lo + n), padded - lo, -1)
        needed = np.unique(source[source >= 0])
        owner = np.searchsorted(starts, needed, side="right") - 1
        pieces, offsets, length = [], np.zeros(len(chunks), np.intp), 0
        for chunk in np.unique(owner):
            inside = needed[owner == chunk]
            first, last = int(inside[0] - starts[chunk]), int(inside[-1] - starts[chunk]) + 1
            pieces.append((int(chunk), first, last))
            offsets[chunk] = length - first
            length += last - first
        if not pieces:  # a block wholly in the zero padding reads an empty piece
            pieces.append((0, 0, 0))
        source_owner = np.searchsorted(starts, source, side="right") - 1
        local = np.where(source >= 0, offsets[source_owner] + source - starts[source_owner], -1)
        identity = len(local) == length and np.array_equal(local, np.arange(length))
        blocks.append(AxisBlock(tuple(pieces), None if identity else local))
    return tuple(b - a for a, b in pairwise(cuts)), blocks


def _piece(chunk: np.ndarray, index: tuple[slice, ...]) -> np.ndarray:
    """A copy of part of a neighbouring chunk, so that the chunk itself can be released."""
    return chunk[index].copy()


def _assemble(pieces: list, axes: Sequence[int]) -> np.ndarray:
    """Nested lists of pieces (one level per spatial axis) laid end to end along ``axes``."""
    if not axes:
        return pieces  # type: ignore[return-value]
    parts = [_assemble(part, axes[1:]) for part in pieces]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[0])


def _block(pieces: list, w: np.ndarray, takes: tuple[np.ndarray | None, ...],
           axes: tuple[int, ...], spec: ConvSpec, algorithm: str, op: str,
           bias: np.ndarray | None) -> np.ndarray:
    """One output block: its input (own chunk and halo, padding gathered), convolved VALID."""
    x = _assemble(pieces, axes)
    for axis, take in zip(axes, takes):
        if take is None:
            continue
        if (take < 0).any():  # zero padding: read a slab of zeros put after the pieces
            shape = list(x.shape)
            shape[axis] = 1
            x = np.concatenate([x, np.zeros(shape, x.dtype)], axis=axis)
            take = np.where(take < 0, x.shape[axis] - 1, take)
        x = np.take(x, take, axis=axis)
    return _core.convolve(x, w, spec, bias=bias, algorithm=algorithm, op=op)


def _algorithm_name(algorithm: str, spec: ConvSpec, dtype: np.dtype, op: str) -> str:
    """The algorithm the in-memory call would use, so that every block uses it too."""
    module = _algorithms.resolve(algorithm, _core._inner(spec), dtype, op)
    return next(name for name, known in _algorithms.ALGORITHMS.items() if known is module)


def convolve(x: da.Array, w: np.ndarray, spec: ConvSpec, *, algorithm: str = "auto",
             op: str = "conv", bias: np.ndarray | None = None) -> da.Array:
    """``_core.convolve(x, w, spec)`` (+ ``bias``) over a dask array in the spec's layout.

    ``x``: (N, *S, C) or (N, C, *S) as ``spec.data_format`` says; ``w`` in memory, in the
    spec's weight layout.  The result is a dask array whose chunks mirror ``x``'s.
    """
    rank = spec.rank
    last = spec.data_format == "channels_last"
    axes = tuple(range(1, rank + 1)) if last else tuple(range(2, rank + 2))
    channel = rank + 1 if last else 1
    if any(math.isnan(c) for chunks in x.chunks for c in chunks):
        raise ValueError(f"{op}: input has unknown chunk sizes (chunks={x.chunks}); call "
                         f"input.compute_chunk_sizes() first")
    if len(x.chunks[channel]) > 1:
        x = x.rechunk({channel: -1})
    compute, result = _core.compute_dtypes(x.dtype, w.dtype)
    name = _algorithm_name(algorithm, spec, compute, op)
    if bias is not None:
        bias = _core.check_bias(bias, spec.out_channels, op)  # before any work
        assert bias is not None  # check_bias gives None only for None
        result = _core.compute_dtypes(result, bias.dtype)[1]

    plans = [axis_plan(x.chunks[axis], spec.padding[i], spec.padding_mode, spec.stride[i],
                       spec.effective_kernel_size[i], spec.output_size[i])
             for i, axis in enumerate(axes)]
    token = tokenize(x.name, w, spec, name, bias)
    out_name, piece_name, weight_key = f"{op}-{token}", f"{op}-halo-{token}", (f"{op}-w-{token}",)
    layer: dict = {weight_key: w}
    for b, where in product(range(len(x.chunks[0])), product(*(range(len(p[1])) for p in plans))):
        blocks = [plan[1][j] for plan, j in zip(plans, where)]
        out_key = _key(out_name, b, where, 0, last)
        pieces = _piece_keys(layer, x, piece_name, out_key, b, blocks, axes, last)
        sizes = tuple(sum(stop - start for _, start, stop in block.pieces) if block.take is None
                      else len(block.take) for block in blocks)
        block_spec = replace(spec, batch=x.chunks[0][b], input_size=sizes,
                             padding=((0, 0),) * rank, padding_mode="zeros")
        layer[out_key] = (_block, pieces, weight_key, tuple(block.take for block in blocks),
                          axes, block_spec, name, op, bias)

    out_chunks = [x.chunks[0], *(p[0] for p in plans)]
    out_chunks.insert(channel, (spec.out_channels,))
    # dask's Array does not match its own DaskCollection protocol (__dask_scheduler__)
    graph = HighLevelGraph.from_collections(out_name, layer,
                                            dependencies=[x])  # type: ignore[list-item]
    return da.Array(graph, out_name, tuple(out_chunks), meta=np.empty((0,) * x.ndim, result))


def _piece_keys(layer: dict, x: da.Array, piece_name: str, out_key: tuple, batch: int,
                blocks: Sequence[AxisBlock], axes: tuple[int, ...], last: bool,
                chosen: tuple = ()) -> list | tuple:
    """The keys of one output block's pieces, nested one list per spatial axis; a piece that
    is not a whole chunk becomes a task of ``layer`` copying it out of its chunk."""
    if len(chosen) < len(axes):
        return [_piece_keys(layer, x, piece_name, out_key, batch, blocks, axes, last,
                            (*chosen, piece)) for piece in blocks[len(chosen)].pieces]
    key = _key(x.name, batch, tuple(c for c, _, _ in chosen), 0, last)
    if all(start == 0 and stop == x.chunks[a][c] for a, (c, start, stop) in zip(axes, chosen)):
        return key
    slices = [slice(None)] * x.ndim
    for a, (_, start, stop) in zip(axes, chosen):
        slices[a] = slice(start, stop)
    piece = (piece_name, *out_key[1:], *(p for c in chosen for p in c))
    layer[piece] = (_piece, key, tuple(slices))
    return piece


def _key(name: str, batch: int, spatial: tuple[int, ...], channel: int, last: bool) -> tuple:
    return (name, batch, *spatial, channel) if last else (name, batch, channel, *spatial)




def as_dask(value: object, name: str, op: str) -> da.Array:
    """``value`` as a dask array of real numbers (a NumPy array in Dask's automatic chunks)."""
    array = value if isinstance(value, da.Array) else da.asarray(value)
    _core.as_array(np.empty(0, array.dtype), name, op)  # the in-memory dtype check and message
    return array
