"""Pictures that say what they show: titles clear of images, uniform tap labels with a colour
scale, the weights `strided train` writes, help that matches the code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strided.cli._main import main
from strided.tools import _pictures
from strided.tools._pictures import plot_feature_maps, plot_filter_bank, tap_labels


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures the plotting functions would save, drawn."""
    kept = []

    def save(figure, path):
        figure.canvas.draw()
        kept.append(figure)
        return Path(path)

    monkeypatch.setattr(_pictures, "_save", save)
    return kept


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("shape", [(28, 28), (150, 128, 3), (40, 160)])
def test_feature_map_titles_stay_clear_of_every_image(figures, shape, tmp_path) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    plot_feature_maps(image, lambda batch: np.repeat(batch[..., :1], 8, axis=-1) * np.arange(8),
                      tmp_path / "m.png")
    (figure,) = figures
    renderer = figure.canvas.get_renderer()
    boxes = [ax.get_window_extent(renderer) for ax in figure.axes]
    titles = [ax.title.get_window_extent(renderer) for ax in figure.axes]
    assert len(figure.axes) == 9  # the input and 8 maps, on two rows
    for i, title in enumerate(titles):
        for j, box in enumerate(boxes):
            assert i == j or not _overlaps(title, box), (i, j)
        for j, other in enumerate(titles):
            assert i == j or not _overlaps(title, other), (i, j)
        assert title.y1 <= figure.bbox.y1  # inside the picture


def test_tap_labels_have_one_format_and_no_negative_zero() -> None:
    kernel = np.array([[0.1234, -0.0004, 0.05], [-0.2, 0.0, 0.001]])
    labels = tap_labels(kernel)
    assert labels == [["0.12", "0", "0.05"], ["-0.20", "0", "0"]]
    assert tap_labels(np.array([[1, -1], [0, 2]])) == [["1", "-1"], ["0", "2"]]
    assert tap_labels(np.full((3, 3), 1 / 9)) == [["1/9"] * 3] * 3
    assert tap_labels(np.array([[0.5, -0.004]]), scale=0.05) == [["0.500", "-0.004"]]


def test_a_trained_bank_gets_one_colour_scale(figures, tmp_path) -> None:
    filters = np.random.default_rng(2).normal(0, 0.1, (5, 5, 1, 4))
    plot_filter_bank(filters, tmp_path / "f.png")
    (figure,) = figures
    assert len(figure.axes) == 5  # four kernels and the colour bar
    bar = figure.axes[-1]
    assert "one scale for the bank" in bar.get_ylabel()
    limits = {tuple(ax.images[0].get_clim()) for ax in figure.axes[:4]}
    assert len(limits) == 1
    texts = [t.get_text() for ax in figure.axes[:4] for t in ax.texts]
    assert all(t == "0" or len(t.split(".")[-1]) == 2 for t in texts)
    assert "-0" not in texts and "-0.00" not in texts


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


def test_draw_filters_reads_the_weights_train_writes(capsys, tmp_path) -> None:
    from strided import layers
    from strided.models import Sequential

    model = Sequential([layers.Input((8, 8, 1)), layers.Conv2D(3, 5, name="conv"),
                        layers.Flatten(), layers.Dense(2)])
    weights = tmp_path / "w.npz"
    model.save_weights(weights)
    out = tmp_path / "learned.png"
    status, stdout, err = _cli(capsys, "draw", "filters", "--weights", str(weights), "-o",
                               str(out))
    assert status == 0, err
    assert stdout == (f"wrote {out} (3 filters of 1 channel, from {weights}: "
                      f"000/conv/kernel)\n")
    assert out.stat().st_size > 1000


def test_draw_features_help_says_averaged(capsys) -> None:
    status, stdout, _ = _cli(capsys, "draw", "features", "--help")
    assert status == 0
    text = " ".join(stdout.split())
    assert "averaged" in text and "summed" not in text
