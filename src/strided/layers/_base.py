"""The layer base class: Keras' lazy build and weights, plus an explicit backward pass.

A layer maps a batch forward with ``layer(x)`` (building its weights on first use, from the
input's shape) and, after a forward pass with ``training=True``, maps d(loss)/d(output) back
to d(loss)/d(input) with ``layer.backward(grad)``, leaving d(loss)/d(weight) in
``layer.grads`` (same keys as ``layer.params``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from . import _activations

Shape = tuple[int | None, ...]


class Layer:
    """Base of every layer: ``build``, ``call``, ``backward`` and Keras' weight accessors."""

    _counts: ClassVar[dict[str, int]] = {}  # per class, for Keras-style unique names
    #: keys of ``params`` that are state, not learned (e.g. BatchNormalization's moving mean)
    non_trainable_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, name: str | None = None, trainable: bool = True,
                 dtype: str | np.dtype = "float32", input_shape: Sequence[int] | None = None,
                 **unexpected: object) -> None:
        if unexpected:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(unexpected)}. Received: {unexpected!r}")
        kind = type(self).__name__
        if name is None:
            index = Layer._counts.get(kind, 0)
            Layer._counts[kind] = index + 1
            name = _snake(kind) + (f"_{index}" if index else "")
        self.name = name
        self.trainable = trainable
        self.dtype = np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        # False when nothing needs d(loss)/d(input), e.g. a model's first layer: backward()
        # may then skip computing it and return None
        self.compute_input_gradient = True
        self.input_shape: Shape | None = None if input_shape is None else (
            None, *tuple(input_shape))

    # -- to be written by each layer ---------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        """Create ``self.params`` for inputs of ``input_shape`` (batch first, may be None)."""
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        """The forward pass; with ``training=True`` it keeps what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """d(loss)/d(input) from d(loss)/d(output); fills ``self.grads``."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The output's shape for an input of ``input_shape`` (batch may be None)."""
        raise NotImplementedError

    def __setattr__(self, name: str, value: object) -> None:
        # ``layer.activation = None`` (or a name) works as in Keras: always an Activation
        if name == "activation":
            value = _activations.get(value)  # type: ignore[arg-type]
        super().__setattr__(name, value)

    def input_ndim(self) -> int | None:
        """The number of dimensions inputs must have (batch included), if fixed."""
        return None

    # -- shared -----------------------------------------------------------------------------
    def __call__(self, inputs: object, training: bool = False) -> np.ndarray:
        x = as_real_array(inputs, "inputs", type(self).__name__)
        check_ndim(x, self.input_ndim(), type(self).__name__)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)  # Keras casts inputs to the layer's dtype
        if not self.built:
            self.build((None, *x.shape[1:]))
        return self.call(x, training=training)

    @property
    def weights(self) -> list[np.ndarray]:
        """The layer's weights, in Keras' order (e.g. kernel, then bias)."""
        return list(self.params.values())

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weights an optimiser updates (none when ``trainable`` is False)."""
        if not self.trainable:
            return []
        return [w for k, w in self.params.items() if k not in self.non_trainable_keys]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weights no optimiser updates (state such as moving averages)."""
        if not self.trainable:
            return self.weights
        return [w for k, w in self.params.items() if k in self.non_trainable_keys]

    def count_trainable_params(self) -> int:
        """The number of scalars an optimiser updates."""
        return sum(int(w.size) for w in self.trainable_weights)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras' order."""
        return [w.copy() for w in self.params.values()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Replace the weights; each must have the shape of the one it replaces."""
        if len(weights) != len(self.params):
            raise ValueError(f"Layer {self.name!r} expects {len(self.params)} weights "
                             f"({', '.join(self.params)}). Received: {len(weights)} weights")
        for (key, old), new in zip(self.params.items(), weights):
            new = np.asarray(new)
            if new.shape != old.shape:
                raise ValueError(f"Layer {self.name!r} weight {key!r} has shape {old.shape}. "
                                 f"Received: an array of shape {new.shape}")
            self.params[key] = new.astype(old.dtype, copy=True)

    def count_params(self) -> int:
        """The number of scalars in the layer's weights."""
        return sum(int(w.size) for w in self.params.values())

    def _cached(self, cache: object) -> object:
        """``cache`` if a training forward pass left one, else a clear error."""
        if cache is None:
            raise RuntimeError(f"Layer {self.name!r}: backward() needs a forward pass with "
                               f"training=True first")
        return cache

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


def as_real_array(value: object, name: str, kind: str) -> np.ndarray:
    """``value`` as an array of real numbers, else the TypeError ``strided.nn`` gives."""
    from .._core import as_array

    return as_array(value, name, kind)


def check_ndim(x: np.ndarray, ndim: int | None, kind: str, name: str = "inputs") -> None:
    """Raise unless ``x`` has ``ndim`` dimensions, quoting the shape the user passed and, for
    one missing axis, which one to add."""
    if ndim is None or x.ndim == ndim:
        return
    hint = ""
    if x.ndim == ndim - 1:
        hint = (f"; for one sample add the batch axis ({name}[None]), for a batch of grey "
                f"images such as MNIST's (N, 28, 28) add the channel axis ({name}[..., None])")
    raise ValueError(f"{kind}: expects {name} of rank {ndim} (batch first). Received: "
                     f"{name}.shape={x.shape}{hint}")


DATA_FORMATS = ("channels_last", "channels_first")


def check_data_format(data_format: str | None, kind: str) -> str:
    """Keras' ``data_format`` (None means "channels_last"), checked."""
    data_format = data_format or "channels_last"
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{kind}: data_format must be one of {DATA_FORMATS}. Received: "
                         f"data_format={data_format!r}")
    return data_format


def check_padding(padding: object, kind: str, valid: tuple[str, ...] = ("valid", "same")
                  ) -> str:
    """Keras' ``padding`` string, checked and lower-cased."""
    if not isinstance(padding, str) or padding.lower() not in valid:
        raise ValueError(f"{kind}: padding must be one of {valid}. Received: "
                         f"padding={padding!r}")
    return padding.lower()


def _snake(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``Conv2DTranspose`` -> ``conv2d_transpose``, as Keras names."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
