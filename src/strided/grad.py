"""Convolution gradients with the arguments of ``torch.nn.grad``: NCHW, OIHW.

``conv2d_input(input_size, weight, grad_output, ...)`` is d(loss)/d(input) of
``strided.functional.conv2d`` given d(loss)/d(output); ``conv2d_weight(input, weight_size,
grad_output, ...)`` is d(loss)/d(weight).  Both are exact for the same arguments that
``conv2d`` takes (stride, padding strings or pairs, dilation, groups, padding modes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _core
from ._spec import PaddingLike, make_spec

__all__ = [
    "conv1d_input",
    "conv1d_weight",
    "conv2d_input",
    "conv2d_weight",
    "conv3d_input",
    "conv3d_weight",
]

IntOrTuple = int | Sequence[int]


def _size(value: object, name: str, op: str) -> tuple[int, ...]:
    try:
        return tuple(int(n) for n in value)  # type: ignore[attr-defined]
    except TypeError:
        raise TypeError(f"{op}: {name} must be a sequence of ints (a full shape); "
                        f"got {name}={value!r}") from None


def _input_grad(op: str, rank: int, input_size: object, weight: object, grad_output: object,
                stride: object, padding: PaddingLike, dilation: object, groups: int,
                padding_mode: str, algorithm: str) -> np.ndarray:
    w = _core.as_array(weight, "weight", op)
    dy = _core.as_array(grad_output, "grad_output", op)
    spec = make_spec(op, _size(input_size, "input_size", op), w.shape, rank=rank,
                     stride=stride, padding=padding, dilation=dilation, groups=groups,
                     padding_mode=padding_mode, data_format="channels_first",
                     weight_format="OIHW", input_name="input_size", weight_name="weight")
    return _core.convolve_grad_input(dy, w, spec, algorithm=algorithm, op=op)


def _weight_grad(op: str, rank: int, input: object, weight_size: object, grad_output: object,
                 stride: object, padding: PaddingLike, dilation: object, groups: int,
                 padding_mode: str, algorithm: str) -> np.ndarray:
    x = _core.as_array(input, "input", op)
    dy = _core.as_array(grad_output, "grad_output", op)
    spec = make_spec(op, x.shape, _size(weight_size, "weight_size", op), rank=rank,
                     stride=stride, padding=padding, dilation=dilation, groups=groups,
                     padding_mode=padding_mode, data_format="channels_first",
                     weight_format="OIHW", weight_name="weight_size")
    return _core.convolve_grad_weight(x, dy, spec, algorithm=algorithm, op=op)


def conv2d_input(
    input_size: Sequence[int],
    weight: np.ndarray,
    grad_output: np.ndarray,
    stride: IntOrTuple = 1,
    padding: PaddingLike = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    algorithm: str = "auto",
) -> np.ndarray:
    """Gradient of ``conv2d`` with respect to its input, as ``torch.nn.grad.conv2d_input``.

    Parameters
    ----------
    input_size : sequence of 4 ints
        The input's shape (N, C_in, H, W).
    weight : array_like, shape (C_out, C_in / groups, kH, kW)
    grad_output : array_like, shape (N, C_out, H_out, W_out)
    stride, padding, dilation, groups, padding_mode
        Those of the forward ``conv2d``.

    Returns
    -------
    numpy.ndarray, shape ``input_size``
        ``dx[n, c, i, j] = sum of grad_output[n, o, p, q] * weight[o, c', a, b]`` over every
        output pixel ``(p, q)`` whose window read ``(i, j)`` through tap ``(a, b)``: the
        transposed convolution.

    Examples
    --------
    >>> import numpy as np
    >>> conv2d_input((1, 1, 3, 3), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    return _input_grad("conv2d_input", 2, input_size, weight, grad_output, stride, padding,
                       dilation, groups, padding_mode, algorithm)


def conv2d_weight(
    input: np.ndarray,
    weight_size: Sequence[int],
    grad_output: np.ndarray,
    stride: IntOrTuple = 1,
    padding: PaddingLike = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    algorithm: str = "auto",
) -> np.ndarray:
    """Gradient of ``conv2d`` with respect to its weight, as ``torch.nn.grad.conv2d_weight``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W)
    weight_size : sequence of 4 ints
        The weight's shape (C_out, C_in / groups, kH, kW).
    grad_output : array_like, shape (N, C_out, H_out, W_out)
    stride, padding, dilation, groups, padding_mode
        Those of the forward ``conv2d``.

    Returns
    -------
    numpy.ndarray, shape ``weight_size``
        ``dw[o, c, a, b] = sum over n, p, q of grad_output[n, o, p, q] * x_padded[n, c,
        p * stride + a * dilation, q * stride + b * dilation]``.

    Examples
    --------
    >>> import numpy as np
    >>> conv2d_weight(np.ones((1, 1, 3, 3)), (1, 1, 2, 2), np.ones((1, 1, 2, 2)))[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    return _weight_grad("conv2d_weight", 2, input, weight_size, grad_output, stride, padding,
                        dilation, groups, padding_mode, algorithm)


def conv1d_input(input_size: Sequence[int], weight: np.ndarray, grad_output: np.ndarray,
                 stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
                 groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
                 ) -> np.ndarray:
    """Gradient of ``conv1d`` with respect to its input, as ``torch.nn.grad.conv1d_input``."""
    return _input_grad("conv1d_input", 1, input_size, weight, grad_output, stride, padding,
                       dilation, groups, padding_mode, algorithm)


def conv1d_weight(input: np.ndarray, weight_size: Sequence[int], grad_output: np.ndarray,
                  stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
                  groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
                  ) -> np.ndarray:
    """Gradient of ``conv1d`` with respect to its weight, as ``torch.nn.grad.conv1d_weight``."""
    return _weight_grad("conv1d_weight", 1, input, weight_size, grad_output, stride, padding,
                        dilation, groups, padding_mode, algorithm)


def conv3d_input(input_size: Sequence[int], weight: np.ndarray, grad_output: np.ndarray,
                 stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
                 groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
                 ) -> np.ndarray:
    """Gradient of ``conv3d`` with respect to its input, as ``torch.nn.grad.conv3d_input``."""
    return _input_grad("conv3d_input", 3, input_size, weight, grad_output, stride, padding,
                       dilation, groups, padding_mode, algorithm)


def conv3d_weight(input: np.ndarray, weight_size: Sequence[int], grad_output: np.ndarray,
                  stride: IntOrTuple = 1, padding: PaddingLike = 0, dilation: IntOrTuple = 1,
                  groups: int = 1, *, padding_mode: str = "zeros", algorithm: str = "auto"
                  ) -> np.ndarray:
    """Gradient of ``conv3d`` with respect to its weight, as ``torch.nn.grad.conv3d_weight``."""
    return _weight_grad("conv3d_weight", 3, input, weight_size, grad_output, stride, padding,
                        dilation, groups, padding_mode, algorithm)
