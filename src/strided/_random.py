"""The random generator that layers draw their initial weights from when given no seed."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Make weight initialisation (and anything else drawing from ``generator()``) repeatable.

    As ``keras.utils.set_random_seed``: call it once before building a model.

    Raises
    ------
    TypeError, ValueError
        Unless ``seed`` is a non-negative int.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_random_seed: seed must be a non-negative int; got seed={seed!r}")
    if seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative int; got seed={seed!r}")
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The shared generator seeded by ``set_random_seed``."""
    return _generator
