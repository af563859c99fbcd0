"""True (flipped-kernel) convolution and correlation of images, as ``scipy.signal`` does.

Deep-learning frameworks call cross-correlation "convolution"; image processing means the
kernel flipped along every axis.  ``convolve`` and ``convolve2d`` flip; ``correlate`` and
``correlate2d`` do not.  Arrays are plain images (no batch or channel axes) of any rank.

``mode``: "full" (every overlap: size ``n + k - 1``), "valid" (kernel wholly inside:
``n - k + 1``) or "same" (size ``n``, centred on "full" as scipy centres it: from
``(k - 1) // 2`` of "full", but from ``ceil((k - 1) / 2)`` in ``correlate2d``, so the two
correlations differ for even kernels in scipy and here).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _core
from ._spec import ConvSpec, make_spec

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d"]

_MODES = ("full", "valid", "same")
_BOUNDARIES = {"fill": "zeros", "wrap": "circular", "symm": "symmetric"}


def _correlate(op: str, in1: object, in2: object, mode: str, boundary: str, fillvalue: float,
               flip: bool, same_from_ceil: bool = False) -> np.ndarray:
    image = _core.as_array(in1, "in1", op)
    w, spec = _signal_spec(op, image.shape, _core.as_array(in2, "in2", op), mode, boundary,
                          flip, same_from_ceil)
    x = image[np.newaxis, ..., np.newaxis]
    if boundary == "fill" and fillvalue != 0:
        # Padding with c is padding (image - c) with zeros, plus c under every tap.
        y = _core.convolve(x - fillvalue, w, spec, op=op) + fillvalue * w.sum()
    else:
        y = _core.convolve(x, w, spec, op=op)
    return y[0, ..., 0]


def _signal_spec(op: str, image_shape: tuple[int, ...], kernel: np.ndarray, mode: str,
                boundary: str, flip: bool, same_from_ceil: bool = False
                ) -> tuple[np.ndarray, ConvSpec]:
    """scipy's arguments checked and translated: the HWIO weight and the spec of the call on
    the image seen as one batch of one channel, ``image[np.newaxis, ..., np.newaxis]``."""
    if len(image_shape) != kernel.ndim or not image_shape:
        raise ValueError(f"{op}: in1 and in2 must have the same number of dimensions (at "
                         f"least 1); got in1.shape={tuple(image_shape)} and "
                         f"in2.shape={kernel.shape}")
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(map(repr, _MODES))}; "
                         f"got mode={mode!r}")
    if boundary not in _BOUNDARIES:
        raise ValueError(f"{op}: boundary must be one of "
                         f"{', '.join(map(repr, _BOUNDARIES))}; got boundary={boundary!r}")
    if mode == "valid" and any(k > n for n, k in zip(image_shape, kernel.shape)):
        raise ValueError(f"{op}: mode='valid' needs in2 no larger than in1 in every dimension; "
                         f"got in1.shape={tuple(image_shape)} and in2.shape={kernel.shape}")
    if flip:
        kernel = kernel[(slice(None, None, -1),) * kernel.ndim]
    if mode == "valid":
        padding = [(0, 0)] * kernel.ndim
    elif mode == "full":
        padding = [(k - 1, k - 1) for k in kernel.shape]
    else:  # the centre of "full", from `start`: padding (k - 1 - start) before
        start = [-(-(k - 1) // 2) if same_from_ceil else (k - 1) // 2 for k in kernel.shape]
        padding = [(k - 1 - s, s) for k, s in zip(kernel.shape, start)]
    w = kernel[..., np.newaxis, np.newaxis]
    spec = make_spec(op, (1, *image_shape, 1), w.shape, rank=kernel.ndim, padding=padding,
                     padding_mode=_BOUNDARIES[boundary], input_name="in1", weight_name="in2")
    return w, spec


def convolve(in1: np.ndarray, in2: np.ndarray, mode: str = "full") -> np.ndarray:
    """N-d convolution with the kernel flipped, as ``scipy.signal.convolve``.

    Parameters
    ----------
    in1 : array_like
        The image.
    in2 : array_like
        The kernel, with as many dimensions as ``in1``.
    mode : {"full", "valid", "same"}

    Returns
    -------
    numpy.ndarray
        ``out[i] = sum over m of in1[i - m] * in2[m]`` (zeros outside ``in1``).

    Examples
    --------
    >>> convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _correlate("convolve", in1, in2, mode, "fill", 0, flip=True)


def correlate(in1: np.ndarray, in2: np.ndarray, mode: str = "full") -> np.ndarray:
    """N-d cross-correlation, as ``scipy.signal.correlate``: ``sum of in1[i + m] * in2[m]``.

    >>> correlate([1, 2, 3], [0, 1, 0.5], mode="valid")
    array([3.5])
    """
    return _correlate("correlate", in1, in2, mode, "fill", 0, flip=False)


def convolve2d(in1: np.ndarray, in2: np.ndarray, mode: str = "full", boundary: str = "fill",
               fillvalue: float = 0) -> np.ndarray:
    """2-D convolution with the kernel flipped, as ``scipy.signal.convolve2d``.

    ``boundary``: "fill" (pad with ``fillvalue``), "wrap" (circular) or "symm" (mirrored with
    the edge repeated).
    """
    _check_2d("convolve2d", in1, in2)
    return _correlate("convolve2d", in1, in2, mode, boundary, fillvalue, flip=True)


def correlate2d(in1: np.ndarray, in2: np.ndarray, mode: str = "full", boundary: str = "fill",
                fillvalue: float = 0) -> np.ndarray:
    """2-D cross-correlation, as ``scipy.signal.correlate2d``; arguments as ``convolve2d``."""
    _check_2d("correlate2d", in1, in2)
    return _correlate("correlate2d", in1, in2, mode, boundary, fillvalue, flip=False,
                      same_from_ceil=True)


def _check_2d(op: str, in1: npt.ArrayLike, in2: npt.ArrayLike) -> None:
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"{op}: in1 and in2 must be 2-D; got in1.shape={np.shape(in1)} and "
                         f"in2.shape={np.shape(in2)}")
