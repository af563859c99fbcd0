"""Shapes and parameter counts, as Keras gives them; ``summary()``'s table."""

from __future__ import annotations

import numpy as np
import pytest

import strided
from strided import layers
from strided.models import Sequential

LAYERS = [
    (lambda: layers.Conv2D(2, 3), (28, 28, 3), (26, 26, 2), 56),  # the Keras article's layer
    (lambda: layers.Conv2D(16, 5, strides=2, padding="same"), (28, 28, 1), (14, 14, 16), 416),
    (lambda: layers.Conv1D(4, 3, padding="causal"), (10, 2), (10, 4), 28),
    (lambda: layers.Conv3D(2, 3), (5, 5, 5, 1), (3, 3, 3, 2), 56),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (8, 8, 3), (6, 6, 6), 60),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, padding="same"), (7, 7, 2), (14, 14, 4), 76),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2), (7, 7, 2), (15, 15, 4), 76),
    (lambda: layers.Dense(10), (784,), (10,), 7850),
    (lambda: layers.MaxPooling2D(), (28, 28, 8), (14, 14, 8), 0),
    (lambda: layers.MaxPooling2D(3, 2, padding="same"), (7, 7, 8), (4, 4, 8), 0),
    (lambda: layers.AveragePooling2D(2), (7, 7, 8), (3, 3, 8), 0),
    (lambda: layers.GlobalAveragePooling2D(), (7, 7, 8), (8,), 0),
    (lambda: layers.Flatten(), (7, 7, 32), (1568,), 0),
    (lambda: layers.Dropout(0.5), (7, 32), (7, 32), 0),
    (lambda: layers.BatchNormalization(), (7, 7, 32), (7, 7, 32), 128),
    (lambda: layers.Activation("softmax"), (10,), (10,), 0),
    (lambda: layers.ReLU(), (3, 3), (3, 3), 0),
    (lambda: layers.RandomTranslation(0.1, 0.1), (28, 28, 1), (28, 28, 1), 0),
]


@pytest.mark.parametrize(("make", "input_shape", "output_shape", "params"), LAYERS)
def test_output_shape_and_keras_parameter_count(make, input_shape, output_shape, params) -> None:
    model = Sequential([layers.Input(input_shape), make()])
    assert model.output_shapes[-1] == (None, *output_shape)
    assert model.count_params() == params
    x = np.random.default_rng(0).normal(size=(2, *input_shape)).astype(np.float32)
    assert model(x, training=True).shape == (2, *output_shape)
    assert model(x).shape == (2, *output_shape)


def test_batch_normalization_splits_trainable_and_non_trainable() -> None:
    layer = layers.BatchNormalization(input_shape=(5, 32))
    assert [w.shape for w in layer.get_weights()] == [(32,)] * 4
    assert list(layer.params) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.count_params() == 128
    assert layer.count_trainable_params() == 64


def _lines(model: Sequential) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return lines


def test_summary_prints_keras_table_and_totals() -> None:
    model = Sequential([
        layers.Input((28, 28, 3)), layers.Conv2D(2, 3, name="conv"),
        layers.BatchNormalization(name="bn"), layers.Flatten(name="flat"),
        layers.Dense(10, name="out"),
    ], name="keras_article")
    text = "\n".join(_lines(model))
    assert text.startswith('Model: "keras_article"')
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "conv (Conv2D)" in text and "(None, 26, 26, 2)" in text
    row = next(line for line in _lines(model) if line.startswith("conv (Conv2D)"))
    assert row.split()[-1] == "56"
    assert "out (Dense)" in text and str(26 * 26 * 2 * 10 + 10) in text
    total = 56 + 8 + 13530
    assert f"Total params: {total:,} " in text
    assert f"Trainable params: {total - 4:,} " in text
    assert "Non-trainable params: 4 (16.00 B)" in text


def test_layers_are_named_like_keras() -> None:
    a, b = layers.MaxPooling2D(), layers.MaxPooling2D()
    assert a.name.startswith("max_pooling2d") and a.name != b.name
    assert layers.Conv2DTranspose(1, 1).name.startswith("conv2d_transpose")


def test_model_builds_lazily_from_first_data() -> None:
    model = Sequential([layers.Conv2D(3, 3), layers.GlobalAveragePooling2D(), layers.Dense(2)])
    assert not model.built
    assert model(np.zeros((1, 6, 6, 1))).shape == (1, 2)
    assert model.count_params() == 30 + 8


def test_add_and_input_as_keras() -> None:
    model = Sequential()
    model.add(layers.Input((4,)))
    model.add(layers.Dense(3))
    assert model.built and model.output_shapes == [(None, 3)]
    model2 = Sequential([layers.Dense(3, input_shape=(4,))])
    assert model2.built and model2.count_params() == 15


def test_package_exports() -> None:
    assert strided.layers.Conv2D is layers.Conv2D
    from strided import losses, metrics, models, optimizers

    assert models.Sequential and optimizers.Adam and losses.MeanSquaredError and metrics.Mean
