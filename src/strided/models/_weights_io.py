"""Weights to and from ``.npz`` files: no pickle, checked shapes, never a half-written file.

A file holds one array per weight, named ``"{index:03d}/{layer name}/{weight name}"`` in the
model's layer order, and ``"format"``, the format version; a whole model (``save``) also
holds ``"config"``, its ``get_config()`` as a JSON string.  Saving writes a temporary file
in the same directory and renames it over the target, so a crash leaves the old file or the
new one, never a mixture.  Loading reads with ``allow_pickle=False`` and matches layers by
position, as Keras' ``load_weights`` does, checking every shape before changing anything.
"""

from __future__ import annotations

import os
import struct
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._model import Model

FORMAT_VERSION = 1


def _check_name(filepath: str | os.PathLike[str]) -> Path:
    path = Path(filepath)
    if path.suffix != ".npz":
        raise ValueError(f"The filename must end in `.npz`. Received: filepath={str(filepath)!r}")
    return path


def save_weights(model: Model, filepath: str | os.PathLike[str], config: str | None = None
                 ) -> None:
    """Write the model's weights (and ``config``, a JSON string) to ``filepath`` (a
    ``.npz``), atomically."""
    path = _check_name(filepath)
    arrays: dict[str, np.ndarray] = {"format": np.array(FORMAT_VERSION)}
    if config is not None:
        arrays["config"] = np.array(config)
    arrays.update(names(model))
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(dir=directory, prefix=f".{path.name}.",
                                             suffix=".tmp", delete=False)
    except OSError as error:  # the temporary name is ours: report the user's path
        raise OSError(f"cannot write weights to {str(path)!r}: {error.strerror or error}"
                      ) from None
    try:
        # a temporary file is private (0600); give the result the usual umask permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        with handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


#: What zipfile and NumPy's header parser raise on a damaged archive (found by fuzzing:
#: tests/test_fuzz_readers.py): all reported as "not a valid .npz weights file".
_DAMAGED = (zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError, NotImplementedError,
            RuntimeError, SyntaxError, zlib.error, tokenize.TokenError, MemoryError, IndexError,
            TypeError, struct.error, OverflowError)


def _read(path: Path) -> dict[str, np.ndarray]:
    """Every array of the file, or a ValueError saying why it is not a weights file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not a .npz archive")
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise
    except _DAMAGED as error:
        raise ValueError(f"Cannot read weights from {str(path)!r}: not a valid .npz weights "
                         f"file written by save_weights ({type(error).__name__}: {error})"
                         ) from None


def load_weights(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Set the model's weights from ``filepath``; nothing changes unless every shape fits."""
    path = _check_name(filepath)
    arrays = _read(path)
    version = arrays.pop("format", None)
    arrays.pop("config", None)
    if (version is None or version.shape != () or version.dtype.kind not in "iu"
            or int(version) != FORMAT_VERSION):
        raise ValueError(f"Cannot read weights from {str(path)!r}: not a strided weights file "
                         f"of format {FORMAT_VERSION}. Received: format={version!r}")
    assign(model, arrays, str(path))


def assign(model: Model, arrays: dict[str, np.ndarray], source: str) -> None:
    """Set the weights from ``arrays`` named ``"{index:03d}/{layer name}/{weight name}"``,
    matched by position; nothing changes unless every name, dtype and shape fits."""
    by_layer: dict[int, dict[str, np.ndarray]] = {}
    for name, value in arrays.items():
        parts = name.split("/")
        if len(parts) != 3 or not parts[0].isdigit():
            raise ValueError(f"Cannot read weights from {source!r}: unexpected entry "
                             f"{name!r}")
        by_layer.setdefault(int(parts[0]), {})[parts[2]] = value
    with_weights = [i for i, layer in enumerate(model.layers) if layer.params]
    if sorted(by_layer) != with_weights:
        raise ValueError(f"The file {source!r} was saved from a different architecture: "
                         f"layers are matched by position, and it holds weights for the layers "
                         f"at positions {sorted(by_layer)} but this model has weights at "
                         f"positions {with_weights}")
    for index in with_weights:
        layer, stored = model.layers[index], by_layer[index]
        if set(stored) != set(layer.params):
            raise ValueError(f"Layer {layer.name!r} expects weights {sorted(layer.params)}. "
                             f"Received: {sorted(stored)} from {source!r}")
        for key, current in layer.params.items():
            if stored[key].dtype.kind not in "iuf":
                raise ValueError(f"Layer {layer.name!r} weight {key!r} must hold real numbers "
                                 f"(int or float). Received: dtype {stored[key].dtype} in the "
                                 f"file {source!r}")
            if stored[key].shape != current.shape:
                raise ValueError(f"Layer {layer.name!r} weight {key!r} has shape "
                                 f"{current.shape} in the model but {stored[key].shape} in "
                                 f"the file {source!r}")
    for index in with_weights:
        layer = model.layers[index]
        layer.set_weights([by_layer[index][key] for key in layer.params])


def names(model: Model) -> dict[str, np.ndarray]:
    """Every weight of ``model``, named as ``assign`` reads them."""
    return {f"{index:03d}/{layer.name}/{key}": value
            for index, layer in enumerate(model.layers) for key, value in layer.params.items()}


def read_config(filepath: str | os.PathLike[str]) -> str:
    """The JSON config that ``save`` wrote into ``filepath``."""
    path = _check_name(filepath)
    config = _read(path).get("config")
    if config is None or config.shape != () or config.dtype.kind != "U":
        raise ValueError(f"Cannot load a model from {str(path)!r}: it holds weights only "
                         f"(written by save_weights); build the model and call "
                         f"load_weights, or save it with model.save")
    return str(config)
