"""The compiled kernels of the layers beside convolution (``csrc/layers.inc``), for
float32 and float64 channels-last arrays; the layers keep their NumPy code for other dtypes.

Each function takes and returns NumPy arrays; per-channel vectors are float64.  Shapes
(``rows`` every axis but the last, ``C`` the last)::

    max_pool(x, ...)             (N, *S, C) -> y (N, *OS, C), index int32 (N, *OS, C)
    max_pool_backward(dy, ...)   dx[n, index[n, o, c], c] += dy[n, o, c]
    average_pool[_backward]      each window's mean over its real inputs, and its adjoint
    moments(x)                   (rows, C) -> mean, var (biased), float64 (C,)
    scale_shift(x, s, b, relu)   y = x * s + b, then max(0, y) if relu
    relu_backward(y, dy, bias)   dz = dy * (y > 0) (y None: dz = dy); d bias = sum_rows dz
    batch_norm_backward(...)     BatchNormalization's (docstring there), the ReLU folded in
    adam(w, g, m, v, ...)        Keras' Adam step, in place
    affine_sample(x, maps, ...)  y[n, i, j] = x[n, maps[n] @ (i, j, 1)], as the augmentations
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _kernels
from .._algorithms._direct import _geometry
from .._runtime._threads import get_num_threads

#: the dtypes the kernels compute
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def usable(*arrays: np.ndarray) -> bool:
    """Whether the kernels compute these arrays: all float32 or all float64."""
    dtype = arrays[0].dtype
    if dtype not in FLOATS:
        return False
    for a in arrays[1:]:  # a loop, not all(...): a few calls per layer and step
        if a.dtype != dtype:
            return False
    return True


#: pooling geometries by their arguments and thread count (a layer asks for the same few
#: every step; building one costs as much as pooling a small batch)
_POOL_GEOMETRIES: dict[tuple, np.ndarray] = {}


def _pool_geometry(x_shape: Sequence[int], out: Sequence[int], pool: Sequence[int],
                   strides: Sequence[int], pads: Sequence[tuple[int, int]]) -> np.ndarray:
    key = (tuple(x_shape), tuple(out), tuple(pool), tuple(strides), tuple(pads),
           get_num_threads())
    geometry = _POOL_GEOMETRIES.get(key)
    if geometry is None:
        channels = x_shape[-1]
        geometry = _geometry(x_shape[0], 1, channels, channels, x_shape[1:-1], out, pool,
                             strides, (1,) * len(pool), [lo for lo, _ in pads])
        geometry.flags.writeable = False
        if len(_POOL_GEOMETRIES) >= 256:  # a bound, for many shapes (e.g. varying batches)
            _POOL_GEOMETRIES.clear()
        _POOL_GEOMETRIES[key] = geometry
    return geometry


def max_pool(x: np.ndarray, out: Sequence[int], pool: Sequence[int], strides: Sequence[int],
             pads: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window of channels-last ``x``, and the winning input pixel."""
    x = np.ascontiguousarray(x)
    shape = (x.shape[0], *out, x.shape[-1])
    y = np.empty(shape, x.dtype)
    index = np.empty(shape, np.int32)
    _kernels.max_pool(x, y, index, _pool_geometry(x.shape, out, pool, strides, pads))
    return y, index


def max_pool_backward(dy: np.ndarray, index: np.ndarray, x_shape: Sequence[int],
                      pool: Sequence[int], strides: Sequence[int],
                      pads: Sequence[tuple[int, int]]) -> np.ndarray:
    dy = np.ascontiguousarray(dy)
    dx = np.empty(tuple(x_shape), dy.dtype)
    _kernels.max_pool_backward(dy, index, dx,
                               _pool_geometry(x_shape, dy.shape[1:-1], pool, strides, pads))
    return dx


def average_pool(x: np.ndarray, out: Sequence[int], pool: Sequence[int],
                 strides: Sequence[int], pads: Sequence[tuple[int, int]]) -> np.ndarray:
    x = np.ascontiguousarray(x)
    y = np.empty((x.shape[0], *out, x.shape[-1]), x.dtype)
    _kernels.average_pool(x, y, _pool_geometry(x.shape, out, pool, strides, pads))
    return y


def average_pool_backward(dy: np.ndarray, x_shape: Sequence[int], pool: Sequence[int],
                          strides: Sequence[int], pads: Sequence[tuple[int, int]]
                          ) -> np.ndarray:
    dy = np.ascontiguousarray(dy)
    dx = np.empty(tuple(x_shape), dy.dtype)
    _kernels.average_pool_backward(
        dy, dx, _pool_geometry(x_shape, dy.shape[1:-1], pool, strides, pads))
    return dx


def moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance of contiguous ``x`` (..., C), in float64."""
    mean = np.empty(x.shape[-1])
    var = np.empty(x.shape[-1])
    _kernels.moments(np.ascontiguousarray(x), mean, var, get_num_threads())
    return mean, var


def scale_shift(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, relu: bool,
                out: np.ndarray | None = None) -> np.ndarray:
    """``x * scale + shift`` per channel (then ReLU); ``out`` may be ``x`` itself."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x) if out is None else out
    _kernels.scale_shift(x, np.ascontiguousarray(scale, np.float64),
                         np.ascontiguousarray(shift, np.float64), relu, y, get_num_threads())
    return y


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``max(0, x)`` in one pass over the threads (``out`` may be ``x``)."""
    channels = x.shape[-1] if x.ndim else 1
    if out is not None and not out.flags.c_contiguous:
        out = None
    return scale_shift(x, np.ones(channels), np.zeros(channels), True, out)


def relu_backward(y: np.ndarray | None, dy: np.ndarray, bias: bool
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """``dz = dy * (y > 0)`` (``dy`` itself when ``y`` is None) and, if ``bias``, the sum of
    ``dz`` over every axis but the last (float64)."""
    dy = np.ascontiguousarray(dy)
    channels = dy.shape[-1]
    dz = None if y is None else np.empty_like(dy)
    total = np.empty(channels) if bias else None
    _kernels.relu_backward(None if y is None else np.ascontiguousarray(y), dy, dz, total,
                           channels, get_num_threads())
    return (dy if dz is None else dz), total


def batch_norm_backward(x: np.ndarray, dy: np.ndarray, y: np.ndarray | None,
                        mean: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray,
                        need_dx: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dx or None, sum of g, sum of g * (x - mean)), g = dy masked by ``y > 0`` if ``y``."""
    channels = x.shape[-1]
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy) if need_dx else None
    sum_g, sum_gc = np.empty(channels), np.empty(channels)
    _kernels.batch_norm_backward(
        np.ascontiguousarray(x), dy, None if y is None else np.ascontiguousarray(y),
        mean, inv_std, np.ascontiguousarray(gamma, np.float64), dx, sum_g, sum_gc,
        get_num_threads())
    return dx, sum_g, sum_gc


def adam(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float,
         beta_1: float, beta_2: float, epsilon: float) -> None:
    """One Adam step in place on contiguous ``w``, ``m``, ``v`` (``lr`` bias-corrected)."""
    _kernels.adam(w, np.ascontiguousarray(g, w.dtype), m, v, lr, beta_1, beta_2, epsilon,
                  get_num_threads())


#: Keras' fill modes, as csrc/layers.hpp numbers them
FILL_MODES = {"constant": 0, "nearest": 1, "reflect": 2, "wrap": 3}


def affine_sample(x: np.ndarray, maps: np.ndarray, interpolation: str, fill_mode: str,
                  fill_value: float) -> np.ndarray:
    """``y[n, i, j] = x[n, r, q]``, ``(r, q) = maps[n] @ (i, j, 1)`` for channels-last ``x``
    (N, H, W, C) and ``maps`` (N, 2, 3); nearest or bilinear, outside as ``fill_mode``."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _kernels.affine_sample(x, np.ascontiguousarray(maps, np.float64).reshape(-1, 6),
                           interpolation == "bilinear", FILL_MODES[fill_mode],
                           float(fill_value), y, get_num_threads())
    return y
