"""1x1 convolution as one matrix product: (N * OS, C) @ (C, O).

A 1x1 kernel reads one input pixel per output pixel, so with no padding the convolution is
``y = x[:, ::s, ::s] @ w`` per group (stride ``s`` picks the pixels; dilation does not matter).
The input gradient scatters ``dy @ w.T`` back to those pixels, the weight gradient is
``x[:, ::s, ::s].T @ dy``.  Shapes (``P`` output pixels, ``g`` groups)::

    x  (P, g, C/g)    w  (g, C/g, O/g)    y  (P, g, O/g)
"""

from __future__ import annotations

import numpy as np

from .._runtime._threads import get_num_threads, matmul, owns_cores, ranges, total
from .._runtime._workspace import empty_safe
from .._spec import ConvSpec


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """Pointwise does 1x1 kernels without padding, any stride, groups and rank."""
    if any(k != 1 for k in spec.kernel_size):
        return f"pointwise needs a 1x1 kernel; got kernel_size={spec.kernel_size}"
    if any(lo or hi for lo, hi in spec.padding):
        return f"pointwise needs padding 0; got padding={spec.padding}"
    return None


def _picked(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The input pixels the kernel reads: (N, *S, C) -> (N, *OS, C), a view."""
    index = tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(spec.output_size, spec.stride))
    return x[(slice(None), *index)]


def _rows(array: np.ndarray) -> np.ndarray:
    """(N, *OS, C) -> (P, C), a copy only when the pixels are not contiguous."""
    return np.ascontiguousarray(array).reshape(-1, array.shape[-1])


@empty_safe("output_shape")
@owns_cores
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y = x[:, ::s, ::s] @ w, per group; (N, *S, C), (1.., C/g, O) -> (N, *OS, O)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, w)
    a = _rows(_picked(x, spec))
    weight = w.reshape(cg, g, og)
    y = np.empty((a.shape[0], g, og), dtype=dtype)
    for k in range(g):
        matmul(a[:, k * cg: (k + 1) * cg], np.ascontiguousarray(weight[:, k]), y[:, k])
    return y.reshape(spec.output_shape)


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx[:, ::s, ::s] = dy @ w.T per group, zeros elsewhere."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(grad_output, w)
    dy = _rows(grad_output)
    weight = w.reshape(cg, g, og)
    picked = np.empty((dy.shape[0], g, cg), dtype=dtype)
    for k in range(g):
        matmul(dy[:, k * og: (k + 1) * og], np.ascontiguousarray(weight[:, k].T), picked[:, k])
    picked = picked.reshape(*spec.output_shape[:-1], spec.in_channels)
    if all(s == 1 for s in spec.stride) and spec.output_size == spec.input_size:
        return picked
    dx = np.zeros(spec.input_shape, dtype=dtype)
    _picked(dx, spec)[...] = picked
    return dx


@empty_safe("weight_shape")
@owns_cores
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = x[:, ::s, ::s].T @ dy per group, the pixels split over threads and summed."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, grad_output)
    a = _rows(_picked(x, spec))
    dy = _rows(grad_output)

    def work(part: slice) -> np.ndarray:
        dw = np.empty((cg, g, og), dtype=dtype)
        for k in range(g):
            dw[:, k] = a[part, k * cg: (k + 1) * cg].T @ dy[part, k * og: (k + 1) * og]
        return dw

    parts = ranges(a.shape[0], get_num_threads() if a.size > 1 << 15 else 1)
    dw = total(work, parts) if parts else np.zeros((cg, g, og), dtype=dtype)
    return np.asarray(dw, dtype=dtype).reshape((1,) * spec.rank + (cg, spec.out_channels))


