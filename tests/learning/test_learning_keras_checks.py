"""The Keras face checks what it is given as the other faces do, and reports the user's
arrays: dtypes, shapes, validation data, weights files, argument types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strided import layers, nn
from strided.models import Sequential


def _model() -> Sequential:
    model = Sequential([layers.Input((28, 28, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                        layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("make", [
    lambda x: layers.Conv2D(2, 3)(x),
    lambda x: layers.Dense(2)(x.reshape(1, -1)),
    lambda x: layers.MaxPooling2D()(x),
    lambda x: _model().predict(x[..., :1].repeat(6, 1).repeat(6, 2)[:, :28, :28]),
])
@pytest.mark.parametrize("value", [1 + 1j, "a", object()])
def test_non_real_inputs_give_the_type_error_of_strided_nn(make, value) -> None:
    x = np.full((1, 5, 5, 1), value)
    with pytest.raises(TypeError) as keras_error:
        make(x)
    with pytest.raises(TypeError) as nn_error:
        nn.conv2d(x, np.ones((1, 1, 1, 1)), 1, "VALID")
    tail = "must be an array of real numbers (bool, int, uint or float); got dtype"
    assert tail in str(keras_error.value) and tail in str(nn_error.value)


def test_predict_reports_the_users_shape_and_the_missing_channel_axis() -> None:
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 28, 28, 1\)\. "
                                         r"Received: x\.shape=\(20, 28, 28\); add the channel "
                                         r"axis: x\[\.\.\., None\] has shape \(20, 28, 28, 1\)"):
        _model().predict(np.zeros((20, 28, 28)))


def test_a_layer_reports_the_users_shape() -> None:
    with pytest.raises(ValueError, match=r"Conv2D: expects inputs of rank 4 \(batch first\)\. "
                                         r"Received: inputs\.shape=\(28, 28, 3\); for one "
                                         r"sample add the batch axis \(inputs\[None\]\), for a "
                                         r"batch of grey images such as MNIST's \(N, 28, 28\) "
                                         r"add the channel axis \(inputs\[\.\.\., None\]\)"):
        layers.Conv2D(2, 3)(np.zeros((28, 28, 3)))


@pytest.mark.parametrize(("validation_data", "match"), [
    ((np.zeros((4, 28, 28)), np.zeros(4)),
     r"Received: validation_data\[0\]\.shape=\(4, 28, 28\); add the channel axis"),
    ((np.zeros((4, 28, 28, 1)), np.zeros(3)),
     r"validation_data's x_val and y_val must hold the same number of samples\. Received: "
     r"x_val\.shape=\(4, 28, 28, 1\), y_val\.shape=\(3,\)"),
    ((np.zeros((4, 28, 28, 1)), np.zeros(4), np.ones(4)),
     r"validation_data must be a tuple \(x_val, y_val\) \(strided takes no sample weights\)\. "
     r"Received: a sequence of 3"),
])
def test_bad_validation_data_is_named_before_training(validation_data, match) -> None:
    model = _model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        model.fit(np.zeros((8, 28, 28, 1)), np.zeros(8), epochs=1, verbose=0,
                  validation_data=validation_data)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing trained


@pytest.mark.parametrize("epochs", [-1, 1.5, True])
def test_fit_checks_epochs(epochs) -> None:
    with pytest.raises(ValueError, match=r"Sequential\.fit: epochs must be a non-negative int\. "
                                         rf"Received: epochs={epochs!r}"):
        _model().fit(np.zeros((2, 28, 28, 1)), np.zeros(2), epochs=epochs, verbose=0)


def test_predict_on_nothing_keeps_the_output_shape() -> None:
    y = _model().predict(np.zeros((0, 28, 28, 1)))
    assert y.shape == (0, 3) and y.dtype == np.float32


def test_predict_on_nothing_with_unknown_output_axes_says_so() -> None:
    model = Sequential([layers.Dense(2, input_shape=(None, 3))], name="seq")
    assert model.predict(np.zeros((1, 5, 3))).shape == (1, 5, 2)
    with pytest.raises(ValueError, match=r"Sequential 'seq'\.predict: x has no samples and the "
                                         r"output's shape \(None, None, 2\) has unknown axes"):
        model.predict(np.zeros((0, 5, 3)))


def test_summary_line_length_sets_the_width() -> None:
    for width in (60, 120):
        lines: list[str] = []
        _model().summary(print_fn=lines.append, line_length=width)
        rules = [line for line in lines if line and set(line) <= {"_", "="}]
        assert rules and all(len(line) == width for line in rules)
        assert all(len(line) <= width for line in lines if "params" not in line)
    with pytest.raises(ValueError, match=r"line_length must be an int of at least 30\. "
                                         r"Received: line_length=5"):
        _model().summary(line_length=5)


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: layers.Conv2D(2, (3,)), ValueError,
     r"Conv2D: kernel_size must be a positive int or a sequence of 2 positive ints; "
     r"got kernel_size=\(3,\)"),
    (lambda: layers.Conv2D(2, 3, strides=True), TypeError,
     r"Conv2D: strides must be a positive int .*; got strides=True"),
    (lambda: layers.MaxPooling2D((2,)), ValueError, r"pool_size=\(2,\)"),
    (lambda: nn.conv2d(np.ones((1, 3, 3, 1)), np.ones((1, 1, 1, 1)), True, "VALID"), TypeError,
     r"got strides=True"),
    (lambda: nn.conv1d(np.ones((1, 3, 1)), np.ones((1, 1, 1)), 0, "VALID"), ValueError,
     r"conv1d: strides must be a positive int or a sequence of 1 positive int; got strides=0"),
    (lambda: nn.conv2d(np.ones((1, 3, 3, 1)), np.ones((1, 1, 1, 1)), 1, "VALID", dilations=0),
     ValueError, r"conv2d: dilations must be a positive int .*; got dilations=0"),
])
def test_argument_types_and_lengths(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


def _saved(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("stored", [np.full((2, 3), "a"), np.ones((2, 3)) * 1j,
                                    np.ones((2, 3), bool)])
def test_load_weights_refuses_kernels_that_are_not_real_numbers(tmp_path, stored) -> None:
    model = Sequential([layers.Input((2,)), layers.Dense(3, name="d")])
    path = _saved(tmp_path, format=np.array(1), **{"000/d/kernel": stored,
                                                   "000/d/bias": np.zeros(3)})
    model = Sequential([layers.Input((2,)), layers.Dense(3, name="d")])
    with pytest.raises(ValueError, match=r"Layer 'd' weight 'kernel' must hold real numbers "
                                         rf"\(int or float\)\. Received: dtype {stored.dtype}"):
        model.load_weights(path)


def test_load_weights_refuses_a_complex_format_entry(tmp_path) -> None:
    path = _saved(tmp_path, format=np.array(1 + 2j))
    model = Sequential([layers.Input((2,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"not a strided weights file of format 1\. Received: "
                                         r"format=array\(1\.\+2\.j\)"):
        model.load_weights(path)


def test_save_weights_to_an_unwritable_place_names_the_users_path() -> None:
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(OSError, match=r"^cannot write weights to '/proc/x.npz': ") as error:
        model.save_weights("/proc/x.npz")
    assert ".tmp" not in str(error.value)
