"""strided.dask on a real ``distributed.LocalCluster`` of 2 worker processes, started here.

One cluster for the module and a few cases: that the blocks, the weights and the model travel
to other processes and come back equal to the in-memory results.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from dask_helpers import assert_same
from distributed import Client, LocalCluster
from test_dask_predict import small_model

import strided
import strided.dask as sd


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def test_the_cluster_has_two_worker_processes(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert len(set(client.run(lambda: __import__("os").getpid()).values())) == 2


@pytest.mark.parametrize(("stride", "dilation", "padding", "mode", "groups", "chunks"), [
    (2, 1, 1, "zeros", 1, (1, 4, 3, 5)),
    (3, 2, "same", "circular", 2, (2, 4, 7, 2)),
    ((1, 2), 1, ((2, 0), (1, 3)), "reflect", 1, (1, 4, 13, 13)),
])
def test_functional_on_the_cluster_equals_in_memory(client, stride, dilation, padding, mode,
                                                    groups, chunks):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 4, 13, 11)), rng.normal(size=(6, 4 // groups, 3, 3)), \
        rng.normal(size=6)
    kwargs = dict(bias=b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode)
    expected = strided.functional.conv2d(x, w, **kwargs)
    lazy = sd.functional.conv2d(da.from_array(x, chunks=chunks), w, **kwargs)
    assert_same(client.compute(lazy).result(), expected)


def test_nn_3d_and_signal_on_the_cluster_equal_in_memory(client):
    rng = np.random.default_rng(1)
    volume, filters = rng.integers(-4, 5, (1, 9, 8, 7, 2)), rng.integers(-2, 3, (3, 3, 2, 2, 3))
    lazy = sd.nn.conv3d(da.from_array(volume, chunks=(1, 4, 3, 5, 2)), filters, 2, "SAME")
    assert_same(lazy.compute(), strided.nn.conv3d(volume, filters, 2, "SAME"))
    image, kernel = rng.normal(size=(20, 17)), rng.normal(size=(5, 4))
    lazy = sd.signal.convolve2d(da.from_array(image, chunks=(6, 4)), kernel, "same", "symm")
    assert_same(lazy.compute(), strided.signal.convolve2d(image, kernel, "same", "symm"))


def test_predict_on_the_cluster_equals_in_memory(client):
    model = small_model()
    images = np.random.default_rng(2).normal(size=(12, 8, 8, 1)).astype(np.float32)
    lazy = model.predict(da.from_array(images, chunks=(4, 8, 8, 1)), batch_size=4)
    np.testing.assert_array_equal(lazy.compute(), model.predict(images, batch_size=4))


def test_filter_tiles_on_the_cluster_give_the_in_memory_pixels(client, tmp_path):
    from strided.dask._filter import filter_tiled
    from strided.tools import filter_image

    pixels = np.random.default_rng(3).integers(0, 256, (61, 47, 3), dtype=np.uint8)
    expected, stats = filter_image(pixels, np.ones((3, 3)) / 9, 2, "same", "circular")
    tiled, _, tiled_stats = filter_tiled(
        pixels, None, np.ones((3, 3)) / 9, 2, "same", "circular", convolve=False,
        normalize=False, memory=1_000_000, scheduler=client.scheduler.address)
    np.testing.assert_array_equal(tiled, expected)
    assert tiled_stats == stats
