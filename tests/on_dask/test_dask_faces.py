"""strided.dask's faces against the in-memory faces, over drawn configurations and chunkings.

Run on Dask's threaded scheduler; ``test_dask_distributed`` runs a few on a real cluster.
"""

from __future__ import annotations

import subprocess
import sys

import dask
import dask.array as da
import numpy as np
import pytest
from dask_helpers import assert_same, chunking
from hypothesis import assume, given
from hypothesis import strategies as st

import strided
import strided.dask as sd
from strategies import configs
from strided.dask._blocks import axis_plan


@pytest.fixture(autouse=True, scope="module")
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


@given(config=configs(modes=("zeros", "reflect", "replicate", "circular"), batch=(1, 3)),
       integers=st.booleans(), data=st.data())
def test_functional_equals_in_memory(config, integers, data):
    x, w, b = config.arrays(seed=3)
    if integers:
        x, w, b = (np.rint(4 * a).astype(np.int64) for a in (x, w, b))
    chunks = (data.draw(chunking(config.batch)), config.in_channels,
              *(data.draw(chunking(n)) for n in config.size))
    name = f"conv{config.rank}d"
    kwargs = dict(bias=b, stride=config.stride, padding=config.padding,
                  dilation=config.dilation, groups=config.groups, padding_mode=config.mode)
    expected = getattr(strided.functional, name)(x, w, **kwargs)
    lazy = getattr(sd.functional, name)(da.from_array(x, chunks=chunks), w, **kwargs)
    assert lazy.shape == expected.shape
    assert_same(lazy.compute(), expected)


@given(config=configs(modes=("zeros",), batch=(1, 2)), data=st.data())
def test_nn_channels_last_equals_in_memory(config, data):
    assume(config.groups == 1)  # tf.nn.convolution has no groups
    x, w, _ = config.arrays(seed=5)
    x = np.moveaxis(x, 1, -1)                            # NHWC
    w = np.moveaxis(w, (0, 1), (-1, -2))                 # HWIO
    chunks = (data.draw(chunking(config.batch)), *(data.draw(chunking(n)) for n in config.size),
              data.draw(chunking(config.in_channels)))  # channels chunked too: made one chunk
    expected = strided.nn.convolution(x, w, config.stride, config.padding if isinstance(
        config.padding, str) else [[0, 0], *config.pairs, [0, 0]], dilations=config.dilation)
    lazy = sd.nn.convolution(da.from_array(x, chunks=chunks), w, config.stride,
                             config.padding if isinstance(config.padding, str) else
                             [[0, 0], *config.pairs, [0, 0]], dilations=config.dilation)
    assert_same(lazy.compute(), expected)


@pytest.mark.parametrize(("rank", "name"), [(1, "conv1d"), (2, "conv2d"), (3, "conv3d")])
def test_nn_named_faces_with_same_padding_and_channels_first(rank, name):
    rng = np.random.default_rng(rank)
    x = rng.normal(size=(2, 3, *(9, 8, 7)[:rank]))
    w = rng.normal(size=(*(3, 2, 4)[:rank], 3, 5))
    fmt = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[rank]
    expected = getattr(strided.nn, name)(x, w, 2, "SAME", data_format=fmt, dilations=2)
    lazy = getattr(sd.nn, name)(da.from_array(x, chunks=(1, 3, *(4, 3, 2)[:rank])), w, 2,
                                "SAME", data_format=fmt, dilations=2)
    assert_same(lazy.compute(), expected)


def test_depthwise_equals_in_memory():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 11, 10, 3)), rng.normal(size=(3, 3, 3, 2))
    expected = strided.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME")
    lazy = sd.nn.depthwise_conv2d(da.from_array(x, chunks=(1, 4, 3, 3)), w, [1, 2, 2, 1],
                                  "SAME")
    assert lazy.shape == (2, 6, 5, 6)
    assert_same(lazy.compute(), expected)


@given(ndim=st.integers(1, 3), mode=st.sampled_from(["full", "valid", "same"]),
       name=st.sampled_from(["convolve", "correlate"]), data=st.data())
def test_signal_nd_equals_in_memory(ndim, mode, name, data):
    shape = data.draw(st.tuples(*[st.integers(1, 8)] * ndim))
    kernel_shape = tuple(data.draw(st.integers(1, n)) for n in shape)
    rng = np.random.default_rng(1)
    image, kernel = rng.integers(-5, 6, shape), rng.integers(-3, 4, kernel_shape)
    chunks = tuple(data.draw(chunking(n)) for n in shape)
    expected = getattr(strided.signal, name)(image, kernel, mode)
    assert_same(getattr(sd.signal, name)(da.from_array(image, chunks=chunks), kernel,
                                         mode).compute(), expected)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize(("boundary", "fillvalue"), [("fill", 0), ("fill", 2.5), ("wrap", 0),
                                                     ("symm", 0)])
@pytest.mark.parametrize("mode", ["full", "same"])
def test_signal_2d_boundaries_equal_in_memory(name, boundary, fillvalue, mode):
    rng = np.random.default_rng(2)
    image, kernel = rng.normal(size=(13, 11)), rng.normal(size=(4, 3))
    expected = getattr(strided.signal, name)(image, kernel, mode, boundary, fillvalue)
    lazy = getattr(sd.signal, name)(da.from_array(image, chunks=(2, 5)), kernel, mode, boundary,
                                    fillvalue)
    assert_same(lazy.compute(), expected)


def test_output_chunks_mirror_the_input_chunks_divided_by_the_stride():
    # 3x3 kernel, stride 2, padding 1 on 12 rows in chunks of 4: output chunks of 2.
    chunks, blocks = axis_plan((4, 4, 4), (1, 1), "zeros", 2, 3, 6)
    assert chunks == (2, 2, 2)
    # block 1 (outputs 2, 3) reads padded rows 4..8 = input rows 3..7: a halo of one row of
    # chunk 0 before chunk 1, with nothing trimmed away
    assert blocks[1].pieces == ((0, 3, 4), (1, 0, 4)) and blocks[1].take is None
    # block 0 (outputs 0, 1) reads a row of zeros above the image, then input rows 0..3
    assert blocks[0].pieces == ((0, 0, 4),) and blocks[0].take.tolist() == [-1, 0, 1, 2, 3]


def test_regular_chunks_stay_regular_with_same_padding():
    x = da.zeros((1, 1, 64, 64), chunks=(1, 1, 16, 16))
    y = sd.functional.conv2d(x, np.ones((1, 1, 5, 5)), padding="same")
    assert y.chunks[2:] == ((16,) * 4, (16,) * 4)


def test_chunks_smaller_than_the_kernel_read_several_neighbours():
    chunks, blocks = axis_plan((1,) * 6, (0, 0), "zeros", 1, 5, 2)
    assert chunks == (1, 1)
    assert [c for c, _, _ in blocks[0].pieces] == [0, 1, 2, 3, 4]


def test_circular_padding_reads_the_far_end_of_the_image():
    _, blocks = axis_plan((4, 4, 4), (2, 2), "circular", 1, 5, 12)
    # block 0 (outputs 0..3) reads rows 10, 11 of the last chunk, then rows 0..5
    assert blocks[0].pieces == ((0, 0, 4), (1, 0, 2), (2, 2, 4))
    assert blocks[0].take.tolist() == [6, 7, *range(6)]


def test_the_weights_are_one_key_of_the_graph():
    w = np.ones((1, 1, 3, 3))
    y = sd.functional.conv2d(da.zeros((1, 1, 40, 40), chunks=10), w, padding=1)
    holders = [key for key, value in y.dask.items() if value is w or (
        hasattr(value, "value") and value.value is w)]
    assert len(holders) == 1


def test_bad_arguments_raise_the_in_memory_messages_before_any_work():
    x = da.zeros((1, 2, 5, 5), chunks=2)
    with pytest.raises(ValueError, match=r"conv2d: input has 2 channels but weight expects 3"):
        sd.functional.conv2d(x, np.ones((1, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(1,\)"):
        sd.functional.conv2d(x, np.ones((1, 2, 3, 3)), bias=np.ones(2))
    with pytest.raises(TypeError, match=r"conv2d: input must be an array of real numbers"):
        sd.functional.conv2d(x.astype(complex), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"mode must be one of 'full', 'valid', 'same'"):
        sd.signal.correlate(da.zeros(5), np.ones(2), mode="wide")
    with pytest.raises(NotImplementedError, match=r"algorithm='winograd' cannot do"):
        sd.functional.conv2d(x, np.ones((1, 2, 2, 2)), algorithm="winograd")
    with pytest.raises(ValueError, match=r"conv2d: input has unknown chunk sizes"):
        sd.functional.conv2d(x[x[:, 0, 0, 0] > 0], np.ones((1, 2, 3, 3)))


def test_import_strided_does_not_import_dask():
    code = "import sys, strided; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("boundary", "mode"), [("fill", "constant"), ("wrap", "wrap"),
                                                ("symm", "reflect")])
def test_signal_against_dask_image_as_an_oracle(boundary, mode):
    # scipy.ndimage centres an odd kernel as signal's "same" does; its "reflect" repeats the
    # edge (signal's "symm") and "wrap" is circular
    from dask_image.ndfilters import correlate

    rng = np.random.default_rng(4)
    image = da.from_array(rng.normal(size=(23, 19)), chunks=(6, 7))
    kernel = rng.normal(size=(5, 3))
    expected = correlate(image, kernel, mode=mode).compute()
    actual = sd.signal.correlate2d(image, kernel, "same", boundary).compute()
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)
