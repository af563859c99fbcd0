"""Where Winograd beats im2col: 3x3 stride-1 layers over image sizes and channel counts.

Prints, for each layer, the median milliseconds of forward, input gradient and weight gradient
with ``algorithm="im2col"`` and ``algorithm="winograd"``, and their ratio (below 1: Winograd
is faster).  ``strided._algorithms._WINOGRAD_PAYS``, the ``"auto"`` rule's thresholds, is
read off this table.

Run from the repository root::

    python benchmarks/winograd_vs_im2col.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from strided import _core
from strided._algorithms import choose
from strided._spec import ConvSpec, make_spec

# image side, channels (in = out), batch, dilation
LAYERS = [
    (7, 32, 64, 1), (7, 64, 64, 1), (7, 128, 16, 1), (7, 512, 16, 1),
    (14, 16, 64, 1), (14, 32, 64, 1), (14, 64, 16, 1), (14, 128, 16, 1), (14, 256, 16, 1),
    (28, 16, 16, 1), (28, 32, 16, 1), (28, 64, 16, 1), (28, 128, 16, 1),
    (56, 16, 16, 1), (56, 32, 16, 1), (56, 64, 16, 1), (56, 64, 16, 2), (28, 128, 16, 2),
    (112, 32, 8, 1), (224, 64, 8, 1),
]


def median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def passes_ms(x: np.ndarray, w: np.ndarray, dy: np.ndarray, spec: ConvSpec, algorithm: str,
              repeats: int) -> list[float]:
    """Median ms of forward, input gradient and weight gradient with ``algorithm``."""
    return [
        median_ms(lambda: _core.convolve(x, w, spec, algorithm=algorithm), repeats),
        median_ms(lambda: _core.convolve_grad_input(dy, w, spec, algorithm=algorithm), repeats),
        median_ms(lambda: _core.convolve_grad_weight(x, dy, spec, algorithm=algorithm), repeats),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("layer (N x side^2 x C, dilation)   im2col fwd/gin/gw ms   winograd fwd/gin/gw ms"
          "   winograd/im2col   auto")
    for side, channels, batch, dilation in LAYERS:
        x = rng.standard_normal((batch, side, side, channels), dtype=np.float32)
        w = rng.standard_normal((3, 3, channels, channels), dtype=np.float32) / (3 * channels)
        spec = make_spec("bench", x.shape, w.shape, rank=2, padding=dilation,
                         dilation=dilation)
        dy = rng.standard_normal(spec.output_shape, dtype=np.float32)
        ms = {algorithm: passes_ms(x, w, dy, spec, algorithm, args.repeats)
              for algorithm in ("im2col", "winograd")}
        ratios = [b / a for a, b in zip(ms["im2col"], ms["winograd"])]
        auto = choose(spec, np.dtype(np.float32)).__name__.split("._")[-1]
        print(f"{batch:3d} x {side:3d}^2 x {channels:3d}, d={dilation}   "
              + " ".join(f"{t:7.2f}" for t in ms["im2col"]) + "   "
              + " ".join(f"{t:7.2f}" for t in ms["winograd"]) + "   "
              + " ".join(f"{r:5.2f}" for r in ratios) + f"   {auto}", flush=True)


if __name__ == "__main__":
    main()
