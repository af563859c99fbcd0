"""Keras' optimisers ``SGD`` (with momentum and Nesterov), ``Adam``, ``AdamW``, ``Nadam``,
``RMSprop`` and ``Adagrad``, on NumPy.

An optimiser updates arrays in place: ``apply(params, grads, key)`` where ``key`` names the
layer (its state, such as Adam's moments, is kept per ``key`` and weight name).

Update rules, as Keras writes them (``g`` the gradient, ``lr`` the learning rate)::

    SGD            w -= lr * g
    momentum       v = momentum * v - lr * g;  w += v
    Nesterov       v = momentum * v - lr * g;  w += momentum * v - lr * g
    Adam           m += (1 - beta_1) * (g - m);  v += (1 - beta_2) * (g * g - v)
                   w -= lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (sqrt(v) + epsilon)
    RMSprop        v = rho * v + (1 - rho) * g * g;  w -= lr * g / sqrt(v + epsilon)
    Adagrad        a += g * g;  w -= lr * g / sqrt(a + epsilon)
    weight_decay   w -= w * weight_decay * lr, before the update (AdamW: Adam with it)

Nadam's rule (Dozat, 2016, as Keras writes it) is in its docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .layers import _compiled


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

    def __init__(self, learning_rate: float | ExponentialDecay,
                 weight_decay: float | None = None) -> None:
        if weight_decay is not None and (isinstance(weight_decay, bool) or not isinstance(
                weight_decay, (int, float)) or weight_decay < 0):
            raise ValueError(f"{type(self).__name__}: weight_decay must be a non-negative "
                             f"number or None. Received: weight_decay={weight_decay!r}")
        self.weight_decay = weight_decay
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

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """A new fixed rate (as callbacks set it); not over a schedule, as Keras."""
        if callable(self._learning_rate):
            raise TypeError(f"{type(self).__name__}: the learning rate is a schedule "
                            f"({type(self._learning_rate).__name__}) and cannot be set. "
                            f"Received: learning_rate={value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or (
                not value > 0 or not math.isfinite(value)):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a positive "
                             f"number. Received: learning_rate={value!r}")
        self._learning_rate = float(value)

    def apply(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
              key: str = "") -> None:
        """Update each ``params[name]`` in place from ``grads[name]``."""
        for name, grad in grads.items():
            if self.weight_decay:
                weight = params[name]
                weight -= weight * weight.dtype.type(self.weight_decay * self.learning_rate)
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
                 nesterov: bool = False, weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay)
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
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= value < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1). Received: "
                                 f"{name}={value!r}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _step_rate(self) -> float:
        """This step's bias-corrected rate, computed once per step (and per rate)."""
        rate = self.learning_rate
        if self.__dict__.get("_rate_for") != (self.iterations, rate):
            t = self.iterations + 1
            self._rate_for = (self.iterations, rate)
            self._rate = rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        return self._rate

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        m, v = self._slots(key, weight, 2)
        lr = self._step_rate()
        if type(self) in (Adam, AdamW) and weight.flags.c_contiguous and (
                weight.dtype in _compiled.FLOATS and m.dtype == weight.dtype):
            # one compiled pass over the four arrays (v is made with m: ``_slots``)
            _compiled.adam(weight, grad, m, v, lr, self.beta_1, self.beta_2, self.epsilon)
            return
        m += (1 - self.beta_1) * (grad - m)
        v += (1 - self.beta_2) * (grad * grad - v)
        weight -= (lr * m / (np.sqrt(v) + self.epsilon)).astype(weight.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``keras.optimizers.AdamW`` (Loshchilov and
    Hutter, 2019): ``w -= w * weight_decay * lr`` before each Adam step."""

    def __init__(self, learning_rate: float | ExponentialDecay = 0.001,
                 weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay)


class Nadam(Adam):
    """Adam with Nesterov momentum, as ``keras.optimizers.Nadam`` (Dozat, 2016).

    With ``u_t = beta_1 * (1 - 0.5 * 0.96 ** t)`` and ``P_t = u_1 * ... * u_t``::

        m += (1 - beta_1) * (g - m);  v += (1 - beta_2) * (g * g - v)
        m_hat = u_{t+1} * m / (1 - P_t * u_{t+1}) + (1 - u_t) * g / (1 - P_t)
        w -= lr * m_hat / (sqrt(v / (1 - beta_2 ** t)) + epsilon)
    """

    def __init__(self, learning_rate: float | ExponentialDecay = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay)
        self._u_product = 1.0
        self._u_step = -1  # the iteration ``_u_product`` was last advanced for

    def _u(self, t: int) -> float:
        return self.beta_1 * (1 - 0.5 * 0.96 ** t)

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        t = self.iterations + 1
        if self._u_step != self.iterations:  # once per step, before the first weight
            self._u_product *= self._u(t)
            self._u_step = self.iterations
        m, v = self._slots(key, weight, 2)
        u_t, u_next = self._u(t), self._u(t + 1)
        m += (1 - self.beta_1) * (grad - m)
        v += (1 - self.beta_2) * (grad * grad - v)
        m_hat = u_next * m / (1 - self._u_product * u_next) + (1 - u_t) * grad / (
            1 - self._u_product)
        v_hat = v / (1 - self.beta_2 ** t)
        weight -= (self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)).astype(
            weight.dtype, copy=False)


class RMSprop(Optimizer):
    """RMSprop, as ``keras.optimizers.RMSprop`` (Keras' default optimiser in ``compile``).

    ``v = rho * v + (1 - rho) * g * g;  step = lr * g / sqrt(v + epsilon)``; with
    ``centered``, ``v - mean_g ** 2`` replaces ``v`` (``mean_g`` the same average of ``g``);
    with ``momentum``, ``s = momentum * s + step;  w -= s``, else ``w -= step``.
    """

    def __init__(self, learning_rate: float | ExponentialDecay = 0.001, rho: float = 0.9,
                 momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay)
        if not 0 <= rho < 1:
            raise ValueError(f"RMSprop: rho must be in [0, 1). Received: rho={rho!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"RMSprop: momentum must be in [0, 1]. Received: "
                             f"momentum={momentum!r}")
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        v, average, moment = self._slots(key, weight, 3)
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        denominator = v + self.epsilon
        if self.centered:
            average *= self.rho
            average += (1 - self.rho) * grad
            denominator = denominator - average * average
        step = self.learning_rate * grad / np.sqrt(denominator)
        if self.momentum > 0:
            moment *= self.momentum
            moment += step
            step = moment
        weight -= step.astype(weight.dtype, copy=False)


class Adagrad(Optimizer):
    """Adagrad, as ``keras.optimizers.Adagrad``: ``a += g * g;  w -= lr * g / sqrt(a + eps)``,
    the accumulator ``a`` starting at ``initial_accumulator_value``."""

    def __init__(self, learning_rate: float | ExponentialDecay = 0.001,
                 initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay)
        if initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: initial_accumulator_value must be non-negative. "
                             f"Received: initial_accumulator_value={initial_accumulator_value!r}")
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _update(self, weight: np.ndarray, grad: np.ndarray, key: tuple[str, str]) -> None:
        fresh = key not in self._state
        (a,) = self._slots(key, weight, 1)
        if fresh:
            a += self.initial_accumulator_value
        a += grad * grad
        weight -= (self.learning_rate * grad / np.sqrt(a + self.epsilon)).astype(
            weight.dtype, copy=False)


OPTIMIZERS: dict[str, Callable[[], Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW,
                                                  "nadam": Nadam, "rmsprop": RMSprop,
                                                  "adagrad": Adagrad}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimiser by Keras name ("sgd", "adam"), with its defaults, or the object itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"Unknown optimizer. Expected one of {sorted(OPTIMIZERS)} or an "
                     f"Optimizer. Received: optimizer={identifier!r}")


__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "ExponentialDecay", "Nadam", "Optimizer",
           "RMSprop", "get"]
