"""Keras' callbacks and validation in ``fit``: EarlyStopping, ModelCheckpoint,
LearningRateScheduler, ReduceLROnPlateau, LambdaCallback, validation_split/validation_data in
the History and in the progress line, and their errors."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

from strided import Sequential, callbacks, layers, optimizers
from strided.models import load_model


def tiny_model(learning_rate: float = 0.05) -> Sequential:
    model = Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizers.SGD(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
    return x, y


class Scripted(callbacks.Callback):
    """Replaces each epoch's monitored value by the next of ``values`` and records calls."""

    def __init__(self, key: str, values: list[float]) -> None:
        self.key, self.values, self.calls = key, list(values), []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append("batch")

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.calls.append(f"epoch_end {epoch}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_hooks_run_in_keras_order(data):
    x, y = data
    script = Scripted("loss", [1.0, 0.5])
    model = tiny_model()
    model.fit(x, y, batch_size=45, epochs=2, verbose=0, callbacks=[script])
    assert script.calls == ["train_begin", "epoch_begin 0", "batch", "batch", "epoch_end 0",
                            "epoch_begin 1", "batch", "batch", "epoch_end 1", "train_end"]
    assert script.model is model
    assert model.history.history["loss"] == [1.0, 0.5]  # what callbacks write is kept


def test_early_stopping_stops_after_patience_and_restores_the_best(data):
    x, y = data
    values = [3.0, 1.0, 2.0, 1.5, 0.5, 0.1]
    script = Scripted("val_loss", values)
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    snapshots = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: kept.append(model.get_weights()))
    kept: list = []
    model = tiny_model()
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[script, stop, snapshots])
    # best at epoch 1 (1.0); epochs 2 and 3 are no better: stop after epoch 3
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best_epoch == 1 and stop.best == 1.0
    for now, best in zip(model.get_weights(), kept[1]):
        np.testing.assert_array_equal(now, best)


def test_early_stopping_modes_min_delta_and_baseline(data):
    x, y = data
    up = callbacks.EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.1)
    assert up.mode == "max"
    model = tiny_model()
    history = model.fit(x, y, epochs=5, verbose=0,
                        callbacks=[Scripted("val_accuracy", [0.5, 0.55, 0.9, 0.95, 1.0]), up])
    assert history.epoch == [0, 1]  # 0.55 is not 0.1 better than 0.5
    # as Keras: an epoch that improves on the best but not on the baseline keeps counting
    worse = [0.5, 0.6, 0.7, 0.8, 0.9]
    for baseline, epochs in ((0.1, [0, 1]), (None, [0, 1, 2])):
        stop = callbacks.EarlyStopping(monitor="loss", patience=2, baseline=baseline)
        history = tiny_model().fit(x, y, epochs=5, verbose=0,
                                   callbacks=[Scripted("loss", worse), stop])
        assert history.epoch == epochs


def test_model_checkpoint_best_only_names_files_from_logs(data, tmp_path):
    x, y = data
    path = tmp_path / "ckpt-{epoch:02d}-{val_loss:.1f}.npz"
    script = Scripted("val_loss", [2.0, 3.0, 1.0])
    best = callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    model = tiny_model()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[script, best])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01-2.0.npz", "ckpt-03-1.0.npz"]
    every = callbacks.ModelCheckpoint(tmp_path / "whole.strided")
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.2, callbacks=[every])
    again = load_model(tmp_path / "whole.strided")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_learning_rate_scheduler_and_reduce_on_plateau(data):
    x, y = data
    seen: list[float] = []
    model = tiny_model(0.1)
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    record = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[schedule, record])
    assert seen == [0.1, 0.05, 0.025]
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025]
    by_epoch = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[by_epoch])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    model = tiny_model(1.0)
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2,
                                          min_lr=0.2)
    script = Scripted("loss", [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[script, plateau])
    # no improvement from epoch 1 on: halve, wait out the cooldown, halve, ..., down to 0.2
    assert history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert model.optimizer.learning_rate == 0.2


def test_validation_split_and_data_reach_history_and_the_progress_line(data):
    x, y = data
    model = tiny_model()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = model.fit(x, y, epochs=2, verbose=2, validation_split=0.2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(re.search(r"val_loss: \d\.\d{4} - val_accuracy: \d", line)
                                   for line in lines)
    # the split is the last 20%, before shuffling: validation_data of it gives the same
    expected = model.evaluate(x[72:], y[72:], verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"])
    history = model.fit(x[:72], y[:72], epochs=1, verbose=0, validation_data=(x[72:], y[72:]))
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[72:], y[72:], verbose=0, return_dict=True)["loss"])


def test_monitor_missing_warns_and_is_skipped(data):
    x, y = data
    stop = callbacks.EarlyStopping(patience=0)
    with pytest.warns(RuntimeWarning, match="the logs have no 'val_loss'"):
        history = tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1]


def test_callback_errors(data):
    x, y = data
    with pytest.raises(TypeError, match=r"callbacks must be a list of strided\.callbacks"):
        tiny_model().fit(x, y, verbose=0, callbacks=[lambda: None])
    with pytest.raises(ValueError, match="patience must be a non-negative int"):
        callbacks.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        callbacks.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="factor must be in"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="only save_freq='epoch'"):
        callbacks.ModelCheckpoint("x.npz", save_freq=10)
    with pytest.raises(TypeError, match="schedule must be callable"):
        callbacks.LearningRateScheduler(0.1)
    model = tiny_model()
    with pytest.raises(ValueError, match="must return a finite number"):
        model.fit(x, y, verbose=0,
                  callbacks=[callbacks.LearningRateScheduler(lambda e, lr: float("nan"))])
    with pytest.raises(KeyError, match="names 'val_auc'"):
        model.fit(x, y, verbose=0, callbacks=[callbacks.ModelCheckpoint("{val_auc}.npz")])
    scheduled = Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    scheduled.compile(optimizers.Adam(optimizers.ExponentialDecay(0.1, 10, 0.5)),
                      "sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="the learning rate is a schedule"):
        scheduled.fit(x, y, verbose=0, callbacks=[
            callbacks.LearningRateScheduler(lambda e, lr: 0.1)])
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        model.optimizer.learning_rate = -1.0
