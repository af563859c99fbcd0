"""strided.datasets.cifar10 on small files written in the official binary format."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from strided.datasets import DownloadError, cifar10

BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(31337)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Never touch the real cache: $STRIDED_DATA points into tmp_path."""
    monkeypatch.setenv("STRIDED_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache" / "cifar10"


def _records(rng, n):
    """n random records (label byte + 3,072 pixel bytes) and the NHWC images they encode."""
    records = rng.integers(0, 256, size=(n, 3073), dtype=np.uint8)
    records[:, 0] = rng.integers(0, 10, size=n)
    # Pixel (row r, column c) of channel ch is byte 1 + 1024 ch + 32 r + c of its record.
    r, c, ch = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), indexing="ij")
    images = records[:, 1 + 1024 * ch + 32 * r + c]
    return records, images


@pytest.fixture
def batches(rng):
    """{file name: (bytes, images, labels)} for the six batches, of 2 to 4 records each."""
    out = {}
    for name in BATCHES:
        records, images = _records(rng, int(rng.integers(2, 5)))
        out[name] = (records.tobytes(), images, records[:, 0])
    return out


def _write_folder(folder: Path, batches) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (data, _, _) in batches.items():
        (folder / name).write_bytes(data)
    (folder / "batches.meta.txt").write_text("\n".join(cifar10.CLASS_NAMES) + "\n")
    return folder


def _write_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _write_archive(path: Path, batches, mode: str = "w:gz") -> Path:
    members = {f"cifar-10-batches-bin/{n}": data for n, (data, _, _) in batches.items()}
    members["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\n"
    return _write_tar(path, members, mode)


def _check(result, batches) -> None:
    (x_train, y_train), (x_test, y_test) = result
    train = [batches[name] for name in BATCHES[:5]]
    n_train = sum(len(labels) for _, _, labels in train)
    assert x_train.shape == (n_train, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (n_train, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (len(batches["test_batch.bin"][2]), 32, 32, 3)
    assert y_test.shape == (len(batches["test_batch.bin"][2]), 1) and y_test.dtype == np.uint8
    assert x_train.flags.c_contiguous
    np.testing.assert_array_equal(x_train, np.concatenate([images for _, images, _ in train]))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate([labels for *_, labels in train]))
    np.testing.assert_array_equal(x_test, batches["test_batch.bin"][1])
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch.bin"][2])


# ---------------------------------------------------------------- the four ways to point at it


def test_archive_file(tmp_path, batches):
    archive = _write_archive(tmp_path / "cifar-10-binary.tar.gz", batches)
    _check(cifar10.load_data(archive, download=False), batches)


def test_uncompressed_tar(tmp_path, batches):
    archive = _write_archive(tmp_path / "cifar.tar", batches, mode="w")
    _check(cifar10.load_data(str(archive), download=False), batches)


def test_extracted_folder_and_its_parent(tmp_path, batches):
    folder = _write_folder(tmp_path / "cifar-10-batches-bin", batches)
    _check(cifar10.load_data(folder, download=False), batches)
    _check(cifar10.load_data(tmp_path, download=False), batches)


def test_directory_holding_the_archive(isolated_cache, batches):
    isolated_cache.mkdir(parents=True)
    _write_archive(isolated_cache / "cifar-10-binary.tar.gz", batches)
    _check(cifar10.load_data(download=False), batches)  # the cache directory


def test_pixel_layout_is_nhwc_rgb(tmp_path, batches):
    """One record with a single bright pixel: green channel, row 5, column 9."""
    record = np.zeros(3073, dtype=np.uint8)
    record[0] = 7
    record[1 + 1024 * 1 + 32 * 5 + 9] = 200
    one = {**batches, "test_batch.bin": (record.tobytes(), None, None)}
    (_, _), (x_test, y_test) = cifar10.load_data(_write_folder(tmp_path / "f", one))
    assert y_test.tolist() == [[7]]
    assert x_test[0, 5, 9].tolist() == [0, 200, 0]
    assert int(x_test.sum()) == 200


# ---------------------------------------------------------------- refusals and errors


def test_pickle_archive_is_refused(tmp_path):
    # Not even valid pickles: the loader must refuse by name, never try to load them.
    members = {f"cifar-10-batches-py/data_batch_{i}": b"\x80\x04N." for i in range(1, 6)}
    members |= {"cifar-10-batches-py/test_batch": b"x", "cifar-10-batches-py/batches.meta": b"x"}
    archive = _write_tar(tmp_path / "cifar-10-python.tar.gz", members)
    with pytest.raises(
        ValueError,
        match=r"holds the Python \(pickle\) version of CIFAR-10, "
        r"which strided never unpickles; expected the binary",
    ):
        cifar10.load_data(archive)


def test_pickle_directory_is_refused(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(ValueError, match=r"directory .* holds the Python \(pickle\) version"):
        cifar10.load_data(tmp_path)


def test_record_size_must_divide(tmp_path, batches):
    data, images, labels = batches["data_batch_3.bin"]
    broken = {**batches, "data_batch_3.bin": (data[:-1], images, labels)}
    folder = _write_folder(tmp_path / "cifar-10-batches-bin", broken)
    n_bytes = len(data) - 1
    with pytest.raises(
        ValueError,
        match=rf"batch .*data_batch_3.bin has {n_bytes} bytes, "
        rf"expected a positive multiple of 3073",
    ):
        cifar10.load_data(folder)


def test_empty_batch(tmp_path, batches):
    archive = _write_archive(tmp_path / "a.tar.gz", {**batches, "test_batch.bin": (b"", 0, 0)})
    with pytest.raises(ValueError, match=r"a.tar.gz:test_batch.bin has 0 bytes, expected a pos"):
        cifar10.load_data(archive)


def test_label_above_nine(tmp_path, batches):
    data = bytearray(batches["test_batch.bin"][0])
    data[3073] = 10  # label of the second record
    archive = _write_archive(tmp_path / "a.tar.gz", {**batches, "test_batch.bin": (data, 0, 0)})
    with pytest.raises(ValueError, match=r"test_batch.bin holds the label 10, expected 0 to 9"):
        cifar10.load_data(archive)


def test_missing_members_and_files(tmp_path, batches):
    partial = {name: value for name, value in batches.items() if name != "data_batch_4.bin"}
    archive = _write_archive(tmp_path / "a.tar.gz", partial)
    with pytest.raises(ValueError, match=r"a.tar.gz lacks data_batch_4.bin; expected the binary"):
        cifar10.load_data(archive)
    folder = _write_folder(tmp_path / "cifar-10-batches-bin", partial)
    with pytest.raises(FileNotFoundError, match=r"batch file data_batch_4.bin not found in dir"):
        cifar10.load_data(folder)


def test_duplicate_member(tmp_path, batches):
    members = {f"cifar-10-batches-bin/{n}": data for n, (data, _, _) in batches.items()}
    members["other/test_batch.bin"] = batches["test_batch.bin"][0]
    archive = _write_tar(tmp_path / "a.tar.gz", members)
    with pytest.raises(ValueError, match=r"a.tar.gz holds test_batch.bin twice"):
        cifar10.load_data(archive)


def test_not_a_tar_archive(tmp_path, batches):
    archive = _write_archive(tmp_path / "cifar-10-binary.tar.gz", batches)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"cut.tar.gz is not a readable tar archive"):
        cifar10.load_data(cut)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes.txt is not a readable tar archive"):
        cifar10.load_data(text)


def test_nothing_found(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"CIFAR-10 not found in directory .*: expected "
        r"cifar-10-batches-bin/, cifar-10-binary.tar.gz",
    ):
        cifar10.load_data(tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match=r"archive path='.*nope.tar.gz' does not exist"):
        cifar10.load_data(tmp_path / "nope.tar.gz")


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"timeout=0 is not valid"):
        cifar10.load_data(tmp_path, timeout=0)
    with pytest.raises(ValueError, match=r"mirror 'ftp://x/' in mirrors is not valid"):
        cifar10.load_data(tmp_path, mirrors=["ftp://x/"])


# ---------------------------------------------------------------- download


@pytest.fixture
def mirror(tmp_path, batches, http_server, monkeypatch):
    """A local server with a fake archive whose md5 replaces the official one."""
    root = tmp_path / "server"
    root.mkdir()
    archive = _write_archive(root / "cifar-10-binary.tar.gz", batches)
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    return http_server(root)


def test_download_then_cached(mirror, isolated_cache, batches, dead_mirror):
    _check(cifar10.load_data(mirrors=[dead_mirror, mirror.url]), batches)
    assert [p.name for p in isolated_cache.iterdir()] == ["cifar-10-binary.tar.gz"]
    _check(cifar10.load_data(mirrors=[mirror.url]), batches)
    assert mirror.requests == ["/cifar-10-binary.tar.gz"]


def test_bad_checksum_is_rejected(mirror, isolated_cache, monkeypatch):
    monkeypatch.setattr(cifar10, "MD5", "f" * 32)
    with pytest.raises(DownloadError, match=r"cifar-10-binary.tar.gz: checksum mismatch: md5 "):
        cifar10.load_data(mirrors=[mirror.url])
    assert list(isolated_cache.iterdir()) == []
