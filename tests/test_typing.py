"""``mypy src`` reports no errors, with the project's settings (pyproject.toml [tool.mypy])."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api",
                          reason="mypy comes with the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_reports_no_errors_in_src() -> None:
    # cold, mypy also reads the types of the optional libraries (Dask, Zarr, Matplotlib...):
    # ~30 s of CPU; the cache in .mypy_cache/ makes a rerun take a few seconds
    stdout, stderr, status = api.run([
        "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(ROOT / ".mypy_cache"),
        str(ROOT / "src"),
    ])
    assert status == 0, f"mypy src (exit status {status}):\n{stdout}{stderr}"
