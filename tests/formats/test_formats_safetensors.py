"""The safetensors reader and writer against the reference implementation (the
``safetensors`` package), and every damaged file named in its error."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from strided.formats import SafetensorsError, read_safetensors, write_safetensors

safetensors_numpy = pytest.importorskip(
    "safetensors.numpy", reason="the safetensors package (the test extra) is the oracle here")

DTYPES = ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for i, dtype in enumerate(DTYPES):
        shape = [(), (3,), (2, 3), (2, 0, 4), (1, 2, 3, 2)][i % 5]
        out[f"t{i}.{dtype}"] = np.asarray(rng.standard_normal(shape) * 50).astype(dtype)
    return out


def test_our_files_read_by_the_reference(tmp_path: Path) -> None:
    arrays = _arrays(np.random.default_rng(0))
    path = tmp_path / "a.safetensors"
    write_safetensors(path, arrays, {"format": "test"})
    back = safetensors_numpy.load_file(str(path))
    assert set(back) == set(arrays)
    for key, value in arrays.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        np.testing.assert_array_equal(back[key], value)
    assert [p.name for p in tmp_path.iterdir()] == ["a.safetensors"]  # no temporary left


def test_reference_files_read_by_us(tmp_path: Path) -> None:
    arrays = _arrays(np.random.default_rng(1))
    path = tmp_path / "b.safetensors"
    safetensors_numpy.save_file(arrays, str(path), metadata={"who": "reference"})
    back, metadata = read_safetensors(path)
    assert metadata == {"who": "reference"}
    for key, value in arrays.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        np.testing.assert_array_equal(back[key], value)
        assert back[key].flags.writeable


def test_bfloat16_widens_to_float32(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch writes bfloat16 here")
    from safetensors.torch import save_file

    values = torch.tensor([1.5, -2.25, 3.0e10, 0.0]).to(torch.bfloat16)
    save_file({"w": values}, str(tmp_path / "bf.safetensors"))
    back, _ = read_safetensors(tmp_path / "bf.safetensors")
    assert back["w"].dtype == np.float32
    np.testing.assert_array_equal(back["w"], values.float().numpy())


def _file(header: object, data: bytes = b"", size: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if size is None else size) + text + data


GOOD = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
BAD = [
    (b"", r"0 bytes, shorter than the 8-byte header length"),
    (b"\x01\x02", r"2 bytes, shorter than the 8-byte header length"),
    (_file(GOOD, bytes(8), size=10**6), r"header length \(1000000 bytes\) exceeds the file"),
    (_file(GOOD, bytes(8), size=2**62), r"exceeds the 100 MB limit"),
    (_file(b"{not json", bytes(8)), r"the header is not JSON"),
    (_file(b"\xff\xfe", bytes(8)), r"the header is not JSON \(UnicodeDecodeError"),
    (_file([1, 2], bytes(8)), r"the header is a JSON list, not an object"),
    (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 80]}}, bytes(8)),
     r"tensor 'w' ends at offset 80, outside the data \(8 bytes\)"),
    (_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),
     r"tensor 'w' of dtype F32 and shape \(3,\) needs 12 bytes but its data_offsets "
     r"\[0, 8\] hold 8"),
    (_file({"w": {"dtype": "Q8", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
     r"tensor 'w' has dtype 'Q8'"),
    (_file({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)),
     r"tensor 'w' has shape \[-2\]"),
    (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, bytes(8)),
     r"tensor 'w' has data_offsets \[8, 0\]"),
    (_file({"w": {"dtype": "F32", "shape": [2]}}, bytes(8)),
     r"tensor 'w' must be an object with exactly dtype, shape and data_offsets"),
    (_file({**GOOD, "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
     r"tensors 'w' and 'v' overlap in the data"),
    (_file({"__metadata__": {"a": 1}, **GOOD}, bytes(8)), r"__metadata__ must map strings"),
    (b"PK\x03\x04" + bytes(40), r"it is a zip archive \(PyTorch's torch.save writes one.*"
                                r"save_file\(model.state_dict\(\), 'model.safetensors'\)"),
    (b"\x80\x02}q\x00." + bytes(8), r"it is a Python pickle"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_damaged_files_are_named_with_the_fault(tmp_path: Path, data: bytes,
                                                message: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(SafetensorsError, match=rf"Cannot read '{path}': .*{message}"):
        read_safetensors(path)


def test_a_torch_save_file_is_refused(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch.save writes the pickle here")
    path = tmp_path / "weights.safetensors"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match=r"torch.save.*strided never unpickles"):
        read_safetensors(path)


def test_a_header_length_that_starts_like_a_pickle_or_zip_is_read(tmp_path: Path) -> None:
    for magic in (b"\x80\x02", b"PK"):  # header lengths 0x0280 = 640 and 0x4b50 = 19280
        size = int.from_bytes(magic, "little")
        header = json.dumps({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})
        text = header.encode() + b" " * (size - len(header))
        path = tmp_path / "h.safetensors"
        path.write_bytes(struct.pack("<Q", size) + text + b"\x07")
        tensors, _ = read_safetensors(path)
        np.testing.assert_array_equal(tensors["w"], [7])


def test_writer_refuses_what_safetensors_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"tensor 'c' has dtype complex128"):
        write_safetensors(tmp_path / "c.safetensors", {"c": np.ones(2, complex)})
    with pytest.raises(ValueError, match=r"'__metadata__' cannot name a tensor"):
        write_safetensors(tmp_path / "c.safetensors", {"__metadata__": np.ones(2)})
    with pytest.raises(ValueError, match=r"metadata must map strings to strings"):
        write_safetensors(tmp_path / "c.safetensors", {}, {"a": 1})  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []


def test_big_endian_and_strided_arrays_are_written_little_endian_c_order(tmp_path: Path
                                                                          ) -> None:
    a = np.arange(12, dtype=">f4").reshape(3, 4).T
    write_safetensors(tmp_path / "e.safetensors", {"a": a})
    back, _ = read_safetensors(tmp_path / "e.safetensors")
    np.testing.assert_array_equal(back["a"], a)
    assert back["a"].dtype == np.float32
