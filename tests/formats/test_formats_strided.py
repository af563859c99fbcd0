"""strided's own model file: one safetensors file, the architecture in its metadata; and the
.npz files of the first ``Model.save``, still read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import strided
from strided import layers as L
from strided.formats import read_safetensors, write_safetensors
from strided.models import _weights_io


def _model() -> strided.Sequential:
    strided.set_random_seed(0)
    return strided.Sequential([
        L.Input((8, 8, 2)), L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.BatchNormalization(), L.Flatten(), L.Dense(3, activation="softmax")], name="small")


X = np.random.default_rng(0).standard_normal((2, 8, 8, 2)).astype(np.float32)


def test_save_and_load_model(tmp_path: Path) -> None:
    model = _model()
    model.save(tmp_path / "m.strided")
    back = strided.load_model(tmp_path / "m.strided")
    assert back.name == "small" and [la.name for la in back.layers] == [
        la.name for la in model.layers]
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    tensors, metadata = read_safetensors(tmp_path / "m.strided")  # any safetensors reader
    assert metadata["format"] == "strided" and metadata["format_version"] == "2"
    assert json.loads(metadata["config"])["class_name"] == "Sequential"
    assert next(iter(tensors)) == f"000/{model.layers[0].name}/kernel"
    assert [p.name for p in tmp_path.iterdir()] == ["m.strided"]  # no temporary left


def test_a_functional_model_and_weights_alone(tmp_path: Path) -> None:
    inputs = strided.Input((5,))
    hidden = L.Dense(4, activation="tanh")(inputs)
    model = strided.Model(inputs, L.Add()([L.Dense(4)(hidden), hidden]))
    model.save(tmp_path / "f.safetensors")
    x = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(strided.load_model(tmp_path / "f.safetensors").predict(x),
                                  model.predict(x))
    model.save_weights(tmp_path / "w.safetensors")
    other = strided.Model.from_config(model.get_config())
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(ValueError, match=r"it holds weights only \(written by save_weights\)"):
        strided.load_model(tmp_path / "w.safetensors")
    with pytest.raises(TypeError, match=r"is strided's own file, matched by position; "
                                        r"\['mapping'\] apply to PyTorch and Keras files only"):
        other.load_weights(tmp_path / "w.safetensors", mapping={"a": "b"})


def test_earlier_npz_model_files_still_load(tmp_path: Path) -> None:
    model = _model()
    config = json.dumps({"class_name": "Sequential", "config": model.get_config()})
    _weights_io.save_weights(model, tmp_path / "old.npz", config=config)
    np.testing.assert_array_equal(strided.load_model(tmp_path / "old.npz").predict(X),
                                  model.predict(X))
    with pytest.raises(ValueError, match=r"Sequential.save writes strided's format: name the "
                                         r"file `.strided`"):
        model.save(tmp_path / "new.npz")
    with pytest.raises(ValueError, match=r"the filename must end in `.strided` \(or "
                                         r"`.safetensors`\). Received: filepath='.*m.keras'"):
        model.save(tmp_path / "m.keras")


def _tampered(tmp_path: Path, change) -> Path:
    """The saved model's file with its tensors or metadata changed by ``change``."""
    model = _model()
    model.save(tmp_path / "ok.strided")
    tensors, metadata = read_safetensors(tmp_path / "ok.strided")
    change(tensors, metadata)
    write_safetensors(tmp_path / "bad.strided", tensors, metadata)
    return tmp_path / "bad.strided"


def _set(mapping: dict, key: str, value: object) -> None:
    mapping[key] = value


CASES = [
    (lambda t, m: _set(t, next(iter(t)), np.zeros((3, 3, 2, 5), np.float32)),
     r"weight 'kernel' has shape \(3, 3, 2, 4\) in the model but \(3, 3, 2, 5\) in the file"),
    (lambda t, m: _set(t, next(iter(t)), np.zeros((3, 3, 2, 4), bool)),
     r"weight 'kernel' must hold real numbers \(int or float\). Received: dtype bool"),
    (lambda t, m: t.pop(next(iter(t))), r"expects weights \['bias', 'kernel'\]. Received: "
                                          r"\['bias'\]"),
    (lambda t, m: _set(t, "009/ghost/kernel", np.zeros(2, np.float32)),
     r"saved from a different architecture"),
    (lambda t, m: _set(m, "format_version", "7"), r"strided format_version '7'"),
    (lambda t, m: _set(m, "config", "{not json"), r"its config is not JSON"),
    (lambda t, m: _set(m, "config", json.dumps({"class_name": "Evil", "config": {}})),
     r"unknown model class"),
    (lambda t, m: _set(m, "config", json.dumps({"class_name": "Sequential", "config": {
        "layers": [{"class_name": "os.system", "config": {}}]}})),
     r"does not describe a strided model \(ValueError: Sequential.from_config: unknown layer "
     r"class. Received: class_name='os.system'\)"),
    (lambda t, m: m.pop("format"), r"a safetensors file of weights only, with no architecture"),
]


@pytest.mark.parametrize(("change", "message"), CASES, ids=[m[:25] for _, m in CASES])
def test_a_tampered_file_is_refused_with_the_reason(tmp_path: Path, change, message) -> None:
    path = _tampered(tmp_path, change)
    with pytest.raises(ValueError, match=message):
        strided.load_model(path)


def test_a_failed_load_changes_nothing(tmp_path: Path) -> None:
    path = _tampered(tmp_path, lambda t, m: _set(t, list(t)[-1], np.zeros(9, np.float32)))
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"Layer '\w+' weight 'bias' has shape \(3,\)"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_endings(tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unknown model file ending '.h5'. Expected one of "
                                         r"\['.keras', '.npz', '.onnx', '.safetensors', "
                                         r"'.strided'\]"):
        strided.load_model(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"unknown weights file ending '.h5'"):
        _model().load_weights(tmp_path / "m.h5")
    with pytest.raises(FileNotFoundError, match=r"no such file: '.*missing.strided'"):
        strided.load_model(tmp_path / "missing.strided")
