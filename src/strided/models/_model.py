"""``Model``: Keras' training loop, trained with explicit backward passes.

One training step on a batch (``L`` the loss, ``R`` the weights' regularization penalties)::

    y = model(x)                                 forward, each layer keeping what it needs
    g = dL/dy                                    the loss's gradient (sample weights applied)
    model's backward pass from g                 each layer fills layer.grads
    layer.grads += dR/dw                         for each regularized weight
    optimizer.apply(layer.params, layer.grads)   in place, for each trainable layer
    w = constraint(w)                            for each constrained weight

The loss reported is ``L + R``, as Keras'.  ``compile``, ``fit``, ``evaluate``, ``predict``,
``train_on_batch``, ``test_on_batch``, ``predict_on_batch``, ``summary``, ``save_weights`` and
``load_weights`` take Keras' arguments.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .. import _random
from .. import callbacks as _callbacks
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from ..layers._base import Layer, Shape, as_real_array
from ..layers._graph import is_symbolic
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


class Model:
    """A Keras model: ``compile``, ``fit``, ``evaluate``, ``predict``, the ``*_on_batch``
    steps, weights and ``summary``, over a subclass's forward and backward passes.

    ``Model(inputs, outputs)`` makes a functional model (``Functional``), as ``keras.Model``;
    ``Sequential`` is the other kind.  A subclass writes ``layers``, ``_forward(x, training)``,
    ``_backward(grad)`` and ``_ensure_built(x)``.
    """

    _counts: ClassVar[dict[str, int]] = {}
    layers: list[Layer]
    built: bool

    def __new__(cls, *args: object, **kwargs: object) -> Model:
        if cls is Model:
            from ._functional import Functional
            return object.__new__(Functional)
        return object.__new__(cls)

    def _init_model(self, name: str | None, default: str) -> None:
        if name is None:
            index = Model._counts.get(default, 0)
            Model._counts[default] = index + 1
            name = default + (f"_{index}" if index else "")
        self.name = name
        self.optimizer: _optimizers.Optimizer | None = None
        self.loss: _losses.Loss | None = None
        self.metrics: list[_metrics.Metric] = []
        self.stop_training = False
        self._activity_total = 0.0

    def _forward(self, x: Any, training: bool) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, grad: np.ndarray) -> None:
        raise NotImplementedError

    def _ensure_built(self, x: Any, name: str = "x") -> None:
        """Build for ``x`` (the user's whole array, or list of arrays) or check that it fits;
        messages quote it as ``name``."""
        raise NotImplementedError

    def _inputs(self, x: object, what: str, name: str = "x") -> Any:
        """``x`` as an array (or a list of arrays) of real numbers, else the TypeError of
        ``strided.nn``, naming ``{kind}.{what}``."""
        return _as_inputs(x, f"{type(self).__name__}.{what}", name)

    def _input_gradients_skipped(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def __call__(self, x: object, training: bool = False) -> Any:
        """The outputs for arrays ``x``; on symbolic tensors, the model's layers called on them
        in turn (so that the model's layers join the calling model's graph, shared with this
        model: the calling model trains, saves and summarises them as its own layers)."""
        if is_symbolic(x):
            return self._call_symbolic(x)
        inputs = self._inputs(x, "__call__")
        self._ensure_built(inputs)
        return self._forward(inputs, training)

    def _call_symbolic(self, x: Any) -> Any:
        raise NotImplementedError

    @property
    def trainable(self) -> bool:
        """False when every layer is frozen; setting it sets every layer's."""
        return any(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            layer.trainable = value

    def _output_names(self) -> list[str]:
        return ["output"]

    def compile(self, optimizer: str | _optimizers.Optimizer = "rmsprop",
                loss: Any = None, metrics: Sequence[str | _metrics.Metric] | None = None,
                loss_weights: Sequence[float] | Mapping[str, float] | None = None) -> None:
        """Choose the optimiser, the loss and the metrics, by Keras name or as objects.

        A model of several outputs takes one loss for all, or a list (or a dict by output
        layer name) of them, and ``loss_weights`` alike: its loss is the weighted sum.
        """
        kind = type(self).__name__
        if loss is None:
            raise ValueError(f"{kind}.compile: a loss is needed to train. Received: loss=None")
        self.optimizer = _optimizers.get(optimizer)
        names = self._output_names()
        if len(names) == 1:
            self.loss = _losses.get(loss)
        else:
            if metrics:
                raise NotImplementedError(f"{kind}.compile: metrics for a model of several "
                                          f"outputs are not supported. Received: "
                                          f"metrics={metrics!r}")
            self.loss = _OutputsLoss(_per_output(loss, names, "loss", _losses.get),
                                     _per_output(1.0 if loss_weights is None else loss_weights,
                                                 names, "loss_weights", float))
        if isinstance(metrics, (str, _metrics.Metric)):
            metrics = [metrics]
        self.metrics = [_metrics.get(m, self.loss) for m in metrics or []]

    def _check_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call compile() before "
                               f"{what}()")

    def _batches(self, n: int, batch_size: int, order: np.ndarray | None = None):
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            yield (slice(start, stop) if order is None else order[start:stop]), stop - start

    def _unique_layers(self) -> list[Layer]:
        seen: dict[int, Layer] = {}
        for layer in self.layers:
            seen.setdefault(id(layer), layer)
        return list(seen.values())

    def regularization_loss(self) -> float:
        """The trainable layers' weight penalties and the activity penalties of the last
        forward pass (Keras' ``sum(model.losses)``)."""
        return sum(layer.regularization_loss() for layer in self._unique_layers()
                   if layer.trainable and layer.regularizers) + self._activity_total

    @property
    def losses(self) -> list[float]:
        return [v for layer in self._unique_layers() if layer.trainable
                for v in layer.weight_penalties()] + (
            [self._activity_total] if self._activity_total else [])

    def _track_activity(self, layer: Layer) -> None:
        """Add the activity penalty of ``layer``'s call just made (one per call)."""
        if layer.activity_regularizer is not None:
            self._activity_total += sum(layer.activity_losses)

    def _train_step(self, x: Any, y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        """One optimiser step; the batch's loss (with penalties) before the step."""
        y_pred = self._forward(x, training=True)
        loss, grad = self.loss.value_and_gradient(y, y_pred, sample_weight)  # type: ignore
        loss += self.regularization_loss()
        with self._input_gradients_skipped():
            self._backward(grad)
        layers = [layer for layer in self._unique_layers() if layer.trainable]
        for layer in layers:
            if layer.grads:
                if layer.regularizers:
                    layer.add_regularization_gradients()
                self.optimizer.apply(layer.params, layer.grads, key=layer.name)  # type: ignore
        self.optimizer.finish_step()  # type: ignore[union-attr]
        for layer in layers:
            if layer.constraints:
                layer.apply_constraints()
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return loss

    def _results(self, loss: float, return_dict: bool) -> float | list[float] | dict[str, float]:
        logs = {"loss": loss, **{m.name: m.result() for m in self.metrics}}
        if return_dict:
            return logs
        return loss if len(logs) == 1 else list(logs.values())

    def train_on_batch(self, x: object, y: object, sample_weight: object = None,
                       class_weight: Mapping[int, float] | None = None,
                       return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """One optimiser step on one batch, as ``keras.Model.train_on_batch``.

        Returns the batch's loss (before the step) when there are no metrics, else
        ``[loss, *metrics]``, or a dict with ``return_dict=True``.
        """
        self._check_compiled("train_on_batch")
        inputs, targets = self._inputs(x, "train_on_batch"), _as_inputs(y)
        self._ensure_built(inputs)
        weights = _sample_weights(targets, sample_weight, class_weight, _length(inputs))
        return self._results(self._train_step(inputs, targets, weights), return_dict)

    def test_on_batch(self, x: object, y: object, sample_weight: object = None,
                      return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """The loss (and metrics) on one batch, in inference mode, as Keras'."""
        self._check_compiled("test_on_batch")
        inputs, targets = self._inputs(x, "test_on_batch"), _as_inputs(y)
        self._ensure_built(inputs)
        y_pred = self._forward(inputs, training=False)
        weights = _sample_weights(targets, sample_weight, None, _length(inputs))
        loss = self.loss(targets, y_pred, weights)  # type: ignore[misc]
        for metric in self.metrics:
            metric.update_state(targets, y_pred)
        return self._results(loss + self.regularization_loss(), return_dict)

    def predict_on_batch(self, x: object) -> np.ndarray:
        """The model's outputs for one batch, in inference mode."""
        inputs = self._inputs(x, "predict_on_batch")
        self._ensure_built(inputs)
        return self._forward(inputs, training=False)

    def fit(self, x: object, y: object, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: object = None,
            validation_split: float = 0.0,
            validation_data: tuple[object, object] | None = None, shuffle: bool = True,
            class_weight: Mapping[int, float] | None = None, sample_weight: object = None,
            initial_epoch: int = 0, *, seed: int | None = None,
            on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> History:
        """Train for ``epochs`` passes over ``(x, y)``, as ``keras.Model.fit``.

        Parameters
        ----------
        x, y : array_like
            Inputs (N, ...) (a list of arrays for a model of several inputs) and targets
            (N, ...) (class indices for sparse losses).
        batch_size : int, optional
            Samples per step; Keras' default 32.
        epochs : int
            Index of the last epoch (counting from ``initial_epoch``).
        verbose : {"auto", 0, 1, 2}
            0 silent, 1 a progress bar per epoch, 2 one line per epoch; "auto" a bar on a
            terminal, one line per epoch otherwise.  The epoch's line holds the validation
            loss and metrics too.
        callbacks : list of strided.callbacks.Callback, optional
            ``EarlyStopping``, ``ModelCheckpoint``, ``LearningRateScheduler``,
            ``ReduceLROnPlateau``, ... called around each epoch and step.
        validation_split : float
            Hold out this fraction of the data, taken from the end before shuffling, as Keras.
        validation_data : (x_val, y_val), optional
            Evaluated after each epoch (overrides ``validation_split``).
        shuffle : bool
            Shuffle the training samples before each epoch.
        class_weight : dict, optional
            ``{class index: weight}``: each sample's loss is scaled by its class's weight.
        sample_weight : array_like (N,), optional
            Each sample's loss is scaled by its weight (not with ``class_weight``, as Keras).
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
        kind = type(self).__name__
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"{kind}.fit: epochs must be a non-negative int. Received: "
                             f"epochs={epochs!r}")
        if seed is not None:
            _random.set_random_seed(seed)
        x_all, y_all = self._inputs(x, "fit"), _as_inputs(y)
        if any(a.ndim == 0 for a in (*_arrays(x_all), *_arrays(y_all))):
            raise ValueError(f"{kind}.fit: x and y must be arrays of samples. Received: "
                             f"x.shape={_shapes(x_all)}, y.shape={_shapes(y_all)}")
        n = _length(x_all)
        if n != _length(y_all):
            raise ValueError(f"{kind}.fit: x and y must hold the same number of samples. "
                             f"Received: x.shape={_shapes(x_all)}, y.shape={_shapes(y_all)}")
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{kind}.fit: batch_size must be a positive int. Received: "
                             f"batch_size={batch_size!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"{kind}.fit: validation_split must be in [0, 1). Received: "
                             f"validation_split={validation_split!r}")
        weights = _sample_weights(y_all, sample_weight, class_weight, n)
        if validation_data is None and validation_split:
            split = int(n * (1 - validation_split))
            validation_data = (_take(x_all, slice(split, None)), _take(y_all, slice(split, None)))
            x_all, y_all = _take(x_all, slice(0, split)), _take(y_all, slice(0, split))
            weights = None if weights is None else weights[:split]
            n = split
        if n == 0:
            raise ValueError(f"{kind}.fit: no training samples. Received: x of length 0")
        level = _progress.resolve_verbose(verbose)
        self._ensure_built(x_all)
        if validation_data is not None:
            validation_data = self._validation(validation_data)
        hooks = _callbacks.CallbackList(callbacks, self)
        history = History()
        self.history = history
        self.stop_training = False
        steps = math.ceil(n / batch_size)
        hooks.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            hooks.on_epoch_begin(epoch, {})
            order = _random.generator().permutation(n) if shuffle else None
            for metric in self.metrics:
                metric.reset_state()
            running = _metrics.Mean()
            progress = _progress.Progress(steps, f"Epoch {epoch + 1}/{epochs}", level)
            for step, (index, size) in enumerate(self._batches(n, batch_size, order)):
                if hooks:
                    hooks.on_train_batch_begin(step, {})
                # each step is train_on_batch (given sample weights only if there are any)
                extra = () if weights is None else (weights[index],)
                result = self.train_on_batch(_take(x_all, index), _take(y_all, index), *extra)
                running.update_state(result[0] if isinstance(result, list) else result, size)
                progress.update(1, self._logs(running))
                if hooks:
                    hooks.on_train_batch_end(step, self._logs(running))
            logs = self._logs(running)
            if validation_data is not None:
                values = self.evaluate(*validation_data, batch_size=max(batch_size, 256),
                                       verbose=0, return_dict=True)
                logs.update({f"val_{k}": v for k, v in values.items()})  # type: ignore[union-attr]
            hooks.on_epoch_end(epoch, logs)  # before the line: callbacks may add entries
            progress.close(logs)
            history.append(epoch, logs)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        hooks.on_train_end({k: v[-1] for k, v in history.history.items()})
        return history

    def _validation(self, data: object) -> tuple[Any, Any]:
        """``validation_data`` checked before the first epoch, its messages naming it."""
        kind = type(self).__name__
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            length = f"a sequence of {len(data)}" if isinstance(data, (tuple, list)) else (
                type(data).__name__)
            raise ValueError(f"{kind}.fit: validation_data must be a tuple (x_val, y_val) "
                             f"(strided takes no sample weights). Received: {length}")
        x_val = self._inputs(data[0], "fit", "validation_data[0]")
        y_val = _as_inputs(data[1])
        if any(a.ndim == 0 for a in (*_arrays(x_val), *_arrays(y_val))) or (
                _length(x_val) != _length(y_val)):
            raise ValueError(f"{kind}.fit: validation_data's x_val and y_val must hold the "
                             f"same number of samples. Received: x_val.shape={_shapes(x_val)}, "
                             f"y_val.shape={_shapes(y_val)}")
        self._ensure_built(x_val, "validation_data[0]")
        return x_val, y_val

    def _logs(self, running: _metrics.Mean) -> dict[str, float]:
        logs = {"loss": running.result()}
        logs.update({m.name: m.result() for m in self.metrics})
        return logs

    def evaluate(self, x: object, y: object, batch_size: int | None = None,
                 verbose: int | str = "auto", sample_weight: object = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """The loss and metrics on ``(x, y)``, in inference mode, as ``keras.Model.evaluate``.

        Returns the loss alone when there are no metrics, else ``[loss, *metrics]``, or a
        dict with ``return_dict=True``.
        """
        self._check_compiled("evaluate")
        x_all, y_all = self._inputs(x, "evaluate"), _as_inputs(y)
        n = _length(x_all)
        if n != _length(y_all):
            raise ValueError(f"{type(self).__name__}.evaluate: x and y must hold the same "
                             f"number of samples. Received: x.shape={_shapes(x_all)}, "
                             f"y.shape={_shapes(y_all)}")
        weights = _sample_weights(y_all, sample_weight, None, n)
        batch_size = batch_size or 32
        self._ensure_built(x_all)
        running = _metrics.Mean()
        for metric in self.metrics:
            metric.reset_state()
        progress = _progress.Progress(math.ceil(n / batch_size), "Evaluate",
                                      _progress.resolve_verbose(verbose))
        for index, size in self._batches(n, batch_size):
            y_pred = self._forward(_take(x_all, index), training=False)
            batch_weights = None if weights is None else weights[index]
            targets = _take(y_all, index)
            running.update_state(self.loss(targets, y_pred, batch_weights)  # type: ignore
                                 + self.regularization_loss(), size)
            for metric in self.metrics:
                metric.update_state(targets, y_pred)
            progress.update(1, self._logs(running))
        logs = self._logs(running)
        progress.close(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x: object, batch_size: int | None = None,
                verbose: int | str = 0) -> Any:
        """The model's outputs for ``x``, in inference mode, batch by batch: an array, or a
        list of arrays for a model of several outputs.

        A ``dask.array`` ``x`` gives a ``dask.array``: ``strided.dask.predict``, one task per
        chunk of images, the model sent to each worker once.
        """
        if _is_dask_array(x):
            from ..dask import predict as dask_predict

            return dask_predict(self, x, batch_size=batch_size)
        x_all = self._inputs(x, "predict")
        n = _length(x_all)
        self._ensure_built(x_all)
        batch_size = batch_size or 32
        progress = _progress.Progress(math.ceil(n / batch_size), "Predict",
                                      _progress.resolve_verbose(verbose))
        outputs = []
        for index, _ in self._batches(n, batch_size):
            outputs.append(self._forward(_take(x_all, index), training=False))
            progress.update(1, {})
        progress.close({})
        if not outputs:
            return self._empty_outputs(x_all)
        if isinstance(outputs[0], list):  # several outputs: one array each
            return [np.concatenate(parts) for parts in zip(*outputs)]
        return np.concatenate(outputs)

    def _empty_outputs(self, x: Any) -> Any:
        """What ``predict`` gives for no samples: arrays of the outputs' shapes, length 0."""
        return np.empty((0,), dtype=x.dtype if isinstance(x, np.ndarray) else None)

    # -- weights ---------------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """Every weight, layer by layer in Keras' order (the arrays themselves)."""
        return [w for layer in self._unique_layers() for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self._unique_layers() for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self._unique_layers() for w in layer.non_trainable_weights]

    def count_params(self) -> int:
        """Total number of scalars in every layer's weights (trainable or not)."""
        return sum(layer.count_params() for layer in self._unique_layers())

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self._unique_layers() for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set all weights from a flat list, in the order ``get_weights`` gives them."""
        layers = self._unique_layers()
        expected = sum(len(layer.params) for layer in layers)
        if len(weights) != expected:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects {expected} weight "
                             f"arrays. Received: {len(weights)}")
        at = 0
        for layer in layers:
            count = len(layer.params)
            layer.set_weights(weights[at:at + count])
            at += count

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Save every weight to a ``.safetensors`` or ``.npz`` file (no pickle; written
        atomically)."""
        if not self.built:
            raise ValueError(f"{type(self).__name__} {self.name!r} has no weights yet: build "
                             f"it first")
        if str(filepath).endswith((".safetensors", ".strided")):
            from ..formats import _strided
            _strided.save_weights(self, filepath)
        elif str(filepath).endswith(".npz"):
            _weights_io.save_weights(self, filepath)
        else:
            raise ValueError(f"The filename must end in `.safetensors` or `.npz`. Received: "
                             f"filepath={str(filepath)!r}")

    def save(self, filepath: str | os.PathLike[str]) -> None:
        """Save the model, its config (as JSON) and its weights (safetensors), to one
        ``.strided`` file that ``strided.load_model`` reads back (no pickle; written
        atomically); see ``strided.formats``."""
        from ..formats import _strided
        if str(filepath).endswith(".npz"):
            raise ValueError(f"{type(self).__name__}.save writes strided's format: name the "
                             f"file `.strided` (load_model still reads the .npz files of "
                             f"earlier versions). Received: filepath={str(filepath)!r}")
        _strided.save_model(self, filepath)

    def load_weights(self, filepath: str | os.PathLike[str], **options: Any) -> None:
        """Load weights saved by ``save_weights`` (``.strided``, ``.safetensors``, ``.npz``),
        a PyTorch ``state_dict`` as ``.safetensors`` or Keras' ``.weights.h5``; shapes must
        fit the model's (``options`` go to ``strided.formats.load_weights``)."""
        if not self.built:
            self.build()  # type: ignore[attr-defined]
        from ..formats import load_weights
        load_weights(self, filepath, **options)

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
    def _summary_rows(self) -> list[tuple[str, str, str, list[str] | None]]:
        """(name (type), output shape, parameter count, connected to or None) per row."""
        raise NotImplementedError

    def summary(self, print_fn: Callable[[str], None] | None = None,
                line_length: int | None = None) -> None:
        """Print Keras' table: each layer, its output shape and parameter count (and, for a
        functional model, the layers it is connected to), and the totals."""
        print_fn = print_fn or print
        rows = self._summary_rows()
        connected = any(r[3] is not None for r in rows)
        widths = [max([29, *(len(r[0]) + 2 for r in rows)]),
                  max([26, *(len(r[1]) + 2 for r in rows)]), 10]
        if connected:
            widths[2] = 12
            widths.append(max([20, *(len(c) + 2 for r in rows for c in r[3] or ["-"])]))
        if line_length is not None:
            if isinstance(line_length, bool) or not isinstance(line_length, int) or (
                    line_length < 30):
                raise ValueError(f"{type(self).__name__}.summary: line_length must be an int "
                                 f"of at least 30. Received: line_length={line_length!r}")
            # Keras' column positions, as fractions of the line
            positions = (0.3, 0.56, 0.74, 1.0) if connected else (0.45, 0.85, 1.0)
            ends = [int(p * line_length) for p in positions]
            widths = [b - a for a, b in zip([0, *ends[:-1]], ends)]
        total_width = sum(widths)

        def line(cells: Sequence[str]) -> str:
            return "".join(c[:w - 1].ljust(w) if len(c) >= w else c.ljust(w)
                           for c, w in zip(cells, widths)).rstrip()

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * total_width)
        header = ["Layer (type)", "Output Shape", "Param #"]
        print_fn(line([*header, "Connected to"] if connected else header))
        print_fn("=" * total_width)
        for i, (name, shape, count, inbound) in enumerate(rows):
            if connected:
                first, *rest = inbound or ["-"]
                print_fn(line([name, shape, count, first]))
                for other in rest:
                    print_fn(line(["", "", "", other]))
            else:
                print_fn(line([name, shape, count]))
            print_fn("=" * total_width if i == len(rows) - 1 else "")
        if not rows:
            print_fn("=" * total_width)
        layers = self._unique_layers()
        total = sum(layer.count_params() for layer in layers)
        trainable = sum(layer.count_trainable_params() for layer in layers)
        size = sum(w.nbytes for layer in layers for w in layer.weights)
        trainable_size = sum(w.nbytes for layer in layers for w in layer.trainable_weights)
        print_fn(f"Total params: {total:,} ({_bytes(size)})")
        print_fn(f"Trainable params: {trainable:,} ({_bytes(trainable_size)})")
        print_fn(f"Non-trainable params: {total - trainable:,} "
                 f"({_bytes(size - trainable_size)})")
        print_fn("_" * total_width)

    # -- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """The model ``get_config`` describes (a functional one from ``Model``)."""
        from ._functional import Functional
        return Functional.from_config(config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, layers={len(self.layers)}>"


def load_model(filepath: str | os.PathLike[str]) -> Model:
    """The model in ``filepath``, with its weights, as ``keras.models.load_model``: a
    ``.strided`` file of ``Model.save``, an ``.npz`` of earlier versions, a Keras ``.keras``
    file or an ONNX graph (``strided.formats.load``)."""
    from ..formats import load
    return load(filepath)


def load_npz_model(filepath: str | os.PathLike[str]) -> Model:
    """The model that ``Model.save`` of format 1 wrote to an ``.npz`` file."""
    from ..formats._strided import model_from_config
    model = model_from_config(_weights_io.read_config(filepath), str(filepath))
    model.load_weights(filepath)
    return model


class _OutputsLoss(_losses.Loss):
    """The loss of a model of several outputs: ``sum(w_i * loss_i(y_i, y_pred_i))``."""

    name = "loss"

    def __init__(self, losses: list[_losses.Loss], weights: list[float]) -> None:
        self.losses, self.weights = losses, weights

    def _check(self, y_true: Any) -> list[Any]:
        if not isinstance(y_true, list) or len(y_true) != len(self.losses):
            raise ValueError(f"a model of {len(self.losses)} outputs needs a list of "
                             f"{len(self.losses)} target arrays. Received: "
                             f"{type(y_true).__name__}")
        return y_true

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: object = None) -> float:
        return sum(w * loss(y, p, sample_weight) for loss, w, y, p in
                   zip(self.losses, self.weights, self._check(y_true), y_pred))

    def gradient(self, y_true: Any, y_pred: Any, sample_weight: object = None) -> Any:
        return [w * loss.gradient(y, p, sample_weight) for loss, w, y, p in
                zip(self.losses, self.weights, self._check(y_true), y_pred)]


def _per_output(value: Any, names: list[str], what: str, convert: Callable[[Any], Any]
                ) -> list[Any]:
    """One entry per output from one value, a list in output order or a dict by name."""
    if isinstance(value, Mapping):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"compile: {what} must name every output {names}. Received: "
                             f"no entry for {missing}")
        return [convert(value[n]) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} must hold one entry per output ({len(names)}). "
                             f"Received: {len(value)} entries")
        return [convert(v) for v in value]
    return [convert(value) for _ in names]


def _as_inputs(x: object, op: str | None = None, name: str = "x") -> Any:
    """One array, or, as Keras reads a list of arrays, a list for a model of several inputs;
    with ``op``, each checked to hold real numbers (``as_real_array``)."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(a, np.ndarray) for a in x):
        if len(x) == 1:
            return _as_inputs(x[0], op, name)
        if op is None:
            return list(x)
        return [as_real_array(a, f"{name}[{i}]", op) for i, a in enumerate(x)]
    return np.asarray(x) if op is None else as_real_array(x, name, op)


def _no_samples(shape: Shape, dtype: np.dtype | None, op: str) -> np.ndarray:
    """The output of ``shape`` (batch first) for no samples, else a ValueError if it has
    unknown axes (only a sample would tell their sizes)."""
    sizes = [n for n in shape[1:] if n is not None]
    if len(sizes) < len(shape) - 1:
        raise ValueError(f"{op}: x has no samples and the output's shape {shape} has unknown "
                         f"axes; give at least one sample")
    return np.empty((0, *sizes), dtype=dtype)


def _is_dask_array(x: object) -> bool:
    """Whether ``x`` is a ``dask.array.Array``; without importing Dask (none is one before)."""
    array = sys.modules.get("dask.array")
    return array is not None and isinstance(x, array.Array)


def _arrays(x: Any) -> list[np.ndarray]:
    return x if isinstance(x, list) else [x]


def _length(x: Any) -> int:
    return len(x[0]) if isinstance(x, list) else len(x)


def _take(x: Any, index: object) -> Any:
    return [a[index] for a in x] if isinstance(x, list) else x[index]


def _shapes(x: Any) -> object:
    return [a.shape for a in x] if isinstance(x, list) else x.shape


def _sample_weights(y: np.ndarray, sample_weight: object,
                    class_weight: Mapping[int, float] | None, n: int) -> np.ndarray | None:
    """Each sample's weight: ``sample_weight``, or its class's ``class_weight``."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError("You cannot use class_weight and sample_weight at the same time "
                         "(as Keras). Received: both")
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim != 1 or len(weights) != n:
            raise ValueError(f"sample_weight must hold one weight per sample, shape ({n},). "
                             f"Received: sample_weight.shape={weights.shape}")
    if class_weight is not None:
        if isinstance(y, list):
            raise ValueError("class_weight is not supported for a model of several outputs "
                             "(as Keras). Received: class_weight with a list of targets")
        labels = y.reshape(len(y), -1)
        if labels.shape[1] > 1:  # one-hot targets
            classes = labels.argmax(axis=1)
        else:
            classes = np.round(labels[:, 0]).astype(np.int64)
        missing = sorted(set(classes.tolist()) - set(class_weight))
        if missing:
            raise ValueError(f"class_weight must give a weight to every class in y. Received: "
                             f"no weight for classes {missing} (class_weight={class_weight!r})")
        per_class = np.array([class_weight[int(c)] for c in classes], dtype=np.float64)
        weights = per_class
    return weights


def _bytes(n: int) -> str:
    """Keras' size notation: 224.00 B, 1.23 KB, 4.56 MB."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.2f} B"


__all__ = ["History", "Model", "load_model"]
