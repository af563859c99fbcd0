"""Keras' ``Conv2DTranspose``: the gradient of a convolution with respect to its input.

The layer's input ``x`` (N, H, W, C) plays the convolution's output gradient and its output
``y`` (N, OH, OW, filters) the convolution's input, with the kernel (kH, kW, filters, C) as
that convolution's HWIO kernel, as ``tf.nn.conv2d_transpose`` defines it::

    forward    y = conv_grad_input(x, kernel)             (N, H, W, C) -> (N, OH, OW, F)
    backward   dx = conv(dy, kernel)                      (N, OH, OW, F) -> (N, H, W, C)
               d kernel = conv_grad_weight(dy, x)         -> (kH, kW, F, C)

Output size per axis (Keras' ``deconv_output_length``, ``k`` the dilated kernel)::

    valid: (H - 1) * stride + k            same: H * stride
    with output_padding p: (H - 1) * stride + k - 2 * pad + p, pad = 0 (valid), k // 2 (same)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _core
from .._spec import ConvSpec, make_spec, normalize_tuple
from . import _activations, _initializers
from ._base import Layer, Shape, check_data_format, check_padding


class Conv2DTranspose(Layer):
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
    activation : str, optional
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2DTranspose(4, 3, strides=2, padding="same", input_shape=(7, 7, 2))
    >>> layer.kernel.shape, layer.count_params()
    ((3, 3, 4, 2), 76)
    >>> layer(np.zeros((1, 7, 7, 2))).shape
    (1, 14, 14, 4)
    """

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 output_padding: int | Sequence[int] | None = None,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: str | _activations.Activation | None = None,
                 use_bias: bool = True,
                 kernel_initializer: str | _initializers.Initializer = "glorot_uniform",
                 bias_initializer: str | _initializers.Initializer = "zeros",
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        kind = "Conv2DTranspose"
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"{kind}: filters must be a positive int. Received: "
                             f"filters={filters!r}")
        padding = check_padding(padding, kind)
        data_format = check_data_format(data_format, kind)
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", kind, single=False)
        self.strides = normalize_tuple(strides, 2, "strides", kind, single=False)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", kind, single=False)
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, 2, "output_padding", kind, minimum=0, single=False)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{kind}: each output_padding must be smaller than the stride. "
                             f"Received: output_padding={output_padding!r}, strides={strides!r}")
        self.padding = padding
        self.data_format = data_format
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self._cache: tuple | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    @property
    def kernel(self) -> np.ndarray:
        return self.params["kernel"]

    def _channels(self, input_shape: Shape) -> int | None:
        return input_shape[-1 if self.data_format == "channels_last" else 1]

    def input_ndim(self) -> int:
        return 4

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4 or self._channels(input_shape) is None:
            raise ValueError(f"Conv2DTranspose: expects inputs of rank 4 with known channels. "
                             f"Received: input_shape={tuple(input_shape)}")
        shape = (*self.kernel_size, self.filters, self._channels(input_shape))
        self.params = {"kernel": self.kernel_initializer(shape, self.dtype)}
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((self.filters,), self.dtype)
        self.input_shape = tuple(input_shape)
        self.built = True

    def _output_size(self, size: Sequence[int]) -> tuple[int, ...]:
        out = []
        for i, n in enumerate(size):
            k = self.dilation_rate[i] * (self.kernel_size[i] - 1) + 1
            s = self.strides[i]
            if self.output_padding is None:
                out.append(n * s if self.padding == "same" else n * s + max(k - s, 0))
            else:
                pad = k // 2 if self.padding == "same" else 0
                out.append((n - 1) * s + k - 2 * pad + self.output_padding[i])
        return tuple(out)

    def _spec(self, input_shape: Sequence[int]) -> ConvSpec:
        """The spec of the convolution whose input gradient this layer computes."""
        if self.data_format == "channels_last":
            batch, *size, _ = input_shape
            conv_input = (batch, *self._output_size(size), self.filters)
        else:
            batch, _, *size = input_shape
            conv_input = (batch, self.filters, *self._output_size(size))
        return make_spec("Conv2DTranspose", conv_input, self.kernel.shape, rank=2,
                         stride=self.strides, padding=self.padding, dilation=self.dilation_rate,
                         data_format=self.data_format,  # type: ignore[arg-type]
                         input_name="outputs", weight_name="kernel")

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        spec = self._spec(inputs.shape)
        z = _core.convolve_grad_input(inputs, self.kernel, spec, bias=self.params.get("bias"),
                                      op="Conv2DTranspose")
        y = self.activation(z)
        self._cache = (inputs, spec, z, y) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, spec, z, y = self._cached(self._cache)  # type: ignore[misc]
        dz = self.activation.backward(z, y, grad_output)
        self.grads = {"kernel": _core.convolve_grad_weight(dz, x, spec, op="Conv2DTranspose")}
        if self.use_bias:
            self.grads["bias"] = _core.bias_gradient(dz, spec)
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        return _core.convolve(dz, self.kernel, spec, op="Conv2DTranspose")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_last":
            batch, *size, _ = input_shape
            return (batch, *self._output_size(size), self.filters)  # type: ignore[arg-type]
        batch, _, *size = input_shape
        return (batch, self.filters, *self._output_size(size))  # type: ignore[arg-type]
