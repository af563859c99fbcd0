"""Every algorithm against the PyTorch float64 oracle, on the configurations it claims.

Each algorithm runs over the same hypothesis-drawn configurations, drawn only where its
``supports`` accepts them and run on every draw (the ``runs`` fixture counts), under every
instruction-set level of the compiled kernels (the ``level`` fixture); the tolerances, per
algorithm and dtype, are ``strategies.TOLERANCES``; int64 exact.  Also: Winograd against im2col on
the same inputs, the "auto" rule never choosing an algorithm that refuses, the refusal message,
and the workspace cap.
"""

from __future__ import annotations

import math
import tracemalloc
from dataclasses import replace
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strided
from strategies import assert_close
from strategies import canonical_arrays as _arrays
from strategies import canonical_oracle as _oracle
from strategies import run_all as _run
from strided import _core
from strided._algorithms import ALGORITHMS, _fft, _im2col, _levels, _winograd, choose, resolve
from strided._runtime import _workspace
from strided._spec import ConvSpec, check_kernel_fits

DIRECTIONS = ("forward", "grad_input", "grad_weight")


@st.composite
def specs(draw, algorithm: str | None = None) -> ConvSpec:
    """A small convolution; with ``algorithm``, one that the algorithm claims."""
    rank = 2 if algorithm == "winograd" else draw(st.integers(1, 3) if algorithm is None
                                                  else st.sampled_from([1, 2, 2, 2, 3]))
    small = rank == 3
    groups = 1 if algorithm in ("winograd", "fft") else draw(st.sampled_from([1, 1, 2, 3]))
    cg = draw(st.integers(1, 2 if small else 3))
    og = draw(st.integers(1, 2 if small else 3))
    if algorithm == "winograd":
        kernel, stride = draw(st.sampled_from([((3, 3), (1, 1)), ((3, 3), (1, 1)),
                                               ((5, 5), (1, 1)), ((3, 3), (2, 2))]))
        dilation = (draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2])))
        if stride == (2, 2):  # by phases, at dilation 1
            dilation = (1, 1)
    else:
        kernel = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(rank))
        stride = tuple(draw(st.integers(1, 2)) for _ in range(rank))
        dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    if algorithm == "pointwise":
        kernel, padding = (1,) * rank, ((0, 0),) * rank
    else:
        padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank))
    size = tuple(draw(st.integers(1, 4 if small else 9)) for _ in range(rank))
    spec = ConvSpec(batch=draw(st.integers(1, 2)), input_size=size, in_channels=cg * groups,
                    kernel_size=kernel, out_channels=og * groups, stride=stride,
                    dilation=dilation, padding=padding, groups=groups)
    try:
        check_kernel_fits(spec, "test")
    except ValueError:
        spec = spec.with_padding(tuple((lo + e, hi) for (lo, hi), e in
                                       zip(spec.padding, spec.effective_kernel_size)),
                                 spec.input_size)
    return spec


@pytest.mark.parametrize("name", list(ALGORITHMS))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_float64_matches_oracle(level: str, runs, name: str, data) -> None:
    spec = data.draw(specs(name))
    module = ALGORITHMS[name]
    assert module.supports(spec, np.dtype(np.float64)) is None, spec  # specs(name) claims it
    runs.expect(name, share=1.0)
    runs.draw()
    x, w, dy = _arrays(spec)
    for got, want, what in zip(_run(module, spec, x, w, dy), _oracle(spec, x, w, dy),
                               DIRECTIONS):
        assert_close(got, want, name, what)


def _realistic(name: str) -> ConvSpec:
    """A float32 case with enough channels and taps to show accumulated rounding."""
    if name == "pointwise":
        return ConvSpec(2, (10, 10), 64, (1, 1), 48, (1, 1), (1, 1), ((0, 0), (0, 0)))
    if name == "direct":
        return ConvSpec(2, (20, 20), 32, (3, 3), 32, (1, 1), (1, 1), ((1, 1), (1, 1)), 32)
    return ConvSpec(2, (14, 13), 64, (3, 3), 48, (1, 1), (1, 1), ((1, 1), (1, 1)))


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_float32_relative_error_within_tolerance(level: str, name: str) -> None:
    spec = _realistic(name)
    module = ALGORITHMS[name]
    assert module.supports(spec, np.dtype(np.float32)) is None
    x, w, dy = _arrays(spec, seed=1)
    wants = _oracle(spec, x, w, dy)
    f32 = [a.astype(np.float32) for a in (x, w, dy)]
    # the oracle on the float32-rounded inputs, so only the algorithm's rounding is measured
    wants = _oracle(spec, *[a.astype(np.float64) for a in f32])
    for got, want, what in zip(_run(module, spec, *f32), wants, DIRECTIONS):
        assert got.dtype == np.float32, what
        assert_close(got, want, name, what)


@pytest.mark.parametrize("name", [n for n in ALGORITHMS
                                  if ALGORITHMS[n].supports(
                                      ConvSpec(1, (5, 5), 2, (1, 1), 2, (1, 1), (1, 1),
                                               ((0, 0), (0, 0))), np.dtype(np.int64)) is None])
def test_int64_exact(level: str, name: str) -> None:
    spec = (ConvSpec(2, (6, 5), 4, (1, 1), 6, (2, 1), (1, 1), ((0, 0), (0, 0)), 2)
            if name == "pointwise" else
            ConvSpec(2, (6, 5), 4, (2, 3), 6, (2, 1), (1, 2), ((1, 0), (2, 1)), 2))
    rng = np.random.default_rng(2)
    x, w, dy = (rng.integers(-50, 50, s) for s in (spec.input_shape, spec.weight_shape,
                                                    spec.output_shape))
    module = ALGORITHMS[name]
    for got, want, what in zip(_run(module, spec, x, w, dy), _oracle(spec, x, w, dy),
                               DIRECTIONS):
        assert got.dtype == np.int64, what
        np.testing.assert_array_equal(got, np.rint(want).astype(np.int64), err_msg=what)


@pytest.mark.parametrize("output_size", [(2, 2), (2, 7), (8, 8), (9, 6)])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 3)])
def test_winograd_equals_im2col_on_the_same_inputs(output_size, dilation) -> None:
    spec = ConvSpec(2, tuple(n + 2 * d for n, d in zip(output_size, dilation)), 5, (3, 3), 4,
                    (1, 1), dilation, ((1, 0), (0, 2)))
    m = _winograd.tile_size(spec.output_size, spec.dilation, spec.batch)
    x, w, dy = _arrays(spec, seed=3)
    for a, b, what in zip(_run(_winograd, spec, x, w, dy), _run(_im2col, spec, x, w, dy),
                          DIRECTIONS):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11, err_msg=f"F({m}x{m}) {what}")


@settings(max_examples=60, deadline=None)
@given(spec=specs(), dtype=st.sampled_from([np.float32, np.float64, np.int64]))
def test_auto_never_chooses_an_algorithm_that_refuses(spec: ConvSpec, dtype) -> None:
    chosen = choose(spec, np.dtype(dtype))
    assert chosen in ALGORITHMS.values()
    assert chosen.supports(spec, np.dtype(dtype)) is None, (chosen.__name__, spec)


def test_auto_follows_the_measured_rule() -> None:
    """``choose``'s seven rules, one case each (the measurements are in its docstring)."""
    f32, i64 = np.dtype(np.float32), np.dtype(np.int64)
    resnet = ConvSpec(16, (14, 14), 256, (3, 3), 256, (1, 1), (1, 1), ((1, 1), (1, 1)))
    depthwise = ConvSpec(2, (8, 8), 16, (3, 3), 16, (1, 1), (1, 1), ((1, 1), (1, 1)), 16)
    pointwise = ConvSpec(2, (8, 8), 16, (1, 1), 32, (1, 1), (1, 1), ((0, 0), (0, 0)))
    first = ConvSpec(8, (28, 28), 3, (5, 5), 16, (2, 2), (1, 1), ((2, 2), (2, 2)))
    plane = ConvSpec(1, (512, 512), 1, (31, 31), 1, (1, 1), (1, 1), ((15, 15), (15, 15)))
    small_plane = replace(plane, kernel_size=(21, 21), padding=((10, 10), (10, 10)))
    large = ConvSpec(4, (64, 64), 16, (13, 13), 16, (1, 1), (1, 1), ((6, 6), (6, 6)))
    assert choose(resnet, i64) is ALGORITHMS["im2col"]
    assert choose(pointwise, i64) is ALGORITHMS["pointwise"]
    assert choose(pointwise, f32) is ALGORITHMS["direct"]
    assert choose(pointwise, f32, "grad_weight") is ALGORITHMS["direct"]  # 16 channels: thin
    wide = replace(pointwise, in_channels=64, out_channels=256)
    for level in _levels.available():
        with _levels.using(level):
            want = "direct" if level == "avx512" else "pointwise"  # four vectors a tile, or two
            assert choose(wide, f32, "grad_weight") is ALGORITHMS[want], level
    planar = replace(pointwise, data_format="channels_first")  # more than 4 channels
    assert choose(planar, f32) is choose(planar, f32, "grad_input") is ALGORITHMS["pointwise"]
    assert choose(planar, f32, "grad_weight") is ALGORITHMS["pointwise"]
    few_planar = replace(planar, in_channels=3)
    assert choose(few_planar, f32) is ALGORITHMS["direct"]
    assert choose(plane, f32) is ALGORITHMS["fft"]
    assert choose(small_plane, f32) is ALGORITHMS["direct"]
    assert choose(resnet, f32, "grad_weight") is ALGORITHMS["winograd"]
    assert choose(large, f32) is ALGORITHMS["fft"]
    assert choose(first, f32, "grad_input") is ALGORITHMS["im2col"]
    assert choose(first, f32) is ALGORITHMS["direct"]
    assert choose(depthwise, f32, "grad_input") is ALGORITHMS["direct"]


def test_auto_takes_winograd_from_eight_channels_and_32_for_the_weight_gradient() -> None:
    f32 = np.dtype(np.float32)
    for size, c, o in (((56, 56), 64, 64), ((7, 7), 512, 512), ((14, 14), 32, 64)):
        layer = ConvSpec(16, size, c, (3, 3), o, (1, 1), (1, 1), ((1, 1), (1, 1)))
        dilated = replace(layer, dilation=(2, 2), padding=((2, 2), (2, 2)))
        for spec, direction in product((layer, dilated), DIRECTIONS):
            assert choose(spec, f32, direction) is ALGORITHMS["winograd"], (spec, direction)
    for c, o in ((8, 8), (16, 16)):  # the direct weight gradient wins below 32
        few = ConvSpec(8, (56, 56), c, (3, 3), o, (1, 1), (1, 1), ((1, 1), (1, 1)))
        assert choose(few, f32) is ALGORITHMS["winograd"], few
        assert choose(few, f32, "grad_input") is ALGORITHMS["winograd"], few
        assert choose(few, f32, "grad_weight") is ALGORITHMS["direct"], few
    for c, o in ((4, 64), (64, 3)):  # the transforms cost what the multiplies save
        few = ConvSpec(4, (28, 28), c, (3, 3), o, (1, 1), (1, 1), ((1, 1), (1, 1)))
        assert choose(few, f32) is ALGORITHMS["direct"], few
    downsample = ConvSpec(16, (56, 56), 64, (3, 3), 128, (2, 2), (1, 1), ((1, 1), (1, 1)))
    assert _winograd.supports(downsample, f32) is None  # by its phases, but not faster
    for direction in DIRECTIONS:
        assert choose(downsample, f32, direction) is ALGORITHMS["direct"], direction


def test_auto_takes_winograd_for_5x5_from_16_channels_and_32_for_the_weight_gradient() -> None:
    f32 = np.dtype(np.float32)
    for n, size, c, o in ((8, (32, 32), 32, 64), (16, (7, 7), 256, 256)):
        layer = ConvSpec(n, size, c, (5, 5), o, (1, 1), (1, 1), ((2, 2), (2, 2)))
        for direction in DIRECTIONS:
            assert choose(layer, f32, direction) is ALGORITHMS["winograd"], (layer, direction)
    sixteen = ConvSpec(8, (32, 32), 16, (5, 5), 16, (1, 1), (1, 1), ((2, 2), (2, 2)))
    assert choose(sixteen, f32, "grad_input") is ALGORITHMS["winograd"]
    assert choose(sixteen, f32, "grad_weight") is ALGORITHMS["direct"]
    few = ConvSpec(8, (32, 32), 4, (5, 5), 32, (1, 1), (1, 1), ((2, 2), (2, 2)))
    assert choose(few, f32) is ALGORITHMS["direct"]
    strided_layer = replace(few, in_channels=64, stride=(2, 2))
    assert choose(strided_layer, f32) is ALGORITHMS["direct"]


def test_an_algorithm_asked_for_what_it_cannot_do_raises() -> None:
    x, w = np.ones((1, 8, 8, 2)), np.ones((7, 7, 2, 3))
    with pytest.raises(NotImplementedError,
                       match=r"conv2d: algorithm='winograd' cannot do this convolution: "
                             r"Winograd needs a 3x3 or 5x5 kernel; got kernel_size=\(7, 7\); "
                             r"use algorithm='auto'"):
        strided.nn.conv2d(x, w, 1, "SAME", algorithm="winograd")
    with pytest.raises(NotImplementedError,
                       match=r"Winograd needs stride 1, or stride 2 for a 3x3 kernel at "
                             r"dilation 1; got stride=\(2, 2\), kernel_size=\(3, 3\), "
                             r"dilation=\(2, 2\)"):
        strided.nn.conv2d(np.ones((1, 9, 9, 2)), np.ones((3, 3, 2, 3)), 2, "SAME",
                          dilations=2, algorithm="winograd")
    with pytest.raises(NotImplementedError, match=r"pointwise needs a 1x1 kernel"):
        strided.nn.conv2d(x, w, 1, "SAME", algorithm="pointwise")
    with pytest.raises(NotImplementedError, match=r"Winograd's fractions are not exact in "
                                                   r"integers; got dtype int64"):
        strided.nn.conv2d(x.astype(int), np.ones((3, 3, 2, 3), int), 1, "SAME",
                          algorithm="winograd")


def test_fft_refuses_a_kernel_spectrum_larger_than_the_workspace() -> None:
    x, w = np.ones((1, 8, 8, 4)), np.ones((3, 3, 4, 4))
    with strided.workspace_limit(1000), pytest.raises(
            NotImplementedError, match=r"conv2d: algorithm='fft' cannot do this convolution: "
                                       r"FFT convolution needs the kernel's spectrum in the "
                                       r"workspace: 23040 bytes for 4 x 4 channels at transform "
                                       r"size \(10, 10\) > workspace limit 1000"):
        strided.nn.conv2d(x, w, 1, "SAME", algorithm="fft")
    assert strided.nn.conv2d(x, w, 1, "SAME", algorithm="fft").shape == (1, 8, 8, 4)


def test_an_unknown_algorithm_is_a_value_error() -> None:
    spec = ConvSpec(1, (5,), 1, (3,), 1, (1,), (1,), ((0, 0),))
    with pytest.raises(ValueError, match=r"op: algorithm must be one of 'auto', 'im2col'.*; "
                                         r"got algorithm='fastest'"):
        resolve("fastest", spec, np.dtype(np.float64), "op")


@pytest.mark.parametrize("name", [name for name in ALGORITHMS if name != "fft"])
def test_a_tiny_workspace_changes_nothing(level: str, name: str) -> None:
    spec = replace(_realistic(name), batch=3)
    x, w, dy = _arrays(spec, seed=4)
    module = ALGORITHMS[name]
    want = _run(module, spec, x, w, dy)
    with strided.workspace_limit(2048):  # far less than one output row needs
        assert module.supports(spec, np.dtype(np.float64)) is None
        got = _run(module, spec, x, w, dy)
    for a, b, what in zip(got, want, DIRECTIONS):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{name} {what}")


# im2col only: the compiled kernels' memory (Winograd's transformed kernel and blocks of
# tiles) is C++'s, which tracemalloc does not see and the workspace cap does not govern
@pytest.mark.parametrize("name", ["im2col"])
def test_scratch_memory_stays_under_the_cap(name: str) -> None:
    spec = ConvSpec(4, (48, 48), 16, (3, 3), 16, (1, 1), (1, 1), ((1, 1), (1, 1)))
    x, w, _ = (a.astype(np.float32) for a in _arrays(spec, seed=5))
    cap = 1 << 20
    full_columns = math.prod(spec.output_shape[:-1]) * 9 * 16 * 4  # 5.3 MiB
    assert full_columns > 4 * cap
    output = math.prod(spec.output_shape) * 4
    padded_input = math.prod((4, 50, 50, 16)) * 4
    with strided.workspace_limit(cap):
        tracemalloc.start()
        y = _core.convolve(x, w, spec, algorithm=name)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= output + padded_input + cap + (1 << 16), peak
    want = _core.convolve(x.astype(np.float64), w.astype(np.float64), spec, algorithm="im2col")
    assert np.linalg.norm(y - want) <= 1e-5 * np.linalg.norm(want)


def test_workspace_limit_checks_its_argument() -> None:
    with pytest.raises(ValueError, match=r"workspace_limit: nbytes must be a positive int; "
                                         r"got nbytes=0"):
        with strided.workspace_limit(0):
            pass
    with pytest.raises(TypeError, match=r"got nbytes=1.5"):
        with strided.workspace_limit(1.5):  # type: ignore[arg-type]
            pass
    assert _workspace.get_workspace_limit() == 256 * 2**20


def test_fft_refuses_a_workspace_its_kernel_spectrum_does_not_fit() -> None:
    """FFT's kernel spectrum cannot be cut into blocks: under a tiny cap it refuses."""
    spec = replace(_realistic("fft"), batch=3)
    assert _fft.supports(spec, np.dtype(np.float64)) is None
    with strided.workspace_limit(2048):
        reason = _fft.supports(spec, np.dtype(np.float64))
    assert reason is not None and reason.endswith("> workspace limit 2048"), reason


@pytest.mark.parametrize(("name", "stride"), [
    (name, stride) for name in ALGORITHMS for stride in (1, 2)
    if ALGORITHMS[name].supports(replace(_realistic(name), stride=(stride, stride)),
                                 np.dtype(np.float64)) is None])
def test_channels_first_views_give_the_same_result(level: str, name: str, stride: int) -> None:
    """An algorithm handed a (N, H, W, C) view of NCHW data (not what ``_core`` passes, which
    is C-contiguous, but what a direct caller may) gives the same result (Winograd claims
    only stride 1)."""
    spec = replace(_realistic(name), stride=(stride, stride))
    module = ALGORITHMS[name]
    arrays = _arrays(spec, seed=6)
    x, _, dy = (np.moveaxis(np.ascontiguousarray(np.moveaxis(a, -1, 1)), 1, -1)
                for a in arrays)
    w = arrays[1]
    assert not x.flags.c_contiguous
    for a, b, what in zip(_run(module, spec, x, w, dy), _oracle(spec, *arrays), DIRECTIONS):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{name} {what}")


_DEPTHWISE = [
    ConvSpec(2, (7, 6), 3, (3, 3), 3, (1, 1), (1, 1), ((1, 1), (1, 1)), 3),
    ConvSpec(2, (9, 8), 4, (3, 2), 4, (2, 1), (1, 2), ((1, 2), (0, 1)), 4),
    ConvSpec(1, (8, 7), 2, (2, 3), 2, (1, 1), (2, 1), ((3, 0), (0, 4)), 2),  # pad > kernel
    ConvSpec(2, (11,), 5, (3,), 5, (1,), (3,), ((2, 1),), 5),
    ConvSpec(1, (5, 4, 6), 2, (2, 2, 3), 2, (1, 2, 1), (1, 1, 2), ((1, 0), (0, 1), (2, 2)), 2),
    # rows wide enough for the sliding tiles of 3 and 5 taps (16 pixels at AVX-512), channel
    # counts that leave partial vectors, a multiplier of 2
    ConvSpec(2, (6, 40), 17, (3, 3), 17, (1, 1), (1, 1), ((1, 1), (1, 1)), 17),
    ConvSpec(1, (7, 37), 33, (5, 5), 66, (1, 1), (1, 1), ((2, 2), (2, 1)), 33),
    ConvSpec(1, (3, 5, 41), 9, (1, 3, 5), 9, (1, 1, 1), (1, 1, 1), ((0, 0), (1, 1), (0, 3)), 9),
]


@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize("spec", _DEPTHWISE, ids=str)
def test_depthwise_shapes(level: str, spec: ConvSpec, channels_first: bool) -> None:
    """Depthwise shapes (padding wider than the kernel, 1-D and 3-D): ``direct``'s kernels in
    float64, and ``im2col``, which computes integers, exactly."""
    x, w, dy = _arrays(spec, seed=3)
    rng = np.random.default_rng(4)
    ints = [rng.integers(-50, 50, a.shape) for a in (x, w, dy)]
    for module, arrays, exact in ((ALGORITHMS["direct"], (x, w, dy), False),
                                  (ALGORITHMS["im2col"], ints, True)):
        wants = _oracle(spec, *[a.astype(np.float64) for a in arrays])
        x_, w_, dy_ = arrays
        if channels_first:  # (N, *S, C) views of contiguous (N, C, *S) arrays
            x_, dy_ = (np.moveaxis(np.ascontiguousarray(np.moveaxis(a, -1, 1)), 1, -1)
                       for a in (x_, dy_))
        for got, want, what in zip(_run(module, spec, x_, w_, dy_), wants, DIRECTIONS):
            if exact:
                np.testing.assert_array_equal(got, np.rint(want).astype(np.int64), what)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=what)


def test_winograd_whole_tiles_float32(level: str) -> None:
    """Outputs of whole 4x4 tiles take the one-product output transform; same accuracy."""
    spec = ConvSpec(2, (16, 12), 64, (3, 3), 48, (1, 1), (1, 1), ((1, 1), (1, 1)))
    f32 = [a.astype(np.float32) for a in _arrays(spec, seed=5)]
    wants = _oracle(spec, *[a.astype(np.float64) for a in f32])
    for got, want, what in zip(_run(_winograd, spec, *f32), wants, DIRECTIONS):
        error = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert error <= 1e-5, f"{what}: relative L2 error {error:.2e}"




#: First layers: few input channels, padding on every side, kw taps of 5 to 21 elements,
#: whose edge tiles copy their rows of taps (forward_tile in csrc/conv.inc).
_FIRST_LAYERS = [
    ConvSpec(3, (28, 28), 1, (5, 5), 16, (2, 2), (1, 1), ((1, 2), (1, 2))),  # the lecture's
    ConvSpec(2, (23, 19), 3, (7, 7), 20, (2, 2), (1, 1), ((3, 3), (2, 4))),
    ConvSpec(2, (9, 7), 7, (3, 3), 5, (1, 1), (2, 1), ((2, 2), (1, 1))),
    ConvSpec(1, (6, 5, 7), 2, (3, 2, 3), 9, (1, 1, 2), (1, 1, 1), ((1, 1), (1, 0), (2, 1))),
    # pixels deep in the padding, where a window's valid taps are empty (found by hypothesis:
    # the row copy wrote outside its row)
    ConvSpec(2, (1, 3), 2, (1, 1), 1, (1, 1), (1, 1), ((0, 0), (0, 2))),
    ConvSpec(2, (4, 3), 3, (3, 3), 5, (1, 1), (1, 1), ((2, 2), (9, 8))),
]


@pytest.mark.parametrize("spec", _FIRST_LAYERS, ids=str)
def test_first_layers_with_padding(level: str, spec: ConvSpec) -> None:
    """``direct`` on few-channel layers whose tiles mix edge and inner pixels, in float64."""
    arrays = _arrays(spec, seed=8)
    for got, want, what in zip(_run(ALGORITHMS["direct"], spec, *arrays), _oracle(spec, *arrays),
                               DIRECTIONS):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=what)
