"""The compiled kernels and the runtime under them: threaded paths, edge shapes, aliasing,
concurrent callers, fork, ``STRIDED_ISA`` and the thread-count setting.

Every oracle comparison runs under every instruction-set level this CPU has (``level``) and
with 2 and 3 threads (more than this machine's cores), for every algorithm on the cases it
claims; tolerances are ``strategies.TOLERANCES``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import oracle
import strided
from strategies import (
    assert_close,
    assert_close_to_sums,
    canonical_arrays,
    canonical_oracle,
    run_all,
)
from strided import functional as F
from strided import grad as G
from strided import nn
from strided._algorithms import ALGORITHMS, _direct, _levels
from strided._runtime import _threads, _workspace
from strided._spec import ConvSpec, make_spec

SRC = Path(strided.__file__).resolve().parents[1]
LEVELS = _levels.available()

#: The compiled kernels split a call over threads from this many multiply-adds per extra
#: thread (``parts_for`` in csrc/conv.inc); the Python runtime from this many elements
#: (``_threads._MIN_SPLIT``), and a product's elements count as multiply-adds / 32.
KERNEL_SPLIT = 1 << 17
PYTHON_SPLIT = _threads._MIN_SPLIT
#: Drawn threaded cases have from this many to 4 times as many multiply-adds (a few ms):
#: every phase of a stride-2 input gradient still splits over 3 threads in the kernels,
#: im2col's columns pass its 2 MB threshold, and for pointwise a product's cost
#: (multiply-adds / 32) passes ``PYTHON_SPLIT``.
LARGE_MACS = {"pointwise": 1 << 23}
DEFAULT_LARGE_MACS = 1 << 21


def macs(spec: ConvSpec) -> int:
    """Multiply-adds of the forward pass (as ``Geometry::macs``)."""
    return (spec.batch * math.prod(spec.output_size) * spec.out_channels
            * math.prod(spec.kernel_size) * (spec.in_channels // spec.groups))


# ---------------------------------------------------------------------------------------------
# Draws large enough to split


@st.composite
def large_specs(draw, name: str) -> ConvSpec:
    """A convolution ``name`` claims with ``large`` to ``4 * large`` multiply-adds
    (the smallest image that has them), split over every thread; channels grow first, so
    that images stay small."""
    rank = 2 if name == "winograd" else draw(st.sampled_from([1, 2, 2, 3]))
    kind = "plain" if name in ("winograd", "fft") else draw(
        st.sampled_from(["plain", "plain", "grouped", "depthwise"]))
    if kind == "plain":
        groups, cg, og = 1, draw(st.sampled_from([1, 3, 8, 17])), draw(
            st.sampled_from([1, 3, 9, 17, 33]))
    elif kind == "grouped":
        groups, cg, og = draw(st.sampled_from([2, 3])), draw(st.sampled_from([1, 3, 5])), draw(
            st.sampled_from([2, 3, 5]))
    else:
        groups, cg, og = draw(st.sampled_from([3, 8, 17, 33])), 1, draw(st.sampled_from([1, 2]))
    if name == "winograd":
        kernel, stride = (3, 3), (1, 1)
    elif name == "pointwise":
        kernel, stride = (1,) * rank, tuple(draw(st.integers(1, 2)) for _ in range(rank))
    else:
        kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
        stride = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    padding = (((0, 0),) * rank if name == "pointwise" else
               tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank)))
    batch = draw(st.integers(1, 3))
    taps = math.prod(kernel)
    large = LARGE_MACS.get(name, DEFAULT_LARGE_MACS)
    while batch * groups * og * taps * cg < 256:  # at most 2^16 output pixels
        if kind == "depthwise" and og < 4:
            og *= 2  # the channel multiplier
        elif kind == "depthwise":
            groups *= 2
        elif groups * og < 64:
            og *= 2
        else:
            cg *= 2

    def spec_of(size: int) -> ConvSpec:
        return ConvSpec(batch, (size,) * rank, groups * cg, kernel, groups * og, stride,
                        dilation, padding, groups)

    def smallest_size() -> int:  # the smallest image with ``large`` multiply-adds
        size = smallest = max(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        while macs(spec_of(size)) < large:
            size = max(size + 1, int(size * (large / macs(spec_of(size))) ** (1 / rank)))
        while size > smallest and macs(spec_of(size - 1)) >= large:
            size -= 1
        return size

    size = smallest_size()
    while (math.prod(spec_of(size).input_shape) > 1 << 20 and og < 64
           and kind != "depthwise"):  # stays in cache
        og *= 2
        size = smallest_size()
    return spec_of(size)


@pytest.mark.parametrize("name", list(ALGORITHMS))
@settings(max_examples=4)
@given(data=st.data())
def test_threaded_paths_match_the_oracle(runs, name: str, data) -> None:
    """Draws that split over threads in the kernels and in Python, with 2 and 3 threads, at
    every level (a loop here rather than the ``level`` fixture: PyTorch's float64 oracle
    costs more than the rest, so each draw computes it once, grouped ones densely)."""
    spec = data.draw(large_specs(name), label="spec")
    module = ALGORITHMS[name]
    if name == "fft":  # its kernel spectrum must fit the workspace: a few large draws do not
        assume(module.supports(spec, np.dtype(np.float64)) is None)
    assert module.supports(spec, np.dtype(np.float64)) is None, spec
    large = LARGE_MACS.get(name, DEFAULT_LARGE_MACS)
    assert large <= macs(spec) <= 4 * large, (macs(spec), spec)
    assert macs(spec) >= 2 * KERNEL_SPLIT * 2 ** spec.rank  # every phase splits 3 ways
    runs.expect(name, share=1.0)
    x, w, dy = canonical_arrays(spec, seed=7)
    wants = canonical_oracle(spec, x, w, dy, dense=True)
    saved = strided.get_num_threads()
    try:
        for level in LEVELS:
            for threads in (2, 3):
                strided.set_num_threads(threads)
                runs.draw()
                with _levels.using(level):
                    results = run_all(module, spec, x, w, dy)
                for got, want, what in zip(results, wants,
                                           ("forward", "grad_input", "grad_weight")):
                    assert_close(got, want, name, f"{what} at {level} on {threads} threads")
    finally:
        strided.set_num_threads(saved)


def _run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120,
                **kwargs) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python that imports this tree's strided."""
    environment = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=environment,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def test_the_kernels_split_large_calls_and_keep_tiny_ones_on_the_calling_thread() -> None:
    """In a fresh process: a tiny call starts no thread; a large one with 3 threads starts
    the pool's 2 workers (the process's thread count, /proc/self/task)."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc/self/task to count the process's threads (Linux)")
    result = _run_python("""
        import os
        import numpy as np
        import strided
        def threads():
            return len(os.listdir("/proc/self/task"))
        strided.set_num_threads(3)
        before = threads()
        x, w = np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 2))
        strided.nn.conv2d(x, w, 1, "SAME", algorithm="direct")
        tiny = threads()
        x, w = np.ones((2, 64, 64, 16)), np.ones((3, 3, 16, 16))
        y = strided.nn.conv2d(x, w, 1, "SAME", algorithm="direct")
        assert y[0, 5, 5, 0] == 9 * 16
        print(before, tiny, threads())
    """)
    assert result.returncode == 0, result.stderr
    before, tiny, large = map(int, result.stdout.split())
    assert tiny == before, "a tiny call started threads"
    assert large == before + 2, (before, large)


# ---------------------------------------------------------------------------------------------
# Edge shapes through the public faces


#: (input size, kernel, stride, padding, dilation) of rank-2 edge cases.
_EDGE_SHAPES = {
    "1x1 image, 1x1 kernel": ((1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    "1x1 image, 3x3 kernel padded": ((1, 1), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    "kernel as large as the padded image": ((5, 4), (7, 6), (1, 1), ((1, 1), (0, 2)), (1, 1)),
    "dilated kernel as large as the image": ((7, 5), (3, 3), (2, 1), ((0, 0), (0, 0)), (3, 2)),
    "3x3 on a 3x3 image, no padding": ((3, 3), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    "output one pixel wide": ((9, 3), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    "output one pixel wide by stride": ((6, 8), (2, 3), (1, 8), ((1, 0), (0, 0)), (1, 1)),
    "output one pixel high, 1x1 kernel": ((1, 13), (1, 1), (1, 2), ((0, 0), (0, 0)), (1, 1)),
}
#: (in channels, out channels, groups): counts that are not multiples of the vector width.
_EDGE_CHANNELS = [(1, 1, 1), (3, 17, 1), (17, 33, 1), (33, 3, 1), (1, 33, 1), (17, 34, 17),
                  (33, 33, 33), (33, 33, 3)]


def _edge_cases() -> list[tuple[str, str, tuple]]:
    """Every (algorithm, shape, channels) that the algorithm claims, channel triples taken in
    turn so that every shape meets several of them."""
    cases = []
    for s, (label, shape) in enumerate(_EDGE_SHAPES.items()):
        for channels in _EDGE_CHANNELS[s % 4::4]:
            spec = _edge_spec(shape, channels, 2)
            for name, module in ALGORITHMS.items():
                if module.supports(spec, np.dtype(np.float64)) is None:
                    cases.append((name, label, channels))
    return cases


def _edge_spec(shape, channels, batch) -> ConvSpec:
    size, kernel, stride, padding, dilation = shape
    c, o, g = channels
    return ConvSpec(batch, size, c, kernel, o, stride, dilation, padding, g)


def _odd_layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """``a``'s values in memory that is not C-contiguous: negatively strided, gapped, and
    Fortran-ordered views."""
    reversed_ = np.ascontiguousarray(a[::-1, ..., ::-1])[::-1, ..., ::-1]
    gapped = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)[..., ::2]
    gapped[...] = a
    return {"reversed": reversed_, "gapped": gapped, "fortran": np.asfortranarray(a)}


def test_edge_cases_cover_every_algorithm() -> None:
    names = {name for name, _, _ in _edge_cases()}
    assert names == set(ALGORITHMS), names


@pytest.mark.parametrize(("name", "shape", "channels"), _edge_cases(), ids=str)
def test_edge_shapes_through_the_public_faces(level: str, runs, name: str, shape: str,
                                               channels: tuple) -> None:
    """nn (NHWC, HWIO) and functional/grad (NCHW, OIHW), in float64 and float32, on
    contiguous, negatively strided, gapped and Fortran-ordered arrays."""
    spec = _edge_spec(_EDGE_SHAPES[shape], channels, 2)
    runs.expect(name, share=1.0)
    x, w, dy = canonical_arrays(spec, seed=8)
    x, w, dy = (a.astype(np.float32).astype(np.float64) for a in (x, w, dy))
    y_ref, dx_ref, dw_ref = canonical_oracle(spec, x, w, dy)
    first = lambda a: np.moveaxis(a, -1, 1)  # noqa: E731  (N, *S, C) -> (N, C, *S)
    oihw = lambda a: np.moveaxis(a, (-1, -2), (0, 1))  # noqa: E731
    options = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                   groups=spec.groups, algorithm=name)
    x_nchw, w_oihw, dy_nchw = (np.ascontiguousarray(a) for a in (first(x), oihw(w), first(dy)))
    for dtype in (np.float64, np.float32):
        views = {"contiguous": (x_nchw, w_oihw, dy_nchw)}
        odd = [_odd_layouts(a.astype(dtype)) for a in (x_nchw, w_oihw, dy_nchw)]
        views.update({kind: tuple(o[kind] for o in odd) for kind in odd[0]})
        for kind, (xv, wv, dyv) in views.items():
            xv, wv, dyv = (a.astype(dtype, copy=False) for a in (xv, wv, dyv))
            what = f"{kind} {np.dtype(dtype)}"
            runs.draw()
            assert_close(F.conv2d(xv, wv, **options), first(y_ref), name, f"F {what}")
            assert_close(G.conv2d_input(xv.shape, wv, dyv, **options), first(dx_ref), name,
                         f"G input {what}")
            assert_close(G.conv2d_weight(xv, wv.shape, dyv, **options), oihw(dw_ref), name,
                         f"G weight {what}")
            if spec.groups == 1:  # tf.nn infers groups from the filter's depth
                pads = [[0, 0], *map(list, spec.padding), [0, 0]]
                xl, wl = np.moveaxis(xv, 1, -1), np.moveaxis(wv, (0, 1), (-1, -2))
                y = nn.conv2d(xl, wl, spec.stride, pads, dilations=spec.dilation,
                              algorithm=name)
                assert_close(y, y_ref, name, f"nn {what}")


# ---------------------------------------------------------------------------------------------
# No result aliases an internal buffer


def _scratch_buffers() -> list[np.ndarray]:
    """Every scratch array the runtime keeps between calls, on every thread."""
    return [array for store in _workspace._stores.values() for array in store.values()]


@pytest.mark.parametrize("name", list(ALGORITHMS))
@pytest.mark.parametrize("face", ["nn", "functional"])
@pytest.mark.parametrize(("side", "channels"), [(24, 16), (24, 1), (1, 16)])
def test_no_result_aliases_an_input_another_result_or_a_scratch_buffer(
        level: str, threads: int, name: str, face: str, side: int, channels: int) -> None:
    # channels first, the algorithms write into a reused buffer that is then transposed out
    # of, except where the transpose would be a view of it (one channel, one pixel)
    k, pad = (1, 0) if name == "pointwise" else (3, 1)
    spec = ConvSpec(4, (side, side), channels, (k, k), channels, (1, 1), (1, 1),
                    ((pad, pad),) * 2)
    x, w, dy = canonical_arrays(spec, seed=9)
    if face == "functional":
        x, dy = (np.ascontiguousarray(np.moveaxis(a, -1, 1)) for a in (x, dy))
        w = np.ascontiguousarray(np.moveaxis(w, (-1, -2), (0, 1)))

        def calls(x, w, dy):
            return (F.conv2d(x, w, padding=pad, algorithm=name),
                    G.conv2d_input(x.shape, w, dy, padding=pad, algorithm=name),
                    G.conv2d_weight(x, w.shape, dy, padding=pad, algorithm=name))
    else:  # tf.nn has no weight gradient of its own
        def calls(x, w, dy):
            return (nn.conv2d(x, w, 1, "SAME", algorithm=name),
                    nn.conv2d_transpose(dy, w, x.shape, 1, "SAME", algorithm=name))
    first = calls(x, w, dy)
    kept = [a.copy() for a in first]
    second = calls(x, w, dy)
    results = [*first, *second]
    for i, a in enumerate(results):
        for b in [x, w, dy, *results[i + 1:], *_scratch_buffers()]:
            assert not np.may_share_memory(a, b), (i, a.shape, b.shape)
    strided.release_workspace()
    rng = np.random.default_rng(10)
    calls(*(rng.standard_normal(a.shape) for a in (x, w, dy)))  # scratch reused, other data
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# Several Python threads at once


def test_channels_first_layout_copies_are_kept_up_to_the_workspace_limit() -> None:
    """The NCHW face's copies of x and of the algorithm's result (here Winograd's, whose
    kernels write channels last) are reused between calls (each fresh one cost page
    faults), unless larger than the workspace limit."""
    x = np.random.default_rng(3).standard_normal((2, 8, 20, 20))
    w = np.random.default_rng(4).standard_normal((8, 8, 3, 3))
    nbytes = x.nbytes  # x and y have the same shape here

    def call() -> np.ndarray:
        return F.conv2d(x, w, padding=1, algorithm="winograd")

    def kept() -> list[int]:
        return [a.nbytes for a in _scratch_buffers() if a.nbytes == nbytes]

    strided.release_workspace()
    want = call()
    assert kept() == [nbytes, nbytes]  # x's copy and y's
    np.testing.assert_array_equal(call(), want)
    strided.release_workspace()
    with strided.workspace_limit(nbytes - 1):
        np.testing.assert_array_equal(call(), want)
        assert kept() == []
    strided.release_workspace()


def test_four_python_threads_at_once_match_sequential_calls() -> None:
    """Four threads call forward and both gradients on different shapes and algorithms for
    about 3 seconds; every result equals the sequential one."""
    jobs = [
        ("direct", ConvSpec(2, (32, 32), 16, (3, 3), 24, (1, 1), (1, 1), ((1, 1), (1, 1)))),
        ("auto", ConvSpec(3, (40, 24), 12, (3, 3), 12, (2, 1), (1, 1), ((1, 1), (0, 2)), 12)),
        ("direct", ConvSpec(2, (12, 10, 14), 5, (3, 2, 3), 7, (1, 2, 1), (1, 1, 2),
                            ((1, 1), (0, 1), (2, 2)))),
        ("im2col", ConvSpec(4, (20, 20), 17, (3, 3), 33, (1, 1), (1, 1), ((1, 1), (1, 1)))),
    ]
    cases = []
    for algorithm, spec in jobs:
        x, w, dy = canonical_arrays(spec, seed=11)
        args = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                    groups=spec.groups, algorithm=algorithm)
        x1, w1, dy1 = (np.moveaxis(a, -1, 1) for a in (x, w, dy))  # NCHW views
        w1 = np.moveaxis(w, (-1, -2), (0, 1))
        conv = getattr(F, f"conv{spec.rank}d")
        grad_in = getattr(G, f"conv{spec.rank}d_input")
        grad_w = getattr(G, f"conv{spec.rank}d_weight")

        def call(x1=x1, w1=w1, dy1=dy1, conv=conv, grad_in=grad_in, grad_w=grad_w, args=args):
            return (conv(x1, w1, **args), grad_in(x1.shape, w1, dy1, **args),
                    grad_w(x1, w1.shape, dy1, **args))

        cases.append((call, call()))
    errors: list[BaseException] = []
    counts = [0] * len(cases)
    stop = time.monotonic() + 3.0
    start = threading.Barrier(len(cases))

    def worker(i: int) -> None:
        call, wants = cases[i]
        try:
            start.wait()
            while time.monotonic() < stop:
                for got, want in zip(call(), wants):
                    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
                counts[i] += 1
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(len(cases))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    assert not any(thread.is_alive() for thread in pool), "a thread hung"
    assert not errors, errors[0]
    assert min(counts) >= 3, counts  # every thread ran calls while the others did


# ---------------------------------------------------------------------------------------------
# fork


@pytest.mark.parametrize("algorithm", ["direct", "im2col", "winograd"])
def test_convolutions_work_in_a_child_after_fork(algorithm: str) -> None:
    """The parent runs the threads (the kernels' pool for direct, the Python pool for
    im2col and Winograd), forks; the child computes the same result, within 10 s."""
    if not hasattr(os, "fork"):
        pytest.skip("os.fork is not available on this platform")
    result = _run_python(f"""
        import os, sys, time
        import numpy as np
        import strided
        strided.set_num_threads(2)
        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((8, 32, 32, 16)), rng.standard_normal((3, 3, 16, 16))
        y = strided.nn.conv2d(x, w, 1, "SAME", algorithm="{algorithm}")
        pid = os.fork()
        if pid == 0:
            again = strided.nn.conv2d(x, w, 1, "SAME", algorithm="{algorithm}")
            os._exit(0 if np.array_equal(again, y) else 3)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print("exit", os.waitstatus_to_exitcode(status))
                sys.exit(0)
            time.sleep(0.02)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("hung")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["exit", "0"], (
        f"the child after fork: {result.stdout.strip()} (algorithm={algorithm})")


# ---------------------------------------------------------------------------------------------
# STRIDED_ISA


#: Defines ``results()``: forward and both gradients of the compiled kernels on a few shapes,
#: run both here and in a child process (which must not import the test suite's torch).
_ISA_CODE = """
import numpy as np
from strided._algorithms import _direct
from strided._spec import ConvSpec

def results():
    out = []
    for spec in (ConvSpec(2, (9, 8), 17, (3, 3), 33, (2, 1), (1, 2), ((1, 1), (2, 0))),
                 ConvSpec(2, (11, 7), 6, (3, 2), 12, (1, 1), (1, 1), ((1, 1), (0, 1)), 6)):
        rng = np.random.default_rng(12)
        x, w, dy = (rng.standard_normal(s) for s in (spec.input_shape, spec.weight_shape,
                                                     spec.output_shape))
        for dtype in (np.float64, np.float32):
            x_, w_, dy_ = (a.astype(dtype) for a in (x, w, dy))
            out += [_direct.forward(x_, w_, spec), _direct.grad_input(dy_, w_, spec),
                    _direct.grad_weight(x_, dy_, spec)]
    return out
"""


def _isa_results() -> list[np.ndarray]:
    namespace: dict = {}
    exec(_ISA_CODE, namespace)
    return namespace["results"]()


def test_strided_isa_portable_forces_the_portable_kernels(tmp_path: Path) -> None:
    saved = tmp_path / "results.npz"
    result = _run_python(_ISA_CODE + f"""
import strided
print(strided.instruction_set())
np.savez({str(saved)!r}, *results())
""", env={"STRIDED_ISA": "portable"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["portable"]
    assert "Warning" not in result.stderr, result.stderr
    with np.load(saved, allow_pickle=False) as loaded:
        child = [loaded[f"arr_{i}"] for i in range(len(loaded.files))]
    with _levels.using("portable"):
        here = _isa_results()
    assert len(child) == len(here)
    for a, b in zip(child, here):
        np.testing.assert_array_equal(a, b)  # the same kernels, bit for bit
    best = _isa_results()  # the best level: the same up to rounding
    for a, b in zip(child, best):
        scale = max(1.0, float(np.abs(b).max()))
        tol = 1e-12 if a.dtype == np.float64 else 1e-5
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("wanted", [*[lv for lv in _levels.LEVELS if lv not in LEVELS], "sse9"])
def test_strided_isa_naming_an_unavailable_level_warns_and_keeps_the_best(wanted: str) -> None:
    result = _run_python("import strided; print(strided.instruction_set())",
                         env={"STRIDED_ISA": wanted})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [LEVELS[0]]
    message = (f"RuntimeWarning: STRIDED_ISA={wanted!r} is not available on this CPU "
               f"(available: {', '.join(LEVELS)}); using {LEVELS[0]!r}")
    assert message in result.stderr, result.stderr


def test_use_refuses_an_unavailable_level() -> None:
    before = strided.instruction_set()  # the best level, or the one STRIDED_ISA forces
    with pytest.raises(ValueError, match=r"instruction set 'sse9' is not available on this "
                                         r"CPU; available: " + ", ".join(LEVELS)):
        _levels.use("sse9")
    assert strided.instruction_set() == before


# ---------------------------------------------------------------------------------------------
# set_num_threads / get_num_threads


@pytest.mark.parametrize(("value", "error"), [
    (0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError),
    (None, TypeError),
])
def test_set_num_threads_refuses_what_is_not_a_positive_int(value, error) -> None:
    saved = strided.get_num_threads()
    with pytest.raises(error, match=r"^set_num_threads: threads must be a positive int; "
                                    rf"got {value!r}$".replace("(", r"\(").replace(")", r"\)")):
        strided.set_num_threads(value)
    assert strided.get_num_threads() == saved


def test_set_num_threads_round_trips_and_one_thread_is_exact() -> None:
    saved = strided.get_num_threads()
    spec = ConvSpec(2, (64, 64), 16, (3, 3), 16, (1, 1), (1, 1), ((1, 1), (1, 1)))
    x, w, dy = canonical_arrays(spec, seed=13)
    try:
        strided.set_num_threads(1)
        assert strided.get_num_threads() == 1
        one = run_all(ALGORITHMS["direct"], spec, x, w, dy)
        strided.set_num_threads(5)
        assert strided.get_num_threads() == 5
        five = run_all(ALGORITHMS["direct"], spec, x, w, dy)
    finally:
        strided.set_num_threads(saved)
    for a, b in zip(one, five):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_default_thread_count_is_the_cpus_the_process_may_use() -> None:
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("os.sched_setaffinity is not available on this platform")
    cpu = min(os.sched_getaffinity(0))
    result = _run_python("import strided; print(strided.get_num_threads())",
                         preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]


# ---------------------------------------------------------------------------------------------
# The compiled module checks what it is handed


def test_the_kernels_refuse_inconsistent_arrays_with_a_value_error() -> None:
    from strided import _kernels
    spec = make_spec("t", (1, 5, 5, 2), (3, 3, 2, 4), rank=2)
    x, w = np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4))
    geometry = _direct._geometry(1, 1, 2, 4, (5, 5), spec.output_size, (3, 3), (1, 1),
                                 (1, 1), (0, 0))
    packed = _direct._packed(_direct._by_group(w, spec), 4)
    y = np.empty((1, 1, 3, 3, 4))
    x5 = x.reshape(1, 1, 5, 5, 2)
    _kernels.forward(x5, packed, None, y, geometry)
    np.testing.assert_array_equal(y, 18.0)
    # channels first: read through its strides where the layer is banded (2 channels), else
    # refused (8 channels)
    def channels_first(a: np.ndarray) -> np.ndarray:
        return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, -1, 1)), 1, -1)
    _kernels.forward(channels_first(x5), packed, None, y, geometry)
    np.testing.assert_array_equal(y, 18.0)
    eight = geometry.copy()
    eight[2] = 8
    packed8 = _direct._packed(_direct._by_group(np.ones((3, 3, 8, 4)), spec), 4)
    with pytest.raises(ValueError, match="x must be a C-contiguous array"):
        _kernels.forward(channels_first(np.ones((1, 1, 5, 5, 8))), packed8, None, y, eight)
    with pytest.raises(ValueError, match="geometry must be 24 contiguous int64 values"):
        _kernels.forward(x5, packed, None, y, geometry[:-1])
    float32_count = 9 * 2 * _kernels.lanes(4, 4)  # taps x cg x the level's float32 lanes
    with pytest.raises(ValueError, match=f"packed must be {float32_count} contiguous values of "
                                         f"the input's"):
        _kernels.forward(x5.astype(np.float32), packed, None, y, geometry)  # dtypes differ
    with pytest.raises(ValueError, match="x must be a C-contiguous array"):
        _kernels.forward(np.ones((1, 1, 5, 10, 2))[:, :, :, ::2], packed, None, y, geometry)
    with pytest.raises(ValueError, match="packed must be"):
        _kernels.forward(x5, packed[..., :-1], None, y, geometry)
    with pytest.raises(ValueError, match="y must be a 5-D array of the geometry's output"):
        _kernels.forward(x5, packed, None, np.empty((1, 1, 3, 2, 4)), geometry)
    with pytest.raises(ValueError, match="bias must be 4 contiguous values"):
        _kernels.forward(x5, packed, np.ones(3), y, geometry)
    for kernel in ((1, 64, 65), (8, 65, 1)):  # 4160 taps; 520 in the first two dimensions
        bad = geometry.copy()
        bad[10:13] = kernel
        with pytest.raises(ValueError, match="at most 4096 taps, 512 in the first two"):
            _kernels.forward(x5, packed, None, y, bad)
    bad = geometry.copy()
    bad[23] = 0
    with pytest.raises(ValueError, match="geometry asks for no thread"):
        _kernels.forward(x5, packed, None, y, bad)
    with pytest.raises(ValueError, match="dw must be 72 contiguous values"):
        _kernels.grad_weight(x5, np.ones(36), np.empty(71), geometry)
    # depthwise: two input channels, multiplier 3 (not a power of two) or 2 with cg = 2
    for cg, og in ((1, 3), (2, 2)):
        bad = _direct._geometry(1, 2 // cg, cg, og, (5, 5), (3, 3), (3, 3), (1, 1), (1, 1),
                                (0, 0))
        out_channels, xg = 2 // cg * og, np.ones((1, 1, 5, 5, 2 // cg))  # x: a channel a group
        with pytest.raises(ValueError, match="channel multiplier that is a power of two"):
            _kernels.depthwise_forward(xg, np.ones((9, out_channels)), None,
                                       np.empty((1, 1, 3, 3, out_channels)), bad)
        with pytest.raises(ValueError, match="channel multiplier that is a power of two"):
            _kernels.depthwise_grad_weight(xg, np.ones(9 * out_channels),
                                           np.empty(9 * out_channels), bad)


#: The vector width of each level, float32 and float64.
_WIDTHS = {"avx512": (16, 8), "avx2": (8, 4), "portable": (4, 2)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_depthwise_multipliers_repeat_in_the_lanes_where_the_width_allows(
        level: str, dtype, monkeypatch) -> None:
    """A channel multiplier that is a power of two dividing the level's vector width runs with
    no repeated copy of x (forward and weight gradient); any other through the copy; both
    agree with PyTorch float64."""
    width = _WIDTHS[level][dtype == np.float64]
    copies: list[int] = []
    expanded = _direct._expanded
    monkeypatch.setattr(_direct, "_expanded", lambda x, m: copies.append(m) or expanded(x, m))
    for multiplier in (2, 3, 4, 8, 16):
        spec = ConvSpec(2, (6, 11), 5, (3, 3), 5 * multiplier, (1, 1), (1, 1), ((1, 1), (1, 1)), 5)
        x, w, dy = canonical_arrays(spec, seed=multiplier)
        want_y, _, want_dw = canonical_oracle(spec, x, w, dy, dense=True)
        copies.clear()
        xd, wd, dyd = (a.astype(dtype) for a in (x, w, dy))
        assert_close(_direct.forward(xd, wd, spec), want_y, "direct", f"forward x{multiplier}")
        assert_close(_direct.grad_weight(xd, dyd, spec), want_dw, "direct", f"dw x{multiplier}")
        in_lanes = multiplier != 3 and width % multiplier == 0
        assert copies == ([] if in_lanes else [multiplier, multiplier]), (multiplier, copies)


def test_every_level_is_exercised_here() -> None:
    """The suite's level fixture covers every level the CPU reports, the portable one always."""
    assert LEVELS == _levels.available()
    assert "portable" in LEVELS
    assert set(LEVELS) <= set(_levels.LEVELS)


#: (groups, cg, og, in, out, kernel, stride, dilation, pad before) of 1-D depthwise and plain
#: kernel calls whose padding before reaches past the first outputs.
_WIDE_PADDING = [
    (2, 1, 1, 1, 2, 3, 1, 1, 3),  # input 1, padding (3, 0), kernel 3: output 2
    (8, 1, 1, 1, 4, 6, 1, 1, 5),  # the input gradient's phase of a 6-tap kernel on 4 pixels
    (33, 1, 1, 2, 3, 3, 2, 1, 4),
    (17, 1, 1, 5, 9, 3, 1, 2, 6),
    (1, 3, 5, 1, 4, 6, 1, 1, 5),  # not depthwise
]


@pytest.mark.parametrize("case", _WIDE_PADDING, ids=str)
def test_the_kernels_write_nothing_outside_y(level: str, case: tuple) -> None:
    """y is a view into a larger buffer of guard values: the kernels write inside y only,
    and the right values there, when the padding before covers whole outputs."""
    from strided import _kernels
    groups, cg, og, n, out, k, s, d, pad = case
    rng = np.random.default_rng(14)
    x = rng.standard_normal((1, 1, 1, n, groups * cg))
    w = rng.standard_normal((k, cg, groups * og))
    guard = np.full((1, 1, 1, out + 2, groups * og), -7.0)
    y = guard[:, :, :, 1:-1]
    geometry = _direct._geometry(1, groups, cg, og, (n,), (out,), (k,), (s,), (d,), (pad,))
    if cg == 1 and og == 1:
        _kernels.depthwise_forward(x, np.ascontiguousarray(w.reshape(k, groups)), None, y,
                                   geometry)
    else:
        spec = ConvSpec(1, (n,), groups * cg, (k,), groups * og, (s,), (d,),
                        ((pad, pad),), groups)
        _kernels.forward(x, _direct._packed(_direct._by_group(w, spec), og), None, y, geometry)
    assert np.all(guard[:, :, :, 0] == -7.0) and np.all(guard[:, :, :, -1] == -7.0), (
        "written outside y", guard[0, 0, 0, :, 0])
    hi = (out - 1) * s + d * (k - 1) + 1 - n - pad  # the padding after that gives ``out``
    want = oracle.conv(np.moveaxis(x[:, 0, 0], -1, 1), np.moveaxis(w, (1, 2), (1, 0)), None,
                       s, [(pad, max(hi, 0))], d, groups)
    np.testing.assert_allclose(np.moveaxis(y[:, 0, 0], -1, 1), want[..., :out], rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_partial_vectors_of_output_channels_store_exactly_their_lanes(level: str, dtype) -> None:
    """Every count of output channels up to four AVX-512 vectors and one more (the tiles of
    one, two and four vectors, wholly empty vectors in the last): the last, partial vector of
    each pixel writes its channels and nothing beside them (y's pixels lie two channels apart,
    filled with guard values)."""
    from strided import _kernels
    n, k, cg = 9, 3, 2
    for og in range(1, 66):
        rng = np.random.default_rng(og)
        x = rng.standard_normal((1, 1, 1, n, cg)).astype(dtype)
        w = rng.standard_normal((k, cg, og)).astype(dtype)
        guard = np.full((1, 1, 1, n, og + 2), -7.0, dtype)
        y = guard[..., 1:-1]
        spec = ConvSpec(1, (n,), cg, (k,), og, (1,), (1,), ((1, 1),), 1)
        geometry = _direct._geometry(1, 1, cg, og, (n,), (n,), (k,), (1,), (1,), (1,))
        _kernels.forward(x, _direct._packed(_direct._by_group(w, spec), og), None, y, geometry)
        assert np.all(guard[..., 0] == -7.0) and np.all(guard[..., -1] == -7.0), og
        want = oracle.conv(np.moveaxis(x[:, 0, 0], -1, 1).astype(np.float64),
                           np.moveaxis(w, (1, 2), (1, 0)).astype(np.float64), None, 1,
                           [(1, 1)], 1, 1)
        tolerance = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(np.moveaxis(y[:, 0, 0], -1, 1), want, rtol=tolerance,
                                   atol=tolerance, err_msg=f"{og} output channels")


@pytest.mark.parametrize(("kernel", "stride", "dilation", "padding", "multiplier"), [
    (3, 1, 1, (1, 1), 1), (5, 1, 1, (2, 1), 1), (3, 2, 1, (0, 1), 1), (7, 1, 2, (6, 3), 1),
    (3, 1, 1, (1, 1), 2), (5, 2, 1, (2, 2), 2), (3, 1, 1, (1, 1), 4), (5, 1, 2, (4, 3), 8),
    (3, 1, 1, (1, 1), 3)], ids=str)
def test_depthwise_rows_split_into_spans_match_the_oracle(level: str, kernel: int, stride: int,
                                                          dilation: int, padding, multiplier
                                                          ) -> None:
    """131 channels (eight whole blocks and a partial one) on rows of 40 pixels: the depthwise
    kernels pass each row a span of a few pixels at a time under every block of channels
    (``depthwise_span_pixels``), forward and weight gradient, float32 and float64.  A channel
    multiplier that is a power of two dividing the vector width is repeated in the kernels'
    lanes, any other (3; 8 at the portable level's float32 and float64 widths) in a copy."""
    channels = 131
    spec = ConvSpec(2, (5, 40), channels, (kernel, kernel), channels * multiplier,
                    (stride, stride), (dilation, dilation), (padding, padding), channels)
    x, w, dy = canonical_arrays(spec, seed=kernel)
    want_y, _, want_dw = canonical_oracle(spec, x, w, dy, dense=True)
    module = ALGORITHMS["direct"]
    for dtype in (np.float64, np.float32):
        xd, wd, dyd = (a.astype(dtype) for a in (x, w, dy))
        assert_close(module.forward(xd, wd, spec), want_y, "direct", f"forward {dtype}")
        assert_close(module.grad_weight(xd, dyd, spec), want_dw, "direct", f"dw {dtype}")


def _forward_wanted(spec: ConvSpec, bias: bool, relu: bool
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, w and a bias drawn for ``spec``, and PyTorch's float64 forward result with the bias
    added (if ``bias``) and then the ReLU (if ``relu``)."""
    x, w, dy = canonical_arrays(spec, seed=spec.in_channels * 41 + spec.out_channels)
    b = np.random.default_rng(spec.out_channels).standard_normal(spec.out_channels)
    want = canonical_oracle(spec, x, w, dy)[0] + (b if bias else 0)
    return x, w, b, np.maximum(want, 0) if relu else want


@settings(max_examples=30, deadline=None)
@given(cg=st.integers(1, 4), og=st.integers(1, 40), batch=st.integers(1, 3),
       side=st.integers(1, 48), stride=st.integers(1, 2), padding=st.integers(0, 1),
       bias=st.booleans(), relu=st.booleans(), double=st.booleans(),
       y_layout=st.sampled_from(["NHWC", "NCHW", "NCWH"]))
def test_one_by_one_kernels_over_few_input_channels_match_the_oracle(
        level: str, threads: int, cg: int, og: int, batch: int, side: int, stride: int,
        padding: int, bias: bool, relu: bool, double: bool, y_layout: str) -> None:
    """A 1x1 kernel over 1 to 4 input channels: ``forward_few_channels`` pixel by pixel into
    channels-last y; ``forward_few_channels_planes`` plane by plane into y with strided
    channels (runs of pixels consecutive in y, NCHW, or not, NCWH), runs of up to 512
    pixels and short last ones; padded pixels (bias only), bias and ReLU fused, partial
    vectors of output channels; the larger draws split over the threads."""
    spec = ConvSpec(batch, (side, side), cg, (1, 1), og, (stride, stride), (1, 1),
                    ((padding, padding),) * 2)
    x, w, b, want = _forward_wanted(spec, bias, relu)
    dtype = np.float64 if double else np.float32
    assume(y_layout == "NHWC" or _direct.writes_strided_channels(spec))  # 1 -> 1: plane kernel
    n, oh, ow, o = spec.output_shape
    out = {"NHWC": None,  # channels-last views of channels-first memory:
           "NCHW": np.empty((n, o, oh, ow), dtype).transpose(0, 2, 3, 1),
           "NCWH": np.empty((n, o, ow, oh), dtype).transpose(0, 3, 2, 1)}[y_layout]
    got = _direct.forward(x.astype(dtype), w.astype(dtype), spec,
                          bias=b.astype(dtype) if bias else None, relu=relu, out=out)
    assert out is None or np.shares_memory(got, out)
    assert_close(got, want, "direct", f"{cg} -> {og} channels")


def _few_channel_spec(data, rank: int, cg: int, og: int, batch: int) -> ConvSpec:
    """A layer over ``cg`` input channels: sides up to 600 (1-D: rows split into spans), 40
    (2-D) or 9 (3-D), kernels 1 to 7, strides 1 to 3, dilation 1 or 2, uneven padding up to
    past the kernel."""
    sizes = st.integers(1, {1: 600, 2: 40, 3: 9}[rank])
    side = tuple(data.draw(sizes, label="side") for _ in range(rank))
    kernel = tuple(data.draw(st.integers(1, 7), label="kernel") for _ in range(rank))
    stride = tuple(data.draw(st.integers(1, 3), label="stride") for _ in range(rank))
    dilation = tuple(data.draw(st.integers(1, 2), label="dilation") for _ in range(rank))
    padding = tuple((data.draw(st.integers(0, 8)), data.draw(st.integers(0, 8)))
                    for _ in range(rank))
    assume(all(n + lo + hi >= d * (k - 1) + 1
               for n, (lo, hi), k, d in zip(side, padding, kernel, dilation)))
    return ConvSpec(batch, side, cg, kernel, og, stride, dilation, padding)


@settings(max_examples=40, deadline=None)
@given(rank=st.sampled_from([1, 2, 2, 3]), cg=st.integers(1, 7), og=st.integers(1, 40),
       batch=st.integers(1, 3), data=st.data(), double=st.booleans())
def test_weight_gradients_over_few_input_channels_match_the_oracle(
        level: str, threads: int, rank: int, cg: int, og: int, batch: int, data,
        double: bool) -> None:
    """Fewer than 8 input channels, one group: ``grad_weight_banded`` reads each row's
    interior windows in place as runs of (kw, channel) pairs and unfolds the edge pixels (all
    of them at dilation 2), with zeros where a tap is outside; threads split the rows."""
    spec = _few_channel_spec(data, rank, cg, og, batch)
    assume(_direct.reads_strided_channels(spec))  # the banded layers (not 1x1 over 1 to 4)
    x, w, dy = canonical_arrays(spec, seed=cg * 41 + og)
    want = canonical_oracle(spec, x, w, dy)[2]
    dtype = np.float64 if double else np.float32
    got = _direct.grad_weight(x.astype(dtype), dy.astype(dtype), spec)
    assert_close(got, want, "direct", f"dw, {cg} -> {og} channels")


@settings(max_examples=40, deadline=None)
@given(rank=st.sampled_from([1, 2, 2, 3]), cg=st.integers(1, 7), og=st.integers(1, 40),
       batch=st.integers(1, 3), data=st.data(), bias=st.booleans(), relu=st.booleans(),
       double=st.booleans(), x_layout=st.sampled_from(["last", "first"]),
       y_layout=st.sampled_from(["last", "first"]))
def test_kernels_over_few_input_channels_match_the_oracle(
        level: str, threads: int, rank: int, cg: int, og: int, batch: int, data, bias: bool,
        relu: bool, double: bool, x_layout: str, y_layout: str) -> None:
    """Fewer than 8 input channels, one group (a first layer): ``forward_banded`` copies the
    input a task reads into a band with the padding as zeros, split into rows and spans of
    columns where it would pass 16 KiB or 256 pixels or leave the threads too few tasks;
    kernels 1 to 7, strides 1 to 3, dilation, uneven padding up to past the kernel, sizes
    down to one pixel, 1-D to 3-D, bias and ReLU fused, x and y channels last or first
    (x read through its strides)."""
    spec = _few_channel_spec(data, rank, cg, og, batch)
    x, w, b, want = _forward_wanted(spec, bias, relu)
    dtype = np.float64 if double else np.float32
    out = None
    if y_layout == "first" and _direct.writes_strided_channels(spec):
        n, *sizes_out, o = spec.output_shape
        out = np.moveaxis(np.empty((n, o, *sizes_out), dtype), 1, -1)
    xd = x.astype(dtype)
    if x_layout == "first":  # a channels-last view of channels-first memory
        xd = np.moveaxis(np.ascontiguousarray(np.moveaxis(xd, -1, 1)), 1, -1)
    got = _direct.forward(xd, w.astype(dtype), spec,
                          bias=b.astype(dtype) if bias else None, relu=relu, out=out)
    assert out is None or np.shares_memory(got, out)
    assert_close(got, want, "direct", f"{cg} -> {og} channels, x {x_layout}, y {y_layout}")


def _planes(canonical: np.ndarray) -> np.ndarray:
    """(N, *S, C) -> a C-contiguous (N, C, *S)."""
    return np.ascontiguousarray(np.moveaxis(canonical, -1, 1))


@st.composite
def planar_specs(draw, stride_w: int | None = 1) -> ConvSpec:
    """Depthwise layers (1 to 20 channels, multiplier 1 to 3) or one-channel filters, 1-D to
    3-D: rows of 1 to 300 pixels (1-D), 70 (2-D) or 40 (3-D), so that rows of one, two and
    more vectors (plane_row_groups' 8, 4 and 2 rows a tile) and whole and masked tiles all
    occur; kernels 1 to 7, strides 1 to 3 (along W ``stride_w``, or any if None), dilation,
    uneven padding up to past the kernel."""
    rank = draw(st.sampled_from([1, 2, 2, 3]), label="rank")
    channels = draw(st.integers(1, 20), label="channels")
    multiplier = 1 if channels == 1 else draw(st.integers(1, 3), label="multiplier")
    heights = st.integers(1, {1: 1, 2: 24, 3: 6}[rank])
    side = (*(draw(heights) for _ in range(rank - 1)),
            draw(st.integers(1, {1: 300, 2: 70, 3: 40}[rank]), label="width"))
    kernel = tuple(draw(st.integers(1, 7), label="kernel") for _ in range(rank))
    stride = (*(draw(st.integers(1, 3)) for _ in range(rank - 1)),
              stride_w or draw(st.integers(1, 3), label="stride_w"))
    dilation = tuple(draw(st.integers(1, 2), label="dilation") for _ in range(rank))
    padding = tuple((draw(st.integers(0, 8)), draw(st.integers(0, 8))) for _ in range(rank))
    assume(all(n + lo + hi >= d * (k - 1) + 1
               for n, (lo, hi), k, d in zip(side, padding, kernel, dilation)))
    batch = draw(st.integers(1, 3), label="batch")
    return ConvSpec(batch, side, channels, kernel, channels * multiplier, stride, dilation,
                    padding, channels)


@settings(max_examples=60, deadline=None)
@given(spec=planar_specs(), bias=st.booleans(), relu=st.booleans(), double=st.booleans())
def test_plane_kernels_forward_and_weight_gradient_match_the_oracle(
        level: str, threads: int, spec: ConvSpec, bias: bool, relu: bool, double: bool) -> None:
    """Depthwise (and one-channel) layers over channels-first data: ``plane_forward``'s tiles
    of rows and vectors, masked where a tap leaves the row (bias and ReLU fused), and
    ``plane_grad_weight``'s bands of rows, against PyTorch float64."""
    assert _direct.planar(spec)
    x, w, b, want_y = _forward_wanted(spec, bias, relu)
    dy = np.random.default_rng(7).standard_normal(spec.output_shape)
    want_dw = canonical_oracle(spec, x, w, dy, dense=True)[2]
    dtype = np.float64 if double else np.float32
    xd, wd = _planes(x).astype(dtype), w.astype(dtype)
    y = _direct.forward_planar(xd, wd, spec, bias=b.astype(dtype) if bias else None, relu=relu)
    assert_close(np.moveaxis(y, 1, -1), want_y, "direct", "plane forward")
    dw = _direct.grad_weight_planar(xd, _planes(dy).astype(dtype), spec)
    # a 1x1 kernel's weight gradient is one sum over every pixel, which may cancel
    magnitude = canonical_oracle(spec, np.abs(x), w, np.abs(dy), dense=True)[2]
    assert_close_to_sums(dw, want_dw, magnitude, "direct", "plane weight gradient")


@settings(max_examples=40, deadline=None)
@given(spec=planar_specs(stride_w=None), double=st.booleans())
def test_plane_kernels_input_gradient_matches_the_oracle(level: str, threads: int,
                                                         spec: ConvSpec, double: bool) -> None:
    """The input gradient over channels first, any stride: one stride-1 plane pass per phase,
    strided phases storing every s-th pixel, a channel multiplier's gradients summed."""
    x, w, dy = canonical_arrays(spec, seed=spec.out_channels)
    want = canonical_oracle(spec, x, w, dy, dense=True)[1]
    dtype = np.float64 if double else np.float32
    dx = _direct.grad_input_planar(_planes(dy).astype(dtype), w.astype(dtype), spec)
    assert_close(np.moveaxis(dx, 1, -1), want, "direct", "plane input gradient")


@pytest.mark.parametrize(("shape", "kernel", "multiplier"), [
    ((4, 64, 30, 30), 3, 1), ((2, 24, 14, 14), 7, 2), ((1, 1, 300, 301), 5, 1)], ids=str)
def test_plane_kernels_split_over_threads_match_the_oracle(level: str, threads: int, shape,
                                                           kernel: int, multiplier: int) -> None:
    """Planes large enough that every pass splits over the threads (rows of one image filter
    in bands, the others by plane), through the channels-first faces."""
    n, c, h, w_ = shape
    spec = ConvSpec(n, (h, w_), c, (kernel, kernel), c * multiplier, (1, 1), (1, 1),
                    ((kernel // 2, kernel // 2),) * 2, c)
    assert macs(spec) > 2 * KERNEL_SPLIT
    x, w, dy = canonical_arrays(spec, seed=kernel)
    want_y, want_dx, want_dw = canonical_oracle(spec, x, w, dy, dense=True)
    xf, wf, dyf = _planes(x), np.ascontiguousarray(np.moveaxis(w, (-1, -2), (0, 1))), _planes(dy)
    pad = kernel // 2
    assert_close(np.moveaxis(F.conv2d(xf, wf, None, 1, pad, 1, c), 1, -1), want_y, "direct")
    assert_close(np.moveaxis(G.conv2d_input(xf.shape, wf, dyf, 1, pad, 1, c), 1, -1), want_dx,
                 "direct")
    dw = G.conv2d_weight(xf, wf.shape, dyf, 1, pad, 1, c)
    assert_close(np.moveaxis(dw, (0, 1), (-1, -2)), want_dw, "direct")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_plane_kernels_give_the_direct_nan_and_inf_pattern(level: str, dtype) -> None:
    """A tap outside the row adds nothing, as in the channels-last kernels (a masked lane is
    not 0 * w): an inf weight leaves the outputs that it misses finite, and a NaN input
    reaches only the outputs and weights that read it."""
    spec = ConvSpec(2, (6, 21), 3, (3, 5), 6, (1, 1), (1, 1), ((1, 1), (2, 3)), 3)
    x, w, dy = (a.astype(dtype) for a in canonical_arrays(spec, seed=3))
    x[1, 2, 20, 2] = np.nan  # the last column of image 1, channel 2

    def same_pattern() -> np.ndarray:
        y = np.moveaxis(_direct.forward_planar(_planes(x), w, spec), 1, -1)
        want_y = _direct.forward(np.ascontiguousarray(x), w, spec)  # the channels-last kernels
        for pattern in (np.isnan, np.isposinf, np.isneginf):
            np.testing.assert_array_equal(pattern(y), pattern(want_y))
        return y

    # finite weights: the edge rows of these narrow rows read bands with zero rows
    # channels 4 and 5 read channel 2; rows 1 to 3 and columns 18 to 21 of 22 reach its pixel
    assert np.isnan(same_pattern()[1]).sum() == 2 * 3 * 4
    w[0, 0, 0, 1] = np.inf  # top-left tap of output channel 1: the edge rows read in place
    y = same_pattern()
    # output row 0 and columns 0 and 1 of channel 1 miss the inf tap (row and column masks)
    assert np.isfinite(y[:, 0, :, 1]).all() and np.isfinite(y[:, :, :2, 1]).all()
    assert np.isinf(y[:, 1:, 2:, 1]).all() and np.isfinite(y[..., 0]).all()
    dw = _direct.grad_weight_planar(_planes(x), _planes(dy), spec)
    np.testing.assert_array_equal(np.isnan(dw), np.isnan(_direct.grad_weight(x, dy, spec)))
    assert np.isnan(dw[..., 4]).any() and not np.isnan(dw[..., :4]).any()


#: Items the layout copy moves: 4 and 8 bytes through the level's register blocks, the
#: rest element by element.
_ITEM_DTYPES = [np.float32, np.int32, np.float64, np.int64, np.float16, np.int8]
#: From 1 KiB of data to past 2 x 256 KiB, where the copy splits over threads.
_SIDES = st.integers(1, 700)


@pytest.mark.parametrize("dtype", _ITEM_DTYPES, ids=lambda d: np.dtype(d).name)
@settings(max_examples=25)
@given(n=st.integers(1, 3), p=_SIDES, q=_SIDES, threads=st.sampled_from([1, 2, 3]))
def test_the_layout_copy_is_an_exact_transpose(level: str, dtype, n: int, p: int, q: int,
                                                threads: int) -> None:
    """dst[n, q, p] == src[n, p, q] bit for bit, for ragged sides (not multiples of the
    register block or the tile) and NaN payloads, on 1 to 3 threads."""
    from strided import _kernels

    bits = np.random.default_rng(p * q).integers(0, 256, size=n * p * q * np.dtype(dtype).itemsize,
                                                 dtype=np.uint8)
    src = bits.view(dtype).reshape(n, p, q)  # any bit pattern, NaNs and denormals included
    dst = np.empty((n, q, p), dtype=dtype)
    _kernels.transpose(src, dst, threads)
    assert dst.tobytes() == np.ascontiguousarray(src.transpose(0, 2, 1)).tobytes()


def test_the_layouts_are_views_where_no_copy_is_needed() -> None:
    """One channel, one pixel, or memory already in the other order: no copy is made."""
    from strided._algorithms._layout import channels_first, channels_last

    one_channel = np.arange(2 * 1 * 5 * 6.0).reshape(2, 1, 5, 6)
    assert np.shares_memory(channels_last(one_channel), one_channel)
    nhwc = np.arange(2 * 5 * 6 * 3.0).reshape(2, 5, 6, 3)
    as_nchw = np.moveaxis(nhwc, -1, 1)
    assert np.shares_memory(channels_last(as_nchw), nhwc)
    many = np.arange(2 * 3 * 5 * 6.0).reshape(2, 3, 5, 6)
    last = channels_last(many)
    assert not np.shares_memory(last, many) and last.flags.c_contiguous
    assert np.array_equal(last, np.moveaxis(many, 1, -1))
    first = channels_first(last)
    assert first.flags.c_contiguous and np.array_equal(first, many)


@pytest.mark.parametrize(("shape", "out_channels", "kernel", "stride", "groups"), [
    ((3, 5, 23, 29), 17, 3, 1, 1),    # partial vectors; runs of pixels across rows and images
    ((2, 1, 40, 41), 33, 5, 2, 1),    # one input channel (no input copy), 33 output planes
    ((3, 3, 31, 30), 16, 5, 2, 1),    # 3 input channels, read channels first (banded)
    ((2, 6, 17, 19), 12, 1, 1, 2),    # 1x1, groups
    ((1, 8, 64, 70), 64, 3, 1, 1),    # large enough to split over threads
    ((2, 21, 30, 31), 21, 3, 1, 21),  # depthwise (staged per span of a row), partial vectors
    ((2, 24, 19, 37), 48, 5, 2, 24),  # depthwise, multiplier 2, stride 2
    ((1, 16, 60, 64), 16, 7, 1, 16),  # depthwise, 7x7: edge pixels, and split over threads
])
@pytest.mark.parametrize("threads", [1, 3])
def test_channels_first_outputs_are_written_in_place(level: str, shape, out_channels: int,
                                                     kernel: int, stride: int, groups: int,
                                                     threads: int) -> None:
    """``strided.functional`` through the direct kernels writes its (N, O, H, W) result
    through strided channels (staged per run of pixels, or per span of a row for depthwise,
    then transposed per plane), no transposing copy: same values as PyTorch float64, with
    and without bias, float32 and float64."""
    rng = np.random.default_rng(sum(shape) + out_channels)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((out_channels, shape[1] // groups, kernel, kernel))
    b = rng.standard_normal(out_channels)
    saved = strided.get_num_threads()
    strided.set_num_threads(threads)
    try:
        for bias in (None, b):
            pad = [(kernel // 2, kernel // 2)] * 2
            want = oracle.conv(x, w, bias, stride, pad, 1, groups)
            for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-4)):
                got = F.conv2d(x.astype(dtype), w.astype(dtype),
                               None if bias is None else bias.astype(dtype), stride,
                               kernel // 2, 1, groups, algorithm="direct")
                assert got.flags.c_contiguous and got.dtype == dtype
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    finally:
        strided.set_num_threads(saved)


@pytest.mark.parametrize(("x_shape", "w_shape", "padding"), [
    ((1, 2, 0, 5), (3, 2, 1, 3), 1),   # no rows: the padding makes the output
    ((2, 0, 4, 4), (3, 0, 3, 3), 1),   # no input channels
])
@pytest.mark.parametrize("relu", [False, True])
def test_an_empty_input_gives_the_bias_in_either_layout(x_shape, w_shape, padding: int,
                                                        relu: bool) -> None:
    """An empty input with a non-empty output: every output is the bias (then the ReLU), in
    the result written in place for channels first as in channels last."""
    from strided import _core

    b = np.array([1.0, -2.0, 3.0])
    want = np.maximum(b, 0) if relu else b
    for data_format, weight_format in (("channels_first", "OIHW"), ("channels_last", "HWIO")):
        x, w = np.zeros(x_shape), np.ones(w_shape)
        if data_format == "channels_last":
            x, w = np.moveaxis(x, 1, -1), np.transpose(w, (2, 3, 1, 0))
        spec = make_spec("conv2d", x.shape, w.shape, rank=2, padding=padding,
                         data_format=data_format, weight_format=weight_format)
        y = _core.convolve(x, w, spec, bias=b, relu=relu, algorithm="direct")
        channels = np.moveaxis(y, 1, -1) if data_format == "channels_first" else y
        assert channels.size and np.array_equal(channels, np.broadcast_to(want, channels.shape))
