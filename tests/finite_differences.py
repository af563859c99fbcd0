"""Central finite differences: the gradient every backward pass is checked against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_gradient(f: Callable[[], float], a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """``(f(a + eps e_i) - f(a - eps e_i)) / 2 eps`` for every entry i of ``a``, changed in
    place and restored; ``f`` reads ``a``."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g
