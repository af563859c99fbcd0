"""The algorithm contract: every algorithm gets C-contiguous canonical arrays, whatever the
caller's layouts and memory order, and the weight transposes that bring PyTorch's there."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
from strided import functional as F
from strided import grad as G
from strided import nn
from strided._algorithms import ALGORITHMS
from strided._algorithms._layout import hwio, oihw, rotated

#: (O, C/g, *K) weights: odd sides, a side of 1 (one transpose is a reshape), 1-D to 3-D, empty
_WEIGHT_SHAPES = [(4, 1, 3, 3), (5, 3, 2, 7), (1, 1, 3), (7, 2, 1, 1), (3, 5, 2, 3, 4),
                  (1, 6, 5, 5), (33, 17, 3, 3), (6, 0, 3, 3), (0, 2, 3)]
_DTYPES = [np.float32, np.float64, np.int64, np.float16, np.int8, np.bool_]


@pytest.mark.parametrize("shape", _WEIGHT_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", _DTYPES, ids=lambda d: np.dtype(d).name)
def test_the_weight_transposes_are_exact_and_contiguous(shape, dtype) -> None:
    w = (np.random.default_rng(len(shape)).random(shape) * 100).astype(dtype)
    want = np.moveaxis(w, (0, 1), (-1, -2))  # (*K, C/g, O)
    for source in (w, w[::-1], np.asfortranarray(w)):  # any strides, negative too
        h = hwio(source)
        expected = np.moveaxis(source, (0, 1), (-1, -2))
        assert h.flags.c_contiguous and h.dtype == w.dtype and h.shape == want.shape
        assert h.tobytes() == np.ascontiguousarray(expected).tobytes()
        back = oihw(expected)  # from a view of any strides
        assert back.flags.c_contiguous and back.shape == w.shape
        assert back.tobytes() == np.ascontiguousarray(source).tobytes()
        assert oihw(h).tobytes() == back.tobytes()


@pytest.mark.parametrize("shape", [(3, 3, 5, 7), (3, 3, 1, 7), (3, 3, 5, 1), (5, 5, 16, 8),
                                   (2, 0, 3), (3, 4, 6), (2, 3, 4, 5, 6)], ids=str)
def test_the_rotated_kernel_is_exact_and_contiguous(shape) -> None:
    w = np.random.default_rng(3).random(shape)
    want = np.swapaxes(w[(slice(None, None, -1),) * (w.ndim - 2)], -1, -2)
    r = rotated(w)
    assert r.flags.c_contiguous and r.shape == want.shape and np.array_equal(r, want)


class _Seen:
    """Records the arrays each algorithm function is handed by the core (not those one
    algorithm hands another inside: im2col's input gradient runs its forward pass on a
    transposed view of a kernel copy of its own)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.arrays: list[tuple[str, np.ndarray]] = []
        self.depth = 0
        for name, module in ALGORITHMS.items():
            for function in ("forward", "grad_input", "grad_weight"):
                monkeypatch.setattr(module, function, self._wrap(
                    f"{name}.{function}", getattr(module, function)))

    def _wrap(self, label, function):
        def recording(a, b, spec, **options):
            if self.depth == 0:
                self.arrays += [(label, a), (label, b)]
            self.depth += 1
            try:
                return function(a, b, spec, **options)
            finally:
                self.depth -= 1
        return recording


#: (algorithm, groups, stride): winograd and FFT do no groups, and winograd strides by phases
_CALLERS = [(name, groups, stride) for name in ALGORITHMS
            for groups, stride in ((1, 1), (2, 1), (1, 2), (4, 1))
            if not (name in ("winograd", "fft") and groups > 1)]


@pytest.mark.parametrize(("name", "groups", "stride"), _CALLERS, ids=str)
def test_every_algorithm_gets_contiguous_arrays_from_any_caller_memory(
        monkeypatch: pytest.MonkeyPatch, name: str, groups: int, stride: int) -> None:
    """Negatively strided, Fortran-ordered and transposed-view inputs and weights in both
    faces: each algorithm function sees C-contiguous canonical arrays only, and the results
    are PyTorch's."""
    k, pad = (1, 0) if name == "pointwise" else (3, 1)
    rng = np.random.default_rng(groups * 10 + stride)
    x = rng.standard_normal((2, 8, 9, 7))[::-1]  # (N, C, H, W) read backwards
    w = np.asfortranarray(rng.standard_normal((12, 8 // groups, k, k)))[:, :, ::-1]
    dy_shape = (2, 12, (9 + 2 * pad - k) // stride + 1, (7 + 2 * pad - k) // stride + 1)
    dy = np.moveaxis(rng.standard_normal((2, *dy_shape[2:], 12)), -1, 1)  # a view
    y_want, dx_want, dw_want, _ = oracle.conv(x.copy(), w.copy(), None, stride,
                                              [(pad, pad)] * 2, 1, groups, grad_output=dy.copy())
    seen = _Seen(monkeypatch)
    y = F.conv2d(x, w, stride=stride, padding=pad, groups=groups, algorithm=name)
    dx = G.conv2d_input(x.shape, w, dy, stride=stride, padding=pad, groups=groups,
                        algorithm=name)
    dw = G.conv2d_weight(x, w.shape, dy, stride=stride, padding=pad, groups=groups,
                         algorithm=name)
    x_last, w_hwio = np.moveaxis(x, 1, -1), np.moveaxis(w, (0, 1), (-1, -2))
    y_last = nn.conv2d(x_last, w_hwio, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]],
                       algorithm=name)
    assert seen.arrays
    for label, array in seen.arrays:
        assert array.flags.c_contiguous, (label, array.shape, array.strides)
    for got, want in ((y, y_want), (dx, dx_want), (dw, dw_want),
                      (np.moveaxis(y_last, -1, 1), y_want)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_the_oihw_weight_gradient_is_a_fresh_contiguous_array() -> None:
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 5))
    dy = np.random.default_rng(1).standard_normal((2, 1, 5, 5))
    for shape in ((1, 6, 3, 3), (1, 6, 1, 1), (1, 1, 1, 1)):
        xs = x[:, :shape[1]]
        pad = shape[-1] // 2
        dw = G.conv2d_weight(xs, shape, dy, padding=pad)
        assert dw.shape == shape and dw.flags.c_contiguous
        assert not np.may_share_memory(dw, xs) and not np.may_share_memory(dw, dy)
        _, _, dw_want, _ = oracle.conv(xs, np.zeros(shape), None, 1, [(pad, pad)] * 2,
                                       grad_output=dy)
        np.testing.assert_allclose(dw, dw_want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("stride", "groups"), [(1, 1), (2, 1), (1, 3), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pointwise_in_pytorchs_layout_makes_no_layout_copy(monkeypatch, stride: int,
                                                           groups: int, dtype) -> None:
    """A 1x1 convolution in the NCHW face runs on the caller's planes: forward, input and
    weight gradient with ``algorithm="pointwise"`` never call the layout copies, and agree
    with PyTorch float64 (bias and groups included)."""
    from strided import _core

    def refuse(*args, **kwargs):
        raise AssertionError("a layout copy was made")

    monkeypatch.setattr(_core, "channels_last", refuse)
    monkeypatch.setattr(_core, "channels_first", refuse)
    rng = np.random.default_rng(stride + 10 * groups)
    x = rng.standard_normal((2, 6, 9, 7))
    w = rng.standard_normal((12, 6 // groups, 1, 1))
    b = rng.standard_normal(12)
    y_ref = oracle.conv(x, w, b, stride, [(0, 0), (0, 0)], 1, groups)
    dy = rng.standard_normal(y_ref.shape)
    _, dx_ref, dw_ref, _ = oracle.conv(x, w, b, stride, [(0, 0), (0, 0)], 1, groups,
                                       grad_output=dy)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    xd, wd, dyd = x.astype(dtype), w.astype(dtype), dy.astype(dtype)
    got = [F.conv2d(xd, wd, b.astype(dtype), stride, 0, 1, groups, algorithm="pointwise"),
           G.conv2d_input(x.shape, wd, dyd, stride, 0, 1, groups, algorithm="pointwise"),
           G.conv2d_weight(xd, w.shape, dyd, stride, 0, 1, groups, algorithm="pointwise")]
    from strided._algorithms import _pointwise
    monkeypatch.setattr(_pointwise, "_TERMS_BYTES", 1)  # one image per stacked product
    got.append(G.conv2d_weight(xd, w.shape, dyd, stride, 0, 1, groups, algorithm="pointwise"))
    for result, want in zip(got, (y_ref, dx_ref, dw_ref, dw_ref)):
        assert result.dtype == dtype
        np.testing.assert_allclose(result, want, rtol=tolerance, atol=tolerance)
