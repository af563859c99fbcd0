"""The compiled kernels' instruction-set level: the best the CPU has, or ``STRIDED_ISA``'s.

``_kernels`` picks the best level at import (AVX-512F, then AVX2 + FMA, then portable);
``STRIDED_ISA=avx2`` (or ``avx512``, ``portable``) in the environment forces a lower one, for
tests and for comparing levels.  A level the CPU lacks is refused with a warning, never run.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

from .. import _kernels

#: Every level this build knows, best first (``available()`` is what this CPU runs).
LEVELS = ("avx512", "avx2", "portable")


def available() -> tuple[str, ...]:
    """The levels this CPU runs, best first."""
    return tuple(_kernels.levels())


def current() -> str:
    """The level the kernels run at.

    Examples
    --------
    >>> import strided
    >>> strided.instruction_set() in ("avx512", "avx2", "portable")
    True
    """
    return str(_kernels.level())


def use(level: str) -> None:
    """Run the kernels at ``level``, one of ``available()``."""
    if level not in available():
        raise ValueError(f"instruction set {level!r} is not available on this CPU; "
                         f"available: {', '.join(available())}")
    _kernels.set_level(level)


@contextlib.contextmanager
def using(level: str) -> Iterator[None]:
    """Within the block, the kernels run at ``level`` (for tests)."""
    saved = current()
    use(level)
    try:
        yield
    finally:
        use(saved)


def _from_environment() -> None:
    wanted = os.environ.get("STRIDED_ISA", "").strip().lower()
    if not wanted:
        return
    if wanted not in available():
        warnings.warn(f"STRIDED_ISA={wanted!r} is not available on this CPU (available: "
                      f"{', '.join(available())}); using {current()!r}", RuntimeWarning,
                      stacklevel=2)
        return
    use(wanted)


_from_environment()
