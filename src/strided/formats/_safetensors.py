"""The safetensors file format, read and written with NumPy alone.

A file is an 8-byte little-endian header length ``n``, ``n`` bytes of UTF-8 JSON, then the
data: raw little-endian arrays, C order, back to back.  The header maps each tensor's name
to ``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (offsets into the
data), and may hold ``"__metadata__"``, a map of strings to strings.  Reading never
unpickles and never executes anything; every offset and size is checked against the file
before any array is made (https://github.com/huggingface/safetensors, "Format").
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..datasets._files import atomic_writer

#: safetensors dtype names and the NumPy dtypes they read as (little-endian); BF16 is read
#: as float32 (its upper half), since NumPy has no bfloat16
DTYPES: dict[str, str] = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}
_NAMES = {np.dtype(v): k for k, v in DTYPES.items() if k != "BF16"}
#: the reference implementation's limit on the header (100 MB)
MAX_HEADER = 100_000_000


class SafetensorsError(ValueError):
    """A file that is not valid safetensors (the message names the file and the fault)."""


def _pickle_kind(head: bytes) -> str | None:
    """What a pickle-based file starting with ``head`` is, if it is one."""
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (PyTorch's torch.save writes one, holding a pickle)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (torch.save's legacy format)"
    return None


TORCH_HINT = ("strided never unpickles files; export the weights as safetensors instead: "
              "`from safetensors.torch import save_file; "
              "save_file(model.state_dict(), 'model.safetensors')`")


def read_safetensors(filepath: str | os.PathLike[str]
                     ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read every tensor and the metadata of a safetensors file.

    Parameters
    ----------
    filepath : str or path
        The file (any name; ``.safetensors`` and strided's ``.strided`` are both this format).

    Returns
    -------
    tensors : dict of str to ndarray
        Each tensor, in the order of its offsets in the file, as a new writable array
        (BF16 widened to float32).
    metadata : dict of str to str
        The header's ``"__metadata__"`` (empty when absent).

    Raises
    ------
    SafetensorsError
        (a ValueError) naming the file and what is wrong: too short, a header length beyond
        the file, a header that is not JSON or not this format's, an unknown dtype, offsets
        outside the data or not matching the shape, overlapping tensors, or a pickle.
    OSError
        When the file cannot be read.
    """
    path = Path(filepath)
    data = path.read_bytes()
    return parse(data, str(path))


def parse(data: bytes, name: str = "<bytes>") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``read_safetensors`` on the bytes of a file (``name`` is used in messages)."""
    def fail(why: str) -> SafetensorsError:
        return SafetensorsError(f"Cannot read {name!r}: not a valid safetensors file: {why}")

    # a safetensors header is JSON, so its ninth byte is "{"; a length can look like a magic
    kind = _pickle_kind(data[:8]) if data[8:9] != b"{" else None
    if kind is not None:
        raise SafetensorsError(f"Cannot read {name!r}: it is {kind}, not safetensors. "
                               f"{TORCH_HINT}")
    if len(data) < 8:
        raise fail(f"{len(data)} bytes, shorter than the 8-byte header length")
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(len(data) - 8, MAX_HEADER):
        raise fail(f"the header length ({size} bytes) exceeds the "
                   f"{'file' if size <= MAX_HEADER else '100 MB limit'} "
                   f"({len(data) - 8} bytes follow the length)")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise fail(f"the header is not JSON ({type(error).__name__}: {error})") from None
    if not isinstance(header, dict):
        raise fail(f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise fail("__metadata__ must map strings to strings")
    body = memoryview(data)[8 + size:]
    entries = []
    for key, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise fail(f"tensor {key!r} must be an object with exactly dtype, shape and "
                       f"data_offsets. Received: {str(entry)[:100]}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise fail(f"tensor {key!r} has dtype {dtype!r}; expected one of {sorted(DTYPES)}")
        if not isinstance(shape, list) or not all(
                type(n) is int and 0 <= n < 2**63 for n in shape):
            raise fail(f"tensor {key!r} has shape {shape!r}; expected a list of sizes >= 0")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                type(n) is int for n in offsets) or not 0 <= offsets[0] <= offsets[1]:
            raise fail(f"tensor {key!r} has data_offsets {offsets!r}; expected [begin, end] "
                       f"with 0 <= begin <= end")
        begin, end = offsets
        if end > len(body):
            raise fail(f"tensor {key!r} ends at offset {end}, outside the data "
                       f"({len(body)} bytes)")
        expected = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
        if end - begin != expected:
            raise fail(f"tensor {key!r} of dtype {dtype} and shape {tuple(shape)} needs "
                       f"{expected} bytes but its data_offsets {offsets} hold {end - begin}")
        entries.append((begin, end, key, dtype, tuple(shape)))
    entries.sort()
    tensors: dict[str, np.ndarray] = {}
    last_end, last_key = 0, None
    for begin, end, key, dtype, shape in entries:
        if begin < last_end:
            raise fail(f"tensors {last_key!r} and {key!r} overlap in the data")
        last_end, last_key = end, key
        array = np.frombuffer(body[begin:end], dtype=DTYPES[dtype]).reshape(shape)
        if dtype == "BF16":
            array = (array.astype("<u4") << 16).view("<f4")
        tensors[key] = array.astype(array.dtype.newbyteorder("="), copy=True)
    return tensors, dict(metadata)


def write_safetensors(filepath: str | os.PathLike[str], tensors: Mapping[str, np.ndarray],
                      metadata: Mapping[str, str] | None = None) -> None:
    """Write ``tensors`` (and string ``metadata``) as a safetensors file, atomically.

    The tensors are stored in the order given, each as C-ordered little-endian data; the
    file replaces ``filepath`` only once fully written, so a crash leaves the old file.

    Raises
    ------
    TypeError
        For an array of a dtype safetensors cannot hold (complex, object, strings).
    ValueError
        For a tensor named ``"__metadata__"``, or metadata that is not strings.
    """
    header: dict[str, object] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("write_safetensors: metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    chunks, at = [], 0
    for key, value in tensors.items():
        if key == "__metadata__":
            raise ValueError("write_safetensors: '__metadata__' cannot name a tensor")
        array = np.asarray(value)
        little = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
        if np.dtype(little) not in _NAMES:
            raise TypeError(f"write_safetensors: tensor {key!r} has dtype {array.dtype}, "
                            f"which safetensors cannot hold; expected one of "
                            f"{sorted(str(d) for d in _NAMES)}")
        raw = np.ascontiguousarray(array, dtype=little).tobytes()
        header[key] = {"dtype": _NAMES[np.dtype(little)], "shape": list(array.shape),
                       "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the reference implementation aligns the data to 8 bytes
    with atomic_writer(Path(filepath)) as stream:
        stream.write(struct.pack("<Q", len(text)))
        stream.write(text)
        for raw in chunks:
            stream.write(raw)
