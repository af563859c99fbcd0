"""``Input(shape)``: the symbolic input of a functional model, or the first of a ``Sequential``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._base import Layer, Shape
from ._graph import KerasTensor, Node


class InputLayer(Layer):
    """The identity, holding the input's shape; its node's output is ``Input``'s tensor."""

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
        self.batch_size = batch_size
        self.input_shape = self.shape
        self.built = True
        Node(self, [], [self.shape])

    def get_config(self) -> dict[str, object]:
        return {"name": self.name, "dtype": self.dtype.name, "shape": self.shape[1:],
                "batch_size": self.batch_size}

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return inputs

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


def Input(shape: Sequence[int], batch_size: int | None = None, name: str | None = None,
          dtype: str = "float32") -> KerasTensor:
    """A symbolic input, as ``keras.Input``: ``shape`` excludes the batch.

    Call layers on it to build a functional ``strided.Model``, or start a ``Sequential``
    with it.

    >>> Input((28, 28, 1)).shape
    (None, 28, 28, 1)
    """
    return InputLayer(shape, batch_size, name=name, dtype=dtype).output
