"""The IDX reader and writer: formats, dtypes and every validation error."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from strided.datasets import read_idx, write_idx


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.mark.parametrize("compressed", [False, True])
def test_reads_uint8_images_gzipped_or_not(tmp_path, rng, make_idx, compressed):
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    data = make_idx(images)
    # the name never says .gz: compression is detected from the content
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if compressed else data)
    found = read_idx(path, expected_magic=0x00000803)
    assert found.dtype == np.uint8
    assert found.flags.writeable
    np.testing.assert_array_equal(found, images)


@pytest.mark.parametrize(
    ("type_code", "dtype"),
    [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_reads_big_endian_types_into_native_order(tmp_path, rng, make_idx, type_code, dtype):
    values = rng.integers(-100, 100, size=(3, 4)).astype(dtype)
    path = tmp_path / "values.idx"
    path.write_bytes(make_idx(values, type_code))
    found = read_idx(path)
    assert found.dtype == np.dtype(dtype)
    assert found.dtype.isnative
    np.testing.assert_array_equal(found, values)


def test_writer_matches_hand_built_bytes_and_is_reproducible(tmp_path, rng, make_idx):
    labels = rng.integers(0, 10, size=17, dtype=np.uint8)
    values = rng.standard_normal((2, 3)).astype(np.float32)
    write_idx(tmp_path / "labels", labels)
    write_idx(tmp_path / "values", values)
    assert (tmp_path / "labels").read_bytes() == make_idx(labels)
    assert (tmp_path / "values").read_bytes() == make_idx(values, 0x0D)
    write_idx(tmp_path / "a.gz", labels)
    write_idx(tmp_path / "b.gz", labels)
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == make_idx(labels)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gz", "b.gz", "labels", "values"]


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(data)
    return path


def test_empty_file(tmp_path):
    path = _write(tmp_path, b"")
    with pytest.raises(ValueError, match=r"idx3-ubyte is truncated: expected a 4-byte magic"):
        read_idx(path)


@pytest.mark.parametrize(
    "head", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"]
)
def test_bad_magic_numbers(tmp_path, head):
    path = _write(tmp_path, head + b"\x00" * 8)
    expected = f"0x{int.from_bytes(head, 'big'):08X}"
    with pytest.raises(ValueError, match=rf"broken-idx3-ubyte has a bad magic number {expected}"):
        read_idx(path)


def test_unexpected_magic(tmp_path, make_idx):
    path = _write(tmp_path, make_idx(np.zeros(3, dtype=np.uint8)))
    message = (
        r"magic number 0x00000801 \(uint8, 1 dimension\), "
        r"expected 0x00000803 \(uint8, 3 dimensions\)"
    )
    with pytest.raises(ValueError, match=message):
        read_idx(path, expected_magic=0x00000803)


def test_truncated_dimensions(tmp_path):
    path = _write(tmp_path, b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02" + b"\x00\x00")
    with pytest.raises(ValueError, match=r"expected 3 dimension sizes \(12 bytes\).*found 6 bytes"):
        read_idx(path)


def test_truncated_data(tmp_path, make_idx):
    data = make_idx(np.zeros((2, 28, 28), dtype=np.uint8))
    path = _write(tmp_path, data[:-10])
    message = r"is truncated: its header promises shape \(2, 28, 28\) of uint8, i.e. 1568 bytes"
    with pytest.raises(ValueError, match=message + r" of data, found only 1558 bytes"):
        read_idx(path)


def test_trailing_bytes(tmp_path, make_idx):
    path = _write(tmp_path, make_idx(np.zeros(4, dtype=np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match=r"has trailing bytes: .* 4 bytes of data, but the file"):
        read_idx(path)


def test_truncated_gzip(tmp_path, make_idx):
    compressed = gzip.compress(make_idx(np.arange(200, dtype=np.uint8)))
    path = _write(tmp_path, compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match=r"starts like a gzip file but is not a valid one"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nothing"))):
        read_idx(tmp_path / "nothing")


def test_writer_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match=r"array has dtype int64; IDX can store only uint8, int8"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"array has shape \(\); IDX needs 1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.uint8(3))
    assert list(tmp_path.iterdir()) == []
