"""Optimisers, losses, regularizers and constraints against Keras 3's own, in float64."""

from __future__ import annotations

import numpy as np
import pytest
from keras_oracle import keras, torch

from strided import constraints, losses, optimizers, regularizers

# Keras' variables warn about NumPy 2's __array__(copy=...) protocol: not strided's concern
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

OPTIMIZERS = [
    lambda o: o.SGD(0.1),
    lambda o: o.SGD(0.1, momentum=0.9, nesterov=True),
    lambda o: o.Adam(0.01),
    lambda o: o.AdamW(0.01, weight_decay=0.1),
    lambda o: o.Nadam(0.01),
    lambda o: o.RMSprop(0.01),
    lambda o: o.RMSprop(0.01, momentum=0.5, centered=True),
    lambda o: o.Adagrad(0.1),
    lambda o: o.Adam(0.01, weight_decay=0.05),
]


@pytest.mark.parametrize("make", OPTIMIZERS, ids=lambda m: repr(m(optimizers)))
def test_optimizer_steps_match_keras(make) -> None:
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(5)]
    ours = make(optimizers)
    theirs = make(keras.optimizers)
    weight = start.copy()
    variable = keras.Variable(start.copy(), dtype="float64")
    for g in grads:
        ours.apply({"w": weight}, {"w": g}, key="layer")
        ours.finish_step()
        theirs.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
        np.testing.assert_allclose(weight, variable.numpy(), rtol=1e-12, atol=1e-14)
    assert ours.iterations == int(theirs.iterations.numpy()) == 5


LOSSES = [
    (lambda L: L.MeanSquaredError(), "regression"),
    (lambda L: L.MeanAbsoluteError(), "regression"),
    (lambda L: L.Huber(), "regression"),
    (lambda L: L.Huber(delta=0.3), "regression"),
    (lambda L: L.BinaryCrossentropy(), "probabilities"),
    (lambda L: L.BinaryCrossentropy(from_logits=True), "logits"),
    (lambda L: L.CategoricalCrossentropy(), "distribution"),
    (lambda L: L.CategoricalCrossentropy(from_logits=True), "logits_onehot"),
    (lambda L: L.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
]


def _targets(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = (6, 4)
    if kind == "regression":
        return rng.normal(size=shape), rng.normal(size=shape)
    if kind == "probabilities":
        return (rng.random(shape) > 0.5).astype(float), rng.uniform(0.05, 0.95, shape)
    if kind == "logits":
        return (rng.random(shape) > 0.5).astype(float), rng.normal(size=shape)
    onehot = np.eye(4)[rng.integers(0, 4, 6)]
    if kind == "distribution":
        p = rng.uniform(0.1, 1, shape)
        return onehot, p / p.sum(-1, keepdims=True)
    if kind == "logits_onehot":
        return onehot, rng.normal(size=shape)
    return onehot.argmax(-1), rng.normal(size=shape)


@pytest.mark.parametrize(("make", "kind"), LOSSES, ids=lambda v: repr(v(losses)) if callable(
    v) else v)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_value_and_gradient_match_keras(make, kind, weighted) -> None:
    rng = np.random.default_rng(1)
    y_true, y_pred = _targets(kind, rng)
    weights = rng.uniform(0, 2, size=6) if weighted else None
    ours, theirs = make(losses), make(keras.losses)
    pred = torch.tensor(y_pred, requires_grad=True)
    expected = theirs(torch.tensor(y_true), pred, sample_weight=None if weights is None else
                      torch.tensor(weights))
    expected.backward()
    np.testing.assert_allclose(ours(y_true, y_pred, weights), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(ours.gradient(y_true, y_pred, weights), pred.grad.numpy(),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("make", [lambda R: R.L1(0.03), lambda R: R.L2(0.2),
                                  lambda R: R.L1L2(0.1, 0.3)])
def test_regularizer_matches_keras(make) -> None:
    w = np.random.default_rng(2).normal(size=(3, 3, 2, 4))
    ours, theirs = make(regularizers), make(keras.regularizers)
    wt = torch.tensor(w, requires_grad=True)
    value = theirs(wt)
    value.backward()
    np.testing.assert_allclose(ours(w), value.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.gradient(w), wt.grad.numpy(), rtol=1e-12)
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("make", [
    lambda C: C.NonNeg(), lambda C: C.MaxNorm(1.5, axis=0), lambda C: C.UnitNorm(axis=(0, 1, 2)),
    lambda C: C.MinMaxNorm(0.5, 1.0, rate=0.7, axis=[0, 1, 2])])
def test_constraint_matches_keras(make) -> None:
    w = np.random.default_rng(3).normal(size=(3, 3, 2, 4))
    ours, theirs = make(constraints), make(keras.constraints)
    if isinstance(ours, constraints.NonNeg):  # Keras' torch backend takes maxima in float32
        np.testing.assert_array_equal(ours(w), np.maximum(w, 0))
        np.testing.assert_allclose(ours(w), theirs(torch.tensor(w)).numpy(), rtol=1e-7)
    else:
        np.testing.assert_allclose(ours(w), theirs(torch.tensor(w)).numpy(), rtol=1e-12)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: optimizers.AdamW(weight_decay=-1), r"AdamW: weight_decay must be a non-negative "
     r"number or None. Received: weight_decay=-1"),
    (lambda: optimizers.RMSprop(rho=1.0), r"RMSprop: rho must be in \[0, 1\). Received: "
     r"rho=1.0"),
    (lambda: optimizers.Nadam(beta_1=1.5), r"Nadam: beta_1 must be in \[0, 1\). Received: "
     r"beta_1=1.5"),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-0.1), r"Adagrad: "
     r"initial_accumulator_value must be non-negative"),
    (lambda: optimizers.get("adamax"), r"Unknown optimizer.*Received: optimizer='adamax'"),
    (lambda: losses.Huber(delta=0), r"Huber: delta must be a positive number. Received: "
     r"delta=0"),
    (lambda: losses.get("hinge"), r"Unknown loss.*Received: loss='hinge'"),
    (lambda: losses.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 3)), np.ones(3)),
     r"MeanSquaredError: sample_weight must have the shape of the batch, \(2,\). Received: "
     r"sample_weight.shape=\(3,\)"),
    (lambda: regularizers.L2(-1.0), r"L2: l2 must be a non-negative number. Received: "
     r"l2=-1.0"),
    (lambda: regularizers.get("l3"), r"Unknown regularizer"),
    (lambda: constraints.get("max"), r"Unknown constraint"),
])
def test_training_errors(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_accuracy_follows_the_loss_as_in_keras() -> None:
    from strided import metrics
    rng = np.random.default_rng(4)
    y_true = (rng.random((8, 3)) > 0.5).astype(float)
    y_pred = rng.random((8, 3))
    ours = metrics.get("accuracy", losses.BinaryCrossentropy())
    theirs = keras.metrics.BinaryAccuracy()
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    assert isinstance(ours, metrics.BinaryAccuracy)
    np.testing.assert_allclose(ours.result(), float(theirs.result()), rtol=1e-7)
