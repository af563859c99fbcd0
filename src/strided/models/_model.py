"""``Sequential``: Keras' model as a list of layers, trained with explicit backward passes.

One training step on a batch (``L`` the loss)::

    y = layer_n(... layer_1(x))                  forward, each layer keeping what it needs
    g = dL/dy                                    the loss's gradient
    g = layer_i.backward(g), i = n .. 1          each layer fills layer.grads
    optimizer.apply(layer.params, layer.grads)   in place

``compile``, ``fit``, ``evaluate``, ``predict``, ``summary``, ``save_weights`` and
``load_weights`` take Keras' arguments.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from .. import _random
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from .._algorithms._threads import blas_on_one_thread
from ..layers._base import Layer, Shape
from ..layers._input import InputLayer
from . import _progress, _weights_io


class History:
    """What ``fit`` returns: ``history[name]`` is the list of per-epoch values."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, values: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)}, keys={list(self.history)}>"


class Sequential:
    """A stack of layers, as ``keras.Sequential``.

    Parameters
    ----------
    layers : list of Layer, optional
        May start with ``strided.layers.Input(shape)``, or give the first layer an
        ``input_shape``, to build at once; otherwise the model builds on first use.
    name : str, optional

    Examples
    --------
    The Keras article's layer, with Keras' parameter count:

    >>> from strided import layers
    >>> model = Sequential([layers.Input((28, 28, 3)), layers.Conv2D(2, 3)])
    >>> model.count_params()
    56
    """

    _count = 0

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None) -> None:
        if name is None:
            name = "sequential" + (f"_{Sequential._count}" if Sequential._count else "")
            Sequential._count += 1
        self.name = name
        self.layers: list[Layer] = []
        self.input_shape: Shape | None = None
        self.output_shapes: list[Shape] = []
        self.built = False
        self.optimizer: _optimizers.Optimizer | None = None
        self.loss: _losses.Loss | None = None
        self.metrics: list[_metrics.Metric] = []
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # -- building -------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append ``layer`` (or, first of all, set the input with ``Input(shape)``)."""
        if isinstance(layer, InputLayer):
            if self.layers or self.input_shape is not None:
                raise ValueError(f"Sequential: an Input can only be the first layer. "
                                 f"Received: {layer!r} after {len(self.layers)} layers")
            self.input_shape = layer.shape
            self.built = False
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential: only strided layers can be added. Received: "
                            f"layer={layer!r} of type {type(layer).__name__}")
        if any(other.name == layer.name for other in self.layers):
            raise ValueError(f"Sequential: all layers must have unique names. Received: a "
                             f"second layer named {layer.name!r}")
        if not self.layers and self.input_shape is None and layer.input_shape is not None:
            self.input_shape = layer.input_shape
        self.layers.append(layer)
        self.built = False
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Sequence[int | None] | None = None) -> None:
        """Build every layer for inputs of ``input_shape`` (batch first, may be None)."""
        shape: Shape | None = tuple(input_shape) if input_shape is not None else self.input_shape
        if shape is None:
            raise ValueError(f"Sequential {self.name!r} cannot be built without an input shape."
                             f" Start it with strided.layers.Input(shape), or call it on data")
        shape = (None, *shape[1:])
        self.input_shape = shape
        self.output_shapes = []
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
            self.output_shapes.append(shape)
        self.built = True

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build((None, *x.shape[1:]))
        expected = self.input_shape[1:]  # type: ignore[index]
        if x.ndim != len(expected) + 1 or any(
                e is not None and e != n for e, n in zip(expected, x.shape[1:])):
            raise ValueError(f"Sequential {self.name!r} expects inputs of shape "
                             f"{(None, *expected)}. Received: x.shape={x.shape}")

    # -- running ---------------------------------------------------------------------------
    def __call__(self, x: object, training: bool = False) -> np.ndarray:
        inputs = np.asarray(x)
        self._ensure_built(inputs)
        return self._forward(inputs, training)

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        with blas_on_one_thread():  # idle OpenBLAS threads would spin on the cores we use
            for layer in self.layers:
                x = layer(x, training=training)
        return x

    def _backward(self, grad: np.ndarray) -> None:
        with blas_on_one_thread():
            for layer in reversed(self.layers):
                grad = layer.backward(grad)
                if grad is None:  # no layer below has weights (``_input_gradients_skipped``)
                    break

    @contextlib.contextmanager
    def _input_gradients_skipped(self) -> Iterator[None]:
        """Within the block, the layers up to the first with trainable weights skip
        d(loss)/d(input): only the data, or layers without weights, would receive it."""
        saved = []
        for layer in self.layers:
            saved.append((layer, layer.compute_input_gradient))
            layer.compute_input_gradient = False
            if layer.trainable and layer.params:
                break
        try:
            yield
        finally:
            for layer, value in saved:
                layer.compute_input_gradient = value

    def compile(self, optimizer: str | _optimizers.Optimizer = "rmsprop",
                loss: str | _losses.Loss | None = None,
                metrics: Sequence[str | _metrics.Metric] | None = None) -> None:
        """Choose the optimiser, the loss and the metrics, by Keras name or as objects."""
        if loss is None:
            raise ValueError("Sequential.compile: a loss is needed to train. Received: "
                             "loss=None")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        if isinstance(metrics, (str, _metrics.Metric)):
            metrics = [metrics]
        self.metrics = [_metrics.get(m, self.loss) for m in metrics or []]

    def _check_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"Sequential {self.name!r}: call compile() before {what}()")

    def _batches(self, n: int, batch_size: int, order: np.ndarray | None = None):
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            yield (slice(start, stop) if order is None else order[start:stop]), stop - start

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimiser step on one batch; returns the batch's loss (before the step)."""
        self._check_compiled("train_on_batch")
        x = np.asarray(x)
        self._ensure_built(x)
        y_pred = self._forward(x, training=True)
        loss = self.loss(y, y_pred)  # type: ignore[misc]
        with self._input_gradients_skipped():
            self._backward(self.loss.gradient(y, y_pred))  # type: ignore[union-attr]
        for layer in self.layers:
            if layer.trainable and layer.grads:
                self.optimizer.apply(layer.params, layer.grads, key=layer.name)  # type: ignore
        self.optimizer.finish_step()  # type: ignore[union-attr]
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return loss

    def fit(self, x: object, y: object, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", validation_split: float = 0.0,
            validation_data: tuple[object, object] | None = None, shuffle: bool = True,
            initial_epoch: int = 0, *, seed: int | None = None,
            on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> History:
        """Train for ``epochs`` passes over ``(x, y)``, as ``keras.Model.fit``.

        Parameters
        ----------
        x, y : array_like
            Inputs (N, ...) and targets (N, ...) (class indices for sparse losses).
        batch_size : int, optional
            Samples per step; Keras' default 32.
        epochs : int
            Index of the last epoch (counting from ``initial_epoch``).
        verbose : {"auto", 0, 1, 2}
            0 silent, 1 a progress bar per epoch, 2 one line per epoch; "auto" a bar on a
            terminal, one line per epoch otherwise.
        validation_split : float
            Hold out this fraction of the data, taken from the end before shuffling, as Keras.
        validation_data : (x_val, y_val), optional
            Evaluated after each epoch (overrides ``validation_split``).
        shuffle : bool
            Shuffle the training samples before each epoch.
        seed : int, optional, keyword-only
            Calls ``strided.set_random_seed(seed)`` first, so that shuffling and dropout (and
            the weights of layers not built yet) repeat from run to run.
        on_epoch_end : callable, optional, keyword-only
            Called as ``on_epoch_end(epoch, logs)`` after each epoch; it may set
            ``model.stop_training = True``.

        Returns
        -------
        History
            ``history.history["loss"]``, the metrics, and "val_" ones with validation data.
        """
        self._check_compiled("fit")
        if seed is not None:
            _random.set_random_seed(seed)
        x_all, y_all = np.asarray(x), np.asarray(y)
        if len(x_all) != len(y_all):
            raise ValueError(f"Sequential.fit: x and y must hold the same number of samples. "
                             f"Received: x.shape={x_all.shape}, y.shape={y_all.shape}")
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Sequential.fit: batch_size must be a positive int. Received: "
                             f"batch_size={batch_size!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"Sequential.fit: validation_split must be in [0, 1). Received: "
                             f"validation_split={validation_split!r}")
        if validation_data is None and validation_split:
            split = int(len(x_all) * (1 - validation_split))
            validation_data = (x_all[split:], y_all[split:])
            x_all, y_all = x_all[:split], y_all[:split]
        if len(x_all) == 0:
            raise ValueError("Sequential.fit: no training samples. Received: x of length 0")
        level = _progress.resolve_verbose(verbose)
        self._ensure_built(x_all[:1])
        history = History()
        self.stop_training = False
        n = len(x_all)
        steps = math.ceil(n / batch_size)
        for epoch in range(initial_epoch, epochs):
            order = _random.generator().permutation(n) if shuffle else None
            for metric in self.metrics:
                metric.reset_state()
            running = _metrics.Mean()
            progress = _progress.Progress(steps, f"Epoch {epoch + 1}/{epochs}", level)
            for index, size in self._batches(n, batch_size, order):
                loss = self.train_on_batch(x_all[index], y_all[index])
                running.update_state(loss, size)
                progress.update(1, self._logs(running))
            logs = self._logs(running)
            if validation_data is not None:
                values = self.evaluate(*validation_data, batch_size=max(batch_size, 256),
                                       verbose=0, return_dict=True)
                logs.update({f"val_{k}": v for k, v in values.items()})
            progress.close(logs)
            history.append(epoch, logs)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return history

    def _logs(self, running: _metrics.Mean) -> dict[str, float]:
        logs = {"loss": running.result()}
        logs.update({m.name: m.result() for m in self.metrics})
        return logs

    def evaluate(self, x: object, y: object, batch_size: int | None = None,
                 verbose: int | str = "auto", return_dict: bool = False
                 ) -> float | list[float] | dict[str, float]:
        """The loss and metrics on ``(x, y)``, in inference mode, as ``keras.Model.evaluate``.

        Returns the loss alone when there are no metrics, else ``[loss, *metrics]``, or a
        dict with ``return_dict=True``.
        """
        self._check_compiled("evaluate")
        x_all, y_all = np.asarray(x), np.asarray(y)
        if len(x_all) != len(y_all):
            raise ValueError(f"Sequential.evaluate: x and y must hold the same number of "
                             f"samples. Received: x.shape={x_all.shape}, y.shape={y_all.shape}")
        batch_size = batch_size or 32
        self._ensure_built(x_all[:1])
        running = _metrics.Mean()
        for metric in self.metrics:
            metric.reset_state()
        progress = _progress.Progress(math.ceil(len(x_all) / batch_size), "Evaluate",
                                      _progress.resolve_verbose(verbose))
        for index, size in self._batches(len(x_all), batch_size):
            y_pred = self._forward(x_all[index], training=False)
            running.update_state(self.loss(y_all[index], y_pred), size)  # type: ignore[misc]
            for metric in self.metrics:
                metric.update_state(y_all[index], y_pred)
            progress.update(1, self._logs(running))
        logs = self._logs(running)
        progress.close(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x: object, batch_size: int | None = None,
                verbose: int | str = 0) -> np.ndarray:
        """The model's outputs for ``x``, in inference mode, batch by batch."""
        x_all = np.asarray(x)
        self._ensure_built(x_all[:1])
        batch_size = batch_size or 32
        progress = _progress.Progress(math.ceil(len(x_all) / batch_size), "Predict",
                                      _progress.resolve_verbose(verbose))
        outputs = []
        for index, _ in self._batches(len(x_all), batch_size):
            outputs.append(self._forward(x_all[index], training=False))
            progress.update(1, {})
        progress.close({})
        return np.concatenate(outputs) if outputs else np.empty((0,))

    # -- weights ---------------------------------------------------------------------------
    def count_params(self) -> int:
        """Total number of scalars in every layer's weights (trainable or not)."""
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set all weights from a flat list, in the order ``get_weights`` gives them."""
        expected = sum(len(layer.params) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Sequential {self.name!r} expects {expected} weight arrays. "
                             f"Received: {len(weights)}")
        at = 0
        for layer in self.layers:
            count = len(layer.params)
            layer.set_weights(weights[at:at + count])
            at += count

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Save every weight to a ``.npz`` file (no pickle; written atomically)."""
        if not self.built:
            raise ValueError(f"Sequential {self.name!r} has no weights yet: build it first")
        _weights_io.save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Load weights saved by ``save_weights``; shapes must fit the model's."""
        if not self.built:
            self.build()
        _weights_io.load_weights(self, filepath)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}")

    # -- summary ---------------------------------------------------------------------------
    def summary(self, print_fn: Callable[[str], None] | None = None,
                line_length: int | None = None) -> None:
        """Print Keras' table: each layer, its output shape and parameter count, and totals."""
        if not self.built and self.input_shape is not None:
            self.build()
        print_fn = print_fn or print
        rows = []
        for i, layer in enumerate(self.layers):
            shape = str(self.output_shapes[i]) if self.built else "?"
            count = str(layer.count_params()) if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, count))
        widths = [max([29, *(len(r[0]) + 2 for r in rows)]),
                  max([26, *(len(r[1]) + 2 for r in rows)]), 10]
        if line_length:
            widths[2] = max(10, line_length - widths[0] - widths[1])
        total_width = sum(widths)

        def line(cells: Sequence[str]) -> str:
            return "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * total_width)
        print_fn(line(["Layer (type)", "Output Shape", "Param #"]))
        print_fn("=" * total_width)
        for i, row in enumerate(rows):
            print_fn(line(row))
            print_fn("=" * total_width if i == len(rows) - 1 else "")
        if not rows:
            print_fn("=" * total_width)
        total = self.count_params()
        trainable = sum(layer.count_trainable_params() for layer in self.layers)
        itemsize = 4
        print_fn(f"Total params: {total:,} ({_bytes(total * itemsize)})")
        print_fn(f"Trainable params: {trainable:,} ({_bytes(trainable * itemsize)})")
        print_fn(f"Non-trainable params: {total - trainable:,} "
                 f"({_bytes((total - trainable) * itemsize)})")
        print_fn("_" * total_width)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r}, layers={len(self.layers)}>"


def _bytes(n: int) -> str:
    """Keras' size notation: 224.00 B, 1.23 KB, 4.56 MB."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.2f} B"


__all__ = ["History", "Sequential"]
