"""Keras' training callbacks: ``EarlyStopping``, ``ModelCheckpoint``, ``LearningRateScheduler``,
``ReduceLROnPlateau`` and ``LambdaCallback``, passed as ``model.fit(..., callbacks=[...])``.

``fit`` calls, in order, ``on_train_begin()``, then per epoch ``on_epoch_begin(epoch)``,
``on_train_batch_begin(step)`` / ``on_train_batch_end(step, logs)`` around each step and
``on_epoch_end(epoch, logs)`` with the epoch's logs (``loss``, the metrics and, with
validation data, ``val_loss`` and ``val_<metric>``), then ``on_train_end()``.  A callback
reaches the model as ``self.model``; setting ``model.stop_training = True`` ends training
after the epoch.  ``fit`` returns the ``History`` (``strided.models.History``).

A monitored quantity ``monitor`` is improved when it is lower (``mode="min"``) or higher
(``"max"``) than the best so far by more than ``min_delta``; ``"auto"`` means "max" for
accuracies and "min" otherwise, as Keras.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Callback", "EarlyStopping", "LambdaCallback", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau"]

Logs = dict[str, float]


class Callback:
    """Base class: every hook does nothing; ``self.model`` is set by ``fit``."""

    model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...


def _mode(mode: str, monitor: str, kind: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{kind}: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor or monitor.endswith("auc") else "min"
    return mode


class _Monitor(Callback):
    """A callback watching ``monitor``: ``_improved(value)`` against the best so far."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        kind = type(self).__name__
        if not isinstance(monitor, str):
            raise TypeError(f"{kind}: monitor must be the name of a log entry. Received: "
                            f"monitor={monitor!r}")
        self.monitor = monitor
        self.mode = _mode(mode, monitor, kind)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _value(self, logs: Logs | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: the logs have no {self.monitor!r} (they "
                          f"have {sorted(logs or {})}); skipping. Give fit validation data "
                          f"for a val_ quantity", RuntimeWarning, stacklevel=3)
        return value

    def _improved(self, value: float, best: float | None = None) -> bool:
        best = self.best if best is None else best
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has stopped improving, as ``keras.callbacks.EarlyStopping``.

    Parameters
    ----------
    monitor : str
        A log entry, e.g. "val_loss" (default) or "val_accuracy".
    min_delta : float
        The least change that counts as an improvement.
    patience : int
        Epochs without improvement after which training stops.
    mode : {"auto", "min", "max"}
    baseline : float, optional
        Training stops after ``patience`` epochs unless the quantity beats it.
    restore_best_weights : bool
        When stopping, set the weights of the best epoch back.
    start_from_epoch : int
        Epochs of warm-up during which nothing is watched.

    Attributes
    ----------
    stopped_epoch : int
        The epoch (counting from 0) training stopped after; 0 if it did not stop early.
    best_epoch : int
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int. Received: "
                             f"patience={patience!r}")
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = self._value(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # the first epoch's, at worst
        self.wait += 1
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
                if self.verbose:
                    print(f"Restoring the weights of the best epoch, {self.best_epoch + 1}.")

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(_Monitor):
    """Save the model or its weights after each epoch, as ``keras.callbacks.ModelCheckpoint``.

    Parameters
    ----------
    filepath : str or path
        May hold ``{epoch}`` (counting from 1) and log entries in ``str.format`` fields,
        e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.strided"`` (a whole model; weights alone:
        ``.safetensors`` or ``.npz``).  Written atomically (``save_weights`` or ``save``).
    monitor : str
        The quantity ``save_best_only`` compares (default "val_loss").
    save_best_only : bool
        Save only when ``monitor`` improves on the best so far.
    save_weights_only : bool
        ``model.save_weights`` instead of ``model.save``.
    mode : {"auto", "min", "max"}
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, 0.0)
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only save_freq='epoch' is supported. "
                             f"Received: save_freq={save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.verbose, self.save_best_only = verbose, save_best_only
        self.save_weights_only = save_weights_only
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)

    def _path(self, epoch: int, logs: Logs) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as error:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {error}, which "
                           f"the logs do not have (they have {sorted(logs)})") from None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        if self.save_best_only:
            value = self._value(logs)
            if value is None or not self._improved(value):
                return
            self.best = value
        path = self._path(epoch, logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")


class LearningRateScheduler(Callback):
    """Set the learning rate before each epoch, as ``keras.callbacks.LearningRateScheduler``.

    ``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``), epochs counting from 0; the
    optimiser must have a plain number as its learning rate, not a schedule.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable. Received: "
                            f"schedule={schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = self.model.optimizer
        try:
            rate = self.schedule(epoch, optimizer.learning_rate)
        except TypeError:  # a schedule of the epoch alone, as Keras allows
            rate = self.schedule(epoch)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or (
                not math.isfinite(rate)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite "
                             f"number. Received: {rate!r} for epoch {epoch}")
        optimizer.learning_rate = float(rate)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {float(rate):.6g}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving for
    ``patience`` epochs, as ``keras.callbacks.ReduceLROnPlateau``; ``cooldown`` epochs pass
    before watching again, and the rate never goes below ``min_lr``."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(monitor, mode, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1). Received: "
                             f"factor={factor!r}")
        self.factor, self.patience, self.verbose = float(factor), patience, verbose
        self.cooldown, self.min_lr = cooldown, float(min_lr)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = self.model.optimizer
        value = self._value(logs)
        if logs is not None:
            logs["learning_rate"] = optimizer.learning_rate
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best = value
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = optimizer.learning_rate
            if old > self.min_lr:
                optimizer.learning_rate = max(old * self.factor, self.min_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing the learning rate "
                          f"to {optimizer.learning_rate:.6g}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class LambdaCallback(Callback):
    """A callback from functions, as ``keras.callbacks.LambdaCallback``: ``on_epoch_begin``
    and ``on_epoch_end`` take ``(epoch, logs)``, the batch ones ``(batch, logs)``, the train
    ones ``(logs)``."""

    def __init__(self, on_epoch_begin: Callable[..., None] | None = None,
                 on_epoch_end: Callable[..., None] | None = None,
                 on_train_begin: Callable[..., None] | None = None,
                 on_train_end: Callable[..., None] | None = None,
                 on_train_batch_begin: Callable[..., None] | None = None,
                 on_train_batch_end: Callable[..., None] | None = None) -> None:
        for name, function in (("on_epoch_begin", on_epoch_begin),
                               ("on_epoch_end", on_epoch_end),
                               ("on_train_begin", on_train_begin),
                               ("on_train_end", on_train_end),
                               ("on_train_batch_begin", on_train_batch_begin),
                               ("on_train_batch_end", on_train_batch_end)):
            if function is not None:
                setattr(self, name, function)


class CallbackList:
    """The callbacks of one ``fit``, called in order (what ``fit`` uses; private)."""

    def __init__(self, callbacks: object, model: Any) -> None:
        if callbacks is None:
            callbacks = []
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        if not isinstance(callbacks, (list, tuple)) or not all(
                isinstance(c, Callback) for c in callbacks):
            raise TypeError(f"fit: callbacks must be a list of strided.callbacks.Callback. "
                            f"Received: callbacks={callbacks!r}")
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)

    def __getattr__(self, hook: str) -> Callable[..., None]:
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args: object) -> None:
            for callback in self.callbacks:
                getattr(callback, hook)(*args)
        return call

    def __bool__(self) -> bool:
        return bool(self.callbacks)
