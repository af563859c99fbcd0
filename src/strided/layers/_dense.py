"""Keras' ``Dense``: ``y = activation(x @ kernel + bias)`` on the last axis.

Shapes (``in`` input features, ``units`` outputs; any leading axes)::

    forward    x (..., in), kernel (in, units)        -> z, y (..., units)
    backward   dz = activation'(z) * dy
               d kernel = x.T @ dz   [in, M] [M, units] -> [in, units]   (M = all leading axes)
               d bias   = dz summed over M
               dx       = dz @ kernel.T   [M, units] [units, in] -> [M, in]

With a ReLU (float32 or float64), ``y = max(0, z)`` is written over ``z`` (which is not kept)
and ``dz``, ``d bias`` are one compiled pass (``_compiled.relu_backward``).
"""

from __future__ import annotations

import numpy as np

from .._runtime._threads import product
from . import _activations, _compiled, _initializers
from ._base import Layer, Shape


class Dense(Layer):
    """Densely connected layer, as ``keras.layers.Dense``.

    Parameters
    ----------
    units : int
        Number of outputs.
    activation : str or ActivationFunction, optional
        "relu", "sigmoid", "tanh", "softmax", "linear", ... (None: linear).
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        Keras' defaults: "glorot_uniform" and "zeros".
    kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint : optional
        As ``Conv2D``'s.
    input_shape : tuple, optional
        The input's shape without the batch: builds the layer at once.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(10, activation="softmax", input_shape=(784,))
    >>> layer.count_params()
    7850
    >>> layer(np.zeros((2, 784))).shape
    (2, 10)
    """

    def __init__(self, units: int, activation: str | _activations.Activation | None = None,
                 use_bias: bool = True,
                 kernel_initializer: str | _initializers.Initializer = "glorot_uniform",
                 bias_initializer: str | _initializers.Initializer = "zeros",
                 kernel_regularizer: object = None, bias_regularizer: object = None,
                 kernel_constraint: object = None, bias_constraint: object = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._set_penalties({"kernel": kernel_regularizer, "bias": bias_regularizer},
                            {"kernel": kernel_constraint, "bias": bias_constraint})
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be a positive int. Received: units={units!r}")
        self.units = units
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        # (x, z, y); z is None where the ReLU was fused
        self._cache: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense: expects inputs of rank >= 2 with a known last dimension. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.params = {"kernel": self.kernel_initializer((input_shape[-1], self.units),
                                                         self.dtype)}
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((self.units,), self.dtype)
        self.input_shape = tuple(input_shape)
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        kernel = self.params["kernel"]
        if inputs.shape[-1] != kernel.shape[0]:
            raise ValueError(f"Dense {self.name!r}: the input's last dimension must be "
                             f"{kernel.shape[0]}. Received: inputs.shape={inputs.shape}")
        z = product(inputs, kernel)
        if self.use_bias:
            z += self.params["bias"]
        if self.activation is _activations.ACTIVATIONS["relu"] and _compiled.usable(z):
            # in place, the product's buffer reused (NaN stays NaN, as the compiled ReLU); a
            # dense layer's outputs are small: NumPy's one pass beats a kernel call's setup
            y = np.maximum(z, 0, out=z)
            self._cache = (inputs, None, y) if training else None  # the backward reads y > 0
            return y
        y = self.activation(z)
        self._cache = (inputs, z, y) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, z, y = self._cached(self._cache)
        kernel = self.params["kernel"]
        if z is None:  # a ReLU: its backward and the bias gradient in one pass
            dz, bias = _compiled.relu_backward(y, grad_output.astype(y.dtype, copy=False),
                                               self.use_bias)
        else:
            dz, bias = self.activation.backward(z, y, grad_output), None
        dz2 = dz.reshape(-1, self.units)
        self.grads = {"kernel": product(x.reshape(-1, kernel.shape[0]).T, dz2)}
        if self.use_bias:
            self.grads["bias"] = dz2.sum(axis=0) if bias is None else bias.astype(kernel.dtype)
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        return product(dz, kernel.T)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)
