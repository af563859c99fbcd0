"""Keras' models (``Sequential``), their training loop, weights files and progress bar."""

from ._model import History, Sequential

__all__ = ["History", "Sequential"]
