"""FFT convolution: one product per frequency in place of one per kernel tap.

By the convolution theorem, cross-correlating each padded image (length ``P`` per dimension)
with the kernel is a product in the frequency domain; with transforms of length ``L >= P`` the
circular wrap-around never reaches a valid output, so no extra padding is needed.  Summed over
channels, the product at each frequency ``f`` is a small matrix product::

    X = rfftn(x_padded)      (F, N, C)      F = prod(L[:-1]) * (L[-1] // 2 + 1) frequencies
    W = rfftn(w_dilated)     (F, C, O)
    Y = X @ conj(W)          (F, N, O)      -> irfftn -> y (N, *OS, O), every stride-th pixel

The work is about ``N (C + O) L log L`` for the transforms plus ``F N C O`` for the products,
independent of the kernel size, so FFT wins for large kernels (an 11 x 11 kernel has 121 taps
per output; the FFT has about ``log L`` per input).  The input gradient is the same with
``W`` unconjugated (a true convolution of the stride-upsampled ``dy``); the weight gradient
correlates the input with ``dy``: ``dW = X^T @ conj(DY)`` per frequency.

Accuracy: the transforms round like a sum over the whole image, so each output's error is
about ``eps * log2(L) * max|x| * sum|w|`` (``eps`` of the dtype) whatever its own size: the
relative L2 error over the output is about 1e-7 * log2(L) in float32 (within strided's 1e-5)
and 1e-15 in float64, but an output much smaller than the largest ones loses that many
digits (data spanning 1e-6..1 leaves small outputs with a relative error near 1e-9 in
float64, 1e-1 in float32).  Where every output must be accurate to its own size, use
``algorithm="im2col"``.

Non-finite values: a transform spreads one NaN or inf over the whole output, so when the
input or the weights hold NaN or inf, these functions compute by im2col instead, which gives
the direct result's pattern of NaN and inf exactly (as PyTorch and TensorFlow do).
"""

from __future__ import annotations

import math

import numpy as np

from .._runtime import _workspace
from .._runtime._threads import each, get_num_threads, owns_cores, total
from .._runtime._workspace import blocks, empty_safe
from .._spec import ConvSpec
from . import _im2col


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """FFT does ungrouped, floating-point convolutions of any rank, stride and dilation."""
    if spec.groups != 1:
        return f"FFT convolution needs groups=1; got groups={spec.groups}"
    if np.dtype(dtype).kind != "f":
        return f"FFT convolution rounds, so it is not exact in integers; got dtype {dtype}"
    lengths = _lengths(spec)
    spectrum = _spectrum_bytes(spec, lengths)
    if spectrum > _workspace.get_workspace_limit():
        return (f"FFT convolution needs the kernel's spectrum in the workspace: "
                f"{spectrum} bytes for {spec.in_channels} x {spec.out_channels} channels at "
                f"transform size {lengths} > workspace limit {_workspace.get_workspace_limit()}")
    return None


def _finite(*arrays: np.ndarray) -> bool:
    """Whether every value of ``arrays`` is finite (the FFT needs that; see the docstring)."""
    return all(bool(np.isfinite(a).all()) for a in arrays)


def _spectrum_bytes(spec: ConvSpec, lengths: tuple[int, ...]) -> int:
    """Bytes of the kernel's spectrum at its peak: complex128 and its complex64 copy, F x C x O."""
    frequencies = math.prod(lengths[:-1]) * (lengths[-1] // 2 + 1)
    return frequencies * spec.in_channels * spec.out_channels * 24


def fast_length(n: int) -> int:
    """The smallest ``2^a 3^b 5^c >= n``: transform lengths that pocketfft does fastest."""
    best = 1 << max(n - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            value = power35
            while value < n:
                value *= 2
            best = min(best, value)
            power35 *= 3
        power5 *= 5
    return best


def _rfftn(a: np.ndarray, lengths: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """``np.fft.rfftn`` over ``axes``, in float64 with those axes last, in ``a``'s precision.

    NumPy 2.4's real FFT is several times slower in single precision, and again when the
    transformed axes are not the last ones (8 ms against 1.6 ms for 4 x 16 images of 75 x 75
    here), so the input is copied once to float64 with its spatial axes last; float64 is also
    more accurate.
    """
    order = [i for i in range(a.ndim) if i not in axes] + list(axes)
    moved = np.ascontiguousarray(a.transpose(order), dtype=np.float64)
    spectrum = np.fft.rfftn(moved, s=lengths, axes=tuple(range(-len(axes), 0)))
    spectrum = spectrum.transpose(np.argsort(order))
    return spectrum.astype(np.complex64 if a.dtype == np.float32 else spectrum.dtype,
                           copy=False)


def _lengths(spec: ConvSpec) -> tuple[int, ...]:
    return tuple(fast_length(p) for p in spec.padded_size)


def _axes(spec: ConvSpec) -> tuple[int, ...]:
    return tuple(range(1, spec.rank + 1))


def _padded(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    if any(lo or hi for lo, hi in spec.padding):
        return np.pad(x, [(0, 0), *spec.padding, (0, 0)])
    return x


def _tap_dft(spec: ConvSpec, lengths: tuple[int, ...], axis: int) -> np.ndarray:
    """``exp(-2 pi i f t / L)`` for the frequencies f of ``axis`` (half of them on the last,
    real-transformed axis) and its kernel taps t = k * dilation: (frequencies, K)."""
    length = lengths[axis]
    frequencies = length // 2 + 1 if axis == spec.rank - 1 else length
    taps = np.arange(spec.kernel_size[axis]) * spec.dilation[axis]
    return np.exp(-2j * np.pi * np.outer(np.arange(frequencies), taps) / length)


def _contract(matrix: np.ndarray, array: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` (new, old) applied along ``axis`` of ``array``."""
    return np.moveaxis(np.tensordot(matrix.astype(array.dtype), array, axes=([1], [axis])),
                       0, axis)


def _kernel_spectrum(w: np.ndarray, spec: ConvSpec, lengths: tuple[int, ...]) -> np.ndarray:
    """rfftn of the dilated kernel: (*K, C, O) -> (F, C, O).

    Only ``K`` taps of each axis are nonzero, so the transform is one small DFT-matrix
    product per axis (``_tap_dft``) instead of ``C * O`` transforms of ``prod(L)``
    mostly-zero points: 6.7 -> 1.1 ms for an 11 x 11 x 16 x 16 kernel at 75 x 75.
    """
    spectrum = w.astype(np.complex64 if w.dtype == np.float32 else np.complex128)
    for axis in reversed(range(spec.rank)):  # the last axis first: its rfft halves the rest
        spectrum = _contract(_tap_dft(spec, lengths, axis), spectrum, axis)
    return spectrum.reshape(-1, *w.shape[-2:])


def _kernel_taps(spectrum: np.ndarray, spec: ConvSpec, lengths: tuple[int, ...]
                 ) -> np.ndarray:
    """irfftn of a (*Lf, C, O) half spectrum at the kernel's taps only: -> (*K, C, O).

    The adjoint of ``_kernel_spectrum``: the inverse DFT matrices ``conj(dft).T / L``; on the
    real-transformed last axis each frequency but 0 and L/2 stands for itself and its
    conjugate (weight 2), and the real part is taken at the end.
    """
    for axis in range(spec.rank):
        inverse = _tap_dft(spec, lengths, axis).conj().T / lengths[axis]  # (K, frequencies)
        if axis == spec.rank - 1:
            inverse[:, 1: (lengths[axis] + 1) // 2] *= 2
        spectrum = _contract(inverse, spectrum, axis)
    return spectrum.real


def _per_frequency(spectrum: np.ndarray, batch: int) -> np.ndarray:
    """(N, *Lf, C) -> (F, N, C)."""
    return np.moveaxis(spectrum.reshape(batch, -1, spectrum.shape[-1]), 0, 1)


def _back(product: np.ndarray, batch: int, spec: ConvSpec, lengths: tuple[int, ...]
          ) -> np.ndarray:
    """(F, N, K) -> irfftn -> (N, *L, K)."""
    frequencies = (*lengths[:-1], lengths[-1] // 2 + 1)
    spectrum = np.moveaxis(product, 0, 1).reshape(batch, *frequencies, product.shape[-1])
    return np.fft.irfftn(spectrum, s=lengths, axes=_axes(spec))


def _images(spec: ConvSpec, lengths: tuple[int, ...]) -> list[tuple[slice, slice]]:
    """Blocks of whole images whose spectra and transforms fit the workspace, per thread."""
    per_image = math.prod(lengths) * (spec.in_channels + spec.out_channels) * 24
    budget = max(_workspace.get_workspace_limit() - _spectrum_bytes(spec, lengths), 1)
    return blocks(spec.batch, 1, per_image, get_num_threads(), budget)


def _upsampled(grad_output: np.ndarray, spec: ConvSpec, lengths: tuple[int, ...]
               ) -> np.ndarray:
    """dy placed every stride-th pixel of a zero array of the transform lengths."""
    out = np.zeros((grad_output.shape[0], *lengths, spec.out_channels), dtype=grad_output.dtype)
    index = tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(spec.output_size, spec.stride))
    out[(slice(None), *index)] = grad_output
    return out


@empty_safe("output_shape")
@owns_cores
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y = irfftn(rfftn(x_padded) @ conj(rfftn(w))), every stride-th valid pixel."""
    if not _finite(x, w):
        return _im2col.forward(x, w, spec)
    lengths = _lengths(spec)
    dtype = np.result_type(x, w)
    kernel = _kernel_spectrum(w.astype(dtype, copy=False), spec, lengths)
    np.conjugate(kernel, out=kernel)
    y = np.empty(spec.output_shape, dtype=dtype)
    index = tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(spec.output_size, spec.stride))

    def work(block: tuple[slice, slice]) -> None:
        batch = block[0]
        images = batch.stop - batch.start
        xf = _per_frequency(_rfftn(_padded(x[batch], spec), lengths, _axes(spec)), images)
        full = _back(np.matmul(xf, kernel), images, spec, lengths)  # (F, n, O) -> (n, *L, O)
        y[batch] = full[(slice(None), *index)]

    each(work, _images(spec, lengths))
    return y


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx = irfftn(rfftn(dy upsampled by the stride) @ rfftn(w)^T), cropped to the input."""
    if not _finite(grad_output, w):
        return _im2col.grad_input(grad_output, w, spec)
    lengths = _lengths(spec)
    dtype = np.result_type(grad_output, w)
    kernel = _kernel_spectrum(w.astype(dtype, copy=False), spec, lengths).transpose(0, 2, 1)
    dx = np.empty(spec.input_shape, dtype=dtype)
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(spec.padding, spec.input_size))

    def work(block: tuple[slice, slice]) -> None:
        batch = block[0]
        images = batch.stop - batch.start
        upsampled = _upsampled(grad_output[batch].astype(dtype, copy=False), spec, lengths)
        dyf = _per_frequency(_rfftn(upsampled, lengths, _axes(spec)), images)
        del upsampled
        full = _back(np.matmul(dyf, kernel), images, spec, lengths)  # (F, n, C) -> (n, *L, C)
        dx[batch] = full[(slice(None), *crop)]

    each(work, _images(spec, lengths))
    return dx


@empty_safe("weight_shape")
@owns_cores
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = irfftn(rfftn(x_padded)^T @ conj(rfftn(dy upsampled))) at the kernel's taps."""
    if not _finite(x, grad_output):
        return _im2col.grad_weight(x, grad_output, spec)
    lengths = _lengths(spec)
    dtype = np.result_type(x, grad_output)

    def work(block: tuple[slice, slice]) -> np.ndarray:
        batch = block[0]
        images = batch.stop - batch.start
        xf = _per_frequency(_rfftn(_padded(x[batch], spec), lengths, _axes(spec)), images)
        upsampled = _upsampled(grad_output[batch].astype(dtype, copy=False), spec, lengths)
        dyf = _per_frequency(_rfftn(upsampled, lengths, _axes(spec)), images)
        return np.matmul(xf.transpose(0, 2, 1), dyf.conj())  # (F, C, O)

    dwf = total(work, _images(spec, lengths))  # at least one image: empty inputs never come
    frequencies = (*lengths[:-1], lengths[-1] // 2 + 1)
    taps = _kernel_taps(dwf.reshape(*frequencies, *dwf.shape[1:]), spec, lengths)
    return np.ascontiguousarray(taps, dtype=dtype).reshape(spec.weight_shape)
