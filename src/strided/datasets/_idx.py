"""Reading and writing IDX files, the format of MNIST, gzipped or not, with ``numpy.frombuffer``."""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ._files import atomic_writer

__all__ = ["read_idx", "write_idx"]

# IDX type codes (third byte of the magic number); multi-byte data is big-endian.
_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def _describe_magic(magic: int) -> str:
    """Return e.g. ``0x00000803 (uint8, 3 dimensions)``."""
    dtype = _TYPE_CODES.get((magic >> 8) & 0xFF)
    kind = "unknown type" if dtype is None else str(dtype.newbyteorder("="))
    ndim = magic & 0xFF
    return f"0x{magic:08X} ({kind}, {ndim} dimension{'' if ndim == 1 else 's'})"


def _read_up_to(stream: io.BufferedIOBase, size: int) -> bytearray:
    """Read at most ``size`` bytes, in chunks so a lying header cannot force a huge allocation."""
    buffer = bytearray()
    while len(buffer) < size:
        chunk = stream.read(min(_CHUNK, size - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _parse(stream: io.BufferedIOBase, name: str, expected_magic: int | None) -> np.ndarray:
    """Parse one IDX stream; ``name`` is used in error messages."""
    head = _read_up_to(stream, 4)
    if len(head) < 4:
        raise ValueError(
            f"IDX file {name} is truncated: expected a 4-byte magic number, found {len(head)} bytes"
        )
    magic = int.from_bytes(head, "big")
    valid_codes = ", ".join(f"0x{code:02X}" for code in _TYPE_CODES)
    if head[0] != 0 or head[1] != 0 or head[2] not in _TYPE_CODES or head[3] == 0:
        raise ValueError(
            f"IDX file {name} has a bad magic number 0x{magic:08X}: expected two zero bytes, "
            f"a type code in {{{valid_codes}}} and a number of dimensions >= 1 "
            f"(MNIST images: 0x00000803, labels: 0x00000801)"
        )
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"IDX file {name} has magic number {_describe_magic(magic)}, "
            f"expected {_describe_magic(expected_magic)}"
        )
    ndim = head[3]
    dims_bytes = _read_up_to(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise ValueError(
            f"IDX file {name} is truncated: expected {ndim} dimension sizes ({4 * ndim} bytes) "
            f"after the magic number, found {len(dims_bytes)} bytes"
        )
    shape = tuple(int.from_bytes(dims_bytes[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = _TYPE_CODES[head[2]]
    size = math.prod(shape) * dtype.itemsize
    data = _read_up_to(stream, size)
    if len(data) < size:
        raise ValueError(
            f"IDX file {name} is truncated: its header promises shape {shape} of {dtype.name}, "
            f"i.e. {size} bytes of data, found only {len(data)} bytes"
        )
    if stream.read(1):
        raise ValueError(
            f"IDX file {name} has trailing bytes: its header promises shape {shape} of "
            f"{dtype.name}, i.e. {size} bytes of data, but the file holds more"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | os.PathLike[str], *, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (the format of MNIST), gzip-compressed or not.

    Compression is detected from the file's first bytes, not from its name. The data are read
    with :func:`numpy.frombuffer`; nothing is ever unpickled.

    Parameters
    ----------
    path : str or os.PathLike
        The IDX file, e.g. ``t10k-images-idx3-ubyte`` or ``t10k-images-idx3-ubyte.gz``.
    expected_magic : int, optional
        The magic number the file must have, e.g. ``0x00000803`` for MNIST images (uint8,
        3 dimensions) or ``0x00000801`` for MNIST labels (uint8, 1 dimension).

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order whose shape and dtype are given by the header,
        e.g. shape ``(10000, 28, 28)`` and dtype ``uint8`` for the MNIST test images.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not valid IDX (bad magic number, truncated header or data, trailing
        bytes, corrupt gzip stream) or its magic number differs from ``expected_magic``.
        The message names the file, what was expected and what was found.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from strided.datasets import read_idx, write_idx
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
    >>> write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    >>> read_idx(path, expected_magic=0x00000801)
    array([7, 2, 1], dtype=uint8)
    """
    file = Path(path)
    with open(file, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse(raw, str(file), expected_magic)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse(stream, str(file), expected_magic)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise ValueError(
                f"IDX file {file} starts like a gzip file but is not a valid one "
                f"(truncated or corrupt: {error})"
            ) from error


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed if ``path`` ends with ``.gz``.

    The file is written under a temporary name and renamed, so ``path`` never holds a
    half-written file. Compressed output is reproducible: the gzip header holds no time stamp
    and no file name.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    array : numpy.ndarray
        At least one dimension, each below 2**32, of dtype uint8, int8, int16, int32, float32
        or float64.

    Raises
    ------
    ValueError
        If ``array`` has no dimension, a dimension of 2**32 or more, or an unsupported dtype.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from strided.datasets import read_idx, write_idx
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "images-idx3-ubyte"
    >>> write_idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
    >>> read_idx(path).shape
    (2, 28, 28)
    """
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in _TYPE_CODES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        valid = ", ".join(str(dtype.newbyteorder("=")) for dtype in _TYPE_CODES.values())
        raise ValueError(f"array has dtype {array.dtype}; IDX can store only {valid}")
    if not 1 <= array.ndim <= 255 or any(dim >= 2**32 for dim in array.shape):
        raise ValueError(
            f"array has shape {array.shape}; IDX needs 1 to 255 dimensions, each below 2**32"
        )
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        dim.to_bytes(4, "big") for dim in array.shape
    )
    payload = header + array.astype(_TYPE_CODES[code], copy=False).tobytes(order="C")
    file = Path(path)
    with atomic_writer(file) as raw:
        if file.name.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as z:
                z.write(payload)
        else:
            raw.write(payload)
