"""ONNX in: a graph of convolution-network operators as a strided ``Sequential``.

The graph must be a chain (each operator reads the previous one's output, its other inputs
constants) of the operators in ``OPERATORS``.  ONNX tensors are channels-first; the layers
are made ``data_format="channels_first"``, except after a ``Transpose`` from NHWC (as a
channels-last model's export starts): the importer then keeps the data channels-last and
makes the layers channels-last, until a layer needs ONNX's order.  ``pads`` equal to
TensorFlow's SAME become ``padding="same"``; other padding a ``ZeroPadding`` layer.  Every
operator, attribute and constant is checked (and every operator strided cannot run named
in one message) before any layer is made.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import layers as L
from .._spec import normalize_padding

if TYPE_CHECKING:
    from ..models import Sequential

ELEMENTWISE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus",
               "Softsign": "softsign", "Exp": "exponential"}
OPERATORS = sorted({"Conv", "Gemm", "MatMul", "BatchNormalization", "MaxPool", "AveragePool",
                    "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "Softmax",
                    "LogSoftmax", "LeakyRelu", "Elu", "Selu", "Clip", "Dropout", "Identity",
                    "Pad", "Transpose", "Add", "Sub", "Mul", "Div", "Constant",
                    "HardSigmoid", "Gelu", "Erf", *ELEMENTWISE})


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX import needs the onnx package: pip install 'strided[onnx]'"
                          ) from None
    return onnx


class _Importer:
    def __init__(self, onnx: Any, proto: Any, source: str, name: str | None) -> None:
        from ..models import Sequential
        self.onnx, self.source = onnx, source
        graph = proto.graph
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
                          13)
        external = [t.name for t in graph.initializer
                    if t.data_location == onnx.TensorProto.EXTERNAL]
        if external:  # never open files a model names
            raise NotImplementedError(f"from_onnx: {source} keeps the weights {external[:5]} "
                                      f"in external files; strided reads weights stored in the "
                                      f"model (onnx.save_model(..., save_as_external_data="
                                      f"False))")
        self.constants: dict[str, np.ndarray] = {
            t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = self._constant_node(node)
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise NotImplementedError(
                f"from_onnx: {source} has {len(inputs)} inputs and {len(graph.output)} "
                f"outputs; strided imports graphs of one input and one output (Sequential)")
        tensor = inputs[0].type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        if len(dims) < 2 or any(d is None for d in dims[1:]):
            raise NotImplementedError(f"from_onnx: {source}: input {inputs[0].name!r} has "
                                      f"shape {dims}; strided needs every size but the "
                                      f"batch's")
        self.dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        self.batch = dims[0]
        self.x = inputs[0].name
        self.output = graph.output[0].name
        self.model = Sequential([L.Input(tuple(dims[1:]), dtype=self.dtype.name)],  # type: ignore
                                name=name or graph.name or "onnx")
        #: True while the data is held channels-last though ONNX's tensor is channels-first
        self.channels_last = False
        self.names: Counter[str] = Counter()

    # -- helpers -----------------------------------------------------------------------------
    def _constant_node(self, node: Any) -> np.ndarray:
        for a in node.attribute:
            if a.name == "value":
                return self.onnx.numpy_helper.to_array(a.t)
            if a.name in ("value_float", "value_int"):
                return np.array(self.onnx.helper.get_attribute_value(a))
            if a.name in ("value_floats", "value_ints"):
                return np.array(self.onnx.helper.get_attribute_value(a))
        raise NotImplementedError(f"from_onnx: {self.source}: Constant {node.name!r} has no "
                                  f"value strided reads")

    def where(self, node: Any) -> str:
        return f"{node.op_type} node {node.name or node.output[0]!r} of {self.source}"

    def attributes(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const(self, node: Any, index: int, what: str) -> np.ndarray | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.constants:
            raise NotImplementedError(f"from_onnx: {self.where(node)} reads its {what} from "
                                      f"tensor {name!r}, computed in the graph; strided needs "
                                      f"it constant (an initializer)")
        return self.constants[name]

    @property
    def shape(self) -> tuple[int | None, ...]:
        m = self.model
        return m.output_shapes[-1] if m.output_shapes else m.input_shape  # type: ignore

    @property
    def data_format(self) -> str:
        return "channels_last" if self.channels_last else "channels_first"

    def spatial(self) -> tuple[int, ...]:
        s = self.shape
        return tuple(s[1:-1] if self.channels_last else s[2:])  # type: ignore[arg-type]

    def add(self, layer: Any, weights: list[np.ndarray] | None = None) -> None:
        self.model.add(layer)
        if weights is not None:
            layer.set_weights([w.astype(self.dtype) for w in weights])

    def name(self, node: Any, suffix: str = "") -> str:
        base = (node.name or node.output[0] or node.op_type).strip("/").replace("/", ".")
        base += suffix
        self.names[base] += 1
        return base if self.names[base] == 1 else f"{base}_{self.names[base] - 1}"

    def common(self, node: Any, suffix: str = "") -> dict[str, Any]:
        return {"name": self.name(node, suffix), "dtype": self.dtype.name}

    def onnx_order(self) -> None:
        """Hold the data in ONNX's order (undo the channels-last holding)."""
        if self.channels_last:
            rank = len(self.shape)
            self.model.add(L.Permute((rank - 1, *range(1, rank - 1)),
                                     name=self.name_of("to_channels_first")))
            self.channels_last = False

    def name_of(self, base: str) -> str:
        self.names[base] += 1
        return base if self.names[base] == 1 else f"{base}_{self.names[base] - 1}"

    def padding(self, node: Any, a: dict[str, Any], kernel: tuple[int, ...],
                strides: tuple[int, ...], dilations: tuple[int, ...]
                ) -> tuple[str, tuple[tuple[int, int], ...]]:
        """("same" | "valid", extra zero padding per side) for a Conv or pooling node."""
        size = self.spatial()
        n = len(size)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        same = normalize_padding("same", size, kernel, strides, dilations, "from_onnx")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = same if auto == "SAME_UPPER" else tuple((hi, lo) for lo, hi in same)
        elif auto == "VALID":
            pads = ((0, 0),) * n
        elif auto == "NOTSET":
            flat = list(a.get("pads", [0] * 2 * n))
            if len(flat) != 2 * n or any(p < 0 for p in flat):
                raise ValueError(f"from_onnx: {self.where(node)} has pads={flat}; expected "
                                 f"{2 * n} sizes >= 0")
            pads = tuple(zip(flat[:n], flat[n:]))
        else:
            raise ValueError(f"from_onnx: {self.where(node)} has auto_pad={auto!r}; expected "
                             f"NOTSET, SAME_UPPER, SAME_LOWER or VALID")
        if pads == same and any(lo or hi for lo, hi in same):
            return "same", ((0, 0),) * n
        return "valid", pads

    def zero_padding(self, node: Any, pads: tuple[tuple[int, int], ...]) -> None:
        if not any(lo or hi for lo, hi in pads):
            return
        n = len(pads)
        if n == 1 and not self.channels_last:
            raise NotImplementedError(f"from_onnx: {self.where(node)} pads 1-d channels-first "
                                      f"data by {pads[0]}; strided's ZeroPadding1D pads "
                                      f"channels-last data only")
        cls = getattr(L, f"ZeroPadding{n}D")
        extra = {} if n == 1 else {"data_format": self.data_format}
        self.add(cls(pads if n > 1 else pads[0], **extra, **self.common(node, ".pad")))

    # -- operators ---------------------------------------------------------------------------
    def conv(self, node: Any, a: dict[str, Any]) -> None:
        w = self.const(node, 1, "weight")
        b = self.const(node, 2, "bias")
        if w is None or w.ndim < 3:
            raise ValueError(f"from_onnx: {self.where(node)} has no weight of rank 3 or more")
        n = w.ndim - 2
        kernel = tuple(int(k) for k in w.shape[2:])
        strides = tuple(a.get("strides", [1] * n))
        dilations = tuple(a.get("dilations", [1] * n))
        group = int(a.get("group", 1))
        channels = self.shape[-1 if self.channels_last else 1]
        padding, pads = self.padding(node, a, kernel, strides, dilations)
        self.zero_padding(node, pads)
        out = w.shape[0]
        common = {"strides": strides, "padding": padding, "dilation_rate": dilations,
                  "use_bias": b is not None, "data_format": self.data_format,
                  **self.common(node)}
        if group > 1 and group == channels and w.shape[1] == 1 and n == 2:
            m = out // group
            layer = L.DepthwiseConv2D(kernel, depth_multiplier=m, **common)
            k = w.reshape(group, m, *kernel).transpose(*range(2, 2 + n), 0, 1)
        else:
            layer = getattr(L, f"Conv{n}D")(out, kernel, groups=group, **common)
            k = w.transpose(*range(2, 2 + n), 1, 0)
        self.add(layer, [k, *([b] if b is not None else [])])

    def pool(self, node: Any, a: dict[str, Any]) -> None:
        if not a.get("kernel_shape"):
            raise ValueError(f"from_onnx: {self.where(node)} has no kernel_shape")
        kernel = tuple(a["kernel_shape"])
        n = len(kernel)
        strides = tuple(a.get("strides", [1] * n))
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1] * n)):
            raise NotImplementedError(f"from_onnx: {self.where(node)} has ceil_mode or "
                                      f"dilations, which strided's pooling does not have")
        padding, pads = self.padding(node, a, kernel, strides, (1,) * n)
        is_max = node.op_type == "MaxPool"
        include = a.get("count_include_pad", 0)
        if padding == "same" and not is_max and include:
            padding, pads = "valid", normalize_padding("same", self.spatial(), kernel, strides,
                                                       (1,) * n, "from_onnx")
        if any(lo or hi for lo, hi in pads) and (is_max or not include):
            raise NotImplementedError(
                f"from_onnx: {self.where(node)} pads by {pads}, not as TensorFlow's SAME; "
                f"strided's {'max' if is_max else 'average (count_include_pad=0)'} pooling "
                f"pads only that way")
        self.zero_padding(node, pads)
        cls = getattr(L, f"{'Max' if is_max else 'Average'}Pooling{n}D")
        self.add(cls(kernel, strides, padding=padding, data_format=self.data_format,
                     **self.common(node)))

    def dense(self, node: Any, kernel: np.ndarray, bias: np.ndarray | None) -> None:
        self.onnx_order()
        if len(self.shape) != 2 or kernel.ndim != 2 or kernel.shape[0] != self.shape[1]:
            raise ValueError(f"from_onnx: {self.where(node)} multiplies data of shape "
                             f"{self.shape} by a matrix of shape {kernel.shape}")
        units = kernel.shape[1]
        if bias is not None:
            bias = np.broadcast_to(bias, (units,)) if bias.size in (1, units) else None
            if bias is None:
                raise NotImplementedError(f"from_onnx: {self.where(node)} adds a bias that is "
                                          f"not one per output")
        self.add(L.Dense(units, use_bias=bias is not None, **self.common(node)),
                 [kernel, *([bias] if bias is not None else [])])

    def run(self, nodes: list[Any]) -> None:
        i = 0
        while i < len(nodes):
            node = nodes[i]
            i += 1
            if node.op_type == "Constant":
                continue
            if not node.input or node.input[0] != self.x:
                raise NotImplementedError(
                    f"from_onnx: {self.where(node)} reads {list(node.input)}, not the previous "
                    f"operator's output {self.x!r}; strided imports chains of operators "
                    f"(a Sequential model)")
            try:
                a = self.attributes(node)
                following = nodes[i] if i < len(nodes) else None
                fused = self.activation_pattern(nodes, i - 1)
                if fused is not None:
                    name, count = fused
                    self.add(L.Activation(name, **self.common(node, f".{name}")))
                    node = nodes[i - 1 + count - 1]
                    i += count - 1
                elif node.op_type == "MatMul" and following is not None and (
                        following.op_type == "Add" and list(following.input[:1]) == [node.output[0]]
                        and following.input[1] in self.constants):
                    self.dense(node, self.const(node, 1, "matrix"),  # type: ignore[arg-type]
                               self.constants[following.input[1]])
                    node = following
                    i += 1
                else:
                    self.operator(node, a)
            except ValueError as error:  # a layer refusing the node's values
                if str(error).startswith("from_onnx"):
                    raise
                raise ValueError(f"from_onnx: {self.where(node)}: {error}") from None
            self.x = node.output[0]
        if self.x != self.output:
            raise NotImplementedError(f"from_onnx: {self.source}: the graph's output "
                                      f"{self.output!r} is not the last operator's")
        self.onnx_order()

    def scalar(self, name: str) -> float | None:
        value = self.constants.get(name)
        return float(value.ravel()[0]) if value is not None and value.size == 1 else None

    def activation_pattern(self, nodes: list[Any], at: int) -> tuple[str, int] | None:
        """("silu" | "gelu", node count) when ``nodes[at:]`` start with SiLU's
        ``x * sigmoid(x)`` or the exact GELU's ``x * (1 + erf(x / sqrt 2)) / 2``."""
        x = self.x
        node = nodes[at]
        if node.op_type == "Sigmoid" and at + 1 < len(nodes):
            mul = nodes[at + 1]
            if mul.op_type == "Mul" and sorted(mul.input) == sorted([x, node.output[0]]):
                return "silu", 2
        ops = [n.op_type for n in nodes[at:at + 5]]
        if ops != ["Div", "Erf", "Add", "Mul", "Mul"]:
            return None
        div, erf, add, m1, m2 = nodes[at:at + 5]
        root = self.scalar(div.input[1])
        if root is None or abs(root - 2 ** 0.5) > 1e-6 or erf.input[0] != div.output[0]:
            return None
        if erf.output[0] not in add.input or 1.0 not in [self.scalar(n) for n in add.input]:
            return None
        for first, second in ((m1, m2), (m2, m1)):
            ins1, ins2 = list(first.input), list(second.input)
            # one Mul takes add's output (or the other Mul's) with x, the other halves
            if (add.output[0] in ins1 and x in ins1 and m1.output[0] in m2.input
                    and 0.5 in [self.scalar(n) for n in ins2]) or (
                    add.output[0] in ins1 and 0.5 in [self.scalar(n) for n in ins1]
                    and m1.output[0] in m2.input and x in ins2):
                return "gelu", 5
        return None

    def operator(self, node: Any, a: dict[str, Any]) -> None:
        op = node.op_type
        rank = len(self.shape)
        if op == "Conv":
            self.conv(node, a)
        elif op in ("MaxPool", "AveragePool"):
            self.pool(node, a)
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            n = rank - 2
            kind = "Average" if op == "GlobalAveragePool" else "Max"
            self.add(getattr(L, f"Global{kind}Pooling{n}D")(
                data_format=self.data_format, keepdims=True, **self.common(node)))
        elif op == "BatchNormalization":
            statistics = [self.const(node, k, w) for k, w in
                          enumerate(("scale", "bias", "mean", "var"), 1)]
            if any(v is None for v in statistics):
                raise ValueError(f"from_onnx: {self.where(node)} needs five inputs: X, scale, "
                                 f"B, input_mean and input_var")
            self.add(L.BatchNormalization(axis=-1 if self.channels_last else 1,
                                          epsilon=float(a.get("epsilon", 1e-5)),
                                          momentum=float(a.get("momentum", 0.9)),
                                          **self.common(node)), statistics)  # type: ignore[arg-type]
        elif op == "Gemm":
            if a.get("transA", 0):
                raise NotImplementedError(f"from_onnx: {self.where(node)} has transA=1")
            b = self.const(node, 1, "matrix")
            c = self.const(node, 2, "bias")
            kernel = (b.T if a.get("transB", 0) else b) * a.get("alpha", 1.0)  # type: ignore
            bias = None if c is None else np.ravel(c) * a.get("beta", 1.0)
            self.dense(node, kernel, bias)
        elif op == "MatMul":
            self.dense(node, self.const(node, 1, "matrix"), None)  # type: ignore[arg-type]
        elif op in ELEMENTWISE:
            self.add(L.Activation(ELEMENTWISE[op], **self.common(node)))
        elif op == "HardSigmoid":
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                raise NotImplementedError(f"from_onnx: {self.where(node)} has alpha="
                                          f"{a.get('alpha', 0.2)}, beta={a.get('beta', 0.5)}; "
                                          f"strided's hard_sigmoid is relu6(x + 3) / 6")
            self.add(L.Activation("hard_sigmoid", **self.common(node)))
        elif op == "Gelu":
            if a.get("approximate", b"none") not in (b"none", "none"):
                raise NotImplementedError(f"from_onnx: {self.where(node)} is the tanh "
                                          f"approximation; strided's gelu is the exact one")
            self.add(L.Activation("gelu", **self.common(node)))
        elif op == "Erf":
            raise NotImplementedError(f"from_onnx: {self.where(node)}: strided runs Erf only "
                                      f"within GELU, x * (1 + erf(x / sqrt 2)) / 2")
        elif op == "LeakyRelu":
            self.add(L.LeakyReLU(float(a.get("alpha", 0.01)), **self.common(node)))
        elif op == "Elu":
            self.add(L.ELU(float(a.get("alpha", 1.0)), **self.common(node)))
        elif op == "Selu":
            if "alpha" in a or "gamma" in a:
                raise NotImplementedError(f"from_onnx: {self.where(node)} has its own alpha "
                                          f"or gamma; strided's selu has the standard ones")
            self.add(L.Activation("selu", **self.common(node)))
        elif op == "Clip":
            low = self.const(node, 1, "min") if self.opset >= 11 else a.get("min")
            high = self.const(node, 2, "max") if self.opset >= 11 else a.get("max")
            if low is None or float(low) != 0:
                raise NotImplementedError(f"from_onnx: {self.where(node)} clips below at "
                                          f"{low}; strided runs Clip(0, max) as ReLU")
            self.add(L.ReLU(max_value=None if high is None else float(high),
                            **self.common(node)))
        elif op in ("Softmax", "LogSoftmax"):
            self.onnx_order()
            axis = int(a.get("axis", -1 if self.opset >= 13 else 1)) % rank
            if self.opset < 13 and axis != rank - 1:
                raise NotImplementedError(f"from_onnx: {self.where(node)} (opset "
                                          f"{self.opset}) flattens from axis {axis}")
            if op == "Softmax":
                self.add(L.Softmax(axis=axis, **self.common(node)))
            elif axis == rank - 1:
                self.add(L.Activation("log_softmax", **self.common(node)))
            else:
                raise NotImplementedError(f"from_onnx: {self.where(node)} is over axis {axis} "
                                          f"of {rank}; strided's log_softmax is over the last")
        elif op == "Flatten":
            self.onnx_order()
            if int(a.get("axis", 1)) % rank != 1:
                raise NotImplementedError(f"from_onnx: {self.where(node)} has axis="
                                          f"{a.get('axis')}; strided keeps the batch axis alone")
            self.add(L.Flatten(**self.common(node)))
        elif op == "Reshape":
            self.reshape(node, a)
        elif op in ("Dropout", "Identity"):
            pass  # inference
        elif op == "Pad":
            self.pad(node, a)
        elif op == "Transpose":
            self.transpose(node, a, rank)
        elif op in ("Add", "Sub", "Mul", "Div"):
            c = self.const(node, 1, "operand")
            if c is None or c.size != 1:
                raise NotImplementedError(f"from_onnx: {self.where(node)} combines the data "
                                          f"with {None if c is None else c.shape}; strided "
                                          f"runs {op} by a scalar constant only")
            v = float(c.ravel()[0])
            factor, offset = {"Add": (1.0, v), "Sub": (1.0, -v), "Mul": (v, 0.0),
                             "Div": (1 / v if v else np.inf, 0.0)}[op]
            self.add(L.Rescaling(factor, offset, **self.common(node)))
        else:  # pragma: no cover - _check lists these first
            raise NotImplementedError(self.where(node))

    def reshape(self, node: Any, a: dict[str, Any]) -> None:
        self.onnx_order()
        shape = self.const(node, 1, "shape")
        target = [int(d) for d in np.ravel(shape)]  # type: ignore[arg-type]
        if a.get("allowzero", 0) or not target or target[0] not in (0, -1, self.batch):
            raise NotImplementedError(f"from_onnx: {self.where(node)} reshapes to {target}; "
                                      f"strided keeps the batch axis first")
        rest = [self.shape[i + 1] if d == 0 else d for i, d in enumerate(target[1:])]
        if len(rest) == 1 and (rest[0] == -1 or rest[0] == math.prod(self.shape[1:])):  # type: ignore[arg-type]
            self.add(L.Flatten(**self.common(node)))
        else:
            self.add(L.Reshape(tuple(rest), **self.common(node)))  # type: ignore[arg-type]

    def pad(self, node: Any, a: dict[str, Any]) -> None:
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = self.const(node, 1, "pads") if self.opset >= 11 else np.array(a.get("pads"))
        value = self.const(node, 2, "constant_value") if self.opset >= 11 else a.get("value")
        rank = len(self.shape)
        if pads is None or len(node.input) > 3 or mode != "constant" or (
                value is not None and float(np.ravel(value)[0]) != 0):
            raise NotImplementedError(f"from_onnx: {self.where(node)} pads with mode {mode!r} "
                                      f"or a value; strided pads with zeros only")
        flat = [int(p) for p in np.ravel(pads)]
        pairs = list(zip(flat[:rank], flat[rank:]))
        if len(flat) != 2 * rank or any(pairs[i] != (0, 0) for i in (0, 1)) or min(flat) < 0:
            raise NotImplementedError(f"from_onnx: {self.where(node)} pads by {flat}; "
                                      f"strided pads the spatial axes only")
        self.zero_padding(node, tuple(pairs[2:]))

    def transpose(self, node: Any, a: dict[str, Any], rank: int) -> None:
        perm = list(a.get("perm", range(rank - 1, -1, -1)))
        to_first = [0, rank - 1, *range(1, rank - 1)]
        to_last = [0, *range(2, rank), 1]
        if rank > 2 and perm == to_first and not self.channels_last:
            self.channels_last = True  # keep the data as it is; the layers follow
        elif rank > 2 and perm == to_last and self.channels_last:
            self.channels_last = False
        else:
            self.onnx_order()
            if perm[0] != 0:
                raise NotImplementedError(f"from_onnx: {self.where(node)} moves the batch "
                                          f"axis (perm={perm})")
            self.add(L.Permute(tuple(perm[1:]), **self.common(node)))


def _check(proto: Any, source: str) -> None:
    """Every operator strided cannot run, named (with counts) in one message."""
    unknown = Counter(f"{n.domain + '.' if n.domain else ''}{n.op_type}" for n in proto.graph.node
                      if n.op_type not in OPERATORS or n.domain not in ("", "ai.onnx"))
    if unknown:
        listed = ", ".join(f"{op} ({count})" for op, count in sorted(unknown.items()))
        raise NotImplementedError(f"from_onnx: {source} uses operators strided cannot run: "
                                  f"{listed}; it runs {', '.join(OPERATORS)}")


def from_onnx(model: str | os.PathLike[str] | Any, name: str | None = None) -> Sequential:
    """A strided ``Sequential`` computing the ONNX graph ``model``.

    Parameters
    ----------
    model : path or onnx.ModelProto
        A ``.onnx`` file (``torch.onnx.export``, ``strided.formats.to_onnx``, ...) of one
        input and one output, whose operators form a chain.
    name : str, optional
        The model's name (default: the graph's).

    Returns
    -------
    Sequential
        Built for the graph's input shape (its batch size free), with the graph's weights;
        layers named after the nodes.  Channels-first graphs give channels-first layers.

    Raises
    ------
    NotImplementedError
        Naming every operator strided cannot run (before any work), or an attribute it
        does not have (``ceil_mode``, padding a max pool other than SAME, ...).
    ValueError
        For a file that is not ONNX.
    """
    onnx = _onnx()
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        source = repr(str(path))
        data = path.read_bytes()
        try:
            proto = onnx.load_model_from_string(data)
        except Exception as error:  # protobuf's DecodeError and friends have no common base
            raise ValueError(f"from_onnx: cannot read {source}: not an ONNX model "
                             f"({type(error).__name__}: {error})") from None
    else:
        proto, source = model, "the ONNX model"
    if not proto.HasField("graph") or not proto.graph.node:
        raise ValueError(f"from_onnx: {source} holds no graph")
    _check(proto, source)
    try:
        importer = _Importer(onnx, proto, source, name)
        importer.run(list(proto.graph.node))
    except NotImplementedError:  # a RuntimeError, but a documented one
        raise
    except _MALFORMED as error:
        raise ValueError(f"from_onnx: {source} is not a graph strided can read: "
                         f"{type(error).__name__}: {error}") from None
    return importer.model


#: what a damaged graph (attributes of the wrong type, missing or out of range) makes Python,
#: NumPy and onnx raise while it is read (found by fuzzing: tests/test_fuzz_readers.py)
_MALFORMED = (KeyError, IndexError, TypeError, AttributeError, OverflowError,
              ZeroDivisionError, RuntimeError, MemoryError)
