"""`strided train` never loses a run: output checked first, Ctrl-C keeps the last epoch,
bad arguments and a diverging loss stop with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import strided
from strided.cli import _train
from strided.cli._main import main
from strided.models import Sequential


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


@pytest.fixture
def tiny(monkeypatch):
    """64 training and 16 held-out digits of noise, instead of the bundled 5,000."""
    rng = np.random.default_rng(0)
    data = {"x": rng.random((80, 28, 28, 1)).astype(np.float32), "y": rng.integers(0, 10, 80)}

    def load_dataset(dataset, data_dir):
        return (data["x"][:64], data["y"][:64]), (data["x"][64:], data["y"][64:]), "noise"

    monkeypatch.setattr(_train, "load_dataset", load_dataset)
    return data


def _weights(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def test_an_unwritable_output_dir_fails_before_training(capsys, monkeypatch) -> None:
    monkeypatch.setattr(_train, "load_dataset", lambda *a: pytest.fail("training started"))
    status, out, err = cli(capsys, "train", "-o", "/proc/strided/run", "--no-plots")
    assert status == 1 and out == ""
    assert err == ("strided: error: cannot write the results to --output-dir "
                   "'/proc/strided/run': No such file or directory\n")


def test_ctrl_c_keeps_the_last_completed_epoch(capsys, monkeypatch, tiny, tmp_path) -> None:
    args = ["train", "--batch-size", "32", "--no-plots", "-q", "--seed", "3"]
    assert cli(capsys, *args, "--epochs", "1", "-o", str(tmp_path / "one"))[0] == 0
    original = Sequential.train_on_batch
    calls = []

    def interrupted(self, x, y):
        calls.append(1)
        if len(calls) == 3:  # the first step of the second epoch
            raise KeyboardInterrupt
        return original(self, x, y)

    monkeypatch.setattr(Sequential, "train_on_batch", interrupted)
    status, _, err = cli(capsys, *args, "--epochs", "3", "-o", str(tmp_path / "cut"))
    saved = tmp_path / "cut" / "lecture_mnist.npz"
    assert status == 130
    assert err.strip() == f"Interrupted: saved the weights after epoch 1 of 3 to {saved}."
    one, cut = _weights(tmp_path / "one" / "lecture_mnist.npz"), _weights(saved)
    assert len(one) == len(cut) == 17  # format and 16 weights (layer names differ by run)
    for a, b in zip(sorted(one.items()), sorted(cut.items())):
        np.testing.assert_array_equal(a[1], b[1])
    assert [p.name for p in (tmp_path / "cut").iterdir()] == ["lecture_mnist.npz"]


def test_ctrl_c_in_the_first_epoch_says_nothing_was_saved(capsys, monkeypatch, tiny,
                                                          tmp_path) -> None:
    def interrupted(self, x, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(Sequential, "train_on_batch", interrupted)
    status, _, err = cli(capsys, "train", "--no-plots", "-q", "-o", str(tmp_path))
    assert status == 130
    assert err.strip() == "Interrupted before the first epoch ended: nothing was saved."
    assert list(tmp_path.iterdir()) == []


def test_a_non_finite_loss_stops_with_a_message(capsys, tiny, tmp_path) -> None:
    tiny["x"][:] = np.nan
    status, _, err = cli(capsys, "train", "--no-plots", "-q", "--epochs", "3", "-o",
                         str(tmp_path))
    assert status == 1
    assert err == ("strided: error: training stopped: the loss became nan in epoch 1 "
                   "(--learning-rate 0.001 may be too large); nothing was saved\n")
    assert "RuntimeWarning" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    (["--learning-rate", "nan"], "Invalid value for '--learning-rate': must be a finite "
                                 "positive number; got nan"),
    (["--learning-rate", "inf"], "must be a finite positive number; got inf"),
    (["--seed", "-5"], "Invalid value for '--seed': -5 is not in the range x>=0."),
])
def test_bad_training_arguments_are_refused_first(capsys, monkeypatch, args, message) -> None:
    monkeypatch.setattr(_train, "load_dataset", lambda *a: pytest.fail("training started"))
    status, out, err = cli(capsys, "train", *args)
    assert status == 2 and out == ""
    assert err.startswith("strided train: error: ") and message in err
    assert err.count("\n") == 1


def test_set_random_seed_checks_its_seed() -> None:
    with pytest.raises(ValueError, match=r"set_random_seed: seed must be a non-negative int; "
                                         r"got seed=-1"):
        strided.set_random_seed(-1)
    with pytest.raises(TypeError, match=r"seed must be a non-negative int; got seed=1.5"):
        strided.set_random_seed(1.5)


def test_quiet_prints_no_summary(capsys, tiny, tmp_path) -> None:
    status, out, err = cli(capsys, "train", "--no-plots", "-q", "--epochs", "1", "-o",
                           str(tmp_path))
    assert status == 0, err
    assert "Total params" not in out and "Layer (type)" not in out
    assert out.count("\n") == 3  # training on, trained, saved
