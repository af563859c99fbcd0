"""``strided.workspace_limit`` works as a setter and as a ``with`` block."""

from __future__ import annotations

import strided


def test_workspace_limit_as_a_plain_call_sets_the_limit() -> None:
    previous = strided.get_workspace_limit()
    try:
        strided.workspace_limit(64 << 20)
        assert strided.get_workspace_limit() == 64 << 20
        with strided.workspace_limit(4096) as limit:
            assert limit == 4096 == strided.get_workspace_limit()
        assert strided.get_workspace_limit() == 64 << 20
    finally:
        strided.workspace_limit(previous)
    assert strided.get_workspace_limit() == previous
