"""Activations by Keras name, each with its derivative beside it.

``backward(z, a, grad_a)`` returns d(loss)/dz given the pre-activation ``z``, the activation
``a = forward(z)`` and d(loss)/da; each rule uses whichever of ``z`` and ``a`` is cheaper.
"""

from __future__ import annotations

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


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, z).astype(z.dtype, copy=False)


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
        Activation("softplus", _softplus, lambda z, a, g: g * _sigmoid(z)),
        Activation("softsign", lambda z: z / (1 + np.abs(z)),
                   lambda z, a, g: g / (1 + np.abs(z)) ** 2),
        Activation("silu", lambda z: z * _sigmoid(z), lambda z, a, g: g * _silu_slope(z)),
        Activation("exponential", np.exp, lambda z, a, g: g * a),
    ]
}
ACTIVATIONS["swish"] = ACTIVATIONS["silu"]


def get(identifier: str | Activation | None) -> Activation:
    """The activation named ``identifier`` (None means "linear")."""
    if identifier is None:
        return ACTIVATIONS["linear"]
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return ACTIVATIONS[identifier]
    raise ValueError(f"Unknown activation. Expected one of {sorted(ACTIVATIONS)} or an "
                     f"Activation. Received: activation={identifier!r}")
