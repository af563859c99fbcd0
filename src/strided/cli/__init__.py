"""The ``strided`` command line: one group, one module per sub-command."""

from ._main import cli, main

__all__ = ["cli", "main"]
