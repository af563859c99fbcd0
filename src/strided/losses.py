"""Keras' losses, each with its gradient beside it.

A loss is a per-sample value ``v`` (the last axis reduced, shape ``y_pred.shape[:-1]``) and
Keras' "sum_over_batch_size" reduction, with optional sample weights ``w``::

    loss = sum(w * v) / v.size                 d loss / d y_pred = w * dv/dy_pred / v.size

``loss(y_true, y_pred, sample_weight=None)`` is a float; ``loss.gradient(...)`` is
d(loss)/d(y_pred), of ``y_pred``'s shape and dtype.  Per sample (last axis ``i``)::

    categorical_crossentropy   -sum(y * log p)           p = clip(y_pred / sum, eps, 1 - eps)
    binary_crossentropy        -mean(y log p + (1 - y) log(1 - p))      p clipped likewise
    mean_squared_error         mean((y_pred - y) ** 2)
    mean_absolute_error        mean(|y_pred - y|)
    huber                      mean(0.5 e^2 if |e| <= delta else delta (|e| - delta / 2))

From logits, the cross-entropies use the log-sum-exp (``softmax``/``sigmoid`` of ``y_pred``);
``eps = 1e-7`` as Keras.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7


class Loss:
    """A loss: ``__call__`` gives the weighted mean over the batch, ``gradient`` its derivative.

    Subclasses write ``_values`` (per sample) and ``_value_gradients`` (each value's gradient
    with respect to its row of ``y_pred``).
    """

    name = "loss"

    def _prepare(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        """``y_true`` checked against ``y_pred``, as an array of ``y_pred``'s dtype."""
        y = np.asarray(y_true)
        if y.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__}: y_true and y_pred must have the same "
                             f"shape. Received: y_true.shape={y.shape}, "
                             f"y_pred.shape={y_pred.shape}")
        return y.astype(_float(y_pred), copy=False)

    def _values(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _value_gradients(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _weights(self, sample_weight: object, shape: tuple[int, ...]) -> np.ndarray | None:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != shape[:w.ndim]:
            raise ValueError(f"{type(self).__name__}: sample_weight must have the shape of the "
                             f"batch, {shape[:1]}. Received: sample_weight.shape={w.shape}")
        return w.reshape(w.shape + (1,) * (len(shape) - w.ndim))

    def __call__(self, y_true: object, y_pred: np.ndarray, sample_weight: object = None
                 ) -> float:
        y_pred = np.asarray(y_pred)
        values = self._values(self._prepare(y_true, y_pred), y_pred)
        w = self._weights(sample_weight, values.shape)
        total = values.sum() if w is None else (values * w).sum()
        return float(total / max(1, values.size))

    def gradient(self, y_true: object, y_pred: np.ndarray, sample_weight: object = None
                 ) -> np.ndarray:
        y_pred = np.asarray(y_pred)
        y = self._prepare(y_true, y_pred)
        grad = self._value_gradients(y, y_pred)
        count = max(1, grad[..., 0].size)
        w = self._weights(sample_weight, y_pred.shape[:-1])
        if w is not None:
            grad = grad * w[..., None]
        return (grad / count).astype(y_pred.dtype, copy=False)

    def value_and_gradient(self, y_true: object, y_pred: np.ndarray,
                           sample_weight: object = None) -> tuple[float, np.ndarray]:
        """``(loss(...), gradient(...))``, as a training step needs both (a subclass may share
        their work)."""
        return (self(y_true, y_pred, sample_weight),
                self.gradient(y_true, y_pred, sample_weight))

    def get_config(self) -> dict[str, object]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _float(y_pred: np.ndarray) -> np.dtype:
    return y_pred.dtype if y_pred.dtype.kind == "f" else np.dtype(np.float64)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


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

    def _values(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        if self.from_logits:
            return -(y * _log_softmax(y_pred)).sum(axis=-1)
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return -(y * np.log(np.clip(p, EPSILON, 1 - EPSILON))).sum(axis=-1)

    def _value_gradients(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        if self.from_logits:
            return np.exp(_log_softmax(y_pred)) * y.sum(axis=-1, keepdims=True) - y
        s = y_pred.sum(axis=-1, keepdims=True)
        p = y_pred / s
        inside = (p > EPSILON) & (p < 1 - EPSILON)
        # L = -sum y log(p_i / s): dL/dp_i = -y_i / p_i [if unclipped] + sum_j y_j [...] / s
        dq = np.where(inside, -y / np.where(inside, p, 1), 0)  # d/dq_i where q = p / s
        return (dq - (dq * p).sum(axis=-1, keepdims=True)) / s

    def get_config(self) -> dict[str, object]:
        return {"name": self.name, "from_logits": self.from_logits}

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

    def _prepare(self, y_true: object, y_pred: np.ndarray) -> np.ndarray:
        labels = _sparse_labels(y_true, y_pred, type(self).__name__)
        return _one_hot(labels, y_pred.shape[-1], _float(y_pred))

    def value_and_gradient(self, y_true: object, y_pred: np.ndarray,
                           sample_weight: object = None) -> tuple[float, np.ndarray]:
        """Both at once from probabilities, reading only each sample's class ``k``: the
        value is ``-log(clip(p_k))`` and, with ``dq_k = -1 / p_k`` where ``p_k`` is not
        clipped (else 0), the gradient ``(dq - dq_k p_k) / s`` (``dq`` zero but at ``k``,
        ``s`` the sum of ``y_pred``): the one-hot case of ``__call__`` and ``gradient``,
        operation for operation, without their passes over the other classes."""
        y_pred = np.asarray(y_pred)
        if self.from_logits or y_pred.dtype.kind != "f":
            return super().value_and_gradient(y_true, y_pred, sample_weight)
        labels = _sparse_labels(y_true, y_pred, type(self).__name__)[..., None]
        s = y_pred.sum(axis=-1, keepdims=True)
        p = y_pred / s
        p_k = np.take_along_axis(p, labels, axis=-1)
        values = -np.log(np.clip(p_k[..., 0], EPSILON, 1 - EPSILON))
        w = self._weights(sample_weight, values.shape)
        total = values.sum() if w is None else (values * w).sum()
        loss = float(total / max(1, values.size))
        inside = (p_k > EPSILON) & (p_k < 1 - EPSILON)
        dq_k = np.where(inside, -1 / np.where(inside, p_k, 1), 0).astype(p.dtype, copy=False)
        dq = np.zeros_like(p)
        np.put_along_axis(dq, labels, dq_k, axis=-1)
        grad = (dq - dq_k * p_k) / s
        if w is not None:
            grad = grad * w[..., None]
        return loss, (grad / max(1, values.size)).astype(y_pred.dtype, copy=False)


class BinaryCrossentropy(Loss):
    """Binary cross-entropy averaged over the last axis, as ``keras.losses.BinaryCrossentropy``.

    >>> import numpy as np
    >>> round(BinaryCrossentropy(from_logits=True)([[1.0]], np.array([[0.0]])), 6)  # log 2
    0.693147
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = from_logits

    def _values(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        if self.from_logits:
            z = y_pred
            return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=-1)

    def _value_gradients(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        k = y_pred.shape[-1]
        if self.from_logits:
            return (_sigmoid(y_pred) - y) / k
        inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)
        p = np.where(inside, y_pred, 0.5)
        return np.where(inside, (p - y) / (p * (1 - p)), 0) / k

    def get_config(self) -> dict[str, object]:
        return {"name": self.name, "from_logits": self.from_logits}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred) ** 2)`` over the last axis, then over the batch, as
    ``keras.losses.MeanSquaredError``."""

    name = "mean_squared_error"

    def _values(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return np.mean((y_pred - y) ** 2, axis=-1)

    def _value_gradients(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return 2 * (y_pred - y) / y_pred.shape[-1]


class MeanAbsoluteError(Loss):
    """``mean(|y_true - y_pred|)`` over the last axis, as ``keras.losses.MeanAbsoluteError``
    (gradient 0 where they are equal)."""

    name = "mean_absolute_error"

    def _values(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return np.mean(np.abs(y_pred - y), axis=-1)

    def _value_gradients(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return np.sign(y_pred - y) / y_pred.shape[-1]


class Huber(Loss):
    """Squared error for small errors, linear beyond ``delta``, as ``keras.losses.Huber``."""

    name = "huber_loss"

    def __init__(self, delta: float = 1.0) -> None:
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or delta <= 0:
            raise ValueError(f"Huber: delta must be a positive number. Received: "
                             f"delta={delta!r}")
        self.delta = float(delta)

    def _values(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        e = np.abs(y_pred - y)
        small = np.minimum(e, self.delta)
        return np.mean(0.5 * small ** 2 + self.delta * (e - small), axis=-1)

    def _value_gradients(self, y: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return np.clip(y_pred - y, -self.delta, self.delta) / y_pred.shape[-1]

    def get_config(self) -> dict[str, object]:
        return {"name": self.name, "delta": self.delta}


LOSSES: dict[str, type[Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
}


def get(identifier: str | Loss) -> Loss:
    """A loss by Keras name, or the object itself."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]()
    raise ValueError(f"Unknown loss. Expected one of {sorted(LOSSES)} or a Loss. Received: "
                     f"loss={identifier!r}")


__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Huber", "Loss",
           "MeanAbsoluteError", "MeanSquaredError", "SparseCategoricalCrossentropy", "get"]
