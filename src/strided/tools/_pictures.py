"""Pictures of convolution with matplotlib (the Agg canvas only; pyplot is never imported).

* ``plot_explanation`` / ``animate_explanation``: the lecture's sliding-kernel slides, for
  any input, kernel, stride and padding, as a PNG or an animated GIF;
* ``plot_filter_bank``: kernels as a grid of coloured, numbered cells;
* ``plot_feature_maps``: an image through a layer, a list of layers or any model;
* ``plot_receptive_field``: which input cells an output pixel sees through a stack of layers;
* ``plot_connectivity``: a convolution's input-to-output connections and parameter count next
  to a fully connected layer of the same sizes ("partially connected").

Every function writes its PNG atomically and returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._explain import Explanation, format_number
from ._images import write_atomic
from ._shapes import LayerSpec, receptive_field_counts, receptive_field_size, stack_steps

__all__ = ["animate_explanation", "plot_connectivity", "plot_explanation",
           "plot_feature_maps", "plot_filter_bank", "plot_receptive_field"]

PathLike = str | os.PathLike[str]

_PADDING = "#d9d9d9"
_FIELD = "#ffd27f"
_HIGHLIGHT = "#ff9f40"
_FIELD_PADDING = "#e3c690"
_BLANK = "#ffffff"
_DPI = 100
#: An animation shows at most this many positions (evenly spaced past it): about 45 s at
#: 700 ms a frame, and each large frame takes about 0.3 s to draw.
MAX_FRAMES = 64


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: PathLike) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"cannot write picture {str(path)!r}: pictures are PNG files; "
                         f"give a name ending in .png")
    from PIL import Image

    # Render, then store with a 256-colour palette: plots and grey maps lose nothing visible
    # and the file is several times smaller.
    figure.set_facecolor("white")
    figure.canvas.draw()
    rgb = np.asarray(figure.canvas.buffer_rgba())[..., :3]
    image = Image.fromarray(np.ascontiguousarray(rgb)).quantize(
        256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return write_atomic(path, lambda name: image.save(name, format="PNG", optimize=True))


#: Panels with more cells than this per side are drawn as shades, without numbers.
NUMBERED_CELLS = 16


def _cells(ax: Any, values: np.ndarray, colours: np.ndarray, title: str,
           italic: np.ndarray | None = None, show: np.ndarray | None = None,
           cell_points: float = 40.0) -> None:
    """A grid of numbered cells, each with its own background colour; the numbers' size fits
    the longest of them in a cell of ``cell_points`` points.  Larger grids (more than
    ``NUMBERED_CELLS`` a side) are shades of grey under the colours, without numbers."""
    from matplotlib.colors import to_rgb

    h, w = values.shape
    rgb = np.array([[to_rgb(c) for c in row] for row in colours])
    numbered = max(h, w) <= NUMBERED_CELLS
    if not numbered:  # the values as greys, the highlights (non-white cells) over them
        v = np.asarray(values, dtype=np.float64)
        low, high = float(v.min()), float(v.max())
        grey = (v - low) / (high - low) if high > low else np.full(v.shape, 0.5)
        shade = np.repeat((0.15 + 0.8 * grey)[..., None], 3, axis=-1)
        white = np.all(rgb == 1, axis=-1)
        rgb = np.where(white[..., None], shade, 0.35 * shade + 0.65 * rgb)
        if show is not None:
            rgb = np.where(show[..., None], rgb, 1.0)
    ax.imshow(rgb, interpolation="nearest")
    if numbered:
        texts = [[_compact(values[i, j]) for j in range(w)] for i in range(h)]
        longest = max(len(t) for row in texts for t in row)
        size = max(4.0, min(14.0, 0.8 * cell_points / max(0.62 * longest, 1.2)))
        for i in range(h):
            for j in range(w):
                if show is not None and not show[i, j]:
                    continue
                style = "italic" if italic is not None and italic[i, j] else "normal"
                colour = "#555555" if style == "italic" else "black"
                ax.text(j, i, texts[i][j], ha="center", va="center",
                        fontsize=size, fontstyle=style, color=colour)
        ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
        ax.grid(which="minor", color="#888888", linewidth=0.8)
        ax.set_xticks(range(w))
        ax.set_yticks(range(h))
    else:
        ax.set_xticks([0, w - 1])
        ax.set_yticks([0, h - 1])
    ax.tick_params(which="both", length=0, labelsize=7)
    ax.set_title(title, fontsize=10)


def _compact(value: float) -> str:
    """A number for a cell: integers whole, others to 4 significant digits, and no exponent
    below 1e7 (61740.94 is "61741", not "6.174e+04")."""
    value = float(value)
    if value.is_integer() or 1e4 <= abs(value) < 1e7:
        return f"{value:.0f}"
    return format_number(value)


def _padding_text(padding: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """E.g. "padding 1" or "padding top 0, bottom 1, left 0, right 1"."""
    (top, bottom), (left, right) = padding
    if top == bottom == left == right:
        return f"padding {top}"
    return f"padding top {top}, bottom {bottom}, left {left}, right {right}"


def _wrapped(text: str, width: int, lines: int = 3) -> list[str]:
    """``text`` (terms joined by " + ") in at most ``lines`` lines of ``width`` characters."""
    out: list[str] = []
    current = ""
    for term in text.split(" + "):
        piece = term if not current else f"{current} + {term}"
        if len(piece) <= width or not current:
            current = piece
            continue
        out.append(current + " +")
        current = term
        if len(out) == lines:
            out[-1] = out[-1][:max(width - 6, 1)].rsplit(" + ", 1)[0] + " + ..."
            return out
    out.append(current)
    return out


def _explanation_figure(e: Explanation, at: tuple[int, int], done: int | None = None,
                        dpi: float = _DPI) -> Any:
    """The slide for output ``at``; with ``done``, only the first ``done`` outputs are shown."""
    row, col = e.check_position(*at)
    ph, pw = e.padded.shape
    kh, kw = e.kernel.shape
    oh, ow = e.output.shape
    rows, cols = e.window(row, col)
    total = pw + kw + ow
    cell = min(0.55, 13.5 / total)  # inches per cell, the same in every panel
    width = max(7.0, cell * total + 2.5)
    field = e.padded[rows, cols]
    terms = [f"{_paren(a)}*{_paren(b)}" for a, b in
             zip(field.ravel(), e.applied_kernel.ravel()) if a != 0 and b != 0] or ["0"]
    value = _compact(e.output[row, col])
    sh, sw = e.stride
    heading = (f"V({row}, {col}) = sum of receptive field x kernel   "
             f"(stride {sh if sh == sw else f'{sh}x{sw}'}"
               + (f", {_padding_text(e.padding)}" if e.is_padding.any() else "") + ")")
    width = max(width, 0.58 * 12 / 72 * len(heading) + 0.6)  # the heading fits, 12 pt
    characters = int(width * 72 / (0.6 * 10)) - 4  # monospace 10 pt
    formula = _wrapped(f"V({row}, {col}) = " + " + ".join(terms), characters - len(value) - 3)
    formula[-1] += f" = {value}"
    formula.append("(zero products left out)")
    footer = 0.22 * len(formula) + 0.25
    height = max(3.6, cell * max(ph, kh, oh) + 1.2 + footer)
    figure = _figure(width, height)
    figure.set_dpi(dpi)
    grid = figure.add_gridspec(1, 3, width_ratios=[pw, kw, ow], wspace=0.35, left=0.04,
                               right=0.98, top=1 - 0.85 / height, bottom=(footer + 0.3) / height)
    points = cell * 72 * 0.98
    colours = np.where(e.is_padding, _PADDING, _BLANK).astype(object)
    colours[rows, cols] = np.where(e.is_padding[rows, cols], _FIELD_PADDING, _FIELD)
    has_padding = bool(e.is_padding.any())
    title = "padded input (grey = padding)" if has_padding else "input I"
    ax = figure.add_subplot(grid[0])
    _cells(ax, e.padded, colours, title, italic=e.is_padding, cell_points=points)
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((cols.start - 0.5, rows.start - 0.5), cols.stop - cols.start,
                           rows.stop - rows.start, fill=False,
                           edgecolor="#c05000", linewidth=2.5))
    (top, _), (left, _) = e.padding
    ticks = ax.get_xticks(), ax.get_yticks()
    ax.set_xticklabels([int(t) - left for t in ticks[0]])
    ax.set_yticklabels([int(t) - top for t in ticks[1]])
    kernel_title = "kernel K, flipped" if e.convolve else "kernel K"
    _cells(figure.add_subplot(grid[1]), e.applied_kernel,
           np.full(e.kernel.shape, _FIELD, dtype=object), kernel_title, cell_points=points)
    out_colours = np.full(e.output.shape, _BLANK, dtype=object)
    out_colours[row, col] = _HIGHLIGHT
    index = row * ow + col
    show = None if done is None else (np.arange(oh * ow).reshape(oh, ow) <= index)
    _cells(figure.add_subplot(grid[2]), e.output, out_colours, "output V", show=show,
           cell_points=points)
    figure.suptitle(heading, fontsize=12)
    for index, line in enumerate(formula):
        figure.text(0.5, (footer - 0.1 - 0.22 * index) / height, line, ha="center",
                    va="top", fontsize=10, family="monospace")
    return figure


def _paren(value: float) -> str:
    text = _compact(value)
    return f"({text})" if text.startswith("-") else text


def plot_explanation(explanation: Explanation, path: PathLike,
                     at: tuple[int, int] = (0, 0)) -> Path:
    """The lecture's V(row, col) slide as a PNG: padded input with the receptive field
    highlighted, the kernel, the output with the chosen cell, and the products summed."""
    return _save(_explanation_figure(explanation, at), path)


def animate_explanation(explanation: Explanation, path: PathLike,
                        milliseconds: int = 700) -> Path:
    """An animated GIF of the kernel sliding over the (padded) input, output by output.

    One frame per output position, in row-major order, ``milliseconds`` each; the output
    fills in as the kernel moves.  Past ``MAX_FRAMES`` positions, ``MAX_FRAMES`` of them
    evenly spaced (the output still fills in completely).
    """
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"cannot write animation {str(path)!r}: animations are GIF files; "
                         f"give a name ending in .gif")
    oh, ow = explanation.output.shape
    # at most MAX_FRAMES frames: past that, positions evenly spaced in row-major order
    positions = np.unique(np.linspace(0, oh * ow - 1, min(oh * ow, MAX_FRAMES)).round()
                          ).astype(int)
    frames = []
    for index in positions.tolist():
        figure = _explanation_figure(explanation, divmod(index, ow), done=index, dpi=70)
        figure.canvas.draw()
        rgba = np.asarray(figure.canvas.buffer_rgba())
        frames.append(Image.fromarray(rgba[..., :3].copy()).convert(
            "P", palette=Image.Palette.ADAPTIVE, colors=64))
    return write_atomic(path, lambda name: frames[0].save(
        name, format="GIF", save_all=True, append_images=frames[1:], duration=milliseconds,
        loop=0))


def _as_bank(filters: object) -> tuple[list[np.ndarray], int]:
    if isinstance(filters, np.ndarray) and filters.ndim == 4:  # HWIO
        cin, cout = filters.shape[2:]
        return [filters[:, :, i, o] for o in range(cout) for i in range(cin)], cin
    if isinstance(filters, np.ndarray) and filters.ndim == 3:  # (N, kH, kW)
        return list(filters), 1
    if isinstance(filters, np.ndarray) and filters.ndim == 2:
        return [filters], 1
    bank = [np.asarray(f, dtype=np.float64) for f in filters]  # type: ignore[attr-defined]
    if not bank or any(f.ndim != 2 for f in bank):
        raise ValueError("plot_filter_bank: filters must be 2-D kernels, an (N, kH, kW) stack "
                         "or HWIO filters (kH, kW, C_in, C_out)")
    return bank, 1


def plot_filter_bank(filters: object, path: PathLike, titles: Sequence[str] | None = None,
                     columns: int | None = None, annotate: bool | None = None,
                     shared: bool | None = None) -> Path:
    """A filter bank as a grid: each kernel's taps coloured (red positive, blue negative).

    Parameters
    ----------
    filters : list of 2-D arrays, (N, kH, kW) array, or (kH, kW, C_in, C_out) HWIO filters
        HWIO filters give one row per filter and one column per input channel.
    path : path of the PNG to write
    titles : list of str, optional
    columns : int, optional
        Panels per row (default: C_in for HWIO, else up to 6).
    annotate : bool, optional
        Write each tap's value in its cell (default: for kernels up to 7x7), with the same
        number of decimals in every cell of a kernel (of the bank, when ``shared``).
    shared : bool, optional
        One colour scale for the whole bank, drawn as a colour bar (default: for arrays, such
        as trained HWIO filters); False gives each kernel its own scale (default for a list
        of kernels, such as the catalogue, whose sizes differ).
    """
    shared = isinstance(filters, np.ndarray) if shared is None else shared
    bank, cin = _as_bank(filters)
    if titles is not None and len(titles) != len(bank):
        raise ValueError(f"plot_filter_bank: got {len(titles)} titles for {len(bank)} kernels")
    columns = columns or (cin if cin > 1 else min(6, len(bank)))
    rows = -(-len(bank) // columns)
    kh, kw = bank[0].shape
    panel = max(1.6, min(3.0, 0.35 * max(kh, kw)))
    figure = _figure(panel * columns + 0.8, (panel + 0.45) * rows + 0.3)
    if annotate is None:
        annotate = max(kh, kw) <= 7
    if shared:
        figure.set_layout_engine("constrained", h_pad=0.04, w_pad=0.04)
    whole = max(float(np.max(np.abs(np.asarray(k, dtype=np.float64)))) for k in bank) or 1.0
    image = None
    for index, kernel in enumerate(bank):
        ax = figure.add_subplot(rows, columns, index + 1)
        kernel = np.asarray(kernel, dtype=np.float64)
        own = whole if shared else float(np.max(np.abs(kernel))) or 1.0
        image = ax.imshow(kernel, cmap="RdBu_r", vmin=-own, vmax=own, interpolation="nearest")
        if annotate:
            h, w = kernel.shape
            size = max(5.0, min(11.0, 40 / max(h, w)))
            labels = tap_labels(kernel, whole if shared else None)
            for i in range(h):
                for j in range(w):
                    strong = abs(kernel[i, j]) > 0.6 * own
                    ax.text(j, i, labels[i][j], ha="center", va="center",
                            fontsize=size, color="white" if strong else "black")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            label = titles[index]
        elif cin > 1:
            label = f"filter {index // cin}, channel {index % cin}"
        else:
            label = f"kernel {index}"
        ax.set_title(label, fontsize=9)
    if shared:
        bar = figure.colorbar(image, ax=figure.axes, shrink=0.8, pad=0.02)
        bar.set_label("tap value (one scale for the bank)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    else:
        figure.tight_layout(pad=0.6)
    return _save(figure, path)


def tap_labels(kernel: np.ndarray, scale: float | None = None) -> list[list[str]]:
    """Each tap's value as text, with one number of decimals for the whole kernel: integers
    as integers, ninths as "1/9", else two significant digits of ``scale`` (default the
    kernel's largest magnitude); a value that rounds to zero is "0", never "-0"."""
    values = np.asarray(kernel, dtype=np.float64)
    if np.all(values == np.round(values)):
        return [[str(int(v)) for v in row] for row in values]
    if np.allclose(values * 9, np.round(values * 9), rtol=0, atol=1e-9) and np.all(
            np.abs(np.round(values * 9)) <= 1):
        names = {1: "1/9", -1: "-1/9", 0: "0"}
        return [[names[round(float(v) * 9)] for v in row] for row in values]
    largest = scale or float(np.max(np.abs(values)))
    decimals = int(min(4, max(1, 1 - np.floor(np.log10(largest)))))
    rows = []
    for row in values:
        texts = [f"{v:.{decimals}f}" for v in row]
        rows.append(["0" if float(t) == 0 else t for t in texts])
    return rows


def _apply_model(model: object, batch: np.ndarray) -> np.ndarray:
    if isinstance(model, Sequence) and not isinstance(model, str | bytes):
        out = batch
        for layer in model:
            out = np.asarray(layer(out))
        return out
    if not callable(model):
        raise TypeError(f"plot_feature_maps: model must be a layer, a list of layers or a "
                        f"callable mapping an (N, H, W, C) batch to feature maps; got "
                        f"{type(model).__name__}")
    return np.asarray(model(batch))


def plot_feature_maps(image: np.ndarray, model: object | Callable[[np.ndarray], np.ndarray],
                      path: PathLike, max_maps: int = 16, titles: Sequence[str] | None = None,
                      scale: float = 1 / 255, robust: bool = True) -> Path:
    """The input image and the feature maps a layer, a stack of layers or a model makes of it.

    Parameters
    ----------
    image : numpy.ndarray, (H, W) or (H, W, C)
        Multiplied by ``scale`` (default ``1/255``: pixels in 0..1) before the model sees it.
    model : layer, list of layers, or callable
        Anything mapping an (N, H, W, C) float32 batch to (N, H', W', F) feature maps, such as
        ``strided.layers.Conv2D`` or a model.
    path : path of the PNG to write
    max_maps : int
        Show at most this many maps (the first ones).
    titles : list of str, optional
        One per map shown.
    robust : bool
        Scale each map's grey from its 0.5th to its 99.5th percentile (a few strong edges
        would otherwise leave the rest black); False: from its minimum to its maximum.

    Notes
    -----
    Each map has its own grey scale, so that weak maps stay visible; the true minimum and
    maximum are printed above each map, and the figure says how the greys were scaled.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"plot_feature_maps: image must be (H, W) or (H, W, C); got shape "
                         f"{np.asarray(image).shape}")
    batch = (array.astype(np.float32) * np.float32(scale))[None]
    maps = _apply_model(model, batch)
    if maps.ndim == 3:
        maps = maps[..., None]
    if maps.ndim != 4 or maps.shape[0] != 1:
        raise ValueError(f"plot_feature_maps: the model must return (N, H, W, F) feature maps; "
                         f"got shape {maps.shape}")
    count = min(max_maps, maps.shape[-1])
    if titles is not None and len(titles) < count:
        raise ValueError(f"plot_feature_maps: got {len(titles)} titles for {count} maps")
    columns = min(count + 1, 5)
    rows = -(-(count + 1) // columns)
    h, w = maps.shape[1:3]
    panel = 2.4
    aspect = h / w
    figure = _figure(panel * columns, (panel * aspect + 0.6) * rows + 0.35)
    # constrained layout leaves each row's two-line titles their own room, whatever the
    # image's aspect (tight_layout let the second row's titles run under the first's images)
    figure.set_layout_engine("constrained", h_pad=0.04, w_pad=0.04)
    ax = figure.add_subplot(rows, columns, 1)
    shown = array[..., 0] if array.shape[2] == 1 else array
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, interpolation="nearest")
    ax.set_title(f"input {array.shape[0]}x{array.shape[1]}", fontsize=9)
    ax.axis("off")
    for index in range(count):
        ax = figure.add_subplot(rows, columns, index + 2)
        feature = maps[0, :, :, index]
        low, high = np.percentile(feature, [0.5, 99.5]) if robust else (feature.min(),
                                                                           feature.max())
        ax.imshow(feature, cmap="gray", vmin=low, vmax=high if high > low else low + 1,
                  interpolation="nearest")
        name = titles[index] if titles is not None else f"map {index}"
        ax.set_title(f"{name}\n{format_number(feature.min())} .. "
                     f"{format_number(feature.max())}", fontsize=8)
        ax.axis("off")
    how = ("0.5th..99.5th percentile" if robust else "minimum..maximum")
    figure.suptitle(f"each map's grey: black..white = its own {how}; true range above it",
                    fontsize=9)
    return _save(figure, path)


def plot_receptive_field(input_size: tuple[int, int], layers: Sequence[LayerSpec],
                         path: PathLike, at: tuple[int, int] | None = None,
                         image: np.ndarray | None = None, convention: str = "tf") -> Path:
    """Which cells of every layer an output pixel sees, from the last layer back to the input.

    Each panel is one layer's grid; the shade counts how many paths through the kernels
    reach a cell (the centre of a receptive field is reached most often).  ``image``
    (input-sized) is drawn under the input panel.  ``at`` defaults to the centre output.
    """
    steps = stack_steps((*input_size, 1), layers, convention)
    if not steps:
        raise ValueError("receptive field: give at least one layer")
    final = steps[-1].output_shape[:2]
    at = at if at is not None else (final[0] // 2, final[1] // 2)
    counts = receptive_field_counts(input_size, layers, at, convention)
    panels = len(counts)
    figure = _figure(min(3.0 * panels, 18.0), 3.7)
    rf = np.argwhere(counts[0] > 0)
    (r0, c0), (r1, c1) = rf.min(axis=0), rf.max(axis=0)
    nominal = receptive_field_size(layers)
    for index, count in enumerate(counts):
        ax = figure.add_subplot(1, panels, index + 1)
        if index == 0 and image is not None:
            ax.imshow(np.asarray(image), cmap="gray", interpolation="nearest")
            # one colour, more opaque where more paths arrive, so the image stays visible
            overlay = np.zeros((*count.shape, 4))
            overlay[..., :3] = (1.0, 0.55, 0.0)
            overlay[..., 3] = np.where(count > 0, 0.15 + 0.45 * count / count.max(), 0.0)
            ax.imshow(overlay, interpolation="nearest")
        else:
            ax.imshow(count, cmap="Oranges", vmin=0, interpolation="nearest")
        h, w = count.shape
        if max(h, w) <= 32 and not (index == 0 and image is not None):
            ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
            ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
            ax.grid(which="minor", color="#bbbbbb", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelsize=6)
        if index == 0:
            from matplotlib.patches import Rectangle

            ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                   edgecolor="#1f8fff", linewidth=3))
            ax.set_title(f"input {h}x{w}\nfield rows {r0}..{r1}, cols {c0}..{c1}", fontsize=9)
        else:
            layer = steps[index - 1].layer
            kind = "conv" if layer.kind == "conv" else "pool"
            where = f" - output ({at[0]}, {at[1]})" if index == panels - 1 else ""
            ax.set_title(f"after layer {index}: {kind} {layer.kernel[0]}x{layer.kernel[1]}"
                         f"/{layer.stride[0]}\n{h}x{w}{where}", fontsize=9)
    figure.suptitle(f"receptive field of output ({at[0]}, {at[1]}): {r1 - r0 + 1}x{c1 - c0 + 1} "
                    f"input cells (away from borders {nominal[0]}x{nominal[1]}); "
                    f"shade = number of paths", fontsize=10)
    figure.tight_layout(pad=0.6, rect=(0, 0, 1, 0.93))
    return _save(figure, path)


def plot_connectivity(input_size: tuple[int, int], kernel_size: tuple[int, int],
                      path: PathLike, stride: int | Sequence[int] = 1,
                      padding: str | int = "valid", values: np.ndarray | None = None) -> Path:
    """A convolution's connections beside a fully connected layer's, with parameter counts.

    Left: every input pixel joined to the output pixels it feeds, one colour per output
    ("partially connected"); middle: a fully connected layer from the same inputs to the same
    number of outputs; right: the input grid (with ``values`` written in, if given) and, in each
    cell, one dot per output it feeds, as the lecture draws it.  Inputs up to 8x8.
    """
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    from .._spec import make_spec

    h, w = input_size
    kh, kw = kernel_size
    if max(h, w) > 8:
        raise ValueError(f"connectivity: the input must be at most 8x8 so that every line "
                         f"stays visible; got {h}x{w}")
    spec = make_spec("connectivity", (1, h, w, 1), (kh, kw, 1, 1), rank=2, stride=stride,
                     padding=padding, weight_name="kernel")
    (oh, ow), (sh, sw), ((top, _), (left, _)) = spec.output_size, spec.stride, spec.padding
    n_in, n_out = h * w, oh * ow
    feeds: dict[int, list[int]] = {}
    conv_lines = []
    for o in range(n_out):
        orow, ocol = divmod(o, ow)
        for m in range(kh):
            for n in range(kw):
                i, j = orow * sh - top + m, ocol * sw - left + n
                if 0 <= i < h and 0 <= j < w:
                    feeds.setdefault(i * w + j, []).append(o)
                    conv_lines.append((i * w + j, o))
    palette = colormaps["tab10"] if n_out <= 10 else colormaps["turbo"].resampled(n_out)

    def colour(o: int) -> Any:
        return palette(o) if n_out <= 10 else palette(o / max(n_out - 1, 1))

    height = max(4.5, 0.32 * n_in + 1.6)
    figure = _figure(15.0, height)
    grid = figure.add_gridspec(1, 3, width_ratios=[1, 1, 1.1], wspace=0.15, left=0.02,
                               right=0.98, top=0.86, bottom=0.03)

    def bipartite(ax: Any, title: str, lines: list[tuple[int, int]]) -> None:
        out_y = [(n_in - 1) / 2 + (o - (n_out - 1) / 2) * max(1.0, n_in / (n_out + 1))
                 for o in range(n_out)]
        for i, o in lines:
            ax.plot([0, 1], [i, out_y[o]], color=colour(o), linewidth=1.0, alpha=0.75)
        ax.scatter(np.zeros(n_in), np.arange(n_in), s=60, color="#555555", zorder=3)
        for i in range(n_in):
            ax.text(-0.04, i, f"I({i // w},{i % w})", ha="right", va="center", fontsize=7)
        for o in range(n_out):
            ax.scatter([1], [out_y[o]], s=140, color=colour(o), edgecolor="black", zorder=3)
            ax.text(1.05, out_y[o], f"V({o // ow},{o % ow})", ha="left", va="center",
                    fontsize=8)
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylim(max(n_in, max(out_y) + 1), -1)
        ax.axis("off")
        ax.set_title(title, fontsize=10)

    params = kh * kw + 1
    bipartite(figure.add_subplot(grid[0]),
              f"convolution {kh}x{kw}, stride {sh if sh == sw else f'{sh}x{sw}'}: "
              f"partially connected\n{len(conv_lines)} connections share {kh * kw} weights"
              f" + 1 bias = {params} parameters", conv_lines)
    dense = [(i, o) for i in range(n_in) for o in range(n_out)]
    bipartite(figure.add_subplot(grid[1]),
              f"fully connected {n_in} -> {n_out}: every input to every output\n"
              f"{len(dense)} connections, {len(dense)} weights + {n_out} "
              f"bias{'es' if n_out != 1 else ''} = {len(dense) + n_out} parameters", dense)
    ax = figure.add_subplot(grid[2])
    side = int(np.ceil(np.sqrt(n_out)))
    for i in range(h):
        for j in range(w):
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor="white", edgecolor="#444444"))
            if values is not None:
                ax.text(j + 0.5, i + 0.32, format_number(values[i, j]), ha="center",
                        va="center", fontsize=12)
            for o in feeds.get(i * w + j, []):
                dy, dx = divmod(o, side)
                y = i + (0.62 if values is not None else 0.2) + 0.3 * (dy + 0.5) / side
                if values is None:
                    y = i + 0.15 + 0.7 * (dy + 0.5) / side
                ax.scatter([j + 0.15 + 0.7 * (dx + 0.5) / side], [y],
                           s=max(12.0, 220 / side**2), color=colour(o), edgecolor="black",
                           linewidth=0.4, zorder=3)
    ax.set_xlim(-0.1, w + 0.1)
    ax.set_ylim(h + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"input {h}x{w}: one dot per output a cell feeds\n(fully connected: every "
                 f"cell would have all {n_out} colours)", fontsize=10)
    return _save(figure, path)
