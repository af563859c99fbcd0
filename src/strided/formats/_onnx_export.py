"""ONNX out: a strided ``Sequential`` as an ONNX graph (the onnx package builds it).

The graph takes and gives arrays in the model's own layout.  ONNX's convolution, pooling
and batch normalisation are channels-first; for a channels-last model the exporter
transposes to NCHW before the first such layer and back only where a layer needs the
model's layout (``Flatten``, ``Dense``, ``Softmax``, the output), so a run of
convolutions costs two ``Transpose`` nodes.  Padding is written out per side (``pads``),
computed by the layers' own rule (``_spec``), so TensorFlow's asymmetric SAME padding
survives; kernels are stored OIHW.  Dropout and random augmentation are inference
identities and are left out.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import layers as L
from ..datasets._files import atomic_writer
from ..layers._pooling import BaseGlobalPooling

#: the opset written (onnxruntime and every current tool run it)
OPSET = 17

_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
                "softsign": "Softsign", "exponential": "Exp", "selu": "Selu"}
_SKIPPED = (L.Dropout, L.RandomTranslation)
_SUPPORTED = (L.BaseConv, L.Dense, L.BatchNormalization, L.Activation, L.ReLU, L.LeakyReLU,
              L.ELU, L.Softmax, L.PReLU, L.Flatten, L.Reshape, L.Permute, L.Rescaling,
              L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D, L.MaxPooling1D,
              L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D,
              L.AveragePooling3D, BaseGlobalPooling, *_SKIPPED)
_UNSUPPORTED = (L.BaseConvTranspose, L.BaseSeparableConv)


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'strided[onnx]'"
                          ) from None
    return onnx


class _Graph:
    """Nodes and initializers under construction, and where the current tensor is."""

    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0
        self.used: set[str] = {"input", "output"}
        self.x = "input"
        #: True while the ONNX tensor is the channels-first transpose of the model's
        #: channels-last tensor
        self.transposed = False

    def name(self, hint: str) -> str:
        self.count += 1
        while f"{hint}_{self.count}" in self.used:
            self.count += 1
        self.used.add(f"{hint}_{self.count}")
        return f"{hint}_{self.count}"

    def const(self, value: object, hint: str, dtype: Any = None) -> str:
        name = self.name(hint)
        array = np.asarray(value, dtype=dtype or self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attributes: object) -> str:
        out = self.name(hint) if hint in self.used else hint  # a layer's node: its name
        self.used.add(out)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out,
                                                     **attributes))
        self.x = out
        return out

    def model_layout(self, rank: int) -> None:
        """Make the current tensor the model's own (undo a channels-first transpose)."""
        if self.transposed:
            self.node("Transpose", [self.x], "to_channels_last",
                      perm=[0, *range(2, rank), 1])
            self.transposed = False

    def channels_first(self, rank: int, data_format: str) -> None:
        """Make the current tensor channels-first, for a layer in ``data_format``."""
        if data_format == "channels_first":
            self.model_layout(rank)
        elif not self.transposed:
            self.node("Transpose", [self.x], "to_channels_first",
                      perm=[0, rank - 1, *range(1, rank - 1)])
            self.transposed = True

    def activation(self, name: str, rank: int, where: str) -> None:
        x = self.x
        if name == "linear":
            return
        if name in _ACTIVATIONS:
            self.node(_ACTIVATIONS[name], [x], name)
        elif name in ("softmax", "log_softmax"):
            self.model_layout(rank)
            self.node("Softmax" if name == "softmax" else "LogSoftmax", [self.x], name,
                      axis=-1)
        elif name == "elu":
            self.node("Elu", [x], name, alpha=1.0)
        elif name == "leaky_relu":
            self.node("LeakyRelu", [x], name, alpha=0.2)
        elif name == "relu6":
            self.node("Clip", [x, self.const(0, "zero"), self.const(6, "six")], name)
        elif name == "hard_sigmoid":
            self.node("HardSigmoid", [x], name, alpha=1 / 6, beta=0.5)
        elif name in ("silu", "swish"):
            s = self.node("Sigmoid", [x], "sigmoid")
            self.node("Mul", [x, s], name)
        elif name == "gelu":  # x * (1 + erf(x / sqrt 2)) / 2, the exact one
            e = self.node("Erf", [self.node("Div", [x, self.const(math.sqrt(2), "sqrt2")],
                                            "div")], "erf")
            half = self.node("Mul", [self.node("Add", [e, self.const(1, "one")], "add"),
                                     self.const(0.5, "half")], "mul")
            self.node("Mul", [x, half], name)
        else:
            raise NotImplementedError(f"to_onnx: {where} uses the activation {name!r}, "
                                      f"which the exporter does not write")


def _pads(padding: tuple[tuple[int, int], ...]) -> list[int]:
    """ONNX's ``pads``: all the starts, then all the ends."""
    return [lo for lo, _ in padding] + [hi for _, hi in padding]


def _spatial(shape: tuple[int | None, ...], data_format: str) -> tuple[int, ...]:
    return tuple(shape[1:-1] if data_format == "channels_last" else shape[2:])  # type: ignore


def _layer(g: _Graph, layer: Any, shape: tuple[Any, ...]) -> None:
    """Append the nodes of ``layer`` on inputs of ``shape`` (the model's layout)."""
    rank = len(shape)
    where = f"layer {layer.name!r} ({type(layer).__name__})"
    if isinstance(layer, _SKIPPED):
        return
    if isinstance(layer, L.BaseConv):
        g.channels_first(rank, layer.data_format)
        spec = layer._spec((1, *shape[1:]))
        kernel = layer._op_kernel()  # (*K, I/g, O) -> (O, I/g, *K)
        n = kernel.ndim - 2
        weight = g.const(kernel.transpose(n + 1, n, *range(n)), f"{layer.name}_weight")
        inputs = [g.x, weight]
        if layer.use_bias:
            inputs.append(g.const(layer.params["bias"], f"{layer.name}_bias"))
        g.node("Conv", inputs, layer.name, kernel_shape=list(spec.kernel_size),
               strides=list(spec.stride), dilations=list(spec.dilation),
               pads=_pads(spec.padding), group=spec.groups)
        g.activation(layer.activation.name, rank, where)
    elif isinstance(layer, L.Dense):
        g.model_layout(rank)
        matrix = g.const(layer.params["kernel"], f"{layer.name}_kernel")
        bias: str | None = (g.const(layer.params["bias"], f"{layer.name}_bias")
                            if layer.use_bias else None)
        if rank == 2:
            g.node("Gemm", [g.x, matrix, *([bias] if bias else [])], layer.name)
        else:
            g.node("MatMul", [g.x, matrix], layer.name)
            if bias:
                g.node("Add", [g.x, bias], f"{layer.name}_add")
        g.activation(layer.activation.name, rank, where)
    elif isinstance(layer, L.BatchNormalization):
        axis = layer.axis % rank
        if axis == rank - 1 and rank > 2:
            g.channels_first(rank, "channels_last")
        elif axis == 1:
            g.model_layout(rank)
        else:
            raise NotImplementedError(f"to_onnx: {where} normalises axis {layer.axis} of "
                                      f"{rank}-d data; ONNX's BatchNormalization takes the "
                                      f"channels (axis 1 or the last)")
        p = layer.params
        c = p["moving_mean"].shape[0]
        gamma = p.get("gamma", np.ones(c))
        beta = p.get("beta", np.zeros(c))
        g.node("BatchNormalization", [
            g.x, g.const(gamma, "gamma"), g.const(beta, "beta"),
            g.const(p["moving_mean"], "mean"), g.const(p["moving_variance"], "var")],
            layer.name, epsilon=float(layer.epsilon))
    elif isinstance(layer, (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
                            L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D)):
        g.channels_first(rank, layer.data_format)
        padding, _ = layer._geometry(_spatial(shape, layer.data_format))
        attributes: dict[str, object] = {"kernel_shape": list(layer.pool_size),
                                         "strides": list(layer.strides),
                                         "pads": _pads(padding)}
        if "Max" in type(layer).__name__:
            g.node("MaxPool", [g.x], layer.name, **attributes)
        else:  # TensorFlow's SAME averages the real inputs only
            g.node("AveragePool", [g.x], layer.name, count_include_pad=0, **attributes)
    elif isinstance(layer, BaseGlobalPooling):
        g.channels_first(rank, layer.data_format)
        op = "GlobalMaxPool" if "Max" in type(layer).__name__ else "GlobalAveragePool"
        g.node(op, [g.x], layer.name)
        if not layer.keepdims:
            g.node("Flatten", [g.x], f"{layer.name}_flatten", axis=1)
            g.transposed = False
    elif isinstance(layer, L.Flatten):
        g.model_layout(rank)
        if layer.data_format == "channels_first" and rank > 2:
            g.node("Transpose", [g.x], "to_channels_last", perm=[0, *range(2, rank), 1])
        g.node("Flatten", [g.x], layer.name, axis=1)
    elif isinstance(layer, L.Reshape):
        g.model_layout(rank)
        target = g.const([0, *layer.target_shape], "shape", np.int64)
        g.node("Reshape", [g.x, target], layer.name)
    elif isinstance(layer, L.Permute):
        g.model_layout(rank)
        g.node("Transpose", [g.x], layer.name, perm=[0, *layer.dims])
    elif isinstance(layer, L.Rescaling):
        g.node("Mul", [g.x, g.const(layer.scale, "scale")], layer.name)
        if layer.offset:
            g.node("Add", [g.x, g.const(layer.offset, "offset")], f"{layer.name}_offset")
    elif isinstance(layer, (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)):
        widths = [(0, 0)] * rank
        if g.transposed and layer.data_format == "channels_last":
            axes: tuple[int, ...] = tuple(range(2, rank))  # stay channels-first
        else:
            g.model_layout(rank)
            axes = layer._axes(rank)
        for axis, pair in zip(axes, layer.padding):
            widths[axis] = pair
        g.node("Pad", [g.x, g.const(_pads(tuple(widths)), "pads", np.int64)], layer.name)
    elif isinstance(layer, L.Activation):
        g.activation(layer.activation.name, rank, where)
    elif isinstance(layer, L.Softmax):
        g.model_layout(rank)
        g.node("Softmax", [g.x], layer.name, axis=layer.axis)
    elif isinstance(layer, L.ReLU):
        _relu(g, layer, where)
    elif isinstance(layer, L.LeakyReLU):
        g.node("LeakyRelu", [g.x], layer.name, alpha=float(layer.negative_slope))
    elif isinstance(layer, L.ELU):
        g.node("Elu", [g.x], layer.name, alpha=float(layer.alpha))
    elif isinstance(layer, L.PReLU):
        g.model_layout(rank)
        g.node("PRelu", [g.x, g.const(layer.params["alpha"], "alpha")], layer.name)
    else:  # pragma: no cover - _check lists these first
        raise NotImplementedError(where)


def _relu(g: _Graph, layer: Any, where: str) -> None:
    if getattr(layer, "threshold", 0):
        raise NotImplementedError(f"to_onnx: {where} has a threshold; ONNX's Relu has none")
    if layer.negative_slope:
        g.node("LeakyRelu", [g.x], layer.name, alpha=float(layer.negative_slope))
        if layer.max_value is not None:
            g.node("Min", [g.x, g.const(layer.max_value, "max")], f"{layer.name}_max")
    elif layer.max_value is not None:
        g.node("Clip", [g.x, g.const(0, "zero"), g.const(layer.max_value, "max")], layer.name)
    else:
        g.node("Relu", [g.x], layer.name)


def _check(model: Any) -> None:
    """Every layer the exporter cannot write, named in one message."""
    from ..models import Sequential
    if not isinstance(model, Sequential):
        raise NotImplementedError(f"to_onnx: exports a Sequential model; "
                                  f"{type(model).__name__} {model.name!r} is not one")
    if not model.built:
        raise ValueError(f"to_onnx: {type(model).__name__} {model.name!r} is not built: give "
                         f"it an Input(shape) or call it on data first")
    bad = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers
           if isinstance(layer, _UNSUPPORTED) or not isinstance(layer, _SUPPORTED)]
    if bad:
        raise NotImplementedError(f"to_onnx: the exporter cannot write the layers "
                                  f"{', '.join(bad)}; it writes convolutions, Dense, "
                                  f"BatchNormalization, pooling, activations, Flatten, "
                                  f"Reshape, Permute, ZeroPadding, Rescaling and Dropout")


def to_onnx(model: Any, filepath: str | os.PathLike[str] | None = None, *,
            opset: int = OPSET) -> Any:
    """Export a strided ``Sequential`` as an ONNX graph, for onnxruntime and the rest.

    Parameters
    ----------
    model : Sequential
        A built model (started with ``Input(shape)``, or called once).
    filepath : str or path, optional
        Where to write the ``.onnx`` file (atomically); None writes nothing.
    opset : int
        The ONNX operator set (17 by default; 13 or later).

    Returns
    -------
    onnx.ModelProto
        Input ``"input"`` of shape ``(N, *model.input_shape[1:])`` (``N`` free) and output
        ``"output"``, both in the model's layout and dtype; ``predict`` and onnxruntime
        agree to rounding.

    Raises
    ------
    NotImplementedError
        Naming every layer the exporter cannot write, before any work.
    """
    onnx = _onnx()
    _check(model)
    if opset < 13:
        raise ValueError(f"to_onnx: opset must be 13 or later. Received: opset={opset}")
    dtype = np.dtype(model.layers[0].dtype if model.layers else np.float32)
    g = _Graph(onnx, dtype)
    shape: tuple[int | None, ...] = model.input_shape
    for layer, out_shape in zip(model.layers, model.output_shapes):
        _layer(g, layer, shape)
        shape = out_shape
    g.model_layout(len(shape))
    g.node("Identity", [g.x], "output")
    g.nodes[-1].output[0] = "output"
    element = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    graph = onnx.helper.make_graph(
        g.nodes, model.name,
        [onnx.helper.make_tensor_value_info("input", element,
                                            ["N", *model.input_shape[1:]])],
        [onnx.helper.make_tensor_value_info("output", element, ["N", *shape[1:]])],
        g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="strided")
    proto.ir_version = min(proto.ir_version, 8 if opset < 18 else 9)
    onnx.checker.check_model(proto)
    if filepath is not None:
        with atomic_writer(Path(filepath)) as stream:
            stream.write(proto.SerializeToString())
    return proto
