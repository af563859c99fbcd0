"""Keras' random augmentations (``RandomTranslation``, ``RandomRotation``, ``RandomZoom``),
each the identity at inference, and ``Rescaling``.

``RandomTranslation``: per image, offsets ``dy ~ U(-height_factor, height_factor) * H`` and
likewise ``dx``; the image is resampled at ``(i - dy, j - dx)`` with Keras' fill modes for
pixels from outside (``reflect`` = ``d c b a | a b c d | d c b a``, ``wrap``, ``nearest``,
``constant``).  With ``interpolation="nearest"`` offsets round to whole pixels; with
"bilinear" each axis mixes the two nearest whole-pixel shifts.

``RandomRotation`` and ``RandomZoom`` map each output pixel's offset from the image's centre
``(di, dj)`` to an input position, ``(ri, rj) = M (di, dj)`` (rows grow downwards), with
``M = [[cos a, sin a], [-sin a, cos a]]`` for a counter-clockwise turn by ``a`` and
``M = diag(1 + zh, 1 + zw)`` for a zoom, then read it (nearest or bilinear) under the fill mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _random
from . import _compiled
from ._base import Layer, Shape

_NUMPY_PAD = {"reflect": "symmetric", "wrap": "wrap", "nearest": "edge", "constant": "constant"}


def _factor(value: float | Sequence[float], name: str, kind: str = "RandomTranslation"
            ) -> tuple[float, float]:
    lo, hi = (-value, value) if isinstance(value, (int, float)) else tuple(value)
    if not -1 <= lo <= hi <= 1:
        raise ValueError(f"{kind}: {name} must be a float in [0, 1] or a pair "
                         f"(lower, upper) in [-1, 1]. Received: {name}={value!r}")
    return float(lo), float(hi)


class RandomTranslation(Layer):
    """Randomly shifts images during training, as ``keras.layers.RandomTranslation``.

    Parameters
    ----------
    height_factor, width_factor : float or (float, float)
        Largest shift as a fraction of the height / width (or a (lower, upper) range).
    fill_mode : {"reflect", "wrap", "nearest", "constant"}
    interpolation : {"bilinear", "nearest"}
    seed : int, optional
        Seeds this layer's own generator (else ``strided.set_random_seed``'s).
    fill_value : float
        The value outside the image for ``fill_mode="constant"``.
    data_format : {"channels_last", "channels_first"}, optional
    """

    def __init__(self, height_factor: float | Sequence[float],
                 width_factor: float | Sequence[float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.height_factor = _factor(height_factor, "height_factor")
        self.width_factor = _factor(width_factor, "width_factor")
        if fill_mode not in _NUMPY_PAD:
            raise ValueError(f"RandomTranslation: fill_mode must be one of {list(_NUMPY_PAD)}. "
                             f"Received: fill_mode={fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomTranslation: interpolation must be 'bilinear' or "
                             f"'nearest'. Received: interpolation={interpolation!r}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = fill_value
        self.data_format = data_format or "channels_last"
        self._rng = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        if not training:
            return inputs
        if inputs.ndim != 4:
            raise ValueError(f"RandomTranslation: expects images of rank 4 (batch, height, "
                             f"width, channels). Received: inputs.shape={inputs.shape}")
        x = inputs if self.data_format == "channels_last" else np.moveaxis(inputs, 1, -1)
        n, h, w, _ = x.shape
        rng = self._rng or _random.generator()
        dy = rng.uniform(*self.height_factor, n) * h
        dx = rng.uniform(*self.width_factor, n) * w
        if self.interpolation == "nearest":
            dy, dx = np.round(dy), np.round(dx)
        if _compiled.usable(x):  # y[i, j] = x[i - dy, j - dx] as an affine map of (i, j, 1)
            affine = np.zeros((n, 2, 3))
            affine[:, 0, 0] = affine[:, 1, 1] = 1
            affine[:, 0, 2], affine[:, 1, 2] = -dy, -dx
            y = _compiled.affine_sample(x, affine, self.interpolation, self.fill_mode,
                                        self.fill_value)
            return y if self.data_format == "channels_last" else np.moveaxis(y, -1, 1)
        margin = math.ceil(max(np.abs(dy).max(), np.abs(dx).max())) + 1
        options = {"constant_values": self.fill_value} if self.fill_mode == "constant" else {}
        padded = np.pad(x, [(0, 0), (margin, margin), (margin, margin), (0, 0)],
                        mode=_NUMPY_PAD[self.fill_mode], **options)  # type: ignore[call-overload]
        batch = np.arange(n)[:, None, None]
        y = np.zeros(x.shape, np.result_type(x.dtype, np.float32))
        # y[i, j] = x[i - dy, j - dx]: mix the two whole-pixel shifts around each offset
        for row_shift, row_weight in _whole_shifts(dy):
            rows = margin + np.arange(h)[None, :] - row_shift[:, None]
            for col_shift, col_weight in _whole_shifts(dx):
                cols = margin + np.arange(w)[None, :] - col_shift[:, None]
                weight = (row_weight * col_weight).astype(y.dtype)[:, None, None, None]
                y += weight * padded[batch, rows[:, :, None], cols[:, None, :]]
        y = y.astype(x.dtype, copy=False)
        return y if self.data_format == "channels_last" else np.moveaxis(y, -1, 1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        raise NotImplementedError("RandomTranslation: no backward pass; use it as the first "
                                  "layer of a model, where none is needed")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


def _whole_shifts(offsets: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(whole shift, weight) pairs whose weighted sum is a linear interpolation at ``offsets``."""
    low = np.floor(offsets)
    frac = offsets - low
    if not frac.any():
        return [(low.astype(np.int64), np.ones_like(offsets))]
    return [(low.astype(np.int64), 1 - frac), (low.astype(np.int64) + 1, frac)]


def _fold(index: np.ndarray, size: int, fill_mode: str) -> np.ndarray:
    """Whole-pixel ``index`` along an axis of ``size`` read under Keras' ``fill_mode``
    (constant: out-of-range indices stay out of range, for the caller to fill)."""
    if fill_mode == "nearest":
        return np.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return np.mod(index, size)
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        period = np.mod(index, 2 * size)
        return np.where(period < size, period, 2 * size - 1 - period)
    return index


def _resample(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill_mode: str,
              interpolation: str, fill_value: float) -> np.ndarray:
    """``y[n, i, j] = x[n, rows[n, i, j], cols[n, i, j]]`` at real-valued positions of
    channels-last ``x`` (N, H, W, C), nearest or bilinear, filled outside as Keras."""
    n, h, w, c = x.shape
    flat = x.reshape(n * h * w, c)
    first = (np.arange(n) * (h * w))[:, None, None]  # each image's first pixel
    if interpolation == "nearest":
        corners = [(np.floor(rows + 0.5), np.floor(cols + 0.5), None)]
    else:
        r0, c0 = np.floor(rows), np.floor(cols)
        fr, fc = rows - r0, cols - c0
        corners = [(r0, c0, (1 - fr) * (1 - fc)), (r0, c0 + 1, (1 - fr) * fc),
                   (r0 + 1, c0, fr * (1 - fc)), (r0 + 1, c0 + 1, fr * fc)]
    dtype = np.result_type(x.dtype, np.float32)
    y = np.zeros((n, h, w, c), dtype)
    outside = np.zeros((n, h, w), dtype)  # the weight of positions outside the image
    for r, col, weight in corners:
        ri = _fold(r.astype(np.int64), h, fill_mode)
        ci = _fold(col.astype(np.int64), w, fill_mode)
        weight = np.ones(ri.shape, dtype) if weight is None else weight.astype(dtype)
        if fill_mode == "constant":
            inside = (ri >= 0) & (ri < h) & (ci >= 0) & (ci < w)
            outside += weight * ~inside
            weight *= inside
            np.clip(ri, 0, h - 1, out=ri)
            np.clip(ci, 0, w - 1, out=ci)
        y += weight[..., None] * flat[first + ri * w + ci]
    if fill_mode == "constant" and fill_value:
        y += outside[..., None] * dtype.type(fill_value)
    return y.astype(x.dtype, copy=False)


class _RandomAffine(Layer):
    """Base of ``RandomRotation`` and ``RandomZoom``: per image, a random map of output
    positions to input positions about the image's centre, resampled by ``_resample``."""

    call_state = ()

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        kind = type(self).__name__
        if fill_mode not in _NUMPY_PAD:
            raise ValueError(f"{kind}: fill_mode must be one of {list(_NUMPY_PAD)}. "
                             f"Received: fill_mode={fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{kind}: interpolation must be 'bilinear' or 'nearest'. "
                             f"Received: interpolation={interpolation!r}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.seed, self.fill_value = seed, fill_value
        self.data_format = data_format or "channels_last"
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _maps(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, 2, 2): each image's map from output to input offsets (rows, cols)."""
        raise NotImplementedError

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        if not training:
            return inputs
        if inputs.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expects images of rank 4 (batch, height, "
                             f"width, channels). Received: inputs.shape={inputs.shape}")
        x = inputs if self.data_format == "channels_last" else np.moveaxis(inputs, 1, -1)
        n, h, w, _ = x.shape
        maps = self._maps(self._rng or _random.generator(), n)
        if _compiled.usable(x):
            # (r, q) = M (i - ci, j - cj) + (ci, cj) as one affine map of (i, j, 1)
            centre = np.array([(h - 1) / 2, (w - 1) / 2])
            affine = np.concatenate([maps, (centre - maps @ centre)[:, :, None]], axis=2)
            y = _compiled.affine_sample(x, affine, self.interpolation, self.fill_mode,
                                        self.fill_value)
            return y if self.data_format == "channels_last" else np.moveaxis(y, -1, 1)
        # offsets from the centre, (rows, cols), of every output pixel
        di = np.arange(h) - (h - 1) / 2
        dj = np.arange(w) - (w - 1) / 2
        rows = (maps[:, 0, 0, None, None] * di[:, None] + maps[:, 0, 1, None, None] * dj
                + (h - 1) / 2)
        cols = (maps[:, 1, 0, None, None] * di[:, None] + maps[:, 1, 1, None, None] * dj
                + (w - 1) / 2)
        y = _resample(x, rows, cols, self.fill_mode, self.interpolation, self.fill_value)
        return y if self.data_format == "channels_last" else np.moveaxis(y, -1, 1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        raise NotImplementedError(f"{type(self).__name__}: no backward pass; use it before "
                                  f"the first layer with weights, where none is needed")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class RandomRotation(_RandomAffine):
    """Rotates each image by a random angle during training, as ``keras.layers.RandomRotation``.

    Parameters
    ----------
    factor : float or (float, float)
        The angle's range as a fraction of a full turn: 0.05 draws from
        [-0.05 * 2 pi, 0.05 * 2 pi]; positive angles turn counter-clockwise.
    fill_mode, interpolation, seed, fill_value, data_format
        As ``RandomTranslation``'s.
    """

    def __init__(self, factor: float | Sequence[float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: object) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor(factor, "factor", "RandomRotation")

    def _maps(self, rng: np.random.Generator, n: int) -> np.ndarray:
        angle = rng.uniform(*self.factor, n) * 2 * math.pi
        cos, sin = np.cos(angle), np.sin(angle)
        # output (row, col) offsets -> input ones: the inverse of a counter-clockwise turn
        # (rows grow downwards)
        return np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1)


class RandomZoom(_RandomAffine):
    """Zooms each image by a random factor during training, as ``keras.layers.RandomZoom``.

    Parameters
    ----------
    height_factor : float or (float, float)
        The zoom's range as a fraction: 0.1 draws from [-10%, +10%]; positive values zoom
        out (the content shrinks), negative ones in, as Keras.
    width_factor : float or (float, float), optional
        Likewise for the width; None keeps the aspect ratio (the height's zoom for both).
    fill_mode, interpolation, seed, fill_value, data_format
        As ``RandomTranslation``'s.
    """

    def __init__(self, height_factor: float | Sequence[float],
                 width_factor: float | Sequence[float] | None = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: object) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _factor(height_factor, "height_factor", "RandomZoom")
        self.width_factor = None if width_factor is None else _factor(
            width_factor, "width_factor", "RandomZoom")

    def _maps(self, rng: np.random.Generator, n: int) -> np.ndarray:
        zoom_h = 1 + rng.uniform(*self.height_factor, n)
        zoom_w = zoom_h if self.width_factor is None else 1 + rng.uniform(*self.width_factor, n)
        zero = np.zeros(n)
        return np.stack([np.stack([zoom_h, zero], -1), np.stack([zero, zoom_w], -1)], 1)


class Rescaling(Layer):
    """``x * scale + offset``, as ``keras.layers.Rescaling`` (e.g. ``scale=1 / 255``).

    >>> import numpy as np
    >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0.0, 255.0]])).tolist()
    [[-1.0, 1.0]]
    """

    call_state = ()

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.scale, self.offset = scale, offset

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return (inputs * self.scale + self.offset).astype(inputs.dtype, copy=False)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return (grad_output * self.scale).astype(grad_output.dtype, copy=False)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)
