"""save_weights / load_weights: exact round trips, no pickle, clear errors, atomic writes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from strided import layers
from strided.models import Sequential


def _model(filters: int = 4, seed: int = 0) -> Sequential:
    from strided._random import set_random_seed

    set_random_seed(seed)
    return Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.Flatten(name="flat"),
        layers.Dense(3, activation="softmax", name="out"),
    ])


def test_round_trip_is_exact(tmp_path: Path) -> None:
    model = _model(seed=1)
    model.get_layer("bn").params["moving_mean"][:] = 0.25  # state is saved too
    path = tmp_path / "w.npz"
    model.save_weights(path)
    other = _model(seed=2)
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                        other.get_weights()))
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((2, 8, 8, 1))
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]  # no temporary file left


def test_file_loads_without_pickle(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    _model().save_weights(path)
    with np.load(path, allow_pickle=False) as data:
        assert "001/conv/kernel" not in data.files
        assert "000/conv/kernel" in data.files and data["000/conv/kernel"].shape == (3, 3, 1, 4)


def test_shape_mismatch_names_layer_and_both_shapes(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    _model(filters=4).save_weights(path)
    target = _model(filters=5)
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"Layer 'conv' weight 'kernel' has shape "
                                         r"\(3, 3, 1, 5\) in the model but \(3, 3, 1, 4\) in "
                                         r"the file"):
        target.load_weights(path)
    for a, b in zip(before, target.get_weights()):  # nothing changed
        np.testing.assert_array_equal(a, b)


def test_other_architecture_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    Sequential([layers.Input((4,)), layers.Dense(2, name="out")]).save_weights(path)
    with pytest.raises(ValueError, match=r"was saved from a different architecture: layers are "
                                         r"matched by position, and it holds weights for the "
                                         r"layers at positions \[0\] but this model has weights "
                                         r"at positions \[0, 1, 3\]"):
        _model().load_weights(path)


def test_corrupted_file_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    _model().save_weights(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"Cannot read weights from .*w\.npz.*not a valid "
                                         r"\.npz weights file"):
        _model().load_weights(path)
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"not a valid \.npz weights file"):
        _model().load_weights(path)


def test_pickled_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, format=np.array(1), **{"000/conv/kernel": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match=r"not a valid \.npz weights file"):
        _model().load_weights(path)


def test_foreign_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match=r"not a strided weights file of format 1"):
        _model().load_weights(path)


def test_filename_must_end_in_safetensors_or_npz(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"The filename must end in `\.safetensors` or "
                                         r"`\.npz`. Received: "
                                         r"filepath='.*w\.h5'"):
        _model().save_weights(tmp_path / "w.h5")


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _model().load_weights(tmp_path / "missing.npz")


def test_failed_save_keeps_old_file_and_leaves_no_temporary(tmp_path: Path,
                                                             monkeypatch) -> None:
    path = tmp_path / "w.npz"
    _model(seed=1).save_weights(path)
    old = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        _model(seed=2).save_weights(path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]
    assert zipfile.is_zipfile(path)
