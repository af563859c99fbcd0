"""Chunkings to draw for the dask tests, and the comparison with the in-memory result."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def chunking(draw, size: int) -> tuple[int, ...]:
    """Chunk sizes along an axis of ``size``: one chunk, chunks of 1, or drawn sizes."""
    kind = draw(st.sampled_from(["one", "ones", "drawn", "drawn"]))
    if kind == "one":
        return (size,)
    if kind == "ones":
        return (1,) * size
    chunks: list[int] = []
    while sum(chunks) < size:
        chunks.append(draw(st.integers(1, size - sum(chunks))))
    return tuple(chunks)


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Integers bit for bit; floats to the rounding of a product computed in other blocks."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(actual, expected)
