"""Progress output that a log file and an 80-column terminal can hold."""

from __future__ import annotations

import io

import pytest

from strided.models._progress import Progress

VALUES = {"loss": 0.5, "accuracy": 0.25, "val_loss": 0.75, "val_accuracy": 0.125}
LINE = "loss: 0.5000 - accuracy: 0.2500 - val_loss: 0.7500 - val_accuracy: 0.1250"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO) -> str:
    progress = Progress(63, "Epoch 1/15", 1, stream=stream)
    for _ in range(63):
        progress.update(1, {"loss": 0.5, "accuracy": 0.25})
    progress.close(VALUES)
    return stream.getvalue()


def test_verbose_1_to_a_file_writes_one_clean_line_per_epoch() -> None:
    text = _run(io.StringIO())
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("Epoch 1/15: 63/63 - ") and text.endswith(f"{LINE}\n")
    assert ", loss:" not in text


def test_the_bar_keeps_its_width_and_the_values_get_their_own_line() -> None:
    pytest.importorskip("tqdm")
    text = _run(Terminal())
    last_bar, values = text.rstrip("\n").split("\r")[-1].split("\n")
    assert values == f"  {LINE}"
    assert len(values) <= 80
    assert "############" in last_bar and len(last_bar) <= 80  # 12 blocks, not one
    assert ", loss:" not in last_bar
