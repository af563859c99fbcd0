"""Layers with the names and arguments of ``keras.layers``, each with a backward pass."""

from ._activation_layers import Activation, ReLU
from ._activations import Activation as ActivationFunction
from ._base import Layer
from ._conv import BaseConv, Conv1D, Conv2D, Conv3D
from ._dense import Dense
from ._depthwise import DepthwiseConv2D
from ._input import Input, InputLayer
from ._normalization import BatchNormalization
from ._pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from ._preprocessing import RandomTranslation
from ._regularization import Dropout
from ._reshaping import Flatten
from ._transpose import Conv2DTranspose

__all__ = [
    "Activation",
    "ActivationFunction",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "BaseConv",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "RandomTranslation",
    "ReLU",
]
