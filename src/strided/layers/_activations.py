"""Activations by Keras name, each with its derivative beside it.

``backward(z, a, grad_a)`` returns d(loss)/dz given the pre-activation ``z``, the activation
``a = forward(z)`` and d(loss)/da; each rule uses whichever of ``z`` and ``a`` is cheaper.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Activation:
    """An elementwise (or, for softmax, last-axis) function and its vector-Jacobian product."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, z).astype(z.dtype, copy=False)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_erf_objects = np.frompyfunc(math.erf, 1, 1)  # exact; NumPy has no erf


def _erf(x: np.ndarray) -> np.ndarray:
    # np.asarray: frompyfunc returns a Python float, not an array, for a 0-d input
    return np.asarray(_erf_objects(x), dtype=np.float64)


def _gelu(z: np.ndarray) -> np.ndarray:
    return (0.5 * z * (1 + _erf(z / math.sqrt(2)))).astype(z.dtype)


def _gelu_slope(z: np.ndarray) -> np.ndarray:
    cdf = 0.5 * (1 + _erf(z / math.sqrt(2)))
    return cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _selu(z: np.ndarray) -> np.ndarray:
    return (_SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0)))).astype(
        z.dtype, copy=False)


def _silu_slope(z: np.ndarray) -> np.ndarray:
    s = _sigmoid(z)
    return s * (1 + z * (1 - s))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("linear", lambda z: z, lambda z, a, g: g),
        Activation("relu", lambda z: np.maximum(z, 0), lambda z, a, g: g * (z > 0)),
        Activation("relu6", lambda z: np.clip(z, 0, 6), lambda z, a, g: g * ((z > 0) & (z < 6))),
        Activation("leaky_relu", lambda z: np.where(z > 0, z, 0.2 * z),
                   lambda z, a, g: np.where(z > 0, g, 0.2 * g)),
        Activation("elu", lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
                   lambda z, a, g: np.where(z > 0, g, g * (a + 1))),
        Activation("sigmoid", _sigmoid, lambda z, a, g: g * a * (1 - a)),
        Activation("tanh", np.tanh, lambda z, a, g: g * (1 - a * a)),
        Activation("softmax", _softmax,
                   lambda z, a, g: a * (g - (g * a).sum(axis=-1, keepdims=True))),
        Activation("log_softmax", _log_softmax,
                   lambda z, a, g: g - np.exp(a) * g.sum(axis=-1, keepdims=True)),
        Activation("softplus", _softplus, lambda z, a, g: g * _sigmoid(z)),
        Activation("softsign", lambda z: z / (1 + np.abs(z)),
                   lambda z, a, g: g / (1 + np.abs(z)) ** 2),
        Activation("silu", lambda z: z * _sigmoid(z), lambda z, a, g: g * _silu_slope(z)),
        Activation("exponential", np.exp, lambda z, a, g: g * a),
        Activation("selu", _selu, lambda z, a, g: np.where(
            z > 0, _SELU_SCALE * g, g * (a + _SELU_SCALE * _SELU_ALPHA))),
        Activation("gelu", _gelu, lambda z, a, g: (g * _gelu_slope(z)).astype(g.dtype)),
        Activation("hard_sigmoid", lambda z: np.clip(z / 6 + 0.5, 0, 1).astype(z.dtype),
                   lambda z, a, g: g * ((z > -3) & (z < 3)) / 6),
    ]
}
ACTIVATIONS["swish"] = ACTIVATIONS["silu"]


def _numerical_backward(function: Callable[[np.ndarray], np.ndarray]
                        ) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The derivative of an elementwise ``function``: by complex step (exact to rounding) when
    the function accepts complex numbers, else by central differences."""
    def backward(z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        z64 = z.astype(np.float64)
        try:
            with np.errstate(all="ignore"):
                stepped = np.asarray(function(z64 + 1e-30j))
            if np.iscomplexobj(stepped) and np.all(np.isfinite(stepped)):
                return (g * (stepped.imag / 1e-30)).astype(g.dtype)
        except (TypeError, ValueError):
            pass
        h = np.cbrt(np.finfo(np.float64).eps) * (1 + np.abs(z64))
        slope = (np.asarray(function(z64 + h)) - np.asarray(function(z64 - h))) / (2 * h)
        return (g * slope).astype(g.dtype)
    return backward


def get(identifier: str | Activation | Callable[[np.ndarray], np.ndarray] | None
        ) -> Activation:
    """The activation named ``identifier`` (None means "linear"), or any elementwise callable,
    whose derivative is then taken numerically (``_numerical_backward``)."""
    if identifier is None:
        return ACTIVATIONS["linear"]
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return ACTIVATIONS[identifier]
    if callable(identifier) and not isinstance(identifier, str):
        return Activation(getattr(identifier, "__name__", "custom"), identifier,
                          _numerical_backward(identifier))
    raise ValueError(f"Unknown activation. Expected one of {sorted(ACTIVATIONS)} or a "
                     f"callable. Received: activation={identifier!r}")
