"""The functional model: ``Model(inputs, outputs)`` over the graph of layer calls.

The nodes between ``inputs`` and ``outputs`` are run in a topological order; a training
forward pass records each node's call state (what its layer keeps for ``backward``), so that
a layer called at several nodes (a shared layer) has one state per call.  The backward pass
walks the nodes in reverse::

    g[outputs] = dL/dy
    for each node, last first:   g[node.inputs] += node.layer.backward(g[node.output])
                                 node.layer's weight gradients summed over its nodes
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._runtime._threads import blas_on_one_thread
from ..layers._base import Layer
from ..layers._graph import KerasTensor, Node
from ..layers._input import InputLayer
from ._model import Model, _no_samples


class Functional(Model):
    """A model of the layers between symbolic ``inputs`` and ``outputs``, as Keras'.

    Made by ``strided.Model(inputs, outputs)``.

    Examples
    --------
    A residual block:

    >>> import numpy as np
    >>> from strided import Model, layers
    >>> x = layers.Input((8, 8, 4))
    >>> y = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    >>> y = layers.Add()([x, y])
    >>> model = Model(x, layers.GlobalAveragePooling2D()(y))
    >>> model.predict(np.zeros((2, 8, 8, 4))).shape, model.count_params()
    ((2, 4), 148)
    """

    def __init__(self, inputs: KerasTensor | Sequence[KerasTensor],
                 outputs: KerasTensor | Sequence[KerasTensor], name: str | None = None) -> None:
        self._init_model(name, "functional")
        self._many_inputs = isinstance(inputs, (list, tuple))
        self._many_outputs = isinstance(outputs, (list, tuple))
        self.inputs = _symbolic_tensors(inputs, "inputs")
        self.outputs = _symbolic_tensors(outputs, "outputs")
        for t in self.inputs:
            if t.node is None or not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model: each input must be a tensor made by "
                                 f"strided.layers.Input. Received: {t!r}")
        self._nodes = self._sorted_nodes()
        self.layers: list[Layer] = self._layer_order
        names = [layer.name for layer in self.layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Model: all layers must have unique names. Received: several "
                             f"layers named {duplicates}")
        self._tape: list[tuple[Node, tuple[object, ...]]] = []
        self.built = True

    def _sorted_nodes(self) -> list[Node]:
        """The nodes from the inputs to the outputs, deepest first, and the layers in Keras'
        order (``keras.src.ops.function.map_graph``): by decreasing depth, then by the order
        a walk back from the outputs first meets them."""
        input_nodes = {id(t.node) for t in self.inputs}
        finished: set[int] = set()
        post_order: list[Node] = []
        first_seen: dict[int, int] = {}
        for output in self.outputs:
            stack: list[tuple[Node, bool]] = [(output.node, False)]  # type: ignore[list-item]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    if id(node) not in finished:
                        finished.add(id(node))
                        post_order.append(node)
                    continue
                if id(node) in finished:
                    continue
                first_seen.setdefault(id(node.layer), len(first_seen))
                if isinstance(node.layer, InputLayer) and id(node) not in input_nodes:
                    raise ValueError(f"Model: graph disconnected: the output depends on input "
                                     f"{node.layer.name!r}, which is not among the model's "
                                     f"inputs {[t.node.layer.name for t in self.inputs if t.node]}")
                stack.append((node, True))
                for parent in reversed(node.parents):
                    stack.append((parent, False))
        depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        for node in reversed(post_order):
            d = max(depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth[id(node)] = d
            for parent in node.parents:
                depth[id(parent)] = max(d + 1, depth.get(id(parent), 0))
        for t in self.inputs:  # inputs the outputs do not use
            if id(t.node) not in depth:
                post_order.append(t.node)  # type: ignore[arg-type]
                depth[id(t.node)] = layer_depth[id(t.node.layer)] = 0  # type: ignore[union-attr]
                first_seen[id(t.node.layer)] = -1  # type: ignore[union-attr]
        nodes = sorted(post_order, key=lambda n: -depth[id(n)])  # stable: parents first
        layers = {id(n.layer): n.layer for n in post_order}
        self._layer_order = sorted(layers.values(), key=lambda la: (
            -layer_depth[id(la)], first_seen[id(la)]))
        return nodes

    def _call_symbolic(self, x: Any) -> Any:
        tensors = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(tensors) != len(self.inputs):
            raise ValueError(f"Model {self.name!r} expects {len(self.inputs)} input(s). "
                             f"Received: {len(tensors)} tensor(s)")
        mapped: dict[int, KerasTensor] = {id(t): v for t, v in zip(self.inputs, tensors)}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = [mapped[id(t)] for t in node.inputs]
            mapped[id(node.output)] = node.layer(args if node.layer.multiple_inputs else args[0])
        outputs = [mapped[id(t)] for t in self.outputs]
        return outputs if self._many_outputs else outputs[0]

    # -- running ---------------------------------------------------------------------------
    def _ensure_built(self, x: Any, name: str = "x") -> None:
        arrays = x if isinstance(x, list) else [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Model {self.name!r} expects {len(self.inputs)} input(s). "
                             f"Received: {len(arrays)} array(s)")
        for t, a in zip(self.inputs, arrays):
            expected = t.shape[1:]
            if a.ndim != len(expected) + 1 or any(
                    e is not None and e != n for e, n in zip(expected, a.shape[1:])):
                raise ValueError(f"Model {self.name!r} expects inputs of shape {t.shape} for "
                                 f"input {t.node.layer.name!r}. Received: "  # type: ignore
                                 f"{name}.shape={a.shape}")

    def _empty_outputs(self, x: Any) -> Any:
        outputs = [_no_samples(t.shape, t.dtype, f"Model {self.name!r}.predict")
                   for t in self.outputs]
        return outputs if self._many_outputs else outputs[0]

    def _forward(self, x: Any, training: bool) -> Any:
        arrays = x if isinstance(x, list) else [x]
        values: dict[int, np.ndarray] = {id(t): a for t, a in zip(self.inputs, arrays)}
        self._tape = []
        self._activity_total = 0.0
        with blas_on_one_thread():
            for node in self._nodes:
                if isinstance(node.layer, InputLayer):
                    values[id(node.output)] = node.layer(values[id(node.output)])
                    continue
                args = [values[id(t)] for t in node.inputs]
                values[id(node.output)] = node.layer(
                    args if node.layer.multiple_inputs else args[0], training=training)
                self._track_activity(node.layer)
                if training:
                    self._tape.append((node, node.layer.save_call_state()))
        outputs = [values[id(t)] for t in self.outputs]
        return outputs if self._many_outputs else outputs[0]

    def _output_names(self) -> list[str]:
        return [t.node.layer.name for t in self.outputs]  # type: ignore[union-attr]

    def _backward(self, grad: Any) -> None:
        grads: dict[int, np.ndarray] = {}
        for t, g in zip(self.outputs, grad if self._many_outputs else [grad]):
            grads[id(t)] = grads[id(t)] + g if id(t) in grads else g
        totals: dict[int, dict[str, np.ndarray]] = {}
        for layer in self.layers:
            layer.grads = {}
        # d(loss)/d(input) of a node matters only if some node it reads from has weights
        upstream: dict[int, bool] = {}
        for node in self._nodes:
            upstream[id(node)] = any(upstream[id(p)] or (p.layer.trainable and bool(
                p.layer.params)) for p in node.parents)
        with blas_on_one_thread():
            for node, state in reversed(self._tape):
                g = grads.pop(id(node.output), None)
                if g is None:  # the node does not lead to the output
                    continue
                layer = node.layer
                layer.restore_call_state(state)
                saved, layer.compute_input_gradient = (layer.compute_input_gradient,
                                                       upstream[id(node)])
                try:
                    dx = layer.backward(g)
                finally:
                    layer.compute_input_gradient = saved
                total = totals.setdefault(id(layer), {})
                for key, value in layer.grads.items():
                    total[key] = total[key] + value if key in total else value
                if dx is None:
                    continue
                for t, d in zip(node.inputs, dx if layer.multiple_inputs else [dx]):
                    if d is not None:
                        grads[id(t)] = grads[id(t)] + d if id(t) in grads else d
        for layer in self.layers:
            layer.grads = totals.get(id(layer), {})

    # -- summary and configuration ---------------------------------------------------------
    def _model_nodes(self, layer: Layer) -> list[Node]:
        return [node for node in self._nodes if node.layer is layer]

    def _summary_rows(self) -> list[tuple[str, str, str, list[str] | None]]:
        local = {id(node): i for layer in self.layers
                 for i, node in enumerate(self._model_nodes(layer))}
        rows: list[tuple[str, str, str, list[str] | None]] = []
        for layer in self.layers:
            nodes = self._model_nodes(layer)
            connected = [f"{t.node.layer.name}[{local[id(t.node)]}][{t.index}]"
                         for node in nodes for t in node.inputs if t.node is not None]
            rows.append((f"{layer.name} ({type(layer).__name__})", str(nodes[0].output.shape),
                         str(layer.count_params()), connected))
        return rows

    def get_config(self) -> dict[str, Any]:
        """Each layer's class, config and inbound nodes, and the input and output layers."""
        local = {id(node): i for layer in self.layers
                 for i, node in enumerate(self._model_nodes(layer))}

        def ref(t: KerasTensor) -> list[object]:
            return [t.node.layer.name, local[id(t.node)], t.index]  # type: ignore[union-attr]

        entries = []
        for layer in self.layers:
            entries.append({
                "class_name": type(layer).__name__, "name": layer.name,
                "config": layer.get_config(),
                "inbound_nodes": [[ref(t) for t in node.inputs]
                                  for node in self._model_nodes(layer)
                                  if not isinstance(layer, InputLayer)],
            })
        return {"name": self.name, "layers": entries,
                "input_layers": [ref(t) for t in self.inputs],
                "output_layers": [ref(t) for t in self.outputs]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:
        """A new, equal model (fresh weights) from ``get_config``'s dict."""
        from .. import layers as _layers
        tensors: dict[tuple[str, int], KerasTensor] = {}
        pending: list[tuple[Layer, list[list[Any]], int]] = []  # [name, node, tensor] (JSON)
        for entry in config["layers"]:
            if entry["class_name"] == "InputLayer":
                c = entry["config"]
                tensors[(entry["name"], 0)] = _layers.Input(c["shape"], c.get("batch_size"),
                                                            name=c["name"], dtype=c["dtype"])
                continue
            layer_class = getattr(_layers, entry["class_name"], None)
            if layer_class is None:
                raise ValueError(f"Model.from_config: unknown layer class. Received: "
                                 f"class_name={entry['class_name']!r}")
            layer = layer_class.from_config(entry["config"])
            for index, inbound in enumerate(entry["inbound_nodes"]):
                pending.append((layer, inbound, index))
        while pending:
            ready = [p for p in pending
                     if all((name, k) in tensors for name, k, _ in p[1])]
            if not ready:
                raise ValueError("Model.from_config: the layers' inbound nodes do not form a "
                                 "graph from the input layers")
            for item in ready:
                layer, inbound, index = item
                args = [tensors[(name, k)] for name, k, _ in inbound]
                tensors[(layer.name, index)] = layer(args if layer.multiple_inputs else args[0])
                pending.remove(item)
        inputs = [tensors[(name, k)] for name, k, _ in config["input_layers"]]
        outputs = [tensors[(name, k)] for name, k, _ in config["output_layers"]]
        return cls(inputs if len(inputs) > 1 else inputs[0],
                   outputs if len(outputs) > 1 else outputs[0], name=config.get("name"))


def _symbolic_tensors(value: object, what: str) -> list[KerasTensor]:
    """``value`` (a symbolic tensor, or a list or tuple of them) as a list, else TypeError."""
    tensors = []
    for t in list(value) if isinstance(value, (list, tuple)) else [value]:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Model: {what} must be symbolic tensors (from "
                            f"strided.layers.Input and layers called on them). "
                            f"Received: {t!r} of type {type(t).__name__}")
        tensors.append(t)
    return tensors
