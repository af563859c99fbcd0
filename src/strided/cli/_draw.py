"""``strided draw ...``: filter banks, feature maps, receptive fields, connectivity (PNG)."""

from __future__ import annotations

import zipfile

import click
import numpy as np

from .. import kernels as catalogue
from ._options import parse_hw, parse_padding, parse_position, parse_stride

DEFAULT_BANK = ("sobel-x", "sobel-y", "outline", "sharpen", "box-blur", "emboss", "laplacian",
                "shift-right")


@click.group("draw")
def draw() -> None:
    """Draw convolution pictures as PNG files: filter banks, feature maps, receptive fields
    and connectivity.

    \b
    Examples:
      strided draw filters -o bank.png
      strided draw features digit.png --kernel sobel-x --kernel sobel-y -o maps.png
      strided draw receptive-field --input 28x28 --layer conv:8,3 --layer pool:2 -o rf.png
      strided draw connectivity --input 4x4 --kernel 3 -o connections.png
    """


def _bank(kernel_texts: tuple[str, ...], weights: str | None) -> tuple[np.ndarray, list[str]]:
    """HWIO filters and their titles from --kernel names/numbers or a --weights .npy file."""
    from ..tools._images import load_kernel

    if weights is not None:
        if kernel_texts:
            raise ValueError("give either --kernel or --weights, not both")
        bank, _ = _load_weights(weights)
        if bank.ndim == 2:
            bank = bank[:, :, None, None]
        if bank.ndim == 3:  # (kH, kW, C_out)
            bank = bank[:, :, None, :]
        if bank.ndim != 4 or not np.issubdtype(bank.dtype, np.number):
            raise ValueError(f"--weights {weights!r} must hold (kH, kW, C_in, C_out) numbers; "
                             f"got shape {bank.shape}")
        return bank.astype(np.float64), [f"filter {i}" for i in range(bank.shape[3])]
    texts = kernel_texts or DEFAULT_BANK
    matrices = [load_kernel(text) for text in texts]
    shapes = {m.shape for m in matrices}
    if len(shapes) != 1:
        raise ValueError(f"the kernels of a bank must have one size; got sizes "
                         f"{sorted(shapes)} for {list(texts)}")
    return np.stack(matrices, axis=-1)[:, :, None, :].astype(np.float64), list(texts)


def _load_weights(weights: str) -> tuple[np.ndarray, str]:
    """(array, where it came from) of a .npy of filters, or of the first convolution kernel
    (the first 4-D array) of a .npz weights file such as ``strided train`` writes."""
    suffix = weights.lower().rsplit(".", 1)[-1]
    if suffix in ("strided", "keras", "onnx", "safetensors"):
        return _model_kernel(weights)
    if suffix not in ("npy", "npz"):
        raise ValueError(f"--weights must be a .npy file of HWIO filters, a .npz weights "
                         f"file (as `strided train` writes) or a model file (.strided, .keras, "
                         f".onnx, a PyTorch .safetensors); got {weights!r}")
    try:
        with open(weights, "rb") as stream:
            loaded = np.load(stream, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                return loaded, weights
            with loaded:
                for name in loaded.files:
                    array = loaded[name]
                    if array.ndim == 4:
                        return array, f"{weights}: {name}"
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise OSError(f"cannot read weights {weights!r}: {error}") from None
    raise ValueError(f"--weights {weights!r} holds no 4-D (kH, kW, C_in, C_out) convolution "
                     f"kernel")


def _model_kernel(path: str) -> tuple[np.ndarray, str]:
    """The HWIO kernel of the first 2-D convolution of a model file (``strided.formats``),
    or the first 4-D weight of a PyTorch state_dict (OIHW, transposed)."""
    from .. import formats
    from ..layers import Conv2D, DepthwiseConv2D

    if path.lower().endswith(".safetensors"):
        tensors, metadata = formats.read_safetensors(path)
        if metadata.get("format") != "strided":
            for name, array in tensors.items():
                if array.ndim == 4 and array.dtype.kind == "f":
                    return array.transpose(2, 3, 1, 0), f"{path}: {name} (OIHW as HWIO)"
            raise ValueError(f"--weights {path!r} holds no 4-D convolution weight")
    model = formats.load(path)
    for layer in model.layers:
        if isinstance(layer, (Conv2D, DepthwiseConv2D)):
            return layer.params["kernel"], f"{path}: layer {layer.name!r}"
    raise ValueError(f"--weights {path!r}: the model has no Conv2D layer")


@draw.command("filters")
@click.option("-k", "--kernel", "kernel_texts", multiple=True,
              help="A kernel (name, numbers or file); repeat for a bank.  Default: the whole "
                   "catalogue.")
@click.option("--weights", help="Trained filters: a .npy file, (kH, kW, C_in, C_out) (HWIO), "
                                "a .npz weights file from `strided train`, or a model file "
                                "(.strided, .keras, .onnx, a PyTorch .safetensors): its first "
                                "convolution kernel.")
@click.option("-o", "--output", required=True, help="The PNG to write.")
def filters_command(kernel_texts: tuple[str, ...], weights: str | None, output: str) -> None:
    """Draw a filter bank: each kernel's taps as coloured, numbered cells (red > 0 > blue).

    \b
    Examples:
      strided draw filters -o catalogue.png
      strided draw filters -k sobel-x -k sobel-y -k "0,1,0;1,-4,1;0,1,0" -o bank.png
      strided draw filters --weights conv1_kernel.npy -o learned.png
    """
    from ..tools._images import load_kernel
    from ..tools._pictures import plot_filter_bank

    if weights is None and not kernel_texts:
        names = catalogue.names()
        plot_filter_bank([load_kernel(n) for n in names], output, titles=names)
        click.echo(f"wrote {output} ({len(names)} kernels)")
        return
    if weights is None:
        matrices = [load_kernel(text) for text in kernel_texts]
        plot_filter_bank(matrices, output, titles=list(kernel_texts))
        click.echo(f"wrote {output} ({len(matrices)} kernels)")
        return
    bank, _ = _bank((), weights)
    plot_filter_bank(bank, output)
    _, source = _load_weights(weights)
    filters, channels = bank.shape[3], bank.shape[2]
    click.echo(f"wrote {output} ({filters} filter{'' if filters == 1 else 's'} of {channels} "
               f"channel{'' if channels == 1 else 's'}, from {source})")


@draw.command("features")
@click.argument("image")
@click.option("-k", "--kernel", "kernel_texts", multiple=True,
              help="A kernel of the bank (name, numbers or file); repeat.  Default: "
                   + ", ".join(DEFAULT_BANK) + ".")
@click.option("--weights", help="Filters from a .npy file, (kH, kW, C_in, C_out) (HWIO), or "
                                "the first convolution of a model file (as draw filters).")
@click.option("--stride", default="1", show_default=True, help="N or ROWS,COLS.")
@click.option("--padding", type=click.Choice(["valid", "same"]), default="same",
              show_default=True)
@click.option("--relu", is_flag=True, help="Apply ReLU to the maps, as a conv layer would.")
@click.option("--grey", "--gray", "grey", is_flag=True, help="Convert a colour image to grey.")
@click.option("-o", "--output", required=True, help="The PNG to write.")
def features_command(image: str, kernel_texts: tuple[str, ...], weights: str | None,
                     stride: str, padding: str, relu: bool, grey: bool, output: str) -> None:
    """Draw the feature maps of IMAGE through a bank of filters (one conv layer).

    Each map has its own grey scale (its range is printed above it).  Named kernels apply
    to every colour channel, averaged (each channel weighted 1/C, so a colour image's maps
    keep the range of its grey version's); --weights must have the
    image's channel count.

    \b
    Examples:
      strided draw features digit.png -o maps.png
      strided draw features photo.jpg --grey -k sobel-x -k sobel-y -k outline --relu -o m.png
    """
    from .. import nn
    from ..tools._images import read_image
    from ..tools._pictures import plot_feature_maps

    pixels = read_image(image, grey=grey, alpha=False)
    bank, titles = _bank(kernel_texts, weights)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if weights is None and channels > 1:
        bank = np.repeat(bank, channels, axis=2) / channels
    if bank.shape[2] != channels:
        raise ValueError(f"--weights {weights!r} expect {bank.shape[2]} input channel(s) but "
                         f"the image {image!r} has {channels}")
    strides = parse_stride(stride)

    def layer(batch: np.ndarray) -> np.ndarray:
        maps = nn.conv2d(batch.astype(np.float64), bank, strides, padding.upper())
        return np.maximum(maps, 0) if relu else maps

    plot_feature_maps(pixels, layer, output, titles=titles)
    maps = bank.shape[3]
    click.echo(f"wrote {output} ({maps} feature map{'' if maps == 1 else 's'})")


@draw.command("receptive-field")
@click.option("--input", "input_", required=True, help="Input size HxW (or N).")
@click.option("--layer", "layers", multiple=True, required=True,
              help="A layer, repeatable, as `strided shape --layer`: conv:filters,kernel,"
                   "stride,padding or pool:kernel.")
@click.option("--at", "position", help="Output position ROW,COL of the last layer (default: "
                                       "the centre).")
@click.option("--image", help="An image of the input's size to draw under the input panel.")
@click.option("--convention", type=click.Choice(["tf", "torch"]), default="tf",
              show_default=True)
@click.option("-o", "--output", required=True, help="The PNG to write.")
def receptive_field_command(input_: str, layers: tuple[str, ...], position: str | None,
                            image: str | None, convention: str, output: str) -> None:
    """Draw the receptive field of an output pixel through a stack of layers.

    \b
    Examples:
      strided draw receptive-field --input 28x28 --layer conv:8,5 --layer pool:2 \\
          --layer conv:16,5 --at 3,3 --image digit.png -o rf.png
      strided draw receptive-field --input 16 --layer conv:1,3 --layer conv:1,3 -o rf3.png
    """
    from ..tools._images import read_image
    from ..tools._pictures import plot_receptive_field
    from ..tools._shapes import parse_layer

    size = parse_hw(input_, "--input")
    specs = [parse_layer(text, convention) for text in layers]
    at = parse_position(position) if position else None
    picture = None
    if image is not None:
        picture = read_image(image, grey=True, alpha=False)
        if picture.shape != size:
            raise ValueError(f"--image {image!r} is {picture.shape[0]}x{picture.shape[1]} but "
                             f"--input is {size[0]}x{size[1]}")
    plot_receptive_field(size, specs, output, at=at, image=picture, convention=convention)
    click.echo(f"wrote {output}")


@draw.command("connectivity")
@click.option("--input", "input_", default="4x4", show_default=True,
              help='Input size HxW (at most 8x8), or its numbers ("2,0,1,3;7,1,1,0;...").')
@click.option("--kernel", default="3", show_default=True, help="Kernel size N or HxW.")
@click.option("--stride", default="1", show_default=True, help="N or ROWS,COLS.")
@click.option("--padding", default="valid", show_default=True, help="valid, same or N.")
@click.option("-o", "--output", required=True, help="The PNG to write.")
def connectivity_command(input_: str, kernel: str, stride: str, padding: str,
                         output: str) -> None:
    """Draw which input pixels feed which output pixels, for a convolution and for a fully
    connected layer of the same sizes, with their parameter counts.

    \b
    Examples:
      strided draw connectivity -o connections.png
      strided draw connectivity --input "2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4" -o lecture.png
      strided draw connectivity --input 5x5 --kernel 3 --stride 2 -o stride2.png
    """
    from .. import kernels as parse_source
    from ..tools._pictures import plot_connectivity

    values = None
    if ";" in input_ or "," in input_:
        values = parse_source.parse(input_, "--input")
        size = values.shape
    else:
        size = parse_hw(input_, "--input")
    pad = parse_padding(padding)
    plot_connectivity(size, parse_hw(kernel, "--kernel"), output, stride=parse_stride(stride),
                      padding=pad, values=values)  # type: ignore[arg-type]
    click.echo(f"wrote {output}")
