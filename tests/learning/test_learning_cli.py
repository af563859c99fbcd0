"""`strided train`, the main job, run as a user runs it: files written and readable."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image


def test_train_one_epoch_writes_weights_and_pictures(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "strided", "train", "--epochs", "1", "-o",
         str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Total params: 98,986" in result.stdout
    accuracy = float(result.stdout.split("Held-out accuracy: ")[1].split("%")[0])
    assert accuracy > 50  # one epoch on 4,000 digits is far above chance (10%)
    with np.load(tmp_path / "lecture_mnist.npz", allow_pickle=False) as weights:
        assert any(array.shape == (5, 5, 1, 16) for array in weights.values())
    for name in ("filters.png", "feature_maps.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.width > 200 and picture.height > 100
            assert np.asarray(picture.convert("L")).std() > 10  # not a blank image


def test_train_bad_data_dir_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "strided", "train", "--data-dir", str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
