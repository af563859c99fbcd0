"""Keras' ``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``: the gradient of a
convolution with respect to its input, as ``BaseConvTranspose(rank)`` over ``BaseConv``.

The layer's input ``x`` (N, *S, C) plays the convolution's output gradient and its output
``y`` (N, *OS, filters) the convolution's input, with the kernel (*K, filters, C) as that
convolution's HWIO kernel, as ``tf.nn.conv_transpose`` defines it::

    forward    y = conv_grad_input(x, kernel)             (N, *S, C) -> (N, *OS, F)
    backward   dx = conv(dy, kernel)                      (N, *OS, F) -> (N, *S, C)
               d kernel = conv_grad_weight(dy, x)         -> (*K, F, C)

The output size and the padding of that convolution are ``_spec.transpose_geometry``
(Keras 3's rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _core
from .._algorithms._winograd import KernelCache
from .._spec import ConvSpec, make_spec, normalize_tuple, transpose_geometry
from . import _activations
from ._conv import BaseConv, Initializer, check_positive_int


class BaseConvTranspose(BaseConv):
    """An N-d transposed convolution with Keras' arguments; see ``Conv2DTranspose``."""

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 output_padding: int | Sequence[int] | None = None,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: str | _activations.Activation | None = None, use_bias: bool = True,
                 kernel_initializer: Initializer = "glorot_uniform",
                 bias_initializer: Initializer = "zeros",
                 kernel_regularizer: object = None, bias_regularizer: object = None,
                 kernel_constraint: object = None, bias_constraint: object = None,
                 *, algorithm: str = "auto", **kwargs: object) -> None:
        kind = type(self).__name__
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, self.rank, "output_padding", kind, minimum=0, single=False)
        strides_tuple = normalize_tuple(strides, self.rank, "strides", kind, single=False)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, strides_tuple)):
            raise ValueError(f"{kind}: each output_padding must be smaller than the stride. "
                             f"Received: output_padding={output_padding!r}, strides={strides!r}")
        super().__init__(check_positive_int(filters, "filters", kind), kernel_size, strides,
                         padding, data_format, dilation_rate, 1, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, kernel_constraint, bias_constraint,
                         algorithm=algorithm, **kwargs)

    def _weight_shapes(self, channels: int) -> dict[str, tuple[int, ...]]:
        return {"kernel": (*self.kernel_size, self.filters, channels)}

    def _output_size(self, size: Sequence[int | None]) -> tuple[int | None, ...]:
        known = [1 if n is None else n for n in size]
        out, _ = transpose_geometry(known, self.kernel_size, self.strides, self.padding,
                                    self.dilation_rate, self.output_padding)
        return tuple(None if n is None else o for n, o in zip(size, out))

    def _spec(self, input_shape: Sequence[int]) -> ConvSpec:
        """The spec of the convolution whose input gradient this layer computes."""
        shape = self.compute_output_shape((input_shape[0], *input_shape[1:]))
        size = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        _, pads = transpose_geometry(size, self.kernel_size, self.strides, self.padding,
                                     self.dilation_rate, self.output_padding)
        return make_spec(type(self).__name__, shape, self.kernel.shape,  # type: ignore[arg-type]
                         rank=self.rank, stride=self.strides, padding=pads,
                         dilation=self.dilation_rate,
                         data_format=self.data_format,  # type: ignore[arg-type]
                         input_name="outputs", weight_name="kernel")

    def _linear(self, x: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
                cache: KernelCache | None = None) -> tuple[np.ndarray, object]:
        return _core.convolve_grad_input(x, self.kernel, spec, bias=bias,
                                         algorithm=self.algorithm, op=type(self).__name__,
                                         cache=cache), None

    def _linear_backward(self, x: np.ndarray, dz: np.ndarray, spec: ConvSpec, saved: object,
                         need_dx: bool) -> np.ndarray | None:
        op = type(self).__name__
        self.grads = {"kernel": _core.convolve_grad_weight(dz, x, spec, algorithm=self.algorithm,
                                                           op=op)}
        if not need_dx:
            return None
        return _core.convolve(dz, self.kernel, spec, algorithm=self.algorithm, op=op)

    def get_config(self) -> dict[str, object]:
        config = super().get_config()
        config.pop("groups", None)
        return config


class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1-D convolution, as ``keras.layers.Conv1DTranspose``."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2-D convolution, as ``keras.layers.Conv2DTranspose``.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size, strides : int or (int, int)
    padding : {"valid", "same"}
    output_padding : int or (int, int), optional
        Extra rows / columns at the end of the output; each smaller than the stride.
    data_format : {"channels_last", "channels_first"}, optional
    dilation_rate : int or (int, int)
    activation : str or callable, optional
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
    kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint : optional

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2DTranspose(4, 3, strides=2, padding="same", input_shape=(7, 7, 2))
    >>> layer.kernel.shape, layer.count_params()
    ((3, 3, 4, 2), 76)
    >>> layer(np.zeros((1, 7, 7, 2))).shape
    (1, 14, 14, 4)
    """

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """Transposed 3-D convolution, as ``keras.layers.Conv3DTranspose``."""

    rank = 3
