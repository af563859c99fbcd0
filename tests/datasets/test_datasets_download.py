"""Checksummed downloads from a local HTTP server: success, bad checksums, dead mirrors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from strided.datasets import DownloadError
from strided.datasets._download import fetch


@pytest.fixture
def served(tmp_path, http_server):
    """A server directory holding one random file; returns (server, payload)."""
    root = tmp_path / "server"
    (root / "files").mkdir(parents=True)
    payload = np.random.default_rng(7).integers(0, 256, size=5000, dtype=np.uint8).tobytes()
    (root / "files" / "blob.bin").write_bytes(payload)
    return http_server(root), payload


def test_good_download_is_written_and_checked(tmp_path, served):
    server, payload = served
    out = tmp_path / "cache" / "sub"
    path = fetch("blob.bin", out, [server.url + "files/"], digest=hashlib.md5(payload).hexdigest())
    assert path == out / "blob.bin"
    assert path.read_bytes() == payload
    assert [p.name for p in out.iterdir()] == ["blob.bin"]  # no temporary file left
    assert server.requests == ["/files/blob.bin"]


def test_sha256_digest(tmp_path, served):
    server, payload = served
    digest = hashlib.sha256(payload).hexdigest().upper()  # case does not matter
    path = fetch("blob.bin", tmp_path, [server.url + "files"], digest=digest, algorithm="sha256")
    assert path.read_bytes() == payload


def test_bad_checksum_leaves_nothing_behind(tmp_path, served):
    server, payload = served
    out = tmp_path / "cache"
    wrong = hashlib.md5(payload + b"x").hexdigest()
    message = rf"checksum mismatch: md5 of the 5000 bytes .* {wrong}"
    with pytest.raises(DownloadError, match=message):
        fetch("blob.bin", out, [server.url + "files/"], digest=wrong)
    assert list(out.iterdir()) == []


def test_failed_download_keeps_existing_file(tmp_path, served):
    server, _ = served
    out = tmp_path / "out"
    out.mkdir()
    (out / "blob.bin").write_bytes(b"old")
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch("blob.bin", out, [server.url + "files/"], digest="0" * 32)
    assert (out / "blob.bin").read_bytes() == b"old"
    assert [p.name for p in out.iterdir()] == ["blob.bin"]


def test_dead_mirrors_fall_through_to_the_next(tmp_path, served, dead_mirror):
    server, payload = served
    mirrors = [dead_mirror, server.url + "missing/", server.url + "files/"]
    path = fetch("blob.bin", tmp_path, mirrors, digest=hashlib.md5(payload).hexdigest())
    assert path.read_bytes() == payload
    assert server.requests == ["/missing/blob.bin", "/files/blob.bin"]


def test_all_mirrors_failing_names_each(tmp_path, served, dead_mirror):
    server, _ = served
    mirrors = [dead_mirror, server.url + "missing/"]
    message = (
        rf"could not download blob.bin into .* from any of 2 mirror\(s\): "
        rf"{dead_mirror}blob.bin: .*refused.*; {server.url}missing/blob.bin: HTTP Error 404"
    )
    with pytest.raises(DownloadError, match=message):
        fetch("blob.bin", tmp_path / "out", mirrors, digest="0" * 32)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_truncated_response_is_rejected(tmp_path, served):
    server, _ = served
    out = tmp_path / "out"
    message = r"short/blob.bin: truncated: received 10 of 1000 bytes"
    with pytest.raises(DownloadError, match=message):
        fetch("blob.bin", out, [server.url + "short/"], digest="0" * 32)
    assert not out.exists() or list(out.iterdir()) == []


def test_oversized_download_is_rejected(tmp_path, served):
    server, payload = served
    out = tmp_path / "out"
    with pytest.raises(DownloadError, match=r"announces 5000 bytes, more than the 4999 allowed"):
        fetch(
            "blob.bin",
            out,
            [server.url + "files/"],
            digest=hashlib.md5(payload).hexdigest(),
            max_bytes=4999,
        )
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("mirrors", "message"),
    [
        ("https://example.org/", r"mirrors='https://example.org/' is not valid: expected a seq"),
        ((), r"mirrors=\(\) is empty: expected at least one base URL"),
        (["ftp://example.org/"], r"mirror 'ftp://example.org/' in mirrors is not valid: expected"),
        (["file:///etc/"], r"mirror 'file:///etc/' in mirrors is not valid: expected an http"),
    ],
)
def test_invalid_mirrors(tmp_path, mirrors, message):
    with pytest.raises(ValueError, match=message):
        fetch("blob.bin", tmp_path, mirrors, digest="0" * 32)


def test_invalid_algorithm_and_timeout(tmp_path):
    with pytest.raises(ValueError, match=r"algorithm='sha1' is not valid: expected one of"):
        fetch("x", tmp_path, ["http://127.0.0.1/"], digest="0", algorithm="sha1")
    with pytest.raises(ValueError, match=r"timeout=0 is not valid: expected a number of seconds"):
        fetch("x", tmp_path, ["http://127.0.0.1/"], digest="0", timeout=0)
