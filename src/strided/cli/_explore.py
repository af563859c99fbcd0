"""``strided explore``: the convolution explorer, a page served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click

#: Where `strided train` writes its weights by default; used when it is there.
DEFAULT_WEIGHTS = Path("strided-mnist") / "lecture_mnist.npz"


@click.command("explore")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port on 127.0.0.1 (0: any free one).")
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The lecture network's weights (.npz) for the network view, as `strided "
                   f"train` saves them. Default: {DEFAULT_WEIGHTS} if it exists.")
def explore_command(port: int, no_browser: bool, weights: Path | None) -> None:
    """Open the convolution explorer in the browser: a playground (any image and kernel,
    padding, stride, dilation; each output's products and sum) and the trained network
    (filters, feature maps, probabilities, receptive fields).

    The server listens on 127.0.0.1 only; stop it with Ctrl-C.

    \b
    Examples:
      strided explore
      strided train && strided explore --weights strided-mnist/lecture_mnist.npz
      strided explore --port 9000 --no-browser
    """
    from ..explore import Network, create_app, make_server

    if weights is None and DEFAULT_WEIGHTS.is_file():
        weights = DEFAULT_WEIGHTS
    network = Network.from_weights(weights) if weights is not None else Network()
    try:
        server = make_server(create_app(network), port)
    except OSError as error:
        raise OSError(f"cannot listen on 127.0.0.1:{port} ({error.strerror or error}); "
                      f"choose another --port, or 0 for any free one") from None
    url = f"http://127.0.0.1:{server.port}/"
    click.echo(f"strided explore: {url}  ({network.source or 'no network loaded'}; "
               f"Ctrl-C stops it)")
    if not no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("strided explore: stopped")
    finally:
        server.server_close()
