"""Direct convolution in compiled kernels (``csrc/conv.inc``), float32 and float64.

Register-blocked tiles over channels-last data, as oneDNN's direct and XNNPACK's GEMM
microkernels work: a tile of P output pixels x 1 or 2 vectors of output channels is summed
over the taps that fall inside the input and the group's input channels, so zero padding
costs no copy and every kernel size, stride, dilation and group count runs the same loop.
Shapes (``g`` groups, ``cg = C/g``, ``og = O/g``)::

    forward      y[n, o, g*og + j] = sum_{k, c<cg} x[n, o*s + k*d - p, g*cg + c] w[k, c, g*og + j]
    grad_input   the same kernel over dy, one call per phase of the stride (below)
    grad_weight  dw[k, c, g*og + j] = sum_{n, o} x[n, o*s + k*d - p, g*cg + c] dy[n, o, g*og + j]

Depthwise (``cg == 1``) has kernels of its own that run vectors of channels; a channel
multiplier ``m = og > 1`` repeats each input channel ``m`` times first.  Over channels-first
data (PyTorch's layout) depthwise layers and one-channel filters run plane by plane instead
(``planar``, ``*_planar``): lanes along each channel's rows, tiles of up to 8 rows sharing
each tap's weight, lanes masked where a tap leaves the row; no transposing copy.

The input gradient of a stride-``s`` convolution is, per residue ``r`` of the input index
mod ``s`` (per dimension), a stride-1 correlation of ``dy`` with the taps ``k`` for which
``(r + p - k*d) % s == 0``, reversed, at dilation ``d / gcd(s, d)``; each phase writes
``dx[r::s]`` through the output strides, so nothing is scattered or added twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _kernels
from .._runtime._threads import get_num_threads
from .._runtime._workspace import empty_safe, output_array
from .._spec import ConvSpec
from ._layout import first_view, last_view

#: The kernels index taps from small arrays on the stack (``csrc/conv.inc``).
MAX_TAPS = 4096
MAX_ROW_TAPS = 512
#: Layers over fewer input channels than this run over bands of their input (``banded`` in
#: csrc/kernels.hpp).
FEW_CHANNELS = 8


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """float32 and float64, up to 4096 taps."""
    if dtype not in (np.float32, np.float64):
        return f"the compiled kernels compute float32 and float64; got {dtype}"
    kernel = (1,) * (3 - spec.rank) + spec.kernel_size
    if spec.rank > 3 or math.prod(kernel) > MAX_TAPS or kernel[0] * kernel[1] > MAX_ROW_TAPS:
        return f"the compiled kernels take at most {MAX_TAPS} taps in 1 to 3 dimensions"
    return None


def _five(array: np.ndarray) -> np.ndarray:
    """(N, *S, C) with 1 to 3 spatial dimensions as (N, D, H, W, C), a view."""
    n, *sizes, c = array.shape
    return array.reshape(n, *([1] * (3 - len(sizes))), *sizes, c)


def _three(values: Sequence[int], fill: int) -> tuple[int, ...]:
    return (fill,) * (3 - len(values)) + tuple(values)


def _geometry(batch: int, groups: int, cg: int, og: int, in_size: Sequence[int],
              out_size: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
              dilation: Sequence[int], pad: Sequence[int], relu: bool = False) -> np.ndarray:
    """The 24 int64 values of ``csrc/kernels.hpp``'s Geometry."""
    return np.array((batch, groups, cg, og, *_three(in_size, 1), *_three(out_size, 1),
                     *_three(kernel, 1), *_three(stride, 1), *_three(dilation, 1),
                     *_three(pad, 0), int(relu), get_num_threads()), dtype=np.int64)


def _packed(w6: np.ndarray, og: int) -> np.ndarray:
    """(G, KD, KH, KW, cg, og) weights, any strides -> the forward kernel's packed panels."""
    lanes = _kernels.lanes(w6.itemsize, og)
    blocks = -(-og // lanes)
    g, kd, kh, kw, cg, _ = w6.shape
    packed = np.empty((g, blocks, kd * kh * kw, cg, lanes), dtype=w6.dtype)
    _kernels.pack(w6, packed, lanes)
    return packed


def four_vector_tiles(dtype: np.dtype) -> bool:
    """Whether the kernels' tiles hold four vectors of output channels at the current level
    (AVX-512; AVX2 and portable hold two)."""
    itemsize = np.dtype(dtype).itemsize
    return bool(_kernels.lanes(itemsize, 1 << 20) == 4 * _kernels.lanes(itemsize, 1))


def _by_group(w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """(*K, cg, O) -> (G, KD, KH, KW, cg, og), a view."""
    *kernel, cg, o = w.shape
    g = spec.groups
    w6 = w.reshape(*([1] * (3 - len(kernel))), *kernel, cg, g, o // g)
    return w6.transpose(4, 0, 1, 2, 3, 5)


def _depthwise(spec: ConvSpec) -> bool:
    return spec.in_channels // spec.groups == 1 and spec.groups > 1


def _one_channel(spec: ConvSpec) -> bool:
    return spec.in_channels == spec.out_channels == 1


def _plane(spec: ConvSpec) -> bool:
    """One input and one output channel, stride 1 along the last axis: the plane kernels,
    whose lanes run along the rows, in either layout (the two are one)."""
    return _one_channel(spec) and spec.stride[-1] == 1


def planar(spec: ConvSpec, direction: str = "forward") -> bool:
    """Whether the plane kernels compute ``spec`` over channels-first data (``*_planar``): one
    input channel per group (depthwise, or a one-channel filter), and stride 1 along the last
    axis but for the input gradient (whose phases are stride 1)."""
    return ((_depthwise(spec) or _one_channel(spec))
            and (spec.stride[-1] == 1 or direction == "grad_input"))


def _expanded(x: np.ndarray, multiplier: int) -> np.ndarray:
    """Each input channel repeated ``multiplier`` times: depthwise with a channel multiplier as
    depthwise with one."""
    return x if multiplier == 1 else np.repeat(x, multiplier, axis=-1)


def _depthwise_input(x: np.ndarray, spec: ConvSpec, relu: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The depthwise kernels' x (5-D) and geometry for ``spec``: a channel multiplier m that is
    a power of two dividing the vector width is repeated in their lanes (groups = C, og = m);
    any other in a copy of x with each channel repeated (groups = O, og = 1)."""
    m = spec.out_channels // spec.groups
    if m & (m - 1) == 0 and _kernels.lanes(x.itemsize, 1) % m == 0:
        groups, og = spec.groups, m
    else:
        x, groups, og = _expanded(x, m), spec.out_channels, 1
    geometry = _geometry(spec.batch, groups, 1, og, spec.input_size, spec.output_size,
                         spec.kernel_size, spec.stride, spec.dilation,
                         [lo for lo, _ in spec.padding], relu)
    return _five(x), geometry


def writes_strided_channels(spec: ConvSpec) -> bool:
    """Whether ``forward`` can write ``out`` with strided channels (the generic and depthwise
    kernels can; the single-channel one, whose lanes run along the rows, has no channels)."""
    return not _plane(spec)


def reads_strided_channels(spec: ConvSpec) -> bool:
    """Whether ``forward`` can read ``x`` with strided channels (a channels-last view of an
    (N, C, *S) array, no transposing copy): the layers over fewer than ``FEW_CHANNELS`` input
    channels, one group, but the 1x1 ones over at most 4 (``banded`` in csrc/kernels.hpp),
    which copy the input each task reads into a band of their own."""
    cg = spec.in_channels // spec.groups
    return (spec.groups == 1 and cg < FEW_CHANNELS
            and not (math.prod(spec.kernel_size) == 1 and cg <= 4) and not _plane(spec))


def _channels_first_view(x: np.ndarray) -> bool:
    """Whether (N, *S, C) ``x`` is a channels-last view of a C-contiguous (N, C, *S) array."""
    return bool(first_view(x).flags.c_contiguous)


@empty_safe("output_shape")
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
            relu: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """y = x (*) w (+ bias, then max(0, .) if ``relu``); (N, *S, C), (*K, cg, O) -> (N, *OS, O).

    ``out``: a C-contiguous (N, *OS, O) array of the dtype to write y into; or, where
    ``writes_strided_channels(spec)``, one whose channels are strided (a channels-last view
    of an (N, O, *OS) array: the result in PyTorch's layout with no transposing copy)."""
    dtype = np.result_type(x, w)
    if not (x.dtype == dtype and _channels_first_view(x) and reads_strided_channels(spec)):
        x = np.ascontiguousarray(x, dtype=dtype)
    w = w.astype(dtype, copy=False)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    if out is not None and not out.flags.c_contiguous and writes_strided_channels(spec):
        if out.dtype != dtype or out.shape != spec.output_shape:
            raise ValueError(f"direct: out must be a {spec.output_shape} {dtype} array; got "
                             f"{out.shape} {out.dtype}")
        y = out
    else:
        y = output_array(out, spec.output_shape, dtype)
    pads = [lo for lo, _ in spec.padding]
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    if _plane(spec):  # (N, *S, 1) is (N, 1, *S)
        forward_planar(x.reshape(spec.batch, 1, *spec.input_size), w, spec, bias=bias,
                       relu=relu, out=y.reshape(spec.batch, 1, *spec.output_size))
        return y
    if _depthwise(spec):
        x5, geometry = _depthwise_input(x, spec, relu)
        taps = np.ascontiguousarray(w.reshape(-1, spec.out_channels))
        _kernels.depthwise_forward(x5, taps, bias, _five(y), geometry)
        return y
    geometry = _geometry(spec.batch, g, cg, og, spec.input_size, spec.output_size,
                         spec.kernel_size, spec.stride, spec.dilation, pads, relu)
    _kernels.forward(_five(x), _packed(_by_group(w, spec), og), bias, _five(y), geometry)
    return y


#: One phase of the input gradient: the slice of dx it writes, the slices of the kernel it
#: reads (reversed; empty when no tap reaches it), and its kernel size, dilation and padding.
Phase = tuple[tuple[slice, ...], tuple[slice, ...], list[int], list[int], list[int]]


def _phases(spec: ConvSpec) -> list[Phase]:
    """The input gradient's phases: per phase, the slice of dx it writes, the slice of the
    kernel it reads (reversed), and its kernel size, dilation and padding over dy."""
    per_dim: list[list[tuple[slice, slice | None, int, int, int]]] = []
    for n, s, d, k, (lo, _) in zip(spec.input_size, spec.stride, spec.dilation,
                                   spec.kernel_size, spec.padding):
        step = s // math.gcd(s, d)
        options: list[tuple[slice, slice | None, int, int, int]] = []
        for r in range(min(s, n)):
            taps = [t for t in range(k) if (r + lo - t * d) % s == 0]
            if not taps:
                options.append((slice(r, None, s), None, 0, 0, 0))
                continue
            first, last = taps[0], taps[-1]
            reverse = slice(last, first - 1 if first > 0 else None, -step)
            offset = (r + lo - last * d) // s  # dy index of the last tap at q = 0
            options.append((slice(r, None, s), reverse, len(taps), d // math.gcd(s, d), -offset))
        per_dim.append(options)
    phases: list[Phase] = []
    for combination in _product(per_dim):
        out = tuple(c[0] for c in combination)
        if any(c[1] is None for c in combination):
            phases.append((out, (), [], [], []))
            continue
        phases.append((out, tuple(c[1] for c in combination if c[1] is not None),
                       [c[2] for c in combination],
                       [c[3] for c in combination], [c[4] for c in combination]))
    return phases


def _product(options: list[list]) -> list[tuple]:
    result: list[tuple] = [()]
    for choices in options:
        result = [(*done, choice) for done in result for choice in choices]
    return result


@empty_safe("input_shape")
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec,
               out: np.ndarray | None = None) -> np.ndarray:
    """dx = the transposed convolution of dy; (N, *OS, O), (*K, cg, O) -> (N, *S, C);
    ``out``: a C-contiguous array of dx's shape and dtype to write dx into."""
    dtype = np.result_type(grad_output, w)
    dy = np.ascontiguousarray(grad_output, dtype=dtype)
    w = w.astype(dtype, copy=False)
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    depthwise = _depthwise(spec)
    channels = spec.out_channels if depthwise else spec.in_channels
    result = output_array(out, spec.input_shape, dtype)
    if _one_channel(spec):  # (N, *S, 1) is (N, 1, *S)
        return grad_input_planar(dy.reshape(spec.batch, 1, *spec.output_size), w, spec,
                                 out=result.reshape(spec.batch, 1, *spec.input_size)
                                 ).reshape(spec.input_shape)
    repeated = depthwise and og > 1  # dx per output channel first, then summed into result
    dx = np.empty((spec.batch, *spec.input_size, channels), dtype=dtype) if repeated else result
    dx5, dy5 = _five(dx), _five(dy)
    for part, taps, kernel, dilation, pad in _phases(spec):
        target = dx[(slice(None), *part)]
        if not kernel:  # no tap reaches these inputs
            target[...] = 0
            continue
        sub = w[(*taps, slice(None), slice(None))]
        geometry_args = (spec.output_size, target.shape[1:-1], kernel, (1,) * spec.rank,
                         dilation, pad)
        t5 = _five(target)
        if depthwise:
            geometry = _geometry(spec.batch, spec.out_channels, 1, 1, *geometry_args)
            per_tap = np.ascontiguousarray(sub.reshape(-1, spec.out_channels))
            _kernels.depthwise_forward(dy5, per_tap, None, t5, geometry)
        else:
            geometry = _geometry(spec.batch, g, og, cg, *geometry_args)
            # the phase's weights: (G, K', og, cg), input and output channels swapped
            w6 = np.swapaxes(_by_group(sub, spec), -1, -2)
            _kernels.forward(dy5, _packed(w6, cg), None, t5, geometry)
    del dx5
    if repeated:  # the repeated channels' gradients add up
        return _sum_of_repeats(dx.reshape(*dx.shape[:-1], spec.in_channels, og), result, -1)
    return dx


def _sum_of_repeats(a: np.ndarray, total: np.ndarray, axis: int) -> np.ndarray:
    """total = the sum of ``a`` over its short ``axis``, in whole-array adds (NumPy's
    ``sum(axis=-1)`` over an axis of 2 is 20x slower: 36 ms against 1.7 for 8x56x56x64x2)."""
    parts = np.moveaxis(a, axis, 0)
    np.add(parts[0], parts[1], out=total)
    for part in parts[2:]:
        total += part
    return total


@empty_safe("weight_shape")
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = sum over pixels of x at each tap times dy; (N, *S, C), (N, *OS, O) -> (*K, cg, O)."""
    dtype = np.result_type(x, grad_output)
    x = np.ascontiguousarray(x, dtype=dtype)
    dy = np.ascontiguousarray(grad_output, dtype=dtype)
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    pads = [lo for lo, _ in spec.padding]
    if _plane(spec):  # (N, *S, 1) is (N, 1, *S)
        return grad_weight_planar(x.reshape(spec.batch, 1, *spec.input_size),
                                  dy.reshape(spec.batch, 1, *spec.output_size), spec)
    dw = np.empty(spec.weight_shape, dtype=dtype)
    if _depthwise(spec):
        x5, geometry = _depthwise_input(x, spec)
        _kernels.depthwise_grad_weight(x5, dy, dw, geometry)
        return dw
    geometry = _geometry(spec.batch, g, cg, og, spec.input_size, spec.output_size,
                         spec.kernel_size, spec.stride, spec.dilation, pads)
    _kernels.grad_weight(_five(x), dy, dw, geometry)
    return dw


# Channels first: the plane kernels (``planar``), whose lanes run along each channel's rows.

def _channels_last_view(planes: np.ndarray) -> np.ndarray:
    """(N, C, *S) as the kernels' (N, D, H, W, C), a view with strided channels."""
    return _five(last_view(planes))


def _plane_weights(w: np.ndarray) -> np.ndarray:
    """(*K, 1, O) -> the plane kernels' C-contiguous (O, taps)."""
    return np.ascontiguousarray(w.reshape(-1, w.shape[-1]).T)


def _plane_geometry(spec: ConvSpec, relu: bool = False) -> np.ndarray:
    """The plane kernels' geometry: ``groups`` planes of input, ``og`` output planes each."""
    return _geometry(spec.batch, spec.groups, 1, spec.out_channels // spec.groups,
                     spec.input_size, spec.output_size, spec.kernel_size, spec.stride,
                     spec.dilation, [lo for lo, _ in spec.padding], relu)


def forward_planar(x: np.ndarray, w: np.ndarray, spec: ConvSpec, bias: np.ndarray | None = None,
                   relu: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """y = x (*) w (+ bias, then max(0, .) if ``relu``) where ``planar(spec)``;
    (N, C, *S), (*K, 1, O) -> (N, O, *OS), written into ``out`` (any (N, O, *OS) array of
    the dtype with non-negative strides) if given."""
    dtype = np.result_type(x, w)
    x = np.ascontiguousarray(x, dtype=dtype)
    bias = None if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    y = (np.empty((spec.batch, spec.out_channels, *spec.output_size), dtype=dtype)
         if out is None else out)
    _kernels.plane_forward(x, _plane_weights(w.astype(dtype, copy=False)), bias,
                           _channels_last_view(y), _plane_geometry(spec, relu))
    return y


def grad_input_planar(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec,
                      out: np.ndarray | None = None) -> np.ndarray:
    """dx of a depthwise or one-channel ``spec`` (any stride) over channels first:
    (N, O, *OS), (*K, 1, O) -> (N, C, *S), by the input gradient's phases (see the module's
    docstring), each a stride-1 plane forward pass; into ``out`` (as for ``forward_planar``)."""
    dtype = np.result_type(grad_output, w)
    dy = np.ascontiguousarray(grad_output, dtype=dtype)
    w = w.astype(dtype, copy=False)
    og = spec.out_channels // spec.groups
    result = (np.empty((spec.batch, spec.in_channels, *spec.input_size), dtype=dtype)
              if out is None else out)
    # a channel multiplier: each output channel's gradient first, then summed per input one
    dx = (result if og == 1 else
          np.empty((spec.batch, spec.out_channels, *spec.input_size), dtype=dtype))
    for part, taps, kernel, dilation, pad in _phases(spec):
        target = dx[(slice(None), slice(None), *part)]
        if not kernel:  # no tap reaches these inputs
            target[...] = 0
            continue
        geometry = _geometry(spec.batch, spec.out_channels, 1, 1, spec.output_size,
                             target.shape[2:], kernel, (1,) * spec.rank, dilation, pad)
        _kernels.plane_forward(dy, _plane_weights(w[(*taps, slice(None), slice(None))]), None,
                               _channels_last_view(target), geometry)
    if og > 1:
        grouped = dx.reshape(spec.batch, spec.in_channels, og, *spec.input_size)
        return _sum_of_repeats(grouped, result, 2)
    return result


def grad_weight_planar(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw where ``planar(spec)``: (N, C, *S), (N, O, *OS) -> the canonical (*K, 1, O)."""
    dtype = np.result_type(x, grad_output)
    x = np.ascontiguousarray(x, dtype=dtype)
    dy = np.ascontiguousarray(grad_output, dtype=dtype)
    dw = np.empty((spec.out_channels, math.prod(spec.kernel_size)), dtype=dtype)
    _kernels.plane_grad_weight(x, dy, dw, _plane_geometry(spec))
    return np.ascontiguousarray(dw.T).reshape(spec.weight_shape)
