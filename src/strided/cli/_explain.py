"""``strided explain``: one convolution in numbers, as the lecture's V(1, 0) slides."""

from __future__ import annotations

import click

from ._options import convolve_option, mode_option, parse_padding, parse_position, parse_stride


@click.command("explain")
@click.option("-i", "--input", "input_", required=True,
              help='The input: rows separated by ";" ("2,0,1,3;7,1,1,0;..."), or a .npy, '
                   ".csv or image file (read as grey).")
@click.option("-k", "--kernel", required=True,
              help='The kernel: numbers ("1,1,1;0,0,0;-1,-1,-1"), a name (see `strided '
                   "kernels`) or a file.")
@click.option("--stride", default="1", show_default=True, help="N or ROWS,COLS.")
@click.option("--padding", default="valid", show_default=True,
              help="valid, same (TensorFlow's rule), N, ROWS,COLS or TOP,BOTTOM,LEFT,RIGHT.")
@click.option("--dilation", default="1", show_default=True,
              help="N or ROWS,COLS: the rows and columns between the kernel's taps.")
@mode_option
@convolve_option
@click.option("--at", "positions", multiple=True,
              help="Output position ROW,COL to explain (0-based; repeat for several), or "
                   "'all'.  Default: 0,0.")
@click.option("--full", is_flag=True,
              help="Print every value of large matrices (default: the corners of those "
                   "over 24 rows or columns).")
@click.option("--png", help="Also draw the explanation of the (first) position as a PNG.")
@click.option("--gif", help="Also animate the kernel sliding over the input as a GIF.")
def explain_command(input_: str, kernel: str, stride: str, padding: str, dilation: str,
                    padding_mode: str, convolve: bool, positions: tuple[str, ...], full: bool,
                    png: str | None,
                    gif: str | None) -> None:
    """Print a convolution's output and, for an output position, its receptive field, each
    product and the sum.

    \b
    Examples (the lecture's):
      strided explain --input "2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4" \\
          --kernel "1,1,1;0,0,0;-1,-1,-1" --at 1,0
      strided explain --input "2,0,3,1;1,1,0,0;1,0,2,0;1,0,1,2" --kernel sobel-x \\
          --padding same --at 0,0 --png v00.png --gif slide.gif
      strided explain --input image.csv --kernel kernel.npy --stride 2 --at all
    """
    from ..tools._explain import explain
    from ..tools._images import load_kernel, load_matrix

    matrix = load_matrix(input_, "input")
    weights = load_kernel(kernel)
    e = explain(matrix, weights, parse_stride(stride), parse_padding(padding),
                padding_mode=padding_mode, convolve=convolve,
                dilation=parse_stride(dilation, "--dilation"))
    oh, ow = e.output.shape
    if any(p.strip().lower() == "all" for p in positions):
        at = [(r, c) for r in range(oh) for c in range(ow)]
    else:
        at = [e.check_position(*parse_position(p)) for p in positions] or [(0, 0)]
    if png or gif:  # check the names and sizes before the long work
        from ..tools._images import check_output
        from ..tools._pictures import MAX_FRAMES

        if png:
            check_output(png, (".png",), "picture")
        if gif:
            check_output(gif, (".gif",), "animation")
    click.echo(e.text(at=at, full=full))
    if png:
        from ..tools._pictures import plot_explanation

        plot_explanation(e, png, at[0])
        click.echo(f"\nwrote {png}")
    if gif:
        from ..tools._pictures import animate_explanation

        animate_explanation(e, gif)
        frames = min(oh * ow, MAX_FRAMES)
        click.echo(f"wrote {gif} ({frames} frames" + (
            f", about one in {round(oh * ow / frames)} of the {oh * ow} positions)"
            if frames < oh * ow
            else ")"))
