"""Keras 3 in: ``.keras`` and ``.weights.h5`` files give Keras' predictions in strided."""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import strided
from strided import layers as L
from strided.formats import load_keras, load_keras_weights

os.environ.setdefault("KERAS_BACKEND", "torch")  # no TensorFlow or JAX needed
keras = pytest.importorskip("keras", reason="Keras 3 (the test extra) is the oracle here")
pytest.importorskip("h5py", reason="Keras' files are HDF5 (the keras extra)")


@contextlib.contextmanager
def _float32():
    """Keras in float32 within the block, as before it after: floatx and the global dtype
    policy, which Keras caches from floatx on first use (and keras_oracle sets float64)."""
    from keras.src.backend.common import global_state

    floatx, policy = keras.config.floatx(), global_state.get_global_attribute("dtype_policy")
    keras.config.set_floatx("float32")
    global_state.set_global_attribute("dtype_policy", None)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        global_state.set_global_attribute("dtype_policy", policy)


@pytest.fixture(autouse=True)
def float32():
    with _float32():
        yield


def _keras_cnn():
    """TensorFlow's SAME padding at stride 2 on odd and even sizes, batch norm with moving
    statistics, depthwise and separable convolutions, pooling with SAME."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((11, 10, 3)),
        keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        keras.layers.SeparableConv2D(4, 2, padding="same", activation="elu"),
        keras.layers.MaxPooling2D(2, padding="same"),
        keras.layers.AveragePooling2D(2, strides=1, padding="same"),
        keras.layers.Conv2D(5, 3, dilation_rate=2, padding="same"),
        keras.layers.Flatten(), keras.layers.Dropout(0.3),
        keras.layers.Dense(7, activation="softmax")])
    bn = model.layers[1]
    bn.moving_mean.assign(np.linspace(-1, 1, 6))
    bn.moving_variance.assign(np.linspace(0.5, 2, 6))
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    with _float32():
        model = _keras_cnn()
        tmp = tmp_path_factory.mktemp("keras")
        model.save(tmp / "cnn.keras")
        model.save_weights(tmp / "cnn.weights.h5")
        x = np.random.default_rng(0).standard_normal((4, 11, 10, 3)).astype(np.float32)
        expected = np.asarray(model.predict(x, verbose=0))
    return tmp, x, expected, [la.name for la in model.layers]


def test_a_keras_file_gives_keras_predictions(saved) -> None:
    tmp, x, expected, names = saved
    model = strided.load_model(tmp / "cnn.keras")
    assert isinstance(model, strided.Sequential)
    assert [layer.name for layer in model.layers] == names
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_weights_h5_into_the_same_strided_layers(saved) -> None:
    tmp, x, expected, _ = saved
    model = strided.Sequential([
        L.Input((11, 10, 3)), L.Conv2D(6, 3, strides=2, padding="same", activation="relu"),
        L.BatchNormalization(), L.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        L.SeparableConv2D(4, 2, padding="same", activation="elu"),
        L.MaxPooling2D(2, padding="same"), L.AveragePooling2D(2, strides=1, padding="same"),
        L.Conv2D(5, 3, dilation_rate=2, padding="same"), L.Flatten(), L.Dropout(0.3),
        L.Dense(7, activation="softmax")])
    model.load_weights(tmp / "cnn.weights.h5")  # strided's names are not Keras'
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_a_functional_keras_model(tmp_path: Path) -> None:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 2))
    a = keras.layers.Conv2D(3, 3, padding="same")(inputs)
    b = keras.layers.Conv2D(3, 1)(inputs)
    merged = keras.layers.Add()([a, b])
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(merged))
    kmodel = keras.Model(inputs, out)
    x = np.random.default_rng(1).standard_normal((3, 6, 6, 2)).astype(np.float32)
    kmodel.save(tmp_path / "functional.keras")
    model = load_keras(tmp_path / "functional.keras")
    assert isinstance(model, strided.Model) and not isinstance(model, strided.Sequential)
    np.testing.assert_allclose(model.predict(x), kmodel.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_a_mismatch_names_the_layer_and_shapes_and_sets_nothing(saved) -> None:
    tmp, _, _, _ = saved
    model = strided.Sequential([L.Input((11, 10, 3)), L.Conv2D(6, 5, strides=2)])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Keras layer 'conv2d\w*' weight 'kernel' in '.*cnn"
                                         r".weights.h5' has shape \(3, 3, 3, 6\), but strided "
                                         r"layer '\w+' \(Conv2D\), matched at Keras' path "
                                         r"layers/conv2d, has shape \(5, 5, 3, 6\)"):
        model.load_weights(tmp / "cnn.weights.h5")
    small = strided.Sequential([L.Input((11, 10, 3)), L.Conv2D(6, 3, strides=2,
                                                                 padding="same")])
    with pytest.raises(ValueError, match=r"has weights for the layers \['batch_normalization', "
                                         r"'conv2d_1', 'dense', 'depthwise_conv2d', "
                                         r"'separable_conv2d'\], which the strided model does "
                                         r"not have"):
        small.load_weights(tmp / "cnn.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    dense = strided.Sequential([L.Input((3,)), L.Dense(2, name="mine")])
    with pytest.raises(ValueError, match=r"strided layer 'mine' \(Dense\) has no weights named "
                                         r"'nope' by mapping"):
        load_keras_weights(dense, tmp / "cnn.keras", mapping={"mine": "nope"})


def test_layers_strided_lacks_are_named_before_any_work(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.Lambda(lambda t: t * 2),
                              keras.layers.BatchNormalization(renorm=True)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(NotImplementedError, match=r"strided cannot build layer 'lambda\w*' "
                                                  r"\(Lambda\): strided has no layer 'Lambda'; "
                                                  r"layer 'batch_normalization\w*' "
                                                  r"\(BatchNormalization\) uses renorm=True"):
        strided.load_model(tmp_path / "lambda.keras")


def test_damaged_keras_files(tmp_path: Path) -> None:
    (tmp_path / "a.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"Cannot read '.*a.keras': not a valid .keras file"):
        strided.load_model(tmp_path / "a.keras")
    with zipfile.ZipFile(tmp_path / "b.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ValueError, match=r"not config.json and model.weights.h5"):
        strided.load_model(tmp_path / "b.keras")
    (tmp_path / "c.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(40))
    model = strided.Sequential([L.Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match=r"Cannot read Keras weights from '.*c.weights.h5'"):
        model.load_weights(tmp_path / "c.weights.h5")
    with pytest.raises(ValueError, match=r"holds Keras weights only: build the model"):
        strided.load_model(tmp_path / "c.weights.h5")
