"""strided against PyTorch in CPU time of one thread each: the comparison a shared machine allows.

``conv_vs_torch.py`` times both libraries on 2 threads by the wall clock, which on a machine
loaded by other jobs mostly measures how often each one's threads were preempted (PyTorch's
OpenMP threads wait for each other, so it loses most).  Here both run on one thread
(``torch.set_num_threads(1)``, ``strided.set_num_threads(1)``, BLAS limited by
threadpoolctl) and each call is timed by ``time.process_time``, the least of ``--repeats``
after a warm-up: the work each library does, whatever the load.  PyTorch runs in its faster
layout (NCHW or channels_last) per pass; strided in its NHWC (``strided.nn``) and NCHW
(``strided.functional``, ``strided.grad``) faces, ``algorithm="auto"``.

    PYTHONPATH=src python benchmarks/one_thread_vs_torch.py [--sets suite,held-out,reported]
        [--layers "5x5 32x32x32,ResNet 3x3"] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import torch
from threadpoolctl import threadpool_limits

import strided
from conv_vs_torch import TorchLayer, geomean
from strided._algorithms import choose
from suite import PASSES, SETS


def cpu_ms(call: Callable[[], object], repeats: int) -> float:
    """The least CPU time of ``repeats`` calls after one warm-up call, in ms."""
    call()
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return 1e3 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--layers", default="", help="comma-separated substrings; default all")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    wanted = [s for s in args.layers.split(",") if s]
    torch.set_num_threads(1)
    strided.set_num_threads(1)
    ratios: dict[tuple[str, str], list[float]] = {}
    print(f"one thread each, CPU time (least of {args.repeats}), float32; torch "
          f"{torch.__version__}; ratio strided / torch's faster layout")
    with threadpool_limits(1):
        for set_name in args.sets.split(","):
            for entry in SETS[set_name]:
                if wanted and not any(s in entry[0] for s in wanted):
                    continue
                layer = TorchLayer(*entry)
                for which in PASSES:
                    torch_ms = min(cpu_ms(c, args.repeats)
                                   for c in layer.torch_calls(which).values())
                    nhwc = cpu_ms(layer.strided_nhwc(which), args.repeats)
                    nchw = cpu_ms(layer.strided_nchw(which), args.repeats)
                    algorithm = choose(layer.spec, layer.x.dtype, which).__name__.split("._")[-1]
                    ratios.setdefault((set_name, which), []).append(nhwc / torch_ms)
                    print(f"{set_name:9s} {entry[0]:18s} {which:11s} {algorithm:9s} torch "
                          f"{torch_ms:8.2f} ms | NHWC {nhwc:8.2f} ms x{nhwc / torch_ms:4.2f} | "
                          f"NCHW {nchw:8.2f} ms x{nchw / torch_ms:4.2f}", flush=True)
    for (set_name, which), values in ratios.items():
        print(f"{set_name:9s} NHWC {which:11s} geometric mean {geomean(values):.3f}, "
              f"worst {max(values):.3f}")


if __name__ == "__main__":
    main()
