"""PyTorch in: a ``state_dict`` (as safetensors) into a strided model, or an ``nn.Sequential``.

PyTorch names a weight ``"{module path}.{parameter}"`` and stores convolution weights OIHW
(``(out, in / groups, *kernel)``), ``Linear`` weights ``(out, in)``; strided (as Keras)
stores HWIO kernels and ``(in, out)`` dense kernels.  The conversions, per strided layer::

    Conv*D           weight (O, I/g, *K)   -> kernel (*K, I/g, O)          bias as is
    DepthwiseConv*D  weight (C*M, 1, *K)   -> kernel (*K, C, M)            bias as is
    Conv*DTranspose  weight (I, O, *K)     -> kernel (*K, O, I)            bias as is
    Dense            weight (O, I)         -> kernel (I, O)                bias as is
    BatchNormalization  weight, bias, running_mean, running_var -> gamma, beta,
                     moving_mean, moving_variance (num_batches_tracked is not used)
    LayerNormalization  weight, bias        -> gamma, beta

A PyTorch module is matched to a strided layer by, in turn: ``mapping`` (strided layer name
-> module path), equal names, then position (the remaining modules in order, the
remaining layers with weights in order).  Every weight is converted and checked before the
first is set.  Modules built by ``from_torch`` are NCHW: their layers use
``data_format="channels_first"``, as PyTorch's inputs are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import layers as _layers
from ._safetensors import read_safetensors

if TYPE_CHECKING:
    from ..models import Model, Sequential

Arrays = dict[str, np.ndarray]


def _conv(t: Arrays) -> Arrays:
    w = t["weight"]
    rank = w.ndim - 2
    return {"kernel": w.transpose(*range(2, 2 + rank), 1, 0)}


def _depthwise(t: Arrays, layer: Any) -> Arrays:
    w = t["weight"]
    rank = w.ndim - 2
    m = layer.depth_multiplier
    if w.shape[1] != 1 or w.shape[0] % m:
        return {"kernel": w}  # not depthwise: reported as a shape mismatch
    return {"kernel": w.reshape(w.shape[0] // m, m, *w.shape[2:]).transpose(
        *range(2, 2 + rank), 0, 1)}


def _transpose(t: Arrays) -> Arrays:
    w = t["weight"]
    rank = w.ndim - 2
    return {"kernel": w.transpose(*range(2, 2 + rank), 1, 0)}


#: per strided layer family: (PyTorch parameter -> strided weight, kernel conversion)
_FAMILIES: list[tuple[type, dict[str, str], Callable[..., Arrays] | None]] = [
    (_layers.BaseSeparableConv, {}, None),  # PyTorch has no one module for it
    (_layers.BaseDepthwiseConv, {"bias": "bias"}, _depthwise),
    (_layers.BaseConvTranspose, {"bias": "bias"}, _transpose),
    (_layers.BaseConv, {"bias": "bias"}, _conv),
    (_layers.Dense, {"bias": "bias"}, lambda t: {"kernel": t["weight"].T}),
    (_layers.BatchNormalization, {"weight": "gamma", "bias": "beta",
                                  "running_mean": "moving_mean",
                                  "running_var": "moving_variance"}, None),
    (_layers.LayerNormalization, {"weight": "gamma", "bias": "beta"}, None),
]
_IGNORED = ("num_batches_tracked",)


def _family(layer: Any) -> tuple[dict[str, str], Callable[..., Arrays] | None] | None:
    for cls, names, convert in _FAMILIES:
        if isinstance(layer, cls):
            if cls is _layers.BaseSeparableConv:
                return None
            return names, convert
    return None


def _expected_torch_names(layer: Any) -> list[str]:
    """The PyTorch parameter names that fill ``layer``'s weights."""
    family = _family(layer)
    if family is None:
        return []
    names, convert = family
    found = [t for t, s in names.items() if s in layer.params]
    return (["weight"] if convert is not None else []) + found


def _convert(layer: Any, module: Arrays) -> Arrays:
    names, convert = _family(layer)  # type: ignore[misc]
    out: Arrays = {}
    if convert is not None:
        out.update(convert(module, layer) if convert is _depthwise else convert(module))
    for torch_name, strided_name in names.items():
        if torch_name in module:
            out[strided_name] = module[torch_name]
    return out


def natural(key: str) -> list[object]:
    """``"features.10"`` after ``"features.9"``: numbers compared as numbers."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key)]


def _as_numpy(value: object, name: str, source: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise ValueError(f"load_state_dict: {name!r} in {source} has dtype {array.dtype}; "
                         f"weights must be floating point")
    return array


def load_state_dict(model: Model, state_dict: str | os.PathLike[str] | Mapping[str, Any],
                    mapping: Mapping[str, str] | None = None, *, source: str | None = None
                    ) -> None:
    """Set the weights of a strided ``model`` from a PyTorch ``state_dict``.

    Parameters
    ----------
    model : Model
        A built strided model whose layers match the PyTorch modules (``Conv2d`` ->
        ``Conv2D``, ``Linear`` -> ``Dense``, ``BatchNorm2d`` -> ``BatchNormalization``...).
    state_dict : path or mapping
        A ``.safetensors`` file (``safetensors.torch.save_file(module.state_dict(), path)``)
        or the mapping itself (``module.state_dict()``: tensors or arrays).
    mapping : dict, optional
        Strided layer name -> PyTorch module path (``{"conv2d": "features.0"}``), for the
        layers whose names differ; the others match by name, then by position: the order of
        a mapping given, and for a file (whose writer sorts the tensors) the module paths in
        natural order (``"9"`` before ``"10"``; ``"classifier"`` before ``"features"``, where
        a mapping or equal names are needed).
    source : str, optional
        How to name the weights in messages (default: the file's name).

    Raises
    ------
    ValueError
        Naming the PyTorch weight, its shape, the strided layer, the shape it expects and
        how the two were matched, when anything does not fit; no weight is set then.
        A pickle (``torch.save``) is refused, with how to write safetensors instead.
    """
    if isinstance(state_dict, (str, os.PathLike)):
        source = source or repr(str(state_dict))
        tensors, _ = read_safetensors(Path(state_dict))
        ordered = sorted(tensors, key=natural)  # a file's order is its writer's, not the model's
    else:
        source = source or "the state_dict"
        tensors = dict(state_dict)
        ordered = list(tensors)
    if not source.startswith(("'", "the ")):
        source = repr(source)
    modules: dict[str, Arrays] = {}
    for key in ordered:
        prefix, _, parameter = key.rpartition(".")
        if parameter in _IGNORED:
            continue
        modules.setdefault(prefix, {})[parameter] = _as_numpy(tensors[key], key, source)
    targets = [layer for layer in model.layers if layer.params]
    pairs = _match(model, targets, list(modules), dict(mapping or {}), source)
    how = ", ".join(f"{p or '(top)'} -> {layer.name} ({kind})" for p, layer, kind in pairs)
    hint = (f"The modules were matched as: {how}. Name the strided layers after the PyTorch "
            f"modules, or pass mapping={{strided layer name: PyTorch module path}}")
    converted: list[tuple[Any, Arrays]] = []
    for prefix, layer, _ in pairs:
        module = modules[prefix]
        expected = _expected_torch_names(layer)
        if not expected:
            raise ValueError(f"load_state_dict: strided layer {layer.name!r} "
                             f"({type(layer).__name__}) has no PyTorch counterpart whose "
                             f"weights strided knows how to convert. {hint}")
        if sorted(module) != sorted(expected):
            raise ValueError(f"load_state_dict: PyTorch module {prefix!r} in {source} has "
                             f"{sorted(module)}, but strided layer {layer.name!r} "
                             f"({type(layer).__name__}) needs {sorted(expected)}. {hint}")
        weights = _convert(layer, module)
        for key, current in layer.params.items():
            torch_name = next((t for t, s in _family(layer)[0].items() if s == key),  # type: ignore[index]
                              "weight")
            if weights[key].shape != current.shape:
                raise ValueError(
                    f"load_state_dict: PyTorch {prefix + '.' if prefix else ''}{torch_name} "
                    f"in {source} of shape {module[torch_name].shape} gives {key} of shape "
                    f"{weights[key].shape}, but strided layer {layer.name!r} "
                    f"({type(layer).__name__}) has {key} of shape {current.shape}. {hint}")
        converted.append((layer, weights))
    for layer, weights in converted:
        layer.set_weights([weights[key] for key in layer.params])


def _match(model: Model, targets: list[Any], prefixes: list[str], mapping: dict[str, str],
           source: str) -> list[tuple[str, Any, str]]:
    """(module path, strided layer, "mapping"/"name"/"position") for every weighted layer."""
    names = {layer.name for layer in model.layers}
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise ValueError(f"load_state_dict: mapping names strided layers {unknown} that "
                         f"{type(model).__name__} {model.name!r} does not have; its layers "
                         f"are {[layer.name for layer in model.layers]}")
    missing = sorted(set(mapping.values()) - set(prefixes))
    if missing:
        raise ValueError(f"load_state_dict: mapping names PyTorch modules {missing} that "
                         f"{source} does not hold; it holds {prefixes}")
    chosen: dict[str, tuple[str, str]] = {}
    for layer in targets:
        if layer.name in mapping:
            chosen[layer.name] = (mapping[layer.name], "mapping")
    used = {p for p, _ in chosen.values()}
    for layer in targets:
        if layer.name not in chosen and layer.name in prefixes and layer.name not in used:
            chosen[layer.name] = (layer.name, "name")
            used.add(layer.name)
    rest = [p for p in prefixes if p not in used]
    unmatched = [layer for layer in targets if layer.name not in chosen]
    if len(rest) != len(unmatched):
        raise ValueError(f"load_state_dict: {source} holds weights for {len(prefixes)} "
                         f"modules {prefixes}, but {type(model).__name__} {model.name!r} has "
                         f"{len(targets)} layers with weights "
                         f"{[layer.name for layer in targets]}; each PyTorch module with "
                         f"weights needs one strided layer")
    for layer, prefix in zip(unmatched, rest):
        chosen[layer.name] = (prefix, "position")
    return [(chosen[layer.name][0], layer, f"by {chosen[layer.name][1]}") for layer in targets]


# -- nn.Sequential -> strided Sequential ---------------------------------------------------
def _pair(value: object, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n  # type: ignore[call-overload]


def _zero_padding(p: tuple[int, ...], name: str, kind: str) -> Any:
    """Zeros ``p[i]`` before and after each spatial axis of NCHW data."""
    if len(p) == 1:  # Keras' ZeroPadding1D pads channels-last steps only
        raise NotImplementedError(f"from_torch: {name} ({kind}) pads 1-d data by {p[0]}; "
                                  f"strided converts padding=0 or 'same' in 1-d")
    return getattr(_layers, f"ZeroPadding{len(p)}D")(
        tuple((q, q) for q in p), data_format="channels_first", name=f"{name}.pad")


def _conv_layers(m: Any, name: str, shape: tuple[int | None, ...]) -> list[Any]:
    rank = len(m.kernel_size)
    kind = type(m).__name__
    if m.padding_mode != "zeros":
        raise NotImplementedError(f"from_torch: {name} ({kind}) pads with "
                                  f"padding_mode={m.padding_mode!r}; strided pads with zeros")
    k, s, d = tuple(m.kernel_size), tuple(m.stride), tuple(m.dilation)
    out: list[Any] = []
    if isinstance(m.padding, str):
        padding = m.padding
    else:
        p = _pair(m.padding, rank)
        # symmetric padding of d*(k-1)/2 at stride 1 is TensorFlow's SAME
        if all(pi == 0 for pi in p):
            padding = "valid"
        elif all(si == 1 and 2 * pi == di * (ki - 1) for pi, si, di, ki in zip(p, s, d, k)):
            padding = "same"
        else:
            padding = "valid"
            out.append(_zero_padding(p, name, kind))
    groups, o = m.groups, m.out_channels
    common: dict[str, Any] = {"strides": s, "padding": padding, "dilation_rate": d,
              "use_bias": m.bias is not None, "data_format": "channels_first", "name": name}
    if groups > 1 and groups == m.in_channels and rank == 2:
        out.append(_layers.DepthwiseConv2D(k, depth_multiplier=o // groups, **common))
    else:
        out.append(getattr(_layers, f"Conv{rank}D")(o, k, groups=groups, **common))
    return out


def _module_layers(m: Any, name: str, shape: tuple[int | None, ...]) -> list[Any]:
    """The strided layers computing PyTorch module ``m`` on NCHW inputs of ``shape``."""
    kind = type(m).__name__
    first = {"data_format": "channels_first", "name": name}
    if kind in ("Conv1d", "Conv2d", "Conv3d"):
        return _conv_layers(m, name, shape)
    if kind == "Linear":
        return [_layers.Dense(m.out_features, use_bias=m.bias is not None, name=name)]
    if kind in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        if not m.track_running_stats:
            raise NotImplementedError(f"from_torch: {name} ({kind}) has no running statistics "
                                      f"(track_running_stats=False)")
        return [_layers.BatchNormalization(axis=1, epsilon=m.eps, momentum=1 - (m.momentum or 0.01),
                                           center=m.affine, scale=m.affine, name=name)]
    if kind in ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d"):
        n = int(kind[-2])
        k, s, p = _pair(m.kernel_size, n), _pair(m.stride or m.kernel_size, n), _pair(m.padding, n)
        if m.ceil_mode or (kind.startswith("Max") and _pair(m.dilation, n) != (1,) * n):
            raise NotImplementedError(f"from_torch: {name} ({kind}) uses ceil_mode or "
                                      f"dilation, which strided's pooling does not have")
        out = []
        if any(p):
            if kind.startswith("Max") or not m.count_include_pad:
                raise NotImplementedError(
                    f"from_torch: {name} ({kind}) pads by {p}; strided's pooling pads only "
                    f"as TensorFlow's SAME (use padding=0, or AvgPool with "
                    f"count_include_pad=True)")
            out.append(_zero_padding(p, name, kind))
        pool = getattr(_layers, f"{'Max' if kind.startswith('Max') else 'Average'}Pooling{n}D")
        out.append(pool(k, s, padding="valid", **first))
        return out
    if kind in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
                "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"):
        n = int(kind[-2])
        if _pair(m.output_size, n) != (1,) * n:
            raise NotImplementedError(f"from_torch: {name} ({kind}) has output_size="
                                      f"{m.output_size}; strided runs only output_size=1")
        pool = getattr(_layers, f"Global{'Average' if 'Avg' in kind else 'Max'}Pooling{n}D")
        return [pool(keepdims=True, **first)]
    if kind == "Flatten":
        if m.start_dim != 1 or m.end_dim != -1:
            raise NotImplementedError(f"from_torch: {name} (Flatten) has start_dim="
                                      f"{m.start_dim}, end_dim={m.end_dim}; strided's Flatten "
                                      f"keeps the batch axis alone (1, -1)")
        return [_layers.Flatten(name=name)]
    if kind in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d"):
        return [_layers.Dropout(m.p, name=name)]
    if kind in _ACTIVATIONS:
        return [_layers.Activation(_ACTIVATIONS[kind], name=name)]
    if kind == "ReLU6":
        return [_layers.ReLU(max_value=6.0, name=name)]
    if kind == "LeakyReLU":
        return [_layers.LeakyReLU(m.negative_slope, name=name)]
    if kind == "ELU":
        return [_layers.ELU(m.alpha, name=name)]
    if kind == "GELU":
        if m.approximate != "none":
            raise NotImplementedError(f"from_torch: {name} (GELU) has approximate="
                                      f"{m.approximate!r}; strided's gelu is the exact one")
        return [_layers.Activation("gelu", name=name)]
    if kind in ("Softmax", "LogSoftmax"):
        ndim = len(shape)
        if m.dim is None or (m.dim % ndim != ndim - 1 and m.dim % ndim != 1):
            raise NotImplementedError(f"from_torch: {name} ({kind}) has dim={m.dim}; strided "
                                      f"converts dim=1 or the last axis")
        axis = m.dim % ndim
        if kind == "Softmax":
            return [_layers.Softmax(axis=axis, name=name)]
        if axis != ndim - 1:
            raise NotImplementedError(f"from_torch: {name} (LogSoftmax) over axis {axis} of "
                                      f"{ndim}-d data; strided's log_softmax is over the last")
        return [_layers.Activation("log_softmax", name=name)]
    if kind == "Identity":
        return []
    raise NotImplementedError(kind)


_ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu",
                "Softplus": "softplus", "Softsign": "softsign", "SELU": "selu",
                "Hardsigmoid": "hard_sigmoid"}
_SUPPORTED = {"Conv1d", "Conv2d", "Conv3d", "Linear", "BatchNorm1d", "BatchNorm2d",
              "BatchNorm3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
              "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
              "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Flatten",
              "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "ReLU6", "LeakyReLU", "ELU",
              "GELU", "Softmax", "LogSoftmax", "Identity", *_ACTIVATIONS}


def _leaves(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, module) of every module of nested ``nn.Sequential``s, in order."""
    if type(module).__name__ == "Sequential":
        return [leaf for name, child in module.named_children()
                for leaf in _leaves(child, f"{prefix}{name}" if not prefix
                                    else f"{prefix}.{name}")]
    return [(prefix, module)]


def from_torch(module: Any, input_shape: tuple[int, ...], name: str | None = None
               ) -> Sequential:
    """A strided ``Sequential`` computing the PyTorch ``nn.Sequential`` ``module``.

    Parameters
    ----------
    module : torch.nn.Sequential
        Of ``Conv1d/2d/3d``, ``Linear``, ``BatchNorm*d``, ``MaxPool*d``/``AvgPool*d``,
        ``AdaptiveAvgPool*d(1)``, ``Flatten``, ``Dropout`` and activation modules (nested
        ``Sequential``s are flattened).
    input_shape : tuple of int
        One sample's shape, channels first as PyTorch's (``(1, 28, 28)`` for MNIST).
    name : str, optional
        The model's name.

    Returns
    -------
    Sequential
        Channels-first layers named after the modules' paths (``"0"``, ``"features.3"``),
        with the module's weights: ``model.predict(x)`` equals ``module.eval()(x)`` for
        NCHW ``x``.

    Raises
    ------
    NotImplementedError
        Naming every module (path and class) strided cannot convert, before any work.
    """
    from ..models import Sequential
    if type(module).__name__ != "Sequential" or not hasattr(module, "state_dict"):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential. Received: "
                        f"{type(module).__name__}; for another module, build the strided "
                        f"model and call strided.formats.load_state_dict(model, "
                        f"module.state_dict())")
    leaves = _leaves(module)
    unknown = [f"{path} ({type(m).__name__})" for path, m in leaves
               if type(m).__name__ not in _SUPPORTED]
    if unknown:
        raise NotImplementedError(f"from_torch: strided cannot convert the modules "
                                  f"{', '.join(unknown)}; it converts {sorted(_SUPPORTED)}")
    model = Sequential([_layers.Input(tuple(input_shape))], name=name)
    for path, m in leaves:
        for layer in _module_layers(m, path, (None, *model.output_shapes[-1][1:])
                                    if model.output_shapes else (None, *input_shape)):
            model.add(layer)
    load_state_dict(model, module.state_dict(), source="the module's state_dict")
    return model
