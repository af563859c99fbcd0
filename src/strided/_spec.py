"""Argument normalisation and shape arithmetic: every convolution call becomes one ``ConvSpec``.

This is the only module that parses user arguments (stride, padding, dilation, groups,
layouts).  Algorithms receive a ``ConvSpec`` and never look at the user's arguments again.

Canonical layout, used by every algorithm::

    input   x: (batch, *input_size, in_channels)              channels last
    weight  w: (*kernel_size, in_channels // groups, out_channels)   "HWIO"
    output  y: (batch, *output_size, out_channels)

with, per spatial dimension (floor division, as PyTorch and TensorFlow do)::

    output_size = (input_size + pad_lo + pad_hi - dilation * (kernel_size - 1) - 1) // stride + 1
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Literal, SupportsIndex, overload

import numpy as np

DataFormat = Literal["channels_last", "channels_first"]
WeightFormat = Literal["HWIO", "OIHW"]
PaddingMode = Literal["zeros", "reflect", "replicate", "circular", "symmetric"]
PaddingLike = str | int | Sequence[int] | Sequence[Sequence[int]]

PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular", "symmetric")
PADDING_STRINGS: tuple[str, ...] = ("valid", "same", "causal")
_SPATIAL_LETTERS = {1: "W", 2: "HW", 3: "DHW"}
_ORDINALS = ("first", "second", "third", "fourth", "fifth")


def layout_names(rank: int, weight_format: WeightFormat) -> str:
    """The weight layout's name for ``rank`` spatial dimensions, e.g. ``HWIO`` or ``OIDHW``."""
    spatial = _SPATIAL_LETTERS.get(rank, "S" * rank)
    return spatial + "IO" if weight_format == "HWIO" else "OI" + spatial


def input_layout_name(rank: int, data_format: DataFormat) -> str:
    """The input layout's name for ``rank`` spatial dimensions, e.g. ``NHWC`` or ``NCDHW``."""
    spatial = _SPATIAL_LETTERS.get(rank, "S" * rank)
    return "N" + spatial + "C" if data_format == "channels_last" else "NC" + spatial


@dataclass(frozen=True)
class ConvSpec:
    """A validated N-d convolution: sizes, stride, dilation, per-side padding, groups, layouts.

    ``padding[i] = (lo, hi)`` pads spatial dimension ``i`` by ``lo`` before and ``hi`` after.
    ``data_format`` and ``weight_format`` describe the caller's arrays; the core converts them to
    the canonical layout (module docstring) before an algorithm sees them.
    """

    batch: int
    input_size: tuple[int, ...]
    in_channels: int
    kernel_size: tuple[int, ...]
    out_channels: int
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    groups: int = 1
    padding_mode: PaddingMode = "zeros"
    data_format: DataFormat = "channels_last"
    weight_format: WeightFormat = "HWIO"

    @property
    def rank(self) -> int:
        """Number of spatial dimensions."""
        return len(self.input_size)

    @cached_property
    def effective_kernel_size(self) -> tuple[int, ...]:
        """Extent of the dilated kernel: ``dilation * (kernel_size - 1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @cached_property
    def padded_size(self) -> tuple[int, ...]:
        """``input_size + pad_lo + pad_hi``."""
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.input_size, self.padding))

    @cached_property
    def output_size(self) -> tuple[int, ...]:
        """``(padded_size - effective_kernel_size) // stride + 1``."""
        return tuple(
            (p - e) // s + 1
            for p, e, s in zip(self.padded_size, self.effective_kernel_size, self.stride)
        )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Canonical input shape ``(batch, *input_size, in_channels)``."""
        return (self.batch, *self.input_size, self.in_channels)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """Canonical weight shape ``(*kernel_size, in_channels // groups, out_channels)``."""
        return (*self.kernel_size, self.in_channels // self.groups, self.out_channels)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Canonical output shape ``(batch, *output_size, out_channels)``."""
        return (self.batch, *self.output_size, self.out_channels)

    @property
    def flops(self) -> int:
        """Multiply-adds times two of the forward pass."""
        per_output = math.prod(self.kernel_size) * (self.in_channels // self.groups)
        return 2 * math.prod(self.output_shape) * per_output

    def with_padding(self, padding: tuple[tuple[int, int], ...], input_size: tuple[int, ...]
                     ) -> ConvSpec:
        """The same convolution on an input that has been padded already."""
        return replace(self, padding=padding, input_size=input_size, padding_mode="zeros")

    def in_user_layout(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Reorder a canonical ``(batch, *spatial, channels)`` shape into ``data_format``."""
        if self.data_format == "channels_last":
            return tuple(shape)
        return (shape[0], shape[-1], *shape[1:-1])


def normalize_tuple(value: object, rank: int, name: str, op: str, minimum: int = 1, *,
                    single: bool = True) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` ints, each ``>= minimum``, as a tuple of ``rank`` ints.

    A sequence of one int stands for all ``rank`` (as PyTorch) unless ``single`` is False
    (as Keras, which wants exactly ``rank``); booleans are refused.
    """
    what = "positive" if minimum == 1 else "non-negative"
    rule = f"{name} must be a {what} int or a sequence of {rank} {what} int" + (
        "s" if rank > 1 else "")
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
        if len(items) == 1 and single:
            items = items * rank
    else:
        items = [value] * rank
    if any(isinstance(item, (bool, np.bool_)) for item in items):
        raise TypeError(f"{op}: {rule}; got {name}={value!r}")
    try:
        numbers = tuple(operator.index(item) for item in items)
    except TypeError:
        raise TypeError(f"{op}: {rule}; got {name}={value!r}") from None
    if len(numbers) != rank or any(n < minimum for n in numbers):
        raise ValueError(f"{op}: {rule}; got {name}={value!r}")
    return numbers


def normalize_groups(groups: object, op: str) -> int:
    """``groups`` checked to be a positive int."""
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{op}: groups must be a positive int; got groups={groups!r}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be a positive int; got groups={groups!r}")
    return groups


def same_padding(size: int, kernel_size: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME rule: ``output = ceil(size / stride)``, the odd pixel padded after.

    ``total = max((output - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)``,
    ``lo = total // 2`` and ``hi = total - lo``.  For stride 1 this is PyTorch's
    ``padding="same"``: ``total = dilation * (kernel_size - 1)``.
    """
    output = -(-size // stride)
    total = max((output - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _supports_index(item: object) -> SupportsIndex:
    """``item`` itself if it has ``__index__``; else the TypeError ``operator.index`` raises."""
    if not isinstance(item, SupportsIndex):
        raise TypeError(f"{type(item).__name__!r} object cannot be interpreted as an integer")
    return item


def normalize_padding(
    padding: PaddingLike,
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    op: str,
) -> tuple[tuple[int, int], ...]:
    """Per-side padding ``((lo, hi), ...)`` from any of the forms the three faces accept.

    * ``"valid"``: no padding; ``"same"``: TensorFlow's rule (``same_padding``), any stride;
      ``"causal"`` (1-D only, as Keras): ``dilation * (kernel_size - 1)`` before, none after.
      Strings are case-insensitive.
    * an int ``p``: ``p`` on both sides of every spatial dimension;
    * ``rank`` ints: symmetric per dimension; ``rank`` pairs: ``(lo, hi)`` per dimension.
    """
    rank = len(input_size)
    strings = "'valid', 'same', 'causal'" if rank == 1 else "'valid', 'same'"
    rule = (f"padding must be {strings}, a non-negative int, {rank} non-negative ints "
            f"or {rank} (before, after) pairs")

    def non_negative(items: Sequence[object]) -> list[int]:
        try:
            values = [operator.index(_supports_index(item)) for item in items]
        except TypeError:
            raise TypeError(f"{op}: {rule}; got padding={padding!r}") from None
        if any(v < 0 for v in values):
            raise ValueError(f"{op}: {rule}; got padding={padding!r}")
        return values

    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * rank
        if mode == "same":
            return tuple(same_padding(*args) for args in zip(input_size, kernel_size, stride,
                                                              dilation))
        if mode == "causal" and rank == 1:
            return ((dilation[0] * (kernel_size[0] - 1), 0),)
        raise ValueError(f"{op}: {rule}; got padding={padding!r}")
    if not isinstance(padding, Sequence):
        return tuple((p, p) for p in non_negative([padding] * rank))
    items: list[object] = list(padding)
    pairs = [p for p in items if isinstance(p, Sequence) and not isinstance(p, str)]
    if items and len(pairs) == len(items):
        if len(pairs) != rank or any(len(p) != 2 for p in pairs):
            raise ValueError(f"{op}: {rule}; got padding={padding!r}")
        values = non_negative([v for pair in pairs for v in pair])
        return tuple(zip(values[::2], values[1::2]))
    if len(items) == 1:
        items = items * rank
    if len(items) != rank:
        raise ValueError(f"{op}: {rule}; got padding={padding!r}")
    return tuple((p, p) for p in non_negative(items))


@overload
def output_shape(input_size: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: PaddingLike = 0,
                 dilation: int | Sequence[int] = 1) -> int: ...
@overload
def output_shape(input_size: Sequence[int], kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: PaddingLike = 0,
                 dilation: int | Sequence[int] = 1) -> tuple[int, ...]: ...
def output_shape(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingLike = 0,
    dilation: int | Sequence[int] = 1,
) -> int | tuple[int, ...]:
    """Spatial output size of a convolution, the formula every framework uses.

    Parameters
    ----------
    input_size : int or sequence of int
        Spatial size of the input (``w`` or ``(h, w)`` or ``(d, h, w)``).
    kernel_size : int or sequence of int
        Kernel size ``f`` per dimension.
    stride : int or sequence of int
        Step ``s`` of the kernel.
    padding : int, sequence, or {"valid", "same"}
        Zeros added per side ``p`` (an int, one int per dimension, or ``(before, after)`` pairs),
        or TensorFlow's ``"valid"`` (none) / ``"same"`` (``out = ceil(in / s)``).
    dilation : int or sequence of int
        Spacing ``d`` between kernel taps (1 means none).

    Returns
    -------
    int or tuple of int
        ``floor((w + p_before + p_after - d * (f - 1) - 1) / s) + 1`` per dimension; an int when
        ``input_size`` is an int.  With symmetric padding and no dilation this is the lecture's
        ``w' = (w - f + 2p) / s + 1``.

    Raises
    ------
    ValueError
        When a size, stride or dilation is not positive, a padding is negative, or the
        (dilated) kernel is larger than the padded input.

    Examples
    --------
    >>> output_shape(4, 3)
    2
    >>> output_shape((28, 28), 5, stride=2, padding="same")
    (14, 14)
    >>> output_shape(32, 3, padding=1, dilation=2)
    30
    """
    scalar = not isinstance(input_size, Sequence)
    rank = 1 if scalar else len(input_size)  # type: ignore[arg-type]
    op = "output_shape"
    sizes = normalize_tuple(input_size, rank, "input_size", op)
    spec = ConvSpec(
        batch=1,
        input_size=sizes,
        in_channels=1,
        kernel_size=(kernels := normalize_tuple(kernel_size, rank, "kernel_size", op)),
        out_channels=1,
        stride=(strides := normalize_tuple(stride, rank, "stride", op)),
        dilation=(dilations := normalize_tuple(dilation, rank, "dilation", op)),
        padding=normalize_padding(padding, sizes, kernels, strides, dilations, op),
    )
    check_kernel_fits(spec, op)
    return spec.output_size[0] if scalar else spec.output_size


def transpose_output_size(
    size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: str | Sequence[int],
    dilation: Sequence[int],
    output_padding: Sequence[int] | None,
) -> tuple[int, ...]:
    """Spatial output size of a transposed convolution (PyTorch's and Keras' rules).

    With ``k = dilation * (kernel_size - 1) + 1`` per dimension and PyTorch's int padding::

        (size - 1) * stride + k - 2 * padding + output_padding

    For Keras' "valid" and "same" it is ``transpose_geometry``'s size.
    """
    if isinstance(padding, str):
        return transpose_geometry(size, kernel_size, stride, padding, dilation,
                                  output_padding)[0]
    extra = output_padding or (0,) * len(size)
    return tuple((n - 1) * s + d * (k - 1) + 1 - 2 * p + o for n, k, s, p, d, o in
                 zip(size, kernel_size, stride, padding, dilation, extra))


def transpose_geometry(
    size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: str,
    dilation: Sequence[int],
    output_padding: Sequence[int] | None,
) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """Keras' transposed convolution as the input gradient of a convolution: the output size
    and the per-side padding of that convolution (Keras 3's rule, as its JAX backend and
    TensorFlow compute it).

    Per dimension, with ``k = dilation * (kernel_size - 1) + 1`` and ``p`` the output padding,
    the stride-dilated input is padded by ``(left, right)`` and correlated with the kernel::

        valid   p = max(k, stride) - k if None;  left = k - 1,  right = k - 1 + p
        same    L = stride + k - 2 if p is None else k + k % 2 - 2 + p
                left = min(ceil(L / 2), k - 1),  right = L - left
        size'   = (size - 1) * stride + left + right - k + 2

    The convolution mapping the output back has padding ``(k - 1 - left, k - 1 - right)``;
    a negative ``k - 1 - right`` (never below ``1 - stride``) means the last rows of the
    output are read by no window, so padding 0 gives the same convolution.
    """
    out, pads = [], []
    for i, n in enumerate(size):
        k = dilation[i] * (kernel_size[i] - 1) + 1
        s = stride[i]
        extra = None if output_padding is None else output_padding[i]
        if padding == "valid":
            extra = max(k, s) - k if extra is None else extra
            left, right = k - 1, k - 1 + extra
        else:
            total = s + k - 2 if extra is None else k + k % 2 - 2 + extra
            left = min(-(-total // 2), k - 1)
            right = total - left
        out.append((n - 1) * s + left + right - k + 2)
        pads.append((k - 1 - left, max(k - 1 - right, 0)))
    return tuple(out), tuple(pads)


def pooling_geometry(
    size: Sequence[int], pool_size: Sequence[int], strides: Sequence[int], padding: str, op: str
) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """Per-side padding and output size of a pooling window over spatial ``size``.

    The convolution's rule with dilation 1 (``floor((P - pool) / stride) + 1``, ``P`` the padded
    size, TensorFlow's SAME padding for "same"); raises when the pool is larger than the input.
    """
    pads = normalize_padding(padding, size, pool_size, strides, (1,) * len(size), op)
    spec = ConvSpec(batch=1, input_size=tuple(size), in_channels=1, kernel_size=tuple(pool_size),
                    out_channels=1, stride=tuple(strides), dilation=(1,) * len(size),
                    padding=pads)
    if any(o < 1 for o in spec.output_size):
        raise ValueError(f"{op}: the pool is larger than the input. Received: "
                         f"pool_size={tuple(pool_size)}, input spatial size={tuple(size)}")
    return pads, spec.output_size


def check_kernel_fits(spec: ConvSpec, op: str) -> None:
    """Raise when the dilated kernel is larger than the padded input in some dimension."""
    for axis, (padded, effective, size, kernel, dil, pad) in enumerate(zip(
        spec.padded_size, spec.effective_kernel_size, spec.input_size, spec.kernel_size,
        spec.dilation, spec.padding,
    )):
        if effective > padded:
            dilated = f" (kernel size {kernel} with dilation {dil})" if dil > 1 else ""
            raise ValueError(
                f"{op}: the kernel is larger than the padded input in spatial dimension {axis}: "
                f"effective kernel size {effective}{dilated} > padded input size {padded} "
                f"(input size {size}, padding {pad}); use a smaller kernel or dilation, "
                f"or more padding"
            )


def make_spec(
    op: str,
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    *,
    rank: int,
    stride: object = 1,
    padding: PaddingLike = 0,
    dilation: object = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    data_format: DataFormat = "channels_last",
    weight_format: WeightFormat = "HWIO",
    input_name: str = "input",
    weight_name: str = "filters",
    stride_name: str = "stride",
    dilation_name: str = "dilation",
) -> ConvSpec:
    """Validate one call's arguments against the arrays' shapes and build its ``ConvSpec``.

    ``input_shape`` is in ``data_format`` and ``weight_shape`` in ``weight_format``, as the
    caller gave them; messages quote them so, and name ``op``, ``input_name``,
    ``weight_name``, ``stride_name`` and ``dilation_name`` (TensorFlow's are plural).

    The spec is a pure function of the arguments, so a call whose arguments equal an earlier
    one's, type for type (``_Call``), gets the earlier spec back without the checks (a few
    microseconds against some 30; a training step repeats the same few convolutions).  A
    call that raises is never remembered, so every error is raised afresh.
    """
    arguments = (op, input_shape, weight_shape, rank, stride, padding, dilation, groups,
                 padding_mode, data_format, weight_format, input_name, weight_name,
                 stride_name, dilation_name)
    try:
        call = _Call(arguments)
    except TypeError:  # an argument of another type: checked (and refused, or not) as it is
        return _build_spec(*arguments)
    return _remembered_spec(call)


class _Call:
    """A call's arguments, equal to another's only when every value and its type are equal
    (``1``, ``True``, ``1.0`` and ``np.int64(1)`` differ, as do a list and a tuple: their
    messages quote them differently).  Raises TypeError for values of any other type."""

    __slots__ = ("arguments", "key")

    def __init__(self, arguments: tuple[object, ...]) -> None:
        self.arguments = arguments
        self.key = _frozen(arguments)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Call) and self.key == other.key


_SCALARS = (bool, float, type(None), np.int64, np.int32, np.bool_)


def _frozen(value: object) -> object:
    """``value`` (ints, strings, ``_SCALARS``, and lists and tuples of them) as a hashable key
    that names every type but int's and str's (no value of another type equals those)."""
    kind = type(value)
    if kind is int or kind is str:
        return value
    if isinstance(value, (tuple, list)):  # its own type too: a list and a tuple differ
        return (kind, tuple([v if type(v) is int or type(v) is str else _frozen(v)
                             for v in value]))
    if kind in _SCALARS:
        return (kind, value)
    raise TypeError(f"not remembered: {kind.__name__}")


@lru_cache(maxsize=256)
def _remembered_spec(call: _Call) -> ConvSpec:
    return _build_spec(*call.arguments)  # type: ignore[arg-type]


def _build_spec(
    op: str,
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    rank: int,
    stride: object,
    padding: PaddingLike,
    dilation: object,
    groups: int,
    padding_mode: str,
    data_format: DataFormat,
    weight_format: WeightFormat,
    input_name: str,
    weight_name: str,
    stride_name: str,
    dilation_name: str,
) -> ConvSpec:
    """``make_spec``'s checks and arithmetic."""
    input_layout = input_layout_name(rank, data_format)
    weight_layout = layout_names(rank, weight_format)
    if len(input_shape) != rank + 2:
        raise ValueError(
            f"{op}: {input_name} must be {rank + 2}-D ({input_layout}); "
            f"got {input_name}.shape={tuple(input_shape)}"
        )
    if len(weight_shape) != rank + 2:
        raise ValueError(
            f"{op}: {weight_name} must be {rank + 2}-D ({weight_layout}); "
            f"got {weight_name}.shape={tuple(weight_shape)}"
        )
    if data_format == "channels_last":
        batch, *size, channels = input_shape
    else:
        batch, channels, *size = input_shape
    if weight_format == "HWIO":
        *kernel, group_channels, out_channels = weight_shape
        in_axis = rank
    else:
        out_channels, group_channels, *kernel = weight_shape
        in_axis = 1
    groups = normalize_groups(groups, op)
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"{op}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}; "
            f"got padding_mode={padding_mode!r}"
        )
    if channels % groups:
        raise ValueError(
            f"{op}: groups must divide the input channels; got {channels} input channels "
            f"and groups={groups} ({input_name}.shape={tuple(input_shape)})"
        )
    if out_channels % groups:
        raise ValueError(
            f"{op}: groups must divide the output channels; got {out_channels} output channels "
            f"and groups={groups} ({weight_name}.shape={tuple(weight_shape)})"
        )
    if group_channels * groups != channels:
        raise ValueError(
            f"{op}: {input_name} {'have' if input_name.endswith('s') else 'has'} {channels} "
            f"channel{'' if channels == 1 else 's'} but {weight_name} "
            f"{'expect' if weight_name.endswith('s') else 'expects'} "
            f"{group_channels * groups} ({weight_name}.shape={tuple(weight_shape)}, "
            f"groups={groups}); the {_ORDINALS[in_axis]} dimension of {weight_layout} "
            f"{weight_name} must equal input channels / groups"
        )
    if any(k < 1 for k in kernel):
        raise ValueError(
            f"{op}: {weight_name} must have a positive kernel size; "
            f"got {weight_name}.shape={tuple(weight_shape)}"
        )
    if any(n < 0 for n in size) or (padding_mode != "zeros" and any(n < 1 for n in size)):
        what = "positive" if padding_mode != "zeros" else "non-negative"
        raise ValueError(
            f"{op}: {input_name} must have {what} spatial sizes"
            + (f" with padding_mode={padding_mode!r}" if padding_mode != "zeros" else "")
            + f"; got {input_name}.shape={tuple(input_shape)}"
        )
    strides = normalize_tuple(stride, rank, stride_name, op)
    dilations = normalize_tuple(dilation, rank, dilation_name, op)
    spec = ConvSpec(
        batch=batch,
        input_size=tuple(size),
        in_channels=channels,
        kernel_size=tuple(kernel),
        out_channels=out_channels,
        stride=strides,
        dilation=dilations,
        padding=normalize_padding(padding, size, kernel, strides, dilations, op),
        groups=groups,
        padding_mode=padding_mode,  # type: ignore[arg-type]
        data_format=data_format,
        weight_format=weight_format,
    )
    check_kernel_fits(spec, op)
    if padding_mode == "reflect":
        for axis, (n, (lo, hi)) in enumerate(zip(spec.input_size, spec.padding)):
            if max(lo, hi) >= n:
                raise ValueError(
                    f"{op}: padding_mode='reflect' needs padding smaller than the input size; "
                    f"got padding {(lo, hi)} for size {n} in spatial dimension {axis}"
                )
    return spec
