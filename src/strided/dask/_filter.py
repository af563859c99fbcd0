"""``strided filter`` on images larger than memory: Zarr arrays read and written in tiles.

Each output tile reads its own window of the image (halo and padding included, by the same
index maps as the in-memory filter) straight from the array, and filters it with the same
function as ``tools.filter_image`` does a strip: so the pixels are the same, the tiles need
nothing from each other, and memory is a tile's work per thread whatever the image's size.
The tiles are the output Zarr array's chunks, so every task writes whole chunks of its own.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import dask
import dask.array as da
import dask.threaded
import numpy as np
from dask.callbacks import Callback
from dask.highlevelgraph import HighLevelGraph
from dask.utils import format_bytes, parse_bytes

if TYPE_CHECKING:
    import zarr

from .._spec import ConvSpec, PaddingLike
from ..tools._images import (
    filter_spec,
    filter_window,
    outside_range,
    padded_positions,
    pixels_from_values,
)

#: Bytes that one pixel of a tile's window costs per channel while the tile is computed: the
#: window gathered, its float64 copy and transpose, the float64 result, the values rounded
#: and the pixels written (measured with tracemalloc: about 33; with margin).
BYTES_PER_PIXEL = 40

#: Dask's book-keeping of one task and its result (measured with tracemalloc: about 4 kB).
TASK_BYTES = 5_000

ZARR_SUFFIX = ".zarr"


def parse_memory(text: str, option: str = "--memory") -> int:
    """``256MB``, ``2GiB`` or a number of bytes, at least 1 MB (``dask.utils.parse_bytes``)."""
    try:
        value = parse_bytes(text)
    except (ValueError, TypeError):
        value = None
    if value is None or value < 1_000_000:
        raise ValueError(f"{option} must be a size of at least 1MB such as 256MB or 2GiB; "
                         f"got {text!r}")
    return int(value)


def open_zarr(path: str | os.PathLike[str]) -> zarr.Array:
    """The Zarr array at ``path``, (H, W) or (H, W, C) of uint8 or uint16 (not read yet)."""
    import zarr

    if not os.path.exists(path):
        raise OSError(f"cannot read image {str(path)!r}: no such file or directory")
    try:
        array = zarr.open_array(str(path), mode="r")
    except Exception as error:  # zarr raises several types for a store that is not an array
        raise OSError(f"cannot read image {str(path)!r}: not a Zarr array "
                      f"({type(error).__name__}: {error})") from None
    if array.ndim not in (2, 3) or array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"filter: a Zarr image must be (H, W) or (H, W, C) of uint8 or uint16; "
                         f"got shape {array.shape} and dtype {array.dtype} in {str(path)!r}")
    return array


def _tile_cost(tile: int, spec: ConvSpec, channels: int, chunks: Sequence[int],
               itemsize: int) -> int:
    """Bytes one thread holds while it filters an output tile of ``tile`` x ``tile``: the
    stored chunks that its window touches, decoded (twice: read and assembled), and the work
    on each pixel of the window."""
    window = [(tile - 1) * s + k for s, k in zip(spec.stride, spec.kernel_size)]
    touched = math.prod(-(-n // c) + 1 for n, c in zip(window, chunks))
    return (2 * touched * math.prod(chunks) * itemsize * channels
            + math.prod(window) * channels * BYTES_PER_PIXEL)


def tile_size(memory: int, threads: int, spec: ConvSpec, channels: int,
              chunks: Sequence[int], itemsize: int) -> int:
    """The side of the largest square output tile (at most the output, and at least 16 or
    the output) whose work fits ``memory`` with ``threads`` tiles at once; ``chunks`` are the
    stored array's (the whole image for an array in memory)."""
    largest = max(spec.output_size)

    def fits(tile: int) -> bool:
        return threads * _tile_cost(tile, spec, channels, chunks, itemsize) <= memory

    if fits(largest):
        return largest
    low, high = 0, largest // 16  # the largest multiple of 16 that fits: 16 * low
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(16 * middle) else (low, middle - 1)
    if low == 0:
        need = threads * _tile_cost(min(16, largest), spec, channels, chunks, itemsize)
        raise ValueError(f"--memory is too small for this image: filtering it in tiles on "
                         f"{threads} threads needs at least {format_bytes(2 * need)}, with its "
                         f"stored chunks of {'x'.join(map(str, chunks))}; got "
                         f"{format_bytes(2 * memory)}")
    return 16 * low


def _gather(image: object, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``image[rows][:, columns]``, reading only the rows and columns needed (Zarr: only the
    chunks that hold them)."""
    unique_rows, row_at = np.unique(rows, return_inverse=True)
    unique_columns, column_at = np.unique(columns, return_inverse=True)
    index = tuple(slice(int(u[0]), int(u[-1]) + 1) if u[-1] - u[0] + 1 == len(u) else u
                  for u in (unique_rows, unique_columns))
    if all(isinstance(i, slice) for i in index):
        block = np.asarray(image[index])  # type: ignore[index]
    elif hasattr(image, "oindex"):
        block = np.asarray(image.oindex[index])
    else:
        block = np.asarray(image)[np.ix_(unique_rows, unique_columns)]
    return block[row_at][:, column_at]


def _tile(image: object, output_rows: tuple[int, int], output_columns: tuple[int, int],
          spec: ConvSpec, weight: np.ndarray) -> np.ndarray:
    """One output tile: its window of the image read (halo and padding), filtered."""
    h, w = spec.input_size
    (sh, sw), (kh, kw) = spec.stride, spec.kernel_size
    (r0, r1), (c0, c1) = output_rows, output_columns
    rows, row_inside = padded_positions(h, spec.padding[0], spec.padding_mode, r0 * sh,
                                        (r1 - 1) * sh + kh)
    columns, column_inside = padded_positions(w, spec.padding[1], spec.padding_mode, c0 * sw,
                                              (c1 - 1) * sw + kw)
    y = filter_window(_gather(image, rows, columns), row_inside, column_inside, weight,
                      (sh, sw), spec.padding_mode == "zeros")
    return y if len(image.shape) == 3 else y[..., 0]  # type: ignore[attr-defined]


def filter_values(image: object, kernel: np.ndarray, stride: int | Sequence[int] = 1,
                  padding: PaddingLike = "same", padding_mode: str = "zeros", *,
                  convolve: bool = False, tile: int = 1024,
                  rows: tuple[int, int] | None = None) -> da.Array:
    """Each channel of ``image`` (H, W) or (H, W, C) filtered by ``kernel``: float64, lazily,
    in output tiles of ``tile`` x ``tile``; only output rows ``rows`` (multiples of ``tile``
    but the end) when given.

    ``image`` is read by slicing (a Zarr array, a NumPy array or memory map): each tile reads
    its own window, halo included, and nothing else, so the tiles need nothing from each
    other and any number of them can be computed in any order.  The values are those of
    ``tools.filter_image``.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if convolve:
        kernel = kernel[::-1, ::-1]
    spec = filter_spec(image.shape, kernel.shape, stride, padding, padding_mode)  # type: ignore[attr-defined]
    weight = np.ascontiguousarray(kernel)[np.newaxis, np.newaxis]
    first, stop = rows if rows is not None else (0, spec.output_size[0])
    bounds = [[*range(first, stop, tile), stop], [*range(0, spec.output_size[1], tile),
                                                  spec.output_size[1]]]
    token = uuid.uuid4().hex  # not a hash of the image: that would read all of it
    name, image_key = f"filter-{token}", (f"filter-image-{token}",)
    colour = len(image.shape) == 3  # type: ignore[attr-defined]
    layer: dict = {image_key: image}
    for i, row_range in enumerate(pairwise(bounds[0])):
        for j, column_range in enumerate(pairwise(bounds[1])):
            layer[(name, i, j, *([0] if colour else []))] = (
                _tile, image_key, row_range, column_range, spec, weight)
    chunks = tuple(tuple(int(n) for n in np.diff(b)) for b in bounds)
    if colour:
        chunks += ((image.shape[2],),)  # type: ignore[attr-defined]
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[])
    return da.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), np.float64))


class _TileBar(Callback):
    """A tqdm bar of the tiles done, over every band's computation (on a cluster, whose tasks
    a local callback does not see, ``done`` counts a band's tiles when it ends)."""

    def __init__(self, total: int, show: bool) -> None:
        super().__init__()
        self.bar = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="filter", unit="tile", file=sys.stderr,
                            dynamic_ncols=True)

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        if self.bar is not None and isinstance(key, tuple) and len(key) == 3:
            self.bar.update(1)

    def done(self, tiles: int) -> None:
        if self.bar is not None:
            self.bar.update(tiles)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _range_tile(image: object, rows: tuple[int, int], columns: tuple[int, int],
                spec: ConvSpec, weight: np.ndarray) -> tuple[float, float]:
    """The minimum and maximum of one tile's values (the first pass of ``--normalize``)."""
    y = _tile(image, rows, columns, spec, weight)
    return float(y.min()), float(y.max())


def _pixel_tile(image: object, rows: tuple[int, int], columns: tuple[int, int],
                spec: ConvSpec, weight: np.ndarray, target: object, top_value: int,
                dtype: np.dtype, normalize: bool, low: float, scale: float
                ) -> tuple[float, float, int, np.ndarray | None]:
    """One tile filtered to pixels and written to ``target`` (or returned, if None), with its
    values' minimum, maximum and count outside the pixels' range."""
    y = _tile(image, rows, columns, spec, weight)
    pixels = pixels_from_values(y, top_value, dtype, normalize, low, scale)
    if target is not None:
        target[slice(*rows), slice(*columns)] = pixels  # type: ignore[index]
    return (float(y.min()), float(y.max()), int(np.count_nonzero(outside_range(y, top_value))),
            None if target is not None else pixels)


def filter_tiled(source: object, target: str | os.PathLike[str] | None, kernel: np.ndarray,
                 stride: int | Sequence[int], padding: PaddingLike, padding_mode: str, *,
                 convolve: bool, normalize: bool, memory: int, progress: bool = False,
                 scheduler: str | None = None) -> tuple[np.ndarray | None, tuple[int, ...],
                                                        dict[str, float]]:
    """Filter ``source`` (H, W) or (H, W, C) to pixels, in tiles and bands that fit ``memory``.

    Half of ``memory`` goes to the tiles at work (one per thread), a quarter to Dask's own
    book-keeping of the tasks of one band of tile rows; bands are computed one after the
    other, so memory does not grow with the image.  Each tile is one task: read its window,
    filter, map to pixels, write them.  The pixels go to a new Zarr array at ``target``
    (written under a temporary name, then renamed), or are returned in memory when ``target``
    is None.  ``scheduler``: None for Dask's threaded scheduler, or a ``distributed``
    scheduler's address (``memory`` is then for each worker).  Returns ``(pixels or None,
    output shape, stats)``, with the stats of ``tools.filter_image``.
    """
    shape = source.shape  # type: ignore[attr-defined]
    dtype = (np.dtype(np.uint16) if source.dtype == np.uint16  # type: ignore[attr-defined]
             else np.dtype(np.uint8))
    top_value = 65535 if dtype == np.uint16 else 255
    kernel = np.asarray(kernel, dtype=np.float64)
    if convolve:
        kernel = kernel[::-1, ::-1]
    weight = np.ascontiguousarray(kernel)[np.newaxis, np.newaxis]
    spec = filter_spec(shape, kernel.shape, stride, padding, padding_mode)
    (oh, ow), out_shape = spec.output_size, (*spec.output_size, *shape[2:])
    with contextlib.ExitStack() as stack:
        client = None
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        if scheduler is not None:
            from distributed import Client

            client = stack.enter_context(Client(scheduler))
            threads = max(client.nthreads().values())
        chunks = tuple(getattr(source, "chunks", None) or shape)[:2]
        tile = tile_size(memory // 2, threads, spec, 1 if len(shape) == 2 else shape[2], chunks,
                         np.dtype(source.dtype).itemsize)  # type: ignore[attr-defined]
        across = -(-ow // tile)
        band = tile * max(1, memory // 4 // (TASK_BYTES * across))
        bar = _TileBar(across * -(-oh // tile) * (2 if normalize else 1), progress)
        stack.callback(bar.close)
        if client is None:
            stack.enter_context(bar)
        writer = None
        if target is not None:
            writer = stack.enter_context(_ZarrWriter(Path(target), out_shape,
                                                     (tile, tile, *shape[2:]), dtype))
        token = uuid.uuid4().hex  # not a hash of the image: that would read all of it
        base: dict[tuple[str | int, ...], object] = {
            ("image-" + token,): source,
            ("target-" + token,): writer.array if writer is not None else None}

        def run(function: object, *arguments: object) -> list:
            """``function(image, rows, columns, spec, weight, *arguments)`` on every tile, a
            band at a time: ``[(first row, first column, *result), ...]``."""
            done = []
            for first in range(0, oh, band):
                graph = dict(base)
                keys: list[tuple[str, int, int]] = []
                for r in range(first, min(oh, first + band), tile):
                    for c in range(0, ow, tile):
                        keys.append((f"tile-{token}", r, c))
                        graph[keys[-1]] = (function, ("image-" + token,), (r, min(oh, r + tile)),
                                           (c, min(ow, c + tile)), spec, weight, *arguments)
                values = (client.get(graph, keys) if client is not None
                          else dask.threaded.get(graph, keys))
                done += [(key[1], key[2], *value) for key, value in zip(keys, values)]
                if client is not None:
                    bar.done(len(keys))
            return done

        low, high, scale = np.inf, -np.inf, 0.0
        if normalize:  # first pass: the range
            ranges = run(_range_tile)
            low, high = min(r[2] for r in ranges), max(r[3] for r in ranges)
            scale = top_value / (high - low) if high > low else 0.0
        tiles = run(_pixel_tile, ("target-" + token,), top_value, dtype, normalize, low, scale)
    result = None if target is not None else np.empty(out_shape, dtype)
    for r, c, *_, pixels in tiles:
        if result is not None:
            result[r:r + pixels.shape[0], c:c + pixels.shape[1]] = pixels
    clipped = 0
    if not normalize:
        low, high = min(t[2] for t in tiles), max(t[3] for t in tiles)
        clipped = sum(t[4] for t in tiles)
    stats = {"minimum": low, "maximum": high, "clipped": clipped / max(1, math.prod(out_shape))}
    return result, out_shape, stats


class _ZarrWriter:
    """A new Zarr array written under a temporary name beside ``target``, renamed on success."""

    def __init__(self, target: Path, shape: tuple[int, ...], chunks: tuple[int, ...],
                 dtype: np.dtype) -> None:
        import zarr

        directory = target.parent if str(target.parent) else Path(".")
        if not directory.is_dir():
            raise OSError(f"cannot write {str(target)!r}: the directory {str(directory)!r} "
                          f"does not exist")
        self.target = target
        self.temporary = Path(tempfile.mkdtemp(prefix=f".{target.stem}-", suffix=ZARR_SUFFIX,
                                               dir=directory))
        self.array = zarr.create_array(str(self.temporary), shape=shape, dtype=dtype,
                                       chunks=tuple(min(c, n) for c, n in zip(chunks, shape)),
                                       overwrite=True)

    def __enter__(self) -> _ZarrWriter:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if kind is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)
            return
        if self.target.is_dir():
            shutil.rmtree(self.target)
        elif self.target.exists():
            self.target.unlink()
        os.replace(self.temporary, self.target)
