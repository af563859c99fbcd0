"""The picture functions from Python: any model shape, sizes and content of the PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tools_helpers import read_png

from strided import kernels, layers
from strided.tools import (
    explain,
    parse_layer,
    plot_explanation,
    plot_feature_maps,
    plot_filter_bank,
    plot_receptive_field,
)


def test_feature_maps_from_a_keras_layer_a_list_and_a_callable(digit: np.ndarray,
                                                               tmp_path: Path) -> None:
    conv = layers.Conv2D(4, 3, padding="same", input_shape=(28, 28, 1))
    seen: list[tuple[int, ...]] = []

    def relu(x: np.ndarray) -> np.ndarray:
        seen.append(x.shape)
        return np.maximum(x, 0)

    for name, model in [("layer", conv), ("list", [conv, relu]), ("callable",
                                                                  lambda x: conv(x)[..., :2])]:
        out = plot_feature_maps(digit, model, tmp_path / f"{name}.png")
        pixels = read_png(out)
        assert pixels.shape[1] == 240 * (5 if name != "callable" else 3)
    assert seen == [(1, 28, 28, 4)]  # the list ran the layers in order on an NHWC batch


def test_feature_maps_errors(digit: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"plot_feature_maps: model must be a layer, a list of "
                                        r"layers or a callable .*; got int"):
        plot_feature_maps(digit, 3, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"must return \(N, H, W, F\) feature maps; got shape "
                                         r"\(28,\)"):
        plot_feature_maps(digit, lambda x: x[0, 0, :, 0], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"cannot write picture '.*x.jpg': pictures are PNG"):
        plot_feature_maps(digit, lambda x: x, tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []


def test_filter_bank_hwio_has_one_row_per_filter(tmp_path: Path) -> None:
    bank = np.stack([kernels.SOBEL_X, kernels.SOBEL_Y], axis=-1)[:, :, None, :]
    bank = np.repeat(bank, 3, axis=2)  # (3, 3, 3, 2): 2 filters of 3 channels
    pixels = read_png(plot_filter_bank(bank, tmp_path / "bank.png"))
    single = read_png(plot_filter_bank([kernels.SOBEL_X], tmp_path / "one.png"))
    assert pixels.shape[0] > 1.8 * single.shape[0] and pixels.shape[1] > 2.2 * single.shape[1]


def test_receptive_field_picture(tmp_path: Path) -> None:
    stack = [parse_layer("conv:1,3"), parse_layer("conv:1,3,2")]
    pixels = read_png(plot_receptive_field((9, 9), stack, tmp_path / "rf.png", at=(1, 1)))
    assert pixels.shape[1] == 900  # three panels of 3 inches
    with pytest.raises(ValueError, match=r"output position \(4, 0\) is outside the 3x3 output"):
        plot_receptive_field((9, 9), stack, tmp_path / "rf.png", at=(4, 0))


def test_explanation_picture_marks_the_chosen_output(tmp_path: Path) -> None:
    e = explain([[2, 0, 1, 3], [7, 1, 1, 0], [0, 2, 5, 0], [0, 5, 1, 4]], kernels.PREWITT_Y)
    first = read_png(plot_explanation(e, tmp_path / "a.png", (0, 0)))
    last = read_png(plot_explanation(e, tmp_path / "b.png", (1, 1)))
    orange = np.array([255, 159, 64])

    def centre(pixels: np.ndarray) -> tuple[float, float]:
        mask = np.all(np.abs(pixels[..., :3].astype(int) - orange) < 6, axis=-1)
        rows, cols = np.nonzero(mask)
        return rows.mean(), cols.mean()

    (r0, c0), (r1, c1) = centre(first), centre(last)
    assert r1 > r0 + 40 and c1 > c0 + 40  # one cell down and right
