"""``Input(shape)``: where a ``Sequential`` model says what its inputs look like."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._base import Layer, Shape


class InputLayer(Layer):
    """The identity, holding the input's shape; ``Sequential`` uses it to build at once."""

    def __init__(self, shape: Sequence[int], batch_size: int | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        try:
            dims = tuple(int(d) for d in shape)
        except TypeError:
            raise TypeError(f"Input: shape must be a tuple of ints (without the batch). "
                            f"Received: shape={shape!r}") from None
        if any(d < 1 for d in dims):
            raise ValueError(f"Input: shape must hold positive ints (without the batch). "
                             f"Received: shape={shape!r}")
        self.shape: Shape = (batch_size, *dims)
        self.input_shape = self.shape
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return inputs

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


def Input(shape: Sequence[int], batch_size: int | None = None, name: str | None = None,
          dtype: str = "float32") -> InputLayer:
    """The input of a ``Sequential`` model, as ``keras.Input``: ``shape`` excludes the batch.

    >>> Input((28, 28, 1)).shape
    (None, 28, 28, 1)
    """
    return InputLayer(shape, batch_size, name=name, dtype=dtype)
