"""strided: convolutions exactly as TensorFlow, PyTorch and Keras compute them, on NumPy.

Faces over one N-d convolution core:

* ``strided.nn``: like ``tf.nn`` (NHWC, HWIO filters, "VALID"/"SAME");
* ``strided.functional``: like ``torch.nn.functional`` (NCHW, OIHW weights);
* ``strided.grad``: like ``torch.nn.grad`` (input and weight gradients);
* ``strided.layers``: like ``keras.layers`` (``Conv2D`` and friends, forward and backward);
* ``strided.signal``: like ``scipy.signal`` (true, flipped-kernel convolution of images).

Around it: ``strided.Model`` (functional, over ``strided.Input``) and ``strided.Sequential``
(in ``strided.models``), ``optimizers``, ``losses``, ``metrics``, ``regularizers``,
``constraints`` and ``datasets`` to learn filters as Keras does; ``strided.kernels`` and
``strided.tools`` to show convolution; ``strided.formats`` (and ``strided.load_model``) to
move models in and out: strided's ``.strided`` files, PyTorch, Keras and ONNX.

``strided.output_shape`` is the size formula on its own.
"""

from . import (
    callbacks,
    constraints,
    datasets,
    formats,
    functional,
    grad,
    kernels,
    layers,
    losses,
    metrics,
    nn,
    optimizers,
    regularizers,
    signal,
    tools,
)
from ._algorithms import ALGORITHMS as _ALGORITHMS
from ._algorithms._levels import current as instruction_set
from ._random import set_random_seed
from ._runtime._threads import get_num_threads, set_num_threads
from ._runtime._workspace import get_workspace_limit, release_workspace, workspace_limit
from ._spec import ConvSpec, output_shape, same_padding
from .layers import Input
from .models import Model, Sequential, load_model

__version__ = "0.1.0"


def algorithms() -> list[str]:
    """The names that ``algorithm=`` accepts besides "auto"."""
    return list(_ALGORITHMS)


__all__ = [
    "ConvSpec",
    "Input",
    "Model",
    "Sequential",
    "algorithms",
    "callbacks",
    "constraints",
    "datasets",
    "formats",
    "functional",
    "get_num_threads",
    "get_workspace_limit",
    "grad",
    "instruction_set",
    "kernels",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "nn",
    "optimizers",
    "output_shape",
    "regularizers",
    "release_workspace",
    "same_padding",
    "set_num_threads",
    "set_random_seed",
    "signal",
    "tools",
    "workspace_limit",
]
