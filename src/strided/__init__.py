"""strided: convolutions exactly as TensorFlow, PyTorch and Keras compute them, on NumPy.

Faces over one N-d convolution core:

* ``strided.nn``: like ``tf.nn`` (NHWC, HWIO filters, "VALID"/"SAME");
* ``strided.functional``: like ``torch.nn.functional`` (NCHW, OIHW weights);
* ``strided.grad``: like ``torch.nn.grad`` (input and weight gradients);
* ``strided.layers``: like ``keras.layers`` (``Conv2D`` and friends, forward and backward);
* ``strided.signal``: like ``scipy.signal`` (true, flipped-kernel convolution of images).

``strided.output_shape`` is the size formula on its own.
"""

from . import functional, grad, kernels, layers, nn, signal, tools
from ._algorithms import ALGORITHMS as _ALGORITHMS
from ._algorithms._workspace import get_workspace_limit, workspace_limit
from ._spec import ConvSpec, output_shape, same_padding

__version__ = "0.1.0"


def algorithms() -> list[str]:
    """The names that ``algorithm=`` accepts besides "auto"."""
    return list(_ALGORITHMS)


__all__ = [
    "ConvSpec",
    "algorithms",
    "functional",
    "get_workspace_limit",
    "grad",
    "kernels",
    "layers",
    "nn",
    "output_shape",
    "same_padding",
    "signal",
    "tools",
    "workspace_limit",
]
