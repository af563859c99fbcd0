"""Keras' convolution layers: ``Conv1D``, ``Conv2D``, ``Conv3D`` are ``BaseConv(rank)``.

``BaseConv`` is the base of the whole family (the depthwise, separable and transposed
layers override the hooks marked below); it normalises the arguments once, builds the
weights, adds the bias, applies the activation and writes their backward passes.

Kernel (*kernel_size, C_in / groups, filters) ("HWIO"), bias (filters,).  Forward::

    z = conv(x, kernel) + bias        (N, *S, C_in) -> (N, *S', filters)
    y = activation(z)

With a ReLU and float32 or float64 channels-last data, ``y = max(0, conv + bias)`` is one
pass and ``z`` is not kept: ``dz = dy * (y > 0)`` and ``d bias`` are one pass too
(``_compiled``).  Backward, from dy: ``dz = activation'(z) * dy``;
``d kernel = conv_grad_weight(x, dz)``, ``d bias = sum of dz over batch and space``,
``dx = conv_grad_input(dz, kernel)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .. import _core
from .._algorithms._winograd import KernelCache
from .._spec import ConvSpec, make_spec, normalize_tuple, output_shape
from . import _activations, _compiled, _initializers
from ._base import Layer, Shape, check_data_format, check_padding

Initializer = str | _initializers.Initializer


def check_positive_int(value: object, name: str, kind: str) -> int:
    """``value`` if it is a positive int, else Keras' message naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{kind}: invalid value for argument `{name}`. Expected a strictly "
                         f"positive int. Received: {name}={value!r}")
    return value


class BaseConv(Layer):
    """An N-d convolution layer with Keras' arguments; see ``Conv2D``."""

    rank: ClassVar[int] = 2
    #: Keras' padding strings for this layer
    paddings: ClassVar[tuple[str, ...]] = ("valid", "same")
    #: the weight the convolution op reads (the separable layers' is "depthwise_kernel")
    kernel_name: ClassVar[str] = "kernel"

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        strides: int | Sequence[int] = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: int | Sequence[int] = 1,
        groups: int = 1,
        activation: str | _activations.Activation | None = None,
        use_bias: bool = True,
        kernel_initializer: Initializer = "glorot_uniform",
        bias_initializer: Initializer = "zeros",
        kernel_regularizer: object = None,
        bias_regularizer: object = None,
        kernel_constraint: object = None,
        bias_constraint: object = None,
        *,
        algorithm: str = "auto",
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        kind = type(self).__name__
        self.filters = check_positive_int(filters, "filters", kind)
        self.groups = check_positive_int(groups, "groups", kind)
        if filters % groups:
            raise ValueError(f"{kind}: the number of filters must be evenly divisible by the "
                             f"number of groups. Received: groups={groups}, filters={filters}")
        self._configure(kernel_size, strides, padding, data_format, dilation_rate, activation,
                        use_bias, algorithm)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self._set_penalties({"kernel": kernel_regularizer, "bias": bias_regularizer},
                            {"kernel": kernel_constraint, "bias": bias_constraint})

    def _configure(self, kernel_size: object, strides: object, padding: object,
                   data_format: str | None, dilation_rate: object, activation: object,
                   use_bias: bool, algorithm: str) -> None:
        """The arguments every convolution layer shares, normalised once (tuples of exactly
        ``rank`` ints, as Keras)."""
        kind = type(self).__name__
        self.kernel_size = normalize_tuple(
            kernel_size, self.rank, "kernel_size", kind, single=False)
        self.strides = normalize_tuple(strides, self.rank, "strides", kind, single=False)
        self.dilation_rate = normalize_tuple(
            dilation_rate, self.rank, "dilation_rate", kind, single=False)
        self.padding = check_padding(padding, kind, self.paddings)
        self.data_format = check_data_format(data_format, kind)
        self.activation = _activations.get(activation)  # type: ignore[arg-type]
        self.use_bias = use_bias
        self.algorithm = algorithm
        self._cache: tuple[Any, ...] | None = None
        #: the op's transformed kernel, kept between calls in inference (never stale: it is
        #: checked against the kernel each call)
        self._transformed = KernelCache()

    # -- hooks of the family ------------------------------------------------------------------
    def _weight_shapes(self, channels: int) -> dict[str, tuple[int, ...]]:
        """The shapes of the weights (the bias apart) for ``channels`` input channels."""
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__}: the number of input channels must be "
                             f"evenly divisible by the number of groups. Received: "
                             f"groups={self.groups}, input channels={channels}")
        return {"kernel": (*self.kernel_size, channels // self.groups, self.filters)}

    def _initializer(self, name: str) -> _initializers.Initializer:
        return self.kernel_initializer

    def _output_channels(self, channels: int) -> int:
        return self.filters

    def _output_size(self, size: Sequence[int | None]) -> tuple[int | None, ...]:
        """The spatial output size (Keras' rule; None stays None)."""
        return tuple(None if n is None else output_shape(n, k, s, self.padding, d)
                     for n, k, s, d in zip(size, self.kernel_size, self.strides,
                                           self.dilation_rate))

    def _op_kernel(self) -> np.ndarray:
        """The HWIO kernel of the convolution op."""
        return self.params[self.kernel_name]

    def _op_groups(self, channels: int) -> int:
        return self.groups

    def _spec(self, input_shape: Sequence[int]) -> ConvSpec:
        """The convolution of inputs of ``input_shape`` (in ``data_format``)."""
        return make_spec(
            type(self).__name__, input_shape, self._op_kernel().shape, rank=self.rank,
            stride=self.strides, padding=self.padding, dilation=self.dilation_rate,
            groups=self._op_groups(self._channels(input_shape)),  # type: ignore[arg-type]
            data_format=self.data_format,  # type: ignore[arg-type]
            input_name="inputs", weight_name=self.kernel_name,
        )

    def _linear(self, x: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
                cache: KernelCache | None = None) -> tuple[np.ndarray, object]:
        """The layer before the activation (plus ``bias``, added by the op, which rounds
        once), and what its backward needs; ``cache`` keeps the op's transformed kernel."""
        return _core.convolve(x, self._op_kernel(), spec, bias=bias, algorithm=self.algorithm,
                              op=type(self).__name__, cache=cache), None

    def _linear_backward(self, x: np.ndarray, dz: np.ndarray, spec: ConvSpec, saved: object,
                         need_dx: bool) -> np.ndarray | None:
        """Fill ``grads`` (the bias apart) and return d(loss)/d(x) (None unless ``need_dx``)."""
        op = type(self).__name__
        dw = _core.convolve_grad_weight(x, dz, spec, algorithm=self.algorithm, op=op)
        self.grads = {self.kernel_name: dw.reshape(self.params[self.kernel_name].shape)}
        if not need_dx:
            return None
        return _core.convolve_grad_input(dz, self._op_kernel(), spec, algorithm=self.algorithm,
                                         op=op)

    # -- shared by the family -----------------------------------------------------------------
    @property
    def kernel(self) -> np.ndarray:
        return self.params[self.kernel_name]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def _channels(self, input_shape: Shape) -> int | None:
        return input_shape[-1 if self.data_format == "channels_last" else 1]

    def input_ndim(self) -> int:
        return self.rank + 2

    def build(self, input_shape: Shape) -> None:
        kind = type(self).__name__
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{kind}: expects inputs of rank {self.rank + 2} (batch, "
                             f"{self.rank} spatial dimensions, channels). Received: "
                             f"input_shape={tuple(input_shape)}")
        channels = self._channels(input_shape)
        if channels is None:
            raise ValueError(f"{kind}: the channel dimension of the inputs must be known. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.params = {name: self._initializer(name)(shape, self.dtype)
                       for name, shape in self._weight_shapes(channels).items()}
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((self._output_channels(channels),),
                                                        self.dtype)
        self.input_shape = tuple(input_shape)
        self.built = True

    def _compiled(self, x: np.ndarray) -> bool:
        """Whether the bias gradient (and a ReLU) run in the compiled kernels."""
        return self.data_format == "channels_last" and _compiled.usable(x)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        spec = self._spec(inputs.shape)
        relu = self.activation is _activations.ACTIVATIONS["relu"] and self._compiled(inputs)
        if relu and type(self)._linear is BaseConv._linear:
            # conv + bias + ReLU in one pass (the direct kernels' store); z is not kept
            y = _core.convolve(inputs, self._op_kernel(), spec, bias=self.bias,
                               algorithm=self.algorithm, op=type(self).__name__, relu=True,
                               cache=None if training else self._transformed)
            self._cache = (inputs, spec, None, y, None) if training else None
            return y
        # in training the kernel changes every step: nothing to keep
        z: np.ndarray | None
        z, saved = self._linear(inputs, spec, self.bias,
                                cache=None if training else self._transformed)
        if relu:
            y = _compiled.relu(z, out=z)
            z = None
        else:
            y = self.activation(z)
        self._cache = (inputs, spec, z, y, saved) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, spec, z, y, saved = self._cached(self._cache)
        bias = None
        if self._compiled(grad_output.astype(y.dtype, copy=False)):
            # the ReLU's backward (z is None) and the bias gradient in one pass
            dz = grad_output.astype(y.dtype, copy=False)
            if z is not None:
                dz = self.activation.backward(z, y, dz)
            dz, bias = _compiled.relu_backward(y if z is None else None, dz, self.use_bias)
        else:
            dz = self.activation.backward(z, y, grad_output)
        dx = self._linear_backward(x, dz, spec, saved, self.compute_input_gradient)
        if self.use_bias:
            kernel = self.params[self.kernel_name]
            self.grads["bias"] = (_core.bias_gradient(dz, spec) if bias is None
                                  else bias.astype(kernel.dtype))
        return dx  # type: ignore[return-value]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_last":
            batch, *size, channels = input_shape
        else:
            batch, channels, *size = input_shape
        out = self._output_size(size)
        filters = self._output_channels(channels)  # type: ignore[arg-type]
        if self.data_format == "channels_last":
            return (batch, *out, filters)
        return (batch, filters, *out)


class Conv1D(BaseConv):
    """1-D convolution layer, as ``keras.layers.Conv1D``: (N, steps, C) -> (N, steps', filters).

    ``padding="causal"`` pads ``dilation_rate * (kernel_size - 1)`` before and none after.
    """

    rank = 1
    paddings = ("valid", "same", "causal")


class Conv2D(BaseConv):
    """2-D convolution layer, as ``keras.layers.Conv2D``.

    Parameters
    ----------
    filters : int
        Number of filters, i.e. output channels.
    kernel_size : int or (int, int)
        Height and width of each kernel.
    strides : int or (int, int)
    padding : {"valid", "same"}
        Case-insensitive; "same" pads as TensorFlow does (``ceil(H / stride)`` rows).
    data_format : {"channels_last", "channels_first"}, optional
    dilation_rate : int or (int, int)
    groups : int
        Input channels and filters split into ``groups`` independent convolutions.
    activation : str or callable, optional
        "relu", "sigmoid", "tanh", "softmax", "gelu", ... or a function (None: linear).
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        Keras' defaults: "glorot_uniform" and "zeros".
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        "l1", "l2", ``strided.regularizers.L2(0.01)``, ...: added to the loss.
    kernel_constraint, bias_constraint : str or Constraint, optional
        "non_neg", ``strided.constraints.MaxNorm(2)``, ...: applied after each step.
    input_shape : tuple, optional
        The input's shape without the batch, e.g. (28, 28, 3): builds the layer at once.
    algorithm : str, keyword-only
        "auto" or an algorithm's name (``strided.algorithms()``).

    Notes
    -----
    The kernel has shape (kH, kW, C_in / groups, filters): ``filters`` filters, each a stack of
    ``C_in / groups`` kernels of kH x kW, as the Keras article explains.

    Beyond Keras: ``strides`` and ``dilation_rate`` above 1 together are computed exactly
    (Keras refuses them; PyTorch allows them).

    Examples
    --------
    The Keras article's layer on a batch of four 28x28 RGB images:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(4, 28, 28, 3))
    >>> Conv2D(2, 3, activation="relu", input_shape=(28, 28, 3))(x).shape
    (4, 26, 26, 2)
    """

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution layer, as ``keras.layers.Conv3D``: (N, D, H, W, C) -> (N, D', H', W', F)."""

    rank = 3
