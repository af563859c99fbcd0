"""``Sequential``: Keras' model as a list of layers, each feeding the next.

Forward ``y = layer_n(... layer_1(x))``; backward ``g = layer_i.backward(g)``, i = n .. 1.
A plain ReLU after a BatchNormalization is applied in the normalisation's own pass, and its
backward folded into the normalisation's (``_fusions``).
The layers below the first with trainable weights skip d(loss)/d(input), which nothing uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .._runtime._threads import blas_on_one_thread
from ..layers._base import Layer, Shape
from ..layers._graph import KerasTensor
from ..layers._input import InputLayer
from ._model import Model, _no_samples


class Sequential(Model):
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

    def __init__(self, layers: Iterable[Layer | KerasTensor | Model] | None = None,
                 name: str | None = None) -> None:
        self._init_model(name, "sequential")
        self.layers: list[Layer] = []
        self.input_shape: Shape | None = None
        self.output_shapes: list[Shape] = []
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # -- building -------------------------------------------------------------------------
    def add(self, layer: Layer | KerasTensor | Model) -> None:
        """Append ``layer`` (or, first of all, set the input with ``Input(shape)``); a model's
        layers are appended one by one."""
        if isinstance(layer, KerasTensor) and layer.node is not None and isinstance(
                layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, Model):  # its layers, in turn, as Keras' nested model computes
            for inner in layer.layers:
                if not isinstance(inner, InputLayer):
                    self.add(inner)
            return
        if isinstance(layer, InputLayer):
            if self.layers or self.input_shape is not None:
                raise ValueError(f"Sequential: an Input can only be the first layer. "
                                 f"Received: {layer!r} after {len(self.layers)} layers")
            self.input_shape = layer.shape
            self._input_layer = layer
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

    def _call_symbolic(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def pop(self) -> Layer:
        """Remove the last layer and return it, as ``keras.Sequential.pop``."""
        if not self.layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = self.layers.pop()
        self.output_shapes = self.output_shapes[:len(self.layers)]
        return layer

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

    def _ensure_built(self, x: Any, name: str = "x") -> None:
        if isinstance(x, list):
            raise ValueError(f"Sequential {self.name!r} has one input. Received: a list of "
                             f"{len(x)} arrays")
        if not self.built:
            self.build((None, *x.shape[1:]))
        expected = self.input_shape[1:]  # type: ignore[index]
        if x.ndim != len(expected) + 1 or any(
                e is not None and e != n for e, n in zip(expected, x.shape[1:])):
            hint = ""
            if x.shape[1:] == tuple(expected[:-1]) and expected[-1] == 1:
                hint = (f"; add the channel axis: {name}[..., None] has shape "
                        f"{(*x.shape, 1)}")
            raise ValueError(f"Sequential {self.name!r} expects inputs of shape "
                             f"{(None, *expected)}. Received: {name}.shape={x.shape}{hint}")

    def _empty_outputs(self, x: Any) -> np.ndarray:
        last = self.layers[-1].dtype if self.layers else x.dtype
        return _no_samples(self.output_shapes[-1] if self.output_shapes else (None,), last,
                           f"Sequential {self.name!r}.predict")

    # -- running ---------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self._activity_total = 0.0
        self._passed = fusions = _fusions(self.layers)
        with blas_on_one_thread():  # idle OpenBLAS threads would spin on the cores we use
            for index, layer in enumerate(self.layers):
                if index in fusions:  # applied by the layer before it
                    continue
                if index + 1 in fusions:
                    layer.relu_fused = True
                try:
                    x = layer(x, training=training)
                finally:
                    layer.__dict__.pop("relu_fused", None)
                self._track_activity(layer)
        return x

    def _backward(self, grad: np.ndarray) -> None:
        passed: set[int] = getattr(self, "_passed", set())
        with blas_on_one_thread():
            for index in reversed(range(len(self.layers))):
                if index in passed:  # its backward is folded into the layer before it
                    continue
                grad = self.layers[index].backward(grad)
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

    # -- summary and configuration ---------------------------------------------------------
    def _summary_rows(self) -> list[tuple[str, str, str, list[str] | None]]:
        if not self.built and self.input_shape is not None:
            self.build()
        rows: list[tuple[str, str, str, list[str] | None]] = []
        for i, layer in enumerate(self.layers):
            shape = str(self.output_shapes[i]) if self.built else "?"
            count = str(layer.count_params()) if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, count, None))
        return rows

    def get_config(self) -> dict[str, Any]:
        """The name, input shape and each layer's class and config, as Keras'."""
        return {"name": self.name,
                "input_shape": None if self.input_shape is None else self.input_shape[1:],
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A new, equal model (fresh weights) from ``get_config``'s dict."""
        from .. import layers as _layers
        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model.add(_layers.Input(config["input_shape"]))
        for entry in config["layers"]:
            layer_class = getattr(_layers, entry["class_name"], None)
            if layer_class is None:
                raise ValueError(f"Sequential.from_config: unknown layer class. Received: "
                                 f"class_name={entry['class_name']!r}")
            model.add(layer_class.from_config(entry["config"]))
        return model


def _fusions(layers: Sequence[Layer]) -> set[int]:
    """The indices of plain ReLU layers that the BatchNormalization before them applies in its
    own pass (its features last, float32 or float64, no activity penalty on either)."""
    from ..layers import Activation, BatchNormalization, ReLU
    from ..layers._activations import ACTIVATIONS

    fused = set()
    for index in range(1, len(layers)):
        before, layer = layers[index - 1], layers[index]
        plain = (type(layer) is ReLU and layer.is_plain()) or (
            type(layer) is Activation and layer.activation is ACTIVATIONS["relu"])
        shape = before.input_shape
        if (plain and type(before) is BatchNormalization and layer.dtype == before.dtype
                and before.dtype in (np.float32, np.float64) and shape is not None
                and before.axis % len(shape) == len(shape) - 1
                and before.activity_regularizer is None and layer.activity_regularizer is None):
            fused.add(index)
    return fused
