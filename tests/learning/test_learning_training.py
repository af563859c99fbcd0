"""Training end to end: optimiser rules, overfitting a tiny batch, learning real digits,
repeatable runs, and the errors of compile / fit."""

from __future__ import annotations

import io

import numpy as np
import pytest

from strided import layers, losses, metrics, optimizers
from strided._random import set_random_seed
from strided.datasets import mnist
from strided.models import Sequential
from strided.models._progress import Progress, resolve_verbose


def _run(optimizer: optimizers.Optimizer, grads: list[float]) -> list[float]:
    w = {"w": np.array([1.0])}
    out = []
    for g in grads:
        optimizer.apply(w, {"w": np.array([g])}, key="layer")
        optimizer.finish_step()
        out.append(float(w["w"][0]))
    return out


def test_sgd_rules_as_keras_writes_them() -> None:
    assert _run(optimizers.SGD(0.1), [1.0, 2.0]) == pytest.approx([0.9, 0.7])
    # v = 0.9 v - 0.1 g;  w += v
    assert _run(optimizers.SGD(0.1, momentum=0.9), [1.0, 1.0]) == pytest.approx([0.9, 0.71])
    # w += 0.9 v - 0.1 g with the new v
    assert _run(optimizers.SGD(0.1, momentum=0.9, nesterov=True), [1.0, 1.0]) == \
        pytest.approx([1 - 0.09 - 0.1, 0.81 - 0.9 * 0.19 - 0.1])


def test_adam_matches_a_plain_transcription() -> None:
    grads = [0.5, -1.0, 2.0]
    w, m, v = 1.0, 0.0, 0.0
    expected = []
    for t, g in enumerate(grads, 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        # Keras: the bias corrections folded into the step, epsilon added to sqrt(v)
        w -= 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-7)
        expected.append(w)
    assert _run(optimizers.Adam(0.01), grads) == pytest.approx(expected, rel=1e-9)


def test_adam_matches_torch_on_a_regression() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    set_random_seed(0)
    model = Sequential([layers.Input((3,)), layers.Dense(2, dtype="float64")])
    # epsilon enters Keras' and PyTorch's rules differently: make it negligible in both
    model.compile(optimizers.Adam(0.05, epsilon=1e-12), "mse")
    kernel, bias = (torch.tensor(w, requires_grad=True) for w in model.get_weights())
    opt = torch.optim.Adam([kernel, bias], lr=0.05, eps=1e-12)
    for _ in range(5):
        model.train_on_batch(x, y)
        opt.zero_grad()
        ((torch.tensor(x) @ kernel + bias - torch.tensor(y)) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose(model.get_weights()[0], kernel.detach().numpy(), rtol=1e-7)
    np.testing.assert_allclose(model.get_weights()[1], bias.detach().numpy(), rtol=1e-7)


def test_learning_rate_schedule() -> None:
    schedule = optimizers.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.SGD(schedule)
    assert _run(opt, [1.0, 1.0, 1.0]) == pytest.approx([0.9, 0.9 - 0.1 * 0.5 ** 0.5, 0.9 -
                                                        0.1 * 0.5 ** 0.5 - 0.05])


def _tiny_cnn() -> Sequential:
    return Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(4, activation="softmax"),
    ])


def test_tiny_network_overfits_tiny_batch() -> None:
    set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((8, 8, 8, 1)).astype(np.float32)
    y = np.arange(8) % 4
    model = _tiny_cnn()
    model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=150, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < 0.05
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy == 1.0 and loss < 0.05


def test_loss_goes_down_on_real_digits() -> None:
    x, y = mnist.load_bundled()
    rng = np.random.default_rng(0)
    pick = rng.choice(len(x), 600, replace=False)
    x = x[pick, :, :, None].astype(np.float32) / 255
    y = y[pick]
    set_random_seed(0)
    model = Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(8, 5, strides=2, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x[:500], y[:500], batch_size=32, epochs=3, verbose=0,
                        validation_data=(x[500:], y[500:]))
    loss = history.history["loss"]
    assert loss[0] > loss[1] > loss[2]
    assert history.history["val_accuracy"][-1] > 0.5  # chance is 0.1
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def _data():
    rng = np.random.default_rng(1)
    return rng.random((40, 8, 8, 1)).astype(np.float32), rng.integers(0, 4, 40)


def test_seed_makes_a_run_repeat() -> None:
    x, y = _data()

    def run() -> list[np.ndarray]:
        set_random_seed(7)
        model = Sequential([layers.Input((8, 8, 1)), layers.RandomTranslation(0.2, 0.2),
                            layers.Flatten(), layers.Dropout(0.5), layers.Dense(4)])
        model.compile(optimizers.SGD(0.1, momentum=0.9), losses.SparseCategoricalCrossentropy(
            from_logits=True))
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=3)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_validation_split_takes_the_end_and_predict_batches() -> None:
    x, y = _data()
    model = _tiny_cnn()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=1, validation_split=0.25, verbose=0, shuffle=False)
    assert {"val_loss", "val_acc"} <= set(history.history)
    expected = model.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"])
    out = model.predict(x, batch_size=7)
    assert out.shape == (40, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)


def test_one_hot_and_mse_losses_train() -> None:
    x, y = _data()
    for loss, target in [("categorical_crossentropy", np.eye(4)[y]), ("mse", np.eye(4)[y])]:
        model = _tiny_cnn()
        model.compile("adam", loss, ["accuracy"])
        history = model.fit(x, target, batch_size=10, epochs=3, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert isinstance(model.metrics[0], metrics.CategoricalAccuracy if loss.startswith(
            "categorical") else metrics.Accuracy)


def test_progress_bar_shows_steps_and_values() -> None:
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()  # a bar is drawn on terminals only
    progress = Progress(3, "Epoch 1/2", 1, stream=stream)
    for _ in range(3):
        progress.update(1, {"loss": 0.5, "accuracy": 0.75})
    progress.close({"loss": 0.5, "accuracy": 0.75})
    text = stream.getvalue()
    assert "Epoch 1/2" in text and "3/3" in text and "loss: 0.5000" in text
    assert "<" in text  # elapsed<remaining


def test_progress_is_quiet_when_asked_and_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    assert resolve_verbose("auto", stream) == 2  # StringIO is not a terminal
    Progress(3, "Epoch 1/1", 0, stream=stream).close({"loss": 1.0})
    assert stream.getvalue() == ""
    Progress(3, "Epoch 1/1", 2, stream=stream).close({"loss": 1.0})
    assert stream.getvalue().startswith("Epoch 1/1: 3/3") and "loss: 1.0000" in stream.getvalue()


def test_fit_prints_nothing_with_verbose_0(capsys) -> None:
    x, y = _data()
    model = _tiny_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_no_input_gradient_below_the_first_weights() -> None:
    """The layers up to the first with weights skip d(loss)/d(input): nothing uses it."""
    set_random_seed(0)
    model = Sequential([layers.Flatten(), layers.Dense(4, activation="relu"),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).random((8, 2, 3)), np.arange(8) % 3
    model.build(x.shape)
    flatten, first, _ = model.layers
    calls = []
    flatten.backward = lambda grad: calls.append(grad)  # type: ignore[method-assign]
    before = first.params["kernel"].copy()
    model.train_on_batch(x, y)
    assert calls == []  # the loop stopped at the first Dense, which returned None
    assert not np.array_equal(first.params["kernel"], before)  # its weights still learned
    assert [layer.compute_input_gradient for layer in model.layers] == [True] * 3  # restored
