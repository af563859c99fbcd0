"""Keras' pooling layers: max and average over windows, and global average / max.

For float32 and float64 the compiled kernels (``_compiled``) do it in one pass, max pooling
keeping each window's winning input for its backward; otherwise a window pooling is computed
one pool tap at a time over strided views, so the work is
``prod(pool_size)`` vectorised passes over the output and no window copy is made::

    x (N, *S, C) -> padded (N, *P, C) -> y (N, *OS, C)
    OS = floor((P - pool) / stride) + 1,  P = S (valid) or TF's SAME padding of S

Max pooling's backward sends each gradient to the tap that won (the first of equal maxima,
as TensorFlow), found by comparing each tap with the maximum; average pooling's backward
spreads each gradient evenly over the window's real (unpadded) inputs, as TensorFlow's SAME
does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._spec import normalize_tuple, pooling_geometry
from . import _compiled
from ._base import Layer, Shape, check_data_format


class BasePooling(Layer):
    """Max or average pooling over ``rank`` spatial dimensions; see ``MaxPooling2D``."""

    rank: int = 2
    mode: str = "max"

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        kind = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", kind, single=False)
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, self.rank, "strides", kind, single=False)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{kind}: padding must be 'valid' or 'same'. Received: "
                             f"padding={padding!r}")
        self.padding = padding.lower()
        self.data_format = check_data_format(data_format, kind)
        self._cache: tuple | None = None

    def _geometry(self, size: Sequence[int]) -> tuple[tuple[tuple[int, int], ...],
                                                        tuple[int, ...]]:
        """Per-side padding and output size for spatial ``size`` (kept per size: a training
        step asks for the same every time)."""
        key = (tuple(size), self.pool_size, self.strides, self.padding)
        cache = self.__dict__.setdefault("_geometries", {})
        if key not in cache:
            cache[key] = pooling_geometry(size, self.pool_size, self.strides, self.padding,
                                          type(self).__name__)
        return cache[key]

    def _tap(self, tap: tuple[int, ...], out: Sequence[int]) -> tuple[slice, ...]:
        """The strided view of the padded input that pool tap ``tap`` reads."""
        return (slice(None), *(slice(t, t + s * (o - 1) + 1, s) for t, s, o in
                               zip(tap, self.strides, out)), slice(None))

    def input_ndim(self) -> int:
        return self.rank + 2

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        kind = type(self).__name__
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{kind}: expects inputs of rank {self.rank + 2}. Received: "
                             f"inputs.shape={inputs.shape}")
        x = inputs if self.data_format == "channels_last" else np.moveaxis(inputs, 1, -1)
        pads, out = self._geometry(x.shape[1:-1])
        if _compiled.usable(x):
            # the compiled kernels: one pass, the winners' indices kept for the backward
            args = (self.pool_size, self.strides, pads)
            if self.mode == "max":
                y, index = _compiled.max_pool(x, out, *args)
            else:
                y, index = _compiled.average_pool(x, out, *args), None
            self._cache = (x.shape, pads, out, ("compiled", index)) if training else None
            return y if self.data_format == "channels_last" else np.moveaxis(y, -1, 1)
        padded = any(lo or hi for lo, hi in pads)
        fill = -np.inf if self.mode == "max" else 0
        xp = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill) if padded else x
        taps = list(np.ndindex(*self.pool_size))
        if self.mode == "max":
            y = xp[self._tap(taps[0], out)].copy()
            for tap in taps[1:]:
                np.maximum(y, xp[self._tap(tap, out)], out=y)
            self._cache = (x.shape, pads, out, (xp, y)) if training else None
        else:
            y = np.zeros((x.shape[0], *out, x.shape[-1]), x.dtype)
            for tap in taps:
                y += xp[self._tap(tap, out)]
            count = self._count(x.shape[1:-1], pads, out, x.dtype)
            y /= count
            self._cache = (x.shape, pads, out, count) if training else None
        return y if self.data_format == "channels_last" else np.moveaxis(y, -1, 1)

    def _count(self, size: Sequence[int], pads: Sequence[tuple[int, int]], out: Sequence[int],
               dtype: np.dtype) -> np.ndarray | float:
        """How many real inputs each window holds: ``prod(pool_size)`` without padding."""
        if not any(lo or hi for lo, hi in pads):
            return float(math.prod(self.pool_size))
        ones = np.pad(np.ones((1, *size, 1), dtype), [(0, 0), *pads, (0, 0)])
        count = np.zeros((1, *out, 1), dtype)
        for tap in np.ndindex(*self.pool_size):
            count += ones[self._tap(tap, out)]
        return count

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, pads, out, extra = self._cached(self._cache)
        g = grad_output if self.data_format == "channels_last" else np.moveaxis(
            grad_output, 1, -1)
        if isinstance(extra, tuple) and isinstance(extra[0], str):  # ("compiled", index)
            args = (self.pool_size, self.strides, pads)
            index = extra[1]
            if index is not None:
                dx = _compiled.max_pool_backward(g.astype(self.dtype, copy=False), index,
                                                 shape, *args)
            else:
                dx = _compiled.average_pool_backward(g.astype(self.dtype, copy=False),
                                                     shape, *args)
            return dx if self.data_format == "channels_last" else np.moveaxis(dx, -1, 1)
        padded_shape = (shape[0], *(n + lo + hi for n, (lo, hi) in zip(shape[1:-1], pads)),
                        shape[-1])
        dxp = np.zeros(padded_shape, g.dtype)
        if self.mode == "max":
            # the first tap (in row-major order) holding the maximum takes the gradient
            xp, y = extra
            overlap = any(k > s for k, s in zip(self.pool_size, self.strides))
            taken = np.zeros(y.shape, bool)
            for tap in np.ndindex(*self.pool_size):
                where = self._tap(tap, out)
                hit = xp[where] == y
                hit &= ~taken
                taken |= hit
                if overlap:
                    dxp[where] += g * hit
                else:  # each input is in one window at most: write, don't add
                    np.multiply(g, hit, out=dxp[where])
        else:
            share = g / extra
            for tap in np.ndindex(*self.pool_size):
                dxp[self._tap(tap, out)] += share
        crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, shape[1:-1]))
        dx = dxp[(slice(None), *crop)]
        return dx if self.data_format == "channels_last" else np.moveaxis(dx, -1, 1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_last":
            batch, *size, channels = input_shape
        else:
            batch, channels, *size = input_shape
        _, out = self._geometry(size)  # type: ignore[arg-type]
        if self.data_format == "channels_last":
            return (batch, *out, channels)
        return (batch, channels, *out)


class MaxPooling1D(BasePooling):
    """Max pooling over steps, as ``keras.layers.MaxPooling1D``: (N, steps, C)."""

    rank, mode = 1, "max"


class MaxPooling2D(BasePooling):
    """Max pooling, as ``keras.layers.MaxPooling2D``.

    Parameters
    ----------
    pool_size : int or (int, int)
        Window size; default 2.
    strides : int or (int, int), optional
        Step between windows; default ``pool_size``.
    padding : {"valid", "same"}
        "same" pads as TensorFlow (output ``ceil(size / stride)``); padding never wins a max.
    data_format : {"channels_last", "channels_first"}, optional

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> MaxPooling2D()(x)[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """

    rank, mode = 2, "max"


class MaxPooling3D(BasePooling):
    """Max pooling over volumes, as ``keras.layers.MaxPooling3D``: (N, D, H, W, C)."""

    rank, mode = 3, "max"


class AveragePooling1D(BasePooling):
    """Average pooling over steps, as ``keras.layers.AveragePooling1D``."""

    rank, mode = 1, "average"


class AveragePooling2D(BasePooling):
    """Average pooling, as ``keras.layers.AveragePooling2D``; arguments as ``MaxPooling2D``.

    With ``padding="same"`` each window averages only its real inputs, as TensorFlow does.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> AveragePooling2D()(x)[0, :, :, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """

    rank, mode = 2, "average"


class AveragePooling3D(BasePooling):
    """Average pooling over volumes, as ``keras.layers.AveragePooling3D``."""

    rank, mode = 3, "average"


class BaseGlobalPooling(Layer):
    """Mean or max over every spatial axis; see ``GlobalAveragePooling2D``."""

    rank: int = 2
    mode: str = "average"

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.data_format = check_data_format(data_format, type(self).__name__)
        self.keepdims = keepdims
        self._cache: tuple | None = None

    def _axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{type(self).__name__}: expects inputs of rank {self.rank + 2}. "
                             f"Received: inputs.shape={inputs.shape}")
        axes = self._axes()
        if self.mode == "average":
            y = inputs.mean(axis=axes, keepdims=True)
            self._cache = (inputs.shape, None) if training else None
        else:
            y = inputs.max(axis=axes, keepdims=True)
            self._cache = (inputs.shape, inputs == y) if training else None
        return y if self.keepdims else y.reshape(y.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, winners = self._cached(self._cache)
        axes = self._axes()
        kept = [1 if a in axes else n for a, n in enumerate(shape)]
        g = grad_output.reshape(kept)
        if winners is None:
            size = math.prod(shape[a] for a in axes)
            return np.broadcast_to(g / size, shape).copy()
        # ties share the gradient evenly, as the derivative of max is ambiguous there
        share = winners / winners.sum(axis=axes, keepdims=True)
        return (g * share).astype(grad_output.dtype, copy=False)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if a in axes else n for a, n in enumerate(input_shape))
        return tuple(n for a, n in enumerate(input_shape) if a not in axes)


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over steps, as ``keras.layers.GlobalAveragePooling1D``: (N, steps, C) -> (N, C)."""

    rank, mode = 1, "average"


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over height and width, as ``keras.layers.GlobalAveragePooling2D``.

    (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims=True``.

    >>> import numpy as np
    >>> GlobalAveragePooling2D()(np.ones((2, 7, 7, 64))).shape
    (2, 64)
    """

    rank, mode = 2, "average"


class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over volumes, as ``keras.layers.GlobalAveragePooling3D``."""

    rank, mode = 3, "average"


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Max over steps, as ``keras.layers.GlobalMaxPooling1D``."""

    rank, mode = 1, "max"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Max over height and width, as ``keras.layers.GlobalMaxPooling2D``."""

    rank, mode = 2, "max"


class GlobalMaxPooling3D(BaseGlobalPooling):
    """Max over volumes, as ``keras.layers.GlobalMaxPooling3D``."""

    rank, mode = 3, "max"
