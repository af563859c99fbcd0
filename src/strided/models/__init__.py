"""Keras' models (``Model``, functional, and ``Sequential``), their training loop, weights
files and progress bar."""

from ._functional import Functional
from ._model import History, Model, load_model
from ._sequential import Sequential

__all__ = ["Functional", "History", "Model", "Sequential", "load_model"]
