"""CIFAR-10, loaded like ``keras.datasets.cifar10`` from the official *binary* version.

The binary version (``cifar-10-binary.tar.gz``, folder ``cifar-10-batches-bin``) holds
``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``: records of one label
byte followed by 3,072 pixel bytes (1,024 red, then 1,024 green, then 1,024 blue, each 32x32
row-major). It is read with :func:`numpy.frombuffer`; the Python version of the dataset,
made of pickles, is refused, never unpickled.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._download import check_mirrors, fetch
from ._files import data_home

__all__ = ["ARCHIVE", "CLASS_NAMES", "MD5", "MIRRORS", "load_data"]

#: Base URLs tried in order for :data:`ARCHIVE`.
MIRRORS: tuple[str, ...] = ("https://www.cs.toronto.edu/~kriz/",)
#: The official archive of the binary version, and its md5 as published on the CIFAR page.
ARCHIVE = "cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
#: Label names, by label value.
CLASS_NAMES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_FOLDER = "cifar-10-batches-bin"
_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST = "test_batch.bin"
_RECORD = 1 + 3 * 32 * 32
# Names that only the pickled (Python) version uses: seen without the binary files, refuse.
_PICKLE_NAMES = frozenset(
    {"cifar-10-batches-py", "cifar-10-python.tar.gz", "batches.meta", "test_batch"}
    | {f"data_batch_{i}" for i in range(1, 6)}
)
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_MAX_DOWNLOAD = 1 << 28  # the official archive is 170,052,171 bytes

Pair = tuple[np.ndarray, np.ndarray]


def _parse_batch(data: bytes, name: str) -> Pair:
    """Turn one batch of binary records into NHWC uint8 images and (N, 1) uint8 labels."""
    if not data or len(data) % _RECORD:
        raise ValueError(
            f"CIFAR-10 batch {name} has {len(data)} bytes, expected a positive multiple of "
            f"{_RECORD} (records of 1 label byte + 3,072 pixel bytes)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, :1].copy()
    if labels.max() > 9:
        raise ValueError(
            f"CIFAR-10 batch {name} holds the label {int(labels.max())}, expected 0 to 9"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _pickle_refusal(where: str) -> ValueError:
    """The error for a dataset that exists only as pickles."""
    return ValueError(
        f"{where} holds the Python (pickle) version of CIFAR-10, which strided never unpickles; "
        f"expected the binary version: {ARCHIVE} (folder {_FOLDER}, files "
        f"{', '.join(_TRAIN)}, {_TEST}) from {MIRRORS[0]}{ARCHIVE}"
    )


def _read_archive(archive: Path) -> dict[str, bytes]:
    """Return the six batch files of a tar archive by name, without extracting anything."""
    import gzip  # lazy: only needed for archives
    import tarfile

    wanted = {*_TRAIN, _TEST}
    found: dict[str, bytes] = {}
    pickle_names = []
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                base = member.name.rstrip("/").rsplit("/", 1)[-1]
                if base in _PICKLE_NAMES:
                    pickle_names.append(member.name)
                if base not in wanted or not member.isfile():
                    continue
                if base in found:
                    raise ValueError(
                        f"CIFAR-10 archive {archive} holds {base} twice; expected one of each "
                        f"of {', '.join(_TRAIN)}, {_TEST}"
                    )
                stream = tar.extractfile(member)
                if stream is None:
                    continue
                found[base] = stream.read()
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(
            f"CIFAR-10 archive {archive} is not a readable tar archive (truncated or corrupt: "
            f"{error}); expected {ARCHIVE} from {MIRRORS[0]}{ARCHIVE}"
        ) from error
    if not found and pickle_names:
        raise _pickle_refusal(f"archive {archive}")
    missing = sorted(wanted - found.keys())
    if missing:
        raise ValueError(
            f"CIFAR-10 archive {archive} lacks {', '.join(missing)}; expected the binary "
            f"version with {', '.join(_TRAIN)}, {_TEST}"
        )
    return found


def _read_folder(folder: Path) -> dict[str, bytes]:
    """Return the six batch files of an extracted ``cifar-10-batches-bin`` folder by name."""
    found = {}
    for name in (*_TRAIN, _TEST):
        file = folder / name
        if not file.is_file():
            raise FileNotFoundError(
                f"CIFAR-10 batch file {name} not found in directory {folder}; expected "
                f"{', '.join(_TRAIN)}, {_TEST}"
            )
        found[name] = file.read_bytes()
    return found


def _locate(directory: Path) -> Path | None:
    """Return the extracted folder or archive of the binary version in ``directory``, if any."""
    for candidate in (directory, directory / _FOLDER):
        if (candidate / _TRAIN[0]).is_file():
            return candidate
    if (directory / ARCHIVE).is_file():
        return directory / ARCHIVE
    return None


def load_data(
    path: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 30.0,
) -> tuple[Pair, Pair]:
    """Load CIFAR-10 like ``keras.datasets.cifar10.load_data()``, from the binary version.

    Parameters
    ----------
    path : str or os.PathLike, optional
        One of: the archive ``cifar-10-binary.tar.gz`` (read without extracting); an extracted
        ``cifar-10-batches-bin`` folder; or a directory holding that folder or the archive.
        Default: the cache directory ``$STRIDED_DATA/cifar10``, else
        ``$XDG_CACHE_HOME/strided/cifar10``, else ``~/.cache/strided/cifar10``.
    download : bool, default True
        Whether, if the directory holds neither, the archive may be downloaded into it from
        ``mirrors``, md5-checked, written under a temporary name and then renamed.
    mirrors : sequence of str, default :data:`MIRRORS`
        Base URLs (http or https) tried in order.
    timeout : float, default 30.0
        Seconds to wait on each network operation before giving up on a mirror.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of numpy.ndarray
        ``x_*``: uint8 images of shape ``(N, 32, 32, 3)`` (NHWC, RGB), values 0 to 255;
        ``y_*``: uint8 labels of shape ``(N, 1)``, 0 to 9 (names in :data:`CLASS_NAMES`).
        The official set has N = 50,000 (``data_batch_1`` to ``5`` in order) and 10,000.

    Raises
    ------
    ValueError
        If ``mirrors`` or ``timeout`` is not valid; if the data are the pickle (Python)
        version, which is never unpickled; or if the archive or a batch is corrupt,
        truncated, has a size that is not a whole number of 3,073-byte records, or a label
        above 9. Messages name the file.
    FileNotFoundError
        If ``path`` names a missing archive, a folder lacks a batch file, or nothing is
        found and ``download=False``.
    strided.datasets.DownloadError
        If the archive could not be downloaded from any mirror.

    Examples
    --------
    >>> from strided.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1))
    """
    mirrors = check_mirrors(mirrors)
    if not timeout > 0:
        raise ValueError(f"timeout={timeout!r} is not valid: expected a number of seconds > 0")
    where = Path(path).expanduser() if path is not None else data_home("cifar10")
    if where.is_file():
        source: Path | None = where
    elif where.name.endswith(_ARCHIVE_SUFFIXES):
        raise FileNotFoundError(f"CIFAR-10 archive path={str(path)!r} does not exist")
    else:
        source = _locate(where)
    if source is None:
        if any((where / name).exists() for name in _PICKLE_NAMES):
            raise _pickle_refusal(f"directory {where}")
        if not download:
            raise FileNotFoundError(
                f"CIFAR-10 not found in directory {where}: expected {_FOLDER}/, {ARCHIVE} or "
                f"the files {', '.join(_TRAIN)}, {_TEST}; pass download=True to download it"
            )
        source = fetch(
            ARCHIVE, where, mirrors, digest=MD5, timeout=timeout, max_bytes=_MAX_DOWNLOAD
        )
    if source.is_file():
        batches, sep = _read_archive(source), ":"  # names a member: archive.tar.gz:test_batch.bin
    else:
        batches, sep = _read_folder(source), os.sep
    train = [_parse_batch(batches[name], f"{source}{sep}{name}") for name in _TRAIN]
    x_test, y_test = _parse_batch(batches[_TEST], f"{source}{sep}{_TEST}")
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test)
