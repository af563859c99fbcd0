"""``strided.functional`` over dask arrays: PyTorch's arguments, the in-memory results, lazily.

Every function takes the arguments of its namesake in ``strided.functional`` (``padding_mode``
included) with ``input`` a ``dask.array`` and ``weight`` and ``bias`` in memory, and returns a
``dask.array`` whose batch and spatial chunks mirror the input's (spatial ones divided by the
stride); the channel axis is one chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.array as da
import numpy as np

from .. import _core
from .. import functional as _functional
from .._spec import PaddingLike
from ._blocks import as_dask, convolve

__all__ = ["conv1d", "conv2d", "conv3d"]

IntOrTuple = int | Sequence[int]


def _conv(op: str, rank: int, input: object, weight: object, bias: object, stride: object,
          padding: PaddingLike, dilation: object, groups: int, padding_mode: str,
          algorithm: str) -> da.Array:
    x, unbatched = _functional._batched(as_dask(input, "input", op), rank, "input", op)
    w = _core.as_array(weight, "weight", op)
    spec = _functional._spec(op, rank, x.shape, w.shape, stride, padding, dilation, groups,
                             padding_mode)
    y = convolve(x, w, spec, algorithm=algorithm, op=op, bias=bias)  # type: ignore[arg-type]
    return y[0] if unbatched else y


def conv2d(input: da.Array, weight: np.ndarray, bias: np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
           groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
           ) -> da.Array:
    """2-D cross-correlation, as ``strided.functional.conv2d``: (N, C_in, H, W) with weight
    (C_out, C_in / groups, kH, kW) -> (N, C_out, H', W').

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import strided
    >>> image = da.from_array(np.arange(36).reshape(1, 1, 6, 6), chunks=(1, 1, 2, 6))
    >>> weight = np.ones((1, 1, 3, 3), int)
    >>> y = conv2d(image, weight, padding=1, padding_mode="circular")
    >>> y.chunks[2]  # the input's chunks (each block reads a row above and below)
    (2, 2, 2)
    >>> y.compute()[0, 0, 0]
    array([126, 117, 126, 135, 144, 135])
    >>> np.array_equal(y.compute(), strided.functional.conv2d(
    ...     image.compute(), weight, padding=1, padding_mode="circular"))
    True
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm)


def conv1d(input: da.Array, weight: np.ndarray, bias: np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
           groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
           ) -> da.Array:
    """1-D cross-correlation, as ``strided.functional.conv1d``: (N, C_in, L) -> (N, C_out, L')."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm)


def conv3d(input: da.Array, weight: np.ndarray, bias: np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
           groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
           ) -> da.Array:
    """3-D cross-correlation, as ``strided.functional.conv3d``: (N, C_in, D, H, W) ->
    (N, C_out, D', H', W')."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm)
