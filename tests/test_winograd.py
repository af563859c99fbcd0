"""Winograd's compiled kernels: the transforms against the plain matrix formulas, every
variant F(m, r) at every instruction-set level against PyTorch float64, float32's error at 512
channels, the workspace limit and the kernel a layer keeps.

The matrices are rebuilt here from ``_winograd.POINTS`` by the Cook-Toom construction in
exact fractions, sharing no code with ``csrc/winograd.hpp``, whose constants they check.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strided import _kernels, workspace_limit
from strided._algorithms import _levels, _winograd
from strided._spec import ConvSpec
from strided.layers import Conv2D
from test_algorithms import DIRECTIONS, _arrays, _oracle, specs

VARIANTS = _winograd.VARIANTS


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


def cook_toom(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B^T, G, A^T) of F(m, r) from its points, as object arrays of Fractions.

    A^T[i, l] = p_l^i, G[l, k] = p_l^k / prod_{j != l} (p_l - p_j), the last column of A^T
    and row of G the point at infinity; B^T solves sum_l A^T[i, l] G[l, k] B^T[l, j] =
    [j == i + k] (the identity makes a correlation); each row's sign makes G's first
    non-zero entry positive.
    """
    a = m + r - 1
    points = _winograd.POINTS[a]
    power = lambda p, i: Fraction(1) if i == 0 else p ** i  # noqa: E731 (0^0 = 1)
    a_t = [[power(p, i) for p in points] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = []
    for row, p in enumerate(points):
        scale = Fraction(1)
        for j, q in enumerate(points):
            if j != row:
                scale *= p - q
        g.append([power(p, k) / scale for k in range(r)])
    g.append([Fraction(0)] * (r - 1) + [Fraction(1)])
    system = [[a_t[i][q] * g[q][k] for q in range(a)] for i in range(m) for k in range(r)]
    columns = [_solve(system, [Fraction(int(j == i + k)) for i in range(m) for k in range(r)])
               for j in range(a)]
    b_t = [[columns[j][q] for j in range(a)] for q in range(a)]
    for q in range(a):
        if next(v for v in g[q] if v != 0) < 0:
            g[q], b_t[q] = [-v for v in g[q]], [-v for v in b_t[q]]
    return tuple(np.array(x, dtype=object) for x in (b_t, g, a_t))


@pytest.mark.parametrize(("m", "r"), VARIANTS)
def test_the_matrices_compute_a_correlation_exactly(m: int, r: int) -> None:
    b_t, g, a_t = cook_toom(m, r)
    rng = np.random.default_rng(m)
    d = np.array([Fraction(int(v)) for v in rng.integers(-9, 9, m + r - 1)], dtype=object)
    k = np.array([Fraction(int(v)) for v in rng.integers(-9, 9, r)], dtype=object)
    want = [sum(k[j] * d[i + j] for j in range(r)) for i in range(m)]
    assert list(a_t.dot(g.dot(k) * b_t.dot(d))) == want


@pytest.mark.parametrize("level", _levels.available())
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("m", "r"), VARIANTS)
def test_transforms_equal_the_matrix_formulas(m: int, r: int, dtype, level: str) -> None:
    """Each compiled tile transform against its formula, over 11 channels (a partial vector)."""
    b_t, g, a_t = (x.astype(np.float64) for x in cook_toom(m, r))
    a = m + r - 1
    # kind: (matrix L of Y = L X L^T, side of X)
    kinds = {0: (b_t, a), 1: (g, r), 2: (a_t, a), 3: (a_t.T, m), 4: (g.T, a)}
    rng = np.random.default_rng(7)
    for kind, (matrix, side) in kinds.items():
        src = rng.standard_normal((5, side, side, 11)).astype(dtype)
        dst = np.empty((5, len(matrix), len(matrix), 11), dtype=dtype)
        with _levels.using(level):
            _kernels.winograd_transform(kind, m, r, src, dst)
        want = np.einsum("ik,nklc,jl->nijc", matrix, src.astype(np.float64), matrix)
        tol = 1e-13 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(dst, want, rtol=tol, atol=tol * np.abs(want).max(),
                                   err_msg=f"F({m}, {r}) transform {kind}")


@pytest.mark.parametrize("level", _levels.available())
@settings(max_examples=30, deadline=None)
@given(spec=specs("winograd"), data=st.data())
def test_every_variant_matches_the_oracle(spec: ConvSpec, data, level: str) -> None:
    assert _winograd.supports(spec, np.dtype(np.float64)) is None, spec
    r = 2 if spec.stride == (2, 2) else spec.kernel_size[0]  # stride 2: 2x2 over the phases
    m = data.draw(st.sampled_from([m for m, k in VARIANTS if k == r]))
    x, w, dy = _arrays(spec)
    with _levels.using(level):
        got = (_winograd.forward(x, w, spec, tile=m), _winograd.grad_input(dy, w, spec, tile=m),
               _winograd.grad_weight(x, dy, spec, tile=m))
    for a, b, what in zip(got, _oracle(spec, x, w, dy), DIRECTIONS):
        assert a.shape == b.shape, what
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"F({m}, {r}) {what}")


def test_bias_and_relu_are_fused_into_the_output_transform() -> None:
    for r in (3, 5, 2):  # 2: stride 2, by phases
        spec = ConvSpec(2, (9, 7), 5, (r, r), 11, (1, 1), (1, 2), ((2, 1), (0, 5)))
        if r == 2:
            spec = ConvSpec(2, (9, 8), 5, (3, 3), 11, (2, 2), (1, 1), ((1, 0), (2, 1)))
        x, w, dy = _arrays(spec, seed=8)
        bias = np.random.default_rng(9).standard_normal(11)
        want = np.maximum(_oracle(spec, x, w, dy)[0] + bias, 0)
        for level in _levels.available():
            with _levels.using(level):
                for m in (m for m, k in VARIANTS if k == r):
                    got = _winograd.forward(x, w, spec, bias=bias, relu=True, tile=m)
                    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9,
                                               err_msg=f"{level} F({m}, {r})")


@pytest.mark.parametrize("r", [3, 5, 2])
def test_float32_error_within_1e5_at_512_channels(r: int) -> None:
    """Every variant and pass, float32 against float64 on the same (rounded) inputs, within
    1e-5 and within 1.2x of the error ``ERROR_AT_512`` states (r = 2: a stride-2 3x3 layer,
    whose phases make 2048 channels)."""
    if r == 2:
        spec = ConvSpec(1, (24, 24), 512, (3, 3), 512, (2, 2), (1, 1), ((1, 1), (1, 1)))
    else:
        spec = ConvSpec(1, (12, 12), 512, (r, r), 512, (1, 1), (1, 1), ((r // 2,) * 2,) * 2)
    f32 = [a.astype(np.float32) for a in _arrays(spec, seed=10)]
    wants = _oracle(spec, *[a.astype(np.float64) for a in f32])
    x, w, dy = f32
    for m in (m for m, k in VARIANTS if k == r):
        got = (_winograd.forward(x, w, spec, tile=m), _winograd.grad_input(dy, w, spec, tile=m),
               _winograd.grad_weight(x, dy, spec, tile=m))
        for a, b, what, stated in zip(got, wants, DIRECTIONS, _winograd.ERROR_AT_512[m, r]):
            assert a.dtype == np.float32
            error = np.linalg.norm(a - b) / np.linalg.norm(b)
            assert error <= min(1e-5, 1.2 * stated), \
                f"F({m}, {r}) {what}: relative L2 error {error:.2e} (stated {stated:.1e})"


def test_tile_size_takes_the_least_modelled_cost() -> None:
    """(m + 2)^2 * (tiles + KERNEL_TILES[3]), with KERNEL_TILES[3] = 256."""
    assert _winograd.KERNEL_TILES[3] == 256
    assert _winograd.tile_size((2, 2)) == 2  # one tile each: 16 products against 36
    assert _winograd.tile_size((56, 56), batch=16) == 6  # 64 * 1856 against 36 * 3392
    assert _winograd.tile_size((28, 28), batch=16) == 4  # 36 * 1040 against 64 * 656
    assert _winograd.tile_size((7, 7), batch=16) == 2  # 16 * 512 against 36 * 320
    # two phases of one 6-tile in each dimension: 64 * 512 against 16 * 2560 for F(2x2)
    assert _winograd.tile_size((12, 12), (2, 2), batch=64) == 6


def test_tile_size_of_a_5x5_kernel() -> None:
    """(m + 4)^2 * (tiles + KERNEL_TILES[5]) over m = 2, 4, with KERNEL_TILES[5] = 64."""
    assert _winograd.KERNEL_TILES[5] == 64
    assert _winograd.tile_size((2, 2), kernel=5) == 2  # 36 * 65 against 64 * 65
    assert _winograd.tile_size((7, 7), batch=16, kernel=5) == 4  # 64 * 128 against 36 * 320


def test_the_kernels_check_their_geometry() -> None:
    spec = ConvSpec(1, (5, 5), 2, (3, 3), 2, (1, 1), (1, 1), ((1, 1), (1, 1)))
    x, w, _ = _arrays(spec)
    with pytest.raises(ValueError, match=r"_kernels: Winograd tiles are 2, 4 or 6 for 3x3 "
                                         r"kernels, 2 or 4 for 5x5"):
        _winograd.forward(x, w, spec, tile=3)
    spec5 = ConvSpec(1, (6, 6), 2, (5, 5), 2, (1, 1), (1, 1), ((2, 2), (2, 2)))
    x5, w5, _ = _arrays(spec5)
    with pytest.raises(ValueError, match=r"Winograd tiles are 2, 4 or 6 for 3x3"):
        _winograd.forward(x5, w5, spec5, tile=6)
    with pytest.raises(ValueError, match=r"winograd_transform needs kind 0 to 4"):
        _kernels.winograd_transform(5, 4, 3, np.zeros((1, 6, 6, 1)), np.zeros((1, 6, 6, 1)))


def test_the_buffers_stay_under_the_workspace_limit(monkeypatch) -> None:
    """Under a small limit the output channels go in groups, each call's U and scratch under
    the limit, with the same result.  The limit is the largest call's need at one block of
    lanes (the smallest group there is), which depends on the level's vector width."""
    spec = ConvSpec(2, (10, 10), 24, (3, 3), 72, (1, 1), (1, 1), ((1, 1), (1, 1)))
    x, w, dy = (a.astype(np.float32) for a in _arrays(spec, seed=11))
    calls: list[tuple[bool, np.ndarray]] = []
    for name, gw in (("winograd_forward", False), ("winograd_grad_weight", True)):
        kernel = getattr(_kernels, name)

        def counted(m, a, b, *rest, kernel=kernel, gw=gw):
            calls.append((gw, rest[-2].copy()))
            return kernel(m, a, b, *rest)
        monkeypatch.setattr(_kernels, name, counted)

    def run() -> list[np.ndarray]:
        return [_winograd.forward(x, w, spec, tile=4), _winograd.grad_input(dy, w, spec, tile=4),
                _winograd.grad_weight(x, dy, spec, tile=4)]

    want = run()
    whole = [(gw, _winograd._needed(4, 4, gw, g), _winograd._plan(4, 4, gw, g)[0], g)
             for gw, g in calls]
    limit = max(_winograd._needed(4, 4, gw, _winograd._with_outputs(g, min(lanes, int(g[3]))))
                for gw, _, lanes, g in whole)
    assert limit < max(need for _, need, _, _ in whole)  # so that some call must be cut
    calls.clear()
    with workspace_limit(limit):
        got = run()
    needs = [_winograd._needed(4, 4, gw, g) for gw, g in calls]
    assert len(needs) > len(whole) and max(needs) <= limit, needs  # cut into groups, each under it
    for a, b, what in zip(got, want, DIRECTIONS):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5, err_msg=what)


def test_a_layer_keeps_the_transformed_kernel_until_the_kernel_changes(monkeypatch) -> None:
    """Inference transforms the kernel once; changing it in place or assigning a new one is
    seen at the next call (never a stale result); training keeps nothing."""
    made: list[int] = []
    weights = _winograd._weights

    def counted(m, w, geometry):
        made.append(m)
        return weights(m, w, geometry)
    monkeypatch.setattr(_winograd, "_weights", counted)
    layer = Conv2D(8, 3, padding="same", algorithm="winograd", input_shape=(9, 9, 6))
    x = np.random.default_rng(12).standard_normal((2, 9, 9, 6)).astype(np.float32)
    first = layer(x)
    np.testing.assert_array_equal(layer(x), first)
    assert len(made) == 1
    layer.params["kernel"][1, 1, 0, 0] += 1.0  # in place, as the optimizers do
    changed = layer(x)
    fresh = Conv2D(8, 3, padding="same", algorithm="winograd", input_shape=(9, 9, 6))
    fresh.set_weights(layer.get_weights())
    np.testing.assert_array_equal(changed, fresh(x))
    assert not np.array_equal(changed, first) and len(made) == 3
    layer.params["kernel"][1, 1, 0, 0] = 0.0
    layer(x)
    layer.params["kernel"][1, 1, 0, 0] = -0.0  # equal as numbers, but not the same kernel
    layer(x)
    layer.set_weights(fresh.get_weights())  # assigned
    np.testing.assert_array_equal(layer(x), fresh(x))
    assert len(made) == 6
    layer(x, training=True)
    layer(x, training=True)
    assert len(made) == 8  # each training call transforms the kernel afresh


def test_a_transformed_kernel_above_the_kept_size_is_not_kept(monkeypatch) -> None:
    made: list[int] = []
    weights = _winograd._weights

    def counted(m, w, geometry):
        made.append(m)
        return weights(m, w, geometry)
    monkeypatch.setattr(_winograd, "_weights", counted)
    monkeypatch.setattr(_winograd, "KEPT_BYTES", 1000)  # under this layer's U (2 KiB at least)
    layer = Conv2D(8, 3, padding="same", algorithm="winograd", input_shape=(9, 9, 4))
    x = np.random.default_rng(13).standard_normal((1, 9, 9, 4)).astype(np.float32)
    np.testing.assert_array_equal(layer(x), layer(x))
    assert len(made) == 2


def test_a_stride_2_layer_takes_its_phases_image_by_image_under_a_small_limit() -> None:
    spec = ConvSpec(3, (11, 10), 6, (3, 3), 9, (2, 2), (1, 1), ((1, 1), (0, 1)))
    x, w, dy = _arrays(spec, seed=14)
    wants = _oracle(spec, x, w, dy)
    groups = _winograd._image_groups(3, 4 * 6 * 5 * 6 * 8)
    with workspace_limit(4000):  # under two images' phases
        assert _winograd._image_groups(3, 4 * 6 * 5 * 6 * 8) == [slice(0, 1), slice(1, 2),
                                                                 slice(2, 3)]
        got = (_winograd.forward(x, w, spec), _winograd.grad_input(dy, w, spec),
               _winograd.grad_weight(x, dy, spec))
    assert groups == [slice(0, 3)]  # all at once under the default limit
    for a, b, what in zip(got, wants, DIRECTIONS):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=what)
