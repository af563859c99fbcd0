"""``strided convert`` and ``strided summary`` on real files (run in this process)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import strided
from strided import layers as L
from strided.cli._main import main

pytest.importorskip("onnx", reason="the onnx package (the onnx extra) writes .onnx files")


def _run(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out, err = capsys.readouterr()
    assert stop.value.code == 0, err
    return out


def test_convert_between_strided_and_onnx_and_summarise(tmp_path: Path, capsys) -> None:
    strided.set_random_seed(0)
    model = strided.Sequential([L.Input((6, 6, 1)), L.Conv2D(2, 3, strides=2, padding="same"),
                                L.Flatten(), L.Dense(3)], name="tiny")
    model.save(tmp_path / "m.strided")
    out = _run(capsys, "convert", str(tmp_path / "m.strided"), str(tmp_path / "m.onnx"))
    assert out == (f"{tmp_path / 'm.onnx'}: Sequential 'tiny', 3 layers, 77 parameters "
                   f"(from {tmp_path / 'm.strided'})\n")
    _run(capsys, "convert", str(tmp_path / "m.onnx"), str(tmp_path / "back.strided"))
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 1)).astype(np.float32)
    np.testing.assert_allclose(strided.load_model(tmp_path / "back.strided").predict(x),
                               model.predict(x), rtol=1e-6, atol=1e-6)
    printed: list[str] = []
    model.summary(print_fn=printed.append)
    assert _run(capsys, "summary", str(tmp_path / "m.strided")) == "\n".join(printed) + "\n"
    summary = _run(capsys, "summary", str(tmp_path / "m.onnx"))
    assert "Total params: 77" in summary and "(None, 3, 3, 2)" in summary


def test_draw_the_filters_of_a_pytorch_state_dict(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib", reason="the pictures need matplotlib (the tools extra)")
    from strided.formats import write_safetensors

    oihw = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    write_safetensors(tmp_path / "net.safetensors", {"0.weight": oihw,
                                                     "0.bias": np.zeros(2, np.float32)})
    out = _run(capsys, "draw", "filters", "--weights", str(tmp_path / "net.safetensors"),
               "-o", str(tmp_path / "f.png"))
    assert out == (f"wrote {tmp_path / 'f.png'} (2 filters of 1 channel, from "
                   f"{tmp_path / 'net.safetensors'}: 0.weight (OIHW as HWIO))\n")
    assert (tmp_path / "f.png").stat().st_size > 0
