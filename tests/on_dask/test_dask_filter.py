"""``strided filter`` on Zarr images, in tiles: the in-memory pixels, bounded memory, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from strided.cli import main
from strided.dask._filter import filter_tiled, filter_values
from strided.tools import filter_image, read_image, write_image

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> None:
    with pytest.raises(SystemExit) as exit:
        main(list(args))
    assert exit.value.code == 0


def to_zarr(path: Path, pixels: np.ndarray, chunks: tuple[int, ...]) -> Path:
    array = zarr.create_array(str(path), shape=pixels.shape, chunks=chunks, dtype=pixels.dtype)
    array[...] = pixels
    return path


@pytest.fixture(scope="module")
def colour(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    pixels = np.random.default_rng(0).integers(0, 256, (83, 101, 3), dtype=np.uint8)
    folder = tmp_path_factory.mktemp("colour")
    png = write_image(folder / "image.png", pixels)
    return png, to_zarr(folder / "image.zarr", pixels, (20, 30, 3)), pixels


@pytest.mark.parametrize("options", [
    ["-k", "gaussian", "--size", "9", "--sigma", "2"],
    ["-k", "sobel-x", "--normalize", "--stride", "2", "--mode", "reflect"],
    ["-k", "1,2;3,-4;0,1", "--padding", "1,2,0,3", "--mode", "circular", "--stride", "3,2"],
    ["-k", "box-blur", "--padding", "7,2,0,9", "--stride", "2", "--convolve"],
])
def test_zarr_in_tiles_gives_the_in_memory_pixels(colour, tmp_path, options, capsys):
    png, image_zarr, _ = colour
    run_cli("filter", str(png), *options, "-o", str(tmp_path / "memory.png"))
    in_memory = capsys.readouterr().out.replace("memory.png", "OUT")
    run_cli("filter", str(image_zarr), *options, "--memory", "1MB", "--no-progress",
            "-o", str(tmp_path / "tiled.zarr"))
    tiled = capsys.readouterr().out.replace("tiled.zarr", "OUT")
    result = zarr.open_array(str(tmp_path / "tiled.zarr"), mode="r")
    assert result.chunks[0] < result.shape[0]  # more than one tile
    np.testing.assert_array_equal(result[...], read_image(tmp_path / "memory.png"))
    assert tiled == in_memory  # the same sizes, range and clipped share


def test_progress_bar_counts_the_tiles(colour, tmp_path, capsys):
    _, image_zarr, _ = colour
    run_cli("filter", str(image_zarr), "-k", "box-blur", "--memory", "1MB", "--progress",
            "-o", str(tmp_path / "tiled.zarr"))
    tiles = zarr.open_array(str(tmp_path / "tiled.zarr"), mode="r").nchunks
    assert f"{tiles}/{tiles}" in capsys.readouterr().err


@settings(max_examples=15)
@given(kernel=st.tuples(st.integers(1, 5), st.integers(1, 5)), stride=st.integers(1, 3),
       padding=st.sampled_from(["same", "valid", 2, ((0, 3), (4, 1))]),
       mode=st.sampled_from(["zeros", "reflect", "replicate", "circular", "symmetric"]),
       tile=st.integers(1, 40), data=st.data())
def test_tiles_give_the_values_of_the_in_memory_strips(kernel, stride, padding, mode, tile,
                                                       data):
    pixels = np.random.default_rng(1).integers(0, 65536, (37, 29), dtype=np.uint16)
    weights = np.random.default_rng(2).normal(size=kernel)
    if mode == "reflect":
        padding = "same" if max(kernel) <= 3 else "valid"
    expected, stats = filter_image(pixels, weights, stride, padding, mode)
    tiled, shape, tiled_stats = filter_tiled(
        pixels, None, weights, stride, padding, mode, convolve=False, normalize=False,
        memory=data.draw(st.sampled_from([1_000_000, 100_000_000])))
    np.testing.assert_array_equal(tiled, expected)
    assert shape == expected.shape and tiled_stats == stats
    values = filter_values(pixels, weights, stride, padding, mode, tile=tile)
    assert values.chunks[0][0] == min(tile, expected.shape[0])


def test_tiles_read_only_their_window(tmp_path):
    reads = []

    class Recording(np.ndarray):
        def __getitem__(self, index):
            reads.append(index)
            return np.asarray(self).__getitem__(index)

    pixels = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100).view(Recording)
    values = filter_values(pixels, np.ones((3, 3)), tile=25)
    values.blocks[1, 2].compute(scheduler="sync")
    assert reads == [(slice(24, 51), slice(49, 76))]  # the tile's 25 rows and columns + halo


@pytest.mark.slow
def test_memory_stays_within_the_setting_for_an_image_four_times_larger(tmp_path):
    """A 32 MB Zarr image filtered with --memory 8MB; peak traced allocations measured."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs os.sched_setaffinity (Linux) to run on one CPU")
    image = zarr.create_array(str(tmp_path / "big.zarr"), shape=(4096, 4096), chunks=(128, 128),
                              dtype=np.uint16, compressors=None)
    rng = np.random.default_rng(0)
    for first in range(0, 4096, 512):
        image[first:first + 512] = rng.integers(0, 65536, (512, 4096), dtype=np.uint16)
    # On one CPU (so one tile at a time, each as large as the setting allows): the test stays
    # quick, and the setting's arithmetic is the same per thread.
    script = textwrap.dedent(f"""
        import os, tracemalloc
        os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
        import distributed, zarr, strided.cli._filter, strided.dask._filter  # imports first
        from strided.cli import main
        tracemalloc.start()
        try:
            main(["filter", {str(tmp_path / "big.zarr")!r}, "-k", "box-blur", "--memory", "8MB",
                  "--no-progress", "-o", {str(tmp_path / "out.zarr")!r}])
        except SystemExit as exit:
            assert exit.code == 0, exit.code
        print(tracemalloc.get_traced_memory()[1])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=300)
    peak = int(done.stdout.split()[-1])
    assert peak < 8_000_000, f"peak traced memory {peak} bytes over the 8 MB setting"
    out = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")
    assert out.shape == (4096, 4096) and out.nchunks > 16
    # a band of rows against the in-memory filter of its window (rows 999..1100)
    expected, _ = filter_image(image[999:1101], np.ones((3, 3)) / 9, padding=((0, 0), (1, 1)))
    np.testing.assert_array_equal(out[1000:1100], expected)


def test_errors_are_one_line_messages(colour, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, image_zarr, _ = colour
    cases = [
        (["filter", str(image_zarr), "-k", "box-blur", "--memory", "lots", "-o", "x.zarr"],
         "--memory must be a size of at least 1MB such as 256MB or 2GiB; got 'lots'"),
        (["filter", str(image_zarr), "-k", "gaussian", "--size", "31", "--memory", "1MB",
          "-o", str(tmp_path / "x.zarr")], "--memory is too small for this image"),
        (["filter", str(tmp_path / "missing.zarr"), "-k", "box-blur", "-o", "x.zarr"],
         "cannot read image .*missing.zarr': no such file or directory"),
        (["filter", str(image_zarr), "-k", "box-blur", "--grey", "-o", "x.zarr"],
         "--grey converts images that Pillow reads"),
        (["filter", str(to_zarr(tmp_path / "f.zarr", np.zeros((4, 4)), (4, 4))), "-k",
          "box-blur", "-o", "x.zarr"], r"a Zarr image must be \(H, W\) or \(H, W, C\) of uint8"),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as exit:
            main(args)
        assert exit.value.code == 1
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1 and error.startswith("strided: error: ")
        assert re.search(message, error), error
    assert not (tmp_path / "x.zarr").exists()
    assert not list(tmp_path.glob(".x-*"))  # no temporary left behind
