"""How much scratch memory an algorithm may use, and splitting work to stay under it."""

from __future__ import annotations

from collections.abc import Iterator

#: Extra memory an algorithm may allocate beyond its inputs and output (bytes).
WORKSPACE_BYTES = 256 * 2**20


def slabs(batch: int, rows: int, bytes_per_row: int, budget: int = WORKSPACE_BYTES
          ) -> Iterator[tuple[slice, slice]]:
    """Split (batch, first output axis) into blocks whose scratch fits ``budget``.

    Whole images are grouped while one fits; a larger image is split by output rows.
    Always yields at least one row per block, whatever the budget.
    """
    per_image = rows * bytes_per_row
    if per_image <= budget:
        step = max(1, budget // max(per_image, 1))
        for start in range(0, batch, step):
            yield slice(start, min(start + step, batch)), slice(0, rows)
        return
    step = max(1, budget // max(bytes_per_row, 1))
    for n in range(batch):
        for start in range(0, rows, step):
            yield slice(n, n + 1), slice(start, min(start + step, rows))
