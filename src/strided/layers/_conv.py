"""Keras' convolution layers: ``Conv1D``, ``Conv2D``, ``Conv3D`` are ``BaseConv(rank)``.

Kernel (*kernel_size, C_in / groups, filters) ("HWIO"), bias (filters,).  Forward::

    z = conv(x, kernel) + bias        (N, *S, C_in) -> (N, *S', filters)
    y = activation(z)

Backward, from dy: ``dz = activation'(z) * dy``; ``d kernel = conv_grad_weight(x, dz)``,
``d bias = sum of dz over batch and space``, ``dx = conv_grad_input(dz, kernel)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _core
from .._spec import ConvSpec, make_spec, normalize_tuple
from . import _activations, _initializers
from ._base import Layer, Shape, check_data_format, check_padding


class BaseConv(Layer):
    """An N-d convolution layer with Keras' arguments; see ``Conv2D``."""

    rank: int = 2

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
        kernel_initializer: str | _initializers.Initializer = "glorot_uniform",
        bias_initializer: str | _initializers.Initializer = "zeros",
        *,
        algorithm: str = "auto",
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        kind = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"{kind}: filters must be a positive int. Received: "
                             f"filters={filters!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{kind}: groups must be a positive int. Received: groups={groups!r}")
        if filters % groups:
            raise ValueError(f"{kind}: the number of filters must be evenly divisible by the "
                             f"number of groups. Received: groups={groups}, filters={filters}")
        valid = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        padding = check_padding(padding, kind, valid)
        data_format = check_data_format(data_format, kind)
        self.filters = filters
        self.kernel_size = normalize_tuple(
            kernel_size, self.rank, "kernel_size", kind, single=False)
        self.strides = normalize_tuple(strides, self.rank, "strides", kind, single=False)
        self.dilation_rate = normalize_tuple(
            dilation_rate, self.rank, "dilation_rate", kind, single=False)
        self.padding = padding
        self.data_format = data_format
        self.groups = groups
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.algorithm = algorithm
        self._cache: tuple[np.ndarray, ConvSpec, np.ndarray, np.ndarray] | None = None
        if self.input_shape is not None:
            self.build(self.input_shape)

    @property
    def kernel(self) -> np.ndarray:
        return self.params["kernel"]

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
        if channels is None or channels % self.groups:
            raise ValueError(f"{kind}: the number of input channels must be evenly divisible "
                             f"by the number of groups. Received: groups={self.groups}, "
                             f"input_shape={tuple(input_shape)}")
        shape = (*self.kernel_size, channels // self.groups, self.filters)
        self.params = {"kernel": self.kernel_initializer(shape, self.dtype)}
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((self.filters,), self.dtype)
        self.input_shape = tuple(input_shape)
        self.built = True

    def _spec(self, input_shape: Sequence[int]) -> ConvSpec:
        return make_spec(
            type(self).__name__, input_shape, self.kernel.shape, rank=self.rank,
            stride=self.strides, padding=self.padding, dilation=self.dilation_rate,
            groups=self.groups, data_format=self.data_format,  # type: ignore[arg-type]
            weight_format="HWIO", input_name="inputs", weight_name="kernel",
        )

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        spec = self._spec(inputs.shape)
        z = _core.convolve(inputs, self.kernel, spec, bias=self.bias, algorithm=self.algorithm,
                           op=type(self).__name__)
        y = self.activation(z)
        self._cache = (inputs, spec, z, y) if training else None
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError(f"Layer {self.name!r}: backward() needs a forward pass with "
                               f"training=True first")
        x, spec, z, y = self._cache
        dz = self.activation.backward(z, y, grad_output)
        op = type(self).__name__
        self.grads = {"kernel": _core.convolve_grad_weight(x, dz, spec, algorithm=self.algorithm,
                                                           op=op)}
        if self.use_bias:
            self.grads["bias"] = _core.bias_gradient(dz, spec)
        if not self.compute_input_gradient:
            return None  # type: ignore[return-value]
        return _core.convolve_grad_input(dz, self.kernel, spec, algorithm=self.algorithm, op=op)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        batch = input_shape[0]
        known = (1, *input_shape[1:])  # the batch does not change the spatial arithmetic
        spec = make_spec(
            type(self).__name__, known, (*self.kernel_size,
                                         (self._channels(input_shape) or 0) // self.groups,
                                         self.filters),
            rank=self.rank, stride=self.strides, padding=self.padding,
            dilation=self.dilation_rate, groups=self.groups,
            data_format=self.data_format,  # type: ignore[arg-type]
            input_name="inputs", weight_name="kernel",
        )
        return (batch, *spec.in_user_layout(spec.output_shape)[1:])


class Conv1D(BaseConv):
    """1-D convolution layer, as ``keras.layers.Conv1D``: (N, steps, C) -> (N, steps', filters).

    ``padding="causal"`` pads ``dilation_rate * (kernel_size - 1)`` before and none after.
    """

    rank = 1


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
    activation : str, optional
        "relu", "sigmoid", "tanh", "softmax", "linear", ... (None: linear).
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        Keras' defaults: "glorot_uniform" and "zeros".
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
