"""Channels first <-> channels last for the NCHW faces: one compiled, cache-blocked copy.

NumPy's transposing copy of an (N, C, H*W) array reads or writes one element per cache line;
``_kernels.transpose`` moves register-blocked 8 x 8 (float32) or 4 x 4 (float64) blocks of
tiles that stay in L1, on the library's threads.  Where the other layout is already a
C-contiguous view (one channel, one pixel, or data whose memory is in that order), it is
returned as it is, with no copy.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from .._runtime._threads import get_num_threads


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> a C-contiguous (N, *S, C) array (a view when one exists)."""
    moved = np.moveaxis(x, 1, -1)
    if moved.flags.c_contiguous:
        return moved
    n, c, *sizes = x.shape
    out = np.empty((n, *sizes, c), dtype=x.dtype)
    source = np.ascontiguousarray(x).reshape(n, c, -1)
    _kernels.transpose(source, out.reshape(n, -1, c), get_num_threads())
    return out


def channels_first(y: np.ndarray) -> np.ndarray:
    """(N, *S, C) -> a C-contiguous (N, C, *S) array (a view when one exists)."""
    moved = np.moveaxis(y, -1, 1)
    if moved.flags.c_contiguous:
        return moved
    n, *sizes, c = y.shape
    out = np.empty((n, c, *sizes), dtype=y.dtype)
    source = np.ascontiguousarray(y).reshape(n, -1, c)
    _kernels.transpose(source, out.reshape(n, c, -1), get_num_threads())
    return out
