"""``strided.signal`` over dask arrays: scipy's arguments, the in-memory results, lazily.

``in1`` is a ``dask.array`` image of any rank, ``in2`` the kernel in memory; the result is a
``dask.array`` whose chunks mirror ``in1``'s.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from .. import _core
from .. import signal as _signal
from ._blocks import as_dask
from ._blocks import convolve as _convolve

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d"]


def _correlate(op: str, in1: object, in2: object, mode: str, boundary: str, fillvalue: float,
               flip: bool, same_from_ceil: bool = False) -> da.Array:
    image = as_dask(in1, "in1", op)
    w, spec = _signal._signal_spec(op, image.shape, _core.as_array(in2, "in2", op), mode,
                                   boundary, flip, same_from_ceil)
    x = image[np.newaxis, ..., np.newaxis]
    if boundary == "fill" and fillvalue != 0:
        # Padding with c is padding (image - c) with zeros, plus c under every tap.
        y = _convolve(x - fillvalue, w, spec, op=op) + fillvalue * w.sum()
    else:
        y = _convolve(x, w, spec, op=op)
    return y[0, ..., 0]


def convolve(in1: da.Array, in2: np.ndarray, mode: str = "full") -> da.Array:
    """N-d convolution with the kernel flipped, as ``strided.signal.convolve``.

    Examples
    --------
    >>> import dask.array as da
    >>> convolve(da.arange(1, 4, chunks=1), [0, 1, 0.5]).compute()
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _correlate("convolve", in1, in2, mode, "fill", 0, flip=True)


def correlate(in1: da.Array, in2: np.ndarray, mode: str = "full") -> da.Array:
    """N-d cross-correlation, as ``strided.signal.correlate``."""
    return _correlate("correlate", in1, in2, mode, "fill", 0, flip=False)


def convolve2d(in1: da.Array, in2: np.ndarray, mode: str = "full", boundary: str = "fill",
               fillvalue: float = 0) -> da.Array:
    """2-D convolution with the kernel flipped, as ``strided.signal.convolve2d``."""
    _signal._check_2d("convolve2d", in1, in2)
    return _correlate("convolve2d", in1, in2, mode, boundary, fillvalue, flip=True)


def correlate2d(in1: da.Array, in2: np.ndarray, mode: str = "full", boundary: str = "fill",
                fillvalue: float = 0) -> da.Array:
    """2-D cross-correlation, as ``strided.signal.correlate2d``."""
    _signal._check_2d("correlate2d", in1, in2)
    return _correlate("correlate2d", in1, in2, mode, boundary, fillvalue, flip=False,
                      same_from_ceil=True)
