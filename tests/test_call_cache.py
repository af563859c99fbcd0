"""The two remembered steps of a call (``make_spec``'s spec, ``_core.plan``'s algorithm and
dtypes): a remembered entry is never reused for a call it does not fit, and every error is
raised afresh, word for word."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
import strided
from strided import _core, nn
from strided import functional as F
from strided._algorithms import ALGORITHMS, _levels
from strided._spec import _build_spec, make_spec

_BASE = {"stride": 1, "padding": "same", "dilation": 1, "groups": 1,
         "data_format": "channels_last", "weight_format": "HWIO"}
#: Each changes one argument of ``_BASE`` (with shapes to fit).
_VARIANTS = [
    {}, {"stride": 2}, {"stride": (1, 2)}, {"stride": [2, 1]}, {"padding": "valid"},
    {"padding": 1}, {"padding": ((2, 0), (0, 1))}, {"dilation": 2}, {"dilation": (1, 2)},
    {"groups": 2}, {"data_format": "channels_first"}, {"weight_format": "OIHW"},
    {"padding_mode": "reflect", "padding": 1}, {"padding_mode": "circular", "padding": 2},
]


def _shapes(arguments: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    groups = arguments["groups"]
    x = (2, 9, 10, 4) if arguments["data_format"] == "channels_last" else (2, 4, 9, 10)
    w = (3, 3, 4 // groups, 6) if arguments["weight_format"] == "HWIO" else (6, 4 // groups, 3, 3)
    return x, w


def test_a_remembered_spec_is_the_fresh_one_for_every_variant() -> None:
    """Every variant, after every other, gets exactly the spec that the uncached checks
    build (and so different arguments never share a spec)."""
    for _ in range(2):  # the second round is remembered
        seen = {}
        for variant in _VARIANTS:
            arguments = {**_BASE, **variant}
            x, w = _shapes(arguments)
            spec = make_spec("conv2d", x, w, rank=2, **arguments)
            fresh = _build_spec("conv2d", x, w, 2, arguments["stride"], arguments["padding"],
                                arguments["dilation"], arguments["groups"],
                                arguments.get("padding_mode", "zeros"),
                                arguments["data_format"], arguments["weight_format"], "input",
                                "filters", "stride", "dilation")
            assert spec == fresh, variant
            seen[repr(variant)] = spec
        # only padding=1 is the same convolution as "same" (3x3, stride 1)
        assert seen[repr({})] == seen[repr({"padding": 1})]
        assert len(set(seen.values())) == len(_VARIANTS) - 1


@pytest.mark.parametrize(("value", "error", "message"), [
    (True, TypeError, r"conv2d: stride must be a positive int or a sequence of 2 positive "
                      r"ints; got stride=True"),
    (1.0, TypeError, r"got stride=1\.0"),
    ([1, True], TypeError, r"got stride=\[1, True\]"),
    ((0, 1), ValueError, r"got stride=\(0, 1\)"),
    ([0, 1], ValueError, r"got stride=\[0, 1\]"),
    (np.array([1, 1]), TypeError, r"got stride=array\(\[1, 1\]\)"),
])
def test_a_remembered_valid_call_does_not_hide_an_error(value, error, message) -> None:
    """``stride=1`` and ``(1, 1)`` are remembered first: ``True`` and ``1.0`` (equal to 1,
    with the same hash), a list and a tuple, and an array still get their own message."""
    for stride in (1, (1, 1), [1, 1]):
        make_spec("conv2d", (1, 5, 5, 2), (3, 3, 2, 1), rank=2, stride=stride)
    with pytest.raises(error, match=message):
        make_spec("conv2d", (1, 5, 5, 2), (3, 3, 2, 1), rank=2, stride=value)


def test_numpy_ints_and_other_sequences_give_the_same_spec() -> None:
    want = make_spec("conv2d", (1, 9, 9, 2), (3, 3, 2, 1), rank=2, stride=2)
    assert make_spec("conv2d", (1, 9, 9, 2), (3, 3, 2, 1), rank=2, stride=np.int64(2)) == want
    assert make_spec("conv2d", (1, 9, 9, 2), (3, 3, 2, 1), rank=2, stride=range(2, 3)) == want


def test_a_call_after_a_remembered_one_with_other_arguments_matches_pytorch() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 10))
    w = rng.standard_normal((6, 2, 3, 3))
    for stride, padding, dilation, groups in [(1, 1, 1, 1), (2, 1, 1, 1), (1, 0, 1, 1),
                                             (1, 1, 2, 1), (1, 1, 1, 2), (1, 1, 1, 1)]:
        wg = w if groups == 2 else rng.standard_normal((6, 4, 3, 3))
        y = F.conv2d(x, wg, stride=stride, padding=padding, dilation=dilation, groups=groups)
        want = oracle.conv(x, wg, None, stride, [(padding, padding)] * 2, dilation, groups)
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


def test_the_dtypes_are_planned_per_call() -> None:
    """The same convolution in float32, int64, float64 and float16: each its own dtype."""
    x = np.arange(2 * 6 * 6 * 3).reshape(2, 6, 6, 3) % 7
    w = np.arange(3 * 3 * 3 * 4).reshape(3, 3, 3, 4) % 5 - 2
    want = nn.conv2d(x.astype(np.float64), w.astype(np.float64), 1, "SAME")
    for dtype, result in [(np.float32, np.float32), (np.int64, np.int64), (np.int8, np.int64),
                          (np.float64, np.float64), (np.float16, np.float16)]:
        y = nn.conv2d(x.astype(dtype), w.astype(dtype), 1, "SAME")
        assert y.dtype == result
        np.testing.assert_allclose(y.astype(np.float64), want, rtol=1e-3)
    y = nn.conv2d(x.astype(np.int64), w.astype(np.float32), 1, "SAME")  # mixed: float64
    assert y.dtype == np.float64 and np.array_equal(y, want)


def test_a_changed_workspace_limit_is_planned_again() -> None:
    """FFT's spectrum must fit the workspace: fine under the default limit (remembered),
    refused under a small one, then fine again; "auto" moves off FFT as well."""
    x, w = np.ones((1, 8, 8, 4)), np.ones((3, 3, 4, 4))
    assert nn.conv2d(x, w, 1, "SAME", algorithm="fft").shape == (1, 8, 8, 4)
    with strided.workspace_limit(1000), pytest.raises(
            NotImplementedError, match=r"conv2d: algorithm='fft' cannot do this convolution: "
                                       r"FFT convolution needs the kernel's spectrum"):
        nn.conv2d(x, w, 1, "SAME", algorithm="fft")
    assert nn.conv2d(x, w, 1, "SAME", algorithm="fft").shape == (1, 8, 8, 4)
    plane = make_spec("conv2d", (1, 64, 64, 1), (24, 24, 1, 1), rank=2)
    f32 = np.dtype(np.float32)
    assert _core.plan(plane, f32, f32, "auto", "conv2d").method is ALGORITHMS["fft"]
    with strided.workspace_limit(1000):
        assert _core.plan(plane, f32, f32, "auto", "conv2d").method is ALGORITHMS["direct"]
    assert _core.plan(plane, f32, f32, "auto", "conv2d").method is ALGORITHMS["fft"]


def test_a_changed_kernel_level_is_planned_again() -> None:
    """The level is part of the plan's key: another level is a new entry (one op name for
    all, used by no other test), and its results are the same convolution."""
    spec = make_spec("conv2d", (1, 7, 7, 3), (3, 3, 3, 5), rank=2, padding=1)
    f64 = np.dtype(np.float64)
    x = np.random.default_rng(1).standard_normal((1, 7, 7, 3))
    w = np.random.default_rng(2).standard_normal((3, 3, 3, 5))
    want = nn.conv2d(x, w, 1, [[0, 0], [1, 1], [1, 1], [0, 0]])
    for level in _levels.available():
        with _levels.using(level):
            before = _core._remembered_plan.cache_info().misses
            _core.plan(spec, f64, f64, "auto", "level-test")
            _core.plan(spec, f64, f64, "auto", "level-test")
            assert _core._remembered_plan.cache_info().misses == before + 1
            np.testing.assert_allclose(nn.conv2d(x, w, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]),
                                       want, rtol=1e-13, atol=1e-13)
    hits = _core._remembered_plan.cache_info().hits
    _core.plan(spec, f64, f64, "auto", "level-test")
    assert _core._remembered_plan.cache_info().hits == hits + 1


def test_an_unknown_algorithm_is_refused_every_time() -> None:
    x, w = np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1))
    for _ in range(2):
        with pytest.raises(ValueError, match=r"conv2d: algorithm must be one of 'auto', "
                                             r"'im2col'.*; got algorithm='fastest'"):
            nn.conv2d(x, w, 1, "SAME", algorithm="fastest")
        with pytest.raises(ValueError, match=r"got algorithm=\['direct'\]"):
            nn.conv2d(x, w, 1, "SAME", algorithm=["direct"])  # type: ignore[arg-type]
