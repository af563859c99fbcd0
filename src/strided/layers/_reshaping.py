"""Keras' reshaping layers: ``Flatten``, ``Reshape``, ``Permute``, ``ZeroPadding1D/2D/3D``,
``Cropping1D/2D/3D`` and ``UpSampling1D/2D/3D`` (nearest); each backward is the adjoint
(reshape back, transpose back, crop, zero-fill, sum over each repeated block, or the
transposed interpolation matrix for bilinear upsampling).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._spec import normalize_tuple
from ._base import Layer, Shape


class Flatten(Layer):
    """Flattens all but the batch axis, as ``keras.layers.Flatten``.

    With ``data_format="channels_first"`` the channels are moved last first, so that the order
    of the features is the same for both layouts, as Keras does.

    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 7, 7, 32))).shape
    (2, 1568)
    """

    call_state = ("_shape",)

    def __init__(self, data_format: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be 'channels_last' or 'channels_first'."
                             f" Received: data_format={data_format!r}")
        self.data_format = data_format
        self._shape: tuple[int, ...] | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape = self._cached(self._shape)
        dx = grad_output.reshape(shape)
        if self.data_format == "channels_first" and dx.ndim > 2:
            dx = np.moveaxis(dx, -1, 1)
        return dx

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))  # type: ignore[arg-type]


def _spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def _pairs(value: object, rank: int, name: str, kind: str) -> tuple[tuple[int, int], ...]:
    """Keras' int, ``rank`` ints (symmetric) or ``rank`` (before, after) pairs."""
    rule = (f"{name} must be a non-negative int, {rank} non-negative ints or {rank} "
            f"(before, after) pairs of non-negative ints")
    if rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        value = (tuple(value),)  # 1-D: (before, after)
    if isinstance(value, int) and not isinstance(value, bool):
        pairs = ((value, value),) * rank
    elif isinstance(value, (list, tuple)) and len(value) == rank:
        pairs = tuple((v, v) if isinstance(v, int) else tuple(v) for v in value)
    else:
        raise ValueError(f"{kind}: {rule}. Received: {name}={value!r}")
    if any(len(p) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 0
                              for v in p) for p in pairs):
        raise ValueError(f"{kind}: {rule}. Received: {name}={value!r}")
    return pairs


class _Spatial(Layer):
    """A layer over ``rank`` spatial axes of (N, *S, C) or (N, C, *S) data."""

    rank: int = 2

    def __init__(self, data_format: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format
        self._cache: tuple[int, ...] | None = None

    def _axes(self, ndim: int) -> tuple[int, ...]:
        kind = type(self).__name__
        if ndim != self.rank + 2:
            raise ValueError(f"{kind}: expects inputs of rank {self.rank + 2}. Received: "
                             f"an input of rank {ndim}")
        return _spatial_axes(self.rank, self.data_format)


class _ZeroPadding(_Spatial):
    """Zeros around the spatial axes, as Keras' ``ZeroPadding1D/2D/3D``."""

    def __init__(self, padding: object = 1, data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding", type(self).__name__)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        axes = self._axes(inputs.ndim)
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(axes, self.padding):
            widths[axis] = pair
        self._cache = inputs.shape if training else None
        return np.pad(inputs, widths)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape = self._cached(self._cache)
        index = [slice(None)] * grad_output.ndim
        for axis, (lo, _), n in zip(self._axes(grad_output.ndim), self.padding,
                                    (shape[a] for a in self._axes(len(shape)))):
            index[axis] = slice(lo, lo + n)
        return grad_output[tuple(index)]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        for axis, (lo, hi) in zip(self._axes(len(input_shape)), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + lo + hi  # type: ignore
        return tuple(out)


class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after the steps, as ``keras.layers.ZeroPadding1D``: padding ``p`` or
    ``(before, after)``."""

    rank = 1

    def __init__(self, padding: object = 1, **kwargs: object) -> None:
        super().__init__(padding, None, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Zero rows and columns, as ``keras.layers.ZeroPadding2D``: padding ``p``, ``(ph, pw)`` or
    ``((top, bottom), (left, right))``.

    >>> import numpy as np
    >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 3, 3, 1))).shape
    (1, 4, 7, 1)
    """

    rank = 2


class ZeroPadding3D(_ZeroPadding):
    """Zeros around volumes, as ``keras.layers.ZeroPadding3D``."""

    rank = 3


class _Cropping(_Spatial):
    """Rows removed at the ends of the spatial axes, as Keras' ``Cropping1D/2D/3D``."""

    def __init__(self, cropping: object, data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", type(self).__name__)

    def _index(self, shape: Sequence[int | None]) -> tuple[slice, ...]:
        index = [slice(None)] * len(shape)
        for axis, (lo, hi) in zip(self._axes(len(shape)), self.cropping):
            n = shape[axis]
            if n is not None and lo + hi >= n:
                raise ValueError(f"{type(self).__name__}: cropping {(lo, hi)} leaves nothing "
                                 f"of an axis of size {n}. Received: input_shape="
                                 f"{tuple(shape)}, cropping={self.cropping}")
            index[axis] = slice(lo, None if n is None else n - hi)
        return tuple(index)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        self._cache = inputs.shape if training else None
        return inputs[self._index(inputs.shape)]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape = self._cached(self._cache)
        dx = np.zeros(shape, grad_output.dtype)
        dx[self._index(shape)] = grad_output
        return dx

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._index(input_shape)
        out = list(input_shape)
        for axis, (lo, hi) in zip(self._axes(len(input_shape)), self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - lo - hi  # type: ignore
        return tuple(out)


class Cropping1D(_Cropping):
    """Steps removed at both ends, as ``keras.layers.Cropping1D``: ``(before, after)``."""

    rank = 1

    def __init__(self, cropping: object = (1, 1), **kwargs: object) -> None:
        super().__init__(cropping, None, **kwargs)


class Cropping2D(_Cropping):
    """Rows and columns removed, as ``keras.layers.Cropping2D``."""

    rank = 2

    def __init__(self, cropping: object = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Volumes cropped, as ``keras.layers.Cropping3D``."""

    rank = 3

    def __init__(self, cropping: object = ((1, 1), (1, 1), (1, 1)),
                 data_format: str | None = None, **kwargs: object) -> None:
        super().__init__(cropping, data_format, **kwargs)


def _linear_weights(n: int, k: int) -> np.ndarray:
    """The (n * k, n) matrix of linear interpolation with half-pixel centres, as Keras'
    bilinear resize: output ``i`` reads ``(i + 0.5) / k - 0.5``, clamped to the edges."""
    src = np.clip((np.arange(n * k) + 0.5) / k - 0.5, 0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    weights = np.zeros((n * k, n))
    np.add.at(weights, (np.arange(n * k), lo), 1 - (src - lo))
    np.add.at(weights, (np.arange(n * k), hi), src - lo)
    return weights


def _along(matrix: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` applied along ``axis`` of ``x``."""
    y = np.tensordot(matrix.astype(x.dtype, copy=False), np.moveaxis(x, axis, 0), axes=1)
    return np.moveaxis(y, 0, axis)


class _UpSampling(_Spatial):
    """Each row repeated ``size`` times along each spatial axis (nearest neighbour)."""

    def __init__(self, size: object = 2, data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, self.rank, "size", type(self).__name__)

    interpolation = "nearest"

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        y = inputs
        for axis, k in zip(self._axes(inputs.ndim), self.size):
            if self.interpolation == "bilinear":
                y = _along(_linear_weights(y.shape[axis], k), y, axis)
            else:
                y = np.repeat(y, k, axis=axis)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = grad_output
        for axis, k in zip(self._axes(g.ndim), self.size):
            if self.interpolation == "bilinear":
                g = _along(_linear_weights(g.shape[axis] // k, k).T, g, axis)
                continue
            shape = list(g.shape)
            shape[axis:axis + 1] = [shape[axis] // k, k]
            g = g.reshape(shape).sum(axis=axis + 1)
        return g

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        for axis, k in zip(self._axes(len(input_shape)), self.size):
            out[axis] = None if out[axis] is None else out[axis] * k  # type: ignore
        return tuple(out)


class UpSampling1D(_UpSampling):
    """Each step repeated ``size`` times, as ``keras.layers.UpSampling1D``."""

    rank = 1
    call_state = ()

    def __init__(self, size: int = 2, **kwargs: object) -> None:
        super().__init__(size, None, **kwargs)


class UpSampling2D(_UpSampling):
    """Upsampling by whole factors, as ``keras.layers.UpSampling2D``: ``interpolation``
    "nearest" (rows and columns repeated) or "bilinear" (half-pixel centres, as Keras).

    >>> import numpy as np
    >>> UpSampling2D()(np.arange(4.0).reshape(1, 2, 2, 1))[0, :, :, 0].tolist()[0]
    [0.0, 0.0, 1.0, 1.0]
    """

    rank = 2
    call_state = ()

    def __init__(self, size: object = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: object) -> None:
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"UpSampling2D: only interpolation 'nearest' and "
                                      f"'bilinear' are implemented. Received: "
                                      f"interpolation={interpolation!r}")
        super().__init__(size, data_format, **kwargs)
        self.interpolation = interpolation


class UpSampling3D(_UpSampling):
    """Nearest-neighbour upsampling of volumes, as ``keras.layers.UpSampling3D``."""

    rank = 3
    call_state = ()

    def __init__(self, size: object = (2, 2, 2), data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(size, data_format, **kwargs)


class Reshape(Layer):
    """Reshapes all but the batch axis to ``target_shape`` (one entry may be -1), as
    ``keras.layers.Reshape``."""

    call_state = ("_cache",)

    def __init__(self, target_shape: Sequence[int], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        target = tuple(target_shape)
        if any(isinstance(d, bool) or not isinstance(d, int) or (d < 1 and d != -1)
               for d in target) or target.count(-1) > 1:
            raise ValueError(f"Reshape: target_shape must hold positive ints and at most one "
                             f"-1. Received: target_shape={target_shape!r}")
        self.target_shape = target
        self._cache: tuple[int, ...] | None = None

    def _resolve(self, input_shape: Shape) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        if None in rest:
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = math.prod(rest)  # type: ignore[arg-type]
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and total % known) or (
                -1 not in self.target_shape and known != total):
            raise ValueError(f"Reshape: total size of the new array must be unchanged. "
                             f"Received: input_shape={tuple(input_shape)}, target_shape="
                             f"{self.target_shape}")
        return tuple(total // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        shape = self._resolve(inputs.shape)
        self._cache = inputs.shape if training else None
        return inputs.reshape(inputs.shape[0], *shape)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape(self._cached(self._cache))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *self._resolve(input_shape))


class Permute(Layer):
    """Permutes the non-batch axes, as ``keras.layers.Permute``: ``dims`` counts from 1.

    >>> import numpy as np
    >>> Permute((2, 1))(np.zeros((4, 10, 64))).shape
    (4, 64, 10)
    """

    call_state = ()

    def __init__(self, dims: Sequence[int], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute: invalid permutation argument `dims`: it should be a "
                             f"permutation of 1 .. {len(dims)}. Received: dims={dims!r}")
        self.dims = dims

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(f"Permute: expects inputs of rank {len(self.dims) + 1}. Received: "
                             f"inputs.shape={inputs.shape}")
        return np.transpose(inputs, (0, *self.dims))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return np.transpose(grad_output, np.argsort((0, *self.dims)))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *(input_shape[d] for d in self.dims))
