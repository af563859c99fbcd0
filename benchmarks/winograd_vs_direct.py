"""Where Winograd beats the direct kernels: the 3x3 and 5x5 layers of the benchmark sets.

For each ungrouped 3x3 or 5x5 stride-1 layer and 3x3 stride-2 layer of ``suite.SUITE``,
``HELD_OUT`` and ``REPORTED`` (and of ``FEW_CHANNELS``, ``FIVE`` and ``STRIDE_2``, outside
the sets), prints the CPU time (one thread, ``time.process_time``, the least of
``--repeats``) of the forward pass, input gradient and weight gradient with
``algorithm="direct"`` and with each Winograd variant (F(2x2), F(4x4), F(6x6) for 3x3;
F(2x2), F(4x4) for 5x5; F(4x4, 2x2) over the phases of a stride-2 3x3 layer),
float32, and each variant's direct-equivalent GFLOP/s (2 * direct's multiply-adds / time),
then each variant's range over the layers of 32 channels and more.  One thread's CPU time is
what the comparison needs on a shared machine: wall-clock time there is noise.
``strided._algorithms._WINOGRAD_CHANNELS`` and ``_winograd.KERNEL_TILES`` are read off it.

Run from the repository root::

    PYTHONPATH=src python benchmarks/winograd_vs_direct.py [--repeats 3] [--sets ...]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import strided
from strided._algorithms import _direct, _winograd, choose
from strided._spec import ConvSpec, make_spec
from suite import SETS

TILES = {3: (2, 4, 6), 5: (2, 4)}
#: Few-channel layers outside the sets, where the channel threshold of ``choose`` lies.
FEW_CHANNELS = [
    ("3 -> 16", 8, 56, 56, 3, 16, 3, 1, 1, 1, 1),
    ("8 -> 8", 8, 56, 56, 8, 8, 3, 1, 1, 1, 1),
    ("4 -> 64", 8, 28, 28, 4, 64, 3, 1, 1, 1, 1),
    ("16 -> 16", 8, 56, 56, 16, 16, 3, 1, 1, 1, 1),
]
#: 5x5 stride-1 layers beyond the sets' one ("5x5 32x32x32"), where the 5x5 rule of
#: ``choose`` lies.
FIVE = [
    ("5x5 64 x 28^2", 16, 28, 28, 64, 64, 5, 1, 2, 1, 1),
    ("5x5 128 x 14^2", 16, 14, 14, 128, 128, 5, 1, 2, 1, 1),
    ("5x5 256 x 7^2", 16, 7, 7, 256, 256, 5, 1, 2, 1, 1),
    ("5x5 4 -> 32", 8, 32, 32, 4, 32, 5, 1, 2, 1, 1),
    ("5x5 16 -> 16", 8, 32, 32, 16, 16, 5, 1, 2, 1, 1),
]
#: Stride-2 3x3 layers beyond the sets' two ("downsample", "held-out 5"): by phases.
STRIDE_2 = [
    ("3x3/2 128 x 28^2", 16, 28, 28, 128, 256, 3, 2, 1, 1, 1),
    ("3x3/2 256 x 14^2", 16, 14, 14, 256, 512, 3, 2, 1, 1, 1),
    ("3x3/2 16 x 112^2", 8, 112, 112, 16, 32, 3, 2, 1, 1, 1),
]
EXTRA = {"few-channels": FEW_CHANNELS, "five": FIVE, "stride-2": STRIDE_2}


def cpu_ms(call: Callable[[], object], repeats: int) -> float:
    """The least CPU time of ``repeats`` calls after one warm-up call, in ms."""
    call()
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return 1e3 * best


def passes(module, spec: ConvSpec, x, w, dy, **options) -> list[Callable[[], object]]:
    return [lambda: module.forward(x, w, spec, **options),
            lambda: module.grad_input(dy, w, spec, **options),
            lambda: module.grad_weight(x, dy, spec, **options)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sets", nargs="+", default=[*SETS, *EXTRA], choices=[*SETS, *EXTRA])
    args = parser.parse_args()
    sets = {**SETS, **EXTRA}
    strided.set_num_threads(1)
    rng = np.random.default_rng(0)
    print("layer                 N  side  C->O  d k | direct fwd/gin/gw ms | "
          + "F(m, k) / direct fwd gin gw  GFLOP/s, per m (3x3: 2, 4, 6; 5x5: 2, 4; 3x3 stride "
          "2: 4 over the phases) | auto")
    rates: dict[tuple[int, int, str], list[float]] = {}
    with threadpool_limits(1):
        for set_name in args.sets:
            layers = sets[set_name]
            for name, n, h, width, cin, cout, k, stride, pad, dilation, groups in layers:
                phased = (k, stride, dilation, groups) == (3, 2, 1, 1)  # F(m x m, 2x2)
                if not phased and (k not in TILES or (stride, groups) != (1, 1)):
                    continue
                spec = make_spec("bench", (n, h, width, cin), (k, k, cin, cout), rank=2,
                                 stride=stride, padding=pad, dilation=dilation)
                x = rng.standard_normal(spec.input_shape, dtype=np.float32)
                w = (rng.standard_normal(spec.weight_shape) / (k * math.sqrt(cin))
                     ).astype(np.float32)
                dy = rng.standard_normal(spec.output_shape, dtype=np.float32)
                flops = 2 * math.prod(spec.output_shape) * k * k * cin
                direct = [cpu_ms(c, args.repeats) for c in passes(_direct, spec, x, w, dy)]
                cells = []
                for m in (4,) if phased else TILES[k]:
                    ms = [cpu_ms(c, args.repeats)
                          for c in passes(_winograd, spec, x, w, dy, tile=m)]
                    if min(cin, cout) >= 32:
                        for which, t in zip(("forward", "grad_input", "grad_weight"), ms):
                            rates.setdefault((m, 2 if phased else k, which), []).append(
                                flops / t / 1e6)
                    ratios = " ".join(f"{t / d:4.2f}" for t, d in zip(ms, direct))
                    per_pass = "/".join(f"{flops / t / 1e6:3.0f}" for t in ms)
                    cells.append(f"{ratios}  {per_pass}")
                auto = "/".join(choose(spec, np.dtype(np.float32), d).__name__.split("._")[-1]
                                for d in ("forward", "grad_input", "grad_weight"))
                print(f"{name[:18]:18s} {n:4d} {h:4d} {cin:3d}->{cout:3d} {dilation} {k} | "
                      + " ".join(f"{t:6.1f}" for t in direct) + " | " + " | ".join(cells)
                      + f" | {auto} ({set_name})", flush=True)
    print("\nper variant, direct-equivalent GFLOP/s on one thread over the layers above with 32 "
          "or more channels (least / median / most):")
    for (m, k, which), values in sorted(rates.items()):
        values.sort()
        print(f"F({m}x{m}, {k}x{k}) {which:11s} {values[0]:4.0f} / "
              f"{values[len(values) // 2]:4.0f} / {values[-1]:4.0f}  ({len(values)} layers)")


if __name__ == "__main__":
    main()
