"""The layer base class: Keras' lazy build and weights, plus an explicit backward pass.

A layer maps a batch forward with ``layer(x)`` (building its weights on first use, from the
input's shape) and, after a forward pass with ``training=True``, maps d(loss)/d(output) back
to d(loss)/d(input) with ``layer.backward(grad)``, leaving d(loss)/d(weight) in
``layer.grads`` (same keys as ``layer.params``).  Called on a symbolic ``KerasTensor`` (from
``Input``) it records a node of the functional graph instead (``_graph``).

Each weight may carry a regularizer (its penalty is added to the loss, its gradient to
``grads``: ``regularization_loss`` / ``add_regularization_gradients``) and a constraint
(applied after each optimiser step: ``apply_constraints``).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from . import _activations, _graph

if TYPE_CHECKING:
    from ..constraints import Constraint
    from ..regularizers import Regularizer

Shape = tuple[int | None, ...]
_T = TypeVar("_T")
#: classes that ``from_config`` rebuilds from ``{"class_name": ..., "config": ...}``
SERIALIZABLE: dict[str, Callable[..., Any]] = {}


def serializable(cls: type) -> type:
    """Register ``cls`` for ``Layer.from_config``."""
    SERIALIZABLE[cls.__name__] = cls
    return cls


class Layer:
    """Base of every layer: ``build``, ``call``, ``backward`` and Keras' weight accessors."""

    _counts: ClassVar[dict[str, int]] = {}  # per class, for Keras-style unique names
    #: keys of ``params`` that are state, not learned (e.g. BatchNormalization's moving mean)
    non_trainable_keys: ClassVar[tuple[str, ...]] = ()
    #: attributes a training forward pass leaves for ``backward`` (saved per call of a layer
    #: shared between branches of a functional model)
    call_state: ClassVar[tuple[str, ...]] = ("_cache",)
    #: True for layers called on a list of inputs (the merge layers)
    multiple_inputs: ClassVar[bool] = False
    #: the constructor's arguments, kept by ``_recording`` for ``get_config``
    _init_arguments: dict[str, object]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _recording(init)  # type: ignore[method-assign]
        backward = cls.__dict__.get("backward")
        if backward is not None:
            cls.backward = _penalised(backward)  # type: ignore[method-assign]

    def __init__(self, *, name: str | None = None, trainable: bool = True,
                 dtype: str | np.dtype = "float32", input_shape: Sequence[int] | None = None,
                 activity_regularizer: object = None, **unexpected: object) -> None:
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
        self.regularizers: dict[str, Regularizer] = {}
        self.constraints: dict[str, Constraint] = {}
        self.inbound_nodes: list[_graph.Node] = []
        from .. import regularizers as _regularizers
        #: a penalty on the layer's output, divided by the batch size, as Keras'
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self._activity_output: np.ndarray | None = None
        self.activity_losses: list[float] = []

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
    def __call__(self, inputs: object, training: bool = False) -> Any:
        if _graph.is_symbolic(inputs):
            return _graph.call_symbolic(self, inputs)
        if self.multiple_inputs:
            if not isinstance(inputs, (list, tuple)):
                raise TypeError(f"{type(self).__name__}: expects a list of inputs. Received: "
                                f"inputs of type {type(inputs).__name__}")
            xs = [self._cast(x) for x in inputs]
            if not self.built:
                self.build([(None, *x.shape[1:]) for x in xs])  # type: ignore[arg-type]
            return self._record_activity(self.call(xs, training=training),  # type: ignore
                                         training)
        x = self._cast(inputs)
        check_ndim(x, self.input_ndim(), type(self).__name__)
        if not self.built:
            self.build((None, *x.shape[1:]))
        return self._record_activity(self.call(x, training=training), training)

    def _record_activity(self, y: Any, training: bool) -> Any:
        """Keep the activity penalty of ``y`` (and ``y`` for its gradient, when training)."""
        reg = self.activity_regularizer
        if reg is not None and isinstance(y, np.ndarray):
            self.activity_losses = [reg(y) / max(1, len(y)) if y.ndim else reg(y)]
            self._activity_output = y if training else None
        return y

    def _cast(self, inputs: object) -> np.ndarray:
        """``inputs`` as real numbers (the TypeError ``strided.nn`` gives otherwise), cast to
        the layer's dtype as Keras does."""
        if type(inputs) is np.ndarray and inputs.dtype == self.dtype and self.dtype.kind == "f":
            return inputs  # the common case between layers: nothing to check or cast
        x = as_real_array(inputs, "inputs", type(self).__name__)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)  # Keras casts inputs to the layer's dtype
        return x

    # -- configuration ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (as the layer normalised them), as Keras' ``get_config``.

        ``type(layer).from_config(layer.get_config())`` makes an equal, unbuilt layer.
        """
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": self.dtype.name}
        for key, value in self._init_arguments.items():
            if key in ("name", "trainable", "dtype", "input_shape"):
                continue
            if key == "activity_regularizer" and value is None:
                continue
            config[key] = serialize(getattr(self, key, value))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """The layer that ``get_config`` describes."""
        arguments: dict[str, Any] = {key: deserialize(value) for key, value in config.items()}
        return cls(**arguments)

    # -- regularizers and constraints -------------------------------------------------------
    def _set_penalties(self, regularizers: dict[str, object], constraints: dict[str, object]
                       ) -> None:
        """Keep the ``*_regularizer`` and ``*_constraint`` arguments, keyed by weight name."""
        from .. import constraints as _constraints
        from .. import regularizers as _regularizers
        self.regularizers = {k: reg for k, v in regularizers.items()
                             if (reg := _regularizers.get(v)) is not None}
        self.constraints = {k: con for k, v in constraints.items()
                            if (con := _constraints.get(v)) is not None}

    def weight_penalties(self) -> list[float]:
        """The regularization penalties of the current weights."""
        return [float(reg(self.params[key])) for key, reg in self.regularizers.items()
                if key in self.params]

    @property
    def losses(self) -> list[float]:
        """The weights' penalties and the last call's activity penalty, as Keras'
        ``layer.losses``."""
        return self.weight_penalties() + [float(v) for v in self.activity_losses]

    def regularization_loss(self) -> float:
        """The sum of the weights' penalties."""
        return float(sum(self.weight_penalties()))

    def add_regularization_gradients(self) -> None:
        """Add each regularizer's gradient to ``grads``."""
        for key, reg in self.regularizers.items():
            if key in self.grads:
                self.grads[key] = self.grads[key] + reg.gradient(self.params[key])

    def apply_constraints(self) -> None:
        """Project each constrained weight in place, after an optimiser step."""
        for key, constraint in self.constraints.items():
            if key in self.params:
                self.params[key][...] = constraint(self.params[key])

    # -- per-call state, for layers shared between branches ----------------------------------
    def save_call_state(self) -> tuple[object, ...]:
        return tuple(getattr(self, name, None) for name in (*self.call_state,
                                                             "_activity_output"))

    def restore_call_state(self, state: tuple[object, ...]) -> None:
        for name, value in zip((*self.call_state, "_activity_output"), state):
            setattr(self, name, value)

    @property
    def output(self) -> _graph.KerasTensor:
        """The symbolic output of the layer's first call in a functional graph."""
        if not self.inbound_nodes:
            raise ValueError(f"Layer {self.name!r} has never been called on a symbolic input "
                             f"and thus has no defined output")
        return self.inbound_nodes[0].output

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

    def _cached(self, cache: _T | None) -> _T:
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


def _recording(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` keeping its bound arguments for ``get_config`` (the outermost call's only), and
    building the layer at once when given an ``input_shape``, as Keras."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def recording_init(self: Layer, *args: object, **kw: object) -> None:
        outermost = "_init_arguments" not in self.__dict__
        if outermost:
            self._init_arguments = {}
        init(self, *args, **kw)
        if outermost:
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self")
            for name, parameter in signature.parameters.items():
                if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                    arguments.update(arguments.pop(name))
                elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                    arguments.pop(name)
            self._init_arguments = arguments
            if self.input_shape is not None and not self.built:
                self.build(self.input_shape)

    return recording_init


def _penalised(backward: Callable[..., Any]) -> Callable[..., Any]:
    """``backward`` with d(activity penalty)/d(output) added to its gradient, once (by the
    outermost of nested ``super().backward`` calls)."""
    @functools.wraps(backward)
    def penalised_backward(self: Layer, grad_output: Any) -> Any:
        output = self.__dict__.get("_activity_output")
        outermost = not self.__dict__.get("_in_backward")
        if output is not None and outermost:
            reg = self.activity_regularizer
            grad_output = grad_output + reg.gradient(output) / max(1, len(output))  # type: ignore
        self._in_backward = True
        try:
            return backward(self, grad_output)
        finally:
            if outermost:
                self._in_backward = False

    return penalised_backward


def serialize(value: object) -> object:
    """A configuration value: activations by name, initializers, regularizers and
    constraints as ``{"class_name": ..., "config": ...}``, tuples kept."""
    from . import _activations
    if isinstance(value, _activations.Activation):
        return value.name if _activations.ACTIVATIONS.get(value.name) is value else value
    get_config = getattr(value, "get_config", None)
    if callable(get_config) and not isinstance(value, type):
        return {"class_name": type(value).__name__, "config": get_config()}
    return value


def deserialize(value: object) -> object:
    """The inverse of ``serialize`` (names and tuples are accepted by the constructors)."""
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        name = value["class_name"]
        if name not in SERIALIZABLE:
            raise ValueError(f"from_config: unknown class_name. Expected one of "
                             f"{sorted(SERIALIZABLE)}. Received: class_name={name!r}")
        return SERIALIZABLE[name](**value["config"])
    return value


def _snake(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``Conv2DTranspose`` -> ``conv2d_transpose``, as Keras names."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
