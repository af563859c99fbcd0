"""Fuzzing every reader of outside data: IDX and CIFAR-10 files, .npz weights, kernel files,
images, the command line's matrix syntax, and model files (safetensors, .strided, .keras and
.onnx: damaged bytes, and configs with values replaced).  Random bytes and damaged valid
files must end in the reader's documented exception (ValueError or OSError, each naming the
file; NotImplementedError for a model strided cannot run), never in another exception or a
crash."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strided import kernels, layers
from strided.datasets import cifar10, read_idx, write_idx
from strided.models import Sequential
from strided.tools._images import load_matrix, read_image

FUZZ = settings(max_examples=120, deadline=None)


@st.composite
def damaged(draw, valid: bytes) -> bytes:
    """``valid`` truncated, with bytes flipped, inserted or deleted; or random bytes."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=400))
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[at:at + draw(st.integers(1, 16))]
    return bytes(data)


def _valid_idx(tmp: Path) -> bytes:
    path = tmp / "x-idx3-ubyte.gz"
    write_idx(path, np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))
    return path.read_bytes()


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    return path


VALID_IDX = _valid_idx(Path(__import__("tempfile").mkdtemp()))


@FUZZ
@given(data=damaged(VALID_IDX), compressed=st.booleans())
def test_idx_reader(tmp_path_factory, data: bytes, compressed: bool) -> None:
    raw = gzip.decompress(VALID_IDX) if not compressed and data == VALID_IDX else data
    path = _write(tmp_path_factory, "f-idx3-ubyte", raw)
    try:
        array = read_idx(path)
    except ValueError as error:
        assert str(path) in str(error)
    else:
        assert isinstance(array, np.ndarray)


def _valid_cifar() -> bytes:
    record = np.zeros(3073, np.uint8)
    record[0] = 3
    return record.tobytes() * 2


@FUZZ
@given(data=damaged(_valid_cifar()))
def test_cifar_batch_reader(data: bytes) -> None:
    try:
        images, labels = cifar10._parse_batch(data, "data_batch_1.bin")
    except ValueError as error:
        assert "data_batch_1.bin" in str(error)
    else:
        assert images.shape[1:] == (32, 32, 3) and labels.max() <= 9


def _valid_tar() -> bytes:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w:gz") as tar:
        for name in (*cifar10._TRAIN, cifar10._TEST):
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            content = _valid_cifar()
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return stream.getvalue()


@FUZZ
@given(data=damaged(_valid_tar()))
def test_cifar_archive_reader(tmp_path_factory, data: bytes) -> None:
    path = _write(tmp_path_factory, "cifar-10-binary.tar.gz", data)
    try:
        found = cifar10._read_archive(path)
    except ValueError as error:
        assert str(path) in str(error)
    else:
        assert set(found) == {*cifar10._TRAIN, cifar10._TEST}


def _model() -> Sequential:
    return Sequential([layers.Input((3,)), layers.Dense(2, name="d")])


def _valid_npz() -> bytes:
    stream = io.BytesIO()
    np.savez(stream, format=np.array(1), **{"000/d/kernel": np.ones((3, 2), np.float32),
                                           "000/d/bias": np.zeros(2, np.float32)})
    return stream.getvalue()


@FUZZ
@given(data=damaged(_valid_npz()))
def test_weights_reader(tmp_path_factory, data: bytes) -> None:
    path = _write(tmp_path_factory, "w.npz", data)
    model = _model()
    before = model.get_weights()
    try:
        model.load_weights(path)
    except ValueError as error:
        assert str(path) in str(error) or "Layer 'd'" in str(error)
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)  # nothing changed


def _valid_npy() -> bytes:
    stream = io.BytesIO()
    np.save(stream, np.array([[1.0, 2.0], [3.0, 4.0]]))
    return stream.getvalue()


@FUZZ
@given(data=damaged(_valid_npy()))
def test_kernel_npy_reader(tmp_path_factory, data: bytes) -> None:
    path = _write(tmp_path_factory, "k.npy", data)
    try:
        matrix = load_matrix(str(path), "kernel")
    except (ValueError, OSError) as error:
        assert str(path) in str(error)
    else:
        assert matrix.ndim == 2 and np.isfinite(matrix).all()


@FUZZ
@given(text=st.text(alphabet="0123456789,; \n\r\t.-+e/[]x", max_size=60) | st.text(max_size=40))
def test_kernel_csv_reader(tmp_path_factory, text: str) -> None:
    path = _write(tmp_path_factory, "k.csv", text.encode("utf-8", "surrogatepass"))
    try:
        matrix = load_matrix(str(path), "kernel")
    except (ValueError, OSError) as error:
        assert str(path) in str(error)
    else:
        assert matrix.ndim == 2


def _valid_png() -> bytes:
    from PIL import Image

    stream = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8)).save(stream, format="PNG")
    return stream.getvalue()


@FUZZ
@given(data=damaged(_valid_png()), grey=st.booleans())
def test_image_reader(tmp_path_factory, data: bytes, grey: bool) -> None:
    path = _write(tmp_path_factory, "i.png", data)
    try:
        pixels = read_image(path, grey=grey)
    except (ValueError, OSError) as error:
        assert str(path) in str(error)
    else:
        assert pixels.ndim in (2, 3)


@FUZZ
@given(text=st.text(alphabet="0123456789,; \n.-+eE/[]", max_size=40) | st.text(max_size=30))
def test_matrix_syntax(text: str) -> None:
    try:
        matrix = kernels.parse(text, "kernel")
    except ValueError as error:
        assert str(error).startswith("kernel ")
    else:
        assert matrix.ndim == 2 and matrix.dtype in (np.int64, np.float64)
        assert np.isfinite(matrix).all()


@pytest.mark.parametrize("text", ["1e19", "-1e19", "1e308,1e308", "9" * 400, "1/0", "0/0"])
def test_matrix_syntax_edge_numbers(text: str) -> None:
    try:
        matrix = kernels.parse(text, "kernel")
    except ValueError as error:
        assert str(error).startswith(f"kernel {text!r}")
    else:
        assert np.isfinite(matrix).all()


def _valid_safetensors() -> bytes:
    from strided.formats import write_safetensors

    path = Path(__import__("tempfile").mkdtemp()) / "v.safetensors"
    write_safetensors(path, {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                             "b": np.array([1, 2], np.int64)}, {"k": "v"})
    return path.read_bytes()


@FUZZ
@given(data=damaged(_valid_safetensors()))
def test_safetensors_reader(tmp_path_factory, data: bytes) -> None:
    from strided.formats import SafetensorsError, read_safetensors

    path = _write(tmp_path_factory, "t.safetensors", data)
    try:
        tensors, metadata = read_safetensors(path)
    except SafetensorsError as error:
        assert str(path) in str(error)
    else:
        assert all(isinstance(v, np.ndarray) for v in tensors.values())
        assert all(isinstance(v, str) for v in metadata.values())


def _valid_strided() -> bytes:
    path = Path(__import__("tempfile").mkdtemp()) / "m.strided"
    Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 3, padding="same", name="c"),
                layers.Flatten(), layers.Dense(2, name="d")]).save(path)
    return path.read_bytes()


@FUZZ
@given(data=damaged(_valid_strided()))
def test_strided_model_reader(tmp_path_factory, data: bytes) -> None:
    from strided import load_model

    path = _write(tmp_path_factory, "m.strided", data)
    try:
        model = load_model(path)
    except ValueError as error:
        assert str(path) in str(error) or "Layer '" in str(error)
    else:
        assert model.built


def _valid_onnx() -> bytes:
    from strided.formats import to_onnx

    model = Sequential([layers.Input((5, 5, 1)), layers.Conv2D(2, 3, strides=2, padding="same"),
                        layers.MaxPooling2D(2, padding="same"), layers.Flatten(),
                        layers.Dense(2, activation="softmax")])
    return to_onnx(model).SerializeToString()


@FUZZ
@given(data=damaged(_valid_onnx()))
def test_onnx_reader(tmp_path_factory, data: bytes) -> None:
    pytest.importorskip("onnx", reason="the onnx package (the onnx extra) reads the graphs")
    from strided import load_model

    path = _write(tmp_path_factory, "m.onnx", data)
    try:
        model = load_model(path)
    except (ValueError, NotImplementedError) as error:
        assert "from_onnx" in str(error) or str(path) in str(error)
    else:
        assert model.built


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 40) | st.floats(-2, 2)
                    | st.text(max_size=8) | st.sampled_from(["same", "valid", "relu", "Dense"]),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


@st.composite
def mutated(draw, config: object) -> object:
    """``config`` (JSON) with one to three values, anywhere in it, replaced by others."""
    import copy
    import json

    config = copy.deepcopy(config)
    for _ in range(draw(st.integers(1, 3))):
        node, path = config, []
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict)
                                       else list(range(len(node)))))
            path.append((node, key))
            node = node[key]
        if path:
            parent, key = path[-1]
            parent[key] = draw(JSON)
        else:
            config = draw(JSON)
    json.dumps(config)
    return config


def _strided_config() -> dict:
    import json

    from strided.formats import read_safetensors

    path = Path(__import__("tempfile").mkdtemp()) / "m.strided"
    path.write_bytes(VALID_STRIDED)
    return json.loads(read_safetensors(path)[1]["config"])


VALID_STRIDED = _valid_strided()


@FUZZ
@given(config=mutated(_strided_config()))
def test_strided_model_config(tmp_path_factory, config: object) -> None:
    import json

    from strided import load_model
    from strided.formats import read_safetensors, write_safetensors

    path = _write(tmp_path_factory, "m.strided", VALID_STRIDED)
    tensors, metadata = read_safetensors(path)
    write_safetensors(path, tensors, {**metadata, "config": json.dumps(config)})
    try:
        model = load_model(path)
    except ValueError as error:
        assert str(path) in str(error) or "Layer '" in str(error)
    else:
        assert model.built


#: what Keras 3.15 writes in config.json for Sequential([Input((4, 4, 1)), Conv2D(2, 3,
#: padding="same"), Flatten(), Dense(2)]), without the initializers
KERAS_CONFIG = {
    "module": "keras", "class_name": "Sequential", "registered_name": None,
    "config": {"name": "sequential", "trainable": True, "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
         "config": {"batch_shape": [None, 4, 4, 1], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "input_layer", "optional": False}},
        {"module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
         "config": {"name": "conv2d", "trainable": True, "dtype": {
             "module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
             "registered_name": None}, "filters": 2, "kernel_size": [3, 3],
             "strides": [1, 1], "padding": "same", "data_format": "channels_last",
             "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": True,
             "kernel_regularizer": None, "bias_regularizer": None,
             "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None},
         "build_config": {"input_shape": [None, 4, 4, 1]}},
        {"module": "keras.layers", "class_name": "Flatten", "registered_name": None,
         "config": {"name": "flatten", "trainable": True, "dtype": "float32",
                    "data_format": "channels_last"}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
         "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 2,
                    "activation": "softmax", "use_bias": True}}]}}


def _keras_file(config: object) -> bytes:
    import json
    import zipfile

    h5py = pytest.importorskip("h5py", reason="Keras' weights are HDF5 (the keras extra)")
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        for name, shapes in (("conv2d", [(3, 3, 1, 2), (2,)]), ("dense", [(32, 2), (2,)])):
            group = f.create_group(f"layers/{name}/vars")
            group.attrs["name"] = name
            for i, shape in enumerate(shapes):
                group[str(i)] = np.ones(shape, np.float32)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights.getvalue())
    return archive.getvalue()


@FUZZ
@given(config=mutated(KERAS_CONFIG))
def test_keras_model_config(tmp_path_factory, config: object) -> None:
    from strided import load_model

    path = _write(tmp_path_factory, "m.keras", _keras_file(config))
    try:
        model = load_model(path)
    except (ValueError, NotImplementedError) as error:
        assert str(path) in str(error) or "load_keras" in str(error) or "load_weights" in str(
            error)
    else:
        assert model.built


@FUZZ
@given(data=damaged(_keras_file(KERAS_CONFIG)))
def test_keras_file_reader(tmp_path_factory, data: bytes) -> None:
    from strided import load_model

    path = _write(tmp_path_factory, "m.keras", data)
    try:
        model = load_model(path)
    except (ValueError, NotImplementedError) as error:
        assert str(path) in str(error) or "load_keras" in str(error) or "load_weights" in str(
            error)
    else:
        assert model.built
