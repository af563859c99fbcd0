"""The real ``strided`` command line, run in a subprocess on real images; files checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tools_helpers import read_png, run

from strided import functional, kernels

LECTURE_INPUT = "2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4"
LECTURE_KERNEL = "1,1,1;0,0,0;-1,-1,-1"
SOBEL_INPUT = "2,0,3,1;1,1,0,0;1,0,2,0;1,0,1,2"

ORANGE = np.array([255, 159, 64])  # the explained output cell
FIELD = np.array([255, 210, 127])  # the receptive field
PADDING = np.array([217, 217, 217])  # padding cells


def ok(result: object) -> str:
    """stdout of a run that must have succeeded."""
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    assert result.stderr == ""  # type: ignore[attr-defined]
    return result.stdout  # type: ignore[attr-defined, no-any-return]


def has_colour(pixels: np.ndarray, colour: np.ndarray, tolerance: int = 3) -> int:
    """How many pixels have ``colour``."""
    return int(np.all(np.abs(pixels[..., :3].astype(int) - colour) <= tolerance, axis=-1).sum())


# ---- filter -----------------------------------------------------------------------------

def test_filter_identity_returns_the_digit(digit_png: Path, digit: np.ndarray,
                                           tmp_path: Path) -> None:
    out = tmp_path / "same.png"
    stdout = ok(run("filter", str(digit_png), "--kernel", "identity", "-o", str(out)))
    assert stdout.startswith(f"wrote {out} (28x28 pixels, grey)")
    np.testing.assert_array_equal(read_png(out), digit)


def test_filter_shift_moves_the_digit_one_pixel_right(digit_png: Path, digit: np.ndarray,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "shifted.png"
    ok(run("filter", str(digit_png), "-k", "shift-right", "-o", str(out)))
    shifted = read_png(out)
    np.testing.assert_array_equal(shifted[:, 1:], digit[:, :-1])
    assert np.all(shifted[:, 0] == 0)
    ok(run("filter", str(digit_png), "-k", "shift-right", "--convolve", "-o", str(out)))
    np.testing.assert_array_equal(read_png(out)[:, :-1], digit[:, 1:])  # flipped: left


def test_filter_edge_kernel_on_a_step_gives_a_line(tmp_path: Path) -> None:
    from PIL import Image

    step = np.zeros((12, 16), np.uint8)
    step[:6] = 200  # bright top, dark bottom
    Image.fromarray(step).save(tmp_path / "step.png")
    out = tmp_path / "line.png"
    stdout = ok(run("filter", str(tmp_path / "step.png"), "--kernel", LECTURE_KERNEL,
                    "--padding", "valid", "-o", str(out)))
    line = read_png(out)
    assert line.shape == (10, 14)
    expected = np.zeros((10, 14), np.uint8)
    expected[4:6] = 255  # 3 * 200 = 600, clipped: a two-pixel white line at the step
    np.testing.assert_array_equal(line, expected)
    assert "result range 0..600; 20.0% of the values were outside 0..255 and were clipped" \
        in stdout


def test_filter_blur_of_a_constant_image_is_constant(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((9, 13), 77, np.uint8)).save(tmp_path / "flat.png")
    out = tmp_path / "flat_blur.png"
    ok(run("filter", str(tmp_path / "flat.png"), "-k", "gaussian", "--size", "5", "--sigma",
           "2", "--mode", "reflect", "-o", str(out)))
    np.testing.assert_array_equal(read_png(out), np.full((9, 13), 77))


def test_filter_colour_photo_per_channel_with_stride(photo_jpg: Path, tmp_path: Path) -> None:
    from PIL import Image

    source = np.asarray(Image.open(photo_jpg).convert("RGB")).astype(np.float64)
    out = tmp_path / "edges.png"
    stdout = ok(run("filter", str(photo_jpg), "-k", "sobel-y", "--stride", "2", "--normalize",
                    "--mode", "replicate", "-o", str(out)))
    assert "colour" in stdout and "rescaled to 0..255" in stdout
    edges = read_png(out)
    h, w = source.shape[:2]
    assert edges.shape == (-(-h // 2), -(-w // 2), 3)
    expected = functional.conv2d(source.transpose(2, 0, 1)[:, None],
                                 kernels.SOBEL_Y[None, None].astype(np.float64), stride=2,
                                 padding="same", padding_mode="replicate")[:, 0]
    expected = expected.transpose(1, 2, 0)
    expected = np.rint((expected - expected.min()) * 255 / np.ptp(expected))
    np.testing.assert_array_equal(edges, expected)
    assert edges.min() == 0 and edges.max() == 255


def test_filter_writes_jpeg(photo_jpg: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "blur.jpg"
    ok(run("filter", str(photo_jpg), "-k", "box-blur", "-o", str(out)))
    with Image.open(out) as image:
        assert image.format == "JPEG" and image.size == Image.open(photo_jpg).size


# ---- explain ----------------------------------------------------------------------------

def test_explain_lecture_example() -> None:
    stdout = ok(run("explain", "--input", LECTURE_INPUT, "--kernel", LECTURE_KERNEL,
                    "--at", "1,0"))
    assert "output V:\n  -4 -3\n   3 -8\n" in stdout
    assert "V(1, 0) = sum_m sum_n I(1 + m, 0 + n) * K(m, n)" in stdout
    assert "  m = 2:  0*(-1) + 5*(-1) + 1*(-1)  =  -6" in stdout
    assert stdout.rstrip().endswith("V(1, 0) = 9 + 0 + (-6) = 3")


def test_explain_padding_problem_example_every_position() -> None:
    stdout = ok(run("explain", "-i", "2,0,1,3;0,1,1,0;0,0,2,0;0,1,1,1", "-k", "edge",
                    "--at", "all"))
    assert "output V:\n   1  2\n   0 -1\n" in stdout
    for position, value in [("0, 0", 1), ("0, 1", 2), ("1, 0", 0), ("1, 1", -1)]:
        assert f"V({position}) = " in stdout and f"= {value}\n" in stdout + "\n"


def test_explain_sobel_same_with_png_and_gif(tmp_path: Path) -> None:
    from PIL import Image

    png, gif = tmp_path / "v00.png", tmp_path / "slide.gif"
    stdout = ok(run("explain", "-i", SOBEL_INPUT, "-k", "sobel-x", "--padding", "same",
                    "--at", "0,0", "--png", str(png), "--gif", str(gif)))
    assert "output V:\n  -1 -1 -1  6\n  -2  0  1  5\n  -1 -1 -1  5\n   0 -1 -4  4\n" in stdout
    assert "padded input (padding cells in parentheses):" in stdout
    assert "  V(0, 0) = 0 + 0 + (-1) = -1" in stdout
    pixels = read_png(png)
    assert pixels.shape[1] >= 700 and pixels.shape[0] >= 350
    assert has_colour(pixels, ORANGE) > 500  # the chosen output cell
    assert has_colour(pixels, PADDING) > 2000  # padding cells drawn grey
    with Image.open(gif) as animation:
        assert animation.format == "GIF" and animation.n_frames == 16
        centres = []
        for frame in range(0, 16, 5):
            animation.seek(frame)
            rgb = np.asarray(animation.convert("RGB"))
            rows, cols = np.nonzero(np.all(np.abs(rgb.astype(int) - ORANGE) < 12, axis=-1))
            centres.append((int(rows.mean()), int(cols.mean())))
        assert len(set(centres)) == 4  # the highlighted output cell moves frame to frame


def test_explain_valid_png_has_no_padding_cells(tmp_path: Path) -> None:
    png = tmp_path / "v10.png"
    ok(run("explain", "-i", LECTURE_INPUT, "-k", LECTURE_KERNEL, "--at", "1,0", "--png",
           str(png)))
    pixels = read_png(png)
    assert has_colour(pixels, PADDING) < 400  # only where grid lines blend; padded: > 2000
    assert has_colour(pixels, FIELD) > 1000


def test_explain_reads_files(tmp_path: Path) -> None:
    np.save(tmp_path / "i.npy", np.array([[2, 0, 1, 3], [7, 1, 1, 0], [0, 2, 5, 0],
                                          [0, 5, 1, 4]]))
    (tmp_path / "k.csv").write_text("1,1,1\n0,0,0\n-1,-1,-1\n")
    stdout = ok(run("explain", "-i", str(tmp_path / "i.npy"), "-k", str(tmp_path / "k.csv")))
    assert "output V:\n  -4 -3\n   3 -8\n" in stdout


def test_explain_curve_detector() -> None:
    ear = "0,0,0,0,0,0,30;0,0,0,0,50,50,50;0,0,0,20,50,0,0" + ";0,0,0,50,50,0,0" * 4
    stdout = ok(run("explain", "-i", ear, "-k", "curve-detector"))
    assert "output V:\n  6600\n" in stdout
    assert stdout.rstrip().endswith("V(0, 0) = 0 + 1500 + 600 + 1500 + 1500 + 1500 + 0 = 6600")


# ---- shape ------------------------------------------------------------------------------

def test_shape_issue_example() -> None:
    stdout = ok(run("shape", "--input", "28x28x1", "--filters", "16", "--kernel", "5",
                    "--stride", "2", "--padding", "same"))
    assert "padding = max((14 - 1) * 2 + 5 - 28, 0) = 3 -> 1 top, 2 bottom" in stdout
    assert "parameters: 5 * 5 * 1 * 16 weights + 16 biases = 416" in stdout


def test_shape_stack_torch() -> None:
    stdout = ok(run("shape", "--input", "3x32x32", "--convention", "torch", "--layer",
                    "conv:16,3,1,1", "--layer", "pool:2", "--layer", "conv:32,3"))
    assert "output 14 x 14 x 32 (C x H x W)" not in stdout
    assert "total: 3 x 32 x 32 (C x H x W) -> 32 x 14 x 14 (C x H x W), 5,088 parameters" \
        in stdout


def test_shape_impossible_says_why_after_the_layers_that_work() -> None:
    result = run("shape", "--input", "8x8x1", "--layer", "conv:4,3", "--layer", "pool:2",
                 "--layer", "conv:8,5")
    assert result.returncode == 1
    assert "layer 2: pool 2x2" in result.stdout and "layer 3" not in result.stdout
    assert result.stderr == (
        "strided: error: layer 3 (conv 8 filters 5x5, stride 1, padding valid) is impossible: "
        "along the height the 5-cell kernel does not fit in the input of 3 cells plus padding "
        "0 + 0 = 3 cells; use a smaller kernel, more padding, 'same' padding, or a larger "
        "input\n")


# ---- draw -------------------------------------------------------------------------------

def test_draw_filters_catalogue(tmp_path: Path) -> None:
    out = tmp_path / "bank.png"
    assert ok(run("draw", "filters", "-o", str(out))) == f"wrote {out} (17 kernels)\n"
    pixels = read_png(out)
    assert pixels.shape[1] > 900 and pixels.shape[0] > 500
    red, blue = np.array([103, 0, 31]), np.array([5, 48, 97])  # RdBu_r's ends
    assert has_colour(pixels, red, 8) > 1000 and has_colour(pixels, blue, 8) > 1000


def test_draw_filters_from_weights(tmp_path: Path) -> None:
    weights = np.random.default_rng(0).normal(size=(5, 5, 3, 4))
    np.save(tmp_path / "w.npy", weights)
    out = tmp_path / "learned.png"
    assert ok(run("draw", "filters", "--weights", str(tmp_path / "w.npy"), "-o", str(out))) \
        == f"wrote {out} (4 filters of 3 channels, from {tmp_path / 'w.npy'})\n"
    assert read_png(out).shape[1] > 400


def test_draw_features_of_the_digit(digit_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps.png"
    stdout = ok(run("draw", "features", str(digit_png), "-k", "sobel-x", "-k", "sobel-y",
                    "-k", "box-blur", "--relu", "-o", str(out)))
    assert stdout == f"wrote {out} (3 feature maps)\n"
    pixels = read_png(out)
    assert pixels.shape[1] == 960  # input + 3 maps, 2.4 inches at 100 dpi each
    grey = pixels[..., :3].astype(int)
    dark = np.all(grey < 40, axis=-1).sum()
    assert dark > 0.2 * pixels.shape[0] * pixels.shape[1]  # black backgrounds of the maps


def test_draw_receptive_field_on_the_digit(digit_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "rf.png"
    ok(run("draw", "receptive-field", "--input", "28x28", "--layer", "conv:8,5", "--layer",
           "pool:2", "--layer", "conv:16,5", "--at", "3,3", "--image", str(digit_png),
           "-o", str(out)))
    pixels = read_png(out)
    assert pixels.shape == (370, 1200, 3)
    blue_box = np.array([31, 143, 255])
    assert has_colour(pixels, blue_box, 10) > 300  # the field's outline


def test_draw_connectivity_lecture(tmp_path: Path) -> None:
    out = tmp_path / "conn.png"
    ok(run("draw", "connectivity", "--input", LECTURE_INPUT, "-o", str(out)))
    pixels = read_png(out)
    assert pixels.shape[1] == 1500
    tab10 = [np.array(c) for c in ([31, 119, 180], [255, 127, 14], [44, 160, 44],
                                   [214, 39, 40])]
    assert all(has_colour(pixels, c, 6) > 200 for c in tab10)  # one colour per output


# ---- help and errors --------------------------------------------------------------------

@pytest.mark.parametrize("command", [["filter"], ["explain"], ["shape"], ["kernels"],
                                     ["draw"], ["draw", "filters"], ["draw", "features"],
                                     ["draw", "receptive-field"], ["draw", "connectivity"]])
def test_every_command_has_examples_in_help(command: list[str]) -> None:
    stdout = ok(run(*command, "--help"))
    assert "Examples" in stdout
    assert f"\n    strided {' '.join(command)} " in stdout or command == ["draw"]
    if command == ["draw"]:
        assert "\n    strided draw filters -o bank.png\n" in stdout


def test_kernels_listing() -> None:
    stdout = ok(run("kernels"))
    assert stdout.splitlines()[0].startswith("identity ")
    assert len(stdout.splitlines()) == len(kernels.names())
    assert ok(run("kernels", "sobel-x")).splitlines()[1:] == ["   1  0 -1", "   2  0 -2",
                                                              "   1  0 -1"]


@pytest.mark.parametrize(("arguments", "message"), [
    (["filter", "{tmp}/missing.png", "-k", "blur", "-o", "{tmp}/o.png"],
     "strided: error: cannot read image '{tmp}/missing.png': no such file"),
    (["filter", "{tmp}/fake.png", "-k", "blur", "-o", "{tmp}/o.png"],
     "strided: error: cannot read image '{tmp}/fake.png': not an image Pillow can read"),
    (["filter", "{digit}", "-k", "sobelz", "-o", "{tmp}/o.png"],
     "strided: error: unknown kernel name 'sobelz'; known names: identity, box-blur"),
    (["filter", "{digit}", "-k", "1,1;0", "-o", "{tmp}/o.png"],
     "strided: error: kernel '1,1;0' has rows of different lengths [2, 1]"),
    (["filter", "{digit}", "-k", "1,x;0,1", "-o", "{tmp}/o.png"],
     "strided: error: kernel '1,x;0,1' is not a matrix of numbers: 'x' is not a number"),
    (["filter", "{digit}", "-k", "blur", "-o", "{tmp}/no/dir/o.png"],
     "strided: error: cannot write '{tmp}/no/dir/o.png': the directory"),
    (["filter", "{digit}", "-k", "blur", "--padding", "lots", "-o", "{tmp}/o.png"],
     "strided: error: --padding must be valid, same, N, ROWS,COLS or TOP,BOTTOM,LEFT,RIGHT"),
    (["explain", "-i", LECTURE_INPUT, "-k", LECTURE_KERNEL, "--at", "5,5"],
     "strided: error: explain: output position (5, 5) is outside the 2x2 output"),
    (["explain", "-i", "1,2;3", "-k", LECTURE_KERNEL],
     "strided: error: input '1,2;3' has rows of different lengths"),
    (["explain", "-i", LECTURE_INPUT, "-k", "1,1,1,1,1"],
     "strided: error: explain: the kernel is larger than the padded input"),
    (["shape", "--input", "28x28x1", "--layer", "dense:10"],
     "strided: error: layer 'dense:10': the kind must be 'conv' or 'pool'"),
    (["draw", "connectivity", "--input", "12x12", "-o", "{tmp}/c.png"],
     "strided: error: connectivity: the input must be at most 8x8"),
    (["draw", "filters", "-k", "sobel-x", "-o", "{tmp}/bank.jpg"],
     "strided: error: cannot write picture '{tmp}/bank.jpg': pictures are PNG files"),
])
def test_errors_are_one_line_with_exit_status_1(arguments: list[str], message: str,
                                                tmp_path: Path, digit_png: Path) -> None:
    (tmp_path / "fake.png").write_text("not an image")
    fill = {"tmp": str(tmp_path), "digit": str(digit_png)}
    result = run(*[a.format(**fill) for a in arguments])
    assert result.returncode == 1
    assert result.stderr.startswith(message.format(**fill))
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.png"]  # nothing half-written


def test_usage_error_exits_2() -> None:
    result = run("filter", "image.png")
    assert result.returncode == 2
    assert "Missing option '-k' / '--kernel'" in result.stderr


def test_import_strided_needs_neither_pillow_nor_matplotlib() -> None:
    import subprocess
    import sys

    code = ("import sys, strided, strided.kernels, strided.tools; "
            "print(sorted(m for m in ('PIL', 'matplotlib', 'click') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_explain_dilation() -> None:
    result = run("explain", "-i", "2,0,1,3;7,1,1,0;0,2,5,0;0,5,1,4", "-k", "1,1;0,-1",
                 "--dilation", "2", "--at", "1,1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("input I: 4x4, kernel K: 2x2, stride 1, dilation 2, no padding (VALID), "
                        "cross-correlation")
    assert lines[1] == ("output V: 2x2   rows: (4 + 0 + 0 - 2*(2 - 1) - 1) // 1 + 1 = 2   "
                        "columns: (4 + 0 + 0 - 2*(2 - 1) - 1) // 1 + 1 = 2")
    # V(1, 1) = I(1, 1) + I(1, 3) - I(3, 3) = 1 + 0 - 4
    assert lines[-1] == "  V(1, 1) = 1 + (-4) = -3"
    bad = run("explain", "-i", "1,2;3,4", "-k", "1", "--dilation", "0")
    assert bad.returncode == 1
    assert bad.stderr == ("strided: error: --dilation must be a positive integer or ROWS,COLS; "
                          "got '0'\n")
