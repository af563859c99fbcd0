"""The NCHW faces' layout copy (``strided._algorithms._layout``) against ``np.copy``.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/layout_copy.py

Prints GB/s (bytes read + written / best of 20 wall-clock times) for channels first -> last,
last -> first and a plain copy of the same array, on 1 and 2 threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import strided
from strided._algorithms._layout import channels_first, channels_last

SHAPES = [(2, 512, 56, 56), (16, 32, 56, 56), (4, 64, 224, 224), (64, 16, 14, 14),
          (64, 3, 28, 28), (8, 17, 33, 9)]


def best(call: Callable[[], object], repeats: int = 20) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"strided {strided.__version__} ({strided.instruction_set()} kernels)")
    for dtype in (np.float32, np.float64):
        for shape in SHAPES:
            x = np.random.default_rng(0).random(shape).astype(dtype)
            y = np.ascontiguousarray(np.moveaxis(x, 1, -1))
            moved = 2 * x.nbytes / 1e9
            for threads in (1, 2):
                strided.set_num_threads(threads)
                last = best(lambda x=x: channels_last(x))
                first = best(lambda y=y: channels_first(y))
                copy = best(lambda x=x: np.copy(x))
                print(f"{np.dtype(dtype).name:8s} {shape!s:18s} {threads} threads: "
                      f"first->last {moved / last:5.1f} GB/s  last->first {moved / first:5.1f}"
                      f"  np.copy {moved / copy:5.1f}")


if __name__ == "__main__":
    main()
