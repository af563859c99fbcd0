"""Keras-like dataset loaders: MNIST (with a bundled 5,000-image subset) and CIFAR-10.

Each ``load_data`` returns ``(x_train, y_train), (x_test, y_test)`` as uint8 NumPy arrays,
read with :func:`numpy.frombuffer` from the datasets' official binary formats; nothing is
ever unpickled. Downloads use the standard library only and are checksum-verified.
"""

from . import cifar10, mnist
from ._download import DownloadError
from ._idx import read_idx, write_idx

__all__ = ["DownloadError", "cifar10", "mnist", "read_idx", "write_idx"]
