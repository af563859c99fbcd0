"""Keras' weight constraints: a projection applied to a weight after each optimiser step.

::

    NonNeg()                         max(w, 0)
    MaxNorm(max_value, axis)         w * clip(n, 0, max_value) / (epsilon + n)
    UnitNorm(axis)                   w / (epsilon + n)
    MinMaxNorm(min, max, rate, axis) w * (rate * clip(n, min, max) + (1 - rate) * n) / (eps + n)

with ``n`` the L2 norm of ``w`` over ``axis`` (Keras' default 0) and ``epsilon = 1e-7``.
Pass one (or its name) as a layer's ``kernel_constraint`` or ``bias_constraint``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .layers._base import serializable

EPSILON = 1e-7  # Keras' backend.epsilon()


class Constraint:
    """A projection of one weight: ``constraint(w)`` returns the projected array."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def get_config(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


def _norms(w: np.ndarray, axis: int | Sequence[int]) -> np.ndarray:
    axes = tuple(axis) if isinstance(axis, Sequence) else axis
    return np.sqrt(np.square(w).sum(axis=axes, keepdims=True))


@serializable
@dataclass
class NonNeg(Constraint):
    def __call__(self, w: np.ndarray) -> np.ndarray:
        return np.maximum(w, 0)


@serializable
@dataclass
class MaxNorm(Constraint):
    max_value: float = 2.0
    axis: int | Sequence[int] = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        n = _norms(w, self.axis)
        return (w * (np.clip(n, 0, self.max_value) / (EPSILON + n))).astype(w.dtype)


@serializable
@dataclass
class UnitNorm(Constraint):
    axis: int | Sequence[int] = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype)


@serializable
@dataclass
class MinMaxNorm(Constraint):
    min_value: float = 0.0
    max_value: float = 1.0
    rate: float = 1.0
    axis: int | Sequence[int] = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        n = _norms(w, self.axis)
        desired = self.rate * np.clip(n, self.min_value, self.max_value) + (1 - self.rate) * n
        return (w * (desired / (EPSILON + n))).astype(w.dtype)


CONSTRAINTS = {"non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm,
               "min_max_norm": MinMaxNorm}


def get(identifier: object) -> Constraint | None:
    """The constraint named ``identifier`` (None: none), or ``identifier`` itself."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str) and identifier in CONSTRAINTS:
        return CONSTRAINTS[identifier]()
    raise ValueError(f"Unknown constraint. Expected one of {sorted(CONSTRAINTS)} or a "
                     f"Constraint. Received: constraint={identifier!r}")


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get"]
