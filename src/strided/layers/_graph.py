"""The functional API's graph: symbolic ``KerasTensor``s and the ``Node``s that join them.

``x = Input(shape)`` is a ``KerasTensor``: a shape (batch first, None) and the node that made
it.  Calling a layer on KerasTensors builds the layer for their shapes and records a node::

    node.layer, node.inputs (KerasTensors), node.outputs (KerasTensors)

``strided.Model(inputs, outputs)`` walks the nodes back from ``outputs`` to ``inputs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._base import Layer, Shape


class KerasTensor:
    """A symbolic tensor: ``shape`` (batch first) and the ``node`` that computes it."""

    def __init__(self, shape: Shape, dtype: np.dtype, node: Node | None = None,
                 index: int = 0) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        layer = self.node.layer.name if self.node else None
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, source={layer!r}>"


class Node:
    """One call of ``layer`` on symbolic ``inputs``, giving symbolic ``outputs``."""

    def __init__(self, layer: Layer, inputs: Sequence[KerasTensor],
                 output_shapes: Sequence[Shape]) -> None:
        self.layer = layer
        self.inputs = list(inputs)
        self.outputs = [KerasTensor(shape, layer.dtype, self, i)
                        for i, shape in enumerate(output_shapes)]
        self.index = len(layer.inbound_nodes)
        layer.inbound_nodes.append(self)

    @property
    def output(self) -> KerasTensor:
        return self.outputs[0]

    @property
    def parents(self) -> list[Node]:
        return [t.node for t in self.inputs if t.node is not None]

    def connected_to(self) -> list[str]:
        """Keras' summary notation, ``layer_name[node_index][tensor_index]`` per input."""
        return [f"{t.node.layer.name}[{t.node.index}][{t.index}]" for t in self.inputs
                if t.node is not None]


def is_symbolic(inputs: object) -> bool:
    """Whether ``inputs`` is a KerasTensor or a list holding one."""
    if isinstance(inputs, KerasTensor):
        return True
    return isinstance(inputs, (list, tuple)) and any(isinstance(x, KerasTensor) for x in inputs)


def call_symbolic(layer: Layer, inputs: Any) -> KerasTensor:
    """Build ``layer`` for the inputs' shapes and record the call as a node."""
    kind = type(layer).__name__
    many = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if many else [inputs]
    if not all(isinstance(t, KerasTensor) for t in tensors):
        raise TypeError(f"{kind}: cannot mix symbolic inputs (from strided.Input) and arrays. "
                        f"Received: {[type(t).__name__ for t in tensors]}")
    if many != layer.multiple_inputs:
        want = "a list of inputs" if layer.multiple_inputs else "a single input"
        raise ValueError(f"{kind}: expects {want}. Received: {len(tensors)} input(s)"
                         f"{' as a list' if many else ''}")
    shapes = [t.shape for t in tensors]
    shape: Any = shapes if many else shapes[0]
    if not layer.built:
        layer.build(shape)
    node = Node(layer, tensors, [layer.compute_output_shape(shape)])
    return node.output
