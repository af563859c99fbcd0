"""Keras' weight regularizers: a penalty added to the loss, and its gradient.

::

    L1(l1)        l1 * sum(|w|)               gradient  l1 * sign(w)
    L2(l2)        l2 * sum(w ** 2)            gradient  2 * l2 * w
    L1L2(l1, l2)  the sum of both

Pass one (or its name, "l1", "l2", "l1_l2", with Keras' default factor 0.01) as a layer's
``kernel_regularizer`` or ``bias_regularizer``; ``fit`` and ``train_on_batch`` add the
penalties to the loss they report and their gradients to the weights'.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .layers._base import serializable


class Regularizer:
    """A penalty on one weight: ``regularizer(w)`` and ``regularizer.gradient(w)``."""

    def __call__(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


def _factor(value: object, name: str, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{kind}: {name} must be a non-negative number. Received: "
                         f"{name}={value!r}")
    return float(value)


@serializable
@dataclass
class L1L2(Regularizer):
    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        self.l1 = _factor(self.l1, "l1", type(self).__name__)
        self.l2 = _factor(self.l2, "l2", type(self).__name__)

    def __call__(self, w: np.ndarray) -> float:
        return float(self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum())

    def gradient(self, w: np.ndarray) -> np.ndarray:
        return (self.l1 * np.sign(w) + 2 * self.l2 * w).astype(w.dtype, copy=False)


@serializable
class L1(L1L2):
    """``l1 * sum(|w|)``, as ``keras.regularizers.L1``."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1, l2=0.0)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@serializable
class L2(L1L2):
    """``l2 * sum(w ** 2)``, as ``keras.regularizers.L2``."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l1=0.0, l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


REGULARIZERS = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}


def get(identifier: object) -> Regularizer | None:
    """The regularizer named ``identifier`` (None: none), or ``identifier`` itself."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in REGULARIZERS:
        return REGULARIZERS[identifier]()
    raise ValueError(f"Unknown regularizer. Expected one of {sorted(REGULARIZERS)} or a "
                     f"Regularizer. Received: regularizer={identifier!r}")


l1, l2 = L1, L2

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l2"]
