"""Keras' ``Dropout``: in training, zero each input with probability ``rate`` and scale the
rest by ``1 / (1 - rate)``; at inference, the identity.  Backward applies the same mask.
``SpatialDropout1D/2D/3D`` drop whole channels (one mask value per sample and channel)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _random
from ._base import Layer, Shape


def _noise_shape(value: object) -> tuple[int | None, ...] | None:
    """Keras' ``noise_shape``: None, or a sequence of positive ints and Nones."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or any(
            not (v is None or (isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                               and v > 0)) for v in value):
        raise ValueError(f"Dropout: noise_shape must be None or a tuple of positive ints (or "
                         f"None for the input's size). Received: noise_shape={value!r}")
    return tuple(None if v is None else int(v) for v in value)


class Dropout(Layer):
    """Randomly sets inputs to 0 during training, as ``keras.layers.Dropout``.

    Parameters
    ----------
    rate : float
        Fraction of the inputs to drop, in [0, 1]; 1 drops everything (zeros), as Keras.
    noise_shape : tuple, optional
        Shape of the mask, broadcast against the input (None entries take the input's size),
        e.g. ``(None, 1, 1, C)`` drops whole channels: positive ints or None, one per input
        dimension, each 1 or the input's size.
    seed : int, optional
        Seeds this layer's own generator; without it, masks come from the generator seeded
        by ``strided.set_random_seed``.
    """

    call_state = ("_mask",)

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None,
                 seed: int | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be a float in [0, 1]. Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = _noise_shape(noise_shape)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._mask: np.ndarray | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        self._mask = None
        if not training or self.rate == 0:
            self._mask = np.ones((), inputs.dtype) if training else None
            return inputs
        shape = inputs.shape if self.noise_shape is None else self._mask_shape(inputs.shape)
        rng = self._rng or _random.generator()
        keep = rng.random(shape, dtype=np.float32) >= self.rate
        dtype = inputs.dtype if inputs.dtype.kind == "f" else np.dtype(np.float32)
        scale = 0 if self.rate == 1 else 1 / (1 - self.rate)
        self._mask = keep.astype(dtype) * dtype.type(scale)
        return inputs * self._mask

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The mask's shape for inputs of ``shape``, checked to broadcast against them."""
        noise = self.noise_shape or ()
        mask = tuple(n if m is None else m for n, m in zip(shape, noise))
        if len(noise) != len(shape) or any(m not in (1, n) for m, n in zip(mask, shape)):
            raise ValueError(f"Dropout: noise_shape must have one entry per input dimension, "
                             f"each None, 1 or the input's size. Received: "
                             f"noise_shape={self.noise_shape} for inputs of shape {shape}")
        return mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output * self._cached(self._mask)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: the mask is (N, 1, ..., 1, C) (or (N, C, 1, ...))."""

    rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: object) -> None:
        super().__init__(rate, None, seed, **kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{type(self).__name__}: expects inputs of rank {self.rank + 2}. "
                             f"Received: inputs.shape={inputs.shape}")
        ones = (1,) * self.rank
        n, c = inputs.shape[0], inputs.shape[-1 if self.data_format == "channels_last" else 1]
        self.noise_shape = (n, *ones, c) if self.data_format == "channels_last" else (
            n, c, *ones)
        return super().call(inputs, training)


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (N, steps, C), as ``keras.layers.SpatialDropout1D``."""

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs: object) -> None:
        super().__init__(rate, None, seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps, as ``keras.layers.SpatialDropout2D``."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes, as ``keras.layers.SpatialDropout3D``."""

    rank = 3
