"""Per-call Python overhead of the convolution faces, on tiny inputs, one thread.

    PYTHONPATH=src python benchmarks/call_overhead.py [--calls 200] [--repeats 25] [--large]
        [--large-repeats 3]

Prints microseconds of CPU time per call (``time.process_time`` over ``--calls`` calls, the
least of ``--repeats`` runs) of ``nn.conv2d`` (x 1x8x8x1 float32, filters 3x3x1x4, stride 1,
"SAME"), ``functional.conv2d`` and ``grad.conv2d_input`` / ``conv2d_weight`` on the same
convolution in PyTorch's layouts, and a ``layers.Conv2D(4, 3, padding="same")`` forward
(inference), and forward + backward (training).  At this size the arithmetic is a few
hundred multiply-adds: the figures are the library's own per-call cost.

``--large`` adds the OIHW face (``functional.conv2d`` and its two gradients) on two large
3x3 layers (16 x 512 x 7 x 7, 512 -> 512 and 16 x 64 x 56 x 56, 64 -> 64), in milliseconds
of one thread's CPU time, the least of ``--large-repeats`` calls.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import threadpoolctl

import strided
from strided import functional, grad, layers, nn


def per_call(call: Callable[[], object], calls: int, repeats: int) -> float:
    """The least CPU time of ``repeats`` runs of ``calls`` calls, per call (seconds)."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - start) / calls)
    return best


def tiny(calls: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((1, 8, 8, 1), dtype=np.float32)
    w = rng.random((3, 3, 1, 4), dtype=np.float32)
    x_first = np.ascontiguousarray(np.moveaxis(x, -1, 1))  # (1, 1, 8, 8)
    w_oihw = np.ascontiguousarray(np.transpose(w, (3, 2, 0, 1)))  # (4, 1, 3, 3)
    dy_first = rng.random((1, 4, 8, 8), dtype=np.float32)
    layer = layers.Conv2D(4, 3, padding="same")
    layer(x)
    dy = rng.random((1, 8, 8, 4), dtype=np.float32)

    def train_step() -> None:
        layer(x, training=True)
        layer.backward(dy)

    cases: dict[str, Callable[[], object]] = {
        "nn.conv2d": lambda: nn.conv2d(x, w, 1, "SAME"),
        "functional.conv2d": lambda: functional.conv2d(x_first, w_oihw, padding=1),
        "grad.conv2d_input": lambda: grad.conv2d_input(x_first.shape, w_oihw, dy_first,
                                                       padding=1),
        "grad.conv2d_weight": lambda: grad.conv2d_weight(x_first, w_oihw.shape, dy_first,
                                                         padding=1),
        "Conv2D forward": lambda: layer(x),
        "Conv2D forward+backward": train_step,
    }
    print(f"tiny inputs: us per call (CPU time, least of {repeats} x {calls} calls)")
    for name, call in cases.items():
        print(f"  {name:24s} {per_call(call, calls, repeats) * 1e6:7.1f}")


def large_layer(n: int, c: int, size: int, repeats: int) -> str:
    """The OIHW face's three passes on an n x c x size^2, c -> c 3x3 layer, in ms."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size), dtype=np.float32)
    w = rng.standard_normal((c, c, 3, 3), dtype=np.float32)
    dy = rng.standard_normal((n, c, size, size), dtype=np.float32)
    cases: dict[str, Callable[[], object]] = {
        "forward": lambda: functional.conv2d(x, w, padding=1),
        "grad_input": lambda: grad.conv2d_input(x.shape, w, dy, padding=1),
        "grad_weight": lambda: grad.conv2d_weight(x, w.shape, dy, padding=1),
    }
    return "  ".join(f"{name} {per_call(call, 1, repeats) * 1e3:7.1f}"
                     for name, call in cases.items())


def large(repeats: int) -> None:
    print(f"OIHW face, large 3x3 layers: ms per call (CPU time, least of {repeats})")
    for n, c, size in ((16, 512, 7), (16, 64, 56)):
        print(f"  {n} x {c} x {size}^2, {c} -> {c}: {large_layer(n, c, size, repeats)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--large", action="store_true", help="also the large OIHW layers")
    parser.add_argument("--large-repeats", type=int, default=3)
    args = parser.parse_args()
    strided.set_num_threads(1)
    threadpoolctl.threadpool_limits(1)
    print(f"strided {strided.__version__} ({strided.instruction_set()} kernels), one thread")
    tiny(args.calls, args.repeats)
    if args.large:
        large(args.large_repeats)


if __name__ == "__main__":
    main()
