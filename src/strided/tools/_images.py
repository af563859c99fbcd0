"""Images in and out (Pillow, imported here only), matrices from files, and filtering in strips.

``filter_image`` convolves an image (grey or colour, each channel on its own) a strip of rows
at a time, so that a large image needs memory for the image, the result and one strip, never
a float64 copy of the whole image (``normalize`` keeps a float32 one, to convolve only once).
Each strip is one call of ``functional.conv2d``, whose "auto" rule takes FFT for a large
single-channel kernel.  ``to_pixels`` maps the result back to the image's range
honestly: values outside are clipped (and counted), or the whole range is rescaled.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .. import functional
from .. import kernels as _kernels
from .._padding import source_index
from .._spec import ConvSpec, PaddingLike, make_spec

__all__ = ["check_output", "filter_image", "load_kernel", "load_matrix", "read_image", "to_pixels",
           "write_atomic", "write_image"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm",
                  ".ppm")


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("images need Pillow: pip install 'strided[tools]'") from None
    return Image


def read_image(path: str | os.PathLike[str], grey: bool = False, alpha: bool = True
               ) -> np.ndarray:
    """An image file as an array, its bit depth, range and alpha channel kept.

    Parameters
    ----------
    path : path
        Any format Pillow reads (PNG, JPEG, TIFF, ...).
    grey : bool
        Convert colour to grey (ITU-R 601 luma, as Pillow's "L"); grey images stay as they
        are (16-bit and float ones keep their depth).
    alpha : bool
        Keep an alpha channel as the last channel (the default); False drops it.

    Returns
    -------
    numpy.ndarray
        (H, W) grey, (H, W, 2) grey and alpha, (H, W, 3) colour or (H, W, 4) colour and
        alpha; uint8 (0..255), uint16 for 16-bit grey (0..65535) or float32 for float images
        (TIFF mode "F"), values as stored.

    Raises
    ------
    OSError
        When the file is missing or unreadable, or not an image (the message names the file).
    ValueError
        For images that cannot be read faithfully: 32-bit integer images with values outside
        0..65535, and colour spaces other than RGB (CMYK, LAB, HSV).
    """
    image_module = _pil()
    path = Path(path)
    try:
        with image_module.open(path) as opened:
            from PIL import ImageOps

            image = ImageOps.exif_transpose(opened)  # camera photos: the way they were taken
            return _pixels(image, grey, alpha, str(path))
    except FileNotFoundError:
        raise OSError(f"cannot read image {str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise OSError(f"cannot read image {str(path)!r}: it is a directory") from None
    except PermissionError:
        raise OSError(f"cannot read image {str(path)!r}: permission denied") from None
    except image_module.DecompressionBombError as error:
        raise OSError(f"cannot read image {str(path)!r}: {error}") from None
    except _Unfaithful as error:
        raise ValueError(str(error)) from None
    except (image_module.UnidentifiedImageError, OSError, SyntaxError, ValueError,
            TypeError, EOFError, IndexError, struct.error, zlib.error) as error:
        raise OSError(f"cannot read image {str(path)!r}: not an image Pillow can read "
                      f"({type(error).__name__}: {error})") from None


class _Unfaithful(Exception):
    """An image that Pillow reads but strided cannot represent without changing it."""


def _pixels(image, grey: bool, alpha: bool, name: str) -> np.ndarray:
    """The array of an open Pillow image (see ``read_image``)."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        array = np.asarray(image)
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise _Unfaithful(f"cannot read image {name!r} faithfully: 32-bit integer pixels "
                              f"from {array.min()} to {array.max()} do not fit 16 bits")
        return array.astype(np.uint16)
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode in ("CMYK", "LAB", "HSV"):
        raise _Unfaithful(f"cannot read image {name!r} faithfully: its colour space is {mode}; "
                          f"convert it to RGB first")
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or (
        mode == "P" and "transparency" in image.info)
    if grey:
        target = "LA" if has_alpha and alpha else "L"
    elif mode in ("1", "L", "LA", "La"):
        target = "LA" if has_alpha and alpha else "L"
    else:
        target = "RGBA" if has_alpha and alpha else "RGB"
    return np.asarray(image.convert(target))


def write_atomic(path: str | os.PathLike[str], write: object) -> Path:
    """Call ``write(temporary_path)`` then rename it to ``path``: never a half-written file."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OSError(f"cannot write {str(path)!r}: the directory {str(directory)!r} does not "
                      f"exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix,
                                             dir=directory)
    except OSError as error:  # the temporary name is ours, not the user's: name their path
        raise OSError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        write(temporary)  # type: ignore[operator]
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise OSError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def check_output(path: str | os.PathLike[str], suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
                 what: str = "image") -> Path:
    """``path`` if its suffix is one of ``suffixes`` and its directory exists, else an error."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"cannot write {what} {str(path)!r}: unknown type "
                         f"{path.suffix or '(no suffix)'!r}; use one of {', '.join(suffixes)}")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OSError(f"cannot write {str(path)!r}: the directory {str(directory)!r} does not "
                      f"exist")
    return path


_ALPHA_SUFFIXES = (".png", ".gif", ".tif", ".tiff", ".webp")


def check_image_output(path: str | os.PathLike[str], pixels: np.ndarray) -> Path:
    """``path`` if its format can hold ``pixels`` (alpha, float) faithfully, else ValueError."""
    path = check_output(path)
    suffix = path.suffix.lower()
    if pixels.dtype.kind == "f" and suffix not in (".tif", ".tiff"):
        raise ValueError(f"cannot write {str(path)!r}: a float image is kept as float, which "
                         f"only TIFF holds; use .tif (or --normalize for 8-bit pixels)")
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4) and suffix not in _ALPHA_SUFFIXES:
        raise ValueError(f"cannot write {str(path)!r}: {suffix} has no alpha channel and the "
                         f"image has one; use {', '.join(_ALPHA_SUFFIXES)}")
    return path


def write_image(path: str | os.PathLike[str], pixels: np.ndarray) -> Path:
    """Write uint8 (H, W) or (H, W, 2/3/4), uint16 (H, W) or float32 (H, W) to ``path`` in the
    suffix's format (``check_image_output`` says which formats hold which)."""
    image_module = _pil()
    path = check_image_output(path, pixels)
    if pixels.dtype == np.uint16 and path.suffix.lower() not in (".png", ".tif", ".tiff"):
        pixels = (pixels >> 8).astype(np.uint8)
    image = image_module.fromarray(np.ascontiguousarray(pixels))
    return write_atomic(path, lambda name: image.save(name))


def load_matrix(source: str, name: str = "matrix") -> np.ndarray:
    """A 2-D matrix from inline numbers (``"1,2;3,4"``), a .npy or .csv/.txt file, or an image.

    Images are read as grey (an alpha channel ignored); .npy files never unpickle.  Raises
    ValueError or OSError with a one-line message naming ``name`` and the source.
    """
    text = source.strip()
    path = Path(text)
    suffix = path.suffix.lower()
    looks_like_file = suffix in (".npy", ".csv", ".txt", *IMAGE_SUFFIXES)
    if not looks_like_file:
        try:
            is_file = path.is_file()
        except (OSError, ValueError):  # an inline matrix too long or odd to be a file name
            is_file = False
        if is_file:
            raise ValueError(f"{name} file {text!r} has an unknown type; use .npy, .csv, .txt "
                             f"or an image")
        return _kernels.parse(text, name)
    try:
        exists = path.exists()
    except (OSError, ValueError):
        exists = False
    if not exists:
        raise OSError(f"cannot read {name} {text!r}: no such file")
    if suffix == ".npy":
        try:
            with open(path, "rb") as stream:
                array = np.load(stream, allow_pickle=False)
                if isinstance(array, np.lib.npyio.NpzFile):
                    array.close()
                    raise ValueError("it is a .npz archive, not a .npy array")
        except Exception as error:  # NumPy's header parser raises many kinds on bad files
            raise OSError(f"cannot read {name} {text!r}: not a NumPy .npy array of numbers "
                          f"({type(error).__name__}: {error})") from None
    elif suffix in (".csv", ".txt"):
        try:
            content = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise OSError(f"cannot read {name} {text!r}: {error}") from None
        # one row a line; values by ",", ";" (spreadsheets in comma-decimal locales) or spaces
        rows = [re.sub(r"[,;]", " ", line) for line in content.replace("\r", "").split("\n")]
        array = _kernels.parse("\n".join(rows), f"{name} {text!r}")
    else:
        array = read_image(path, grey=True, alpha=False)
    array = np.asarray(array)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} {text!r} must hold real numbers (int or float); got dtype "
                         f"{array.dtype} and shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} {text!r} is empty; got shape {array.shape}")
    shape = array.shape
    array = np.squeeze(array)
    if array.ndim != 2:
        raise ValueError(f"{name} {text!r} must be a 2-D matrix; got shape {shape}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{name} {text!r} must hold finite numbers; got "
                         f"{int(np.count_nonzero(~np.isfinite(array)))} NaN or infinite "
                         f"value(s)")
    return array


def load_kernel(source: str, size: int | None = None, sigma: float | None = None) -> np.ndarray:
    """A kernel by name (``strided.kernels.names()``), inline numbers, or a file."""
    text = source.strip()
    suffix = Path(text).suffix.lower()
    if suffix not in (".npy", ".csv", ".txt", *IMAGE_SUFFIXES) and (
            any(ch in text for ch in ",;") or not any(ch.isalpha() for ch in text)
            or _kernels._is_number(text)):
        return _kernels.parse(text, "kernel")
    if Path(text).suffix.lower() in (".npy", ".csv", ".txt", *IMAGE_SUFFIXES):
        return load_matrix(text, "kernel")
    try:
        return _kernels.get(text, size=size, sigma=sigma)
    except ValueError as error:
        raise ValueError(str(error).replace("kernels.get: ", "")) from None


def filter_spec(shape: Sequence[int], kernel_shape: Sequence[int], stride: int | Sequence[int],
                padding: PaddingLike, padding_mode: str) -> ConvSpec:
    """The spec of filtering an (H, W[, C]) image by a (kH, kW) kernel, each channel alone."""
    h, w = shape[:2]
    return make_spec("filter", (1, h, w, 1), (*kernel_shape, 1, 1), rank=2, stride=stride,
                     padding=padding, padding_mode=padding_mode, weight_name="kernel")


def padded_positions(n: int, padding: tuple[int, int], mode: str, first: int, stop: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """For padded positions ``[first, stop)`` of an axis of ``n``: the input position each
    reads (by the padding map), and whether it is inside the input (zeros outside)."""
    lo, hi = padding
    padded = np.arange(first, stop)
    inside = (padded >= lo) & (padded < lo + n)
    if mode == "zeros":
        return np.clip(padded - lo, 0, n - 1), inside
    return source_index(n, lo, hi, mode)[padded], inside


def filter_window(window: np.ndarray, row_inside: np.ndarray, column_inside: np.ndarray,
                  weight: np.ndarray, stride: tuple[int, int], zeros: bool) -> np.ndarray:
    """Gathered pixels (rows, columns[, C]) -> float64 outputs (rows', columns', C), VALID.

    ``weight`` is the (1, 1, kH, kW) float64 kernel; with ``zeros``, the pixels outside the
    image (``row_inside``, ``column_inside`` False) are read as zeros.
    """
    strip = window.astype(np.float64)
    channels = 1 if strip.ndim == 2 else strip.shape[2]
    if zeros:
        strip[~row_inside] = 0
        strip[:, ~column_inside] = 0
    x = strip.reshape(strip.shape[0], strip.shape[1], channels).transpose(2, 0, 1)
    y = functional.conv2d(x[:, None], weight, stride=stride)[:, 0]
    return y.transpose(1, 2, 0)


def _strips(image: np.ndarray, kernel: np.ndarray, stride: int | Sequence[int],
            padding: PaddingLike, padding_mode: str, max_elements: int
            ) -> tuple[tuple[int, int], Iterator[tuple[int, np.ndarray]]]:
    """The output size and, strip by strip, ``(first output row, float64 output rows)``."""
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    kh = kernel.shape[0]
    spec = filter_spec(image.shape, kernel.shape, stride, padding, padding_mode)
    (oh, ow), (sh, sw) = spec.output_size, spec.stride
    (top, bottom), (left, right) = spec.padding
    columns, column_inside = padded_positions(w, (left, right), padding_mode, 0,
                                              w + left + right)
    weight = np.ascontiguousarray(kernel, dtype=np.float64)[None, None]
    # a strip holds its input rows, their transform or shifted copies and its output rows,
    # a few floats per input value; at least a kernel's height of output rows, so that the
    # kh - 1 rows each strip re-reads stay a small part of its work
    row_cost = (w + left + right) * channels * 4
    rows_per_strip = max(-(-kh // sh), max_elements // max(row_cost * sh, 1), 1)

    def generate() -> Iterator[tuple[int, np.ndarray]]:
        for first in range(0, oh, rows_per_strip):
            last = min(oh, first + rows_per_strip)
            # padded rows [first * sh, (last - 1) * sh + kh) -> input rows via the padding map
            rows, inside = padded_positions(h, (top, bottom), padding_mode, first * sh,
                                            (last - 1) * sh + kh)
            yield first, filter_window(image[rows][:, columns], inside, column_inside, weight,
                                       (sh, sw), padding_mode == "zeros")

    return (oh, ow), generate()


def filter_image(image: np.ndarray, kernel: np.ndarray, stride: int | Sequence[int] = 1,
                 padding: PaddingLike = "same", padding_mode: str = "zeros", *,
                 convolve: bool = False, normalize: bool = False,
                 max_elements: int = 4_000_000) -> tuple[np.ndarray, dict[str, float]]:
    """Filter each channel of ``image`` with ``kernel`` and map the result to pixels.

    Parameters
    ----------
    image : numpy.ndarray, (H, W) or (H, W, C), uint8, uint16 or float
        Every channel is filtered on its own, an alpha channel like the others.
    kernel : numpy.ndarray, (kH, kW)
    stride, padding, padding_mode
        As ``strided.functional.conv2d`` (padding "same" keeps the size at stride 1).
    convolve : bool
        Flip the kernel (true convolution) instead of cross-correlating.
    normalize : bool
        Rescale the result's minimum..maximum to the image's full range instead of clipping.
    max_elements : int
        Roughly how many float64 values one strip may hold (memory ~ 8 bytes each).

    Returns
    -------
    pixels : numpy.ndarray, (H_out, W_out) or (H_out, W_out, C), the image's dtype
        Integer images are clipped (or rescaled) to their range; float images are kept as
        computed (float32), or with ``normalize`` rescaled to 0..1.
    stats : dict
        ``minimum``, ``maximum`` of the result and ``clipped``, the fraction of values that
        were clipped.
    """
    if image.ndim not in (2, 3):
        raise ValueError(f"filter: the image must be (H, W) or (H, W, C); got shape "
                         f"{image.shape}")
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        raise ValueError(f"filter: the kernel must be 2-D; got shape {kernel.shape}")
    if convolve:
        kernel = kernel[::-1, ::-1]
    floating = image.dtype.kind == "f"
    top_value = 1.0 if floating else 65535 if image.dtype == np.uint16 else 255
    (oh, ow), strips = _strips(image, kernel, stride, padding, padding_mode, max_elements)
    channels = 1 if image.ndim == 2 else image.shape[2]
    out = np.empty((oh, ow, channels), dtype=np.float32 if floating else image.dtype
                   if image.dtype == np.uint16 else np.uint8)
    low, high, clipped = np.inf, -np.inf, 0
    # --normalize needs the whole range before the first pixel: the result is kept in
    # float32 (7 digits, ample for 16-bit pixels) and the convolution runs once
    kept = np.empty((oh, ow, channels), np.float32) if normalize else None
    for first, y in strips:
        low, high = min(low, float(y.min())), max(high, float(y.max()))
        if kept is not None:
            kept[first:first + y.shape[0]] = y
            continue
        if floating:
            out[first:first + y.shape[0]] = y
            continue
        clipped += int(np.count_nonzero(outside_range(y, int(top_value))))
        out[first:first + y.shape[0]] = pixels_from_values(y, int(top_value), out.dtype)
    if kept is not None:
        scale = top_value / (high - low) if high > low else 0.0
        for first in range(0, oh, 256):  # rescaled in blocks: no float64 copy of the whole
            block = kept[first:first + 256].astype(np.float64)
            values = (block - low) * scale if scale else np.zeros_like(block) + np.clip(
                low, 0, top_value)
            out[first:first + 256] = values if floating else np.clip(np.rint(values), 0,
                                                                     top_value)
    stats = {"minimum": low, "maximum": high, "clipped": clipped / out.size}
    return (out[..., 0] if image.ndim == 2 else out), stats


def outside_range(y: np.ndarray, top_value: int) -> np.ndarray:
    """Where the filter's values fall outside the pixels' range 0..top_value (once rounded)."""
    return (y < 0) | (y > top_value + 0.5)


def pixels_from_values(y: np.ndarray, top_value: int, dtype: np.dtype, normalize: bool = False,
                       low: float = 0.0, scale: float = 0.0) -> np.ndarray:
    """The filter's values as pixels of ``dtype``: rounded and clipped to 0..top_value, or
    first rescaled as ``(y - low) * scale`` with ``normalize`` (NumPy or Dask arrays)."""
    if normalize:
        y = (y - low) * scale if scale else np.zeros_like(y) + np.clip(low, 0, top_value)
    return np.clip(np.rint(y), 0, top_value).astype(dtype)


def to_pixels(values: np.ndarray, normalize: bool = False, top_value: int = 255) -> np.ndarray:
    """Map values to uint8 pixels: clip to 0..255, or rescale min..max to 0..255."""
    values = np.asarray(values, dtype=np.float64)
    if normalize:
        low, high = float(values.min()), float(values.max())
        values = (values - low) * (top_value / (high - low)) if high > low else values * 0
    return np.clip(np.rint(values), 0, top_value).astype(np.uint8)
