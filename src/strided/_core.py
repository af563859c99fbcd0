"""The one convolution op, its two gradients, and bias: layouts, dtypes, padding modes.

The faces (``nn``, ``functional``, ``layers``, ``grad``) translate their framework's arguments
into a ``ConvSpec`` and call these three functions.  Here the arrays are brought to the
canonical layout and compute dtype, non-zero padding modes are applied, and the algorithm
is chosen; the algorithm then sees only C-contiguous canonical arrays with zero padding
(never the caller's layouts or memory order) and the spec's plain geometry.

Gradient shapes, written like matmul signatures (``C`` in, ``O`` out channels)::

    forward      x (N, *S, C),  w (*K, C/g, O)   -> y  (N, *OS, O)
    grad_input   dy (N, *OS, O), w (*K, C/g, O)  -> dx (N, *S, C)     the transposed convolution
    grad_weight  x (N, *S, C),  dy (N, *OS, O)   -> dw (*K, C/g, O)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import _algorithms
from ._algorithms import Algorithm, Direction, _direct, _levels, _pointwise, _winograd
from ._algorithms._layout import channels_first, channels_last, hwio, last_view, layout_buffer, oihw
from ._algorithms._winograd import KernelCache
from ._padding import pad, pad_adjoint
from ._runtime._workspace import get_workspace_limit
from ._spec import ConvSpec

_NUMERIC_KINDS = "biuf"
_INT64_MAX = int(np.iinfo(np.int64).max)


def as_array(value: object, name: str, op: str) -> np.ndarray:
    """``value`` as a NumPy array of a real numeric dtype (bool, int, uint or float)."""
    array = np.asarray(value)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{op}: {name} must be an array of real numbers (bool, int, uint or float); "
            f"got dtype {array.dtype}"
        )
    if array.dtype == np.uint64 and array.size and int(array.max()) > _INT64_MAX:
        raise ValueError(
            f"{op}: {name} holds uint64 values above 2**63 - 1 (largest {int(array.max())}), "
            f"which the exact int64 computation cannot hold; convert to float64, or to int64 "
            f"if the values fit"
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


def _to_canonical(x: np.ndarray, spec: ConvSpec, key: str) -> np.ndarray:
    """The caller's data as a C-contiguous (N, *S, C) array: itself when it is one already,
    else a copy (a compiled blocked transpose from channels first, into the calling thread's
    reused buffer ``key``: the call's scratch, never part of a result)."""
    if spec.data_format == "channels_last":
        return np.ascontiguousarray(x)
    return channels_last(x, key)


def _staging(spec: ConvSpec, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """For a channels-first call, a reused C-contiguous (N, *S, C) buffer of the calling
    thread for the algorithm's result, which ``_from_canonical`` then copies out of: the
    call allocates one array, its result (None where that copy would be a view, or the
    layout is channels last)."""
    if spec.data_format == "channels_last" or shape[-1] == 1 or math.prod(shape[1:-1]) == 1:
        return None
    return layout_buffer("layout.result", shape, dtype)


def _from_canonical(y: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(N, *S, C) -> the caller's layout, contiguous."""
    if spec.data_format == "channels_last":
        return y
    return channels_first(y)


def _weight_to_canonical(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The caller's weight as a C-contiguous (*K, C/g, O) array: itself when it is one
    already, else a copy (compiled transposes from PyTorch's OIHW)."""
    if spec.weight_format == "HWIO":
        return np.ascontiguousarray(w)
    return hwio(w)


def _weight_from_canonical(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(*K, C/g, O) -> the caller's weight layout, contiguous."""
    if spec.weight_format == "HWIO":
        return w
    return oihw(w)


def _planar(spec: ConvSpec, *arrays: np.ndarray) -> bool:
    """Whether a pointwise call takes the caller's channels-first arrays as they are
    (``_pointwise.*_planar``: per image, products over (channels, pixels) planes, no
    transposing copy); empty arrays and non-zero padding modes take the canonical path."""
    return (spec.data_format == "channels_first" and spec.padding_mode == "zeros"
            and all(a.size for a in arrays))


def _inner(spec: ConvSpec) -> ConvSpec:
    """The spec an algorithm sees once a non-zero padding mode has been applied."""
    if spec.padding_mode == "zeros":
        return spec
    return spec.with_padding(((0, 0),) * spec.rank, spec.padded_size)


class Plan(NamedTuple):
    """What a call computes with: the algorithm's spec, the algorithm, the dtypes."""

    inner: ConvSpec
    method: Algorithm
    compute: np.dtype
    result: np.dtype


def plan(spec: ConvSpec, a: np.dtype, b: np.dtype, algorithm: str, op: str,
         direction: Direction = "forward") -> Plan:
    """The plan of a call on arrays of dtypes ``a`` and ``b``.

    It depends on these arguments, the workspace limit (FFT's spectrum must fit it) and the
    kernels' level, and on nothing else, so it is remembered per those in a bounded LRU (with
    ``make_spec``'s, the only cache of the call path): the convolutions of a training step
    are planned once.  A call that raises (an unknown or unfit ``algorithm``) is not
    remembered.
    """
    if not isinstance(algorithm, str):  # refused by resolve, with the message
        return _planned(spec, a, b, algorithm, op, direction)
    return _remembered_plan(spec, a, b, algorithm, op, direction, get_workspace_limit(),
                            _levels.current())


@lru_cache(maxsize=256)
def _remembered_plan(spec: ConvSpec, a: np.dtype, b: np.dtype, algorithm: str, op: str,
                     direction: Direction, workspace_limit: int, level: str) -> Plan:
    return _planned(spec, a, b, algorithm, op, direction)


def _planned(spec: ConvSpec, a: np.dtype, b: np.dtype, algorithm: str, op: str,
             direction: Direction) -> Plan:
    compute, result = compute_dtypes(a, b)
    inner = _inner(spec)
    return Plan(inner, _algorithms.resolve(algorithm, inner, compute, op, direction), compute,
                result)


def check_shape(array: np.ndarray, expected: Sequence[int], name: str, op: str) -> None:
    """Raise unless ``array.shape == expected``."""
    if tuple(array.shape) != tuple(expected):
        raise ValueError(
            f"{op}: {name} must have shape {tuple(expected)} for this convolution; "
            f"got {name}.shape={tuple(array.shape)}"
        )


def check_bias(bias: object, channels: int, op: str) -> np.ndarray | None:
    """``bias`` as an array of ``channels`` real numbers (or None), checked before any work."""
    if bias is None:
        return None
    b = as_array(bias, "bias", op)
    if b.shape != (channels,):
        raise ValueError(
            f"{op}: bias must have shape ({channels},), one value per output channel; "
            f"got bias.shape={b.shape}"
        )
    return b


def _finish(y: np.ndarray, bias: np.ndarray | None, result: np.dtype,
            channel_axis: int = -1) -> np.ndarray:
    """``y`` (compute dtype) plus ``bias`` along its channel axis, rounded once to
    ``result``'s dtype with the bias promoted in as NumPy would (an int64 result with a
    float bias is float)."""
    if bias is None:
        return y.astype(result, copy=False)
    _, dtype = compute_dtypes(result, bias.dtype)
    along = bias if channel_axis == -1 else bias.reshape(-1, *([1] * (y.ndim - 2)))
    return np.add(y, along, dtype=np.result_type(y.dtype, bias.dtype)).astype(dtype, copy=False)


def convolve(x: np.ndarray, w: np.ndarray, spec: ConvSpec, *, bias: object = None,
             algorithm: str = "auto", op: str = "conv", relu: bool = False,
             cache: KernelCache | None = None) -> np.ndarray:
    """Cross-correlate ``x`` with ``w`` as ``spec`` says, plus ``bias`` (one per output
    channel, added before the one rounding to the result dtype), then ``max(0, .)`` if
    ``relu`` (in the direct kernels' store where they add the bias too); arrays in the spec's
    layouts.  ``cache`` keeps a transformed kernel between calls (a layer in inference)."""
    b = check_bias(bias, spec.out_channels, op)
    inner, method, compute, result = plan(spec, x.dtype, w.dtype, algorithm, op)
    wc = _weight_to_canonical(w, spec).astype(compute, copy=False)
    # the compiled kernels add the bias as they store each output: one pass fewer; the direct
    # ones apply the ReLU there too, after the bias (so only where no bias is left to add)
    fused = (b.astype(compute, copy=False) if b is not None and method in (_direct, _winograd)
             and np.can_cast(b.dtype, compute, "safe") else None)
    rest = None if fused is not None else b
    in_store = relu and rest is None and method is _direct
    if method is _pointwise and _planar(spec, x, w):
        y = _pointwise.forward_planar(np.ascontiguousarray(x, dtype=compute), wc, inner)
        return _relu(_finish(y, b, result, channel_axis=1), relu)
    if method is _direct and _direct.planar(inner) and _planar(spec, x, w):
        # depthwise (and one-channel) layers channels first: plane by plane, no transposes
        y = _direct.forward_planar(np.ascontiguousarray(x, dtype=compute), wc, inner,
                                   bias=fused, relu=in_store)
        return _relu(_finish(y, rest, result, channel_axis=1), relu and not in_store)
    if (method is _direct and spec.data_format == "channels_first"
            and spec.padding_mode == "zeros" and _direct.reads_strided_channels(inner)):
        # the direct kernels of few-channel layers read channels first as they copy each
        # task's input: no transposing copy of x
        xc = last_view(np.ascontiguousarray(x, dtype=compute))
    else:
        xc = _to_canonical(x, spec, "layout.x").astype(compute, copy=False)
    if spec.padding_mode != "zeros":
        xc = pad(xc, spec.padding, spec.padding_mode)
    if (method is _direct and spec.data_format == "channels_first"
            and _direct.writes_strided_channels(inner)):
        # and the direct kernels (but the single-channel one) write channels first in place:
        # no transposing copy of y
        y_first = np.empty((spec.batch, spec.out_channels, *spec.output_size), compute)
        _direct.forward(xc, wc, inner, bias=fused, relu=in_store,
                        out=last_view(y_first))
        return _relu(_finish(y_first, rest, result, channel_axis=1), relu and not in_store)
    if method is _winograd:
        y = _winograd.forward(xc, wc, inner, bias=fused, cache=cache,
                              out=_staging(spec, inner.output_shape, compute))
    elif method is _direct:  # channels last, or the single-channel plane kernel
        y = _direct.forward(xc, wc, inner, bias=fused, relu=in_store)
    else:
        y = method.forward(xc, wc, inner)
    return _from_canonical(_relu(_finish(y, rest, result), relu and not in_store), spec)


def _relu(y: np.ndarray, apply: bool) -> np.ndarray:
    """max(0, y) in place if ``apply`` (NaN stays NaN, as in the kernels)."""
    if apply:
        np.maximum(y, 0, out=y)
    return y


def convolve_grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec, *,
                        bias: object = None, algorithm: str = "auto",
                        op: str = "conv_grad_input", cache: KernelCache | None = None
                        ) -> np.ndarray:
    """Gradient of ``convolve`` with respect to its input (the transposed convolution), plus
    ``bias`` (one per input channel, as a transposed convolution's bias); ``cache`` as for
    ``convolve``."""
    check_shape(grad_output, spec.in_user_layout(spec.output_shape), "grad_output", op)
    b = check_bias(bias, spec.in_channels, op)
    inner, method, compute, result = plan(spec, grad_output.dtype, w.dtype, algorithm, op,
                                          "grad_input")
    wc = _weight_to_canonical(w, spec).astype(compute, copy=False)
    if method is _pointwise and _planar(spec, grad_output, w):
        dx = _pointwise.grad_input_planar(np.ascontiguousarray(grad_output, dtype=compute), wc,
                                          inner)
        return _finish(dx, b, result, channel_axis=1)
    if method is _direct and _direct.planar(inner, "grad_input") and _planar(spec, grad_output, w):
        dx = _direct.grad_input_planar(np.ascontiguousarray(grad_output, dtype=compute), wc,
                                       inner)
        return _finish(dx, b, result, channel_axis=1)
    dy = _to_canonical(grad_output, spec, "layout.dy").astype(compute, copy=False)
    staging = None if spec.padding_mode != "zeros" else _staging(spec, inner.input_shape,
                                                                  compute)
    if method is _winograd:
        dx = _winograd.grad_input(dy, wc, inner, cache=cache, out=staging)
    elif method is _direct:
        dx = _direct.grad_input(dy, wc, inner, out=staging)
    else:
        dx = method.grad_input(dy, wc, inner)
    if spec.padding_mode != "zeros":
        dx = pad_adjoint(dx, spec.padding, spec.padding_mode)
    return _from_canonical(_finish(dx, b, result), spec)


def convolve_grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec, *,
                         algorithm: str = "auto", op: str = "conv_grad_weight") -> np.ndarray:
    """Gradient of ``convolve`` with respect to its weight, in the spec's weight layout."""
    check_shape(grad_output, spec.in_user_layout(spec.output_shape), "grad_output", op)
    inner, method, compute, result = plan(spec, x.dtype, grad_output.dtype, algorithm, op,
                                          "grad_weight")
    if method is _pointwise and _planar(spec, x, grad_output):
        dw = _pointwise.grad_weight_planar(np.ascontiguousarray(x, dtype=compute),
                                           np.ascontiguousarray(grad_output, dtype=compute), inner)
        return _weight_from_canonical(dw.astype(result, copy=False), spec)
    if method is _direct and _direct.planar(inner) and _planar(spec, x, grad_output):
        dw = _direct.grad_weight_planar(np.ascontiguousarray(x, dtype=compute),
                                        np.ascontiguousarray(grad_output, dtype=compute), inner)
        return _weight_from_canonical(dw.astype(result, copy=False), spec)
    xc = _to_canonical(x, spec, "layout.x").astype(compute, copy=False)
    if spec.padding_mode != "zeros":
        xc = pad(xc, spec.padding, spec.padding_mode)
    dy = _to_canonical(grad_output, spec, "layout.dy").astype(compute, copy=False)
    dw = method.grad_weight(xc, dy, inner)
    return _weight_from_canonical(dw.astype(result, copy=False), spec)


def bias_gradient(grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """d(y + bias)/d(bias): the sum of ``grad_output`` over every axis but channels."""
    channel_axis = -1 if spec.data_format == "channels_last" else 1
    axes = tuple(a for a in range(grad_output.ndim) if a != channel_axis % grad_output.ndim)
    return grad_output.sum(axis=axes)
