"""Every command with bad arguments: one line on stderr, a non-zero exit, no traceback and
nothing written.  Run in this process (``strided.cli._main.main``) to stay fast; the
subprocess tests in test_tools_cli.py show the same from the outside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strided.cli import _train
from strided.cli._main import COMMANDS, main
from strided.formats import write_safetensors

_LOAD_DATASET = _train.load_dataset

BAD = {
    "convert": [[], ["{npz}"], ["{tmp}/missing.keras", "{tmp}/o.strided"],
                ["{digit}", "{tmp}/o.strided"], ["{npz}", "{tmp}/o.strided"],
                ["{keras}", "{tmp}/o.strided"], ["{pt}", "{tmp}/o.onnx"],
                ["{onnx}", "{tmp}/o.strided"], ["{state}", "{tmp}/o.onnx"],
                ["{state}", "{tmp}/o.h5"]],
    "draw": [[], ["paint"], ["filters"], ["filters", "-k", "nope", "-o", "{tmp}/o.png"],
             ["filters", "--weights", "{tmp}/missing.npz", "-o", "{tmp}/o.png"],
             ["filters", "--weights", "{text}", "-o", "{tmp}/o.png"],
             ["filters", "--weights", "{npz}", "-k", "sobel-x", "-o", "{tmp}/o.png"],
             ["features", "{tmp}/missing.png", "-o", "{tmp}/o.png"],
             ["features", "{digit}", "-k", "1,2;3", "-o", "{tmp}/o.png"],
             ["features", "{digit}", "--stride", "0", "-o", "{tmp}/o.png"],
             ["features", "{digit}", "-k", "sobel-x", "-k", "gaussian", "--size", "5",
              "-o", "{tmp}/o.png"],
             ["receptive-field", "--input", "0x5", "--layer", "conv:1,3", "-o", "{tmp}/o.png"],
             ["receptive-field", "--input", "8", "--layer", "conv:1,30", "-o", "{tmp}/o.png"],
             ["receptive-field", "--input", "8", "--layer", "conv:1,3", "--at", "x",
              "-o", "{tmp}/o.png"],
             ["connectivity", "--input", "1e400", "-o", "{tmp}/o.png"],
             ["connectivity", "--kernel", "-3", "-o", "{tmp}/o.png"],
             ["connectivity", "--padding", "2,x", "-o", "{tmp}/o.png"]],
    "explain": [[], ["-i", "1,2;3,4"], ["-i", "1e400", "-k", "1"], ["-i", "1/0", "-k", "1"],
                ["-i", "{npz}", "-k", "1"], ["-i", "1,2;3,4", "-k", "{text}"],
                ["-i", "1,2;3,4", "-k", "1", "--stride", "-1"],
                ["-i", "1,2;3,4", "-k", "1", "--padding", "-2"],
                ["-i", "1,2;3,4", "-k", "1", "--at", "9,9"],
                ["-i", "1,2;3,4", "-k", "1", "--mode", "mirror"],
                ["-i", "1,2;3,4", "-k", "1", "--png", "{tmp}/o.jpg"],
                ["-i", "1,2;3,4", "-k", "1", "--gif", "/proc/no/o.gif"]],
    "explore": [["--port", "-1"], ["--port", "x"], ["--weights", "{tmp}/missing.npz",
                                                        "--no-browser"],
                ["--bogus"]],
    "filter": [[], ["{digit}"], ["{digit}", "-k", "1"], ["{tmp}/missing.png", "-k", "1", "-o",
                                                         "{tmp}/o.png"],
               ["{text}", "-k", "1", "-o", "{tmp}/o.png"],
               ["{digit}", "-k", "{nan}", "-o", "{tmp}/o.png"],
               ["{digit}", "-k", "1", "-o", "{tmp}/o.txt"],
               ["{digit}", "-k", "1", "-o", "/proc/no/o.png"],
               ["{digit}", "-k", "gaussian", "--size", "-1", "-o", "{tmp}/o.png"],
               ["{digit}", "-k", "gaussian", "--sigma", "nan", "-o", "{tmp}/o.png"],
               ["{digit}", "-k", "1", "--stride", "1,2,3", "-o", "{tmp}/o.png"],
               ["{digit}", "-k", "1", "--padding", "1,2,3", "-o", "{tmp}/o.png"],
               ["{digit}", "-k", "{empty}", "-o", "{tmp}/o.png"]],
    "kernels": [["nope"], ["gaussian", "--size", "x"], ["gaussian", "--size", "4"],
                ["gaussian", "--sigma", "-1"], ["box-blur", "--size", "0"], ["a", "b"]],
    "shape": [[], ["--input", "28x28x1"], ["--input", "axb", "--filters", "1", "--kernel", "3"],
              ["--input", "28x28x1", "--filters", "-1", "--kernel", "3"],
              ["--input", "28x28x1", "--filters", "2", "--kernel", "3,x"],
              ["--input", "28x28x1", "--filters", "2", "--kernel", "30"],
              ["--input", "28x28x1", "--filters", "2", "--kernel", "3", "--stride", "0"],
              ["--input", "28x28x1", "--filters", "2", "--kernel", "3", "--padding", "7"],
              ["--input", "28x28x1", "--layer", "conv:1e400,3"],
              ["--input", "28x28x1", "--layer", "pool:"],
              ["--input", "28x28x1", "--filters", "2", "--kernel", "3", "--convention", "keras"]],
    "summary": [[], ["{tmp}/missing.strided"], ["{digit}"], ["{npz}"], ["{keras}"], ["{pt}"],
                ["{onnx}"], ["{state}"], ["{state}", "--line-length", "3"]],
    "train": [["--epochs", "0"], ["--epochs", "x"], ["--batch-size", "0"],
              ["--learning-rate", "nan"], ["--learning-rate", "-1"], ["--seed", "-5"],
              ["--dataset", "cifar"], ["--data-dir", "{tmp}/missing"],
              ["-o", "/proc/no/run"], ["--bogus"]],
}


def test_every_command_is_covered() -> None:
    assert set(BAD) == set(COMMANDS)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    from PIL import Image

    tmp = tmp_path_factory.mktemp("bad")
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(tmp / "digit.png")
    (tmp / "text.png").write_text("not an image")
    (tmp / "text.npy").write_text("not an array")
    np.save(tmp / "nan.npy", np.array([[np.nan, 1.0]]))
    np.save(tmp / "empty.npy", np.zeros((0, 2)))
    np.savez(tmp / "w.npz", a=np.ones(3))
    (tmp / "m.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp / "m.pt").write_bytes(b"\x80\x02 a pickle")
    (tmp / "m.onnx").write_bytes(b"\x08\x07 not a graph")
    write_safetensors(tmp / "state.safetensors", {"0.weight": np.ones((2, 3), np.float32)})
    return {"tmp": str(tmp), "digit": str(tmp / "digit.png"), "text": str(tmp / "text.png"),
            "nan": str(tmp / "nan.npy"), "empty": str(tmp / "empty.npy"),
            "npz": str(tmp / "w.npz"), "keras": str(tmp / "m.keras"), "pt": str(tmp / "m.pt"),
            "onnx": str(tmp / "m.onnx"), "state": str(tmp / "state.safetensors")}


CASES = [(command, arguments) for command, cases in BAD.items() for arguments in cases]


@pytest.mark.parametrize(("command", "arguments"), CASES,
                         ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_bad_arguments_give_one_line_and_a_non_zero_exit(capsys, monkeypatch, files, command,
                                                         arguments) -> None:
    monkeypatch.setattr(_train, "load_dataset", _no_training)
    args = [command, *(a.format(**files) for a in arguments)]
    before = set(Path(files["tmp"]).iterdir())
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capsys.readouterr()
    assert stop.value.code not in (0, None), (args, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert err.count("\n") == 1 and err.startswith("strided"), (args, err)
    assert set(Path(files["tmp"]).iterdir()) == before  # nothing written


def _no_training(dataset, data_dir):
    if data_dir is not None and not Path(data_dir).exists():
        return _LOAD_DATASET(dataset, data_dir)  # the real check of --data-dir
    pytest.fail("training started despite bad arguments")
