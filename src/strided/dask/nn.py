"""``strided.nn`` over dask arrays: ``tf.nn``'s arguments, the in-memory results, lazily.

Every function takes the arguments of its namesake in ``strided.nn`` with ``input`` a
``dask.array`` and ``filters`` in memory, and returns a ``dask.array`` whose batch and spatial
chunks mirror the input's (spatial ones divided by the stride); the channel axis is one chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np

from .. import _core
from .. import nn as _nn
from .._spec import PaddingLike
from ._blocks import as_dask, convolve

__all__ = ["conv1d", "conv2d", "conv3d", "convolution", "depthwise_conv2d"]


def _conv(op: str, rank: int, input: object, filters: object, strides: object,
          padding: PaddingLike, data_format: str | None, dilations: object, algorithm: str
          ) -> da.Array:
    x = as_dask(input, "input", op)
    w = _core.as_array(filters, "filters", op)
    spec = _nn._spec(op, rank, x.shape, w.shape, strides, padding, data_format, dilations)
    return convolve(x, w, spec, algorithm=algorithm, op=op)


def conv2d(input: da.Array, filters: np.ndarray, strides: int | Sequence[int],
           padding: PaddingLike, data_format: str = "NHWC",
           dilations: int | Sequence[int] | None = None, name: str | None = None, *,
           algorithm: str = "auto") -> da.Array:
    """2-D cross-correlation, as ``strided.nn.conv2d``: (N, H, W, C_in) -> (N, H', W', C_out).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> image = da.ones((1, 1000, 1000, 1), chunks=(1, 250, 250, 1))
    >>> y = conv2d(image, np.ones((3, 3, 1, 1)), strides=2, padding="SAME")
    >>> y.chunks[1][:3], float(y[0, 1:3, 1:3, 0].sum().compute())
    ((125, 125, 125), 36.0)
    """
    return _conv("conv2d", 2, input, filters, strides, padding, data_format, dilations,
                 algorithm)


def conv1d(input: da.Array, filters: np.ndarray, stride: int | Sequence[int],
           padding: PaddingLike, data_format: str = "NWC",
           dilations: int | Sequence[int] | None = None, name: str | None = None, *,
           algorithm: str = "auto") -> da.Array:
    """1-D cross-correlation, as ``strided.nn.conv1d``: (N, W, C_in) -> (N, W', C_out)."""
    return _conv("conv1d", 1, input, filters, stride, padding, data_format, dilations,
                 algorithm)


def conv3d(input: da.Array, filters: np.ndarray, strides: int | Sequence[int],
           padding: PaddingLike, data_format: str = "NDHWC",
           dilations: int | Sequence[int] | None = None, name: str | None = None, *,
           algorithm: str = "auto") -> da.Array:
    """3-D cross-correlation, as ``strided.nn.conv3d``: (N, D, H, W, C_in) -> (N, D', H', W',
    C_out)."""
    return _conv("conv3d", 3, input, filters, strides, padding, data_format, dilations,
                 algorithm)


def convolution(input: da.Array, filters: np.ndarray,
                strides: int | Sequence[int] | None = None, padding: PaddingLike = "VALID",
                data_format: str | None = None, dilations: int | Sequence[int] | None = None,
                name: str | None = None, *, algorithm: str = "auto") -> da.Array:
    """N-d cross-correlation, as ``strided.nn.convolution``: the rank is ``filters.ndim - 2``."""
    w = _core.as_array(filters, "filters", "convolution")
    if w.ndim not in (3, 4, 5):
        raise ValueError(f"convolution: filters must be 3-D, 4-D or 5-D (*K, C_in, C_out); "
                         f"got filters.shape={w.shape}")
    return _conv("convolution", w.ndim - 2, input, w, strides, padding, data_format,
                 dilations, algorithm)


def depthwise_conv2d(input: da.Array, filter: np.ndarray, strides: int | Sequence[int],
                     padding: PaddingLike, data_format: str | None = None,
                     dilations: int | Sequence[int] | None = None, name: str | None = None,
                     *, algorithm: str = "auto") -> da.Array:
    """Depthwise 2-D cross-correlation, as ``strided.nn.depthwise_conv2d``: (N, H, W, C) with
    filter (kH, kW, C, M) -> (N, H', W', C * M)."""
    op = "depthwise_conv2d"
    x = as_dask(input, "input", op)
    grouped, spec = _nn._depthwise_spec(op, x.shape, _core.as_array(filter, "filter", op),
                                        strides, padding, data_format, dilations)
    return convolve(x, grouped, spec, algorithm=algorithm, op=op)
