"""Keras 3 on its PyTorch backend as the oracle: the same layer, the same weights, float64.

Keras runs its layers as PyTorch operations, so ``torch.autograd`` of a Keras layer is the
backward pass PyTorch computes (float64), with Keras' own weight layouts.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # no TensorFlow or JAX needed
keras = pytest.importorskip("keras", reason="Keras 3 (the test extra) is the oracle here")
torch = pytest.importorskip("torch", reason="PyTorch is Keras' backend here")
if keras.backend.backend() != "torch":  # pragma: no cover - set by the environment
    pytest.skip(f"these tests run Keras on its torch backend; KERAS_BACKEND="
                f"{keras.backend.backend()!r}", allow_module_level=True)
keras.config.set_floatx("float64")  # every Keras layer made here computes in float64


def copy_weights(klayer: object, layer: object, rng: np.random.Generator) -> None:
    """Give the Keras layer random weights and the strided layer the same, matched by name."""
    for w in klayer.weights:  # type: ignore[attr-defined]
        value = rng.normal(size=tuple(w.shape))
        if "variance" in w.name:
            value = np.abs(value) + 0.5
        w.assign(value)
        layer.params[w.name] = value.astype(layer.params[w.name].dtype)  # type: ignore


def keras_backward(klayer: object, x: object, grad: np.ndarray, training: bool = True
                   ) -> tuple[np.ndarray, object, dict[str, np.ndarray]]:
    """The Keras layer's output and, by torch autograd, d(sum(y * grad))/d(inputs, weights)."""
    many = isinstance(x, list)
    xs = [torch.tensor(a, requires_grad=True) for a in (x if many else [x])]
    y = klayer(xs if many else xs[0], training=training)  # type: ignore[operator]
    weights = [w for w in klayer.trainable_weights]  # type: ignore[attr-defined]
    grads = torch.autograd.grad(y, [*xs, *(w.value for w in weights)],
                                grad_outputs=torch.tensor(grad), allow_unused=True)
    dx = [g.detach().numpy() for g in grads[:len(xs)]]
    dw = {w.name: g.detach().numpy() for w, g in zip(weights, grads[len(xs):])}
    return y.detach().numpy(), (dx if many else dx[0]), dw


def summary_rows(print_summary: object) -> list[tuple[str, ...]]:
    """The cells of each layer's row of a Keras (box-drawn) or strided (plain) summary, with
    a row's wrapped lines joined ("Connected to" entries by ", ")."""
    lines: list[str] = []
    print_summary(lambda s, **kw: lines.extend(s.splitlines()))  # type: ignore[operator]
    rows: list[list[str]] = []
    if any("│" in line for line in lines):
        for line in lines:
            if not line.startswith("│"):
                continue
            cells = [c.strip().rstrip(",") for c in line.strip("│").split("│")]
            if cells[0] and not cells[0].startswith("("):
                rows.append(cells)
            else:
                for i, c in enumerate(cells):
                    if c:
                        rows[-1][i] = f"{rows[-1][i]}{' ' if i == 0 else ', '}{c}"
        return [tuple(r) for r in rows]
    body = lines[lines.index(next(x for x in lines if x.startswith("="))) + 1:]
    for line in body:
        if not line.strip() or line[0] in "=_" or line.split()[0] in (
                "Total", "Trainable", "Non-trainable"):
            continue
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        if line.startswith(" "):
            rows[-1][-1] += ", " + cells[0]
        else:
            rows.append(cells)
    return [tuple(r) for r in rows]
