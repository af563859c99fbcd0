"""strided's own model file: one safetensors file whose metadata holds the architecture.

The header's ``__metadata__`` holds ``"format": "strided"``, ``"format_version"`` and, for a
whole model, ``"config"``: ``{"class_name": "Sequential" or "Functional", "config":
model.get_config()}`` as JSON.  The tensors are the weights, named
``"{index:03d}/{layer name}/{weight name}"`` in the model's layer order, so any
safetensors reader (PyTorch's, Hugging Face's) opens the file.  Loading rebuilds the model
from registered layer classes only (no pickle, no code from the file), then sets every
weight at once after checking them all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._safetensors import SafetensorsError, read_safetensors, write_safetensors

if TYPE_CHECKING:
    from ..models import Model

FORMAT = "strided"
FORMAT_VERSION = "2"  # version 1 was the .npz file of ``models/_weights_io.py``
SUFFIXES = (".strided", ".safetensors")


def _check_suffix(path: Path, what: str) -> None:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{what}: the filename must end in `.strided` (or `.safetensors`). "
                         f"Received: filepath={str(path)!r}")


def _config_text(model: Model) -> str:
    config = {"class_name": type(model).__name__, "config": model.get_config()}
    try:
        return json.dumps(config)
    except TypeError as error:
        raise ValueError(f"{type(model).__name__}.save: the config holds a value JSON "
                         f"cannot store ({error}), such as a function given as an "
                         f"activation; use save_weights instead") from None


def save_model(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Write ``model`` (architecture and weights) to ``filepath``, atomically."""
    from ..models._weights_io import names
    path = Path(filepath)
    _check_suffix(path, f"{type(model).__name__}.save")
    if not getattr(model, "built", False):
        raise ValueError(f"{type(model).__name__} {model.name!r} has no weights yet: build "
                         f"it first")
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "config": _config_text(model)}
    write_safetensors(path, names(model), metadata)


def save_weights(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Write the weights of ``model`` alone to ``filepath`` (safetensors), atomically."""
    from ..models._weights_io import names
    write_safetensors(Path(filepath), names(model),
                      {"format": FORMAT, "format_version": FORMAT_VERSION})


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    tensors, metadata = read_safetensors(path)
    check(metadata, path)
    return tensors, metadata


def check(metadata: dict[str, str], path: Path) -> None:
    """Raise unless ``metadata`` is that of a strided file this version reads."""
    if metadata.get("format") != FORMAT:
        raise SafetensorsError(
            f"Cannot read {str(path)!r} as a strided model: it is a safetensors file of "
            f"weights only, with no architecture (metadata {str(metadata)[:60]}), such as a "
            f"PyTorch state_dict; build the strided model and call model.load_weights(path), "
            f"or export the network to ONNX (torch.onnx.export) and load that")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise SafetensorsError(f"Cannot read {str(path)!r}: strided format_version "
                               f"{metadata.get('format_version')!r}; this strided reads "
                               f"version {FORMAT_VERSION}")


def load_weights(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Set the weights of ``model`` from a strided file; nothing changes unless all fit."""
    from ..models._weights_io import assign
    path = Path(filepath)
    tensors, _ = _read(path)
    assign(model, tensors, str(path))


def load_model(filepath: str | os.PathLike[str]) -> Model:
    """The model that ``save_model`` wrote to ``filepath``, with its weights."""
    path = Path(filepath)
    tensors, metadata = _read(path)
    if "config" not in metadata:
        raise ValueError(f"Cannot load a model from {str(path)!r}: it holds weights only "
                         f"(written by save_weights); build the model and call "
                         f"load_weights, or save it with model.save")
    model = model_from_config(metadata["config"], str(path))
    from ..models._weights_io import assign
    assign(model, tensors, str(path))
    return model


#: what a config from outside may raise while the model is rebuilt from it
CONFIG_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError,
                 RecursionError, OverflowError)


def model_from_config(text: str, source: str) -> Model:
    """The (built, freshly initialised) model the JSON ``text`` describes."""
    from ..models import Functional, Sequential
    try:
        entry: Any = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"Cannot load a model from {source!r}: its config is not JSON "
                         f"({error})") from None
    kinds: dict[str, Any] = {"Sequential": Sequential, "Functional": Functional}
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) or (
            entry["class_name"] not in kinds or not isinstance(entry.get("config"), dict)):
        raise ValueError(f"Cannot load a model from {source!r}: unknown model class. "
                         f"Received: {str(entry)[:80]!r}")
    try:
        model = kinds[entry["class_name"]].from_config(entry["config"])
        if not getattr(model, "built", False):
            model.build()
    except CONFIG_ERRORS as error:
        raise ValueError(f"Cannot load a model from {source!r}: its config does not describe "
                         f"a strided model ({type(error).__name__}: {error})") from None
    return model
