"""``strided shape``: output sizes, padding and parameters of a layer or a stack, in words."""

from __future__ import annotations

import click


@click.command("shape")
@click.option("--input", "input_", required=True,
              help="Input size: HxWxC (tf), CxHxW (torch) or HxW, e.g. 28x28x1.")
@click.option("--filters", type=int, help="Filters of a single conv layer.")
@click.option("--kernel", help="Kernel size of a single conv layer: N, HxW or H,W.")
@click.option("--stride", default="1", show_default=True, help="Its stride: N, HxW or H,W.")
@click.option("--padding", default="valid", show_default=True,
              help="Its padding: valid, same, or (torch) N, HxW or H,W.")
@click.option("--dilation", default="1", show_default=True,
              help="Its dilation: N, HxW or H,W.")
@click.option("--layer", "layers", multiple=True,
              help="A layer of a stack, repeatable, in order: "
                   "conv:filters=16,kernel=5,stride=2,padding=same (or conv:16,5,2,same), "
                   "pool:kernel=2 (or pool:2; stride defaults to the kernel).")
@click.option("--convention", type=click.Choice(["tf", "torch"]), default="tf",
              show_default=True,
              help="TensorFlow/Keras (HxWxC, valid/same at any stride) or PyTorch (CxHxW, "
                   "numeric padding, same only at stride 1).")
def shape_command(input_: str, filters: int | None, kernel: str | None, stride: str,
                  padding: str, dilation: str, layers: tuple[str, ...], convention: str) -> None:
    """Compute the output size of a conv layer or a stack of layers, step by step.

    Prints the formula with the numbers filled in, the padding each side gets under
    SAME, and the parameter count; an impossible configuration ends with an error that
    says why.  --filters/--kernel/--stride/--padding/--dilation describe one conv layer
    (the first, if --layer adds more).

    \b
    Examples:
      strided shape --input 28x28x1 --filters 16 --kernel 5 --stride 2 --padding same
      strided shape --input 28x28x1 --layer conv:32,3 --layer pool:2 --layer conv:64,3
      strided shape --input 3x32x32 --convention torch --layer conv:16,3,1,1 --layer pool:2
    """
    from ..tools._shapes import describe_stack, layer_from_values, parse_layer, parse_size

    specs = []
    if filters is not None or kernel is not None:
        if filters is None or kernel is None:
            raise ValueError("shape: a conv layer needs both --filters and --kernel (or use "
                             "--layer)")
        specs.append(layer_from_values("conv", {
            "filters": str(filters), "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation}, convention))
    specs += [parse_layer(text, convention) for text in layers]
    if not specs:
        raise ValueError("shape: give a layer with --filters and --kernel, or one or more "
                         "--layer specs")
    size = parse_size(input_, convention)
    try:
        click.echo(describe_stack(size, specs, convention))
    except ValueError:
        # show the layers that work, then let the error say why the next one cannot
        for count in range(len(specs) - 1, 0, -1):
            try:
                text = describe_stack(size, specs[:count], convention)
            except ValueError:
                continue
            click.echo(text.rsplit("\n", 1)[0])
            break
        raise
