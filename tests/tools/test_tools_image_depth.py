"""Images read as they are: 16-bit grey, float TIFFs, alpha; refused where not faithful."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from strided.cli._main import main
from strided.tools._images import filter_image, read_image, write_atomic, write_image


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


@pytest.fixture
def grey16(tmp_path: Path) -> tuple[Path, np.ndarray]:
    pixels = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    path = tmp_path / "g16.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def test_a_16_bit_grey_png_with_grey_keeps_its_values(grey16, capsys, tmp_path: Path) -> None:
    path, pixels = grey16
    np.testing.assert_array_equal(read_image(path, grey=True), pixels)
    out = tmp_path / "out.png"
    status, stdout, err = cli(capsys, "filter", str(path), "-k", "identity", "--grey", "-o",
                              str(out))
    assert status == 0, err
    assert "16-bit" in stdout
    np.testing.assert_array_equal(np.asarray(Image.open(out)), pixels)


def test_a_float_tiff_keeps_its_range(capsys, tmp_path: Path) -> None:
    values = np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8)
    path = tmp_path / "f.tif"
    Image.fromarray(values).save(path)
    read = read_image(path)
    assert read.dtype == np.float32 and read.shape == (6, 8)
    np.testing.assert_array_equal(read, values)
    result, stats = filter_image(read, np.array([[0.5]]))
    np.testing.assert_allclose(result, values * 0.5, rtol=1e-7)
    assert stats["clipped"] == 0
    out = tmp_path / "half.tif"
    status, stdout, err = cli(capsys, "filter", str(path), "-k", "0.5", "-o", str(out))
    assert status == 0, err
    assert "grey, float" in stdout
    np.testing.assert_allclose(np.asarray(Image.open(out)), values * 0.5, rtol=1e-7)
    status, _, err = cli(capsys, "filter", str(path), "-k", "0.5", "-o", str(tmp_path / "a.png"))
    assert status == 1
    assert "a float image is kept as float, which only TIFF holds; use .tif" in err


def test_alpha_is_filtered_like_a_channel(capsys, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    np.testing.assert_array_equal(read_image(path), rgba)
    assert read_image(path, alpha=False).shape == (6, 7, 3)
    assert read_image(path, grey=True).shape == (6, 7, 2)
    out = tmp_path / "shift.png"
    status, stdout, err = cli(capsys, "filter", str(path), "-k", "shift-left", "-o", str(out))
    assert status == 0, err
    assert "colour and alpha, alpha filtered like a channel" in stdout
    written = np.asarray(Image.open(out))
    expected = np.zeros_like(rgba)
    expected[:, :-1] = rgba[:, 1:]  # out[i, j] = in[i, j + 1], zeros past the edge
    np.testing.assert_array_equal(written, expected)
    status, _, err = cli(capsys, "filter", str(path), "-k", "identity", "-o",
                         str(tmp_path / "a.jpg"))
    assert status == 1 and ".jpg has no alpha channel and the image has one" in err


def test_what_cannot_be_read_faithfully_is_refused(tmp_path: Path) -> None:
    cmyk = tmp_path / "c.jpg"
    Image.new("CMYK", (4, 4)).save(cmyk)
    with pytest.raises(ValueError, match=r"cannot read image '.*c.jpg' faithfully: its colour "
                                         r"space is CMYK; convert it to RGB first"):
        read_image(cmyk)
    wide = tmp_path / "i.tif"
    Image.fromarray(np.array([[0, 70000]], dtype=np.int32)).save(wide)
    with pytest.raises(ValueError, match=r"32-bit integer pixels from 0 to 70000 do not fit"):
        read_image(wide)


def test_an_unwritable_output_names_the_users_path(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"^cannot write '/proc/o.png': ") as error:
        write_image("/proc/o.png", np.zeros((2, 2), np.uint8))
    assert ".o-" not in str(error.value)

    def fail(name: str) -> None:
        raise PermissionError(13, "Permission denied", name)

    with pytest.raises(OSError, match=r"^cannot write '.*x.png': Permission denied$"):
        write_atomic(tmp_path / "x.png", fail)
    assert list(tmp_path.iterdir()) == []
