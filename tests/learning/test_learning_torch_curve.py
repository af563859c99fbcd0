"""A training run in float64 against the same network and optimiser in PyTorch, from the same
weights and batches: the loss of each of the first 20 steps agrees to 1e-6.

The network is the lecture's (``strided train``'s without the augmentation and dropout): the
5x5 stride-2 SAME conv with its ReLU (conv + bias + ReLU in one pass), two 3x3 convs each
followed by BatchNormalization and a ReLU (folded into the normalisation), max pooling, two
dense layers and the softmax cross-entropy; Adam, whose epsilon is set tiny because Keras adds
it to sqrt(v) and PyTorch to sqrt(v / (1 - beta_2^t)).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from strided import Sequential, layers, optimizers

STEPS = 20
BATCH = 32
EPSILON = 1e-12


def strided_network() -> Sequential:
    f64 = {"dtype": "float64"}
    return Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(16, 5, strides=2, padding="same", activation="relu", **f64),
        layers.Conv2D(32, 3, padding="same", **f64),
        layers.BatchNormalization(momentum=0.9, **f64),
        layers.ReLU(**f64),
        layers.MaxPooling2D(**f64),
        layers.Conv2D(64, 3, padding="same", **f64),
        layers.BatchNormalization(momentum=0.9, **f64),
        layers.ReLU(**f64),
        layers.MaxPooling2D(**f64),
        layers.Flatten(**f64),
        layers.Dense(128, activation="relu", **f64),
        layers.Dense(10, activation="softmax", **f64),
    ])


class Channels(nn.Module):
    """NCHW -> NHWC, so that flattening orders features as Keras' Flatten."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1)


def torch_network(model: Sequential) -> nn.Sequential:
    net = nn.Sequential(
        nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(1, 16, 5, stride=2), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64, eps=1e-3), nn.ReLU(),
        nn.MaxPool2d(2),
        Channels(), nn.Flatten(), nn.Linear(576, 128), nn.ReLU(), nn.Linear(128, 10),
    ).double()
    ours = [layer for layer in model.layers if layer.params]
    theirs = [m for m in net if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    with torch.no_grad():
        for layer, module in zip(ours, theirs, strict=True):
            p = layer.params
            if isinstance(module, nn.Conv2d):
                module.weight.copy_(torch.from_numpy(p["kernel"].transpose(3, 2, 0, 1).copy()))
                module.bias.copy_(torch.from_numpy(p["bias"]))
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(torch.from_numpy(p["gamma"]))
                module.bias.copy_(torch.from_numpy(p["beta"]))
            else:
                module.weight.copy_(torch.from_numpy(p["kernel"].T.copy()))
                module.bias.copy_(torch.from_numpy(p["bias"]))
    return net


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_loss_curve_equals_pytorch_for_20_steps(optimizer):
    from strided.datasets import mnist

    images, labels = mnist.load_bundled()
    x = images[:STEPS * BATCH].astype(np.float64)[..., None] / 255
    y = labels[:STEPS * BATCH].astype(np.int64)
    model = strided_network()
    # batch-norm weights away from 1 and 0, so that their gradients are exercised
    rng = np.random.default_rng(3)
    for layer in model.layers:
        for key in ("gamma", "beta"):
            if key in layer.params:
                layer.params[key] += rng.normal(0, 0.1, layer.params[key].shape)
    net = torch_network(model)
    if optimizer == "adam":
        model.compile(optimizers.Adam(1e-3, epsilon=EPSILON),
                      "sparse_categorical_crossentropy")
        torch_optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=EPSILON)
    else:
        model.compile(optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
        torch_optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    ours, theirs = [], []
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        ours.append(model.train_on_batch(x[batch], y[batch]))
        torch_optimizer.zero_grad()
        loss = loss_fn(net(torch.from_numpy(x[batch].transpose(0, 3, 1, 2).copy())),
                       torch.from_numpy(y[batch]))
        loss.backward()
        torch_optimizer.step()
        theirs.append(loss.item())
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert ours[-1] < ours[0] - 0.5  # it learned: the comparison is not of a flat curve
