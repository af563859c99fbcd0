"""Keras' accuracy metrics, accumulated over batches: ``update_state``, ``result``,
``reset_state``.  ``get("accuracy", loss)`` picks the accuracy that fits the loss, as
``compile(metrics=["accuracy"])`` does in Keras."""

from __future__ import annotations

from typing import SupportsFloat, SupportsInt, cast

import numpy as np

from . import losses as _losses


class Metric:
    """A running value over the batches of an epoch."""

    name = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self._total = 0.0
        self._count = 0

    def update_state(self, y_true: object, y_pred: np.ndarray) -> None:
        raise NotImplementedError

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The weighted mean of the values given to ``update_state(value, weight)``."""

    name = "mean"

    def update_state(self, value: object, weight: object = 1) -> None:
        # the signature of Metric.update_state; the values are numbers (a loss, a batch size)
        self._total += float(cast(SupportsFloat, value)) * float(cast(SupportsFloat, weight))
        self._count += int(cast(SupportsInt, weight))


class SparseCategoricalAccuracy(Metric):
    """Fraction of samples whose arg-max prediction equals the class index in ``y_true``."""

    name = "accuracy"

    def update_state(self, y_true: object, y_pred: np.ndarray) -> None:
        labels = np.asarray(y_true).reshape(y_pred.shape[:-1])
        self._total += float((y_pred.argmax(axis=-1) == labels).sum())
        self._count += labels.size


class CategoricalAccuracy(Metric):
    """Fraction of samples whose arg-max prediction is the arg-max of one-hot ``y_true``."""

    name = "accuracy"

    def update_state(self, y_true: object, y_pred: np.ndarray) -> None:
        y = np.asarray(y_true)
        self._total += float((y_pred.argmax(axis=-1) == y.argmax(axis=-1)).sum())
        self._count += y.shape[0] if y.ndim else 1


class BinaryAccuracy(Metric):
    """Fraction of predictions on the right side of ``threshold`` (``keras.metrics.
    BinaryAccuracy``): ``mean((y_pred > threshold) == y_true)``."""

    name = "binary_accuracy"

    def __init__(self, name: str | None = None, threshold: float = 0.5) -> None:
        super().__init__(name)
        self.threshold = threshold

    def update_state(self, y_true: object, y_pred: np.ndarray) -> None:
        y = np.asarray(y_true).reshape(y_pred.shape)
        self._total += float(((y_pred > self.threshold) == (y > 0.5)).sum())
        self._count += y.size


class Accuracy(Metric):
    """Fraction of predictions exactly equal to the targets (``keras.metrics.Accuracy``)."""

    name = "accuracy"

    def update_state(self, y_true: object, y_pred: np.ndarray) -> None:
        y = np.asarray(y_true)
        self._total += float((y == y_pred).sum())
        self._count += y.size


METRICS: dict[str, type[Metric]] = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
}


def get(identifier: str | Metric, loss: _losses.Loss | None = None) -> Metric:
    """A metric by Keras name; "accuracy" (or "acc") becomes the accuracy matching ``loss``."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        if isinstance(loss, _losses.SparseCategoricalCrossentropy):
            return SparseCategoricalAccuracy(name=identifier)
        if isinstance(loss, _losses.CategoricalCrossentropy):
            return CategoricalAccuracy(name=identifier)
        if isinstance(loss, _losses.BinaryCrossentropy):
            return BinaryAccuracy(name=identifier)
        return Accuracy(name=identifier)
    if isinstance(identifier, str) and identifier in METRICS:
        return METRICS[identifier](name=identifier)
    raise ValueError(f"Unknown metric. Expected 'accuracy' or one of {sorted(METRICS)} or a "
                     f"Metric. Received: metric={identifier!r}")


__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean", "Metric",
           "SparseCategoricalAccuracy", "get"]
