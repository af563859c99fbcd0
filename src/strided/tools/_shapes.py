"""Output sizes, padding and parameter counts of a stack of conv and pooling layers, in words.

A layer is written ``kind:key=value,...`` (``conv:filters=16,kernel=5,stride=2,padding=same``)
or with values in order (``conv:16,5,2,same``: filters, kernel, stride, padding, dilation;
``pool:2`` for pooling: kernel, stride, padding).  ``describe_stack`` walks an input through the
stack and says, for every layer, the formula with its numbers, the padding each side gets and
the parameter count; an impossible configuration raises a ValueError that says why.

Conventions: "tf" (TensorFlow/Keras: input H x W x C, padding "valid" or "same" at any
stride) and "torch" (PyTorch: input C x H x W, padding an int, "valid", or "same" at stride 1
only; pooling padding at most half the kernel).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._spec import same_padding

__all__ = ["LayerSpec", "LayerStep", "describe_stack", "parse_layer", "parse_size",
           "receptive_field_counts", "receptive_field_size", "stack_steps"]

CONVENTIONS = ("tf", "torch")
_KINDS = ("conv", "pool")
_CONV_KEYS = ("filters", "kernel", "stride", "padding", "dilation", "groups", "bias")
_POOL_KEYS = ("kernel", "stride", "padding")
_ALIASES = {"k": "kernel", "kernel_size": "kernel", "size": "kernel", "pool_size": "kernel",
            "s": "stride", "strides": "stride", "p": "padding", "f": "filters",
            "dilation_rate": "dilation", "d": "dilation", "use_bias": "bias",
            "out_channels": "filters"}
_KIND_ALIASES = {"conv2d": "conv", "convolution": "conv", "c": "conv", "maxpool": "pool",
                 "max": "pool", "avgpool": "pool", "avg": "pool", "pooling": "pool",
                 "maxpool2d": "pool", "maxpooling2d": "pool", "p": "pool"}


@dataclass(frozen=True)
class LayerSpec:
    """One layer: "conv" (with ``filters``) or "pool" (no parameters, channels unchanged)."""

    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int] = "valid"
    dilation: tuple[int, int] = (1, 1)
    filters: int | None = None
    groups: int = 1
    bias: bool = True

    def title(self) -> str:
        """E.g. ``conv 16 filters 5x5, stride 2, padding same``."""
        kh, kw = self.kernel
        words = [f"conv {self.filters} filters {kh}x{kw}" if self.kind == "conv"
                 else f"pool {kh}x{kw}"]
        words.append("stride " + _pair_text(self.stride))
        pad = self.padding if isinstance(self.padding, str) else _pair_text(self.padding)
        words.append(f"padding {pad}")
        if self.dilation != (1, 1):
            words.append("dilation " + _pair_text(self.dilation))
        if self.groups != 1:
            words.append(f"groups {self.groups}")
        if self.kind == "conv" and not self.bias:
            words.append("no bias")
        return ", ".join(words)


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _int(text: str, key: str, layer: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"layer {layer!r}: {key} must be an integer; got {key}={text!r}"
                         ) from None
    if value < minimum:
        raise ValueError(f"layer {layer!r}: {key} must be at least {minimum}; got "
                         f"{key}={value}")
    return value


def _pair(text: str, key: str, layer: str, minimum: int = 1) -> tuple[int, int]:
    parts = re.split(r"[x*,]", text.strip())
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        what = "an integer N or HxW" if len(parts) == 2 else "N or HxW"
        raise ValueError(f"layer {layer!r}: {key} must be {what}; got {key}={text!r}")
    return _int(parts[0], key, layer, minimum), _int(parts[1], key, layer, minimum)


def parse_size(text: str, convention: str = "tf") -> tuple[int, int, int]:
    """An input size ``HxWxC`` ("tf"), ``CxHxW`` ("torch") or ``HxW``, as ``(H, W, C)``.

    Examples
    --------
    >>> parse_size("28x28x1"), parse_size("3x32x32", "torch"), parse_size("5x7")
    ((28, 28, 1), (32, 32, 3), (5, 7, 1))
    """
    _check_convention(convention)
    parts = [p for p in re.split(r"[x*,\s]+", text.strip().lower()) if p]
    rule = ("must be HxW or " + ("HxWxC (e.g. 28x28x1)" if convention == "tf"
                                 else "CxHxW (e.g. 1x28x28)"))
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"input size {rule}; got {text!r}") from None
    if len(numbers) not in (2, 3) or any(n < 1 for n in numbers):
        raise ValueError(f"input size {rule}, with positive numbers; got {text!r}")
    if len(numbers) == 2:
        return numbers[0], numbers[1], 1
    if convention == "torch":
        return numbers[1], numbers[2], numbers[0]
    return numbers[0], numbers[1], numbers[2]


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be 'tf' or 'torch'; got convention={convention!r}")


def parse_layer(text: str, convention: str = "tf") -> LayerSpec:
    """A layer from ``kind:key=value,...`` or ``kind:v1,v2,...`` (see the module docstring).

    Examples
    --------
    >>> parse_layer("conv:16,5,2,same").title()
    'conv 16 filters 5x5, stride 2, padding same'
    >>> parse_layer("pool:2").title()
    'pool 2x2, stride 2, padding valid'
    """
    _check_convention(convention)
    kind_text, _, rest = text.strip().partition(":")
    kind = _KIND_ALIASES.get(kind_text.strip().lower(), kind_text.strip().lower())
    if kind not in _KINDS:
        raise ValueError(f"layer {text!r}: the kind must be 'conv' or 'pool' (then ':' and the "
                         f"values, e.g. 'conv:filters=16,kernel=5,stride=2,padding=same' or "
                         f"'pool:2'); got {kind_text!r}")
    keys = _CONV_KEYS if kind == "conv" else _POOL_KEYS
    values: dict[str, str] = {}
    for position, item in enumerate(p for p in re.split(r"[,;\s]+", rest.strip()) if p):
        if "=" in item:
            key, _, value = item.partition("=")
            key = _ALIASES.get(key.strip().lower(), key.strip().lower())
        elif position < len(keys):
            key, value = keys[position], item
        else:
            raise ValueError(f"layer {text!r}: too many values; a {kind} layer takes "
                             f"{', '.join(keys)}")
        if key not in keys:
            raise ValueError(f"layer {text!r}: unknown setting {key!r}; a {kind} layer takes "
                             f"{', '.join(keys)}")
        values[key] = value.strip()
    return layer_from_values(kind, values, convention, text)


def layer_from_values(kind: str, values: dict[str, str], convention: str = "tf",
                      text: str | None = None) -> LayerSpec:
    """A ``kind`` layer from settings given one by one (``{"kernel": "5,3", ...}``); each value
    is parsed on its own (``N``, ``HxW`` or ``H,W``), so none can set another."""
    _check_convention(convention)
    text = text if text is not None else f"{kind}:" + ",".join(
        f"{key}={value}" for key, value in values.items())
    if "kernel" not in values:
        raise ValueError(f"layer {text!r}: the kernel size is missing, e.g. '{kind}:kernel=3'"
                         if kind == "pool" else
                         f"layer {text!r}: the kernel size is missing, e.g. "
                         f"'conv:filters=16,kernel=3'")
    kernel = _pair(values["kernel"], "kernel", text)
    default_stride = "x".join(map(str, kernel)) if kind == "pool" else "1"
    stride = _pair(values.get("stride", default_stride), "stride", text)
    pad_text = values.get("padding", "valid").lower()
    padding: str | tuple[int, int]
    if pad_text in ("valid", "same"):
        padding = pad_text
    else:
        if convention == "tf":
            raise ValueError(f"layer {text!r}: TensorFlow/Keras padding is 'valid' or 'same'; "
                             f"got padding={pad_text!r} (numbers are PyTorch's convention: "
                             f"use --convention torch)")
        padding = _pair(pad_text, "padding", text, minimum=0)
    if kind == "pool":
        return LayerSpec("pool", kernel, stride, padding)
    if "filters" not in values:
        raise ValueError(f"layer {text!r}: a conv layer needs a number of filters, e.g. "
                         f"'conv:filters=16,kernel=3'")
    bias_text = values.get("bias", "true").lower()
    if bias_text not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"layer {text!r}: bias must be true or false; got bias={bias_text!r}")
    return LayerSpec("conv", kernel, stride, padding,
                     dilation=_pair(values.get("dilation", "1"), "dilation", text),
                     filters=_int(values["filters"], "filters", text),
                     groups=_int(values.get("groups", "1"), "groups", text),
                     bias=bias_text in ("true", "1", "yes"))


@dataclass(frozen=True)
class LayerStep:
    """One layer applied: sizes in and out, padding per side, parameters, and the words."""

    index: int
    layer: LayerSpec
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    parameters: int
    lines: list[str] = field(default_factory=list)


def _shape_text(shape: tuple[int, int, int], convention: str) -> str:
    h, w, c = shape
    return f"{h} x {w} x {c} (H x W x C)" if convention == "tf" else f"{c} x {h} x {w} (C x H x W)"


def _axis(name: str, where: tuple[str, str], size: int, kernel: int, stride: int,
          dilation: int, padding: str | int, layer: LayerSpec, index: int, convention: str,
          ) -> tuple[int, tuple[int, int], list[str]]:
    """Output size and padding along one axis, with the arithmetic written out."""
    lines: list[str] = []
    span = dilation * (kernel - 1) + 1
    label = f"layer {index} ({layer.title()})"
    if dilation > 1:
        lines.append(f"{name}: the kernel {kernel} dilated by {dilation} spans "
                     f"{dilation} * ({kernel} - 1) + 1 = {span} cells")
    if padding == "same":
        if convention == "torch" and stride > 1:
            raise ValueError(f"{label} is impossible in PyTorch: padding='same' needs stride 1 "
                             f"(got stride {stride}); TensorFlow allows it (output = "
                             f"ceil(input / stride)): use --convention tf, or give the padding "
                             f"as a number")
        out = -(-size // stride)
        lo, hi = same_padding(size, kernel, stride, dilation)
        total = lo + hi
        lines.append(f"{name}: SAME -> output = ceil({size} / {stride}) = {out}")
        lines.append(f"{' ' * len(name)}  padding = max(({out} - 1) * {stride} + {span} - {size}, "
                     f"0) = {total} -> {lo} {where[0]}, {hi} {where[1]}"
                     + ("  (the odd cell goes after)" if lo != hi else ""))
    else:
        lo = hi = 0 if padding == "valid" else int(padding)
    padded = size + lo + hi
    if span > padded:
        raise ValueError(
            f"{label} is impossible: along the {name} the {span}-cell kernel does not fit in "
            f"the input of {size} cells plus padding {lo} + {hi} = {padded} cells; use a "
            f"smaller kernel, more padding, 'same' padding, or a larger input")
    if layer.kind == "pool" and convention == "torch" and 2 * max(lo, hi) > kernel:
        raise ValueError(f"{label} is impossible in PyTorch: pooling padding must be at most "
                         f"half the kernel size; got padding {max(lo, hi)} for kernel {kernel}")
    out = (padded - span) // stride + 1
    lead = f"{name}: " if padding != "same" else " " * (len(name) + 2)
    lines.append(f"{lead}({size} + {lo} + {hi} - {span}) // {stride} + 1 = "
                 f"{padded - span} // {stride} + 1 = {out}")
    unused = (padded - span) % stride
    if unused:
        cells = "row" if name == "height" else "column"
        lines.append(f"{' ' * (len(name) + 2)}{padded - span} is not a multiple of the stride "
                     f"{stride}: the last {unused} {cells}(s) of the padded input are never read")
    return out, (lo, hi), lines


def stack_steps(input_shape: tuple[int, int, int], layers: Sequence[LayerSpec],
                convention: str = "tf") -> list[LayerStep]:
    """Apply ``layers`` to an input of ``(H, W, C)`` in turn; raise if one is impossible."""
    _check_convention(convention)
    steps: list[LayerStep] = []
    shape = input_shape
    for index, layer in enumerate(layers, start=1):
        h, w, c = shape
        pad_h = layer.padding if isinstance(layer.padding, str) else layer.padding[0]
        pad_w = layer.padding if isinstance(layer.padding, str) else layer.padding[1]
        oh, ph, lines_h = _axis("height", ("top", "bottom"), h, layer.kernel[0], layer.stride[0],
                                layer.dilation[0], pad_h, layer, index, convention)
        ow, pw, lines_w = _axis("width", ("left", "right"), w, layer.kernel[1], layer.stride[1],
                                layer.dilation[1], pad_w, layer, index, convention)
        lines = [f"layer {index}: {layer.title()}", f"  input  {_shape_text(shape, convention)}"]
        lines += ["  " + line for line in lines_h]
        if (h, layer.kernel[0], layer.stride[0], layer.dilation[0], pad_h) == (
                w, layer.kernel[1], layer.stride[1], layer.dilation[1], pad_w):
            lines.append("  width:  the same as the height")
        else:
            lines += ["  " + line for line in lines_w]
        if layer.kind == "conv":
            filters = layer.filters or 0
            if c % layer.groups or filters % layer.groups:
                raise ValueError(f"layer {index} ({layer.title()}) is impossible: groups "
                                 f"{layer.groups} must divide both the {c} input channels and "
                                 f"the {filters} filters")
            per = c // layer.groups
            weights = layer.kernel[0] * layer.kernel[1] * per * filters
            biases = filters if layer.bias else 0
            params = weights + biases
            out_shape = (oh, ow, filters)
            per_text = f"{c}" if layer.groups == 1 else f"({c} / {layer.groups})"
            lines.append(f"  output {_shape_text(out_shape, convention)}")
            lines.append(f"  parameters: {layer.kernel[0]} * {layer.kernel[1]} * {per_text} * "
                         f"{filters} weights + {biases} bias{'' if biases == 1 else 'es'} = "
                         f"{params:,}")
        else:
            params = 0
            out_shape = (oh, ow, c)
            lines.append(f"  output {_shape_text(out_shape, convention)}")
            lines.append("  parameters: 0 (pooling has no weights; channels unchanged)")
        steps.append(LayerStep(index, layer, shape, out_shape, (ph, pw), params, lines))
        shape = out_shape
    return steps


def describe_stack(input_shape: tuple[int, int, int], layers: Sequence[LayerSpec],
                   convention: str = "tf") -> str:
    """The whole calculation as text: the formula, then each layer's numbers, then the totals.

    Raises
    ------
    ValueError
        When a layer is impossible; the message names the layer and says why.

    Examples
    --------
    >>> text = describe_stack((28, 28, 1), [parse_layer("conv:16,5,2,same")])
    >>> print(text.splitlines()[-1])
    total: 28 x 28 x 1 (H x W x C) -> 14 x 14 x 16 (H x W x C), 416 parameters
    """
    steps = stack_steps(input_shape, layers, convention)
    name = "TensorFlow/Keras" if convention == "tf" else "PyTorch"
    lines = [f"convention: {name}",
             "output = (input + pad_before + pad_after - kernel) // stride + 1",
             "  (kernel = dilation * (kernel_size - 1) + 1 when dilated; "
             "SAME: output = ceil(input / stride))", ""]
    for step in steps:
        lines += [*step.lines, ""]
    total = sum(step.parameters for step in steps)
    final = steps[-1].output_shape if steps else input_shape
    lines.append(f"total: {_shape_text(input_shape, convention)} -> "
                 f"{_shape_text(final, convention)}, {total:,} parameters")
    return "\n".join(lines)


def receptive_field_counts(input_size: tuple[int, int], layers: Sequence[LayerSpec],
                           at: tuple[int, int], convention: str = "tf") -> list[np.ndarray]:
    """For output pixel ``at`` of the last layer, how many paths reach each cell of each layer.

    Returns
    -------
    list of numpy.ndarray
        ``counts[0]`` has the input's size (H, W), ``counts[i]`` the size of layer ``i``'s
        output; ``counts[-1]`` is 1 at ``at`` and 0 elsewhere.  Padding cells are not counted.
        The receptive field of ``at`` is where ``counts[0] > 0``.
    """
    steps = stack_steps((*input_size, 1), layers, convention)
    sizes = [tuple(input_size)] + [step.output_shape[:2] for step in steps]
    final = sizes[-1]
    row, col = at
    if not (0 <= row < final[0] and 0 <= col < final[1]):
        raise ValueError(f"receptive field: output position ({row}, {col}) is outside the "
                         f"{final[0]}x{final[1]} output of the stack; rows are "
                         f"0..{final[0] - 1} and columns 0..{final[1] - 1}")
    counts = [np.zeros(size, dtype=np.float64) for size in sizes]
    counts[-1][row, col] = 1
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        (top, bottom), (left, right) = step.padding
        h, w = sizes[index]
        padded = np.zeros((h + top + bottom, w + left + right))
        oh, ow = sizes[index + 1]
        (sh, sw), (dh, dw) = step.layer.stride, step.layer.dilation
        for m in range(step.layer.kernel[0]):
            for n in range(step.layer.kernel[1]):
                padded[m * dh:m * dh + (oh - 1) * sh + 1:sh,
                       n * dw:n * dw + (ow - 1) * sw + 1:sw] += counts[index + 1]
        counts[index] = padded[top:top + h, left:left + w]
    return counts


def receptive_field_size(layers: Sequence[LayerSpec]) -> tuple[int, int]:
    """The receptive field's size through ``layers`` ignoring borders: ``1 + sum (k-1) * jump``."""
    size = [1, 1]
    jump = [1, 1]
    for layer in layers:
        for axis in range(2):
            span = layer.dilation[axis] * (layer.kernel[axis] - 1) + 1
            size[axis] += (span - 1) * jump[axis]
            jump[axis] *= layer.stride[axis]
    return size[0], size[1]



