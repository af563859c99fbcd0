"""Keras' ``Flatten``: (N, *S, C) -> (N, prod(S) * C); backward reshapes back."""

from __future__ import annotations

import math

import numpy as np

from ._base import Layer, Shape


class Flatten(Layer):
    """Flattens all but the batch axis, as ``keras.layers.Flatten``.

    With ``data_format="channels_first"`` the channels are moved last first, so that the order
    of the features is the same for both layouts, as Keras does.

    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 7, 7, 32))).shape
    (2, 1568)
    """

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
        dx = grad_output.reshape(shape)  # type: ignore[arg-type]
        if self.data_format == "channels_first" and dx.ndim > 2:
            dx = np.moveaxis(dx, -1, 1)
        return dx

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))  # type: ignore[arg-type]
