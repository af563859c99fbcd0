"""Every algorithm's CPU time on one thread, per layer and pass: the figures behind ``choose``.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/algorithms.py [--set suite]

One thread (``strided.set_num_threads(1)``, BLAS limited to one by threadpoolctl) and CPU time
(``time.process_time``), the best of a few runs: on a shared 2-core machine this compares the
algorithms' work fairly where wall-clock figures move by 30 %.  ``choose`` is derived from the
suite's layers; the held-out and reported layers check that it carries over.  im2col is
skipped above 4 GFLOP (its workspace blocks make it slow to time there).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import threadpoolctl

import strided
from strided._algorithms import ALGORITHMS, choose
from suite import PASSES, SETS, Layer


def cpu_ms(call: Callable[[], object], budget: float = 0.6) -> float:
    """The least CPU time of at least 3 runs (more within ``budget`` seconds), in ms."""
    call()
    times: list[float] = []
    end = time.perf_counter() + budget
    while len(times) < 3 or (time.perf_counter() < end and len(times) < 30):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=list(SETS), action="append",
                        help="layer sets to time (default: all)")
    args = parser.parse_args()
    strided.set_num_threads(1)
    threadpoolctl.threadpool_limits(1)
    f32 = np.dtype(np.float32)
    print(f"instruction set: {strided.instruction_set()}; one thread; CPU ms, best of >= 3")
    for set_name in args.set or list(SETS):
        for entry in SETS[set_name]:
            layer = Layer(*entry)
            for direction in PASSES:
                chosen = choose(layer.spec, f32, direction).__name__.rsplit("_", 1)[-1]
                row = f"{set_name:9s} {entry[0]:18s} {direction:11s} auto={chosen:9s}"
                for name, module in ALGORITHMS.items():
                    if module.supports(layer.spec, f32) is not None:
                        continue
                    if name == "im2col" and layer.spec.flops > 4e9:
                        continue
                    row += f" {name}={cpu_ms(layer.strided_nhwc(direction, name)):.2f}"
                print(row, flush=True)


if __name__ == "__main__":
    main()
