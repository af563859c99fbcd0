"""One 2-D convolution explained in numbers, as the lecture's V(1, 0) slides do it.

``explain(input, kernel, stride, padding)`` computes the output with
``strided.functional.conv2d`` (so exactly as PyTorch and TensorFlow do) and keeps the padded
input, which cells are padding and where each output's window lies, so that an output
``V(row, col)`` can be shown as its receptive field, each product and the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import functional
from .._padding import pad as _pad
from .._spec import PaddingLike, make_spec

__all__ = ["Explanation", "explain", "format_matrix", "format_number"]


def format_number(value: float) -> str:
    """An integer without decimals, anything else with at most 4 significant digits."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.4g}"


def _signed(value: float) -> str:
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text


#: ``format_matrix`` shows at most this many rows and columns, then the corners (as NumPy).
SUMMARY_EDGE = 4
SUMMARY_LIMIT = 24


def format_matrix(matrix: np.ndarray, marked: np.ndarray | None = None, indent: str = "  ",
                  full: bool = False) -> list[str]:
    """Rows of right-aligned numbers; cells where ``marked`` is true are shown in parentheses.

    A matrix with more than ``SUMMARY_LIMIT`` rows or columns is summarised as NumPy does,
    its first and last ``SUMMARY_EDGE`` rows and columns around "...", unless ``full``.
    """
    values = np.asarray(matrix)
    h, w = values.shape
    rows = _kept(h, full)
    cols = _kept(w, full)
    cells = [[format_number(values[i, j]) if j is not None else "..." for j in cols]
             if i is not None else None for i in rows]
    if marked is not None:
        cells = [None if row is None else [
            c if j is None else f"({c})" if marked[i, j] else f" {c} "
            for c, j in zip(row, cols)] for row, i in zip(cells, rows)]
    width = max(len(c) for row in cells if row is not None for c in row)
    lines = [indent + " ".join(c.rjust(width) for c in row) if row is not None
             else indent + "...".rjust(width) for row in cells]
    if rows != list(range(h)) or cols != list(range(w)):
        lines.append(f"{indent}({h}x{w}: the corners shown; --full prints every value)")
    return lines


def _kept(n: int, full: bool) -> list[int | None]:
    """Indices shown of ``n``: all, or the first and last ``SUMMARY_EDGE`` around None."""
    if full or n <= SUMMARY_LIMIT:
        return list(range(n))
    return [*range(SUMMARY_EDGE), None, *range(n - SUMMARY_EDGE, n)]


@dataclass(frozen=True)
class Explanation:
    """A 2-D convolution with everything needed to explain any of its outputs.

    Attributes
    ----------
    input : numpy.ndarray, shape (H, W)
    kernel : numpy.ndarray, shape (kH, kW)
        The kernel as given.
    applied_kernel : numpy.ndarray, shape (kH, kW)
        The kernel as slid over the input: ``kernel`` itself, or turned by 180 degrees when
        ``convolve`` (a true convolution).
    stride : (int, int)
    dilation : (int, int)
        Rows and columns between the kernel's taps (1: adjacent).
    padding : ((int, int), (int, int))
        Cells added (top, bottom), (left, right).
    padding_mode : str
        What the padding cells hold: "zeros", "reflect", "replicate", "circular", "symmetric".
    convolve : bool
    padded : numpy.ndarray, shape (H + top + bottom, W + left + right)
    is_padding : numpy.ndarray of bool, same shape as ``padded``
    output : numpy.ndarray, shape (H_out, W_out)
        ``H_out = (H + top + bottom - dilation * (kH - 1) - 1) // stride + 1``.
    """

    input: np.ndarray
    kernel: np.ndarray
    applied_kernel: np.ndarray
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    padding_mode: str
    convolve: bool
    padded: np.ndarray
    is_padding: np.ndarray
    output: np.ndarray
    dilation: tuple[int, int] = (1, 1)

    def check_position(self, row: int, col: int) -> tuple[int, int]:
        """``(row, col)`` if it is an output position, else a ValueError saying which are."""
        oh, ow = self.output.shape
        if not (0 <= row < oh and 0 <= col < ow):
            raise ValueError(f"explain: output position ({row}, {col}) is outside the "
                             f"{oh}x{ow} output; rows are 0..{oh - 1} and columns 0..{ow - 1}")
        return row, col

    def window(self, row: int, col: int) -> tuple[slice, slice]:
        """The rows and columns of ``padded`` under the kernel for output ``(row, col)``."""
        row, col = self.check_position(row, col)
        (kh, kw), (dh, dw) = self.kernel.shape, self.dilation
        top, left = row * self.stride[0], col * self.stride[1]
        return (slice(top, top + dh * (kh - 1) + 1, dh),
                slice(left, left + dw * (kw - 1) + 1, dw))

    def receptive_field(self, row: int, col: int) -> np.ndarray:
        """The cells of the (padded) input that output ``(row, col)`` multiplies."""
        return self.padded[self.window(row, col)]

    def products(self, row: int, col: int) -> np.ndarray:
        """Receptive field times kernel, cell by cell; they sum to ``output[row, col]``."""
        return self.receptive_field(row, col) * self.applied_kernel

    def size_formula(self) -> str:
        """The output size, ``(H + top + bottom - kH) // stride + 1``, with the numbers."""
        (h, w), (oh, ow) = self.input.shape, self.output.shape
        (top, bottom), (left, right) = self.padding
        (kh, kw), (dh, dw), (sh, sw) = self.kernel.shape, self.dilation, self.stride
        span_h = f"{kh}" if dh == 1 else f"{dh}*({kh} - 1) - 1"
        span_w = f"{kw}" if dw == 1 else f"{dw}*({kw} - 1) - 1"
        return (f"output V: {oh}x{ow}   rows: ({h} + {top} + {bottom} - {span_h}) // {sh}"
                f" + 1 = {oh}   columns: ({w} + {left} + {right} - {span_w}) // {sw} + 1"
                f" = {ow}")

    def _header(self) -> list[str]:
        (h, w), (kh, kw) = self.input.shape, self.kernel.shape
        (top, bottom), (left, right) = self.padding
        if top == bottom == left == right == 0:
            pad_text = "no padding (VALID)"
        else:
            pad_text = (f"padding top {top}, bottom {bottom}, left {left}, right {right} "
                        f"({self.padding_mode})")
        op = "convolution (kernel flipped)" if self.convolve else "cross-correlation"
        lines = [
            f"input I: {h}x{w}, kernel K: {kh}x{kw}, stride {self.stride[0]}"
            + (f"x{self.stride[1]}" if self.stride[1] != self.stride[0] else "")
            + (f", dilation {self.dilation[0]}"
               + (f"x{self.dilation[1]}" if self.dilation[1] != self.dilation[0] else "")
               if self.dilation != (1, 1) else "")
            + f", {pad_text}, {op}",
            self.size_formula(),
            "",
        ]
        return lines

    def text(self, at: Sequence[tuple[int, int]] | None = None, full: bool = False) -> str:
        """The input (padding in parentheses), kernel, output and, for each position in
        ``at``, the lecture's receptive field, products and sum; matrices larger than
        ``SUMMARY_LIMIT`` are summarised unless ``full``."""
        lines = self._header()
        if self.is_padding.any():
            lines += ["padded input (padding cells in parentheses):",
                      *format_matrix(self.padded, self.is_padding, full=full), ""]
        else:
            lines += ["input I:", *format_matrix(self.input, full=full), ""]
        lines += ["kernel K:", *format_matrix(self.kernel, full=full), ""]
        if self.convolve:
            lines += ["K flipped (as it slides):",
                      *format_matrix(self.applied_kernel, full=full), ""]
        lines += ["output V:", *format_matrix(self.output, full=full)]
        for row, col in at or ():
            lines += ["", *self.explain_position(row, col)]
        return "\n".join(lines)

    def explain_position(self, row: int, col: int) -> list[str]:
        """The lecture's slide for ``V(row, col)``: formula, receptive field, products, sum."""
        rows, cols = self.window(row, col)
        kh, kw = self.kernel.shape
        (sh, sw), (top, _), (left, _) = self.stride, *self.padding
        dh, dw = self.dilation
        r0, c0 = rows.start - top, cols.start - left
        k = "K'" if self.convolve else "K"
        m_text, n_text = ("m" if dh == 1 else f"{dh}m"), ("n" if dw == 1 else f"{dw}n")
        formula = (f"V({row}, {col}) = sum_m sum_n I({_offset(r0)}{m_text}, "
                   f"{_offset(c0)}{n_text}) * {k}(m, n)   (m = 0..{kh - 1}, n = 0..{kw - 1})")
        if sh != 1 or sw != 1 or top or left:
            formula += (f"\n  (I's row = {row}*{sh} - {top} + {m_text}, column = {col}*{sw} - "
                        f"{left} + {n_text}: stride {sh}x{sw}, padding {top} on top and {left} "
                        f"on the left)")
        field = self.padded[rows, cols]
        marked = self.is_padding[rows, cols]
        left_block = format_matrix(field, marked, indent="    ")
        right_block = format_matrix(self.applied_kernel, indent="    ")
        width = max(len(s) for s in left_block)
        title = (f"receptive field I[{r0}:{r0 + dh * (kh - 1) + 1}{'' if dh == 1 else f':{dh}'}, "
                 f"{c0}:{c0 + dw * (kw - 1) + 1}{'' if dw == 1 else f':{dw}'}]")
        width = max(width, len(title) + 2)
        lines = [formula, "", "  " + title.ljust(width - 2) + "    " + f"kernel {k}"]
        lines += [a.ljust(width) + b for a, b in zip(left_block, right_block)]
        if marked.any():
            lines.append("    (numbers in parentheses are padding cells)")
        lines.append("")
        row_sums = []
        for m in range(kh):
            terms = " + ".join(
                (f"({format_number(field[m, n])})" if marked[m, n] else _signed(field[m, n]))
                + "*" + _signed(self.applied_kernel[m, n])
                for n in range(kw)
            )
            total = self.products(row, col)[m].sum()
            row_sums.append(total)
            lines.append(f"  m = {m}:  {terms}  =  {format_number(total)}")
        value = self.output[row, col]
        if kh > 1:
            lines.append(f"  V({row}, {col}) = {' + '.join(_signed(s) for s in row_sums)} = "
                         f"{format_number(value)}")
        else:
            lines.append(f"  V({row}, {col}) = {format_number(value)}")
        return lines

    def __str__(self) -> str:
        return self.text()


def _offset(value: int) -> str:
    return f"{value} + "


def explain(
    input: np.ndarray,
    kernel: np.ndarray,
    stride: int | Sequence[int] = 1,
    padding: PaddingLike = "valid",
    *,
    padding_mode: str = "zeros",
    convolve: bool = False,
    dilation: int | Sequence[int] = 1,
) -> Explanation:
    """Convolve a 2-D input with a 2-D kernel and keep what explains each output.

    Parameters
    ----------
    input : array_like, shape (H, W)
    kernel : array_like, shape (kH, kW)
    stride : int or (int, int)
    padding : "valid", "same", int, (int, int) or ((top, bottom), (left, right))
        "same" is TensorFlow's rule (``ceil(H / stride)`` rows, the odd cell after).
    padding_mode : {"zeros", "reflect", "replicate", "circular", "symmetric"}
        What the padding cells hold.
    convolve : bool
        Flip the kernel (true convolution) instead of cross-correlating, as deep-learning
        frameworks and the lecture do.
    dilation : int or (int, int)
        Rows and columns between the kernel's taps (the size formula's ``d``).

    Returns
    -------
    Explanation
        ``.output`` is the result; ``.text(at=[(row, col)])`` the explanation.

    Raises
    ------
    ValueError
        For inputs that are not 2-D, or a configuration ``conv2d`` rejects (the message says
        why, e.g. a kernel larger than the padded input).

    Examples
    --------
    The lecture's worked example (the slides print ``[[-4, -3], [2, -9]]`` twice; the right
    answer is below):

    >>> image = [[2, 0, 1, 3], [7, 1, 1, 0], [0, 2, 5, 0], [0, 5, 1, 4]]
    >>> e = explain(image, [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    >>> e.output
    array([[-4, -3],
           [ 3, -8]])
    >>> print("\\n".join(e.explain_position(1, 0)[-4:]))
      m = 0:  7*1 + 1*1 + 1*1  =  9
      m = 1:  0*0 + 2*0 + 5*0  =  0
      m = 2:  0*(-1) + 5*(-1) + 1*(-1)  =  -6
      V(1, 0) = 9 + 0 + (-6) = 3
    """
    x = _matrix(input, "input")
    k = _matrix(kernel, "kernel")
    applied = k[::-1, ::-1] if convolve else k
    spec = make_spec("explain", (1, *x.shape, 1), (*k.shape, 1, 1), rank=2, stride=stride,
                     padding=padding, dilation=dilation, padding_mode=padding_mode,
                     weight_name="kernel")
    padded = _pad(x[None, :, :, None], spec.padding, padding_mode)[0, :, :, 0]
    is_padding = np.ones(padded.shape, dtype=bool)
    (top, _), (left, _) = spec.padding
    is_padding[top:top + x.shape[0], left:left + x.shape[1]] = False
    output = functional.conv2d(x[None, None], np.ascontiguousarray(applied)[None, None],
                               stride=spec.stride, padding=spec.padding,
                               dilation=spec.dilation, padding_mode=padding_mode)[0, 0]
    return Explanation(input=x, kernel=k, applied_kernel=np.ascontiguousarray(applied),
                       stride=spec.stride, padding=spec.padding,  # type: ignore[arg-type]
                       padding_mode=padding_mode, convolve=convolve, padded=padded,
                       is_padding=is_padding, output=output,
                       dilation=spec.dilation)  # type: ignore[arg-type]


def _matrix(value: object, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"explain: {name} must be a non-empty 2-D matrix; got "
                         f"{name}.shape={array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"explain: {name} must hold numbers; got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    return array.astype(np.float64)
