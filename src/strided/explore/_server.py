"""The explorer's web server (Flask): the page, its static files and the JSON API.

Every answer is computed by strided (``_playground`` and ``_network``); the page only draws.
Bad input gets a 4xx JSON answer ``{"error": "..."}`` with a one-line message, never a
traceback; uploads are bounded in bytes (``MAX_UPLOAD_BYTES``) and pixels (``MAX_SIDE``), and
requests from anywhere but this machine get a 403.
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from typing import Any

from . import _playground
from ._network import Network

__all__ = ["create_app", "make_server"]


def _flask():
    try:
        import flask
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("strided explore needs Flask: pip install 'strided[explore]'") from None
    return flask


def create_app(network: Network | None = None) -> Any:
    """The Flask application: ``GET /`` the page, ``/api/...`` the JSON API.

    Parameters
    ----------
    network : Network, optional
        The network view's model; without one the page offers to train a quick one.

    Returns
    -------
    flask.Flask
    """
    flask = _flask()
    from werkzeug.exceptions import HTTPException

    static = resources.files(__package__).joinpath("static")
    app = flask.Flask(__name__, static_folder=str(static), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = _playground.MAX_UPLOAD_BYTES  # else a 413
    app.json.sort_keys = False
    uploads = _playground.Uploads()
    net = network if network is not None else Network()

    def body() -> Any:
        data = flask.request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object (Content-Type: "
                             "application/json)")
        return data

    @app.before_request
    def local_only() -> Any:
        address = flask.request.remote_addr or ""
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return flask.jsonify(error="the explorer answers only this machine"), 403
        return None

    @app.errorhandler(ValueError)
    @app.errorhandler(TypeError)
    def bad_input(error: Exception) -> Any:
        return flask.jsonify(error=" ".join(str(error).split())), 400

    @app.errorhandler(LookupError)
    def no_network(error: Exception) -> Any:
        return flask.jsonify(error=" ".join(str(error.args[0] if error.args else error)
                                            .split())), 409

    @app.errorhandler(HTTPException)
    def http_error(error: Any) -> Any:
        if error.code == 413:
            message = (f"the upload is too large: the explorer accepts images of at most "
                       f"{_playground.MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
        else:
            message = f"{error.name}: {error.description}"
        return flask.jsonify(error=message), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:  # a bug, not bad input: say so, no traceback
        app.logger.exception("unexpected error")
        return flask.jsonify(error=f"internal error ({type(error).__name__}: {error})"), 500

    @app.get("/")
    def index() -> Any:
        return flask.send_from_directory(str(static), "index.html")

    @app.get("/api/catalogue")
    def catalogue() -> Any:
        return flask.jsonify(_playground.catalogue_json())

    @app.post("/api/convolve")
    def convolve() -> Any:
        return flask.jsonify(_playground.convolve(body(), uploads))

    @app.post("/api/position")
    def position() -> Any:
        return flask.jsonify(_playground.position(body(), uploads))

    @app.post("/api/upload")
    def upload() -> Any:
        file = flask.request.files.get("image")
        if file is None:
            raise ValueError("upload: send the image as the form field 'image'")
        return flask.jsonify(uploads.add(file.read(_playground.MAX_UPLOAD_BYTES + 1),
                                         file.filename or "upload"))

    @app.get("/api/network")
    def network_summary() -> Any:
        return flask.jsonify(net.summary())

    @app.post("/api/network/train")
    def network_train() -> Any:
        return flask.jsonify(net.train(body().get("epochs", 2)))

    @app.post("/api/network/digit")
    def network_digit() -> Any:
        return flask.jsonify(net.digit(body().get("index", 0)))

    @app.post("/api/network/receptive-field")
    def network_field() -> Any:
        data = body()
        return flask.jsonify(net.receptive_field(data.get("layer"), data.get("row"),
                                                 data.get("col")))

    return app


def make_server(app: Any, port: int = 0) -> Any:
    """A threaded WSGI server for ``app`` on 127.0.0.1 (``port`` 0: any free one).

    Raises
    ------
    OSError
        When the port cannot be had (in use, or privileged).
    """
    import socket

    from werkzeug.serving import make_server as werkzeug_server

    # bound here, so that a port in use is an OSError (werkzeug would print and exit)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        return werkzeug_server("127.0.0.1", listener.getsockname()[1], app, threaded=True,
                               fd=listener.fileno())
    finally:
        listener.close()  # the server holds its own duplicate of the socket
