"""PyTorch in: a state_dict as safetensors, an nn.Sequential, and a torch.onnx export, each
giving PyTorch's outputs in strided (float32, to 1e-5)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import strided
from strided import layers as L
from strided.formats import from_onnx, from_torch, load_state_dict

torch = pytest.importorskip("torch", reason="PyTorch (the test extra) is the oracle here")
# torch.onnx.export(dynamo=False): the TorchScript exporter, which needs no onnxscript
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning:torch.*")
nn = torch.nn
save_file = pytest.importorskip("safetensors.torch", reason="safetensors writes the files"
                                ).save_file


@pytest.fixture(autouse=True, scope="module")
def float32():
    """These networks are float32, whatever default another test module set."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(saved)


class MnistNet(nn.Module):
    """The network of PyTorch's MNIST example (pytorch/examples, mnist/main.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = self.dropout1(torch.nn.functional.max_pool2d(x, 2))
        x = self.dropout2(torch.relu(self.fc1(torch.flatten(x, 1))))
        return torch.nn.functional.log_softmax(self.fc2(x), dim=1)


def _strided_mnist() -> strided.Sequential:
    first = {"data_format": "channels_first"}
    return strided.Sequential([
        L.Input((1, 28, 28)), L.Conv2D(32, 3, activation="relu", **first),
        L.Conv2D(64, 3, activation="relu", **first), L.MaxPooling2D(2, **first),
        L.Dropout(0.25), L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5),
        L.Dense(10), L.Activation("log_softmax")])


def _torch_out(module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module.eval()(torch.from_numpy(x)).numpy()


@pytest.fixture(scope="module")
def mnist(float32):
    torch.manual_seed(0)
    net = MnistNet().eval()
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    return net, x, _torch_out(net, x)


def test_mnist_example_state_dict_as_safetensors(tmp_path: Path, mnist) -> None:
    net, x, expected = mnist
    path = tmp_path / "mnist.safetensors"
    save_file(net.state_dict(), str(path))
    model = _strided_mnist()
    model.load_weights(path)  # names differ: matched by position (conv1, conv2, fc1, fc2)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)
    # the same from the state_dict itself
    other = _strided_mnist()
    load_state_dict(other, net.state_dict())
    np.testing.assert_allclose(other.predict(x), expected, rtol=1e-5, atol=1e-5)


def test_mnist_example_through_onnx(tmp_path: Path, mnist) -> None:
    net, x, expected = mnist
    path = tmp_path / "mnist.onnx"
    torch.onnx.export(net, (torch.from_numpy(x[:1]),), str(path), dynamo=False,
                      input_names=["input"], dynamic_axes={"input": {0: "batch"}})
    model = strided.load_model(path)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Flatten", "Dense",
        "Activation", "Dense", "Activation"]
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)


def _awkward() -> nn.Sequential:
    """Groups, dilation, stride, asymmetric and even-kernel 'same' padding, a depthwise
    convolution, batch norm with running statistics, padded average pooling."""
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=(1, 2)), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=4), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 16, 3, padding=1, groups=8),  # depthwise, multiplier 2
        nn.Conv2d(16, 6, 4, padding="same", bias=False), nn.Tanh(),
        nn.AvgPool2d(3, stride=2, padding=1), nn.Sequential(nn.Conv2d(6, 6, 1), nn.ELU()),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5), nn.Softmax(dim=1))
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return net.eval()


def test_groups_dilation_and_padding_from_the_module(tmp_path: Path) -> None:
    net = _awkward()
    x = np.random.default_rng(2).standard_normal((3, 3, 15, 14)).astype(np.float32)
    expected = _torch_out(net, x)
    model = from_torch(net, (3, 15, 14))
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["0.pad", "0", "1"] and "9.0" in names  # PyTorch's module paths
    assert type(model.get_layer("5")).__name__ == "DepthwiseConv2D"
    assert model.get_layer("6").padding == "same"
    # and through its state_dict as safetensors, into a fresh copy
    save_file(net.state_dict(), str(tmp_path / "awkward.safetensors"))
    fresh = strided.models.Sequential.from_config(model.get_config())
    fresh.load_weights(tmp_path / "awkward.safetensors")
    np.testing.assert_allclose(fresh.predict(x), expected, rtol=1e-5, atol=1e-5)


def test_groups_dilation_and_padding_through_onnx() -> None:
    net = _awkward()
    x = np.random.default_rng(3).standard_normal((2, 3, 15, 14)).astype(np.float32)
    stream = io.BytesIO()
    torch.onnx.export(net, (torch.from_numpy(x),), stream, dynamo=False)
    model = from_onnx(__import__("onnx").load_from_string(stream.getvalue()))
    np.testing.assert_allclose(model.predict(x), _torch_out(net, x), rtol=1e-5, atol=1e-5)


def test_one_and_three_dimensional_convolutions() -> None:
    torch.manual_seed(4)
    for net, shape in [
        (nn.Sequential(nn.Conv1d(2, 4, 3, stride=2, dilation=2), nn.ReLU(), nn.MaxPool1d(2),
                       nn.Flatten(), nn.Linear(4 * 3, 2)), (2, 17)),
        (nn.Sequential(nn.Conv3d(2, 3, 2, padding=1), nn.BatchNorm3d(3), nn.Sigmoid(),
                       nn.AdaptiveMaxPool3d(1), nn.Flatten()), (2, 5, 4, 6)),
    ]:
        x = np.random.default_rng(5).standard_normal((2, *shape)).astype(np.float32)
        model = from_torch(net.eval(), shape)
        np.testing.assert_allclose(model.predict(x), _torch_out(net, x), rtol=1e-5,
                                   atol=1e-5)


def test_a_mismatch_names_the_weight_the_shapes_and_the_matching(mnist) -> None:
    net, _, _ = mnist
    model = _strided_mnist()
    model.layers[1].name = "wide"
    model.layers[1].params["kernel"] = np.zeros((3, 3, 32, 65), np.float32)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=(
            r"PyTorch conv2.weight in the state_dict of shape \(64, 32, 3, 3\) gives kernel "
            r"of shape \(3, 3, 32, 64\), but strided layer 'wide' \(Conv2D\) has kernel of "
            r"shape \(3, 3, 32, 65\)\. The modules were matched as: conv1 -> \w+ \(by "
            r"position\), conv2 -> wide \(by position\), fc1 -> \w+ \(by position\).*pass "
            r"mapping=\{strided layer name: PyTorch module path\}")):
        load_state_dict(model, net.state_dict())
    for a, b in zip(before, model.get_weights()):  # nothing half-loaded
        np.testing.assert_array_equal(a, b)


def test_matching_by_name_and_by_mapping() -> None:
    torch.manual_seed(6)
    net = nn.Sequential()
    net.add_module("head", nn.Linear(3, 4))
    net.add_module("body", nn.Linear(4, 2))
    x = np.random.default_rng(6).standard_normal((5, 3)).astype(np.float32)
    by_name = strided.Sequential([L.Input((3,)), L.Dense(4, name="head"),
                                  L.Dense(2, name="body")])
    load_state_dict(by_name, dict(reversed(net.state_dict().items())))  # order does not matter
    np.testing.assert_allclose(by_name.predict(x), _torch_out(net, x), rtol=1e-5, atol=1e-6)
    mapped = strided.Sequential([L.Input((3,)), L.Dense(4, name="a"), L.Dense(2, name="b")])
    load_state_dict(mapped, net.state_dict(), mapping={"a": "head", "b": "body"})
    np.testing.assert_allclose(mapped.predict(x), _torch_out(net, x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"mapping names PyTorch modules \['tail'\] that the "
                                         r"state_dict does not hold; it holds \['head', 'body'\]"):
        load_state_dict(mapped, net.state_dict(), mapping={"a": "tail"})
    with pytest.raises(ValueError, match=r"mapping names strided layers \['c'\]"):
        load_state_dict(mapped, net.state_dict(), mapping={"c": "head"})
    short = strided.Sequential([L.Input((3,)), L.Dense(4)])
    with pytest.raises(ValueError, match=r"holds weights for 2 modules \['head', 'body'\], but "
                                         r"Sequential .* has 1 layers with weights"):
        load_state_dict(short, net.state_dict())
    with pytest.raises(ValueError, match=r"'head.weight' in the state_dict has dtype int64"):
        load_state_dict(by_name, {"head.weight": np.ones((4, 3), np.int64)})
    with pytest.raises(ValueError, match=r"PyTorch module 'head' in the state_dict has "
                                         r"\['weight'\], but strided layer 'head' \(Dense\) "
                                         r"needs \['bias', 'weight'\]"):
        load_state_dict(by_name, {"head.weight": np.ones((4, 3), np.float32),
                                  "body.weight": np.ones((2, 4), np.float32),
                                  "body.bias": np.ones(2, np.float32)})


def test_pickles_are_refused_with_how_to_export_safetensors(tmp_path: Path, mnist) -> None:
    net, _, _ = mnist
    model = _strided_mnist()
    for name in ("mnist.pt", "mnist.safetensors"):
        torch.save(net.state_dict(), tmp_path / name)
        with pytest.raises(ValueError, match=r"pickle.*strided never unpickles.*save_file\("
                                             r"model.state_dict\(\), 'model.safetensors'\)"):
            model.load_weights(tmp_path / name)


def test_modules_strided_cannot_convert_are_named_together() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2), nn.ReLU(),
                        nn.Sequential(nn.LSTM(3, 3)))
    with pytest.raises(NotImplementedError, match=r"cannot convert the modules 1 \(Upsample\), "
                                                  r"3.0 \(LSTM\); it converts"):
        from_torch(net, (1, 8, 8))
    with pytest.raises(NotImplementedError, match=r"0 \(MaxPool2d\) uses ceil_mode"):
        from_torch(nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), (1, 5, 5))
    with pytest.raises(NotImplementedError, match=r"pads by \(1, 1\); strided's pooling pads "
                                                  r"only as TensorFlow's SAME"):
        from_torch(nn.Sequential(nn.MaxPool2d(3, padding=1)), (1, 5, 5))
    with pytest.raises(NotImplementedError, match=r"padding_mode='reflect'"):
        from_torch(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")),
                   (1, 5, 5))
    with pytest.raises(TypeError, match=r"expected a torch.nn.Sequential. Received: MnistNet"):
        from_torch(MnistNet(), (1, 28, 28))
