"""strided.dask against the in-memory call and against dask-image, and time against image size.

For each image side S (an S x S float64 image in chunks of ``--chunk``), on Dask's threaded
scheduler, the median seconds and megapixels per second of:

* a 5x5 image filter, zero padding, output size kept: ``strided.signal.correlate`` in memory,
  ``strided.dask.signal.correlate`` and ``dask_image.ndfilters.correlate(mode="constant")``
  (the same numbers; the largest difference is printed);
* a CNN layer, where dask-image does not apply: ``functional.conv2d`` of (1, 8, S, S) by
  (8, 8, 3, 3) weights, stride 2, padding 1, in memory and as ``strided.dask.functional``.

Then each column's seconds per megapixel across the sizes: a flat row means time linear in the
image's size.  With ``--cluster``, the Dask calls again on a ``distributed.LocalCluster`` of
``--workers`` processes of one thread each.

Run from the repository root::

    python benchmarks/dask_scaling.py [--sides 1024,2048,4096] [--chunk 512] [--repeats 3]
                                      [--cluster] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import dask
import dask.array as da
import numpy as np

import strided
import strided.dask as sd

try:
    from distributed import wait
except ImportError:  # only --cluster needs it
    wait = None


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_thread_for_strided() -> None:
    """In a worker process: strided's own pool on one thread (the worker's threads share the
    cores), where this strided has ``set_num_threads``."""
    setter = getattr(strided, "set_num_threads", None)
    if setter is not None:
        setter(1)


def measure(side: int, chunk: int, repeats: int, client: object = None) -> dict[str, float]:
    rng = np.random.default_rng(side)
    image = rng.normal(size=(side, side))
    kernel = rng.normal(size=(5, 5))
    lazy = da.from_array(image, chunks=chunk)
    layer = rng.normal(size=(1, 8, side, side))
    weight = rng.normal(size=(8, 8, 3, 3))
    lazy_layer = da.from_array(layer, chunks=(1, 8, chunk, chunk))
    if client is not None:  # the inputs on the workers first: time the work, not the upload
        lazy, lazy_layer = client.persist([lazy, lazy_layer])  # type: ignore[attr-defined]
        wait([lazy, lazy_layer])
    from dask_image.ndfilters import correlate as dask_image_correlate

    times = {
        "filter in memory": median_seconds(
            lambda: strided.signal.correlate(image, kernel, "same"), repeats),
        "filter strided.dask": median_seconds(
            lambda: sd.signal.correlate(lazy, kernel, "same").compute(), repeats),
        "filter dask-image": median_seconds(
            lambda: dask_image_correlate(lazy, kernel, mode="constant").compute(), repeats),
        "layer in memory": median_seconds(
            lambda: strided.functional.conv2d(layer, weight, stride=2, padding=1), repeats),
        "layer strided.dask": median_seconds(
            lambda: sd.functional.conv2d(lazy_layer, weight, stride=2, padding=1).compute(),
            repeats),
    }
    difference = float(np.abs(sd.signal.correlate(lazy, kernel, "same").compute()
                              - dask_image_correlate(lazy, kernel, mode="constant").compute()
                              ).max())
    return {**times, "difference": difference}


def report(title: str, sides: list[int], rows: dict[int, dict[str, float]]) -> None:
    columns = [name for name in rows[sides[0]] if name != "difference"]
    print(f"\n{title}")
    print(f"{'side':>6} {'Mpx':>6}  " + "  ".join(f"{name:>20}" for name in columns)
          + "  max |strided - dask-image|")
    for side in sides:
        mpx = side * side / 1e6
        cells = [f"{rows[side][name]:8.3f}s {mpx / rows[side][name]:6.1f}Mpx/s"
                 for name in columns]
        print(f"{side:>6} {mpx:>6.2f}  " + "  ".join(f"{c:>20}" for c in cells)
              + f"  {rows[side]['difference']:.1e}")
    print(f"{'s/Mpx':>6} {'':>6}  " + "  ".join(
        f"{' '.join(f'{rows[s][n] / (s * s / 1e6):.3f}' for s in sides):>20}" for n in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", default="1024,2048,4096")
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sides = [int(s) for s in args.sides.split(",")]
    print(f"float64 images in chunks of {args.chunk}; median of {args.repeats} runs; "
          f"strided's threads: {strided.get_num_threads()}")
    with dask.config.set(scheduler="threads"):
        rows = {side: measure(side, args.chunk, args.repeats) for side in sides}
    report("Dask's threaded scheduler", sides, rows)
    if args.cluster:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.run(one_thread_for_strided)
            rows = {side: measure(side, args.chunk, args.repeats, client) for side in sides}
        report(f"distributed.LocalCluster, {args.workers} workers x 1 thread", sides, rows)


if __name__ == "__main__":
    main()
