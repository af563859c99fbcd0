"""The thread helpers every algorithm splits its work with: coverage, order, nesting, BLAS."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import strided
from strided._runtime import _threads, _workspace
from strided._spec import make_spec


def test_split_runs_every_index_once_and_never_splits_twice() -> None:
    seen = np.zeros(1000, int)
    nested = []

    def work(part: slice) -> None:
        seen[part] += 1
        inner = []
        _threads.split(inner.append, 10, 1 << 30)  # inside a split: one part, here
        nested.append(inner)

    _threads.split(work, len(seen), 1 << 30)
    assert np.all(seen == 1)
    assert len(nested) == min(_threads.get_num_threads(), len(seen))
    assert all(inner == [slice(0, 10)] for inner in nested)


def test_split_keeps_small_work_on_the_calling_thread() -> None:
    names = []
    _threads.split(lambda part: names.append(threading.current_thread().name), 100, 100)
    assert names == [threading.current_thread().name]


def test_each_keeps_small_work_on_the_calling_thread() -> None:
    names = []
    _threads.each(lambda item: names.append(threading.current_thread().name), [1, 2, 3], 100)
    assert names == [threading.current_thread().name] * 3


@pytest.mark.parametrize(("batch", "rows", "per_row", "budget"), [
    (16, 4, 479_000, 48 << 20),  # whole images: 16 = 12 + 4 fitted, 8 + 8 balanced
    (16, 14, 406_000, 48 << 20),  # several images a block
    (1, 14, 406_000, 48 << 20),  # one image: its rows split
    (3, 9, 1 << 20, 4 << 20),  # images larger than a block: rows split, near-equal
    (5, 3, 10, 1 << 30),  # everything fits one block
])
def test_blocks_cover_the_work_once_in_near_equal_blocks_under_the_budget(
        batch: int, rows: int, per_row: int, budget: int) -> None:
    parts = 2
    found = _workspace.blocks(batch, rows, per_row, parts, budget)
    seen = np.zeros((batch, rows), int)
    for images, block_rows in found:
        seen[images, block_rows] += 1
    assert np.all(seen == 1)
    sizes = [(b.stop - b.start) * (r.stop - r.start) for b, r in found]
    assert max(sizes) * per_row <= max(budget // parts, per_row)
    if batch * rows >= parts:
        assert len(found) >= parts
    if batch >= len(found):  # whole images: every thread's share within one image
        assert max(sizes) - min(sizes) <= rows


def test_each_returns_results_in_order_and_uses_the_calling_thread() -> None:
    names = set()

    def work(item: int) -> int:
        names.add(threading.current_thread().name)
        return item * item

    items = list(range(37))
    assert _threads.each(work, items) == [i * i for i in items]
    assert threading.current_thread().name in names
    assert len(names) == min(_threads.get_num_threads(), len(items))


def test_each_raises_what_a_part_raises() -> None:
    def work(item: int) -> int:
        if item == 5:
            raise ValueError("item 5")
        return item

    with pytest.raises(ValueError, match="item 5"):
        _threads.each(work, list(range(8)))


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (700, 300)])
def test_product_is_the_matrix_product(shape) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    b = rng.standard_normal((shape[-1], 5))
    np.testing.assert_allclose(_threads.product(a, b), a @ b, rtol=1e-12, atol=1e-12)


def test_contiguous_copies_only_views_that_need_it() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    assert _threads.contiguous(x) is x
    view = np.moveaxis(x, 1, -1)  # a channels-first array seen channels-last
    copy = _threads.contiguous(view)
    assert copy.flags.c_contiguous
    np.testing.assert_array_equal(copy, view)


def test_blas_on_one_thread_restores_the_setting_after_nested_blocks() -> None:
    with _threads.blas_on_one_thread():
        control = _threads._blas_control
    if not control:
        pytest.skip("OpenBLAS' thread control was not found in this NumPy")
    get_threads = control[1]
    before = get_threads()
    with _threads.blas_on_one_thread():
        assert get_threads() == 1
        with _threads.blas_on_one_thread():
            assert get_threads() == 1
        assert get_threads() == 1
    assert get_threads() == before


def test_zero_padded_reuses_its_buffer_with_clean_borders() -> None:
    """The padded copy lives in a reused buffer: a later call must not see an earlier one's
    values in its borders, even where the earlier interior lay."""
    first = make_spec("t", (2, 5, 6, 3), (3, 3, 3, 4), rank=2, padding=((2, 1), (0, 3)))
    second = make_spec("t", (2, 5, 6, 3), (3, 3, 3, 4), rank=2, padding=((1, 2), (3, 0)))
    for spec, value in ((first, 7.0), (second, 5.0), (first, 3.0)):
        x = np.full((2, 5, 6, 3), value)
        padded = _threads.zero_padded(x, spec)
        expected = np.pad(x, [(0, 0), *spec.padding, (0, 0)])
        np.testing.assert_array_equal(padded, expected)


def test_release_workspace_empties_every_threads_buffers() -> None:
    x = np.ones((8, 32, 32, 16))  # large enough for both threads to gather columns
    strided.nn.conv2d(x, np.ones((3, 3, 16, 16)), 1, "SAME", algorithm="im2col")
    used = [store for store in _workspace._stores.values() if store]
    assert len(used) >= _threads.get_num_threads()  # the calling thread's and the pool's
    strided.release_workspace()
    assert all(len(store) == 0 for store in _workspace._stores.values())
    y = strided.nn.conv2d(x, np.ones((3, 3, 16, 16)), 1, "SAME", algorithm="im2col")
    assert y[0, 5, 5, 0] == 9 * 16  # made again when needed


@pytest.mark.parametrize("count", [1, 2, 5, 9])
def test_total_adds_every_items_result_once(count: int) -> None:
    items = list(range(count))
    result = _threads.total(lambda item: np.full(3, 10 ** item, dtype=np.int64), items)
    assert result.tolist() == [sum(10 ** item for item in items)] * 3
