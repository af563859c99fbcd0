"""``strided filter`` (an image through a kernel) and ``strided kernels`` (the catalogue)."""

from __future__ import annotations

import click
import numpy as np

from .. import kernels as catalogue
from ._options import convolve_option, mode_option, parse_padding, parse_stride


@click.command("filter")
@click.argument("image")
@click.option("-k", "--kernel", required=True,
              help='A name (see `strided kernels`), numbers such as "1,1,1;0,0,0;-1,-1,-1", '
                   "or a .npy/.csv file.")
@click.option("--size", type=int, help="Size of a gaussian or box-blur kernel (odd).")
@click.option("--sigma", type=float, help="Standard deviation of a gaussian kernel, in pixels.")
@click.option("--stride", default="1", show_default=True, help="N or ROWS,COLS.")
@click.option("--padding", default="same", show_default=True,
              help="valid, same, N, ROWS,COLS or TOP,BOTTOM,LEFT,RIGHT.")
@mode_option
@convolve_option
@click.option("--normalize", is_flag=True,
              help="Rescale the result's min..max to 0..255 (for edge kernels, whose output "
                   "is negative); default: clip to 0..255.")
@click.option("--grey", "--gray", "grey", is_flag=True, help="Convert a colour image to grey.")
@click.option("-o", "--output", required=True, help="The image to write (.png, .jpg...).")
def filter_command(image: str, kernel: str, size: int | None, sigma: float | None, stride: str,
                   padding: str, padding_mode: str, convolve: bool, normalize: bool, grey: bool,
                   output: str) -> None:
    """Filter IMAGE (PNG, JPEG, TIFF...) with a kernel, each channel on its own.

    The image keeps its bit depth (8 or 16 bits, or float TIFFs) and an alpha channel, which
    is filtered like the colour channels.  Values outside the image's range (0..255,
    0..65535) are clipped, and the command says how many; --normalize maps the result's
    minimum to black and maximum to white instead.  Float images are written as computed.
    Large images are filtered a strip at a time.

    \b
    Examples:
      strided filter photo.jpg --kernel gaussian --size 9 --sigma 2 -o blurred.png
      strided filter digit.png --kernel sobel-x --normalize -o edges.png
      strided filter digit.png --kernel "1,1,1;0,0,0;-1,-1,-1" --padding valid -o edge.png
      strided filter photo.jpg --kernel box-blur --stride 2 --mode reflect -o half.png
    """
    from ..tools._images import (
        check_image_output,
        check_output,
        filter_image,
        load_kernel,
        read_image,
        write_image,
    )

    check_output(output)
    matrix = load_kernel(kernel, size=size, sigma=sigma)
    pixels = read_image(image, grey=grey)
    check_image_output(output, pixels)
    result, stats = filter_image(pixels, matrix, parse_stride(stride), parse_padding(padding),
                                 padding_mode, convolve=convolve, normalize=normalize)
    write_image(output, result)
    shape = "x".join(map(str, result.shape[:2][::-1]))
    top = 65535 if pixels.dtype == np.uint16 else 1 if pixels.dtype.kind == "f" else 255
    channels = 1 if result.ndim == 2 else result.shape[2]
    what = {1: "grey", 2: "grey and alpha, alpha filtered like a channel", 3: "colour",
            4: "colour and alpha, alpha filtered like a channel"}[channels]
    depth = {"f": ", float", "u": ", 16-bit"}.get(pixels.dtype.kind) if (
        pixels.dtype != np.uint8) else ""
    message = (f"wrote {output} ({shape} pixels, {what}{depth}); "
               f"kernel {matrix.shape[0]}x{matrix.shape[1]}; result range "
               f"{stats['minimum']:.4g}..{stats['maximum']:.4g}")
    if normalize:
        message += f", rescaled to 0..{top}"
    elif stats["clipped"]:
        message += (f"; {stats['clipped']:.1%} of the values were outside 0..{top} and were "
                    f"clipped (--normalize rescales instead)")
    click.echo(message)


@click.command("kernels")
@click.argument("name", required=False)
@click.option("--size", type=int, help="Size of a gaussian or box-blur kernel (odd).")
@click.option("--sigma", type=float, help="Standard deviation of a gaussian kernel.")
def kernels_command(name: str | None, size: int | None, sigma: float | None) -> None:
    """List the named kernels, or print the kernel NAME.

    \b
    Examples:
      strided kernels
      strided kernels sobel-x
      strided kernels gaussian --size 5 --sigma 1
    """
    from ..tools._explain import format_matrix

    if name is None:
        width = max(map(len, catalogue.names()))
        for known in catalogue.names():
            click.echo(f"{known.ljust(width)}  {catalogue.describe(known)}")
        return
    matrix = catalogue.get(name, size=size, sigma=sigma)
    click.echo(f"{name} ({matrix.shape[0]}x{matrix.shape[1]}): {catalogue.describe(name)}")
    click.echo("\n".join(format_matrix(matrix, full=True)))
