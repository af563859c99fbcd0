"""The layers the Keras face added, against central finite differences in float64 (Keras'
torch backend computes some of them in float32, so this is their exact check), and the
functional model with layers that need no input gradient."""

from __future__ import annotations

import numpy as np
import pytest

from finite_differences import numeric_gradient
from strided import Input, Model, Sequential, layers, optimizers

F64 = {"dtype": "float64"}


def check_layer(layer: layers.Layer, x: np.ndarray, seed: int = 0, tol: float = 1e-6) -> None:
    rng = np.random.default_rng(seed)
    y = layer(x, training=True)
    r = rng.normal(size=y.shape)
    dx = layer.backward(r)
    grads = {k: g.copy() for k, g in layer.grads.items()}

    def loss() -> float:
        return float(np.sum(layer(x, training=True) * r))

    np.testing.assert_allclose(dx, numeric_gradient(loss, x), rtol=tol, atol=tol)
    for key, grad in grads.items():
        np.testing.assert_allclose(grad, numeric_gradient(loss, layer.params[key]), rtol=tol,
                                   atol=tol, err_msg=key)


CASES = {
    "layer_norm": (lambda: layers.LayerNormalization(
        gamma_initializer="random_normal", beta_initializer="random_normal", **F64), (3, 5)),
    "layer_norm_axes": (lambda: layers.LayerNormalization(axis=(1, 2), **F64), (2, 3, 4)),
    "batch_norm": (lambda: layers.BatchNormalization(gamma_initializer="random_normal", **F64),
                   (4, 3, 3, 2)),
    "prelu": (lambda: layers.PReLU(alpha_initializer="random_normal", shared_axes=[1], **F64),
              (3, 4, 2)),
    "dense_gelu": (lambda: layers.Dense(3, activation="gelu", **F64), (4, 5)),
    "separable_2d": (lambda: layers.SeparableConv2D(3, 3, strides=2, depth_multiplier=2,
                                                    padding="same", **F64), (2, 6, 6, 2)),
    "depthwise_1d": (lambda: layers.DepthwiseConv1D(3, padding="same", **F64), (2, 7, 2)),
    "transpose_3d": (lambda: layers.Conv3DTranspose(2, 2, strides=2, **F64), (1, 2, 2, 2, 2)),
    "transpose_1d": (lambda: layers.Conv1DTranspose(2, 3, strides=2, output_padding=1, **F64),
                     (2, 4, 3)),
    "selu": (lambda: layers.Activation("selu", **F64), (3, 4)),
    "softmax_axis": (lambda: layers.Softmax(axis=1, **F64), (2, 4, 3)),
    "elu": (lambda: layers.ELU(0.5, **F64), (3, 4)),
    "upsampling_3d": (lambda: layers.UpSampling3D((1, 2, 2), **F64), (1, 2, 2, 2, 1)),
    "cropping_2d_cf": (lambda: layers.Cropping2D(((1, 0), (0, 1)), data_format="channels_first",
                                                 **F64), (1, 2, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_gradients_match_finite_differences(name: str) -> None:
    make, shape = CASES[name]
    check_layer(make(), np.random.default_rng(1).normal(size=shape))


def test_functional_model_may_start_with_a_layer_that_has_no_backward() -> None:
    x = Input((8, 8, 1))
    y = layers.RandomTranslation(0.1, 0.1, seed=0)(x)
    y = layers.Conv2D(2, 3, activation="relu")(y)
    y = layers.Dense(2)(layers.GlobalAveragePooling2D()(y))
    model = Model(x, y)
    model.compile(optimizers.SGD(0.1), "mse")
    loss = model.train_on_batch(np.ones((4, 8, 8, 1)), np.zeros((4, 2)))
    assert np.isfinite(loss)


def test_regularization_and_constraints_in_a_training_step() -> None:
    layer = layers.Dense(2, kernel_regularizer="l2", kernel_constraint="non_neg", **F64)
    model = Model(x := Input((3,), dtype="float64"), layer(x))
    model.compile(optimizers.SGD(0.5), "mse")
    rng = np.random.default_rng(0)
    w0 = layer.params["kernel"].copy()
    data, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    loss = model.train_on_batch(data, target)
    residual = data @ w0 + 0 - target
    np.testing.assert_allclose(loss, np.mean(residual ** 2) + 0.01 * np.sum(w0 ** 2))
    expected = w0 - 0.5 * (data.T @ (2 * residual / residual.size) + 0.02 * w0)
    np.testing.assert_allclose(layer.params["kernel"], np.maximum(expected, 0))


@pytest.mark.parametrize("make", [
    lambda: layers.Add(name="a"), lambda: layers.Concatenate(axis=1), lambda: layers.Dropout(0.3),
    lambda: layers.SpatialDropout2D(0.2, data_format="channels_first", seed=4),
    lambda: layers.RandomTranslation(0.1, (-0.2, 0.1), fill_mode="wrap"),
    lambda: layers.Conv2D(2, 3, kernel_regularizer="l1_l2", bias_constraint="non_neg",
                          kernel_initializer="he_normal", activation=np.tanh, trainable=False),
])
def test_config_round_trips(make) -> None:
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config and type(again) is type(layer)


def test_keras_module_names_are_importable() -> None:
    import strided.constraints
    import strided.losses
    import strided.metrics
    import strided.optimizers
    import strided.regularizers
    from strided.models import Functional, Model, Sequential

    assert strided.Model is Model and strided.Sequential is Sequential
    x = Input((2,))
    assert isinstance(Model(x, layers.Dense(1)(x)), Functional)
    assert strided.optimizers.get("nadam") and strided.losses.get("huber")
    assert strided.regularizers.get("l2").l2 == 0.01 and strided.constraints.get("non_neg")
    assert strided.metrics.get("binary_accuracy")


def test_a_model_called_on_a_symbolic_tensor_joins_the_graph_with_its_layers() -> None:
    block = Sequential([layers.Input((4, 4, 2)), layers.Conv2D(2, 3, padding="same"),
                        layers.ReLU()])
    x = Input((4, 4, 2))
    inner = Model(x, layers.Add()([x, block(x)]))
    y = Input((4, 4, 2))
    outer = Model(y, layers.Flatten()(inner(y)))
    data = np.random.default_rng(5).normal(size=(3, 4, 4, 2)).astype(np.float32)
    expected = data + block.predict(data)
    np.testing.assert_allclose(outer.predict(data), expected.reshape(3, -1), rtol=1e-6)
    assert outer.count_params() == block.count_params() == 38
    stacked = Sequential([layers.Input((4, 4, 2)), block, layers.Flatten()])
    assert stacked.layers[0] is block.layers[0] and len(stacked.layers) == 3
    outer.compile(optimizers.SGD(0.01), "mse")
    before = block.layers[0].params["kernel"].copy()
    outer.train_on_batch(data, np.zeros((3, 32)))
    assert not np.array_equal(before, block.layers[0].params["kernel"])  # shared weights


def test_frozen_batch_norm_backward_is_its_inference_affine_map() -> None:
    layer = layers.BatchNormalization(gamma_initializer="random_normal",
                                      moving_mean_initializer="random_normal", **F64)
    layer.build((None, 3, 2))
    layer.trainable = False
    layer.params["moving_variance"][:] = [0.5, 2.0]
    x = np.random.default_rng(6).normal(size=(4, 3, 2))
    check_layer(layer, x)
    assert layer.grads == {}
    np.testing.assert_allclose(layer(x, training=True), layer(x))  # inference statistics


def test_activity_penalty_gradient_matches_finite_differences() -> None:
    layer = layers.Dense(3, activation="tanh", activity_regularizer="l1_l2", **F64)
    rng = np.random.default_rng(8)
    x, r = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    layer(x, training=True)
    dx = layer.backward(r)
    grads = {k: g.copy() for k, g in layer.grads.items()}

    def loss() -> float:
        y = layer(x, training=True)
        return float(np.sum(y * r) + layer.activity_losses[0])

    np.testing.assert_allclose(dx, numeric_gradient(loss, x), rtol=1e-6, atol=1e-6)
    for key, grad in grads.items():
        np.testing.assert_allclose(grad, numeric_gradient(loss, layer.params[key]), rtol=1e-6,
                                   atol=1e-6)
    y = layer(x)
    np.testing.assert_allclose(layer.losses, [0.01 * (np.abs(y).sum() + (y ** 2).sum()) / 4])


def test_save_and_load_model_round_trip(tmp_path) -> None:
    from strided.models import load_model
    x = Input((6, 6, 2))
    h = layers.Conv2D(3, 3, padding="same", activation="gelu", kernel_regularizer="l2")(x)
    h = layers.BatchNormalization()(h)
    y = layers.Dense(2)(layers.Flatten()(layers.Add()([h, layers.Conv2D(3, 1)(x)])))
    models = [Model(x, y, name="residual"),
              Sequential([layers.Input((5,)), layers.Dense(3, activation="relu"),
                          layers.Reshape((3, 1)), layers.ZeroPadding1D((1, 2))])]
    rng = np.random.default_rng(9)
    for model in models:
        path = tmp_path / f"{model.name}.strided"
        model.save(path)
        again = load_model(path)
        assert type(again) is type(model) and json_round(again.get_config()) == json_round(
            model.get_config())
        data = rng.normal(size=(2, *model.layers[0].input_shape[1:])) if isinstance(
            model, Sequential) else rng.normal(size=(2, 6, 6, 2))
        np.testing.assert_array_equal(again.predict(data), model.predict(data))
        again.load_weights(path)  # a model file is also a weights file
    models[1].save_weights(tmp_path / "w.npz")
    with pytest.raises(ValueError, match=r"holds weights only \(written by save_weights\)"):
        load_model(tmp_path / "w.npz")
    with pytest.raises(ValueError, match=r"Sequential.save: the config holds a value JSON "
                                         r"cannot store"):
        Sequential([layers.Input((2,)), layers.Dense(1, activation=np.tanh)]).save(
            tmp_path / "f.strided")


def json_round(config: dict) -> dict:
    import json
    return json.loads(json.dumps(config))
