"""Model files in and out: strided's own, PyTorch's, Keras' and ONNX.

* ``strided`` (``.strided``): one safetensors file, the architecture as JSON in its
  metadata (``Model.save`` / ``strided.load_model``);
* PyTorch: ``load_state_dict`` (a ``state_dict`` as safetensors, never a pickle) into a
  strided model, ``from_torch`` (an ``nn.Sequential``, when torch is installed);
* Keras 3: ``load_keras`` (``.keras``) and ``load_keras_weights`` (``.weights.h5``), with
  h5py;
* ONNX: ``to_onnx`` and ``from_onnx``, with the onnx package.

``load`` and ``save`` choose by the file name.  Only NumPy is imported here; torch, h5py
and onnx are imported by the functions that need them.
"""

from ._dispatch import load, load_weights, save
from ._keras import load_keras, load_keras_weights
from ._onnx_export import to_onnx
from ._onnx_import import from_onnx
from ._safetensors import SafetensorsError, read_safetensors, write_safetensors
from ._torch import from_torch, load_state_dict

__all__ = [
    "SafetensorsError",
    "from_onnx",
    "from_torch",
    "load",
    "load_keras",
    "load_keras_weights",
    "load_state_dict",
    "load_weights",
    "read_safetensors",
    "save",
    "to_onnx",
    "write_safetensors",
]
