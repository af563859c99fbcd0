"""Keras' optimisers ``SGD`` (with momentum and Nesterov), ``Adam`` and ``RMSprop``, on NumPy.

An optimiser updates arrays in place: ``apply(params, grads, key)`` where ``key`` names the
layer (its state, such as Adam's moments, is kept per ``key`` and weight name).

Update rules, as Keras writes them (``g`` the gradient, ``lr`` the learning rate)::

    SGD            w -= lr * g
    momentum       v = momentum * v - lr * g;  w += v
    Nesterov       v = momentum * v - lr * g;  w += momentum * v - lr * g
    Adam           m += (1 - beta_1) * (g - m);  v += (1 - beta_2) * (g * g - v)
                   w -= lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (sqrt(v) + epsilon)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


class ExponentialDecay:
    """A learning rate that decays with the step, as ``keras.optimizers.schedules``' one.

    ``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored when
    ``staircase``).  Pass it as an optimiser's ``learning_rate``.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False) -> None:
        if decay_steps < 1 or not 0 < decay_rate <= 1 or initial_learning_rate <= 0:
            raise ValueError(f"ExponentialDecay: needs initial_learning_rate > 0, decay_steps "
                             f">= 1 and decay_rate in (0, 1]. Received: initial_learning_rate="
                             f"{initial_learning_rate!r}, decay_steps={decay_steps!r}, "
                             f"decay_rate={decay_rate!r}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps, self.decay_rate, self.staircase = decay_steps, decay_rate, staircase

    def __call__(self, step: int) -> float:
        power = step / self.decay_steps
        if self.staircase:
            power = math.floor(power)
        return self.initial_learning_rate * self.decay_rate ** power


class Optimizer:
    """Base class: a learning rate (a number or a schedule), a step count, per-weight state."""

    def __init__(self, learning_rate: float | ExponentialDecay) -> None:
        if not callable(learning_rate) and (
                isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
                or learning_rate <= 0):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a positive number "
                             f"or a schedule. Received: learning_rate={learning_rate!r}")
        self._learning_rate = learning_rate
        self.iterations = 0
        self._state: dict[tuple[str, str], list[np.ndarray]] = {}

    @property
    def learning_rate(self) -> float:
        """The learning rate of the current step."""
        rate = self._learning_rate
        return float(rate(self.iterations) if callable(rate) else rate)

    def apply(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
              key: str = "") -> None:
        """Update each ``params[name]`` in place from ``grads[name]``."""
        for name, grad in grads.items():
            self._update(params[name], grad, (key, name))

    def finish_step(self) -> None:
        """Count one step (Adam's bias correction uses the count)."""
        self.iterations += 1

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        raise NotImplementedError

    def _slots(self, key: tuple[str, str], weight: np.ndarray, count: int) -> list[np.ndarray]:
        slots = self._state.get(key)
        if slots is None or slots[0].shape != weight.shape:
            slots = self._state[key] = [np.zeros_like(weight) for _ in range(count)]
        return slots

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


class SGD(Optimizer):
    """Stochastic gradient descent, as ``keras.optimizers.SGD``.

    Parameters
    ----------
    learning_rate : float
        Keras' default 0.01.
    momentum : float
        In [0, 1]; 0 is plain SGD.
    nesterov : bool
        Nesterov momentum.
    """

    def __init__(self, learning_rate: float | ExponentialDecay = 0.01, momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(learning_rate)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or \
                not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be a float in [0, 1]. Received: "
                             f"momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        lr = weight.dtype.type(self.learning_rate)
        if not self.momentum:
            weight -= lr * grad
            return
        (velocity,) = self._slots(key, weight, 1)
        velocity *= self.momentum
        velocity -= lr * grad
        if self.nesterov:
            weight += self.momentum * velocity - lr * grad
        else:
            weight += velocity


class Adam(Optimizer):
    """Adam, as ``keras.optimizers.Adam`` (Kingma and Ba, 2014).

    Parameters
    ----------
    learning_rate : float
        Keras' default 0.001.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates.
    epsilon : float
        Keras' default 1e-7 (PyTorch's is 1e-8).
    """

    def __init__(self, learning_rate: float | ExponentialDecay = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= value < 1:
                raise ValueError(f"Adam: {name} must be in [0, 1). Received: {name}={value!r}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        m, v = self._slots(key, weight, 2)
        t = self.iterations + 1
        lr = self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m += (1 - self.beta_1) * (grad - m)
        v += (1 - self.beta_2) * (grad * grad - v)
        weight -= (lr * m / (np.sqrt(v) + self.epsilon)).astype(weight.dtype, copy=False)


class RMSprop(Optimizer):
    """RMSprop, as ``keras.optimizers.RMSprop`` (Keras' default optimiser in ``compile``).

    ``v = rho * v + (1 - rho) * g * g;  w -= lr * g / (sqrt(v) + epsilon)``
    """

    def __init__(self, learning_rate: float | ExponentialDecay = 0.001, rho: float = 0.9,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate)
        if not 0 <= rho < 1:
            raise ValueError(f"RMSprop: rho must be in [0, 1). Received: rho={rho!r}")
        self.rho, self.epsilon = rho, epsilon

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        (v,) = self._slots(key, weight, 1)
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        weight -= (self.learning_rate * grad / (np.sqrt(v) + self.epsilon)).astype(
            weight.dtype, copy=False)


OPTIMIZERS: dict[str, Callable[[], Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimiser by Keras name ("sgd", "adam"), with its defaults, or the object itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"Unknown optimizer. Expected one of {sorted(OPTIMIZERS)} or an "
                     f"Optimizer. Received: optimizer={identifier!r}")


__all__ = ["SGD", "Adam", "ExponentialDecay", "Optimizer", "RMSprop", "get"]
