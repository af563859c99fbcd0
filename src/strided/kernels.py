"""A catalogue of named image kernels, and user kernels written as numbers.

Every named kernel is a read-only module constant (``SOBEL_X``, ``BOX_BLUR``...), drawn in
its Notes as it is applied: by cross-correlation, what TensorFlow, PyTorch and Keras call
"convolution" (``V(x, y) = sum_m sum_n I(x + m, y + n) K(m, n)``).  A true, flipped
convolution (``strided.signal.convolve2d``) turns each kernel by 180 degrees: for the
symmetric ones nothing changes, the Sobel and shift kernels change sign or direction.

``get(name)`` returns a fresh, writable copy of a named kernel (``names()`` lists them),
``gaussian(size, sigma)`` and ``box(size)`` build blurs of any size, and ``parse(text)`` reads a
kernel written as rows separated by ";" and numbers by "," or spaces (``"1,1,1;0,0,0;-1,-1,-1"``,
``"1/9 1/9 1/9; ..."``).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

__all__ = [
    "BOX_BLUR",
    "CURVE_DETECTOR",
    "EMBOSS",
    "HORIZONTAL_EDGE",
    "IDENTITY",
    "LAPLACIAN",
    "OUTLINE",
    "PREWITT_X",
    "PREWITT_Y",
    "SHARPEN",
    "SHIFT_DOWN",
    "SHIFT_LEFT",
    "SHIFT_RIGHT",
    "SHIFT_UP",
    "SOBEL_X",
    "SOBEL_Y",
    "box",
    "describe",
    "gaussian",
    "get",
    "names",
    "parse",
]


def _constant(rows: list[list[float]], dtype: type = np.int64) -> np.ndarray:
    array: np.ndarray = np.array(rows, dtype=dtype)
    array.setflags(write=False)
    return array


IDENTITY = _constant([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
"""Identity: returns the image unchanged (with "same" padding).

Notes
-----
::

    0 0 0
    0 1 0
    0 0 0
"""

BOX_BLUR = _constant(np.full((3, 3), 1 / 9).tolist(), np.float64)
"""Box blur: the mean of the 3x3 neighbourhood (the lecture's "Blur").

Notes
-----
::

    1/9 1/9 1/9
    1/9 1/9 1/9
    1/9 1/9 1/9
"""

SHARPEN = _constant([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
"""Sharpen: the pixel plus its difference from its four neighbours.

Notes
-----
::

     0 -1  0
    -1  5 -1
     0 -1  0

The lecture prints this kernel under "Edge Detection / Outline"; setosa.io (which the lecture
cites) calls it "sharpen": its taps sum to 1, so flat regions keep their brightness.
"""

OUTLINE = _constant([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
"""Outline: large where a pixel differs from its eight neighbours, zero on flat regions.

Notes
-----
::

    -1 -1 -1
    -1  8 -1
    -1 -1 -1
"""

SOBEL_X = _constant([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
"""Sobel x: responds to vertical edges (left minus right, smoothed vertically).

Notes
-----
::

    1 0 -1
    2 0 -2
    1 0 -1

As printed in the lecture (bright-to-dark from left to right is positive).
"""

SOBEL_Y = _constant([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
"""Sobel y: responds to horizontal edges (top minus bottom, smoothed horizontally).

Notes
-----
::

     1  2  1
     0  0  0
    -1 -2 -1
"""

PREWITT_X = _constant([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
"""Prewitt x: vertical edges, left minus right, unweighted.

Notes
-----
::

    1 0 -1
    1 0 -1
    1 0 -1
"""

PREWITT_Y = _constant([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
"""Prewitt y: horizontal edges, top minus bottom (the lecture's worked-example kernel).

Notes
-----
::

     1  1  1
     0  0  0
    -1 -1 -1
"""

HORIZONTAL_EDGE = PREWITT_Y
"""The lecture's kernel ``[[1, 1, 1], [0, 0, 0], [-1, -1, -1]]``: Prewitt y.

Notes
-----
::

     1  1  1
     0  0  0
    -1 -1 -1
"""

LAPLACIAN = _constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
"""Laplacian: the discrete second derivative; zero on flat and linear regions.

Notes
-----
::

    0  1  0
    1 -4  1
    0  1  0
"""

EMBOSS = _constant([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
"""Emboss: a diagonal derivative plus the pixel, so the image looks lit from one corner.

Notes
-----
::

    -2 -1  0
    -1  1  1
     0  1  2
"""

SHIFT_RIGHT = _constant([[0, 0, 0], [1, 0, 0], [0, 0, 0]])
"""Shift right: each output pixel copies its left neighbour (the lecture's "Shift").

Notes
-----
::

    0 0 0
    1 0 0
    0 0 0

With "same" padding the image moves one pixel to the right; flipped (true convolution), it
moves left.
"""

SHIFT_LEFT = _constant([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
"""Shift left: each output pixel copies its right neighbour.

Notes
-----
::

    0 0 0
    0 0 1
    0 0 0
"""

SHIFT_DOWN = _constant([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
"""Shift down: each output pixel copies the pixel above it.

Notes
-----
::

    0 1 0
    0 0 0
    0 0 0
"""

SHIFT_UP = _constant([[0, 0, 0], [0, 0, 0], [0, 1, 0]])
"""Shift up: each output pixel copies the pixel below it.

Notes
-----
::

    0 0 0
    0 0 0
    0 1 0
"""

CURVE_DETECTOR = _constant([
    [0, 0, 0, 0, 0, 30, 0],
    [0, 0, 0, 0, 30, 0, 0],
    [0, 0, 0, 30, 0, 0, 0],
    [0, 0, 0, 30, 0, 0, 0],
    [0, 0, 0, 30, 0, 0, 0],
    [0, 0, 0, 30, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
])
"""The lecture's 7x7 curve detector (after Deshpande, 2016): a curve bending up and right.

Notes
-----
::

    0  0  0  0  0 30  0
    0  0  0  0 30  0  0
    0  0  0 30  0  0  0
    0  0  0 30  0  0  0
    0  0  0 30  0  0  0
    0  0  0 30  0  0  0
    0  0  0  0  0  0  0

On the lecture's receptive field (the mouse's ear) the product-sum is 6600.
"""

_NAMED: dict[str, np.ndarray] = {
    "identity": IDENTITY,
    "box-blur": BOX_BLUR,
    "sharpen": SHARPEN,
    "outline": OUTLINE,
    "sobel-x": SOBEL_X,
    "sobel-y": SOBEL_Y,
    "prewitt-x": PREWITT_X,
    "prewitt-y": PREWITT_Y,
    "horizontal-edge": HORIZONTAL_EDGE,
    "laplacian": LAPLACIAN,
    "emboss": EMBOSS,
    "shift-up": SHIFT_UP,
    "shift-down": SHIFT_DOWN,
    "shift-left": SHIFT_LEFT,
    "shift-right": SHIFT_RIGHT,
    "curve-detector": CURVE_DETECTOR,
}
_ALIASES = {"blur": "box-blur", "box": "box-blur", "edge": "horizontal-edge",
            "lecture-edge": "horizontal-edge", "gauss": "gaussian", "gaussian-blur": "gaussian",
            "shift": "shift-right", "sobel": "sobel-x", "prewitt": "prewitt-x",
            "curve": "curve-detector"}
_DESCRIPTIONS = {
    "identity": "returns the image unchanged",
    "box-blur": "mean of the neighbourhood (any odd size with size=)",
    "gaussian": "Gaussian blur (size=, sigma=)",
    "sharpen": "pixel plus its difference from its neighbours",
    "outline": "pixel minus its eight neighbours: outlines, zero on flat regions",
    "sobel-x": "vertical edges, left minus right",
    "sobel-y": "horizontal edges, top minus bottom",
    "prewitt-x": "vertical edges, unweighted",
    "prewitt-y": "horizontal edges, unweighted",
    "horizontal-edge": "the lecture's [[1,1,1],[0,0,0],[-1,-1,-1]] (= prewitt-y)",
    "laplacian": "second derivative: zero on flat and linear regions",
    "emboss": "relief, lit from the top left",
    "shift-up": "moves the image up one pixel",
    "shift-down": "moves the image down one pixel",
    "shift-left": "moves the image left one pixel",
    "shift-right": "moves the image right one pixel (the lecture's shift)",
    "curve-detector": "the lecture's 7x7 curve detector",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def names() -> list[str]:
    """The names ``get`` accepts (besides aliases such as "blur" and "edge"), in catalogue order.

    Examples
    --------
    >>> names()[:4]
    ['identity', 'box-blur', 'gaussian', 'sharpen']
    """
    return ["identity", "box-blur", "gaussian", *list(_NAMED)[2:]]


def describe(name: str) -> str:
    """A one-line description of the named kernel ``name``."""
    return _DESCRIPTIONS[_resolve(name, "describe")]


def _resolve(name: str, op: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{op}: name must be a str; got name={name!r}")
    key = _key(name)
    key = _ALIASES.get(key, key)
    if key not in _NAMED and key != "gaussian":
        raise ValueError(f"{op}: unknown kernel name {name!r}; known names: "
                         f"{', '.join(names())} (or numbers such as '1,1,1;0,0,0;-1,-1,-1')")
    return key


def _check_size(size: object, op: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise TypeError(f"{op}: size must be a positive odd int; got size={size!r}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"{op}: size must be a positive odd int (the kernel needs a centre); "
                         f"got size={size!r}")
    return int(size)


def box(size: int = 3) -> np.ndarray:
    """A ``size`` x ``size`` box blur: every tap ``1 / size**2``.

    Parameters
    ----------
    size : int
        Positive and odd.

    Returns
    -------
    numpy.ndarray, shape (size, size), float64

    Examples
    --------
    >>> box(3).sum()
    np.float64(1.0)
    """
    size = _check_size(size, "box")
    return np.full((size, size), 1.0 / size**2)


def gaussian(size: int = 5, sigma: float | None = None) -> np.ndarray:
    """A ``size`` x ``size`` Gaussian blur, normalised to sum to 1.

    Parameters
    ----------
    size : int
        Positive and odd.
    sigma : float, optional
        Standard deviation in pixels; default ``size / 6`` (the kernel spans +-3 sigma).

    Returns
    -------
    numpy.ndarray, shape (size, size), float64
        ``outer(g, g)`` with ``g[i] = exp(-(i - size // 2)**2 / (2 sigma**2)) / sum``: separable.

    Raises
    ------
    ValueError
        When ``size`` is not positive and odd or ``sigma`` is not positive.

    Examples
    --------
    >>> k = gaussian(3, sigma=1.0)
    >>> bool(np.isclose(k.sum(), 1.0)), bool(k[1, 1] == k.max())
    (True, True)
    """
    size = _check_size(size, "gaussian")
    if sigma is None:
        sigma = size / 6
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise TypeError(f"gaussian: sigma must be a positive number; got sigma={sigma!r}") from None
    if not sigma > 0 or not np.isfinite(sigma):
        raise ValueError(f"gaussian: sigma must be a positive number; got sigma={sigma!r}")
    offsets = np.arange(size) - size // 2
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def get(name: str, size: int | None = None, sigma: float | None = None) -> np.ndarray:
    """A writable copy of the named kernel ``name``.

    Parameters
    ----------
    name : str
        One of ``names()`` or an alias ("blur", "edge", "shift", "sobel", "gauss"...);
        case, spaces and underscores do not matter ("Sobel_X" is "sobel-x").
    size : int, optional
        For "box-blur" and "gaussian": the (odd) kernel size (default 3 and 5).
    sigma : float, optional
        For "gaussian": the standard deviation (default ``size / 6``).

    Returns
    -------
    numpy.ndarray, 2-D
        int64 for integer kernels (exact arithmetic on integer images), float64 for blurs.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), or ``size``/``sigma`` given
        to a kernel that has no such parameter.

    Examples
    --------
    >>> get("sobel-x")
    array([[ 1,  0, -1],
           [ 2,  0, -2],
           [ 1,  0, -1]])
    """
    key = _resolve(name, "kernels.get")
    if key == "gaussian":
        return gaussian(5 if size is None else size, sigma)
    if sigma is not None:
        raise ValueError(f"kernels.get: sigma applies to 'gaussian' only; got sigma={sigma!r} "
                         f"for kernel {name!r}")
    if key == "box-blur" and size is not None:
        return box(size)
    if size is not None:
        raise ValueError(f"kernels.get: size applies to 'gaussian' and 'box-blur' only; got "
                         f"size={size!r} for kernel {name!r}")
    return _NAMED[key].copy()


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(/\d+(\.\d*)?)?$")


def _is_number(text: str) -> bool:
    """Whether ``text`` is one number as ``parse`` reads it (``1``, ``-2.5e3``, ``1/9``)."""
    return bool(_NUMBER.match(text.strip()))


def parse(text: str, name: str = "kernel") -> np.ndarray:
    """A matrix written as rows separated by ";" (or new lines), numbers by "," or spaces.

    Parameters
    ----------
    text : str
        E.g. ``"1,1,1;0,0,0;-1,-1,-1"`` or ``"1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9"``;
        fractions ``a/b`` are allowed.
    name : str
        What the matrix is, for error messages.

    Returns
    -------
    numpy.ndarray, 2-D
        int64 when every number is an integer that int64 holds, float64 otherwise (integers
        beyond int64, such as ``1e19``, become the nearest float64).

    Raises
    ------
    ValueError
        For an empty matrix, a word that is not a number, a number too large for float64
        (``1e400``), or rows of different lengths.

    Examples
    --------
    >>> parse("1,1,1;0,0,0;-1,-1,-1")
    array([[ 1,  1,  1],
           [ 0,  0,  0],
           [-1, -1, -1]])
    """
    if not isinstance(text, str):
        raise TypeError(f"parse: {name} must be a str; got {name}={text!r}")
    lines = [line for line in re.split(r"[;\n]", text.strip().strip("[]")) if line.strip()]
    rows: list[list[Fraction]] = []
    for line in lines:
        row = []
        for word in re.split(r"[,\s]+", line.strip().strip("[]").strip()):
            if not word:
                continue
            if not _NUMBER.match(word):
                raise ValueError(f"{name} {text!r} is not a matrix of numbers: {word!r} is not a "
                                 f"number; write rows separated by ';' and numbers by ',', "
                                 f"e.g. '1,1,1;0,0,0;-1,-1,-1'")
            top, _, bottom = word.partition("/")
            if bottom and Fraction(bottom) == 0:
                raise ValueError(f"{name} {text!r} divides by zero: {word!r}")
            value = Fraction(top) / Fraction(bottom) if bottom else Fraction(top)
            row.append(value)
        rows.append(row)
    if not rows or not rows[0]:
        raise ValueError(f"{name} {text!r} is empty; write rows separated by ';' and numbers by "
                         f"',', e.g. '1,1,1;0,0,0;-1,-1,-1'")
    lengths = [len(row) for row in rows]
    if len(set(lengths)) != 1:
        raise ValueError(f"{name} {text!r} has rows of different lengths {lengths}; every row "
                         f"needs the same number of values")
    values = [value for row in rows for value in row]
    if all(v.denominator == 1 and _INT64[0] <= v <= _INT64[1] for v in values):
        return np.array([[int(v) for v in row] for row in rows], dtype=np.int64)
    if any(abs(value) > _FLOAT64_MAX for value in values):
        raise ValueError(f"{name} {text!r} holds a number too large for float64 (magnitudes "
                         f"up to {float(_FLOAT64_MAX):.4g})")
    return np.array([[float(v) for v in row] for row in rows], dtype=np.float64)


_INT64 = (int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max))
_FLOAT64_MAX = Fraction(float(np.finfo(np.float64).max))
