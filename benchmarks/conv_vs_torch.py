"""strided against PyTorch's CPU convolutions (and ONNX Runtime's), in one process, on real layers.

For every layer and each of forward, input gradient and weight gradient, this times
``strided`` on its two faces (``strided.nn`` NHWC, ``strided.functional`` / ``strided.grad``
NCHW) and PyTorch in the faster of its two memory formats (NCHW contiguous or
``channels_last``), float32, both on the same threads, and prints milliseconds (median of
three interleaved rounds of ``--repeats`` runs back to back after 50 ms of warm-up runs, each
call's block after an idle pause so that one library's idle-spinning threads do not slow the
next), GFLOP/s and the ratio strided / PyTorch, then geometric means.  It also times the
1-channel image filter against ``scipy.ndimage.correlate``, how time grows with batch and
image size on one 3x3 layer, and the extra memory (``tracemalloc`` peak) of every algorithm.
The layers are three sets (``benchmarks/suite.py``): the suite of 14 that ``choose`` was
derived on, 14 held-out layers drawn once from realistic ranges, and the layers the
compiled-kernels issue reported; each set is summarised on its own.  For the forward pass it
also times ONNX Runtime's CPU ``Conv`` (its own MLAS kernels; a benchmark dependency only,
skipped if ``onnxruntime`` is not installed), and float64 against PyTorch float64.  The
header names the instruction-set level strided's kernels run at.  Everything is also written
as JSON.

PyTorch has no asymmetric padding: where TensorFlow's SAME pads (1, 2), PyTorch is timed with
the symmetric padding (2, 2) that gives the same output size (the same work).

Run (the two OpenBLAS settings of this project's machines halve NumPy's matrix product on
AVX-512 CPUs and are on no user's machine; unset them for the benchmark only)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_vs_torch.py \
        [--repeats 5] [--sets suite,held-out,reported] \
        [--json benchmarks/results/conv_vs_torch.json]
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
from strided._runtime._workspace import get_workspace_limit
from suite import PASSES, SETS, SUITE, Layer

try:
    import onnx
    import onnxruntime
except ImportError:  # ONNX Runtime's column is left out
    onnx = onnxruntime = None

THREADS = strided.get_num_threads()

#: (layer, pass) that PyTorch 2.13 itself crashes on: torch.nn.grad.conv2d_weight segfaults
#: inside its kernel on held-out 9 (1x1, stride 2, 3 -> 128 channels), in either memory
#: format.  Those rows time strided alone and stay out of the geometric means.
TORCH_CRASHES = {("held-out 9", "grad_weight")}
WORKSPACE_BYTES = get_workspace_limit()

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
    """A suite entry with PyTorch's calls too (and ONNX Runtime's forward)."""

    def onnx_call(self) -> Callable[[], object] | None:
        """ONNX Runtime's ``Conv`` on the NCHW input, explicit (possibly asymmetric) pads."""
        if onnxruntime is None:
            return None
        from onnx import TensorProto, helper, numpy_helper
        pads = [lo for lo, _ in self.spec.padding] + [hi for _, hi in self.spec.padding]
        node = helper.make_node("Conv", ["x", "w"], ["y"], strides=list(self.stride),
                                dilations=list(self.dilation), pads=pads, group=self.groups)
        n, c, h, w = self.x_nchw.shape
        graph = helper.make_graph(
            [node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(self.w_oihw, "w")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        feed = {"x": self.x_nchw}
        return lambda: session.run(None, feed)

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


def run_suite(repeats: int, faces: tuple[str, ...], sets: list[str]) -> list[dict]:
    rows = []
    for set_name in sets:
        for entry in SETS[set_name]:
            layer = TorchLayer(*entry)
            for which in PASSES:
                rows.append(run_layer(layer, which, set_name, repeats, faces))
    return rows


def run_layer(layer: TorchLayer, which: str, set_name: str, repeats: int,
              faces: tuple[str, ...]) -> dict:
    crashes = (layer.name, which) in TORCH_CRASHES
    calls = {} if crashes else {f"torch {k}": v for k, v in layer.torch_calls(which).items()}
    if "NHWC" in faces:
        calls["strided NHWC"] = layer.strided_nhwc(which)
    if "NCHW" in faces:
        calls["strided NCHW"] = layer.strided_nchw(which)
    onnx_call = layer.onnx_call() if which == "forward" else None
    if onnx_call is not None:
        calls["onnxruntime"] = onnx_call
    with torch.no_grad():
        ms = median_ms(calls, repeats)
    if crashes:
        ms["torch NCHW"] = ms["torch NHWC"] = math.nan
    torch_layout = min(("NCHW", "NHWC"), key=lambda k: ms[f"torch {k}"])
    torch_ms = ms[f"torch {torch_layout}"]
    gflop = layer.spec.flops / 1e9
    algorithm = choose(layer.spec, np.dtype(np.float32), which).__name__  # type: ignore[arg-type]
    row = {"set": set_name, "layer": layer.name, "pass": which,
           "algorithm": algorithm.split("._")[-1], "torch_ms": torch_ms,
           "torch_layout": torch_layout, "gflop": gflop}
    for face in faces:
        t = ms[f"strided {face}"]
        row[f"strided_{face}_ms"] = t
        row[f"ratio_{face}"] = t / torch_ms
    line = (f"{set_name:8s} {layer.name:16s} {which:11s} {row['algorithm']:9s} "
            f"torch {torch_ms:8.2f} ms ({torch_layout}) {gflop / torch_ms * 1e3:6.1f} GF/s")
    for face in faces:
        line += (f" | {face} {row[f'strided_{face}_ms']:8.2f} ms "
                 f"{gflop / row[f'strided_{face}_ms'] * 1e3:6.1f} GF/s "
                 f"x{row[f'ratio_{face}']:.2f}")
    if "onnxruntime" in ms:
        row["onnxruntime_ms"] = ms["onnxruntime"]
        row["ratio_NHWC_onnxruntime"] = ms.get("strided NHWC", math.nan) / ms["onnxruntime"]
        line += f" | onnxruntime {ms['onnxruntime']:8.2f} ms"
    print(line, flush=True)
    return row


def float64_forward(repeats: int, sets: list[str]) -> list[dict]:
    """The forward pass in float64, strided (NHWC face) against PyTorch float64."""
    rows = []
    for set_name in sets:
        for entry in SETS[set_name]:
            layer = Layer(*entry)
            x, w = layer.x.astype(np.float64), layer.w.astype(np.float64)
            spec = layer.spec
            xt = torch.from_numpy(layer.x_nchw.astype(np.float64))
            wt = torch.from_numpy(layer.w_oihw.astype(np.float64))
            args = (layer.stride, layer.torch_padding, layer.dilation, layer.groups)
            calls = {"strided": lambda x=x, w=w, spec=spec: _core.convolve(x, w, spec),
                     "torch": lambda xt=xt, wt=wt, args=args: F.conv2d(xt, wt, None, *args)}
            with torch.no_grad():
                ms = median_ms(calls, max(2, repeats // 2))
            row = {"set": set_name, "layer": layer.name, "strided_ms": ms["strided"],
                   "torch_ms": ms["torch"], "ratio": ms["strided"] / ms["torch"]}
            rows.append(row)
            print(f"float64 {set_name:8s} {layer.name:16s} strided {ms['strided']:9.2f} ms  "
                  f"torch {ms['torch']:9.2f} ms  x{row['ratio']:.2f}", flush=True)
    return rows


def summarise(rows: list[dict], faces: tuple[str, ...]) -> dict:
    summary = {}
    for set_name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == set_name]
        for face in faces:
            for which in PASSES:
                ratios = [r[f"ratio_{face}"] for r in mine if r["pass"] == which
                          and not math.isnan(r[f"ratio_{face}"])]
                summary[f"{set_name} {face} {which} geomean"] = geomean(ratios)
                summary[f"{set_name} {face} {which} worst"] = max(ratios)
            backward = [r[f"ratio_{face}"] for r in mine if r["pass"] != "forward"
                        and not math.isnan(r[f"ratio_{face}"])]
            summary[f"{set_name} {face} backward geomean"] = geomean(backward)
        onnx_ratios = [r["ratio_NHWC_onnxruntime"] for r in mine if "onnxruntime_ms" in r]
        if onnx_ratios:
            summary[f"{set_name} NHWC forward / onnxruntime geomean"] = geomean(onnx_ratios)
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


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="benchmarks/results/conv_vs_torch.json")
    parser.add_argument("--faces", default="NHWC,NCHW")
    parser.add_argument("--layers", default="", help="comma-separated substrings; default all")
    parser.add_argument("--sets", default=",".join(SETS),
                        help="comma-separated layer sets (default %(default)s)")
    parser.add_argument("--skip", default="",
                        help="comma-separated: scaling,memory,scipy,float64")
    parser.add_argument("--pause", type=float, default=PAUSE,
                        help="seconds idle before each call's block (default %(default)s)")
    args = parser.parse_args(argv)
    globals()["PAUSE"] = args.pause
    faces = tuple(args.faces.split(","))
    skip = set(filter(None, args.skip.split(",")))
    sets = args.sets.split(",")
    if args.layers:
        wanted = args.layers.split(",")
        for layers in SETS.values():
            layers[:] = [e for e in layers if any(w in e[0] for w in wanted)]
    torch.set_num_threads(THREADS)
    print(f"strided {strided.__version__} ({strided.instruction_set()} kernels), numpy "
          f"{np.__version__}, torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__ if onnxruntime else 'not installed'}, {THREADS} threads "
          f"each (torch.get_num_threads()={torch.get_num_threads()}), float32, median of "
          f"{ROUNDS} x {args.repeats}; CPU: {_cpu_name()}", flush=True)
    rows = run_suite(args.repeats, faces, sets)
    summary = summarise(rows, faces)
    for key, value in summary.items():
        print(f"{key:45s} {value:.3f}")
    result = {"python": sys.version.split()[0], "numpy": np.__version__,
              "instruction_set": strided.instruction_set(), "cpu": _cpu_name(),
              "torch": torch.__version__, "machine": platform.machine(),
              "cpus": os.cpu_count(), "threads": THREADS, "repeats": args.repeats,
              "rounds": ROUNDS,
              "rows": rows, "summary": summary}
    if "float64" not in skip:
        result["float64"] = rows64 = float64_forward(args.repeats, sets)
        for set_name in sets:
            ratios = [r["ratio"] for r in rows64 if r["set"] == set_name]
            print(f"{set_name} float64 forward geomean {geomean(ratios):.3f}")
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
