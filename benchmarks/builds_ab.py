"""Two builds of the compiled kernels in one process, called in turn: an A/B that the shared
machine's drift cannot tilt.

The other build's ``_kernels`` extension (for example a worktree of the commit before, built
with ``python setup.py build_ext --inplace``) is loaded beside this checkout's; each round
calls a layer's pass with one and then the other, and the least time of each is printed.
Only the compiled module is swapped: both run this checkout's Python, so a change to what
Python hands the kernels cannot be compared this way.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/builds_ab.py \\
        /path/to/other/src/strided/_kernels.cpython-311-x86_64-linux-gnu.so \\
        forward --threads 2 --layers "depthwise,downsample" [--face nchw] [--rounds 20] \\
        [--level avx2]
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import time
from types import ModuleType

import strided
from strided._algorithms import _direct, _layout, _levels, _winograd
from strided.layers import _compiled
from suite import PASSES, SETS, Layer

#: The modules that call the compiled kernels (each imported ``_kernels`` by name).
_CALLERS = (_direct, _winograd, _layout, _levels, _compiled)


def load_build(path: str) -> ModuleType:
    """The ``_kernels`` extension at ``path``, loaded as a module of its own."""
    loader = importlib.machinery.ExtensionFileLoader("strided._kernels", path)
    spec = importlib.util.spec_from_file_location("strided._kernels", path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def use(kernels: ModuleType) -> None:
    for caller in _CALLERS:
        caller._kernels = kernels  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="path of the other build's _kernels extension")
    parser.add_argument("which", choices=PASSES)
    parser.add_argument("--layers", required=True, help="comma-separated layer names (suite.py)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--face", choices=("nhwc", "nchw"), default="nhwc")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--level", help="instruction-set level for both builds")
    args = parser.parse_args()
    builds = {"other": load_build(args.other), "this": _direct._kernels}
    if args.level:
        for kernels in builds.values():
            kernels.set_level(args.level)
    strided.set_num_threads(args.threads)
    entries = {entry[0]: entry for layers in SETS.values() for entry in layers}
    for name in args.layers.split(","):
        layer = Layer(*entries[name])
        call = getattr(layer, f"strided_{args.face}")(args.which)
        best = dict.fromkeys(builds, float("inf"))
        for _ in range(args.rounds):
            for tag, kernels in builds.items():
                use(kernels)
                call()
                start = time.perf_counter()
                call()
                best[tag] = min(best[tag], time.perf_counter() - start)
        use(builds["this"])
        print(f"{args.which} {args.face} {name:18s} other {best['other'] * 1e3:8.3f} ms  "
              f"this {best['this'] * 1e3:8.3f} ms  this/other {best['this'] / best['other']:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
