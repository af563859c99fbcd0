"""Dataset test fixtures: IDX bytes built by hand and a local, self-stopping HTTP server."""

from __future__ import annotations

import functools
import http.server
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

SERVER_LIFETIME = 30.0  # seconds; the server stops by itself after this, whatever happens


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Build an IDX file by hand (struct, big-endian), independently of strided's writer."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array, dtype=big_endian[type_code]).tobytes()


@pytest.fixture
def make_idx() -> Callable[..., bytes]:
    """Return :func:`idx_bytes`."""
    return idx_bytes


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory, records each path asked for, logs nothing; /short/* lies on length."""

    def log_message(self, format: str, *args: object) -> None:
        """Do not write to stderr."""

    def do_GET(self) -> None:
        """Record the request, then serve it (or a truncated body under /short/)."""
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"only ten b")
            self.close_connection = True
            return
        super().do_GET()


class LocalServer:
    """A base URL serving ``directory`` and the list of request paths it received."""

    def __init__(self, url: str, requests: list[str]) -> None:
        self.url = url
        self.requests = requests


@pytest.fixture
def http_server() -> Iterator[Callable[[Path], LocalServer]]:
    """Start HTTP servers on 127.0.0.1 serving given directories; all stop at teardown."""
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(directory: Path) -> LocalServer:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        server.timeout = 0.05
        server.requests = []  # type: ignore[attr-defined]
        stop = threading.Event()
        deadline = time.monotonic() + SERVER_LIFETIME

        def serve() -> None:
            with server:
                while not stop.is_set() and time.monotonic() < deadline:
                    server.handle_request()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        stops.append((stop, thread))
        host, port = server.server_address[:2]
        return LocalServer(f"http://{host}:{port}/", server.requests)  # type: ignore[attr-defined]

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(timeout=5)


@pytest.fixture
def dead_mirror() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"
