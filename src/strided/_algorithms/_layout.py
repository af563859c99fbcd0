"""Channels first <-> channels last for the NCHW faces: one compiled, cache-blocked copy.

NumPy's transposing copy of an (N, C, H*W) array reads or writes one element per cache line;
``_kernels.transpose`` moves 32 x 32 blocks that stay in L1, on the library's threads.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from .._runtime._threads import get_num_threads


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> a C-contiguous (N, *S, C) copy."""
    n, c, *sizes = x.shape
    out = np.empty((n, *sizes, c), dtype=x.dtype)
    if out.size == 0:
        return out
    source = np.ascontiguousarray(x).reshape(n, c, -1)
    _kernels.transpose(source, out.reshape(n, -1, c), get_num_threads())
    return out


def channels_first(y: np.ndarray) -> np.ndarray:
    """(N, *S, C) -> a C-contiguous (N, C, *S) copy."""
    n, *sizes, c = y.shape
    out = np.empty((n, c, *sizes), dtype=y.dtype)
    if out.size == 0:
        return out
    source = np.ascontiguousarray(y).reshape(n, -1, c)
    _kernels.transpose(source, out.reshape(n, c, -1), get_num_threads())
    return out
