"""The convolution algorithms and the one rule that chooses among them.

Every algorithm is a module with the same four functions over canonical arrays (see
``strided._spec``; zero padding only, from ``spec.padding``; dtype float32, float64 or int64)::

    supports(spec, dtype) -> str | None      # None, or why the algorithm cannot do it
    forward(x, w, spec) -> y                 # (N, *S, C), (*K, C/g, O) -> (N, *OS, O)
    grad_input(grad_output, w, spec) -> dx   # (N, *OS, O), (*K, C/g, O) -> (N, *S, C)
    grad_weight(x, grad_output, spec) -> dw  # (N, *S, C), (N, *OS, O) -> (*K, C/g, O)
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .._spec import ConvSpec
from . import _im2col

ALGORITHMS: dict[str, ModuleType] = {
    "im2col": _im2col,
}


def choose(spec: ConvSpec, dtype: np.dtype) -> ModuleType:
    """The ``algorithm="auto"`` rule: im2col + GEMM in a bounded workspace does every case."""
    return _im2col


def resolve(algorithm: str, spec: ConvSpec, dtype: np.dtype, op: str) -> ModuleType:
    """The algorithm named ``algorithm`` (or chosen, for "auto"), checked to support ``spec``."""
    if algorithm == "auto":
        return choose(spec, dtype)
    module = ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if module is None:
        names = ", ".join(repr(name) for name in ["auto", *ALGORITHMS])
        raise ValueError(f"{op}: algorithm must be one of {names}; got algorithm={algorithm!r}")
    reason = module.supports(spec, dtype)
    if reason is not None:
        raise NotImplementedError(f"{op}: algorithm={algorithm!r} cannot do this convolution: "
                                  f"{reason}; use algorithm='auto'")
    return module
