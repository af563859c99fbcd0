"""Winograd's compiled kernels: the transforms against the plain matrix formulas, every tile
size at every instruction-set level against PyTorch float64, and float32's error at 512
channels.

The matrices are rebuilt here from ``_winograd.POINTS`` by the Cook-Toom construction in
exact fractions, sharing no code with ``csrc/winograd.hpp``, whose constants they check.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strided import _kernels
from strided._algorithms import _levels, _winograd
from strided._spec import ConvSpec
from test_algorithms import DIRECTIONS, _arrays, _oracle, specs

TILES = (2, 4, 6)


def _solve(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """The solution of a consistent (possibly overdetermined) system, by exact elimination."""
    augmented = [[*row, b] for row, b in zip(rows, rhs)]
    n, pivots, r = len(rows[0]), [], 0
    for col in range(n):
        p = next((i for i in range(r, len(augmented)) if augmented[i][col] != 0), None)
        if p is None:
            continue
        augmented[r], augmented[p] = augmented[p], augmented[r]
        augmented[r] = [v / augmented[r][col] for v in augmented[r]]
        for i, row in enumerate(augmented):
            if i != r and row[col] != 0:
                augmented[i] = [a - row[col] * b for a, b in zip(row, augmented[r])]
        pivots.append(col)
        r += 1
    assert all(v == 0 for row in augmented[r:] for v in row), "no solution"
    x = [Fraction(0)] * n
    for i, col in enumerate(pivots):
        x[col] = augmented[i][n]
    return x


def cook_toom(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B^T, G, A^T) of F(m, 3) from its points, as object arrays of Fractions.

    A^T[i, l] = p_l^i, G[l, k] = p_l^k / prod_{j != l} (p_l - p_j), the last column of A^T
    and row of G the point at infinity; B^T solves sum_l A^T[i, l] G[l, k] B^T[l, j] =
    [j == i + k] (the identity makes a correlation); each row's sign makes G's first
    non-zero entry positive.
    """
    points, a = _winograd.POINTS[m], m + 2
    power = lambda p, i: Fraction(1) if i == 0 else p ** i  # noqa: E731 (0^0 = 1)
    a_t = [[power(p, i) for p in points] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = []
    for row, p in enumerate(points):
        scale = Fraction(1)
        for j, q in enumerate(points):
            if j != row:
                scale *= p - q
        g.append([power(p, k) / scale for k in range(3)])
    g.append([Fraction(0), Fraction(0), Fraction(1)])
    system = [[a_t[i][r] * g[r][k] for r in range(a)] for i in range(m) for k in range(3)]
    columns = [_solve(system, [Fraction(int(j == i + k)) for i in range(m) for k in range(3)])
               for j in range(a)]
    b_t = [[columns[j][r] for j in range(a)] for r in range(a)]
    for r in range(a):
        if next(v for v in g[r] if v != 0) < 0:
            g[r], b_t[r] = [-v for v in g[r]], [-v for v in b_t[r]]
    return tuple(np.array(x, dtype=object) for x in (b_t, g, a_t))


@pytest.mark.parametrize("m", TILES)
def test_the_matrices_compute_a_correlation_exactly(m: int) -> None:
    b_t, g, a_t = cook_toom(m)
    rng = np.random.default_rng(m)
    d = np.array([Fraction(int(v)) for v in rng.integers(-9, 9, m + 2)], dtype=object)
    k = np.array([Fraction(int(v)) for v in rng.integers(-9, 9, 3)], dtype=object)
    want = [sum(k[j] * d[i + j] for j in range(3)) for i in range(m)]
    assert list(a_t.dot(g.dot(k) * b_t.dot(d))) == want


@pytest.mark.parametrize("level", _levels.available())
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", TILES)
def test_transforms_equal_the_matrix_formulas(m: int, dtype, level: str) -> None:
    """Each compiled tile transform against its formula, over 11 channels (a partial vector)."""
    b_t, g, a_t = (x.astype(np.float64) for x in cook_toom(m))
    a = m + 2
    # kind: (matrix L of Y = L X L^T, side of X)
    kinds = {0: (b_t, a), 1: (g, 3), 2: (a_t, a), 3: (a_t.T, m), 4: (g.T, a)}
    rng = np.random.default_rng(7)
    for kind, (matrix, side) in kinds.items():
        src = rng.standard_normal((5, side, side, 11)).astype(dtype)
        dst = np.empty((5, len(matrix), len(matrix), 11), dtype=dtype)
        with _levels.using(level):
            _kernels.winograd_transform(kind, m, src, dst)
        want = np.einsum("ik,nklc,jl->nijc", matrix, src.astype(np.float64), matrix)
        tol = 1e-13 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(dst, want, rtol=tol, atol=tol * np.abs(want).max(),
                                   err_msg=f"F({m}) transform {kind}")


@pytest.mark.parametrize("level", _levels.available())
@settings(max_examples=20, deadline=None)
@given(spec=specs("winograd"), m=st.sampled_from(TILES))
def test_every_tile_size_matches_the_oracle(spec: ConvSpec, m: int, level: str) -> None:
    assert _winograd.supports(spec, np.dtype(np.float64)) is None, spec
    x, w, dy = _arrays(spec)
    with _levels.using(level):
        got = (_winograd.forward(x, w, spec, tile=m), _winograd.grad_input(dy, w, spec, tile=m),
               _winograd.grad_weight(x, dy, spec, tile=m))
    for a, b, what in zip(got, _oracle(spec, x, w, dy), DIRECTIONS):
        assert a.shape == b.shape, what
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"F({m}) {what}")


def test_bias_and_relu_are_fused_into_the_output_transform() -> None:
    spec = ConvSpec(2, (9, 7), 5, (3, 3), 11, (1, 1), (1, 2), ((2, 1), (0, 3)))
    x, w, dy = _arrays(spec, seed=8)
    bias = np.random.default_rng(9).standard_normal(11)
    want = np.maximum(_oracle(spec, x, w, dy)[0] + bias, 0)
    for level in _levels.available():
        with _levels.using(level):
            for m in TILES:
                got = _winograd.forward(x, w, spec, bias=bias, relu=True, tile=m)
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9,
                                           err_msg=f"{level} F({m})")


def test_float32_error_within_1e5_at_512_channels() -> None:
    """Every tile size and pass, float32 against float64 on the same (rounded) inputs."""
    spec = ConvSpec(1, (12, 12), 512, (3, 3), 512, (1, 1), (1, 1), ((1, 1), (1, 1)))
    f32 = [a.astype(np.float32) for a in _arrays(spec, seed=10)]
    wants = _oracle(spec, *[a.astype(np.float64) for a in f32])
    x, w, dy = f32
    for m in TILES:
        got = (_winograd.forward(x, w, spec, tile=m), _winograd.grad_input(dy, w, spec, tile=m),
               _winograd.grad_weight(x, dy, spec, tile=m))
        for a, b, what in zip(got, wants, DIRECTIONS):
            assert a.dtype == np.float32
            error = np.linalg.norm(a - b) / np.linalg.norm(b)
            assert error <= 1e-5, f"F({m}) {what}: relative L2 error {error:.2e}"


def test_tile_size_takes_the_least_modelled_cost() -> None:
    """(m + 2)^2 * (tiles + KERNEL_TILES), with KERNEL_TILES = 256."""
    assert _winograd.KERNEL_TILES == 256
    assert _winograd.tile_size((2, 2)) == 2  # one tile each: 16 products against 36
    assert _winograd.tile_size((56, 56), batch=16) == 6  # 64 * 1856 against 36 * 3392
    assert _winograd.tile_size((28, 28), batch=16) == 4  # 36 * 1040 against 64 * 656
    assert _winograd.tile_size((7, 7), batch=16) == 2  # 16 * 512 against 36 * 320
    # two phases of one 6-tile in each dimension: 64 * 512 against 16 * 2560 for F(2x2)
    assert _winograd.tile_size((12, 12), (2, 2), batch=64) == 6


def test_the_kernels_check_their_geometry() -> None:
    spec = ConvSpec(1, (5, 5), 2, (3, 3), 2, (1, 1), (1, 1), ((1, 1), (1, 1)))
    x, w, _ = _arrays(spec)
    with pytest.raises(ValueError, match=r"_kernels: Winograd tiles are 2, 4 or 6"):
        _winograd.forward(x, w, spec, tile=3)
    with pytest.raises(ValueError, match=r"winograd_transform needs kind 0 to 4"):
        _kernels.winograd_transform(5, 4, np.zeros((1, 6, 6, 1)), np.zeros((1, 6, 6, 1)))
