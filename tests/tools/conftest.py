"""Fixtures for the tools tests: an MNIST digit and a photograph, as arrays and files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tools_helpers import BUNDLED_IMAGES, MNIST_TEST_IMAGES, read_idx_images


@pytest.fixture(scope="session")
def digit() -> np.ndarray:
    """The first digit of the MNIST test set (a 7), 28x28 uint8; where that set is not beside
    the repository (a clone elsewhere), the first of the digits bundled with strided."""
    source = MNIST_TEST_IMAGES if MNIST_TEST_IMAGES.exists() else BUNDLED_IMAGES
    return read_idx_images(source, 1)[0].copy()


@pytest.fixture(scope="session")
def digit_png(digit: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MNIST digit as a grey PNG."""
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "digit.png"
    Image.fromarray(digit).save(path)
    return path


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A small colour photograph: matplotlib's Grace Hopper, or a generated scene if absent."""
    from PIL import Image

    try:
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as stream:
            image = Image.open(stream).convert("RGB")
            image = image.resize((60, 70), Image.Resampling.BILINEAR)
            return np.asarray(image).copy()
    except (ImportError, OSError, ValueError):
        rows, cols = np.mgrid[0:70, 0:60]
        red = (rows * 3) % 256
        green = (cols * 4) % 256
        blue = np.where((rows - 35) ** 2 + (cols - 30) ** 2 < 300, 220, 30)
        return np.stack([red, green, blue], axis=-1).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_jpg(photo: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The photograph as a JPEG file."""
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "photo.jpg"
    Image.fromarray(photo).save(path, quality=95)
    return path
