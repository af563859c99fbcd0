"""``Sequential.predict`` over a dask array of images: one block of images per task."""

from __future__ import annotations

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from ._blocks import as_dask


def _predict_block(model: object, images: np.ndarray, batch_size: int | None) -> np.ndarray:
    return model.predict(images, batch_size=batch_size)  # type: ignore[attr-defined]


def predict(model: object, x: object, batch_size: int | None = None) -> da.Array:
    """``model.predict(x)`` for a dask array ``x`` of images (N, *image), lazily.

    Each block of images along the batch axis is one task; the other axes are made one chunk
    (a model needs whole images).  The model is one key of the graph, so Dask sends it to each
    worker once, not with every task.

    Returns
    -------
    dask.array.Array, shape (N, *output)
        Chunked along the batch axis as ``x``; ``compute()`` gives ``model.predict`` of the
        images in memory.
    """
    images = as_dask(x, "x", "predict")
    if images.ndim < 2:
        raise ValueError(f"predict: x must hold a batch of images (N, ...); got "
                         f"x.shape={images.shape}")
    images = images.rechunk({axis: -1 for axis in range(1, images.ndim)})
    # One image in memory builds the model (as in-memory predict does) and gives the output's
    # shape and dtype.
    sample = model.predict(np.zeros((1, *images.shape[1:]), images.dtype))  # type: ignore[attr-defined]
    token = tokenize(images.name, model.get_weights(), batch_size)  # type: ignore[attr-defined]
    name, model_key = f"predict-{token}", (f"predict-model-{token}",)
    layer: dict = {model_key: model}
    for b in range(len(images.chunks[0])):
        layer[(name, b, *([0] * (sample.ndim - 1)))] = (
            _predict_block, model_key, (images.name, b, *([0] * (images.ndim - 1))), batch_size)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[images])
    chunks = (images.chunks[0], *((n,) for n in sample.shape[1:]))
    return da.Array(graph, name, chunks, meta=np.empty((0,) * sample.ndim, sample.dtype))
