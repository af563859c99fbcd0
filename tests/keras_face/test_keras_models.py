"""Model features against Keras 3: the functional summary, weights properties, freezing,
``pop``, the ``*_on_batch`` steps, ``fit`` with sample and class weights and regularizers,
configs and weights files."""

from __future__ import annotations

import numpy as np
import pytest
from keras_oracle import keras, summary_rows

from strided import Input, Model, Sequential, layers, optimizers

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _graph(L, Input):
    x = Input((6, 6, 2), name="x")
    h = L.Conv2D(3, 3, padding="same", name="c1")(x)
    shared = L.Conv2D(3, 1, name="sh")
    a, b = shared(h), shared(L.ReLU(name="r")(h))
    y = L.Add(name="add")([a, b, h])
    y = L.Concatenate(name="cat")([y, L.MaxPooling2D(1, name="mp")(h)])
    y = L.Flatten(name="fl")(y)  # (a long class name would be cut in Keras' table)
    return x, L.Dense(2, name="out")(y)


def _pair():
    ours = Model(*_graph(layers, Input), name="f")
    theirs = keras.Model(*_graph(keras.layers, keras.Input), name="f")
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def test_functional_summary_with_connected_to_matches_keras() -> None:
    ours, theirs = _pair()
    expected = summary_rows(lambda p: theirs.summary(print_fn=p))
    assert summary_rows(lambda p: ours.summary(print_fn=p)) == expected
    assert ("sh (Conv2D)", "(None, 6, 6, 3)", "12", "c1[0][0], r[0][0]") in expected
    assert ours.count_params() == theirs.count_params()


def test_functional_model_predicts_and_has_keras_weights() -> None:
    ours, theirs = _pair()
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2))
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ours.predict_on_batch(x), ours.predict(x))
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]


def test_fit_with_sample_and_class_weights_and_regularizers_matches_keras() -> None:
    def build(L, Input, regularizers):
        x = Input((5,))
        h = L.Dense(4, activation="tanh", kernel_regularizer=regularizers.L2(0.05),
                    bias_regularizer=regularizers.L1(0.01), name="h")(x)
        return x, L.Dense(3, activation="softmax", name="p")(h)

    from strided import regularizers as ours_reg
    ours = Model(*build(layers, Input, ours_reg))
    theirs = keras.Model(*build(keras.layers, keras.Input, keras.regularizers))
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 5)), rng.integers(0, 3, size=12)
    weights = rng.uniform(0.5, 2, size=12)
    classes = {0: 1.0, 1: 2.0, 2: 0.5}
    ours.compile(optimizers.SGD(0.1, momentum=0.5), "sparse_categorical_crossentropy")
    theirs.compile(keras.optimizers.SGD(0.1, momentum=0.5), "sparse_categorical_crossentropy")
    for weighting in ({"sample_weight": weights}, {"class_weight": classes}):
        got = ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, **weighting)
        want = theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, **weighting)
        np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.test_on_batch(x, y), theirs.test_on_batch(x, y), rtol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0, sample_weight=weights),
                               theirs.evaluate(x, y, verbose=0, sample_weight=weights),
                               rtol=1e-5)
    assert len(ours.losses) == 2 and ours.regularization_loss() > 0


def test_class_weight_equals_the_matching_sample_weight() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    results = []
    for kwargs in ({"class_weight": {0: 3.0, 1: 0.5}},
                   {"sample_weight": np.where(y == 0, 3.0, 0.5)}):
        model = Sequential([layers.Input((3,)), layers.Dense(2, kernel_initializer="ones")])
        model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        results.append(model.fit(x, y, batch_size=4, shuffle=False, verbose=0,
                                 **kwargs).history["loss"])
    assert results[0] == results[1]


def test_frozen_layers_keep_their_weights_and_batch_norm_runs_in_inference_mode() -> None:
    model = Sequential([layers.Input((4, 4, 2)), layers.Conv2D(3, 3, name="conv"),
                        layers.BatchNormalization(name="bn"), layers.Flatten(),
                        layers.Dense(2, name="out")])
    keras_model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Conv2D(3, 3),
                                    keras.layers.BatchNormalization(), keras.layers.Flatten(),
                                    keras.layers.Dense(2)])
    for ours, theirs in zip(model.layers[:2], keras_model.layers[:2]):
        ours.trainable = theirs.trainable = False
    assert len(model.trainable_weights) == len(keras_model.trainable_weights) == 2
    assert len(model.non_trainable_weights) == len(keras_model.non_trainable_weights) == 6
    frozen = [w.copy() for layer in model.layers[:2] for w in layer.weights]
    model.compile("sgd", "mse")
    x = np.random.default_rng(3).normal(size=(5, 4, 4, 2))
    model.train_on_batch(x, np.zeros((5, 2)))
    for before, after in zip(frozen, [w for layer in model.layers[:2] for w in layer.weights]):
        np.testing.assert_array_equal(before, after)  # moving statistics too
    model.trainable = False
    assert model.trainable_weights == [] and not model.trainable


def test_pop_and_config_round_trips() -> None:
    model = Sequential([layers.Input((6,)), layers.Dense(4, activation="relu", name="a"),
                        layers.Dropout(0.2, name="d"), layers.Dense(2, name="b")])
    again = Sequential.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    assert model.pop().name == "b"
    assert [layer.name for layer in model.layers] == ["a", "d"]
    model.add(layers.Dense(5, name="c"))
    assert model.output_shapes[-1] == (None, 5)
    functional = Model(*_graph(layers, Input), name="g")
    rebuilt = Model.from_config(functional.get_config())
    assert rebuilt.get_config() == functional.get_config()
    rebuilt.set_weights(functional.get_weights())
    x = np.random.default_rng(4).normal(size=(2, 6, 6, 2))
    np.testing.assert_array_equal(rebuilt.predict(x), functional.predict(x))
    with pytest.raises(TypeError, match=r"Sequential.pop: there are no layers in the model"):
        Sequential().pop()


def test_functional_weights_file_round_trip(tmp_path) -> None:
    model = Model(*_graph(layers, Input))
    path = tmp_path / "f.npz"
    model.save_weights(path)
    other = Model(*_graph(layers, Input))
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_two_input_model_trains() -> None:
    a, b = Input((3,), name="a"), Input((2,), name="b")
    y = layers.Dense(1, name="y")(layers.Concatenate()([a, layers.Dense(3)(b)]))
    model = Model([a, b], y)
    model.compile(optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(5)
    xa, xb = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    target = xa.sum(axis=1, keepdims=True)
    history = model.fit([xa, xb], target, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.predict([xa, xb]).shape == (16, 1)


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: Model(np.zeros(3), layers.Input((3,))), TypeError, r"Model: inputs must be "
     r"symbolic tensors"),
    (lambda: Model(layers.Dense(2)(layers.Input((3,))), layers.Input((3,))), ValueError,
     r"Model: each input must be a tensor made by strided.layers.Input"),
    (lambda: Model(layers.Input((3,), name="i1"),
                   layers.Dense(2)(layers.Input((3,), name="i2"))), ValueError,
     r"Model: graph disconnected: the output depends on input 'i2'"),
    (lambda: Model(*(lambda x: (x, layers.Dense(2, name="z")(layers.Dense(3, name="z")(x))))(
        layers.Input((3,)))), ValueError, r"Model: all layers must have unique names"),
    (lambda: Model(*_graph(layers, Input)).predict(np.zeros((2, 5, 5, 2))), ValueError,
     r"expects inputs of shape \(None, 6, 6, 2\) for input 'x'. Received: x.shape="),
    (lambda: Model(*_graph(layers, Input)).predict([np.zeros((2, 6, 6, 2))] * 2), ValueError,
     r"expects 1 input\(s\). Received: 2 array\(s\)"),
    (lambda: layers.Dense(2)([layers.Input((3,)), layers.Input((3,))]), ValueError,
     r"Dense: expects a single input. Received: 2 input\(s\) as a list"),
    (lambda: _compiled().fit(np.zeros((4, 3)), np.array([0, 1, 2, 0]), class_weight={0: 1.0},
                             verbose=0), ValueError, r"class_weight must give a weight to every "
     r"class in y. Received: no weight for classes \[1, 2\]"),
    (lambda: _compiled().fit(np.zeros((4, 3)), np.zeros(4), sample_weight=np.ones(3),
                             verbose=0), ValueError, r"sample_weight must hold one weight per "
     r"sample, shape \(4,\). Received: sample_weight.shape=\(3,\)"),
    (lambda: _compiled().fit(np.zeros((4, 3)), np.zeros(4), sample_weight=np.ones(4),
                             class_weight={0: 1.0}, verbose=0), ValueError,
     r"You cannot use class_weight and sample_weight at the same time"),
])
def test_model_errors(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


def _compiled() -> Sequential:
    model = Sequential([layers.Input((3,)), layers.Dense(3)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def test_two_output_model_trains_as_keras() -> None:
    def build(L, Input):
        x = Input((4,))
        h = L.Dense(5, activation="tanh", name="h")(x)
        return x, [L.Dense(2, name="a")(h), L.Dense(1, activation="sigmoid", name="b")(h)]

    ours = Model(*build(layers, Input))
    theirs = keras.Model(*build(keras.layers, keras.Input))
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(6)
    x = rng.normal(size=(10, 4))
    ys = [rng.normal(size=(10, 2)), (rng.random((10, 1)) > 0.5).astype(float)]
    ours.compile(optimizers.Adam(0.01), {"a": "mse", "b": "binary_crossentropy"},
                 loss_weights=[1.0, 0.5])
    theirs.compile(keras.optimizers.Adam(0.01), {"a": "mse", "b": "binary_crossentropy"},
                   loss_weights=[1.0, 0.5])
    got = ours.fit(x, ys, batch_size=5, epochs=3, shuffle=False, verbose=0)
    want = theirs.fit(x, ys, batch_size=5, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    for a, b in zip(ours.predict(x), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"compile: loss must name every output \['a', 'b'\]"):
        ours.compile("sgd", {"a": "mse"})
    with pytest.raises(NotImplementedError, match=r"metrics for a model of several outputs"):
        ours.compile("sgd", "mse", metrics=["mae"])


def test_activity_regularizer_trains_as_keras() -> None:
    def build(L, Input, R):
        x = Input((4, 4, 1))
        h = L.Conv2D(2, 3, activation="relu", activity_regularizer=R.L1(0.05), name="c")(x)
        h = L.Flatten(name="f")(h)
        return x, L.Dense(2, activity_regularizer=R.L2(0.1), name="d")(h)

    from strided import regularizers as ours_reg
    ours = Model(*build(layers, Input, ours_reg))
    theirs = keras.Model(*build(keras.layers, keras.Input, keras.regularizers))
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(6, 4, 4, 1)), rng.normal(size=(6, 2))
    ours.compile(optimizers.SGD(0.05), "mse")
    theirs.compile(keras.optimizers.SGD(0.05), "mse")
    got = ours.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0)
    want = theirs.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    config = ours.get_layer("d").get_config()
    assert config["activity_regularizer"] == {"class_name": "L2", "config": {"l2": 0.1}}


def _totals(print_summary) -> list[str]:
    lines: list[str] = []
    print_summary(lambda s, **kw: lines.extend(s.splitlines()))
    return [line.strip() for line in lines if "params:" in line]


def test_summary_totals_and_a_two_output_summary_match_keras() -> None:
    def build(L, Input):  # float64 weights: 8 bytes each in the totals
        f64 = {"dtype": "float64"}
        x = Input((6, 6, 2), name="x", dtype="float64")
        h = L.BatchNormalization(name="bn", **f64)(L.Conv2D(3, 3, name="c", **f64)(x))
        f = L.Flatten(name="f", **f64)(h)
        return x, [L.Dense(2, name="a", **f64)(f), L.Dense(1, name="b", **f64)(f)]

    ours = Model(*build(layers, Input), name="two")
    theirs = keras.Model(*build(keras.layers, keras.Input), name="two")
    got = summary_rows(lambda p: ours.summary(print_fn=p))
    want = summary_rows(lambda p: theirs.summary(print_fn=p))
    assert len(got) == len(want)
    for mine, keras_row in zip(got, want):  # Keras cuts long names short with "…"
        assert mine[1:] == keras_row[1:]
        assert mine[0] == keras_row[0] or mine[0].startswith(keras_row[0].rstrip("…"))
    assert _totals(lambda p: ours.summary(print_fn=p)) == _totals(
        lambda p: theirs.summary(print_fn=p))


def test_constraints_and_frozen_layers_train_as_keras() -> None:
    def build(L, Input, C):
        x = Input((5,))
        h = L.Dense(4, activation="relu", kernel_constraint=C.MaxNorm(0.5), name="h")(x)
        h = L.Dense(4, bias_constraint=C.NonNeg(), name="frozen")(h)
        return x, L.Dense(2, name="out")(h)

    from strided import constraints as ours_c
    ours = Model(*build(layers, Input, ours_c))
    theirs = keras.Model(*build(keras.layers, keras.Input, keras.constraints))
    ours.get_layer("frozen").trainable = theirs.get_layer("frozen").trainable = False
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(8, 5)), rng.normal(size=(8, 2))
    ours.compile(optimizers.RMSprop(0.05), "huber")
    theirs.compile(keras.optimizers.RMSprop(0.05), "huber")
    got = ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    want = theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(ours.get_layer("h").params["kernel"], axis=0).max() <= 0.5 + 1e-6
