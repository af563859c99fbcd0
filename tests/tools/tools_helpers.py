"""Helpers for the tools tests: run the real command line, read IDX and PNG files."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MNIST_TEST_IMAGES = REPO.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
#: The digits bundled with strided: the tests' digit where the shared test set is absent.
BUNDLED_IMAGES = REPO / "src" / "strided" / "datasets" / "data" / "mnist5k-images-idx3-ubyte.gz"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m strided ARGS`` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "strided", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def read_idx_images(path: Path, count: int) -> np.ndarray:
    """The first ``count`` images of a gzipped IDX3 file (a reader independent of strided)."""
    with gzip.open(path, "rb") as stream:
        magic, n, rows, cols = struct.unpack(">IIII", stream.read(16))
        assert magic == 0x803, f"not an IDX3 ubyte file: magic {magic:#x}"
        data = stream.read(min(count, n) * rows * cols)
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, rows, cols)


def read_png(path: Path) -> np.ndarray:
    """A written picture's pixels, checking it is a real PNG."""
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG"
        if image.mode in ("P", "RGBA", "LA"):  # pictures are palette PNGs
            image = image.convert("RGB")
        return np.asarray(image).copy()
