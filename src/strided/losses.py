"""Keras' losses, each with its gradient beside it: mean over the batch of a per-sample loss.

``loss(y_true, y_pred)`` is a float; ``loss.gradient(y_true, y_pred)`` is d(loss)/d(y_pred),
of ``y_pred``'s shape and dtype.

Cross-entropy from probabilities clips them to ``[eps, 1 - eps]`` (``eps = 1e-7``) after
dividing by their sum, as Keras does; from logits it uses the log-sum-exp, and its gradient is
``(softmax(z) - onehot) / N``.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7


class Loss:
    """A loss: ``__call__`` gives the mean over the batch, ``gradient`` its derivative."""

    name = "loss"

    def __call__(self, y_true: object, y_pred: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _sparse_labels(y_true: object, y_pred: np.ndarray, kind: str) -> np.ndarray:
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"{kind}: y_true must hold one class index per sample, of shape "
                         f"{y_pred.shape[:-1]}. Received: y_true.shape={labels.shape}, "
                         f"y_pred.shape={y_pred.shape}")
    if labels.dtype.kind not in "iub" and not np.all(labels == np.round(labels)):
        raise ValueError(f"{kind}: y_true must hold integer class indices. Received: "
                         f"y_true.dtype={labels.dtype}")
    labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{kind}: class indices must be in [0, {classes}). Received: labels "
                         f"from {labels.min()} to {labels.max()}")
    return labels


def _one_hot(labels: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    out = np.zeros((*labels.shape, classes), dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot targets, as ``keras.losses.CategoricalCrossentropy``.

    ``-mean(sum(y_true * log(p)))`` with ``p`` the predicted probabilities (or
    ``softmax(y_pred)`` when ``from_logits=True``).
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = from_logits

    def _targets(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        y = np.asarray(y_true)
        if y.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__}: y_true and y_pred must have the same "
                             f"shape (one-hot targets). Received: y_true.shape={y.shape}, "
                             f"y_pred.shape={y_pred.shape}")
        return y.astype(y_pred.dtype if y_pred.dtype.kind == "f" else np.float64, copy=False)

    def _loss(self, y: np.ndarray, y_pred: np.ndarray) -> float:
        n = max(1, y_pred[..., 0].size)
        if self.from_logits:
            return float(-(y * _log_softmax(y_pred)).sum() / n)
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return float(-(y * np.log(np.clip(p, EPSILON, 1 - EPSILON))).sum() / n)

    def _gradient(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        n = max(1, y_pred[..., 0].size)
        if self.from_logits:
            z = _log_softmax(y_pred)
            return ((np.exp(z) * y.sum(axis=-1, keepdims=True) - y) / n).astype(y_pred.dtype)
        s = y_pred.sum(axis=-1, keepdims=True)
        p = y_pred / s
        inside = (p > EPSILON) & (p < 1 - EPSILON)
        # L = -sum y log(p_i / s): dL/dp_i = -y_i / p_i [if unclipped] + sum_j y_j [...] / s
        dq = np.where(inside, -y / np.where(inside, p, 1), 0)  # d/dq_i where q = p / s
        grad = (dq - (dq * p).sum(axis=-1, keepdims=True)) / s
        return (grad / n).astype(y_pred.dtype)

    def __call__(self, y_true: object, y_pred: np.ndarray) -> float:
        return self._loss(self._targets(y_true, y_pred), y_pred)

    def gradient(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        return self._gradient(self._targets(y_true, y_pred), y_pred)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy with class indices as targets, as
    ``keras.losses.SparseCategoricalCrossentropy``.

    >>> import numpy as np
    >>> loss = SparseCategoricalCrossentropy(from_logits=True)
    >>> round(loss([0], np.array([[0.0, 0.0]])), 6)  # log 2
    0.693147
    """

    name = "sparse_categorical_crossentropy"

    def _targets(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        labels = _sparse_labels(y_true, y_pred, type(self).__name__)
        return _one_hot(labels, y_pred.shape[-1],
                        y_pred.dtype if y_pred.dtype.kind == "f" else np.dtype(np.float64))


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred) ** 2)`` over the last axis, then over the batch, as
    ``keras.losses.MeanSquaredError``."""

    name = "mean_squared_error"

    def _check(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        y = np.asarray(y_true)
        if y.shape != y_pred.shape:
            raise ValueError(f"MeanSquaredError: y_true and y_pred must have the same shape. "
                             f"Received: y_true.shape={y.shape}, y_pred.shape={y_pred.shape}")
        return y

    def __call__(self, y_true: object, y_pred: np.ndarray) -> float:
        y = self._check(y_true, y_pred)
        return float(np.mean((y_pred - y) ** 2))

    def gradient(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        y = self._check(y_true, y_pred)
        return (2 * (y_pred - y) / max(1, y_pred.size)).astype(y_pred.dtype)


LOSSES: dict[str, type[Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}


def get(identifier: str | Loss) -> Loss:
    """A loss by Keras name, or the object itself."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]()
    raise ValueError(f"Unknown loss. Expected one of {sorted(LOSSES)} or a Loss. Received: "
                     f"loss={identifier!r}")


__all__ = ["CategoricalCrossentropy", "Loss", "MeanSquaredError",
           "SparseCategoricalCrossentropy", "get"]
