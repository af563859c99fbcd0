"""Activation layers: ``Activation(name)``, ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU`` and
``Softmax`` with Keras' arguments.

Each keeps its input and output from a training forward pass; the derivative is the
activation's own (``_activations``).
"""

from __future__ import annotations

import numpy as np

from . import _activations, _compiled
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
        x, y = self._cached(self._cache)
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
        self._cache: np.ndarray | tuple[str, np.ndarray] | None = None

    def is_plain(self) -> bool:
        """Whether this is ``max(0, x)``: no slope, threshold or ceiling."""
        return self.max_value is None and not self.negative_slope and not self.threshold

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        x = inputs
        if self.is_plain() and _compiled.usable(x):  # one pass; the backward reads y > 0
            y = _compiled.relu(x)
            self._cache = ("output", y) if training else None
            return y
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
        cached = self._cached(self._cache)
        if isinstance(cached, tuple):  # ("output", y) of the compiled forward
            y = cached[1]
            return _compiled.relu_backward(y, grad_output.astype(y.dtype, copy=False), False)[0]
        x = np.asarray(cached)
        slope = np.where(x >= self.threshold, 1.0, self.negative_slope) if self.threshold or \
            self.negative_slope else (x > 0)
        if self.max_value is not None:
            slope = slope * (x < self.max_value)
        return (grad_output * slope).astype(grad_output.dtype, copy=False)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below, as ``keras.layers.LeakyReLU``."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU: the negative_slope value of a Leaky ReLU layer cannot "
                             f"be None or negative. Received: negative_slope={negative_slope!r}")
        self.negative_slope = negative_slope
        self._cache: np.ndarray | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        self._cache = inputs if training else None
        return np.where(inputs >= 0, inputs, self.negative_slope * inputs).astype(inputs.dtype)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._cached(self._cache)
        return np.where(x >= 0, grad_output, self.negative_slope * grad_output).astype(
            grad_output.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class ELU(Layer):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below, as ``keras.layers.ELU``."""

    def __init__(self, alpha: float = 1.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.alpha = float(alpha)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        y = np.where(inputs > 0, inputs, self.alpha * np.expm1(np.minimum(inputs, 0))).astype(
            inputs.dtype)
        self._cache = (inputs, y) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, y = self._cached(self._cache)
        return np.where(x > 0, grad_output, grad_output * (y + self.alpha)).astype(
            grad_output.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` along ``axis``, as ``keras.layers.Softmax``."""

    def __init__(self, axis: int = -1, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.axis = axis
        self._cache: np.ndarray | None = None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        e = np.exp(inputs - inputs.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self._cache = y if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached(self._cache)
        g = grad_output
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class PReLU(Layer):
    """``x`` for ``x >= 0``, ``alpha * x`` below with a learned ``alpha`` per input element
    (shared over ``shared_axes``), as ``keras.layers.PReLU``."""

    def __init__(self, alpha_initializer: object = "zeros", alpha_regularizer: object = None,
                 alpha_constraint: object = None, shared_axes: object = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        from . import _initializers
        self.alpha_initializer = _initializers.get(alpha_initializer)  # type: ignore[arg-type]
        if shared_axes is None:
            self.shared_axes: tuple[int, ...] | None = None
        else:
            self.shared_axes = tuple(shared_axes) if isinstance(shared_axes, (list, tuple)) \
                else (shared_axes,)  # type: ignore[assignment]
        self._set_penalties({"alpha": alpha_regularizer}, {"alpha": alpha_constraint})
        self._cache: np.ndarray | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Shape) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"PReLU: the non-shared axes must have known sizes. Received: "
                             f"input_shape={tuple(input_shape)}, shared_axes={self.shared_axes}")
        self.params = {"alpha": self.alpha_initializer(tuple(shape), self.dtype)}  # type: ignore
        self.input_shape = tuple(input_shape)
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        self._cache = inputs if training else None
        return np.where(inputs >= 0, inputs, self.params["alpha"] * inputs).astype(inputs.dtype)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._cached(self._cache)
        g = grad_output
        negative = x < 0
        d_alpha = np.where(negative, g * x, 0)
        alpha = self.params["alpha"]
        axes = tuple(i for i in range(g.ndim) if i == 0 or alpha.shape[i - 1] == 1)
        self.grads = {"alpha": d_alpha.sum(axis=axes, keepdims=True)[0].astype(alpha.dtype)}
        return np.where(negative, alpha * g, g).astype(g.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)
