"""``strided convert`` and ``strided summary``: model files between formats, and what is in
one (``strided.formats``)."""

from __future__ import annotations

import click


@click.command("convert")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("target", metavar="OUT", type=click.Path(dir_okay=False))
def convert_command(source: str, target: str) -> None:
    """Convert the model file IN to OUT, each format chosen by the file's ending.

    IN: .strided (strided's own), .keras (Keras 3), .onnx, or .npz (strided 0.1).
    OUT: .strided or .onnx.  The output is written atomically; layers or operators the
    target cannot hold are all named in one message, and nothing is written.

    \b
    Examples:
      strided convert model.keras model.strided
      strided convert model.strided model.onnx
      strided convert net.onnx net.strided
    """
    from .. import formats
    from ..formats._dispatch import check_target

    check_target(target)
    model = formats.load(source)
    formats.save(model, target)
    click.echo(f"{target}: {type(model).__name__} {model.name!r}, {len(model.layers)} layers, "
               f"{model.count_params():,} parameters (from {source})")


@click.command("summary")
@click.argument("model_file", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--line-length", type=int, default=None, help="Width of the table (Keras').")
def summary_command(model_file: str, line_length: int | None) -> None:
    """Print Keras' summary of the model in MODEL (.strided, .keras, .onnx or .npz): each
    layer, its output shape and parameter count, and the totals.

    \b
    Example:
      strided summary model.keras
    """
    from .. import formats

    formats.load(model_file).summary(print_fn=click.echo, line_length=line_length)
