"""Weight initialisers by Keras name, with Keras' fan rules and distributions.

For a kernel of shape (*K, C_in, C_out): ``fan_in = prod(K) * C_in`` and
``fan_out = prod(K) * C_out``.  Variance-scaling initialisers draw with variance
``scale / n`` where ``n`` is fan_in, fan_out or their mean; "normal" ones draw from a normal
truncated at two standard deviations, as Keras does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .. import _random
from ._base import serializable

Shape = Sequence[int]


def compute_fans(shape: Shape) -> tuple[int, int]:
    """Keras' (fan_in, fan_out) of a weight shape."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Draws an initial array of a given shape and dtype; seeded ones repeat their draw."""

    seed: int | None = None

    def _generator(self) -> np.random.Generator:
        return _random.generator() if self.seed is None else np.random.default_rng(self.seed)

    def __call__(self, shape: Shape, dtype: np.dtype | str = "float32") -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, object]:
        return asdict(self)  # type: ignore[call-overload]


@serializable
@dataclass
class Constant(Initializer):
    value: float = 0.0

    def __call__(self, shape: Shape, dtype: np.dtype | str = "float32") -> np.ndarray:
        return np.full(tuple(shape), self.value, dtype=dtype)


@serializable
@dataclass
class RandomNormal(Initializer):
    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def __call__(self, shape: Shape, dtype: np.dtype | str = "float32") -> np.ndarray:
        return self._generator().normal(self.mean, self.stddev, tuple(shape)).astype(dtype)


@serializable
@dataclass
class RandomUniform(Initializer):
    minval: float = -0.05
    maxval: float = 0.05
    seed: int | None = None

    def __call__(self, shape: Shape, dtype: np.dtype | str = "float32") -> np.ndarray:
        return self._generator().uniform(self.minval, self.maxval, tuple(shape)).astype(dtype)


def _truncated_normal(rng: np.random.Generator, stddev: float, shape: Shape) -> np.ndarray:
    """Normal(0, stddev) redrawn wherever it falls beyond two standard deviations."""
    values = rng.normal(0.0, stddev, tuple(shape))
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = rng.normal(0.0, stddev, int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values


@serializable
@dataclass
class TruncatedNormal(Initializer):
    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def __call__(self, shape: Shape, dtype: np.dtype | str = "float32") -> np.ndarray:
        return (self.mean + _truncated_normal(self._generator(), self.stddev, shape)).astype(dtype)


@serializable
@dataclass
class VarianceScaling(Initializer):
    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    seed: int | None = None

    def __call__(self, shape: Shape, dtype: np.dtype | str = "float32") -> np.ndarray:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return rng.uniform(-limit, limit, tuple(shape)).astype(dtype)
        # 0.8796... is the standard deviation of a unit normal truncated at +-2
        stddev = math.sqrt(variance) / 0.87962566103423978
        return _truncated_normal(rng, stddev, shape).astype(dtype)


def GlorotUniform(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def GlorotNormal(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)


def HeUniform(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def HeNormal(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def LecunUniform(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def LecunNormal(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


INITIALIZERS: dict[str, Callable[[], Initializer]] = {
    "zeros": lambda: Constant(0.0),
    "ones": lambda: Constant(1.0),
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
}


def get(identifier: str | Initializer) -> Initializer:
    """The initialiser named ``identifier``, or ``identifier`` itself."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier in INITIALIZERS:
        return INITIALIZERS[identifier]()
    raise ValueError(f"Unknown initializer. Expected one of {sorted(INITIALIZERS)} or an "
                     f"Initializer. Received: initializer={identifier!r}")
