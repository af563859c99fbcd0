"""Keras' ``DepthwiseConv2D``: each input channel convolved with its own ``depth_multiplier``
kernels, as a grouped convolution with ``groups = C``.

The kernel (kH, kW, C, M) is the HWIO kernel (kH, kW, 1, C * M) of that grouped convolution
(output channel ``c * M + m`` reads input channel ``c``), so forward and both gradients are
the core's convolution ops with the kernel reshaped::

    forward    x (N, H, W, C), kernel (kH, kW, C, M)  -> (N, H', W', C * M)
    backward   d kernel = conv_grad_weight(x, dz).reshape(kH, kW, C, M)
               dx = conv_grad_input(dz, kernel.reshape(kH, kW, 1, C * M))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _core
from .._spec import ConvSpec, make_spec, normalize_tuple
from . import _activations, _initializers
from ._base import Layer, Shape, check_data_format, check_padding


class DepthwiseConv2D(Layer):
    """Depthwise 2-D convolution, as ``keras.layers.DepthwiseConv2D``.

    Parameters
    ----------
    kernel_size : int or (int, int)
    strides : int or (int, int)
    padding : {"valid", "same"}
    depth_multiplier : int
        Output channels per input channel.
    data_format : {"channels_last", "channels_first"}, optional
    dilation_rate : int or (int, int)
    activation : str, optional
    use_bias : bool
    depthwise_initializer, bias_initializer : str or Initializer
        Keras' defaults: "glorot_uniform" and "zeros".

    Examples
    --------
    >>> layer = DepthwiseConv2D(3, depth_multiplier=2, input_shape=(8, 8, 3))
    >>> [w.shape for w in layer.get_weights()], layer.count_params()
    ([(3, 3, 3, 2), (6,)], 60)
    """

    def __init__(self, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: str | _activations.Activation | None = None,
                 use_bias: bool = True,
                 depthwise_initializer: str | _initializers.Initializer = "glorot_uniform",
                 bias_initializer: str | _initializers.Initializer = "zeros",
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        kind = "DepthwiseConv2D"
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, int) or \
                depth_multiplier < 1:
            raise ValueError(f"{kind}: depth_multiplier must be a positive int. Received: "
                             f"depth_multiplier={depth_multiplier!r}")
        padding = check_padding(padding, kind)
        data_format = check_data_format(data_format, kind)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", kind, single=False)
        self.strides = normalize_tuple(strides, 2, "strides", kind, single=False)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", kind, single=False)
        self.padding = padding
        self.depth_multiplier = depth_multiplier
        self.data_format = data_format
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = _initializers.get(depthwise_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self._cache: tuple | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _channels(self, input_shape: Shape) -> int | None:
        return input_shape[-1 if self.data_format == "channels_last" else 1]

    def input_ndim(self) -> int:
        return 4

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4 or self._channels(input_shape) is None:
            raise ValueError(f"DepthwiseConv2D: expects inputs of rank 4 with known channels. "
                             f"Received: input_shape={tuple(input_shape)}")
        channels = self._channels(input_shape)
        shape = (*self.kernel_size, channels, self.depth_multiplier)
        self.params = {"depthwise_kernel": self.depthwise_initializer(shape, self.dtype)}
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((channels * self.depth_multiplier,),
                                                        self.dtype)
        self.input_shape = tuple(input_shape)
        self.built = True

    def _grouped(self) -> np.ndarray:
        kh, kw, c, m = self.params["depthwise_kernel"].shape
        return self.params["depthwise_kernel"].reshape(kh, kw, 1, c * m)

    def _spec(self, input_shape: Sequence[int]) -> ConvSpec:
        kh, kw, c, m = self.params["depthwise_kernel"].shape
        return make_spec("DepthwiseConv2D", input_shape, (kh, kw, 1, c * m), rank=2,
                         stride=self.strides, padding=self.padding, dilation=self.dilation_rate,
                         groups=c, data_format=self.data_format,  # type: ignore[arg-type]
                         input_name="inputs", weight_name="depthwise_kernel")

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        spec = self._spec(inputs.shape)
        z = _core.convolve(inputs, self._grouped(), spec, bias=self.params.get("bias"),
                           op="DepthwiseConv2D")
        y = self.activation(z)
        self._cache = (inputs, spec, z, y) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, spec, z, y = self._cached(self._cache)  # type: ignore[misc]
        dz = self.activation.backward(z, y, grad_output)
        dw = _core.convolve_grad_weight(x, dz, spec, op="DepthwiseConv2D")
        self.grads = {"depthwise_kernel": dw.reshape(self.params["depthwise_kernel"].shape)}
        if self.use_bias:
            self.grads["bias"] = _core.bias_gradient(dz, spec)
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        return _core.convolve_grad_input(dz, self._grouped(), spec, op="DepthwiseConv2D")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = self._channels(input_shape) or 1
        known = (1, *input_shape[1:])
        spec = make_spec("DepthwiseConv2D", known,
                         (*self.kernel_size, 1, channels * self.depth_multiplier), rank=2,
                         stride=self.strides, padding=self.padding, dilation=self.dilation_rate,
                         groups=channels, data_format=self.data_format,  # type: ignore[arg-type]
                         input_name="inputs", weight_name="depthwise_kernel")
        return (input_shape[0], *spec.in_user_layout(spec.output_shape)[1:])
