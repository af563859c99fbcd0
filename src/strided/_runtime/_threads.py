"""Both cores: every algorithm splits its work, GEMMs included, over its own threads.

NumPy releases the GIL inside large copies, ufuncs and BLAS calls, so plain threads from
``concurrent.futures`` run such work in parallel.  NumPy alone would run the gathering of
columns, the Winograd transforms and the direct (shift-and-add) loops on one core; ``split``
divides them, and the matrix products with them.

Why not let OpenBLAS thread each product: its worker threads busy-wait after every call, so
they compete with the element-wise work that follows, and on a shared machine a product of two
threads waits for whichever core is busiest (on the 2-core machine we measure on, 36 small
products of Winograd took 110 ms with 2 BLAS threads and 15 ms with 1).  While an algorithm
runs (``owns_cores``), OpenBLAS is therefore told to use one thread, and its previous setting
is restored afterwards, through threadpoolctl where it is installed (the ``tools`` and
``test`` extras bring it); without it BLAS keeps its own threads and the splits still give the
right answer.  The compiled kernels (``strided._kernels``) run on a pool of their own instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np

from .._spec import ConvSpec
from ._workspace import buffer


def _available_cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_num_threads = _available_cpus()


def get_num_threads() -> int:
    """The number of threads strided's convolutions use (``set_num_threads``).

    Examples
    --------
    >>> import strided
    >>> strided.get_num_threads() >= 1
    True
    """
    return _num_threads


def set_num_threads(threads: int) -> None:
    """Use ``threads`` threads (the calling one included) for every later convolution.

    The default is the number of CPUs this process may run on (its affinity mask).  The
    compiled kernels run on a pool of the library's own that grows to the largest count
    asked for; its idle threads sleep.  A call on tiny data stays on the calling thread.

    Parameters
    ----------
    threads : int
        At least 1.

    Examples
    --------
    >>> import strided
    >>> saved = strided.get_num_threads()
    >>> strided.set_num_threads(1)
    >>> strided.get_num_threads()
    1
    >>> strided.set_num_threads(saved)
    """
    global _num_threads
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"set_num_threads: threads must be a positive int; got {threads!r}")
    if threads < 1:
        raise ValueError(f"set_num_threads: threads must be a positive int; got {threads!r}")
    _num_threads = threads

_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _forget_pool_in_child() -> None:
    """After fork the parent's pool threads do not exist in the child: start a new pool."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)

#: Below this many elements a split costs more than it saves: handing work to another thread
#: costs about 70 us here, the time one core takes to stream a megabyte.
_MIN_SPLIT = 1 << 18


_Function = TypeVar("_Function", bound=Callable[..., Any])
_blas_lock = threading.Lock()
_blas_depth = 0
_blas_saved = 0
_blas_control: tuple[Any, Any] | None = None
_blas_looked_up = False


def _find_blas_control() -> tuple[Any, Any] | None:
    """(set_num_threads, get_num_threads) for the BLAS libraries loaded in this process, through
    threadpoolctl (an optional dependency: without it BLAS keeps its own threads)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    blas = ThreadpoolController().select(user_api="blas")
    if not blas.lib_controllers:
        return None

    def set_threads(count: int) -> None:
        for library in blas.lib_controllers:
            library.set_num_threads(count)

    def get_threads() -> int:
        return max(library.get_num_threads() for library in blas.lib_controllers)

    return set_threads, get_threads


@contextlib.contextmanager
def blas_on_one_thread() -> Iterator[None]:
    """Within the block, OpenBLAS runs on the calling thread only (our threads split the work).

    Re-entrant and shared between threads: the previous setting comes back when the outermost
    block ends.
    """
    global _blas_control, _blas_depth, _blas_saved, _blas_looked_up
    with _blas_lock:
        if not _blas_looked_up:
            _blas_control, _blas_looked_up = _find_blas_control(), True
        control = _blas_control
        if control and _blas_depth == 0:
            _blas_saved = control[1]()
            control[0](1)
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if control and _blas_depth == 0:
                control[0](_blas_saved)


def owns_cores(function: _Function) -> _Function:
    """Run ``function`` with OpenBLAS on one thread (``blas_on_one_thread``)."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with blas_on_one_thread():
            return function(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _executor() -> ThreadPoolExecutor:
    """The shared pool of ``get_num_threads() - 1`` workers (the calling thread is the last one),
    created on first use (never at import)."""
    global _pool, _pool_size
    if _pool is None or _pool_size != get_num_threads():
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool_size = get_num_threads()
        _pool = ThreadPoolExecutor(max_workers=max(_pool_size - 1, 1),
                                   thread_name_prefix="strided")
    return _pool


_splitting = threading.local()


def _in_pool() -> bool:
    """Whether this thread already runs a part of split work (work is not split twice)."""
    return (getattr(_splitting, "active", False)
            or threading.current_thread().name.startswith("strided"))


def _run_parts(work: Callable[[Any], Any], parts: list) -> list:
    """``[work(part) for part in parts]``: ``parts[1:]`` on the pool, ``parts[0]`` here.

    The calling thread takes a part itself: waking a pool thread costs about 70 us on the
    machine we measure on, as much as copying a megabyte.
    """
    futures = [_executor().submit(work, part) for part in parts[1:]]
    _splitting.active = True
    try:
        first = work(parts[0])
    finally:
        _splitting.active = False
    return [first, *(future.result() for future in futures)]


def ranges(length: int, parts: int) -> list[slice]:
    """``range(length)`` cut into at most ``parts`` contiguous, non-empty, near-equal slices."""
    parts = max(1, min(parts, length))
    bounds = [length * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in pairwise(bounds)]


def split(work: Callable[[slice], object], length: int, elements: int = 1 << 30) -> None:
    """Run ``work(part)`` over slices of ``range(length)``, one per thread.

    ``elements`` is the size of the whole job; small jobs run on the calling thread.
    """
    if get_num_threads() == 1 or length < 2 or elements < _MIN_SPLIT or _in_pool():
        work(slice(0, length))
        return
    _run_parts(work, ranges(length, get_num_threads()))


def each(work: Callable[[Any], Any], items: list, elements: int = 1 << 30) -> list:
    """``[work(item) for item in items]``, the items cut into one run of neighbours per
    thread; ``elements`` is the size of the whole job, as for ``split``."""
    if get_num_threads() == 1 or len(items) < 2 or elements < _MIN_SPLIT or _in_pool():
        return [work(item) for item in items]
    runs = _run_parts(lambda part: [work(item) for item in items[part]],
                      ranges(len(items), get_num_threads()))
    return [result for run in runs for result in run]


def total(work: Callable[[Any], np.ndarray], items: list, elements: int = 1 << 30
          ) -> np.ndarray:
    """``sum(work(item) for item in items)``, each thread adding up its own run of items, so
    that at most ``get_num_threads()`` partial sums are alive; ``elements`` as for ``split``."""
    def run(part: slice) -> np.ndarray:
        result = work(items[part.start])
        for item in items[part.start + 1: part.stop]:
            result += work(item)
        return result

    partials = each(run, ranges(len(items), get_num_threads()), elements)
    result = partials[0]
    for partial in partials[1:]:
        result += partial
    return result


#: Multiply-adds that cost as much as streaming one element: a core does about 50 G of the
#: first and 1.5 G of the second per second here.
_MACS_PER_ELEMENT = 32


def _cost(out: np.ndarray, inner: int) -> int:
    """A product's work, in elements streamed (``split``'s unit)."""
    return out.size * inner // _MACS_PER_ELEMENT


def matmul_stack(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[k] = a[k] @ b[k]`` as 2-D BLAS calls, the rows of ``a[k]`` split over threads.

    ``np.matmul`` on stacks of small matrices may not use BLAS at all; a loop of 2-D products
    does.
    """
    if a.shape[1] >= 512 * get_num_threads():  # tall products: each thread takes rows of every one
        def work(part: slice) -> None:
            for k in range(a.shape[0]):
                np.matmul(a[k, part], b[k], out=out[k, part])
        split(work, a.shape[1], _cost(out, a.shape[2]))
    else:  # short products: each thread takes whole products
        def whole(part: slice) -> None:
            for k in range(part.start, part.stop):
                np.matmul(a[k], b[k], out=out[k])
        split(whole, a.shape[0], _cost(out, a.shape[2]))
    return out


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` (2-D), the rows of ``a`` split over threads."""
    def work(part: slice) -> None:
        np.matmul(a[part], b, out=out[part])
    split(work, a.shape[0], _cost(out, a.shape[1]))
    return out


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for ``a`` (..., k) and ``b`` (k, m), the rows of ``a`` split over threads."""
    rows = a.reshape(-1, a.shape[-1])
    macs = rows.shape[0] * b.shape[1] * rows.shape[1]
    if _blas_depth and (get_num_threads() == 1 or macs // _MACS_PER_ELEMENT < _MIN_SPLIT):
        # one BLAS call already on one thread, too small to split: no bookkeeping (a dense
        # layer's products at batch 32 take a few microseconds)
        return np.matmul(rows, b).reshape(*a.shape[:-1], b.shape[1])
    out = np.empty((rows.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    with blas_on_one_thread():
        matmul(rows, b, out)
    return out.reshape(*a.shape[:-1], b.shape[1])


def contiguous(x: np.ndarray) -> np.ndarray:
    """``x`` itself if C-contiguous, else a C-contiguous copy made on both cores."""
    if x.flags.c_contiguous:
        return x
    out = np.empty(x.shape, dtype=x.dtype)

    def work(images: slice) -> None:
        out[images] = x[images]

    split(work, x.shape[0], x.size)
    return out


def zero_padded(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """Zero-padded (N, *P, C) copy of ``x`` (N, *S, C); cheaper than ``np.pad``.

    The copy is a reused scratch array (``buffer``), valid until the next call on this
    thread.  Without padding, ``x`` itself, unless it is a channels-first view: then a
    contiguous copy, since every later gather would otherwise read one channel per cache line.
    """
    if not any(lo or hi for lo, hi in spec.padding):
        return contiguous(x)
    padded = buffer("zero padded", (x.shape[0], *spec.padded_size, x.shape[-1]), x.dtype)
    interior = tuple(slice(lo, lo + n) for (lo, _), n in zip(spec.padding, x.shape[1:-1]))
    borders = [(slice(None),) * axis + (edge,)
               for axis, ((lo, hi), size) in enumerate(zip(spec.padding, spec.padded_size), 1)
               for edge in (slice(0, lo), slice(size - hi, size))]

    def work(images: slice) -> None:  # a transposing copy when x is a channels-first view
        part = padded[images]
        part[(slice(None), *interior)] = x[images]
        for border in borders:  # a reused buffer holds old values there
            part[border] = 0

    split(work, x.shape[0], x.size)
    return padded
