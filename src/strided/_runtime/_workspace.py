"""How much scratch memory an algorithm may use, and splitting work to stay under it."""

from __future__ import annotations

import functools
import math
import threading
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from itertools import pairwise
from typing import Any

import numpy as np

#: Extra memory an algorithm may allocate beyond its inputs and output (bytes), per context:
#: ``workspace_limit`` in one thread (or asyncio task) leaves the others' limits alone.
_LIMIT: ContextVar[int] = ContextVar("strided_workspace_limit", default=256 * 2**20)


def get_workspace_limit() -> int:
    """The scratch memory (bytes) an algorithm may use beyond its inputs and output."""
    return _LIMIT.get()


class workspace_limit:  # a function to its callers, as torch.set_grad_enabled
    """Keep the algorithms' scratch memory under ``nbytes``: from now on, or within a block.

    Called on its own it sets the limit from now on; used as a ``with`` block it sets the
    limit inside the block and restores the previous one after.  The limit belongs to the
    calling thread (a ``ContextVar``): other threads keep theirs.

    Parameters
    ----------
    nbytes : int
        A positive number of bytes; the default limit is 256 MiB.  A smaller limit means
        more, smaller blocks of work (slower), never a different result.

    Examples
    --------
    >>> import numpy as np, strided
    >>> x, w = np.ones((2, 8, 8, 3)), np.ones((3, 3, 3, 4))
    >>> with strided.workspace_limit(4096):
    ...     y = strided.nn.conv2d(x, w, 1, "SAME")
    >>> float(y[0, 4, 4, 0])
    27.0
    >>> previous = strided.get_workspace_limit()
    >>> _ = strided.workspace_limit(64 << 20)  # a setter, too
    >>> strided.get_workspace_limit() == 64 << 20
    True
    >>> _ = strided.workspace_limit(previous)
    """

    def __init__(self, nbytes: int) -> None:
        if isinstance(nbytes, bool) or not isinstance(nbytes, int):
            raise TypeError(f"workspace_limit: nbytes must be a positive int; "
                            f"got nbytes={nbytes!r}")
        if nbytes < 1:
            raise ValueError(f"workspace_limit: nbytes must be a positive int; "
                             f"got nbytes={nbytes!r}")
        self.nbytes = nbytes
        self._saved = _LIMIT.get()
        _LIMIT.set(nbytes)

    def __enter__(self) -> int:
        return self.nbytes

    def __exit__(self, *exc_info: object) -> None:
        _LIMIT.set(self._saved)

    def __repr__(self) -> str:
        return f"workspace_limit({self.nbytes})"


def slabs(batch: int, rows: int, bytes_per_row: int, budget: int | None = None
          ) -> Iterator[tuple[slice, slice]]:
    """Split (batch, first output axis) into blocks whose scratch fits ``budget``.

    Whole images are grouped while one fits; a larger image is split by output rows.
    Always yields at least one row per block, whatever the budget.
    """
    budget = get_workspace_limit() if budget is None else budget
    per_image = rows * bytes_per_row
    if per_image <= budget:
        step = max(1, budget // max(per_image, 1))
        for start in range(0, batch, step):
            yield slice(start, min(start + step, batch)), slice(0, rows)
        return
    step = max(1, budget // max(bytes_per_row, 1))
    step = -(-rows // -(-rows // step))  # as many blocks, of near-equal sizes
    for n in range(batch):
        for start in range(0, rows, step):
            yield slice(n, n + 1), slice(start, min(start + step, rows))


def blocks(batch: int, rows: int, bytes_per_row: int, parts: int, budget: int | None = None
           ) -> list[tuple[slice, slice]]:
    """``slabs`` for ``parts`` threads at once: each under 1/parts of the budget, near-equal,
    and a multiple of ``parts`` of them where the work can be cut that fine (by image, else
    by rows), so that every thread gets the same share."""
    limit = get_workspace_limit()
    budget = limit if budget is None else min(budget, limit)
    found = list(slabs(batch, rows, bytes_per_row, max(budget // parts, 1)))
    if parts == 1 or batch * rows == 0:
        return found
    count = -(-len(found) // parts) * parts
    if batch >= count:
        bounds = [batch * i // count for i in range(count + 1)]
        return [(slice(a, b), slice(0, rows)) for a, b in pairwise(bounds)]
    per_image = -(-count // batch)
    bounds = [rows * i // per_image for i in range(per_image + 1)]
    return [(slice(n, n + 1), slice(a, b)) for n in range(batch)
            for a, b in pairwise(bounds) if b > a]


def output_array(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype
                 ) -> np.ndarray:
    """An algorithm's result array: ``out`` once checked to be a C-contiguous ``shape`` array
    of ``dtype`` (the caller's reused buffer), else a new one."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if out.shape != tuple(shape) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {tuple(shape)} {dtype} array; got "
                         f"{out.shape} {out.dtype} (C-contiguous: {out.flags.c_contiguous})")
    return out


def empty_safe(shape: str) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """An algorithm function that returns zeros of ``spec.<shape>`` when an input is empty
    (plus its ``bias`` option, then ``relu``; written into its ``out`` option if given)."""
    def decorate(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        @functools.wraps(function)
        def wrapper(a: np.ndarray, b: np.ndarray, spec: Any, **options: Any) -> np.ndarray:
            if a.size == 0 or b.size == 0:
                result = np.zeros(getattr(spec, shape), dtype=np.result_type(a, b))
                if options.get("bias") is not None:  # an empty kernel: only bias
                    result = result + options["bias"]
                if options.get("relu"):
                    result = np.maximum(result, 0)
                out = options.get("out")
                if out is None:
                    return result
                out[...] = result
                return out
            return function(a, b, spec, **options)
        return wrapper
    return decorate


class _Store(dict):
    """One thread's scratch buffers by key (a dict that can be referred to weakly)."""


_buffers = threading.local()
#: Every live thread's store, so that ``release_workspace`` can empty them all.
_stores: weakref.WeakValueDictionary[int, _Store] = weakref.WeakValueDictionary()
_stores_lock = threading.Lock()


def scratch(key: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """An uninitialised array for scratch work, reused by later calls on this thread.

    Freshly allocated large arrays are mapped from the OS page by page on first touch, which
    costs as much as the Winograd transforms themselves; reusing a buffer per ``key`` avoids
    it.  The buffers stay allocated between calls (each at most the largest size it had);
    callers never return them and never use one key twice at a time.
    """
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    store = getattr(_buffers, "store", None)
    if store is None:
        store = _buffers.store = _Store()
        with _stores_lock:
            _stores[id(store)] = store
    buffer = store.get(key)
    if buffer is None or buffer.nbytes < nbytes:
        store.pop(key, None)
        buffer = store[key] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


#: ``buffer`` keeps arrays up to this size per thread between calls: a fresh array is mapped
#: from the OS page by page, which can cost more than the work done in it.
_REUSE_BYTES = 8 << 20


def buffer(key: str, shape: tuple[int, ...], dtype: np.dtype | type,
           keep_up_to: int = _REUSE_BYTES) -> np.ndarray:
    """An uninitialised scratch array: reused between calls (``scratch``) up to
    ``keep_up_to`` bytes, else fresh, so that large ones do not stay allocated."""
    if math.prod(shape) * np.dtype(dtype).itemsize <= keep_up_to:
        return scratch(key, shape, dtype)
    return np.empty(shape, dtype=dtype)


#: Kernel copies up to this size are kept (``kept_copy``): a 3x3x512x512 kernel is 9 MB.
WEIGHT_BYTES = 32 << 20


def kept_copy(key: str, source: np.ndarray, keep_up_to: int = _REUSE_BYTES) -> np.ndarray:
    """A C-contiguous copy of ``source`` in ``buffer(key, ...)``."""
    copy = buffer(key, source.shape, source.dtype, keep_up_to)
    np.copyto(copy, source)
    return copy


def release_workspace() -> None:
    """Free the scratch buffers that the algorithms keep between calls, on every thread.

    Each thread keeps its larger work arrays (padded inputs, im2col columns, Winograd tiles,
    kernel copies, the channels-first faces' layout copies) for the next call, because
    mapping fresh memory from the OS costs more than the work done in it; together they stay
    under about the workspace limit per thread.
    They are made again when next needed.

    Examples
    --------
    >>> import numpy as np, strided
    >>> y = strided.nn.conv2d(np.ones((1, 8, 8, 3)), np.ones((3, 3, 3, 4)), 1, "SAME")
    >>> strided.release_workspace()
    """
    with _stores_lock:
        for store in list(_stores.values()):
            store.clear()
