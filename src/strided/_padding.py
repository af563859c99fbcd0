"""Padding modes and their adjoints: PyTorch's zeros, reflect, replicate, circular, and symmetric.

A non-zero mode is an index map per spatial dimension: padded position ``i`` reads input
position ``source_index(...)[i]``.  Padding gathers along that map; the gradient of padding
scatters back along the same map, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# PyTorch's names -> NumPy's np.pad modes with the same meaning; "symmetric" (the edge
# repeated, scipy.signal's "symm") has no PyTorch name.
_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap",
                "symmetric": "symmetric"}


def source_index(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each of the ``lo + size + hi`` padded positions, the input position it copies.

    >>> source_index(3, 2, 2, "reflect").tolist()
    [2, 1, 0, 1, 2, 1, 0]
    >>> source_index(3, 2, 2, "replicate").tolist()
    [0, 0, 0, 1, 2, 2, 2]
    >>> source_index(3, 2, 2, "circular").tolist()
    [1, 2, 0, 1, 2, 0, 1]
    """
    return np.pad(np.arange(size), (lo, hi), mode=_NUMPY_MODES[mode])  # type: ignore[call-overload]


def pad(x: np.ndarray, padding: Sequence[tuple[int, int]], mode: str) -> np.ndarray:
    """Pad the spatial axes ``1 .. rank`` of a channels-last ``x`` with ``mode``.

    ``x``: (batch, *size, channels) -> (batch, *(size + lo + hi), channels).
    """
    if mode == "zeros":
        return np.pad(x, [(0, 0), *padding, (0, 0)])
    for axis, (lo, hi) in enumerate(padding, start=1):
        if lo or hi:
            x = np.take(x, source_index(x.shape[axis], lo, hi, mode), axis=axis)
    return x


def pad_adjoint(grad_padded: np.ndarray, padding: Sequence[tuple[int, int]], mode: str
                ) -> np.ndarray:
    """The gradient of ``pad``: every padded position adds its gradient to its source.

    ``grad_padded``: (batch, *(size + lo + hi), channels) -> (batch, *size, channels).
    """
    grad = grad_padded
    for axis, (lo, hi) in enumerate(padding, start=1):
        if not (lo or hi):
            continue
        size = grad.shape[axis] - lo - hi
        inner = [slice(None)] * grad.ndim
        inner[axis] = slice(lo, lo + size)
        result = grad[tuple(inner)].copy()
        if mode != "zeros":
            index = source_index(size, lo, hi, mode)
            border = np.r_[0:lo, lo + size:lo + size + hi]
            # Moving the axis first lets np.add.at scatter whole slices at once.
            np.add.at(np.moveaxis(result, axis, 0), index[border],
                      np.moveaxis(np.take(grad, border, axis=axis), axis, 0))
        grad = result
    return grad
