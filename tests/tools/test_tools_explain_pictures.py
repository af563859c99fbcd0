"""`explain` pictures and text that stay readable: numbers inside their cells, the formula and
title inside the picture, the padding of every side, large inputs summarised and animated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strided.cli._main import main
from strided.tools import _pictures
from strided.tools._explain import explain


@pytest.fixture
def figures(monkeypatch):
    kept = []

    def save(figure, path):
        figure.canvas.draw()
        kept.append(figure)
        return Path(path)

    monkeypatch.setattr(_pictures, "_save", save)
    return kept


def _inside(inner, outer, slack: float = 0.5) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack
            and inner.y0 >= outer.y0 - slack and inner.y1 <= outer.y1 + slack)


@pytest.mark.parametrize(("image", "kernel"), [
    ([[1.5, 22.25, 3, 1, 2], [4, 5, 6.125, 1, 2], [7, 8, 9.125, 1, 2]],
     [[0.125, 0.5, 1.25], [0.3333, 12345, 1]]),
    ([[99999, 12345], [54321, 77777]], [[3, 7], [11, 13]]),
    (np.arange(36).reshape(6, 6) * 1.0001, np.ones((5, 5)) / 25),
])
def test_numbers_formula_and_title_fit(figures, tmp_path, image, kernel) -> None:
    e = explain(np.array(image), np.array(kernel), padding="same")
    _pictures.plot_explanation(e, tmp_path / "e.png", (0, 0))
    (figure,) = figures
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    for ax in figure.axes:
        w = ax.images[0].get_array().shape[1]
        box = ax.get_window_extent(renderer)
        cell = box.width / w
        for text in ax.texts:
            extent = text.get_window_extent(renderer)
            assert extent.width <= 0.95 * cell, (text.get_text(), extent.width, cell)
    for text in figure.texts:  # the formula lines and the title
        assert _inside(text.get_window_extent(renderer), page), text.get_text()
    heading = figure._suptitle
    assert _inside(heading.get_window_extent(renderer), page)


def test_the_title_gives_the_padding_of_every_side(figures, tmp_path) -> None:
    e = explain(np.ones((4, 4)), np.ones((2, 2)), padding="same")  # 0 before, 1 after
    _pictures.plot_explanation(e, tmp_path / "e.png")
    assert figures[0]._suptitle.get_text().endswith(
        "(stride 1, padding top 0, bottom 1, left 0, right 1)")
    figures.clear()
    _pictures.plot_explanation(explain(np.ones((4, 4)), np.ones((3, 3)), padding=1),
                               tmp_path / "e.png")
    assert figures[0]._suptitle.get_text().endswith("(stride 1, padding 1)")


def test_a_digit_fills_the_picture(figures, tmp_path) -> None:
    digit = np.random.default_rng(0).integers(0, 256, (28, 28))
    _pictures.plot_explanation(explain(digit, np.ones((3, 3)), padding="same"),
                               tmp_path / "e.png", (10, 12))
    (figure,) = figures
    renderer = figure.canvas.get_renderer()
    used = sum(ax.get_window_extent(renderer).width * ax.get_window_extent(renderer).height
               for ax in figure.axes)
    assert used > 0.3 * figure.bbox.width * figure.bbox.height


def test_large_matrices_are_summarised(capsys) -> None:
    rng = np.random.default_rng(1)
    e = explain(rng.integers(0, 256, (512, 512)), np.ones((3, 3)))
    text = e.text(at=[(0, 0)])
    assert len(text) < 5000
    assert "(512x512: the corners shown; --full prints every value)" in text
    assert "(510x510: the corners shown; --full prints every value)" in text
    assert len(e.text(full=True)) > 1_000_000


def test_gif_of_a_digit_samples_the_positions(monkeypatch, capsys, tmp_path) -> None:
    from PIL import Image

    monkeypatch.setattr(_pictures, "MAX_FRAMES", 4)
    digit = tmp_path / "digit.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (28, 28), np.uint8)).save(digit)
    gif = tmp_path / "slide.gif"
    with pytest.raises(SystemExit) as stop:
        main(["explain", "-i", str(digit), "-k", "sobel-x", "--gif", str(gif)])
    out = capsys.readouterr().out
    assert stop.value.code == 0
    assert out.endswith(f"wrote {gif} (4 frames, about one in 169 of the 676 positions)\n")
    with Image.open(gif) as animation:
        assert animation.n_frames == 4
