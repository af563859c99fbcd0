"""Convolutions with the arguments of ``torch.nn.functional``: NCHW input, OIHW weight.

``conv1d``, ``conv2d``, ``conv3d`` and ``conv_transpose1d/2d/3d`` take PyTorch's arguments in
PyTorch's order, and accept an unbatched input (C, *S) as PyTorch does.  Beyond PyTorch:

* ``padding="same"`` also works with a stride above 1, by TensorFlow's rule
  (``output = ceil(input / stride)``, the odd extra pixel padded after);
* ``padding_mode`` ("zeros", "reflect", "replicate", "circular"), as ``torch.nn.Conv2d`` has;
* integer arrays are convolved exactly, in int64, dilated or not; a float bias on an integer
  input gives a float result, by NumPy's promotion (PyTorch refuses the mix);
* strides and dilations above 1 together, as PyTorch (TensorFlow's ``convolution`` refuses);
* an input with a spatial size of zero is padded like any other (zeros where the padding
  leaves room for the kernel);
* ``algorithm`` picks the algorithm by name (default "auto").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from . import _core
from ._spec import (
    ConvSpec,
    PaddingLike,
    make_spec,
    normalize_groups,
    normalize_tuple,
    transpose_output_size,
)

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]

IntOrTuple = int | Sequence[int]


class _Shaped(Protocol):
    """An array: NumPy's or Dask's."""

    @property
    def ndim(self) -> int: ...
    @property
    def shape(self) -> object: ...
    def __getitem__(self, key: Any, /) -> Any: ...


_ArrayT = TypeVar("_ArrayT", bound=_Shaped)


def _batched(array: _ArrayT, rank: int, name: str, op: str) -> tuple[_ArrayT, bool]:
    """Add a batch axis to an unbatched (C, *S) array; say whether one was added."""
    if array.ndim == rank + 1:
        return array[np.newaxis], True
    if array.ndim != rank + 2:
        raise ValueError(
            f"{op}: {name} must be {rank + 1}-D (C, *S) or {rank + 2}-D (N, C, *S); "
            f"got {name}.shape={array.shape}"
        )
    return array, False


def _spec(op: str, rank: int, input_shape: Sequence[int], weight_shape: Sequence[int],
          stride: object, padding: PaddingLike, dilation: object, groups: int,
          padding_mode: str) -> ConvSpec:
    return make_spec(
        op, input_shape, weight_shape, rank=rank, stride=stride, padding=padding,
        dilation=dilation, groups=groups, padding_mode=padding_mode,
        data_format="channels_first", weight_format="OIHW", weight_name="weight",
    )


def _conv(op: str, rank: int, input: object, weight: object, bias: object, stride: object,
          padding: PaddingLike, dilation: object, groups: int, padding_mode: str,
          algorithm: str) -> np.ndarray:
    x, unbatched = _batched(_core.as_array(input, "input", op), rank, "input", op)
    w = _core.as_array(weight, "weight", op)
    spec = _spec(op, rank, x.shape, w.shape, stride, padding, dilation, groups, padding_mode)
    y = _core.convolve(x, w, spec, bias=bias, algorithm=algorithm, op=op)
    return y[0] if unbatched else y


def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingLike = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    algorithm: str = "auto",
) -> np.ndarray:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
    weight : array_like, shape (C_out, C_in / groups, kH, kW)
    bias : array_like, shape (C_out,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), ((top, bottom), (left, right)), "valid" or "same"
        Zeros added on each side.  "same" keeps ``ceil(H / stride)`` rows, padding the odd
        extra pixel after (TensorFlow's rule; PyTorch allows "same" only with stride 1).
    groups : int
        Input and output channels are split into ``groups`` independent convolutions.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        What the padding holds, as ``torch.nn.Conv2d(padding_mode=...)``.
    algorithm : str
        "auto" or an algorithm's name (``strided.algorithms()``).

    Returns
    -------
    numpy.ndarray, shape (N, C_out, H_out, W_out)
        ``H_out = (H + pad_top + pad_bottom - dilation * (kH - 1) - 1) // stride + 1``.
        Integer inputs give int64, float16 gives float16 (accumulated in float32).

    Raises
    ------
    ValueError
        Shapes that do not fit (the message gives both), bad stride, padding or groups.
    TypeError
        Non-numeric arrays or non-integer sizes.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[2, 0, 1, 3], [7, 1, 1, 0], [0, 2, 5, 0], [0, 5, 1, 4]])
    >>> kernel = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    >>> conv2d(image[None, None], kernel[None, None])[0, 0]
    array([[-4, -3],
           [ 3, -8]])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm)


def conv1d(input: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
           groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
           ) -> np.ndarray:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``: (N, C_in, L) -> (N, C_out, L_out).

    Weight (C_out, C_in / groups, kL); arguments and output size as ``conv2d``.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm)


def conv3d(input: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
           groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
           ) -> np.ndarray:
    """3-D cross-correlation, as ``torch.nn.functional.conv3d``.

    (N, C_in, D, H, W) with weight (C_out, C_in / groups, kD, kH, kW) -> (N, C_out, D', H', W');
    arguments and output size as ``conv2d``.
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, algorithm)


def _conv_transpose(op: str, rank: int, input: object, weight: object, bias: object,
                    stride: object, padding: object, output_padding: object, groups: int,
                    dilation: object, algorithm: str) -> np.ndarray:
    x, unbatched = _batched(_core.as_array(input, "input", op), rank, "input", op)
    w = _core.as_array(weight, "weight", op)
    if w.ndim != rank + 2:
        raise ValueError(f"{op}: weight must be {rank + 2}-D (C_in, C_out / groups, *K); "
                         f"got weight.shape={w.shape}")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or {rank} ints (PyTorch's "
                         f"conv_transpose takes no padding strings); got padding={padding!r}")
    strides = normalize_tuple(stride, rank, "stride", op)
    dilations = normalize_tuple(dilation, rank, "dilation", op)
    pads = normalize_tuple(padding, rank, "padding", op, minimum=0)
    extra = normalize_tuple(output_padding, rank, "output_padding", op, minimum=0)
    for o, s, d in zip(extra, strides, dilations):
        if o >= max(s, d):
            raise ValueError(f"{op}: output_padding must be smaller than stride or dilation; "
                             f"got output_padding={output_padding!r}, stride={stride!r}, "
                             f"dilation={dilation!r}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but weight expects "
                         f"{w.shape[0]} (weight.shape={w.shape}); the first dimension of a "
                         f"transposed convolution's weight must equal input channels")
    if x.shape[1] % normalize_groups(groups, op):
        raise ValueError(f"{op}: groups must divide the input channels; got groups={groups!r} "
                         f"and {x.shape[1]} input channels")
    # The transposed convolution is the input gradient of the convolution that maps its
    # output (N, C_out, *size) back to its input; ``weight`` is that convolution's OIHW weight.
    size = transpose_output_size(x.shape[2:], w.shape[2:], strides, pads, dilations, extra)
    if any(n < 1 for n in size):
        raise ValueError(f"{op}: the output would be empty: size {size} from input "
                         f"{x.shape[2:]}, stride={stride!r}, padding={padding!r}")
    spec = make_spec(op, (x.shape[0], w.shape[1] * groups, *size), w.shape, rank=rank,
                     stride=strides, padding=pads, dilation=dilations, groups=groups,
                     data_format="channels_first", weight_format="OIHW", weight_name="weight")
    # With output_padding >= stride the forward convolution has more outputs than ``input``;
    # those extra outputs have zero gradient.
    grow = [(0, o - n) for o, n in zip(spec.output_size, x.shape[2:])]
    if any(after for _, after in grow):
        x = np.pad(x, [(0, 0), (0, 0), *grow])
    y = _core.convolve_grad_input(x, w, spec, bias=bias, algorithm=algorithm, op=op)
    return y[0] if unbatched else y


def conv_transpose2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    *,
    algorithm: str = "auto",
) -> np.ndarray:
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
    weight : array_like, shape (C_in, C_out / groups, kH, kW)
    bias : array_like, shape (C_out,), optional
    stride, padding, dilation : int or (int, int)
        Those of the ``conv2d`` whose input gradient this is: ``padding`` rows and columns are
        cropped from each side of the full result.
    output_padding : int or (int, int)
        Rows and columns added after (smaller than stride or dilation), to pick among the
        input sizes that a strided ``conv2d`` maps to the same output size.
    groups : int

    Returns
    -------
    numpy.ndarray, shape (N, C_out, H_out, W_out)
        ``H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``.
        It is the gradient of ``conv2d`` with respect to its input.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).shape
    (1, 1, 4, 4)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation, algorithm)


def conv_transpose1d(input: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1, *, algorithm: str = "auto") -> np.ndarray:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    (N, C_in, L) with weight (C_in, C_out / groups, kL) -> (N, C_out, L_out); as
    ``conv_transpose2d``.
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation, algorithm)


def conv_transpose3d(input: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1, *, algorithm: str = "auto") -> np.ndarray:
    """3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d``.

    (N, C_in, D, H, W) with weight (C_in, C_out / groups, kD, kH, kW); as
    ``conv_transpose2d``.
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation, algorithm)
