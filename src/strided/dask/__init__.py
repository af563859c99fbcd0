"""strided on Dask arrays: convolutions and inference beyond one machine's memory.

``strided.dask.nn``, ``strided.dask.functional`` and ``strided.dask.signal`` take the same
arguments as ``strided.nn``, ``strided.functional`` and ``strided.signal`` and give the same
results, for inputs held in a ``dask.array`` (a NumPy array gets Dask's automatic chunks): the
result is a ``dask.array`` whose chunks mirror the input's, each block computed in memory with
the halo it needs read from the neighbouring blocks.  ``Sequential.predict`` accepts a
``dask.array`` of images (``predict`` here).  Compute the results with Dask's threaded
scheduler (the default) or on a ``distributed`` cluster: a ``Client`` once created is used.

Needs ``pip install 'strided[dask]'``; ``import strided`` never imports Dask.
"""

from . import functional, nn, signal
from ._predict import predict

__all__ = ["functional", "nn", "predict", "signal"]
