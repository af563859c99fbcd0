"""Keras 3 in: ``.keras`` files (a zip of ``config.json`` and ``model.weights.h5``) and
``.weights.h5`` files, read with h5py.

Keras 3 stores each layer's weights under ``layers/<class>_<n>/vars/<i>`` (the class in
snake case, numbered per class in the model's layer order; the layer's name beside it), in
the order of ``layer.weights`` (HWIO kernels, as strided's).  Layers are matched by that
path, as Keras' ``load_weights`` does, else by name.  A ``.keras`` config is translated to
strided's: the layer classes and arguments are Keras' own; initializers are dropped (the
weights come from the file), regularizers and constraints kept when strided has them (they
act only in training).  No code from the file is run: a ``Lambda`` layer or a custom class
is refused by name.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import zipfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import layers as _layers
from ..layers._base import SERIALIZABLE

if TYPE_CHECKING:
    from ..models import Model

#: Keras arguments strided has no use for, whatever their value
_DROPPED = {"module", "registered_name", "build_config", "compile_config", "shared_object_id",
            "renorm_momentum", "lora_alpha"}


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ImportError("reading Keras files needs h5py: pip install 'strided[keras]'"
                          ) from None
    return h5py


def _open_keras(path: Path) -> tuple[dict[str, Any], bytes]:
    """The config and the weights file (its bytes) of a ``.keras`` archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if not {"config.json", "model.weights.h5"} <= names:
                raise ValueError(f"it has {sorted(names)[:6]}, not config.json and "
                                 f"model.weights.h5")
            config = json.loads(archive.read("config.json").decode("utf-8"))
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError, RuntimeError,
            NotImplementedError, RecursionError, zipfile.LargeZipFile) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"Cannot read {str(path)!r}: not a valid .keras file "
                         f"({type(error).__name__}: {error})") from None
    if not isinstance(config, dict):
        raise ValueError(f"Cannot read {str(path)!r}: its config.json is not an object")
    return config, weights


def _read_h5(data: bytes | Path, source: str) -> dict[str, tuple[str, list[np.ndarray]]]:
    """Each layer's Keras name and weights (in order), by its path in a Keras 3 weights file
    (``"conv2d_1"`` for ``layers/conv2d_1/vars``)."""
    h5py = _h5py()
    found: dict[str, tuple[str, list[np.ndarray]]] = {}
    try:
        handle = io.BytesIO(data) if isinstance(data, bytes) else data
        with h5py.File(handle, "r") as f:
            if "layers" not in f or not isinstance(f["layers"], h5py.Group):
                raise ValueError("it has no 'layers' group (is it a Keras 3 weights file?)")

            def visit(name: str, item: Any) -> None:
                if isinstance(item, h5py.Group) and name.endswith("vars") and len(item):
                    parent = name[:-len("/vars")] if "/" in name else ""
                    keys = sorted(item, key=lambda k: int(k) if k.isdigit() else -1)
                    label = item.attrs.get("name", parent)
                    label = label.decode() if isinstance(label, bytes) else str(label)
                    found[parent] = (label, [np.asarray(item[k]) for k in keys])

            f["layers"].visititems(visit)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, IndexError,
            AttributeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"Cannot read Keras weights from {source}: "
                         f"{type(error).__name__}: {error}") from None
    return found


def load_keras_weights(model: Model, filepath: str | os.PathLike[str],
                       mapping: Mapping[str, str] | None = None) -> None:
    """Set the weights of ``model`` from a Keras 3 ``.weights.h5`` (or ``.keras``) file.

    Parameters
    ----------
    model : Model
        A built strided model with the Keras model's layers.
    filepath : str or path
    mapping : dict, optional
        Strided layer name -> Keras layer name, for layers whose names differ.

    Raises
    ------
    ValueError
        Naming the layer and the shapes when the file's weights do not fit (nothing is set
        then), or the file when it is not a Keras weights file.
    """
    path = Path(filepath)
    if path.suffix == ".keras":
        _, data = _open_keras(path)
        found = _read_h5(data, repr(str(path)))
    else:
        if not path.exists():
            raise FileNotFoundError(f"load_weights: no such file: {str(path)!r}")
        found = _read_h5(path, repr(str(path)))
    _assign(model, found, dict(mapping or {}), repr(str(path)))


def _keras_paths(model: Model) -> dict[str, str]:
    """Each layer's path in Keras' weights file: its class in snake case, numbered per class
    in the model's layer order (Keras 3 does not use the layers' names there)."""
    from ..layers._base import _snake
    counts: Counter[str] = Counter()
    paths = {}
    for layer in model.layers:
        kind = _snake(type(layer).__name__)
        paths[layer.name] = kind if not counts[kind] else f"{kind}_{counts[kind]}"
        counts[kind] += 1
    return paths


def _assign(model: Model, found: dict[str, tuple[str, list[np.ndarray]]],
            mapping: dict[str, str], source: str) -> None:
    """Set the weights found in a Keras file: each layer at its Keras path, or (given in
    ``mapping``, or when the path is not in the file) by its Keras name."""
    targets = [layer for layer in model.layers if layer.params]
    paths = _keras_paths(model)
    by_name = {label: path for path, (label, _) in found.items()}
    plan, used = [], set()
    for layer in targets:
        if layer.name in mapping:
            path = by_name.get(mapping[layer.name], "")
            how = f"named {mapping[layer.name]!r} by mapping"
        elif paths[layer.name] in found:
            path = paths[layer.name]
            how = f"at Keras' path layers/{path}"
        else:
            path = by_name.get(layer.name, "")
            how = f"named {layer.name!r}"
        if path not in found:
            raise ValueError(f"load_weights: strided layer {layer.name!r} "
                             f"({type(layer).__name__}) has no weights {how} in {source}, "
                             f"which holds {sorted(found)} (Keras numbers each layer class in "
                             f"the model's order); build the same layers in the same order, "
                             f"or pass mapping={{strided layer name: Keras layer name}}")
        name, stored = found[path]
        used.add(path)
        keys = list(layer.params)
        if len(stored) != len(keys):
            raise ValueError(f"load_weights: Keras layer {name!r} in {source} has "
                             f"{len(stored)} weights, but strided layer {layer.name!r} "
                             f"({type(layer).__name__}) has {len(keys)}: {keys}")
        for key, value in zip(keys, stored):
            if value.dtype.kind != "f":
                raise ValueError(f"load_weights: Keras layer {name!r} weight {key!r} in "
                                 f"{source} has dtype {value.dtype}; expected floats")
            if value.shape != layer.params[key].shape:
                raise ValueError(f"load_weights: Keras layer {name!r} weight {key!r} in "
                                 f"{source} has shape {value.shape}, but strided layer "
                                 f"{layer.name!r} ({type(layer).__name__}), matched {how}, "
                                 f"has shape {layer.params[key].shape}")
        plan.append((layer, stored))
    extra = sorted(set(found) - used)
    if extra:
        raise ValueError(f"load_weights: {source} has weights for the layers {extra}, which "
                         f"the strided model does not have (its layers with weights: "
                         f"{[layer.name for layer in targets]})")
    for layer, stored in plan:
        layer.set_weights(stored)


# -- .keras config -> strided config --------------------------------------------------------
def _accepted(cls: type) -> set[str] | None:
    """The keyword arguments ``cls`` takes (None: any)."""
    names: set[str] = {"name", "trainable", "dtype", "input_shape", "activity_regularizer"}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        init = getattr(init, "__wrapped__", init)
        names |= {p.name for p in inspect.signature(init).parameters.values()
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)} - {"self"}
    return names


def _value(key: str, value: Any, where: str) -> Any:
    """A Keras config value as strided's constructors take it."""
    if isinstance(value, dict) and "class_name" in value:
        name = value["class_name"]
        if key == "dtype" or name in ("DTypePolicy", "FloatDTypePolicy"):
            policy = value.get("config", {}).get("name")
            if policy not in ("float16", "float32", "float64"):
                raise NotImplementedError(f"load_keras: {where} has dtype policy {policy!r}; "
                                          f"strided runs float16, float32 or float64")
            return policy
        if name in SERIALIZABLE:
            return {"class_name": name, "config": value.get("config", {})}
        if key.endswith(("_regularizer", "_constraint")):
            return None  # these act only in training
        raise NotImplementedError(f"load_keras: {where} has {key}={name!r}, which strided "
                                  f"does not have")
    if key == "activation" and not isinstance(value, str):
        raise NotImplementedError(f"load_keras: {where} has a custom activation {value!r}")
    return value


def _layer_config(entry: Any, position: int) -> tuple[str, dict[str, Any]]:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ValueError(f"load_keras: layer {position} of the config is not an object")
    kind, raw = entry.get("class_name"), entry["config"]
    if not isinstance(raw.get("name"), str) or not isinstance(kind, str):
        raise ValueError(f"load_keras: layer {position} of the config has no class_name and "
                         f"name strings. Received: {str(entry)[:80]}")
    where = f"layer {raw['name']!r} ({kind})"
    cls = getattr(_layers, str(kind), None)
    if kind == "InputLayer":
        return kind, raw
    if cls is None or not isinstance(cls, type) or not issubclass(cls, _layers.Layer):
        raise NotImplementedError(f"load_keras: {where}: strided has no layer {kind!r}")
    accepted = _accepted(cls)
    config: dict[str, Any] = {}
    unknown = []
    for key, value in raw.items():
        if key in _DROPPED or key.endswith("_initializer"):
            continue
        if accepted is not None and key not in accepted:
            if value:  # a Keras argument strided lacks, used
                unknown.append(f"{key}={value!r}")
            continue
        config[key] = _value(key, value, where)
    if unknown:
        raise NotImplementedError(f"load_keras: {where} uses {', '.join(unknown)}, which "
                                  f"strided's {kind} does not have")
    return str(kind), config


def _input_shape(raw: dict[str, Any]) -> list[int | None]:
    shape = raw.get("batch_shape") or [None, *raw.get("shape", [])]
    return list(shape[1:])


def _history(args: Any) -> list[list[object]]:
    """Every ``keras_history`` ([layer, node, tensor]) in a node's arguments, in order."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            return [list(args["config"]["keras_history"])]
        return [h for v in args.values() for h in _history(v)]
    if isinstance(args, list):
        return [h for v in args for h in _history(v)]
    return []


def translate(config: dict[str, Any]) -> dict[str, Any]:
    """strided's ``{"class_name", "config"}`` for a Keras 3 model config.

    Raises
    ------
    NotImplementedError
        Naming every layer strided cannot build (collected before raising).
    """
    kind, body = config.get("class_name"), config.get("config")
    if kind not in ("Sequential", "Functional", "Model") or not isinstance(body, dict):
        raise NotImplementedError(f"load_keras: the file holds a {kind!r}; strided reads "
                                  f"Sequential and functional models")
    entries = body.get("layers")
    if not isinstance(entries, list):
        raise ValueError("load_keras: the config has no list of layers")
    problems, layers = [], []
    for i, entry in enumerate(entries):
        try:
            layers.append((entry, *_layer_config(entry, i)))
        except NotImplementedError as error:
            problems.append(str(error).removeprefix("load_keras: "))
    if problems:
        raise NotImplementedError("load_keras: strided cannot build " + "; ".join(problems))
    if kind == "Sequential":
        out: dict[str, Any] = {"name": body.get("name"), "input_shape": None, "layers": []}
        for entry, cls, cfg in layers:
            if cls == "InputLayer":
                out["input_shape"] = _input_shape(cfg)
                continue
            shape = (entry.get("build_config") or {}).get("input_shape")
            if out["input_shape"] is None and not out["layers"] and shape:
                out["input_shape"] = list(shape[1:])
            out["layers"].append({"class_name": cls, "config": cfg})
        return {"class_name": "Sequential", "config": out}
    functional = []
    for entry, cls, cfg in layers:
        if cls == "InputLayer":
            cfg = {"name": cfg["name"], "shape": _input_shape(cfg),
                   "dtype": cfg.get("dtype", "float32")}
        nodes = [] if cls == "InputLayer" else [_history(node.get("args", []))
                                                for node in entry.get("inbound_nodes", [])]
        functional.append({"class_name": cls, "name": cfg["name"], "config": cfg,
                           "inbound_nodes": nodes})

    def refs(value: Any) -> list[Any]:
        # Keras writes one tensor as [name, node, index], several as a list of those
        return [value] if value and not isinstance(value[0], list) else list(value)

    return {"class_name": "Functional",
            "config": {"name": body.get("name"), "layers": functional,
                       "input_layers": refs(body.get("input_layers", [])),
                       "output_layers": refs(body.get("output_layers", []))}}


def load_keras(filepath: str | os.PathLike[str]) -> Model:
    """The model in a Keras 3 ``.keras`` file, as a strided model with its weights.

    Parameters
    ----------
    filepath : str or path
        Written by ``keras_model.save("model.keras")``.

    Returns
    -------
    Model
        A strided ``Sequential`` or functional ``Model`` with Keras' layer names, whose
        ``predict`` gives Keras' predictions.

    Raises
    ------
    ValueError
        For a file that is not a ``.keras`` archive, or weights that do not fit.
    NotImplementedError
        Naming every layer (or argument) strided does not have, before any weight is read.
    """
    from ._strided import model_from_config
    path = Path(filepath)
    if not path.exists():
        raise FileNotFoundError(f"load_keras: no such file: {str(path)!r}")
    config, weights = _open_keras(path)
    try:
        text = json.dumps(translate(config))
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"load_keras: {str(path)!r} has a config strided cannot read "
                         f"({type(error).__name__}: {error})") from None
    model = model_from_config(text, str(path))
    _assign(model, _read_h5(weights, repr(str(path))), {}, repr(str(path)))
    return model
