"""strided.dask's convolution over an on-disk array: peak memory does not grow with the image.

Each block reads its halo from the neighbouring chunks, and nothing is padded or rechunked as
a whole, so a 4x taller image costs Dask's book-keeping of its extra tasks (a few kB each)
and no more blocks in memory.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys, tracemalloc
    import dask.array as da, distributed, numpy as np, zarr
    import strided.dask as sd

    folder = sys.argv[1]
    peaks = []
    for rows in (2048, 8192):
        source = zarr.create_array(f"{folder}/in{rows}.zarr", shape=(1, 1, rows, 1024),
                                   chunks=(1, 1, 512, 512), dtype="uint16", compressors=None)
        rng = np.random.default_rng(rows)
        for first in range(0, rows, 1024):
            source[0, 0, first:first + 1024] = rng.integers(0, 65536, (1024, 1024), "uint16")
        target = zarr.create_array(f"{folder}/out{rows}.zarr", shape=(1, 1, rows, 1024),
                                   chunks=(1, 1, 512, 512), dtype="float64", compressors=None)
        tracemalloc.start()
        y = sd.functional.conv2d(da.from_zarr(source), np.ones((1, 1, 3, 3)) / 9, padding=1,
                                 padding_mode="circular")
        da.store(y, target, lock=False, scheduler="threads")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        expected = sd.functional.conv2d(source[...], np.ones((1, 1, 3, 3)) / 9, padding=1,
                                        padding_mode="circular").compute()
        assert np.array_equal(target[...], expected)
    print(*peaks)
""")


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_image(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    small, large = (int(n) for n in done.stdout.split())
    image, result = 8192 * 1024 * 2, 8192 * 1024 * 8  # the large image and its float64 result
    assert large < 1.5 * small, f"peak {small} -> {large} bytes for a 4x taller image"
    assert large < image + result // 2, (large, image, result)
