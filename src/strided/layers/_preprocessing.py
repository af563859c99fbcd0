"""Keras' ``RandomTranslation``: in training, shift each image by a random offset.

Per image, offsets ``dy ~ U(-height_factor, height_factor) * H`` and likewise ``dx``; the
image is resampled at ``(i - dy, j - dx)`` with Keras' fill modes for pixels from outside
(``reflect`` = ``d c b a | a b c d | d c b a``, ``wrap``, ``nearest``, ``constant``).  With
``interpolation="nearest"`` offsets round to whole pixels; with "bilinear" each axis mixes
the two nearest whole-pixel shifts.  At inference it is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _random
from ._base import Layer, Shape

_NUMPY_PAD = {"reflect": "symmetric", "wrap": "wrap", "nearest": "edge", "constant": "constant"}


def _factor(value: float | Sequence[float], name: str) -> tuple[float, float]:
    lo, hi = (-value, value) if isinstance(value, (int, float)) else tuple(value)
    if not -1 <= lo <= hi <= 1:
        raise ValueError(f"RandomTranslation: {name} must be a float in [0, 1] or a pair "
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
