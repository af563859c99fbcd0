"""Option values shared by the picture commands: stride, padding, positions, sizes."""

from __future__ import annotations

import re

import click

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")


def parse_stride(text: str, option: str = "--stride") -> int | tuple[int, int]:
    """``2`` or ``2,1`` (rows, columns)."""
    parts = [p for p in re.split(r"[,x\s]+", text.strip()) if p]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2) or any(n < 1 for n in numbers):
        raise ValueError(f"{option} must be a positive integer or ROWS,COLS; got {text!r}")
    return numbers[0] if len(numbers) == 1 else (numbers[0], numbers[1])


def parse_padding(text: str, option: str = "--padding") -> str | int | tuple[int, ...]:
    """``valid``, ``same``, ``N`` (every side), ``ROWS,COLS`` or ``TOP,BOTTOM,LEFT,RIGHT``."""
    value = text.strip().lower()
    if value in ("valid", "same"):
        return value
    parts = [p for p in re.split(r"[,\s]+", value) if p]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2, 4) or any(n < 0 for n in numbers):
        raise ValueError(f"{option} must be valid, same, N, ROWS,COLS or TOP,BOTTOM,LEFT,RIGHT "
                         f"(non-negative integers); got {text!r}")
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) == 2:
        return (numbers[0], numbers[1])
    return ((numbers[0], numbers[1]), (numbers[2], numbers[3]))  # type: ignore[return-value]


def parse_position(text: str, option: str = "--at") -> tuple[int, int]:
    """``ROW,COL`` (0-based)."""
    parts = [p for p in re.split(r"[,\s]+", text.strip().strip("()")) if p]
    try:
        row, col = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"{option} must be ROW,COL (two integers counted from 0); got "
                         f"{text!r}") from None
    return row, col


def parse_hw(text: str, option: str) -> tuple[int, int]:
    """``HxW`` or ``N`` (square)."""
    parts = [p for p in re.split(r"[x,\s*]+", text.strip().lower()) if p]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2) or any(n < 1 for n in numbers):
        raise ValueError(f"{option} must be N or HxW (positive integers); got {text!r}")
    return (numbers[0], numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])


mode_option = click.option(
    "--mode", "padding_mode", type=click.Choice(PADDING_MODES), default="zeros",
    show_default=True, help="What the padding cells hold.")
convolve_option = click.option(
    "--convolve", is_flag=True,
    help="Flip the kernel (true convolution, as scipy.signal); default: cross-correlation, "
         "as TensorFlow, PyTorch and the lecture.")
