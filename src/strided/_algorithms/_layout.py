"""The faces' layouts <-> the canonical ones: compiled, cache-blocked transposing copies.

NumPy's transposing copy of an (N, C, H*W) array reads or writes one element per cache line;
``_kernels.transpose`` moves register-blocked 8 x 8 (float32) or 4 x 4 (float64) blocks of
tiles that stay in L1, on the library's threads (any other item size by plain tiles).

* data: channels first (N, C, *S) <-> channels last (N, *S, C), one (N, C, S) <-> (N, S, C)
  transpose.  Where the other layout is already a C-contiguous view (one channel, one pixel,
  or data whose memory is in that order), it is returned as it is, with no copy.
* weights: PyTorch's (O, C/g, *K) <-> the canonical (*K, C/g, O), with ``kk = prod(K)``
  and ``cg = C/g``, two transposes each way::

      hwio   (O, cg, kk) -> (O, kk, cg) = (1, O, kk * cg) -> (1, kk * cg, O)
      oihw   (1, kk * cg, O) -> (1, O, kk * cg) = (O, kk, cg) -> (O, cg, kk)

  (a transpose with a side of 1 is a reshape: a 1x1 or a depthwise kernel takes one, and
  one that needs none is a view).  Always C-contiguous, so that no algorithm sees the
  caller's memory order.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _kernels
from .._runtime._threads import get_num_threads
from .._runtime._workspace import buffer, get_workspace_limit

#: Layout copies up to this size (and the workspace limit) are kept per thread between calls
#: (``layout_buffer``): a fresh one is mapped from the OS page by page, and glibc hands such
#: arrays back to the OS as soon as a call frees two or more of them, so each call of the
#: channels-first faces paid it (ResNet 3x3 a's forward: 1,500 page faults a call, 34 ms
#: against 21 with the buffers kept).
LAYOUT_BYTES = 32 << 20


def layout_buffer(key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The calling thread's reused buffer ``key`` for a layout copy within one call."""
    return buffer(key, shape, dtype, keep_up_to=min(LAYOUT_BYTES, get_workspace_limit()))


def _swapped(a: np.ndarray, key: str | None = None) -> np.ndarray:
    """A C-contiguous (N, P, Q) array as a C-contiguous (N, Q, P) one: a reshape when P or Q
    is 1 (the same memory order), else one compiled transpose (into the reused buffer
    ``key`` if given)."""
    n, p, q = a.shape
    if p == 1 or q == 1 or a.size == 0:
        return a.reshape(n, q, p)
    out = (np.empty((n, q, p), dtype=a.dtype) if key is None
           else layout_buffer(key, (n, q, p), a.dtype))
    _kernels.transpose(a, out, get_num_threads())
    return out


def last_view(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) as an (N, *S, C) view (``np.moveaxis(x, 1, -1)`` at a twentieth of its
    cost, which small calls pay)."""
    return x.transpose(0, *range(2, x.ndim), 1)


def first_view(y: np.ndarray) -> np.ndarray:
    """(N, *S, C) as an (N, C, *S) view."""
    return y.transpose(0, y.ndim - 1, *range(1, y.ndim - 1))


def channels_last(x: np.ndarray, key: str | None = None) -> np.ndarray:
    """(N, C, *S) -> a C-contiguous (N, *S, C) array (a view when one exists); a copy is made
    in the calling thread's reused buffer ``key`` if given: the scratch of one call, which
    no result may keep."""
    moved = last_view(x)
    if moved.flags.c_contiguous:
        return moved
    n, c, *sizes = x.shape
    return _swapped(np.ascontiguousarray(x).reshape(n, c, -1), key).reshape(n, *sizes, c)


def channels_first(y: np.ndarray) -> np.ndarray:
    """(N, *S, C) -> a C-contiguous (N, C, *S) array (a view when one exists)."""
    moved = first_view(y)
    if moved.flags.c_contiguous:
        return moved
    n, *sizes, c = y.shape
    return _swapped(np.ascontiguousarray(y).reshape(n, -1, c)).reshape(n, c, *sizes)


def hwio(w: np.ndarray) -> np.ndarray:
    """PyTorch's (O, C/g, *K) weight, any strides -> a C-contiguous (*K, C/g, O) array."""
    o, cg, *kernel = w.shape
    kk = math.prod(kernel)
    # (O, cg, kk) -> (O, kk, cg) = (1, O, kk * cg) -> (kk * cg, O)
    by_tap = _swapped(np.ascontiguousarray(w).reshape(o, cg, kk))
    out = _swapped(by_tap.reshape(1, o, kk * cg))
    return out.reshape(*kernel, cg, o)


def oihw(w: np.ndarray) -> np.ndarray:
    """A (*K, C/g, O) weight, any strides -> a C-contiguous (O, C/g, *K) array."""
    *kernel, cg, o = w.shape
    kk = math.prod(kernel)
    # (kk * cg, O) -> (O, kk * cg) = (O, kk, cg) -> (O, cg, kk)
    by_output = _swapped(np.ascontiguousarray(w).reshape(1, kk * cg, o))
    return _swapped(by_output.reshape(o, kk, cg)).reshape(o, cg, *kernel)


def rotated(w: np.ndarray) -> np.ndarray:
    """A C-contiguous (*K, C, O) kernel -> a C-contiguous (*K, O, C) one rotated by 180
    degrees (``w[::-1, ::-1]`` with its channel axes swapped: the input gradient's forward
    kernel), one compiled transpose per tap (NumPy's swap of each tap's (C, O) block reads
    one element per cache line: 7.1 ms for 3x3x512x512 float32 against about 2.5)."""
    *kernel, c, o = w.shape
    kk = math.prod(kernel)
    taps = w.reshape(kk, c, o)[::-1]
    out = np.empty((kk, o, c), dtype=w.dtype)
    if c == 1 or o == 1 or w.size == 0:
        np.copyto(out, taps.reshape(kk, o, c))
    else:
        for t in range(kk):
            _kernels.transpose(taps[t:t + 1], out[t:t + 1], get_num_threads())
    return out.reshape(*kernel, o, c)
