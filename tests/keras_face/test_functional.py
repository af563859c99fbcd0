"""The functional API: a branching network with a shared layer, against PyTorch autograd
(float64), and a small ResNet trained a few steps against the same network in PyTorch.

The PyTorch networks are written with ``torch.nn.functional`` from the strided model's weights
(HWIO kernels permuted to OIHW, channels-last data to channels-first).
"""

from __future__ import annotations

import numpy as np
import pytest

from strided import Input, Model, layers, losses, optimizers

torch = pytest.importorskip("torch", reason="PyTorch (the test extra) is the oracle here")
F = torch.nn.functional


def _conv(x, kernel, bias, stride=1, padding="same"):
    """strided's channels-last Conv2D in PyTorch: NHWC in, NHWC out, HWIO kernel; "same" with
    stride 2 pads as TensorFlow (the odd row after: 0 before and 1 after for 8 rows, k=3)."""
    w = kernel.permute(3, 2, 0, 1)
    v = x.permute(0, 3, 1, 2)
    if padding == "same" and stride != 1:
        v, padding = F.pad(v, (0, 1, 0, 1)), 0
    return F.conv2d(v, w, bias, stride=stride, padding=padding).permute(0, 2, 3, 1)


def _branching_model():
    x = Input((6, 6, 3), dtype="float64")
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="stem", dtype="float64")(x)
    shared = layers.Conv2D(4, 3, padding="same", activation="tanh", name="shared",
                           dtype="float64")
    a = shared(h)
    b = shared(layers.Conv2D(4, 1, name="mix", dtype="float64")(h))
    merged = layers.Add(name="add", dtype="float64")([a, b])
    joined = layers.Concatenate(name="cat", dtype="float64")(
        [merged, layers.Multiply(name="mul", dtype="float64")([h, a])])
    pooled = layers.GlobalAveragePooling2D(name="gap", dtype="float64")(joined)
    y = layers.Dense(3, name="out", dtype="float64")(pooled)
    return Model(x, y, name="branching")


def test_branching_model_gradients_match_torch_autograd() -> None:
    model = _branching_model()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
    x = rng.normal(size=(2, 6, 6, 3))
    r = rng.normal(size=(2, 3))
    y = model(x, training=True)
    model._backward(r)

    p = {f"{layer.name}/{k}": torch.tensor(v, requires_grad=True)
         for layer in model.layers for k, v in layer.params.items()}
    xt = torch.tensor(x)
    h = torch.relu(_conv(xt, p["stem/kernel"], p["stem/bias"]))
    a = torch.tanh(_conv(h, p["shared/kernel"], p["shared/bias"]))
    b = torch.tanh(_conv(_conv(h, p["mix/kernel"], p["mix/bias"], padding=0),
                         p["shared/kernel"], p["shared/bias"]))
    joined = torch.cat([a + b, h * a], dim=-1)
    yt = joined.mean(dim=(1, 2)) @ p["out/kernel"] + p["out/bias"]
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    (yt * torch.tensor(r)).sum().backward()
    for layer in model.layers:
        for key in layer.params:
            np.testing.assert_allclose(layer.grads[key], p[f"{layer.name}/{key}"].grad.numpy(),
                                       rtol=1e-10, atol=1e-12, err_msg=f"{layer.name}/{key}")
    # the shared layer's gradient is the sum over its two calls
    assert set(model.get_layer("shared").grads) == {"kernel", "bias"}


def _resnet(seed: int) -> Model:
    f64 = {"dtype": "float64"}

    def block(x, filters, stride, name):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"{name}_c1",
                          **f64)(x)
        y = layers.BatchNormalization(name=f"{name}_b1", **f64)(y)
        y = layers.ReLU(name=f"{name}_r1", **f64)(y)
        y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_c2", **f64)(y)
        y = layers.BatchNormalization(name=f"{name}_b2", **f64)(y)
        if stride != 1 or x.shape[-1] != filters:
            x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_proj", **f64)(x)
        return layers.ReLU(name=f"{name}_r2", **f64)(layers.Add(name=f"{name}_add", **f64)(
            [x, y]))

    x = Input((8, 8, 3), dtype="float64")
    y = layers.Conv2D(4, 3, padding="same", activation="relu", name="stem", **f64)(x)
    y = block(y, 4, 1, "block1")
    y = block(y, 8, 2, "block2")
    y = layers.GlobalAveragePooling2D(name="gap", **f64)(y)
    y = layers.Dense(5, name="logits", **f64)(y)
    model = Model(x, y, name="resnet")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for key, value in layer.params.items():
            if key in ("kernel", "bias"):
                layer.params[key] = rng.normal(size=value.shape) * 0.3
    return model


def _torch_resnet_loss(p, x, labels):
    def bn(v, name):  # training mode: the batch's biased variance, Keras' epsilon
        return F.batch_norm(v.permute(0, 3, 1, 2), None, None, p[f"{name}/gamma"],
                            p[f"{name}/beta"], training=True, eps=1e-3).permute(0, 2, 3, 1)

    def block(v, name, stride, project):
        y = torch.relu(bn(_conv(v, p[f"{name}_c1/kernel"], p[f"{name}_c1/bias"], stride),
                          f"{name}_b1"))
        y = bn(_conv(y, p[f"{name}_c2/kernel"], p[f"{name}_c2/bias"]), f"{name}_b2")
        if project:
            v = _conv(v, p[f"{name}_proj/kernel"], p[f"{name}_proj/bias"], stride, padding=0)
        return torch.relu(v + y)

    h = torch.relu(_conv(x, p["stem/kernel"], p["stem/bias"]))
    h = block(h, "block1", 1, False)
    h = block(h, "block2", 2, True)
    logits = h.mean(dim=(1, 2)) @ p["logits/kernel"] + p["logits/bias"]
    return F.cross_entropy(logits, labels)


def test_resnet_trains_as_in_torch() -> None:
    model = _resnet(seed=1)
    assert model.get_layer("block2_add").inbound_nodes[0].connected_to() == [
        "block2_proj[0][0]", "block2_b2[0][0]"]
    params = {f"{layer.name}/{k}": torch.tensor(v.copy(), requires_grad=True)
              for layer in model.layers for k, v in layer.params.items()
              if k not in ("moving_mean", "moving_variance")}
    model.compile(optimizers.SGD(0.05, momentum=0.9),
                  losses.SparseCategoricalCrossentropy(from_logits=True))
    # torch.optim.SGD's rule (b = 0.9 b + g; w -= 0.05 b), written out: importing
    # torch.optim loads torch._dynamo, seconds of the suite's time
    buffers = {k: torch.zeros_like(v) for k, v in params.items()}
    rng = np.random.default_rng(2)
    ours, theirs = [], []
    for _ in range(4):
        x = rng.normal(size=(6, 8, 8, 3))
        labels = rng.integers(0, 5, size=6)
        ours.append(model.train_on_batch(x, labels))
        loss = _torch_resnet_loss(params, torch.tensor(x), torch.tensor(labels))
        loss.backward()
        with torch.no_grad():
            for key, value in params.items():
                buffers[key].mul_(0.9).add_(value.grad)
                value.sub_(0.05 * buffers[key])
                value.grad = None
        theirs.append(loss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours[0] != ours[-1]
    for layer in model.layers:
        for key, value in layer.params.items():
            if f"{layer.name}/{key}" in params:
                np.testing.assert_allclose(value, params[f"{layer.name}/{key}"].detach().numpy(),
                                           rtol=1e-9, atol=1e-10)
