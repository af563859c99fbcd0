"""1x1 convolution as one matrix product: (N * OS, C) @ (C, O).

A 1x1 kernel reads one input pixel per output pixel, so with no padding the convolution is
``y = x[:, ::s, ::s] @ w`` per group (stride ``s`` picks the pixels; dilation does not matter).
The input gradient scatters ``dy @ w.T`` back to those pixels, the weight gradient is
``x[:, ::s, ::s].T @ dy``.  Shapes (``P`` output pixels, ``g`` groups)::

    x  (P, g, C/g)    w  (g, C/g, O/g)    y  (P, g, O/g)

In PyTorch's channels-first layout the same products need no transposing copy: per image,
``y[n] = w.T @ x[n]`` over (C, pixels) planes (``forward_planar`` and its two gradients,
which the core calls for channels-first arrays).
"""

from __future__ import annotations

import numpy as np

from .._runtime._threads import get_num_threads, matmul, matmul_stack, owns_cores, ranges, total
from .._runtime._workspace import empty_safe, get_workspace_limit
from .._spec import ConvSpec


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """Pointwise does 1x1 kernels without padding, any stride, groups and rank."""
    if any(k != 1 for k in spec.kernel_size):
        return f"pointwise needs a 1x1 kernel; got kernel_size={spec.kernel_size}"
    if any(lo or hi for lo, hi in spec.padding):
        return f"pointwise needs padding 0; got padding={spec.padding}"
    return None


def _picked(x: np.ndarray, spec: ConvSpec, planar: bool = False) -> np.ndarray:
    """The input pixels the kernel reads: (N, *S, C) -> (N, *OS, C), or (N, C, *S) ->
    (N, C, *OS) if ``planar``; a view."""
    index = tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(spec.output_size, spec.stride))
    return x[(slice(None),) * (2 if planar else 1) + index]


def _scattered(picked: np.ndarray, shape: tuple[int, ...], spec: ConvSpec,
               planar: bool = False) -> np.ndarray:
    """dx of ``shape`` holding ``picked`` at the pixels the kernel reads, zeros elsewhere
    (``picked`` itself at stride 1)."""
    if all(s == 1 for s in spec.stride) and spec.output_size == spec.input_size:
        return picked
    dx = np.zeros(shape, dtype=picked.dtype)
    _picked(dx, spec, planar)[...] = picked
    return dx


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
    return _scattered(picked.reshape(*spec.output_shape[:-1], spec.in_channels),
                      spec.input_shape, spec)


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




def _planes(array: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N, C, pixels), a copy only when the pixels are not contiguous."""
    return np.ascontiguousarray(array).reshape(*array.shape[:2], -1)


@owns_cores
def forward_planar(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y[n] = w.T @ x[n, :, ::s, ::s] per group; (N, C, *S), (1.., C/g, O) -> (N, O, *OS)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    a = _planes(_picked(x, spec, planar=True))
    weight = w.reshape(cg, g, og)
    y = np.empty((spec.batch, g, og, a.shape[-1]), dtype=np.result_type(x, w))
    for k in range(g):
        wk = np.ascontiguousarray(weight[:, k].T)
        matmul_stack(np.broadcast_to(wk, (spec.batch, *wk.shape)), a[:, k * cg: (k + 1) * cg],
                     y[:, k])
    return y.reshape(spec.batch, spec.out_channels, *spec.output_size)


@owns_cores
def grad_input_planar(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx[n, :, ::s, ::s] = w @ dy[n] per group, zeros elsewhere; (N, O, *OS) -> (N, C, *S)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(grad_output, w)
    dy = _planes(grad_output)
    weight = w.reshape(cg, g, og)
    picked = np.empty((spec.batch, g, cg, dy.shape[-1]), dtype=dtype)
    for k in range(g):
        wk = np.ascontiguousarray(weight[:, k])
        matmul_stack(np.broadcast_to(wk, (spec.batch, *wk.shape)), dy[:, k * og: (k + 1) * og],
                     picked[:, k])
    return _scattered(picked.reshape(spec.batch, spec.in_channels, *spec.output_size),
                      (spec.batch, spec.in_channels, *spec.input_size), spec, planar=True)


#: Images per stacked product of ``grad_weight_planar``: its (images, cg, og) terms under this
#: many bytes (and under the workspace limit).
_TERMS_BYTES = 16 << 20


def grad_weight_planar(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = sum over n of x[n, :, ::s, ::s] @ dy[n].T per group, (1.., C/g, O): one stacked
    product over a run of images (BLAS on its own threads), its terms summed.  Per image and
    share of pixels on the library's threads, BLAS on one, it took 2-4x as long on thin
    layers (2 threads, least of 15: held-out 2 0.39 -> 0.10 ms, 11 4.3 -> 2.1, 13 0.25 ->
    0.10, the reported 1x1 14x14x512 1.44 -> 0.66; the suite's pointwise 8.1 -> 8.0)."""
    g, cg, og = spec.groups, spec.in_channels // spec.groups, spec.out_channels // spec.groups
    dtype = np.result_type(x, grad_output)
    a = _planes(_picked(x, spec, planar=True)).astype(dtype, copy=False)
    dy = _planes(grad_output).astype(dtype, copy=False)
    dw = np.zeros((cg, g, og), dtype=dtype)
    run = max(1, min(_TERMS_BYTES, get_workspace_limit()) // (cg * og * dtype.itemsize))
    for n in range(0, spec.batch, run):
        for k in range(g):
            terms = np.matmul(a[n:n + run, k * cg: (k + 1) * cg],
                              dy[n:n + run, k * og: (k + 1) * og].transpose(0, 2, 1))
            dw[:, k] += terms.sum(axis=0)
    return dw.reshape((1,) * spec.rank + (cg, spec.out_channels))
