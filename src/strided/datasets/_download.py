"""Checksummed downloads from a list of mirrors, with the standard library only."""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit

from ._files import atomic_writer

__all__ = ["DownloadError", "check_mirrors", "fetch"]

_CHUNK = 1 << 16
_ALGORITHMS = ("md5", "sha256")


class DownloadError(OSError):
    """No mirror delivered the file with the expected checksum (offline, dead mirrors, ...)."""


class _BadDownload(Exception):
    """One mirror delivered something unusable (wrong checksum, too large, truncated)."""


def check_mirrors(mirrors: Sequence[str]) -> tuple[str, ...]:
    """Return ``mirrors`` as a tuple after checking it is a non-empty sequence of http(s) URLs."""
    if isinstance(mirrors, (str, bytes)) or not isinstance(mirrors, Sequence):
        raise ValueError(
            f"mirrors={mirrors!r} is not valid: expected a sequence of base URLs, "
            f"e.g. ('https://example.org/mnist/',), not a single string"
        )
    if not mirrors:
        raise ValueError("mirrors=() is empty: expected at least one base URL")
    for mirror in mirrors:
        if not isinstance(mirror, str) or urlsplit(mirror).scheme not in ("http", "https"):
            raise ValueError(
                f"mirror {mirror!r} in mirrors is not valid: expected an http:// or https:// URL"
            )
    return tuple(mirrors)


def _url(mirror: str, filename: str) -> str:
    """Join a mirror's base URL and a file name."""
    return f"{mirror.rstrip('/')}/{quote(filename)}"


def _fetch_one(
    url: str, target: Path, algorithm: str, digest: str, timeout: float, max_bytes: int
) -> None:
    """Download ``url`` to ``target`` (atomically) or raise; nothing is left behind on failure."""
    import urllib.request  # lazy: it pulls in http.client and ssl, not needed to read files

    request = urllib.request.Request(url, headers={"User-Agent": "strided (python urllib)"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected_size = int(length) if length is not None and length.isdigit() else None
        if expected_size is not None and expected_size > max_bytes:
            raise _BadDownload(
                f"announces {expected_size} bytes, more than the {max_bytes} allowed"
            )
        hasher = hashlib.new(algorithm, usedforsecurity=False)
        received = 0
        with atomic_writer(target) as out:
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise _BadDownload(f"sent more than the {max_bytes} bytes allowed")
                hasher.update(chunk)
                out.write(chunk)
            if expected_size is not None and received != expected_size:
                raise _BadDownload(f"truncated: received {received} of {expected_size} bytes")
            found = hasher.hexdigest()
            if found != digest.lower():
                raise _BadDownload(
                    f"checksum mismatch: {algorithm} of the {received} bytes received is "
                    f"{found}, expected {digest.lower()}"
                )


def fetch(
    filename: str,
    directory: Path,
    mirrors: Sequence[str],
    *,
    digest: str,
    algorithm: str = "md5",
    timeout: float = 10.0,
    max_bytes: int = 1 << 28,
) -> Path:
    """Download ``filename`` into ``directory`` from the first mirror that delivers it intact.

    The file is written under a temporary name, its checksum checked, and only then renamed
    to ``directory / filename``; a failed or rejected download leaves no file behind.
    Raises ``DownloadError`` naming every mirror tried and why it failed.
    """
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is not valid: expected one of {_ALGORITHMS}")
    if not timeout > 0:
        raise ValueError(f"timeout={timeout!r} is not valid: expected a number of seconds > 0")
    target = directory / filename
    failures = []
    for mirror in check_mirrors(mirrors):
        url = _url(mirror, filename)
        try:
            _fetch_one(url, target, algorithm, digest, timeout, max_bytes)
        except (_BadDownload, OSError, http.client.HTTPException) as error:
            # URLError, HTTPError, timeouts and refused connections are all OSErrors.
            failures.append(f"{url}: {error}")
            continue
        return target
    raise DownloadError(
        f"could not download {filename} into {directory} from any of {len(failures)} "
        f"mirror(s): " + "; ".join(failures)
    )
