"""The playground's answers: one image, one kernel, one configuration, as JSON-ready dicts.

Every number comes from ``strided.tools``: ``explain`` computes the output and each output's
receptive field, products and sum (the lines are ``Explanation.explain_position``'s, the text
``strided explain`` prints), ``stack_steps`` writes the size formula out axis by axis, and
``to_pixels`` maps values to the greys the page paints.  Bad input raises ``ValueError`` with
a one-line message naming the field; the server answers it with a 400.
"""

from __future__ import annotations

import functools
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import kernels as catalogue
from .._spec import same_padding
from ..tools._explain import Explanation, explain, format_number
from ..tools._images import read_image, to_pixels
from ..tools._shapes import LayerSpec, stack_steps

__all__ = ["IMAGES", "MAX_SIDE", "MAX_UPLOAD_BYTES", "Uploads", "catalogue_json", "convolve",
           "load_image", "parse_config", "parse_kernel", "position"]

#: The lecture's 4x4 examples: the worked V(1, 0) example and the padding homework.
IMAGES: dict[str, tuple[str, str]] = {
    "lecture": ("2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4", "the lecture's worked example (4x4)"),
    "homework": ("2,0,3,1;1,1,0,0;1,0,2,0;1,0,1,2", "the lecture's padding homework (4x4)"),
}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")
#: Uploads larger than this many bytes get a 413; decoded images are scaled to fit MAX_SIDE.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_SIDE = 300
#: A matrix typed in, and a kernel, may have at most this many rows and columns.
MAX_MATRIX = 32
MAX_KERNEL = 15
#: Up to this size every cell's number is sent and drawn; larger images are drawn as pixels.
NUMBERS_UP_TO = 16


class Uploads:
    """The last few uploaded images, in memory, by random id (a bounded cache)."""

    def __init__(self, keep: int = 16) -> None:
        self._images: OrderedDict[str, tuple[np.ndarray, str]] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()  # the server answers requests on several threads

    def add(self, data: bytes, filename: str = "upload") -> dict[str, Any]:
        """Decode ``data`` as an image (grey), scale it to fit ``MAX_SIDE``; return its id."""
        if not data:
            raise ValueError("upload: the file is empty; choose an image file (PNG, JPEG, ...)")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValueError(f"upload: {filename!r} has {len(data):,} bytes, more than the "
                             f"{MAX_UPLOAD_BYTES:,} the explorer accepts")
        suffix = Path(filename).suffix.lower()
        with tempfile.TemporaryDirectory(prefix="strided-upload-") as directory:
            path = Path(directory) / f"upload{suffix if suffix.isascii() else ''}"
            path.write_bytes(data)
            try:
                pixels = read_image(path, grey=True)
            except OSError as error:
                message = " ".join(str(error).split()).replace(repr(str(path)), repr(filename))
                raise ValueError(f"upload: {message}") from None
        if pixels.dtype == np.uint16:
            pixels = (pixels >> 8).astype(np.uint8)
        h, w = pixels.shape
        note = f"{filename}: {w}x{h} pixels, read as grey"
        if max(h, w) > MAX_SIDE:
            from PIL import Image

            image = Image.fromarray(pixels)
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            pixels = np.asarray(image)
            note += f", scaled to {image.size[0]}x{image.size[1]} (at most {MAX_SIDE} a side)"
        key = secrets.token_hex(8)
        with self._lock:
            self._images[key] = (pixels.astype(np.int64), note)
            while len(self._images) > self._keep:
                self._images.popitem(last=False)
        return {"id": key, "height": pixels.shape[0], "width": pixels.shape[1], "note": note}

    def get(self, key: object) -> tuple[np.ndarray, str]:
        with self._lock:
            found = self._images.get(key) if isinstance(key, str) else None
        if found is None:
            raise ValueError(f"image: no uploaded image with id {key!r} (the explorer keeps the "
                             f"last {self._keep}); upload it again")
        return found


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from ..datasets import mnist

    return mnist.load_bundled()


@functools.lru_cache(maxsize=1)
def _photo() -> np.ndarray:
    photo = resources.files(__package__).joinpath("data").joinpath("chelsea.png")
    with resources.as_file(photo) as path:
        return read_image(path, grey=True).astype(np.int64)


def digit(index: object) -> tuple[np.ndarray, int]:
    """The bundled MNIST digit ``index`` (0..4999; sorted by class, 500 each) and its label."""
    images, labels = _digits()
    number = _integer(index, "digit index", 0, len(images) - 1)
    return images[number].astype(np.int64), int(labels[number])


def _integer(value: object, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name} must be a whole number; got {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {allowed}; got {value}")
    return int(value)


def _pair(value: object, name: str, low: int, high: int | None = None) -> tuple[int, int]:
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"{name} must be one number or [rows, columns]; got {value!r}")
        return (_integer(value[0], f"{name} (rows)", low, high),
                _integer(value[1], f"{name} (columns)", low, high))
    number = _integer(value, name, low, high)
    return number, number


def load_image(source: object, uploads: Uploads) -> tuple[np.ndarray, str]:
    """The image ``source`` names, as an int64 matrix, and a description of it.

    ``source`` is ``{"kind": "lecture" | "homework"}``, ``{"kind": "matrix", "text":
    "1,2;3,4"}``, ``{"kind": "digit", "index": 0..4999}``, ``{"kind": "photo"}`` (Chelsea the
    cat, grey) or ``{"kind": "upload", "id": ...}``.
    """
    if not isinstance(source, Mapping):
        raise ValueError(f"image must be an object such as {{'kind': 'lecture'}}; got {source!r}")
    kind = source.get("kind")
    if kind in IMAGES:
        text, what = IMAGES[kind]
        return catalogue.parse(text, "image"), what
    if kind == "matrix":
        typed = source.get("text")
        if not isinstance(typed, str) or not typed.strip():
            raise ValueError("image: type a matrix, rows separated by ';' and numbers by ',' "
                             "(e.g. 1,2,3;4,5,6;7,8,9)")
        matrix = catalogue.parse(typed, "image")
        if max(matrix.shape) > MAX_MATRIX:
            raise ValueError(f"image: a typed matrix may have at most {MAX_MATRIX} rows and "
                             f"columns; got {matrix.shape[0]}x{matrix.shape[1]}")
        return matrix, f"a matrix typed in ({matrix.shape[0]}x{matrix.shape[1]})"
    if kind == "digit":
        image, label = digit(source.get("index", 0))
        return image, f"bundled MNIST digit #{source.get('index', 0)} (a {label}), 28x28"
    if kind == "photo":
        image = _photo()
        return image, (f"Chelsea the cat (CC0, Stefan van der Walt, from scikit-image), grey, "
                       f"{image.shape[1]}x{image.shape[0]}")
    if kind == "upload":
        return uploads.get(source.get("id"))
    raise ValueError(f"image kind must be one of lecture, homework, matrix, digit, photo, "
                     f"upload; got {kind!r}")


def parse_kernel(source: object) -> np.ndarray:
    """``{"name": "sobel-x", "size": 5, "sigma": 1}`` or ``{"cells": [["1", "0"], ...]}``."""
    if not isinstance(source, Mapping):
        raise ValueError(f"kernel must be an object with a name or cells; got {source!r}")
    if "cells" in source:
        cells = source["cells"]
        if (not isinstance(cells, list) or not cells
                or not all(isinstance(row, list) and row for row in cells)):
            raise ValueError("kernel cells must be a non-empty list of rows")
        if len({len(row) for row in cells}) != 1:
            raise ValueError(f"kernel rows must all have the same length; got "
                             f"{[len(row) for row in cells]}")
        if max(len(cells), len(cells[0])) > MAX_KERNEL:
            raise ValueError(f"kernel may have at most {MAX_KERNEL} rows and columns; got "
                             f"{len(cells)}x{len(cells[0])}")
        numbers = []
        for r, row in enumerate(cells):
            for c, cell in enumerate(row):
                text = str(cell).strip()
                try:
                    value = catalogue.parse(text, "cell")
                except ValueError:
                    value = None
                if value is None or value.shape != (1, 1):
                    raise ValueError(f"kernel cell (row {r}, column {c}) is {text!r}, not a "
                                     f"number; write an integer, a decimal or a fraction such "
                                     f"as 1/9")
                numbers.append(value[0, 0])
        array = np.array(numbers).reshape(len(cells), len(cells[0]))
        return array.astype(np.int64 if all(float(v).is_integer() for v in numbers)
                            else np.float64)
    name = source.get("name")
    size = source.get("size")
    sigma = source.get("sigma")
    if size is not None:
        size = _integer(size, "kernel size", 1, MAX_KERNEL)
    if sigma is not None:
        try:
            sigma = float(sigma)
        except (TypeError, ValueError):
            raise ValueError(f"kernel sigma must be a positive number; got {sigma!r}") from None
    try:
        return catalogue.get(name, size=size, sigma=sigma)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise ValueError(str(error).replace("kernels.get: ", "kernel: ")) from None


def parse_config(body: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    """Stride, dilation, padding, mode and convolve from the request, checked against the image.

    ``padding`` is "valid", "same" or ``[[top, bottom], [left, right]]``.
    """
    h, w = shape
    stride = _pair(body.get("stride", 1), "stride", 1)
    dilation = _pair(body.get("dilation", 1), "dilation", 1, MAX_KERNEL)
    for axis, size, step in (("rows", h, stride[0]), ("columns", w, stride[1])):
        if step > size:
            raise ValueError(f"stride {step} is larger than the image's {size} {axis}: the "
                             f"kernel could be placed only once along them; choose a stride "
                             f"from 1 to {size}")
    padding: Any = body.get("padding", "valid")
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"padding must be valid, same or [[top, bottom], [left, right]]; "
                             f"got {padding!r}")
        padding = padding.lower()
    elif (isinstance(padding, list | tuple) and len(padding) == 2
          and all(isinstance(p, list | tuple) and len(p) == 2 for p in padding)):
        names = (("top", "bottom"), ("left", "right"))
        padding = tuple(tuple(_integer(v, f"padding {names[i][j]}", 0, MAX_SIDE)
                              for j, v in enumerate(pair)) for i, pair in enumerate(padding))
    else:
        raise ValueError(f"padding must be valid, same or [[top, bottom], [left, right]]; got "
                         f"{padding!r}")
    mode = body.get("padding_mode", "zeros")
    if mode not in PADDING_MODES:
        raise ValueError(f"padding mode must be one of {', '.join(PADDING_MODES)}; got {mode!r}")
    convolve_flag = body.get("convolve", False)
    if not isinstance(convolve_flag, bool):
        raise ValueError(f"convolve must be true or false; got {convolve_flag!r}")
    return {"stride": stride, "dilation": dilation, "padding": padding, "padding_mode": mode,
            "convolve": convolve_flag}


def _explanation(body: object, uploads: Uploads) -> tuple[Explanation, str]:
    if not isinstance(body, Mapping):
        raise ValueError("the request body must be a JSON object")
    image, what = load_image(body.get("image"), uploads)
    kernel = parse_kernel(body.get("kernel"))
    config = parse_config(body, image.shape)
    try:
        e = explain(image, kernel, config["stride"], config["padding"],
                    padding_mode=config["padding_mode"], convolve=config["convolve"],
                    dilation=config["dilation"])
    except (TypeError, ValueError) as error:
        raise ValueError(" ".join(str(error).replace("explain: ", "").split())) from None
    return e, what


def _strings(matrix: np.ndarray) -> list[list[str]]:
    return [[format_number(v) for v in row] for row in np.asarray(matrix)]


def _steps(e: Explanation) -> list[str]:
    """``describe_stack``'s arithmetic for this layer, where its padding can be said so."""
    (top, bottom), (left, right) = e.padding
    kh, kw = e.kernel.shape
    if (top, left) == (bottom, right) and top == left:
        spec_padding: Any = top
        if top == 0:
            spec_padding = "valid"
    else:
        spec_padding = None
    spans = [e.dilation[i] * (e.kernel.shape[i] - 1) + 1 for i in range(2)]
    (h, w), (sh, sw) = e.input.shape, e.stride
    if [same_padding(h, kh, sh, e.dilation[0]), same_padding(w, kw, sw, e.dilation[1])] == [
            (top, bottom), (left, right)] and (top, bottom, left, right) != (0, 0, 0, 0):
        spec_padding = "same"
    if spec_padding is None or min(h + top + bottom - spans[0], w + left + right - spans[1]) < 0:
        return []
    layer = LayerSpec("conv", (kh, kw), e.stride, spec_padding, e.dilation, filters=1)
    return stack_steps((h, w, 1), [layer])[0].lines[2:-2]


def _picture(values: np.ndarray, rescale: bool) -> list[list[int]]:
    return to_pixels(values, normalize=rescale).tolist()


def convolve(body: object, uploads: Uploads) -> dict[str, Any]:
    """The whole convolution: input (padded), kernel, output, size formula, pictures."""
    e, what = _explanation(body, uploads)
    display = body.get("display", "auto") if isinstance(body, Mapping) else "auto"
    if display not in ("auto", "clip", "rescale"):
        raise ValueError(f"display must be auto, clip or rescale; got {display!r}")
    small = max(e.padded.shape) <= NUMBERS_UP_TO
    out = e.output
    inside = bool(out.min() >= 0 and out.max() <= 255)
    # auto: the values themselves as greys when they are pixels (0..255), else min..max
    rescale_output = display == "rescale" or (display == "auto" and not inside)
    rescale_input = small
    top_value = 255
    clipped = int(np.count_nonzero((out < 0) | (out > top_value + 0.5)))
    (top, bottom), (left, right) = e.padding
    answer: dict[str, Any] = {
        "image": what,
        "input_shape": list(e.input.shape),
        "padded_shape": list(e.padded.shape),
        "kernel_shape": list(e.kernel.shape),
        "output_shape": list(out.shape),
        "stride": list(e.stride),
        "dilation": list(e.dilation),
        "padding": [[top, bottom], [left, right]],
        "padding_mode": e.padding_mode,
        "convolve": e.convolve,
        "formula": e.size_formula(),
        "header": e.text().splitlines()[0],
        "steps": _steps(e),
        "numbers": small,
        "kernel": _strings(e.kernel),
        "applied_kernel": _strings(e.applied_kernel),
        "is_padding": e.is_padding.astype(int).tolist(),
        "padded_pixels": _picture(e.padded, rescale_input),
        "output_pixels": _picture(out, rescale_output),
        "output_range": [format_number(out.min()), format_number(out.max())],
        "output_display": "rescale" if rescale_output else "clip",
        "clipped": clipped,
    }
    if small:
        answer["padded"] = _strings(e.padded)
        answer["output"] = _strings(out)
        answer["text"] = e.text()
    return answer


def position(body: object, uploads: Uploads) -> dict[str, Any]:
    """One output ``body["at"] = [row, col]``: its receptive field, products and sum."""
    e, _ = _explanation(body, uploads)
    at = body.get("at") if isinstance(body, Mapping) else None
    if not isinstance(at, list | tuple) or len(at) != 2:
        raise ValueError(f"at must be [row, column] of an output pixel; got {at!r}")
    oh, ow = e.output.shape
    row = _integer(at[0], "output row", 0, oh - 1)
    col = _integer(at[1], "output column", 0, ow - 1)
    rows, cols = e.window(row, col)
    products = e.products(row, col)
    return {
        "at": [row, col],
        "value": format_number(e.output[row, col]),
        "rows": [rows.start, rows.stop, rows.step],
        "cols": [cols.start, cols.stop, cols.step],
        "field": _strings(e.receptive_field(row, col)),
        "field_is_padding": e.is_padding[rows, cols].astype(int).tolist(),
        "kernel": _strings(e.applied_kernel),
        "products": _strings(products),
        "row_sums": [format_number(s) for s in products.sum(axis=1)],
        "sum": format_number(products.sum()),
        "lines": e.explain_position(row, col),
    }


def catalogue_json() -> dict[str, Any]:
    """The named kernels (matrix and description), the images and the padding modes."""
    kernels = [{"name": name, "description": catalogue.describe(name),
                "cells": _strings(catalogue.get(name))} for name in catalogue.names()]
    images = [{"kind": kind, "description": what, "text": text}
              for kind, (text, what) in IMAGES.items()]
    return {"kernels": kernels, "images": images, "padding_modes": list(PADDING_MODES),
            "digits": len(_digits()[0]), "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_side": MAX_SIDE}
