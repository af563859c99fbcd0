"""Activation layers: ``Activation(name)`` and ``ReLU`` with Keras' arguments.

Each keeps its input and output from a training forward pass; the derivative is the
activation's own (``_activations``).
"""

from __future__ import annotations

import numpy as np

from . import _activations
from ._base import Layer, Shape


class Activation(Layer):
    """Applies an activation by name, as ``keras.layers.Activation``.

    >>> import numpy as np
    >>> Activation("relu")(np.array([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    def __init__(self, activation: str | _activations.Activation, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.activation = _activations.get(activation)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        y = self.activation(inputs)
        self._cache = (inputs, y) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, y = self._cached(self._cache)  # type: ignore[misc]
        return self.activation.backward(x, y, grad_output)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class ReLU(Layer):
    """Rectified linear unit, as ``keras.layers.ReLU``.

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x < max_value`` and
    ``negative_slope * (x - threshold)`` below the threshold.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be non-negative. Received: "
                             f"max_value={max_value!r}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be non-negative. Received: "
                             f"negative_slope={negative_slope!r}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self._cache: np.ndarray | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        x = inputs
        if self.negative_slope:
            y = np.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        elif self.threshold:
            y = np.where(x >= self.threshold, x, 0).astype(x.dtype, copy=False)
        else:
            y = np.maximum(x, 0)
        if self.max_value is not None:
            y = np.minimum(y, self.max_value)
        self._cache = x if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._cached(self._cache)
        slope = np.where(x >= self.threshold, 1.0, self.negative_slope) if self.threshold or \
            self.negative_slope else (x > 0)
        if self.max_value is not None:
            slope = slope * (x < self.max_value)
        return (grad_output * slope).astype(grad_output.dtype, copy=False)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)
