"""strided against PyTorch's CPU convolutions, in one process, on a fixed suite of real layers.

For every layer and each of forward, input gradient and weight gradient, this times
``strided`` on its two faces (``strided.nn`` NHWC, ``strided.functional`` / ``strided.grad``
NCHW) and PyTorch in the faster of its two memory formats (NCHW contiguous or
``channels_last``), float32, both on the same threads, and prints milliseconds (median of
three interleaved rounds of ``--repeats`` runs back to back after 50 ms of warm-up runs, each
call's block after an idle pause so that one library's idle-spinning threads do not slow the
next), GFLOP/s and the ratio strided / PyTorch, then geometric means.  It also times the
1-channel image filter against ``scipy.ndimage.correlate``, how time grows with batch and
image size on one 3x3 layer, and the extra memory (``tracemalloc`` peak) of every algorithm.
Everything is also written as JSON.

PyTorch has no asymmetric padding: where TensorFlow's SAME pads (1, 2), PyTorch is timed with
the symmetric padding (2, 2) that gives the same output size (the same work).

Run::

    python benchmarks/conv_vs_torch.py [--repeats 5] [--json benchmarks/results/conv_vs_torch.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F

import strided
from strided import _core
from strided._algorithms import ALGORITHMS, choose
from strided._runtime._threads import THREADS
from strided._runtime._workspace import WORKSPACE_BYTES
from suite import PASSES, SUITE, Layer

#: Seconds of idle before each call's block of runs: OpenMP and OpenBLAS worker threads
#: busy-wait for a while after their work, and would otherwise steal the cores from the next.
PAUSE = 0.05
#: Seconds each call's block warms up for (at least one run): after the pause, the idle
#: second core runs a split call up to 2x slower for some 20 ms (lecture CIFAR layer: 1.3-1.6
#: ms against 0.7-0.8 ms back to back), a state no training loop or filter pipeline is in.
WARMUP = 0.05
#: Interleaved rounds of back-to-back runs per call.
ROUNDS = 3


def median_ms(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median milliseconds of each call over ``ROUNDS`` rounds: in each round every call, after
    a pause and ``WARMUP`` seconds of warm-up runs, runs ``repeats`` times back to back (as
    ``torch.utils.benchmark`` times); the rounds interleave the calls, so that a slow spell of
    the shared machine, which lasts seconds, falls on every library alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(ROUNDS):
        for name, call in calls.items():
            time.sleep(PAUSE)
            warm_until = time.perf_counter() + WARMUP
            call()
            while time.perf_counter() < warm_until:
                call()
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


class TorchLayer(Layer):
    """A suite entry with PyTorch's calls too."""

    def torch_calls(self, which: str) -> dict[str, Callable[[], object]]:
        calls = {}
        w = torch.from_numpy(self.w_oihw)
        padding = self.torch_padding
        # output size with symmetric padding equals the spec's; the gradient has that shape
        for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
            x = torch.from_numpy(self.x_nchw).contiguous(memory_format=fmt)
            with torch.no_grad():
                y = F.conv2d(x, w.contiguous(memory_format=fmt), None, self.stride, padding,
                             self.dilation, self.groups)
            dy = torch.randn(y.shape).contiguous(memory_format=fmt)
            wf = w.contiguous(memory_format=fmt)
            args = (self.stride, padding, self.dilation, self.groups)
            if which == "forward":
                calls[layout] = (lambda x=x, wf=wf, args=args: F.conv2d(x, wf, None, *args))
            elif which == "grad_input":
                calls[layout] = (lambda x=x, wf=wf, dy=dy, args=args:
                                 torch.nn.grad.conv2d_input(x.shape, wf, dy, *args))
            else:
                calls[layout] = (lambda x=x, wf=wf, dy=dy, args=args:
                                 torch.nn.grad.conv2d_weight(x, wf.shape, dy, *args))
        return calls


def run_suite(repeats: int, faces: tuple[str, ...]) -> list[dict]:
    rows = []
    for entry in SUITE:
        layer = TorchLayer(*entry)
        for which in PASSES:
            calls = {f"torch {k}": v for k, v in layer.torch_calls(which).items()}
            if "NHWC" in faces:
                calls["strided NHWC"] = layer.strided_nhwc(which)
            if "NCHW" in faces:
                calls["strided NCHW"] = layer.strided_nchw(which)
            with torch.no_grad():
                ms = median_ms(calls, repeats)
            torch_layout = min(("NCHW", "NHWC"), key=lambda k: ms[f"torch {k}"])
            torch_ms = ms[f"torch {torch_layout}"]
            gflop = layer.spec.flops / 1e9
            algorithm = choose(layer.spec, np.dtype(np.float32)).__name__
            row = {"layer": layer.name, "pass": which, "algorithm": algorithm.split("._")[-1],
                   "torch_ms": torch_ms, "torch_layout": torch_layout,
                   "gflop": gflop}
            for face in faces:
                t = ms[f"strided {face}"]
                row[f"strided_{face}_ms"] = t
                row[f"ratio_{face}"] = t / torch_ms
            rows.append(row)
            line = (f"{layer.name:14s} {which:11s} {row['algorithm']:9s} "
                    f"torch {torch_ms:8.2f} ms ({torch_layout}) {gflop / torch_ms * 1e3:6.1f} GF/s")
            for face in faces:
                line += (f" | {face} {row[f'strided_{face}_ms']:8.2f} ms "
                         f"{gflop / row[f'strided_{face}_ms'] * 1e3:6.1f} GF/s "
                         f"x{row[f'ratio_{face}']:.2f}")
            print(line, flush=True)
    return rows


def summarise(rows: list[dict], faces: tuple[str, ...]) -> dict:
    summary = {}
    for face in faces:
        for which in PASSES:
            ratios = [r[f"ratio_{face}"] for r in rows if r["pass"] == which]
            summary[f"{face} {which} geomean"] = geomean(ratios)
            summary[f"{face} {which} worst"] = max(ratios)
        big3x3 = [r[f"ratio_{face}"] for r in rows
                  if r["pass"] == "forward" and r["layer"].startswith("ResNet 3x3")]
        summary[f"{face} forward 3x3 stride-1 >=64ch worst"] = max(big3x3, default=math.nan)
        backward = [r[f"ratio_{face}"] for r in rows if r["pass"] != "forward"]
        summary[f"{face} backward geomean"] = geomean(backward)
    return summary


def image_filter_vs_scipy(repeats: int) -> dict:
    rng = np.random.default_rng(1)
    image = rng.standard_normal((2048, 2048), dtype=np.float32)
    kernel = rng.standard_normal((5, 5)).astype(np.float32)
    x, w = image[None, :, :, None], kernel[:, :, None, None]
    calls = {
        "strided": lambda: strided.nn.conv2d(x, w, 1, "SAME"),
        "scipy.ndimage.correlate": lambda: scipy.ndimage.correlate(image, kernel,
                                                                   mode="constant"),
    }
    ms = median_ms(calls, repeats)
    same = np.allclose(calls["strided"]()[0, :, :, 0], calls["scipy.ndimage.correlate"](),
                       rtol=1e-4, atol=1e-4)
    result = {**{f"{k}_ms": v for k, v in ms.items()},
              "ratio": ms["strided"] / ms["scipy.ndimage.correlate"], "same_result": same}
    print(f"image filter 2048x2048 5x5: strided {ms['strided']:.2f} ms, scipy.ndimage.correlate "
          f"{ms['scipy.ndimage.correlate']:.2f} ms, ratio {result['ratio']:.2f} "
          f"(results agree: {same})", flush=True)
    return result


def scaling(repeats: int) -> list[dict]:
    """Time of one 3x3, 64 -> 64 layer against batch (at 56x56) and side (at batch 8)."""
    rows = []
    shapes = [(n, 56) for n in (1, 4, 16, 64)] + [(8, s) for s in (28, 56, 112, 224)]
    for n, side in shapes:
        layer = TorchLayer("scaling", n, side, side, 64, 64, 3, 1, 1, 1, 1)
        calls = {"strided": layer.strided_nhwc("forward"),
                 **{f"torch {k}": v for k, v in layer.torch_calls("forward").items()}}
        with torch.no_grad():
            ms = median_ms(calls, max(3, repeats // 2))
        torch_ms = min(ms["torch NCHW"], ms["torch NHWC"])
        row = {"batch": n, "side": side, "gflop": layer.spec.flops / 1e9,
               "strided_ms": ms["strided"], "torch_ms": torch_ms,
               "ratio": ms["strided"] / torch_ms}
        rows.append(row)
        print(f"scaling N={n:3d} {side:3d}x{side:<3d}x64->64 3x3: {row['gflop']:7.2f} GFLOP  "
              f"strided {row['strided_ms']:9.2f} ms  torch {torch_ms:9.2f} ms  "
              f"x{row['ratio']:.2f}", flush=True)
    return rows


def memory() -> list[dict]:
    """tracemalloc peak of every algorithm that supports a layer, forward, NHWC."""
    rows = []
    for entry in SUITE:
        layer = Layer(*entry)
        output_bytes = math.prod(layer.spec.output_shape) * 4
        for name, module in ALGORITHMS.items():
            if module.supports(layer.spec, np.dtype(np.float32)) is not None:
                continue
            call = layer.strided_nhwc("forward", algorithm=name) if layer.groups == 1 else (
                lambda name=name, layer=layer: _core.convolve(layer.x, layer.w, layer.spec,
                                                              algorithm=name))
            strided.release_workspace()  # count the buffers an algorithm keeps between calls
            tracemalloc.start()
            call()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            extra = peak - output_bytes
            rows.append({"layer": layer.name, "algorithm": name, "peak_bytes": peak,
                         "output_bytes": output_bytes, "extra_bytes": extra,
                         "within_cap": extra <= WORKSPACE_BYTES})
            print(f"memory {layer.name:14s} {name:9s} peak {peak / 2**20:8.1f} MiB "
                  f"(output {output_bytes / 2**20:7.1f} MiB, extra {extra / 2**20:7.1f} MiB, "
                  f"cap {WORKSPACE_BYTES / 2**20:.0f} MiB)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="benchmarks/results/conv_vs_torch.json")
    parser.add_argument("--faces", default="NHWC,NCHW")
    parser.add_argument("--layers", default="", help="comma-separated substrings; default all")
    parser.add_argument("--skip", default="", help="comma-separated: scaling,memory,scipy")
    parser.add_argument("--pause", type=float, default=PAUSE,
                        help="seconds idle before each call's block (default %(default)s)")
    args = parser.parse_args(argv)
    globals()["PAUSE"] = args.pause
    faces = tuple(args.faces.split(","))
    skip = set(filter(None, args.skip.split(",")))
    if args.layers:
        wanted = args.layers.split(",")
        SUITE[:] = [e for e in SUITE if any(w in e[0] for w in wanted)]
    torch.set_num_threads(THREADS)
    print(f"strided {strided.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{THREADS} threads each (torch.get_num_threads()={torch.get_num_threads()}), "
          f"float32, median of {ROUNDS} x {args.repeats}", flush=True)
    rows = run_suite(args.repeats, faces)
    summary = summarise(rows, faces)
    for key, value in summary.items():
        print(f"{key:45s} {value:.3f}")
    result = {"python": sys.version.split()[0], "numpy": np.__version__,
              "torch": torch.__version__, "machine": platform.machine(),
              "cpus": os.cpu_count(), "threads": THREADS, "repeats": args.repeats,
              "rounds": ROUNDS,
              "rows": rows, "summary": summary}
    if "scipy" not in skip:
        result["image_filter_vs_scipy"] = image_filter_vs_scipy(args.repeats)
    if "scaling" not in skip:
        result["scaling"] = scaling(args.repeats)
    if "memory" not in skip:
        result["memory"] = memory()
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(result, indent=1))
    partial.replace(path)  # never a half-written result
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
