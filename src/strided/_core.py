"""The one convolution op, its two gradients, and bias: layouts, dtypes, padding modes.

The faces (``nn``, ``functional``, ``layers``, ``grad``) translate their framework's arguments
into a ``ConvSpec`` and call these three functions.  Here the arrays are brought to the
canonical layout and compute dtype, non-zero padding modes are applied, and the algorithm
is chosen; the algorithm then sees only canonical arrays with zero padding.

Gradient shapes, written like matmul signatures (``C`` in, ``O`` out channels)::

    forward      x (N, *S, C),  w (*K, C/g, O)   -> y  (N, *OS, O)
    grad_input   dy (N, *OS, O), w (*K, C/g, O)  -> dx (N, *S, C)     the transposed convolution
    grad_weight  x (N, *S, C),  dy (N, *OS, O)   -> dw (*K, C/g, O)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _algorithms
from ._algorithms._layout import channels_first, channels_last
from ._padding import pad, pad_adjoint
from ._spec import ConvSpec

_NUMERIC_KINDS = "biuf"


def as_array(value: object, name: str, op: str) -> np.ndarray:
    """``value`` as a NumPy array of a real numeric dtype (bool, int, uint or float)."""
    array = np.asarray(value)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{op}: {name} must be an array of real numbers (bool, int, uint or float); "
            f"got dtype {array.dtype}"
        )
    return array


def compute_dtypes(*dtypes: np.dtype) -> tuple[np.dtype, np.dtype]:
    """(dtype to compute in, dtype to return) for arrays of ``dtypes``.

    Integers and booleans are computed exactly in int64 and returned as int64; float16 is
    accumulated in float32 and rounded to float16 once, at the end; other floats follow
    NumPy's promotion.
    """
    result = np.result_type(*dtypes)
    if result.kind in "bui":
        return np.dtype(np.int64), np.dtype(np.int64)
    if result == np.float16:
        return np.dtype(np.float32), result
    return result, result


def _to_canonical(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The caller's data as a C-contiguous (N, *S, C) array: itself when it is one already,
    else a copy (a compiled blocked transpose from channels first)."""
    if spec.data_format == "channels_last":
        return np.ascontiguousarray(x)
    return channels_last(x)


def _from_canonical(y: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(N, *S, C) -> the caller's layout, contiguous."""
    if spec.data_format == "channels_last":
        return y
    return channels_first(y)


def _weight_to_canonical(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """OIHW -> HWIO when the caller's weight is PyTorch's; a view (the algorithms copy what
    they need, each in the order that is cheap from this one)."""
    if spec.weight_format == "HWIO":
        return w
    return np.moveaxis(w, (0, 1), (-1, -2))


def _weight_from_canonical(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """HWIO -> OIHW, contiguous; quick when ``w`` is a view of an (O, *K, C/g) array, as
    im2col's weight gradient is for PyTorch's layout."""
    if spec.weight_format == "HWIO":
        return w
    return np.ascontiguousarray(np.moveaxis(w, (-1, -2), (0, 1)))


def _inner(spec: ConvSpec) -> ConvSpec:
    """The spec an algorithm sees once a non-zero padding mode has been applied."""
    if spec.padding_mode == "zeros":
        return spec
    return spec.with_padding(((0, 0),) * spec.rank, spec.padded_size)


def check_shape(array: np.ndarray, expected: Sequence[int], name: str, op: str) -> None:
    """Raise unless ``array.shape == expected``."""
    if tuple(array.shape) != tuple(expected):
        raise ValueError(
            f"{op}: {name} must have shape {tuple(expected)} for this convolution; "
            f"got {name}.shape={tuple(array.shape)}"
        )


def convolve(x: np.ndarray, w: np.ndarray, spec: ConvSpec, *, algorithm: str = "auto",
             op: str = "conv") -> np.ndarray:
    """Cross-correlate ``x`` with ``w`` as ``spec`` says; arrays in the spec's layouts."""
    compute, result = compute_dtypes(x.dtype, w.dtype)
    inner = _inner(spec)
    method = _algorithms.resolve(algorithm, inner, compute, op)
    xc = _to_canonical(x, spec).astype(compute, copy=False)
    if spec.padding_mode != "zeros":
        xc = pad(xc, spec.padding, spec.padding_mode)
    wc = _weight_to_canonical(w, spec).astype(compute, copy=False)
    y = method.forward(xc, wc, inner)
    return _from_canonical(y.astype(result, copy=False), spec)


def convolve_grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec, *,
                        algorithm: str = "auto", op: str = "conv_grad_input") -> np.ndarray:
    """Gradient of ``convolve`` with respect to its input (the transposed convolution)."""
    check_shape(grad_output, spec.in_user_layout(spec.output_shape), "grad_output", op)
    compute, result = compute_dtypes(grad_output.dtype, w.dtype)
    inner = _inner(spec)
    method = _algorithms.resolve(algorithm, inner, compute, op)
    dy = _to_canonical(grad_output, spec).astype(compute, copy=False)
    wc = _weight_to_canonical(w, spec).astype(compute, copy=False)
    dx = method.grad_input(dy, wc, inner)
    if spec.padding_mode != "zeros":
        dx = pad_adjoint(dx, spec.padding, spec.padding_mode)
    return _from_canonical(dx.astype(result, copy=False), spec)


def convolve_grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec, *,
                         algorithm: str = "auto", op: str = "conv_grad_weight") -> np.ndarray:
    """Gradient of ``convolve`` with respect to its weight, in the spec's weight layout."""
    check_shape(grad_output, spec.in_user_layout(spec.output_shape), "grad_output", op)
    compute, result = compute_dtypes(x.dtype, grad_output.dtype)
    inner = _inner(spec)
    method = _algorithms.resolve(algorithm, inner, compute, op)
    xc = _to_canonical(x, spec).astype(compute, copy=False)
    if spec.padding_mode != "zeros":
        xc = pad(xc, spec.padding, spec.padding_mode)
    dy = _to_canonical(grad_output, spec).astype(compute, copy=False)
    dw = method.grad_weight(xc, dy, inner)
    return _weight_from_canonical(dw.astype(result, copy=False), spec)


def add_bias(y: np.ndarray, bias: object, spec: ConvSpec, op: str) -> np.ndarray:
    """``y + bias`` along the channel axis of ``y`` (in the spec's data format)."""
    if bias is None:
        return y
    b = as_array(bias, "bias", op)
    channel_axis = -1 if spec.data_format == "channels_last" else 1
    channels = y.shape[channel_axis]
    if b.shape != (channels,):
        raise ValueError(
            f"{op}: bias must have shape ({channels},), one value per output channel; "
            f"got bias.shape={b.shape}"
        )
    if spec.data_format == "channels_first":
        b = b.reshape(-1, *([1] * spec.rank))
    _, result = compute_dtypes(y.dtype, b.dtype)
    return np.add(y, b, dtype=result)


def bias_gradient(grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """d(y + bias)/d(bias): the sum of ``grad_output`` over every axis but channels."""
    channel_axis = -1 if spec.data_format == "channels_last" else 1
    axes = tuple(a for a in range(grad_output.ndim) if a != channel_axis % grad_output.ndim)
    return grad_output.sum(axis=axes)
