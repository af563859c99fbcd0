"""Keras' depthwise and separable convolutions, over ``BaseConv``.

``DepthwiseConv1D/2D``: each input channel convolved with its own ``depth_multiplier``
kernels, as a grouped convolution with ``groups = C``.  The kernel (*K, C, M) is the HWIO
kernel (*K, 1, C * M) of that grouped convolution (output channel ``c * M + m`` reads input
channel ``c``), so forward and both gradients are ``BaseConv``'s with the kernel reshaped.

``SeparableConv1D/2D``: that depthwise convolution, then a pointwise (1x1) convolution with
the kernel (1, ..., C * M, filters) and the bias::

    forward    u = depthwise(x);  z = pointwise(u) + bias;  y = activation(z)
    backward   d pointwise = conv_grad_weight(u, dz);  du = conv_grad_input(dz, pointwise)
               then the depthwise layer's backward from du
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from .. import _core
from .._algorithms._winograd import KernelCache
from .._spec import ConvSpec, make_spec
from . import _activations, _initializers
from ._conv import BaseConv, Initializer, check_positive_int


class BaseDepthwiseConv(BaseConv):
    """An N-d depthwise convolution with Keras' arguments; see ``DepthwiseConv2D``.

    Its weight is named "kernel", as Keras 3 names it (Keras 2: "depthwise_kernel").
    """

    def __init__(self, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: str | _activations.Activation | None = None, use_bias: bool = True,
                 depthwise_initializer: Initializer = "glorot_uniform",
                 bias_initializer: Initializer = "zeros",
                 depthwise_regularizer: object = None, bias_regularizer: object = None,
                 depthwise_constraint: object = None, bias_constraint: object = None,
                 *, algorithm: str = "auto", **kwargs: object) -> None:
        kind = type(self).__name__
        self.depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier", kind)
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, depthwise_constraint,
                         bias_constraint, algorithm=algorithm, **kwargs)
        self.depthwise_initializer = self.kernel_initializer
        self._set_penalties({self.kernel_name: depthwise_regularizer, "bias": bias_regularizer},
                            {self.kernel_name: depthwise_constraint, "bias": bias_constraint})

    def _weight_shapes(self, channels: int) -> dict[str, tuple[int, ...]]:
        return {self.kernel_name: (*self.kernel_size, channels, self.depth_multiplier)}

    def _output_channels(self, channels: int) -> int:
        return channels * self.depth_multiplier

    def _op_kernel(self) -> np.ndarray:
        *k, c, m = self.params[self.kernel_name].shape
        return self.params[self.kernel_name].reshape(*k, 1, c * m)

    def _op_groups(self, channels: int) -> int:
        return channels

    def get_config(self) -> dict[str, object]:
        config = super().get_config()
        for key in ("filters", "groups", "kernel_initializer"):
            config.pop(key, None)
        return config


class DepthwiseConv1D(BaseDepthwiseConv):
    """Depthwise 1-D convolution, as ``keras.layers.DepthwiseConv1D``."""

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
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
    activation : str or callable, optional
    use_bias : bool
    depthwise_initializer, bias_initializer : str or Initializer
        Keras' defaults: "glorot_uniform" and "zeros".
    depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint : optional

    Examples
    --------
    >>> layer = DepthwiseConv2D(3, depth_multiplier=2, input_shape=(8, 8, 3))
    >>> [w.shape for w in layer.get_weights()], layer.count_params()
    ([(3, 3, 3, 2), (6,)], 60)
    """

    rank = 2


class BaseSeparableConv(BaseDepthwiseConv):
    """A depthwise convolution followed by a pointwise one; see ``SeparableConv2D``."""

    kernel_name = "depthwise_kernel"

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 depth_multiplier: int = 1,
                 activation: str | _activations.Activation | None = None, use_bias: bool = True,
                 depthwise_initializer: Initializer = "glorot_uniform",
                 pointwise_initializer: Initializer = "glorot_uniform",
                 bias_initializer: Initializer = "zeros",
                 depthwise_regularizer: object = None, pointwise_regularizer: object = None,
                 bias_regularizer: object = None, depthwise_constraint: object = None,
                 pointwise_constraint: object = None, bias_constraint: object = None,
                 *, algorithm: str = "auto", **kwargs: object) -> None:
        check_positive_int(filters, "filters", type(self).__name__)
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, algorithm=algorithm, **kwargs)
        self.filters = filters
        self.pointwise_initializer = _initializers.get(pointwise_initializer)
        self._set_penalties(
            {"depthwise_kernel": depthwise_regularizer, "pointwise_kernel": pointwise_regularizer,
             "bias": bias_regularizer},
            {"depthwise_kernel": depthwise_constraint, "pointwise_kernel": pointwise_constraint,
             "bias": bias_constraint})

    def _weight_shapes(self, channels: int) -> dict[str, tuple[int, ...]]:
        middle = channels * self.depth_multiplier
        return {"depthwise_kernel": (*self.kernel_size, channels, self.depth_multiplier),
                "pointwise_kernel": (*(1,) * self.rank, middle, self.filters)}

    def _initializer(self, name: str) -> _initializers.Initializer:
        return self.pointwise_initializer if name == "pointwise_kernel" else \
            self.depthwise_initializer

    def _output_channels(self, channels: int) -> int:
        return self.filters

    def _pointwise_spec(self, u: np.ndarray) -> ConvSpec:
        return make_spec(type(self).__name__, u.shape, self.params["pointwise_kernel"].shape,
                         rank=self.rank, data_format=self.data_format,  # type: ignore[arg-type]
                         input_name="inputs", weight_name="pointwise_kernel")

    def _linear(self, x: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
                cache: KernelCache | None = None) -> tuple[np.ndarray, object]:
        op = type(self).__name__
        u, _ = super()._linear(x, spec)  # depthwise and 1x1: no transformed kernel to keep
        pointwise = self._pointwise_spec(u)
        z = _core.convolve(u, self.params["pointwise_kernel"], pointwise, bias=bias,
                           algorithm=self.algorithm, op=op)
        return z, (u, pointwise)

    def _linear_backward(self, x: np.ndarray, dz: np.ndarray, spec: ConvSpec, saved: object,
                         need_dx: bool) -> np.ndarray | None:
        op = type(self).__name__
        u, pointwise = cast("tuple[np.ndarray, ConvSpec]", saved)  # what _linear saved
        d_pointwise = _core.convolve_grad_weight(u, dz, pointwise, algorithm=self.algorithm,
                                                 op=op)
        du = _core.convolve_grad_input(dz, self.params["pointwise_kernel"], pointwise,
                                       algorithm=self.algorithm, op=op)
        dx = super()._linear_backward(x, du, spec, None, need_dx)
        self.grads["pointwise_kernel"] = d_pointwise
        return dx

    def get_config(self) -> dict[str, object]:
        config = super().get_config()
        config["filters"] = self.filters
        return config


class SeparableConv1D(BaseSeparableConv):
    """Depthwise-separable 1-D convolution, as ``keras.layers.SeparableConv1D``."""

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """Depthwise-separable 2-D convolution, as ``keras.layers.SeparableConv2D``.

    Weights, in Keras' order: depthwise_kernel (kH, kW, C, M), pointwise_kernel
    (1, 1, C * M, filters), bias (filters,).

    Examples
    --------
    >>> layer = SeparableConv2D(8, 3, depth_multiplier=2, input_shape=(16, 16, 3))
    >>> [w.shape for w in layer.get_weights()]
    [(3, 3, 3, 2), (1, 1, 6, 8), (8,)]
    """

    rank = 2
