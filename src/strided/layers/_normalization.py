"""Keras' ``BatchNormalization``, vectorised over every axis but the feature axis.

Training (``m`` = number of values per feature)::

    mean, var = x.mean(axes), x.var(axes)                 (biased, as Keras)
    x_hat = (x - mean) / sqrt(var + epsilon);  y = gamma * x_hat + beta
    moving = momentum * moving + (1 - momentum) * batch statistic

Backward (training)::

    d gamma = sum(dy * x_hat),  d beta = sum(dy),  g = dy * gamma
    dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + epsilon)

Features last in float32 or float64 run in the compiled kernels (``_compiled``): statistics
in float64, one pass for ``y`` (and a following ReLU's, ``relu_fused``), two for the backward.

Inference uses the moving statistics: ``y = gamma * (x - moving_mean) /
sqrt(moving_variance + epsilon) + beta``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _compiled, _initializers
from ._base import Layer, Shape


class BatchNormalization(Layer):
    """Normalises each feature with the batch's statistics, as ``keras.layers.BatchNormalization``.

    Parameters
    ----------
    axis : int
        The feature axis (default -1, the channels of channels-last data).
    momentum : float
        Of the moving averages; Keras' default 0.99 (any number, as Keras: above 1 the
        averages overshoot).
    epsilon : float
        Added to the variance; Keras' default 1e-3; 0 is allowed, as in Keras.
    center, scale : bool
        Learn ``beta`` / ``gamma``.
    beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer
        Keras' defaults: zeros, ones, zeros, ones.

    Notes
    -----
    Weights, in Keras' order: gamma, beta, moving_mean, moving_variance; the last two are
    non-trainable, so a Conv2D's 32 features give 128 parameters of which 64 are trainable.
    """

    non_trainable_keys = ("moving_mean", "moving_variance")

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer: str | _initializers.Initializer = "zeros",
                 gamma_initializer: str | _initializers.Initializer = "ones",
                 moving_mean_initializer: str | _initializers.Initializer = "zeros",
                 moving_variance_initializer: str | _initializers.Initializer = "ones",
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization: axis must be an int. Received: axis={axis!r}")
        for key, value in (("momentum", momentum), ("epsilon", epsilon)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
                raise TypeError(f"BatchNormalization: {key} must be a number. Received: "
                                f"{key}={value!r}")
        if not epsilon >= 0:  # Keras allows 0 (and any momentum, even above 1)
            raise ValueError(f"BatchNormalization: epsilon must be non-negative. Received: "
                             f"epsilon={epsilon!r}")
        self.axis = axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.initializers = {
            "gamma": _initializers.get(gamma_initializer),
            "beta": _initializers.get(beta_initializer),
            "moving_mean": _initializers.get(moving_mean_initializer),
            "moving_variance": _initializers.get(moving_variance_initializer),
        }
        self._cache: tuple | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"BatchNormalization: axis must be a non-batch axis of the input. "
                             f"Received: axis={self.axis}, input_shape={tuple(input_shape)}")
        features = input_shape[self.axis]
        if features is None:
            raise ValueError(f"BatchNormalization: the feature axis must have a known size. "
                             f"Received: axis={self.axis}, input_shape={tuple(input_shape)}")
        keys = [k for k, use in (("gamma", self.scale), ("beta", self.center)) if use]
        keys += ["moving_mean", "moving_variance"]
        self.params = {k: self.initializers[k]((features,), self.dtype) for k in keys}
        self.input_shape = tuple(input_shape)
        self.built = True

    def _broadcast(self, v: np.ndarray, ndim: int) -> np.ndarray:
        shape = [1] * ndim
        shape[self.axis] = v.shape[0]
        return v.reshape(shape)

    def _sum(self, v: np.ndarray) -> np.ndarray:
        """The sum over every axis but the feature axis (a matrix-vector product when the
        features are last, much faster than a reduction over leading axes)."""
        if self.axis % v.ndim == v.ndim - 1:
            rows = v.reshape(-1, v.shape[-1])
            return np.ones(rows.shape[0], rows.dtype) @ rows
        return v.sum(axis=tuple(a for a in range(v.ndim) if a != self.axis % v.ndim))

    #: set by ``Sequential`` when a plain ``ReLU`` follows: the output is ReLU'd in the same
    #: pass and the ReLU's backward folded into this one's (the ReLU layer then passes through)
    relu_fused = False

    def _compiled_call(self, x: np.ndarray, training: bool, frozen: bool) -> np.ndarray:
        """The forward pass in the compiled kernels (features last, float32 or float64)."""
        p = self.params
        if training:
            mean, var = _compiled.moments(x)
            for key, batch in (("moving_mean", mean), ("moving_variance", var)):
                p[key] *= self.momentum
                p[key] += (1 - self.momentum) * batch.astype(p[key].dtype)
        else:
            mean = p["moving_mean"].astype(np.float64)
            var = p["moving_variance"].astype(np.float64)
        inv_std = 1 / np.sqrt(var + self.epsilon)
        gamma = p["gamma"].astype(np.float64) if self.scale else np.ones_like(mean)
        beta = p["beta"].astype(np.float64) if self.center else np.zeros_like(mean)
        scale = gamma * inv_std
        y = _compiled.scale_shift(x, scale, beta - mean * scale, self.relu_fused)
        self._cache = None
        if training:
            self._cache = ("compiled", x, mean, inv_std, gamma, y if self.relu_fused else None)
        elif frozen:
            self._cache = ("frozen", scale.astype(x.dtype), y if self.relu_fused else None)
        return y

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        x = inputs
        p = self.params
        frozen = training and not self.trainable
        training = training and self.trainable  # a frozen layer runs in inference mode, as Keras
        if self.axis % x.ndim == x.ndim - 1 and _compiled.usable(x):
            return self._compiled_call(x, training, frozen)
        if self.relu_fused:
            raise RuntimeError("BatchNormalization: a fused ReLU needs float32 or float64 "
                               "inputs with the features last")
        gamma = p["gamma"] if self.scale else np.ones(x.shape[self.axis], x.dtype)
        if training:
            count = x.size // x.shape[self.axis]
            mean = self._sum(x) / count
            centred = x - self._broadcast(mean.astype(x.dtype, copy=False), x.ndim)
            y = np.square(centred)
            var = self._sum(y) / count
            for key, batch in (("moving_mean", mean), ("moving_variance", var)):
                p[key] *= self.momentum
                p[key] += (1 - self.momentum) * batch.astype(p[key].dtype)
        else:
            mean, var = p["moving_mean"], p["moving_variance"]
            centred = x - self._broadcast(mean.astype(x.dtype, copy=False), x.ndim)
            y = np.empty_like(centred)
        inv_std = (1 / np.sqrt(var + self.epsilon)).astype(x.dtype, copy=False)
        # y = centred * (gamma * inv_std) + beta, written over the squares' buffer
        np.multiply(centred, self._broadcast((gamma * inv_std).astype(x.dtype, copy=False),
                                             x.ndim), out=y)
        if self.center:
            y += self._broadcast(p["beta"].astype(x.dtype, copy=False), x.ndim)
        self._cache = (centred, inv_std) if training else None
        if frozen:  # an affine map: dx = dy * gamma * inv_std
            self._cache = (None, (gamma * inv_std).astype(x.dtype, copy=False))
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        cache: tuple = self._cached(self._cache)
        kind = cache[0] if isinstance(cache[0], str) else None
        if kind == "compiled":
            return self._compiled_backward(grad_output, *cache[1:])
        if kind == "frozen":
            _, scale, y = cache
            self.grads = {}
            g = grad_output if y is None else grad_output * (y > 0)
            return (g * scale).astype(grad_output.dtype, copy=False)
        centred, inv_std = cache
        g = grad_output
        if centred is None:  # frozen: no weight gradients, the statistics are constants
            self.grads = {}
            return g * self._broadcast(inv_std, g.ndim)
        count = g.size // g.shape[self.axis]
        sum_g = self._sum(g)
        work = g * centred
        sum_gx = self._sum(work) * inv_std  # sum(g * x_hat)
        self.grads = {}
        if self.scale:
            self.grads["gamma"] = sum_gx
        if self.center:
            self.grads["beta"] = sum_g
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        # with g' = gamma * g and scale = gamma * inv_std:
        # dx = (g' - mean(g') - x_hat * mean(g' x_hat)) * inv_std
        #    = scale * (g - mean(g)) - centred * scale * inv_std * mean(g x_hat)
        gamma = self.params["gamma"] if self.scale else 1
        scale = (gamma * inv_std).astype(g.dtype, copy=False)
        np.multiply(centred, self._broadcast(scale * inv_std * sum_gx / count, g.ndim),
                    out=work)
        dx = g * self._broadcast(scale, g.ndim)
        dx -= work
        dx -= self._broadcast(scale * sum_g / count, g.ndim)
        return dx.astype(grad_output.dtype, copy=False)

    def _compiled_backward(self, grad_output: np.ndarray, x: np.ndarray, mean: np.ndarray,
                           inv_std: np.ndarray, gamma: np.ndarray, y: np.ndarray | None
                           ) -> np.ndarray:
        dx, sum_g, sum_gc = _compiled.batch_norm_backward(
            x, grad_output.astype(x.dtype, copy=False), y, mean, inv_std, gamma,
            self.compute_input_gradient)
        self.grads = {}
        dtype = self.params["moving_mean"].dtype
        if self.scale:
            self.grads["gamma"] = (sum_gc * inv_std).astype(dtype)
        if self.center:
            self.grads["beta"] = sum_g.astype(dtype)
        return dx  # type: ignore[return-value]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


class LayerNormalization(Layer):
    """Normalises each sample over ``axis``, as ``keras.layers.LayerNormalization``.

    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta``, the statistics over ``axis`` (the
    last by default) of each sample; ``gamma`` and ``beta`` have the shape of those axes.
    Backward, with ``x_hat`` the normalised input and ``g' = gamma * dy``::

        dx = (g' - mean(g') - x_hat * mean(g' * x_hat)) / sqrt(var + epsilon)
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer: str | _initializers.Initializer = "zeros",
                 gamma_initializer: str | _initializers.Initializer = "ones",
                 beta_regularizer: object = None, gamma_regularizer: object = None,
                 beta_constraint: object = None, gamma_constraint: object = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.axis = axis
        self.epsilon, self.center, self.scale = epsilon, center, scale
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self._set_penalties({"beta": beta_regularizer, "gamma": gamma_regularizer},
                            {"beta": beta_constraint, "gamma": gamma_constraint})
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _axes(self, ndim: int) -> tuple[int, ...]:
        axes = self.axis if isinstance(self.axis, Sequence) else (self.axis,)
        if any(not -ndim <= a < ndim or a % ndim == 0 for a in axes):
            raise ValueError(f"LayerNormalization: axis must be non-batch axes of the input. "
                             f"Received: axis={self.axis}, input rank {ndim}")
        return tuple(sorted(a % ndim for a in axes))

    def build(self, input_shape: Shape) -> None:
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"LayerNormalization: the normalised axes must have known sizes. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.params = {}
        if self.scale:
            self.params["gamma"] = self.gamma_initializer(shape, self.dtype)  # type: ignore
        if self.center:
            self.params["beta"] = self.beta_initializer(shape, self.dtype)  # type: ignore
        self.input_shape = tuple(input_shape)
        self.built = True

    def _broadcast(self, v: np.ndarray, ndim: int) -> np.ndarray:
        axes = self._axes(ndim)
        shape = [1] * ndim
        for a, n in zip(axes, v.shape):
            shape[a] = n
        return v.reshape(shape)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        axes = self._axes(inputs.ndim)
        mean = inputs.mean(axis=axes, keepdims=True)
        var = inputs.var(axis=axes, keepdims=True)
        inv_std = 1 / np.sqrt(var + self.epsilon)
        x_hat = (inputs - mean) * inv_std
        y = x_hat
        if self.scale:
            y = y * self._broadcast(self.params["gamma"], inputs.ndim)
        if self.center:
            y = y + self._broadcast(self.params["beta"], inputs.ndim)
        self._cache = (x_hat, inv_std) if training else None
        return y.astype(inputs.dtype, copy=False)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self._cached(self._cache)
        g = grad_output
        axes = self._axes(g.ndim)
        batch_axes = tuple(a for a in range(g.ndim) if a not in axes)
        self.grads = {}
        if self.scale:
            self.grads["gamma"] = (g * x_hat).sum(axis=batch_axes)
            g = g * self._broadcast(self.params["gamma"], g.ndim)
        if self.center:
            self.grads["beta"] = grad_output.sum(axis=batch_axes)
        dx = (g - g.mean(axis=axes, keepdims=True)
              - x_hat * (g * x_hat).mean(axis=axes, keepdims=True)) * inv_std
        return dx.astype(grad_output.dtype, copy=False)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)
