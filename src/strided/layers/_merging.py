"""Keras' merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Concatenate``, each called on a list of inputs.

Inputs of equal shapes (Keras also broadcasts; so do these, summing gradients back over
broadcast axes).  Backward, from dy::

    Add        dx_i = dy                      Subtract   dx_0 = dy, dx_1 = -dy
    Multiply   dx_i = dy * prod_{j != i} x_j  Average    dx_i = dy / n
    Maximum    dy to the first input holding the maximum (Minimum likewise)
    Concatenate  dy split along the axis
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ._base import Layer, Shape


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``g`` summed over the axes that broadcasting added to an array of ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class Merge(Layer):
    """The base of the merge layers: a list of inputs, one output."""

    multiple_inputs = True

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._cache: Any = None

    def _check(self, shapes: Sequence[Shape]) -> None:
        kind = type(self).__name__
        if not isinstance(shapes, (list, tuple)) or len(shapes) < 2:
            raise ValueError(f"{kind}: a merge layer should be called on a list of at least 2 "
                             f"inputs. Received: {len(shapes) if isinstance(shapes, list) else 1}"
                             f" input(s)")

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Shape:
        self._check(input_shape)
        rank = max(len(s) for s in input_shape)
        out: list[int | None] = []
        for axis in range(rank):
            sizes = {s[axis - rank + len(s)] for s in input_shape if axis - rank + len(s) >= 0}
            known = {n for n in sizes if n is not None and n != 1}
            if len(known) > 1:
                raise ValueError(f"{type(self).__name__}: inputs must have the same shape (or "
                                 f"shapes that broadcast). Received: input shapes "
                                 f"{[tuple(s) for s in input_shape]}")
            out.append(known.pop() if known else (None if None in sizes else 1))
        return tuple(out)

    def _merge(self, xs: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def call(self, inputs: list[np.ndarray], training: bool = False) -> np.ndarray:  # type: ignore[override]
        self._check([x.shape for x in inputs])
        y = self._merge(inputs)
        self._cache = (inputs, y) if training else None
        return y

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> list[np.ndarray]:  # type: ignore[override]
        xs, y = self._cached(self._cache)
        return [_unbroadcast(d, x.shape).astype(x.dtype, copy=False)
                for d, x in zip(self._grads(xs, y, grad_output), xs)]


class Add(Merge):
    """The sum of the inputs, as ``keras.layers.Add``."""

    def _merge(self, xs: list[np.ndarray]) -> np.ndarray:
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y = y + x
        return y

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        return [g] * len(xs)


class Subtract(Merge):
    """The first input minus the second, as ``keras.layers.Subtract`` (exactly 2 inputs)."""

    def _check(self, shapes: Sequence[Shape]) -> None:
        if not isinstance(shapes, (list, tuple)) or len(shapes) != 2:
            raise ValueError(f"Subtract: a Subtract layer should be called on exactly 2 inputs."
                             f" Received: {len(shapes) if isinstance(shapes, list) else 1} "
                             f"input(s)")

    def _merge(self, xs: list[np.ndarray]) -> np.ndarray:
        return xs[0] - xs[1]

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        return [g, -g]


class Multiply(Merge):
    """The elementwise product of the inputs, as ``keras.layers.Multiply``."""

    def _merge(self, xs: list[np.ndarray]) -> np.ndarray:
        y = xs[0] * xs[1]
        for x in xs[2:]:
            y = y * x
        return y

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        out = []
        for i in range(len(xs)):
            d = g
            for j, x in enumerate(xs):
                if j != i:
                    d = d * x
            out.append(d)
        return out


class Average(Merge):
    """The mean of the inputs, as ``keras.layers.Average``."""

    def _merge(self, xs: list[np.ndarray]) -> np.ndarray:
        return Add._merge(self, xs) / len(xs)  # type: ignore[arg-type]

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        return [g / len(xs)] * len(xs)


class Maximum(Merge):
    """The elementwise maximum of the inputs, as ``keras.layers.Maximum``; the gradient goes
    to the first input holding it."""

    pick: ClassVar[np.ufunc] = np.maximum  # a ufunc does not bind as a method

    def _merge(self, xs: list[np.ndarray]) -> np.ndarray:
        y = self.pick(xs[0], xs[1])
        for x in xs[2:]:
            y = self.pick(y, x)
        return y

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        taken = np.zeros(np.broadcast_shapes(*(x.shape for x in xs)), bool)
        out = []
        for x in xs:
            hit = (x == y) & ~taken
            taken |= hit
            out.append(g * hit)
        return out


class Minimum(Maximum):
    """The elementwise minimum of the inputs, as ``keras.layers.Minimum``."""

    pick = np.minimum


class Concatenate(Merge):
    """The inputs joined along ``axis``, as ``keras.layers.Concatenate``.

    >>> import numpy as np
    >>> Concatenate()([np.zeros((2, 3)), np.ones((2, 4))]).shape
    (2, 7)
    """

    def __init__(self, axis: int = -1, **kwargs: object) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate: axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape: Any) -> Shape:
        self._check(input_shape)
        rank = len(input_shape[0])
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Concatenate: axis must be a non-batch axis of the inputs. "
                             f"Received: axis={self.axis}, input shapes "
                             f"{[tuple(s) for s in input_shape]}")
        axis = self.axis % rank
        for s in input_shape:
            if len(s) != rank or any(a != b and None not in (a, b) for i, (a, b) in
                                     enumerate(zip(s, input_shape[0])) if i != axis):
                raise ValueError(f"Concatenate: a Concatenate layer requires inputs with "
                                 f"matching shapes except for the concatenation axis. "
                                 f"Received: input_shape={[tuple(s) for s in input_shape]}")
        sizes = [s[axis] for s in input_shape]
        out = list(input_shape[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def call(self, inputs: list[np.ndarray], training: bool = False) -> np.ndarray:  # type: ignore[override]
        self.compute_output_shape([x.shape for x in inputs])
        y = np.concatenate(inputs, axis=self.axis)
        self._cache = (inputs, y) if training else None
        return y

    def _grads(self, xs: list[np.ndarray], y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        cuts = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return np.split(g, cuts, axis=self.axis)


def add(inputs: list[Any], **kwargs: object) -> Any:
    """``Add()(inputs)``, as ``keras.layers.add``."""
    return Add(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: object) -> Any:
    """``Concatenate(axis)(inputs)``, as ``keras.layers.concatenate``."""
    return Concatenate(axis, **kwargs)(inputs)
