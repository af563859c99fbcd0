"""How closely models moved between frameworks agree: the largest absolute difference of the
outputs, float32, for each route of ``strided.formats`` (README, "Models in and out").

    KERAS_BACKEND=torch python benchmarks/formats_agreement.py

Needs the test extra (torch, keras, onnx, onnxruntime, safetensors).  The networks are
randomly initialised with fixed seeds; the inputs are standard normal (MNIST-sized for the
PyTorch example).  Seconds to run.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import onnxruntime
import torch
from safetensors.torch import save_file
from torch import nn

import strided
from strided import layers as L
from strided.formats import from_onnx, from_torch, to_onnx


def mnist_example() -> tuple[nn.Module, strided.Sequential]:
    """PyTorch's MNIST example network (pytorch/examples, mnist/main.py), as nn.Sequential
    (the same modules and order), and the strided model built by hand."""
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128),
                        nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10), nn.LogSoftmax(dim=1))
    first = {"data_format": "channels_first"}
    model = strided.Sequential([
        L.Input((1, 28, 28)), L.Conv2D(32, 3, activation="relu", **first),
        L.Conv2D(64, 3, activation="relu", **first), L.MaxPooling2D(2, **first), L.Flatten(),
        L.Dense(128, activation="relu"), L.Dense(10), L.Activation("log_softmax")])
    return net.eval(), model


def awkward() -> nn.Module:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=(1, 2)), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=4), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 16, 3, padding=1, groups=8), nn.Conv2d(16, 6, 4, padding="same"),
        nn.Tanh(), nn.AvgPool2d(3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(6, 5), nn.Softmax(dim=1))
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return net.eval()


def keras_cnn() -> keras.Model:
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Conv2D(32, 3, padding="same"),
        keras.layers.MaxPooling2D(2, padding="same"), keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax")])


def run_onnx(data: bytes, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def export(net: nn.Module, x: np.ndarray) -> bytes:
    stream = io.BytesIO()
    torch.onnx.export(net, (torch.from_numpy(x),), stream, dynamo=False)
    return stream.getvalue()


def main() -> None:
    import warnings
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    keras.utils.set_random_seed(0)
    strided.set_random_seed(0)
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp())
    rows = []

    def row(route: str, got: np.ndarray, want: np.ndarray) -> None:
        rows.append((route, float(np.abs(got - want).max()), float(np.abs(want).max())))

    net, model = mnist_example()
    x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    save_file(net.state_dict(), str(tmp / "mnist.safetensors"))
    model.load_weights(tmp / "mnist.safetensors")
    row("PyTorch MNIST example: state_dict (.safetensors) -> strided", model.predict(x), want)
    row("PyTorch MNIST example: torch.onnx.export -> strided",
        from_onnx(__import__("onnx").load_from_string(export(net, x))).predict(x), want)

    net = awkward()
    x = rng.standard_normal((16, 3, 15, 14)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    row("groups, dilation, padding: nn.Sequential -> strided",
        from_torch(net, (3, 15, 14)).predict(x), want)

    kmodel = keras_cnn()
    x = rng.standard_normal((16, 28, 28, 1)).astype(np.float32)
    want = np.asarray(kmodel.predict(x, verbose=0))
    kmodel.save(tmp / "cnn.keras")
    smodel = strided.load_model(tmp / "cnn.keras")
    row("Keras 3 (SAME, stride 2): .keras -> strided", smodel.predict(x), want)
    row("strided (from Keras) -> ONNX -> onnxruntime",
        run_onnx(to_onnx(smodel).SerializeToString(), x), smodel.predict(x))

    width = max(len(r[0]) for r in rows)
    print(f"{'route'.ljust(width)}  max |difference|  max |output|")
    for route, difference, size in rows:
        print(f"{route.ljust(width)}  {difference:16.1e}  {size:12.3g}")


if __name__ == "__main__":
    main()
