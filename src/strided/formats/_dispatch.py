"""Which reader or writer a file name calls: one table, by the name's ending."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models import Model

#: model files ``load`` reads, by ending, and what writes them
READS = {".strided": "strided (Model.save)", ".safetensors": "strided (Model.save)",
         ".npz": "strided 0.1 (Model.save of format 1)", ".keras": "Keras 3 (model.save)",
         ".onnx": "ONNX (torch.onnx.export, strided.formats.to_onnx, ...)"}
#: model files ``save`` writes, by ending
WRITES = {".strided": "strided", ".safetensors": "strided", ".onnx": "ONNX"}
_TORCH_PICKLES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".weights.h5" if name.endswith(".weights.h5") else path.suffix.lower()


def _refuse_pickle(path: Path, what: str) -> None:
    if _suffix(path) in _TORCH_PICKLES:
        from ._safetensors import TORCH_HINT
        raise ValueError(f"{what}: cannot read {str(path)!r}: a {path.suffix} file is a "
                         f"pickle (torch.save). {TORCH_HINT}")


def load(filepath: str | os.PathLike[str]) -> Model:
    """The model, architecture and weights, in ``filepath``.

    Parameters
    ----------
    filepath : str or path
        ``.strided`` (or ``.safetensors``) from ``Model.save``; ``.npz`` from the first
        ``Model.save``; ``.keras`` from Keras 3 (needs h5py); ``.onnx`` (needs onnx).

    Returns
    -------
    Model
        A built ``Sequential`` or functional ``Model`` with the file's weights.

    Raises
    ------
    ValueError
        For an ending not listed, a damaged file, or a file that holds weights only (a
        PyTorch ``state_dict`` or ``.weights.h5``: build the model, then ``load_weights``).
    NotImplementedError
        For layers or operators strided cannot run (all named in one message).
    """
    path = Path(filepath)
    _refuse_pickle(path, "load_model")
    suffix = _suffix(path)
    if not path.exists():
        raise FileNotFoundError(f"load_model: no such file: {str(path)!r}")
    if suffix in (".strided", ".safetensors"):
        from . import _strided
        return _strided.load_model(path)
    if suffix == ".npz":
        from ..models._model import load_npz_model
        return load_npz_model(path)
    if suffix == ".keras":
        from . import _keras
        return _keras.load_keras(path)
    if suffix == ".onnx":
        from . import _onnx_import
        return _onnx_import.from_onnx(path)
    if suffix == ".weights.h5":
        raise ValueError(f"load_model: {str(path)!r} holds Keras weights only: build the "
                         f"model, then call model.load_weights(path)")
    raise ValueError(f"load_model: unknown model file ending {path.suffix!r}. Expected one of "
                     f"{sorted(READS)}. Received: filepath={str(path)!r}")


def check_target(filepath: str | os.PathLike[str]) -> None:
    """Raise unless ``save`` can write a model to ``filepath`` (by its ending)."""
    path = Path(filepath)
    if _suffix(path) not in WRITES:
        raise ValueError(f"save: cannot write a model as {path.suffix!r}. Expected one of "
                         f"{sorted(WRITES)}. Received: filepath={str(path)!r}")


def save(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``filepath``: strided's ``.strided`` file, or an ONNX graph."""
    path = Path(filepath)
    check_target(path)
    suffix = _suffix(path)
    if suffix in (".strided", ".safetensors"):
        model.save(path)
    else:
        from ._onnx_export import to_onnx
        to_onnx(model, path)


def load_weights(model: Model, filepath: str | os.PathLike[str], **options: Any) -> None:
    """Set the weights of ``model`` from ``filepath``, whatever wrote it.

    ``.strided``/``.safetensors`` files of strided are matched by position; other
    safetensors files are read as a PyTorch ``state_dict`` (``load_state_dict``);
    ``.weights.h5`` and ``.keras`` as Keras' weights (``load_keras_weights``), by layer
    name.  ``options`` (such as ``mapping=``) go to those functions.  Nothing changes
    unless every weight fits.
    """
    path = Path(filepath)
    _refuse_pickle(path, "load_weights")
    suffix = _suffix(path)
    if suffix in (".strided", ".safetensors"):
        from ..models._weights_io import assign
        from . import _strided, _torch
        from ._safetensors import read_safetensors
        tensors, metadata = read_safetensors(path)
        if metadata.get("format") == _strided.FORMAT:
            _no_options(options, path)
            _strided.check(metadata, path)
            assign(model, tensors, str(path))
        else:  # the writer's order is not the model's: module paths in natural order
            ordered = {k: tensors[k] for k in sorted(tensors, key=_torch.natural)}
            _torch.load_state_dict(model, ordered, source=repr(str(path)), **options)
    elif suffix in (".weights.h5", ".keras"):
        from . import _keras
        _keras.load_keras_weights(model, path, **options)
    elif suffix == ".npz":
        from ..models import _weights_io
        _no_options(options, path)
        _weights_io.load_weights(model, path)
    else:
        raise ValueError(f"load_weights: unknown weights file ending {path.suffix!r}. "
                         f"Expected one of ['.keras', '.npz', '.safetensors', '.strided', "
                         f"'.weights.h5']. Received: filepath={str(path)!r}")


def _no_options(options: dict[str, Any], path: Path) -> None:
    if options:
        raise TypeError(f"load_weights: {str(path)!r} is strided's own file, matched by "
                        f"position; {sorted(options)} apply to PyTorch and Keras files only")
