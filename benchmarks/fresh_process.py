"""Each suite layer in a new process: what a short script pays, page faults included.

A long-running process (a training loop, ``conv_vs_torch.py``) soon moves glibc's threshold
for handing freed memory back to the OS; a short script does not, and every temporary above
the threshold is mapped afresh, page by page, on every call.  This runs each layer, pass and
face of the suite in its own new process (no PyTorch imported) and prints the median time
of ``--repeats`` calls after three warm-up calls and the minor page faults per call.

Run from the repository root::

    python benchmarks/fresh_process.py [--layers "CIFAR,3x3 a"] [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from suite import PASSES, SUITE, Layer

FACES = ("NHWC", "NCHW")


def measure(index: int, which: str, face: str, repeats: int) -> tuple[float, float]:
    """(median ms, minor page faults per call) of one call, in this process."""
    layer = Layer(*SUITE[index])
    call = layer.strided_nhwc(which) if face == "NHWC" else layer.strided_nchw(which)
    for _ in range(3):
        call()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return 1e3 * statistics.median(times), faults / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", default="", help="comma-separated substrings; default all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # index, pass, face
    args = parser.parse_args()
    if args.child:
        ms, faults = measure(int(args.child[0]), args.child[1], args.child[2], args.repeats)
        print(f"{ms} {faults}")
        return
    wanted = [w for w in args.layers.split(",") if w]
    for index, entry in enumerate(SUITE):
        if wanted and not any(w in entry[0] for w in wanted):
            continue
        for which in PASSES:
            cells = []
            for face in FACES:
                command = [sys.executable, str(Path(__file__)), "--repeats", str(args.repeats),
                           "--child", str(index), which, face]
                result = subprocess.run(command, capture_output=True, text=True, check=True)
                ms, faults = map(float, result.stdout.split())
                cells.append(f"{face} {ms:8.2f} ms {faults:7.0f} faults/call")
            print(f"{entry[0]:14s} {which:11s} " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
