"""Layers with the names and arguments of ``keras.layers``, each with a backward pass."""

from ._activations import Activation as ActivationFunction
from ._base import Layer
from ._conv import BaseConv, Conv1D, Conv2D, Conv3D

__all__ = ["ActivationFunction", "BaseConv", "Conv1D", "Conv2D", "Conv3D", "Layer"]
