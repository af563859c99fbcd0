"""``Sequential.predict`` on a dask array: the in-memory predictions, one task per chunk."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

import strided
from strided import layers


def small_model() -> strided.Sequential:
    strided.set_random_seed(0)
    return strided.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(10, 8, 8, 1)).astype(np.float32)


def test_predict_on_a_dask_array_gives_a_dask_array_of_the_same_predictions(images):
    model = small_model()
    expected = model.predict(images, batch_size=4)
    with dask.config.set(scheduler="threads"):
        lazy = model.predict(da.from_array(images, chunks=(4, 4, 8, 1)), batch_size=4)
        assert isinstance(lazy, da.Array) and lazy.chunks == ((4, 4, 2), (3,))
        # chunks that are multiples of batch_size make the same batches: bit for bit
        np.testing.assert_array_equal(lazy.compute(), expected)
        other = model.predict(da.from_array(images, chunks=3), batch_size=4).compute()
    np.testing.assert_allclose(other, expected, rtol=1e-6, atol=1e-7)


def test_the_model_is_one_key_of_the_graph(images):
    model = small_model()
    lazy = model.predict(da.from_array(images, chunks=2))
    holders = [key for key, value in dict(lazy.dask).items()
               if value is model or getattr(value, "value", None) is model]
    assert len(holders) == 1
    assert lazy.numblocks == (5, 1)


def test_predict_refuses_an_image_of_the_wrong_shape(images):
    model = small_model()
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 8, 8, 1\)"):
        model.predict(da.zeros((4, 9, 8, 1), chunks=2))
