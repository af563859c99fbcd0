"""Command-line arguments read as written: ``A,B`` values, kernel files, numbers beyond int64."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strided import kernels
from strided.cli._main import main
from strided.tools._images import load_kernel, load_matrix


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


@pytest.mark.parametrize(("option", "expected"), [
    (["--kernel", "5,3"], ["height: (28 + 0 + 0 - 5)", "width: (28 + 0 + 0 - 3)",
                           "output 24 x 26 x 4"]),
    (["--kernel", "3", "--stride", "2,1"], ["stride 2x1", "output 13 x 26 x 4"]),
    (["--kernel", "3", "--dilation", "2,1"], ["dilation 2x1", "output 24 x 26 x 4"]),
    (["--kernel", "3", "--padding", "2,0", "--convention", "torch", "--input", "3x28x28"],
     ["padding 2x0", "output 4 x 30 x 26"]),
])
def test_shape_reads_both_numbers_of_a_pair(capsys, option: list[str],
                                            expected: list[str]) -> None:
    args = ["shape", "--input", "28x28x3", "--filters", "4", *option]
    status, out, err = cli(capsys, *args)
    assert status == 0, err
    for text in expected:
        assert text in out


def test_shape_options_cannot_set_one_another(capsys) -> None:
    status, out, err = cli(capsys, "shape", "--input", "28x28x3", "--filters", "3", "--kernel",
                           "3", "--padding", "same,groups=3")
    assert status == 1 and out == ""
    assert "got padding='same,groups=3'" in err
    assert "groups 3" not in out


def test_a_nan_kernel_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.npy"
    np.save(path, np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"kernel '.*k.npy' must hold finite numbers; got 1 NaN"):
        load_kernel(str(path))


def test_a_string_kernel_file_reports_its_own_shape(tmp_path: Path) -> None:
    path = tmp_path / "s.npy"
    np.save(path, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"must hold real numbers \(int or float\); got dtype "
                                         r"<U1 and shape \(1, 2\)"):
        load_kernel(str(path))


def test_a_semicolon_csv_is_a_matrix(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text("1;2;3\n4;5;6\n")
    np.testing.assert_array_equal(load_matrix(str(path)), [[1, 2, 3], [4, 5, 6]])
    path.write_text("1,2,3\r\n4,5,6\r\n")
    np.testing.assert_array_equal(load_matrix(str(path)), [[1, 2, 3], [4, 5, 6]])


def test_an_empty_kernel_reports_its_own_shape(tmp_path: Path) -> None:
    path = tmp_path / "e.npy"
    np.save(path, np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"kernel '.*e.npy' is empty; got shape \(0, 3\)$"):
        load_kernel(str(path))


def test_numbers_beyond_int64_become_float64() -> None:
    big = kernels.parse("1e19, 1")
    assert big.dtype == np.float64 and big[0, 0] == 1e19
    assert kernels.parse(str(2 ** 63 - 1)).dtype == np.int64
    with pytest.raises(ValueError, match=r"kernel '1e400' holds a number too large for float64"):
        kernels.parse("1e400")
    np.testing.assert_array_equal(load_kernel("1e300"), [[1e300]])


@pytest.mark.parametrize("args", [
    ["explain", "--input", "1e19", "--kernel", "1"],
    ["explain", "--input", "1e400", "--kernel", "1"],
    ["kernels", "1e19"],
])
def test_big_numbers_give_one_line_not_a_traceback(capsys, args: list[str]) -> None:
    status, out, err = cli(capsys, *args)
    assert "Traceback" not in err and "OverflowError" not in err
    if status:
        assert err.count("\n") == 1 and err.startswith("strided: error: ")
    else:
        assert "10000000000000000000" in out
