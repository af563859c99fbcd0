"""``strided filter`` (an image through a kernel) and ``strided kernels`` (the catalogue)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from .. import kernels as catalogue
from ._options import convolve_option, mode_option, parse_padding, parse_stride

if TYPE_CHECKING:
    import zarr


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
@click.option("-o", "--output", required=True,
              help="The image to write (.png, .jpg..., or .zarr for a Zarr array).")
@click.option("--memory", default="512MB", show_default=True,
              help="Memory for the work on a Zarr image, e.g. 256MB or 2GB (per worker with "
                   "--scheduler); sets the size of the tiles.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Filter a Zarr image on this Dask distributed scheduler "
                   "(e.g. tcp://127.0.0.1:8786); default: threads in this process.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar for a Zarr image (default: when standard error is a "
                   "terminal).")
def filter_command(image: str, kernel: str, size: int | None, sigma: float | None, stride: str,
                   padding: str, padding_mode: str, convolve: bool, normalize: bool, grey: bool,
                   output: str, memory: str, scheduler: str | None, progress: bool | None
                   ) -> None:
    """Filter IMAGE (PNG, JPEG, TIFF...) with a kernel, each channel on its own.

    The image keeps its bit depth (8 or 16 bits, or float TIFFs) and an alpha channel, which
    is filtered like the colour channels.  Values outside the image's range (0..255,
    0..65535) are clipped, and the command says how many; --normalize maps the result's
    minimum to black and maximum to white instead.  Float images are written as computed.
    Large images are filtered a strip at a time.  Images larger than memory: a Zarr array
    (H, W) or (H, W, C) of uint8 or uint16, IMAGE.zarr, is read and written (to OUTPUT.zarr)
    in tiles that fit --memory, with Dask (pip install 'strided[dask]'); the pixels are
    those of the same image filtered in memory.

    \b
    Examples:
      strided filter photo.jpg --kernel gaussian --size 9 --sigma 2 -o blurred.png
      strided filter digit.png --kernel sobel-x --normalize -o edges.png
      strided filter digit.png --kernel "1,1,1;0,0,0;-1,-1,-1" --padding valid -o edge.png
      strided filter photo.jpg --kernel box-blur --stride 2 --mode reflect -o half.png
      strided filter scan.zarr --kernel gaussian --size 9 --memory 1GB -o blurred.zarr
    """
    from ..tools._images import (
        check_image_output,
        check_output,
        filter_image,
        load_kernel,
        read_image,
        write_image,
    )

    tiled = any(Path(name.rstrip("/")).suffix.lower() == ".zarr" for name in (image, output))
    if not tiled:
        check_output(output)
    matrix = load_kernel(kernel, size=size, sigma=sigma)
    if tiled:
        result_shape, dtype, stats = _filter_tiled(image, output, matrix, stride, padding,
                                                   padding_mode, convolve, normalize, grey,
                                                   memory, scheduler, progress)
    else:
        pixels = read_image(image, grey=grey)
        check_image_output(output, pixels)
        result, stats = filter_image(pixels, matrix, parse_stride(stride),
                                     parse_padding(padding), padding_mode, convolve=convolve,
                                     normalize=normalize)
        write_image(output, result)
        result_shape, dtype = result.shape, pixels.dtype
    shape = "x".join(map(str, result_shape[:2][::-1]))
    top = 65535 if dtype == np.uint16 else 1 if dtype.kind == "f" else 255
    channels = 1 if len(result_shape) == 2 else result_shape[2]
    what = {1: "grey", 2: "grey and alpha, alpha filtered like a channel", 3: "colour",
            4: "colour and alpha, alpha filtered like a channel"}[channels]
    depth = {"f": ", float", "u": ", 16-bit"}.get(dtype.kind) if dtype != np.uint8 else ""
    message = (f"wrote {output} ({shape} pixels, {what}{depth}); "
               f"kernel {matrix.shape[0]}x{matrix.shape[1]}; result range "
               f"{stats['minimum']:.4g}..{stats['maximum']:.4g}")
    if normalize:
        message += f", rescaled to 0..{top}"
    elif stats["clipped"]:
        message += (f"; {stats['clipped']:.1%} of the values were outside 0..{top} and were "
                    f"clipped (--normalize rescales instead)")
    click.echo(message)


def _filter_tiled(image: str, output: str, matrix: np.ndarray, stride: str, padding: str,
                  padding_mode: str, convolve: bool, normalize: bool, grey: bool, memory: str,
                  scheduler: str | None, progress: bool | None
                  ) -> tuple[tuple[int, ...], np.dtype, dict[str, float]]:
    """Filter with Dask, in tiles, from and/or to a Zarr array: (shape, dtype, stats)."""
    try:
        from ..dask._filter import filter_tiled, open_zarr, parse_memory
    except ImportError as error:
        raise OSError(f"filtering a Zarr image needs Dask and Zarr: pip install "
                      f"'strided[dask]' ({error})") from None
    from ..tools._images import check_output, read_image, write_image

    budget = parse_memory(memory)
    zarr_out = Path(output.rstrip("/")).suffix.lower() == ".zarr"
    if not zarr_out:
        check_output(output)
    if Path(image.rstrip("/")).suffix.lower() == ".zarr":
        if grey:
            raise ValueError("--grey converts images that Pillow reads; a Zarr image is "
                             "filtered as it is stored")
        source: np.ndarray | zarr.Array = open_zarr(image)
    else:
        source = read_image(image, grey=grey)
    if progress is None:
        progress = sys.stderr.isatty()
    result, shape, stats = filter_tiled(
        source, output if zarr_out else None, matrix, parse_stride(stride),
        parse_padding(padding), padding_mode, convolve=convolve, normalize=normalize,
        memory=budget, progress=progress, scheduler=scheduler)
    if result is not None:
        write_image(output, result)
    return shape, source.dtype, stats


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
