"""Convolutions with the arguments of ``tf.nn``: NHWC input (or NCHW), HWIO filters.

``conv2d(input, filters, strides, padding)`` is the lecture's ``tf.nn.conv2d``:

* ``strides`` and ``dilations``: an int, one int per spatial dimension, or one per input
  dimension (``[1, 2, 2, 1]`` for NHWC), whose batch and channel entries must be 1;
* ``padding``: "VALID" or "SAME" in any case (SAME keeps ``ceil(in / stride)`` pixels and pads
  the odd one after: bottom and right), or explicit per-dimension pairs such as
  ``[[0, 0], [top, bottom], [left, right], [0, 0]]``;
* integer inputs are convolved exactly (int64), which TensorFlow does only for int32;
* as TensorFlow: filters whose input-channel dimension divides the input's channels
  ``C`` give a grouped convolution with ``groups = C / filters.shape[-2]`` (1-D and 2-D);
  inputs with several leading batch dimensions (``(B1, B2, H, W, C)``) are convolved as one
  batch of ``B1 * B2`` and returned with the same leading dimensions; an input with a
  spatial size of zero is padded like any other (zeros out where the padding leaves room);
* beyond TensorFlow: strides and dilations above 1 together (``tf.nn.convolution`` and the
  Keras layers refuse them; PyTorch allows them, and strided computes them exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from . import _core
from ._spec import ConvSpec, DataFormat, PaddingLike, input_layout_name, make_spec

__all__ = [
    "conv1d",
    "conv1d_transpose",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "conv3d_transpose",
    "convolution",
    "depthwise_conv2d",
]

_DEFAULT_FORMATS = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _data_format(data_format: str | None, rank: int, op: str) -> DataFormat:
    valid = (input_layout_name(rank, "channels_last"), input_layout_name(rank, "channels_first"))
    if data_format is None or data_format == valid[0]:
        return "channels_last"
    if data_format == valid[1]:
        return "channels_first"
    raise ValueError(f"{op}: data_format must be {valid[0]!r} or {valid[1]!r}; "
                     f"got data_format={data_format!r}")


def _spatial(value: object, rank: int, data_format: DataFormat, name: str, op: str) -> object:
    """Strip the batch and channel entries from a full-rank ``strides``/``dilations`` list."""
    if value is None:
        return 1
    if not isinstance(value, Sequence) or len(value) != rank + 2:
        return value
    channel = rank + 1 if data_format == "channels_last" else 1
    if value[0] != 1 or value[channel] != 1:
        raise ValueError(f"{op}: {name} in the batch and channel dimensions must be 1; "
                         f"got {name}={list(value)!r}")
    return [v for axis, v in enumerate(value) if axis not in (0, channel)]


def _padding(padding: PaddingLike, rank: int, data_format: DataFormat, op: str) -> PaddingLike:
    """TensorFlow's explicit padding lists per input dimension -> spatial (before, after) pairs."""
    if isinstance(padding, str) or not isinstance(padding, Sequence) or len(padding) != rank + 2:
        return padding
    channel = rank + 1 if data_format == "channels_last" else 1
    items: Sequence[object] = padding
    pairs = [list(pair) if isinstance(pair, Sequence) else pair for pair in items]
    if pairs[0] != [0, 0] or pairs[channel] != [0, 0]:
        raise ValueError(f"{op}: explicit padding in the batch and channel dimensions must be "
                         f"[0, 0]; got padding={padding!r}")
    # checked by make_spec, which names the padding when a pair is not one
    return cast(PaddingLike, [pair for axis, pair in enumerate(pairs) if axis not in (0, channel)])


def _spec(op: str, rank: int, input_shape: Sequence[int], filters_shape: Sequence[int],
          strides: object, padding: PaddingLike, data_format: str | None, dilations: object,
          groups: int = 1, filters_name: str = "filters") -> ConvSpec:
    layout = _data_format(data_format, rank, op)
    return make_spec(
        op, input_shape, filters_shape, rank=rank,
        stride=_spatial(strides, rank, layout, "strides", op),
        padding=_padding(padding, rank, layout, op),
        dilation=_spatial(dilations, rank, layout, "dilations", op),
        groups=groups, data_format=layout, weight_format="HWIO", weight_name=filters_name,
        stride_name="strides", dilation_name="dilations",
    )


def _conv(op: str, rank: int, input: object, filters: object, strides: object,
          padding: PaddingLike, data_format: str | None, dilations: object, algorithm: str
          ) -> np.ndarray:
    x = _core.as_array(input, "input", op)
    w = _core.as_array(filters, "filters", op)
    # TensorFlow's "expanded batch": several leading batch dimensions, flattened into one
    batch_shape = x.shape[:x.ndim - rank - 1] if x.ndim > rank + 2 else None
    flat = x.reshape(-1, *x.shape[x.ndim - rank - 1:]) if batch_shape is not None else x
    spec = _spec(op, rank, flat.shape, w.shape, strides, padding, data_format, dilations,
                 groups=_groups(flat, w, rank, data_format, op))
    y = _core.convolve(flat, w, spec, algorithm=algorithm, op=op)
    return y.reshape(*batch_shape, *y.shape[1:]) if batch_shape is not None else y


def _groups(x: np.ndarray, w: np.ndarray, rank: int, data_format: str | None, op: str) -> int:
    """TensorFlow's grouped convolution: filters of ``C / groups`` input channels, for 1-D and
    2-D convolutions (TensorFlow has none in 3-D)."""
    if x.ndim != rank + 2 or w.ndim != rank + 2 or rank > 2:
        return 1
    layout = _data_format(data_format, rank, op)
    channels, per_group = x.shape[-1 if layout == "channels_last" else 1], w.shape[-2]
    if 0 < per_group < channels and channels % per_group == 0:
        return channels // per_group
    return 1


def conv2d(
    input: np.ndarray,
    filters: np.ndarray,
    strides: int | Sequence[int],
    padding: PaddingLike,
    data_format: str = "NHWC",
    dilations: int | Sequence[int] | None = None,
    name: str | None = None,
    *,
    algorithm: str = "auto",
) -> np.ndarray:
    """2-D cross-correlation, as ``tf.nn.conv2d``.

    Parameters
    ----------
    input : array_like, shape (N, H, W, C_in), or (N, C_in, H, W) with data_format="NCHW"
    filters : array_like, shape (kH, kW, C_in, C_out)
        A filter bank: ``C_out`` filters, each of ``C_in`` kernels of kH x kW.
    strides : int or list of 1, 2 or 4 ints
        ``[1, s_h, s_w, 1]`` as in the lecture; batch and channel strides must be 1.
    padding : {"VALID", "SAME"} or list of 4 (before, after) pairs
        Case-insensitive.  SAME gives ``ceil(H / s_h)`` rows, the odd padding row at the bottom.
    data_format : {"NHWC", "NCHW"}
    dilations : int or list of 1, 2 or 4 ints, optional
        Spacing between kernel taps (1 means none).
    name : str, optional
        Accepted for TensorFlow compatibility; unused.
    algorithm : str
        "auto" or an algorithm's name (``strided.algorithms()``).

    Returns
    -------
    numpy.ndarray, shape (N, H_out, W_out, C_out)
        ``H_out = (H + pad_top + pad_bottom - d_h * (kH - 1) - 1) // s_h + 1``.

    Examples
    --------
    The lecture's MNIST layer: 16 filters of 5x5, stride 2, SAME.

    >>> import numpy as np
    >>> inputs = np.zeros((64, 28, 28, 1), dtype=np.float32)
    >>> filters = np.random.default_rng(0).normal(0, 0.1, (5, 5, 1, 16)).astype(np.float32)
    >>> conv2d(inputs, filters, [1, 2, 2, 1], padding="SAME").shape
    (64, 14, 14, 16)
    """
    return _conv("conv2d", 2, input, filters, strides, padding, data_format, dilations,
                 algorithm)


def conv1d(input: np.ndarray, filters: np.ndarray, stride: int | Sequence[int],
           padding: PaddingLike, data_format: str = "NWC",
           dilations: int | Sequence[int] | None = None, name: str | None = None, *,
           algorithm: str = "auto") -> np.ndarray:
    """1-D cross-correlation, as ``tf.nn.conv1d``: (N, W, C_in), (kW, C_in, C_out) -> (N, W', C_out)

    Arguments as ``conv2d``; ``data_format`` is "NWC" or "NCW".
    """
    return _conv("conv1d", 1, input, filters, stride, padding, data_format, dilations,
                 algorithm)


def conv3d(input: np.ndarray, filters: np.ndarray, strides: int | Sequence[int],
           padding: PaddingLike, data_format: str = "NDHWC",
           dilations: int | Sequence[int] | None = None, name: str | None = None, *,
           algorithm: str = "auto") -> np.ndarray:
    """3-D cross-correlation, as ``tf.nn.conv3d``.

    (N, D, H, W, C_in) with filters (kD, kH, kW, C_in, C_out) -> (N, D', H', W', C_out);
    arguments as ``conv2d``; ``data_format`` is "NDHWC" or "NCDHW".
    """
    return _conv("conv3d", 3, input, filters, strides, padding, data_format, dilations,
                 algorithm)


def convolution(input: np.ndarray, filters: np.ndarray,
                strides: int | Sequence[int] | None = None, padding: PaddingLike = "VALID",
                data_format: str | None = None, dilations: int | Sequence[int] | None = None,
                name: str | None = None, *, algorithm: str = "auto") -> np.ndarray:
    """N-d cross-correlation, as ``tf.nn.convolution``: the rank is ``filters.ndim - 2``."""
    w = _core.as_array(filters, "filters", "convolution")
    if w.ndim not in (3, 4, 5):
        raise ValueError(f"convolution: filters must be 3-D, 4-D or 5-D (*K, C_in, C_out); "
                         f"got filters.shape={w.shape}")
    return _conv("convolution", w.ndim - 2, input, w, strides, padding, data_format,
                 dilations, algorithm)


def depthwise_conv2d(
    input: np.ndarray,
    filter: np.ndarray,
    strides: int | Sequence[int],
    padding: PaddingLike,
    data_format: str | None = None,
    dilations: int | Sequence[int] | None = None,
    name: str | None = None,
    *,
    algorithm: str = "auto",
) -> np.ndarray:
    """Depthwise 2-D cross-correlation, as ``tf.nn.depthwise_conv2d``.

    Parameters
    ----------
    input : array_like, shape (N, H, W, C), or (N, C, H, W) with data_format="NCHW"
    filter : array_like, shape (kH, kW, C, M)
        ``M`` filters (the channel multiplier) for each input channel.
    strides, padding, data_format, dilations, name
        As ``conv2d``.

    Returns
    -------
    numpy.ndarray, shape (N, H_out, W_out, C * M)
        Output channel ``c * M + m`` is input channel ``c`` through ``filter[:, :, c, m]``:
        a grouped convolution with ``groups = C``.
    """
    op = "depthwise_conv2d"
    x = _core.as_array(input, "input", op)
    grouped, spec = _depthwise_spec(op, x.shape, _core.as_array(filter, "filter", op), strides,
                                   padding, data_format, dilations)
    return _core.convolve(x, grouped, spec, algorithm=algorithm, op=op)


def _depthwise_spec(op: str, input_shape: Sequence[int], w: np.ndarray, strides: object,
                   padding: PaddingLike, data_format: str | None, dilations: object
                   ) -> tuple[np.ndarray, ConvSpec]:
    """The depthwise filter (kH, kW, C, M) as a grouped HWIO one, and the call's spec."""
    layout = _data_format(data_format, 2, op)
    if w.ndim != 4:
        raise ValueError(f"{op}: filter must be 4-D (kH, kW, C_in, channel_multiplier); "
                         f"got filter.shape={w.shape}")
    channels = (input_shape[-1 if layout == "channels_last" else 1] if len(input_shape) == 4
                else None)
    if channels is not None and w.shape[2] != channels:
        raise ValueError(f"{op}: input has {channels} channels but filter expects "
                         f"{w.shape[2]} (filter.shape={w.shape}); the third dimension of the "
                         f"depthwise filter must equal input channels")
    kh, kw, c, m = w.shape
    grouped = w.reshape(kh, kw, 1, c * m)
    spec = _spec(op, 2, input_shape, grouped.shape, strides, padding, data_format, dilations,
                 groups=max(c, 1), filters_name="filter")
    return grouped, spec


def _conv_transpose(op: str, rank: int, input: object, filters: object, output_shape: object,
                    strides: object, padding: PaddingLike, data_format: str | None,
                    dilations: object, algorithm: str) -> np.ndarray:
    x = _core.as_array(input, "input", op)
    w = _core.as_array(filters, "filters", op)
    layout = _data_format(data_format, rank, op)
    try:
        shape = [int(n) for n in np.asarray(output_shape).reshape(-1)]
    except (TypeError, ValueError):
        raise TypeError(f"{op}: output_shape must be a sequence of ints; "
                        f"got output_shape={output_shape!r}") from None
    if len(shape) == rank and x.ndim == rank + 2 and w.ndim == rank + 2:
        size = shape
        shape = [x.shape[0], *size, w.shape[-2]] if layout == "channels_last" else [
            x.shape[0], w.shape[-2], *size]
    if len(shape) != rank + 2 or any(n < 0 for n in shape):
        raise ValueError(f"{op}: output_shape must have {rank + 2} entries "
                         f"({input_layout_name(rank, layout)}) or {rank} spatial sizes, none "
                         f"negative; "
                         f"got output_shape={output_shape!r}")
    if 0 in shape or x.size == 0:
        # a degenerate transposed convolution (an empty input or output): zeros, as in
        # TensorFlow, once the arrays' ranks and channels agree with output_shape
        channel = -1 if layout == "channels_last" else 1
        if x.ndim != rank + 2 or w.ndim != rank + 2 or w.shape[-2] != shape[channel] or (
                w.shape[-1] != x.shape[channel]):
            raise ValueError(f"{op}: input {x.shape}, filters {w.shape} and output_shape "
                             f"{tuple(shape)} disagree: filters must be (*K, output channels, "
                             f"input channels)")
        return np.zeros(shape, dtype=_core.compute_dtypes(x.dtype, w.dtype)[1])
    # The transposed convolution is the input gradient of the convolution from
    # ``output_shape`` to ``input``; ``filters`` (*K, C_out, C_in) is that convolution's HWIO.
    spec = _spec(op, rank, shape, w.shape, strides, padding, data_format, dilations)
    _core.check_shape(x, spec.in_user_layout(spec.output_shape), "input", op)
    return _core.convolve_grad_input(x, w, spec, algorithm=algorithm, op=op)


def conv2d_transpose(
    input: np.ndarray,
    filters: np.ndarray,
    output_shape: Sequence[int],
    strides: int | Sequence[int],
    padding: PaddingLike = "SAME",
    data_format: str = "NHWC",
    dilations: int | Sequence[int] | None = None,
    name: str | None = None,
    *,
    algorithm: str = "auto",
) -> np.ndarray:
    """2-D transposed convolution, as ``tf.nn.conv2d_transpose``.

    Parameters
    ----------
    input : array_like, shape (N, H, W, C_in)
    filters : array_like, shape (kH, kW, C_out, C_in)
        Note the order: output channels before input channels.
    output_shape : sequence of 4 ints (or 2 spatial sizes)
        The result's shape; ``conv2d`` with the same filters, strides and padding maps it back
        to ``input``'s shape (otherwise ValueError).
    strides, padding, data_format, dilations, name
        Those of that ``conv2d``.

    Returns
    -------
    numpy.ndarray, shape ``output_shape``
        The gradient of ``conv2d`` with respect to its input.
    """
    return _conv_transpose("conv2d_transpose", 2, input, filters, output_shape, strides,
                           padding, data_format, dilations, algorithm)


def conv1d_transpose(input: np.ndarray, filters: np.ndarray, output_shape: Sequence[int],
                     strides: int | Sequence[int], padding: PaddingLike = "SAME",
                     data_format: str = "NWC", dilations: int | Sequence[int] | None = None,
                     name: str | None = None, *, algorithm: str = "auto") -> np.ndarray:
    """1-D transposed convolution, as ``tf.nn.conv1d_transpose``; see ``conv2d_transpose``."""
    return _conv_transpose("conv1d_transpose", 1, input, filters, output_shape, strides,
                           padding, data_format, dilations, algorithm)


def conv3d_transpose(input: np.ndarray, filters: np.ndarray, output_shape: Sequence[int],
                     strides: int | Sequence[int], padding: PaddingLike = "SAME",
                     data_format: str = "NDHWC", dilations: int | Sequence[int] | None = None,
                     name: str | None = None, *, algorithm: str = "auto") -> np.ndarray:
    """3-D transposed convolution, as ``tf.nn.conv3d_transpose``; see ``conv2d_transpose``."""
    return _conv_transpose("conv3d_transpose", 3, input, filters, output_shape, strides,
                           padding, data_format, dilations, algorithm)
