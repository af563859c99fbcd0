"""Rebuild the explorer's bundled photograph from the scikit-image wheel.

scikit-image ships ``skimage/data/chelsea.png``, "Chelsea the cat", 451x300 RGB, CC0 by the
photographer, Stefan van der Walt (see ``skimage.data.chelsea``).  This script scales it to
half size (226x150) with Pillow's Lanczos filter and writes it as a PNG::

    pip download --no-deps -d /tmp/skimage scikit-image==0.26.0
    python tools/make_bundled_photo.py /tmp/skimage/scikit_image-0.26.0-*.whl

Output: ``src/strided/explore/data/chelsea.png`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "strided" / "explore" / "data" / "chelsea.png"
MEMBER = "skimage/data/chelsea.png"
SIZE = (226, 150)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="a scikit-image wheel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        original = wheel.read(MEMBER)
    image = Image.open(io.BytesIO(original)).convert("RGB")
    small = image.resize(SIZE, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    args.out.write_bytes(buffer.getvalue())
    print(f"{MEMBER} sha256 {hashlib.sha256(original).hexdigest()} {image.size} -> {args.out} "
          f"{small.size}, {len(buffer.getvalue()):,} bytes, sha256 "
          f"{hashlib.sha256(buffer.getvalue()).hexdigest()}")


if __name__ == "__main__":
    main()
