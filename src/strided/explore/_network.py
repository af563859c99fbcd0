"""The network view: the lecture's MNIST network, its filters, a digit's feature maps per layer,
the class probabilities, and the receptive field of any feature-map pixel.

The network is ``strided train``'s (``cli._train.build_model``), with weights from the
``.npz`` file it saves (read with ``allow_pickle=False``) or trained here for a few epochs.
Receptive fields come from ``strided.tools.receptive_field_counts`` on the layers' kernel,
stride and padding; pointwise layers (batch normalisation, ReLU) leave them unchanged.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..tools._explain import format_number
from ..tools._shapes import LayerSpec, describe_stack, receptive_field_counts
from ._playground import _integer, digit

__all__ = ["Network"]

#: At most this many epochs may be trained from the page (one takes about 1.5 s).
MAX_EPOCHS = 5
#: A map's values are sent with this many decimals (the page shows them on hover).
DECIMALS = 4
NO_NETWORK = ("no network loaded: start `strided explore --weights "
              "strided-mnist/lecture_mnist.npz` (written by `strided train`) or train a quick "
              "one on the page")


def _spatial(layer: object) -> LayerSpec | None:
    """The layer's effect on positions: a conv or pooling ``LayerSpec``; None if pointwise."""
    from ..layers import AveragePooling2D, Conv2D, MaxPooling2D

    if isinstance(layer, Conv2D):
        return LayerSpec("conv", _two(layer.kernel_size), _two(layer.strides), layer.padding,
                         _two(layer.dilation_rate), filters=layer.filters, bias=layer.use_bias)
    if isinstance(layer, MaxPooling2D | AveragePooling2D):
        return LayerSpec("pool", _two(layer.pool_size), _two(layer.strides), layer.padding)
    return None


def _two(values: tuple[int, ...]) -> tuple[int, int]:
    """A 2-D layer's (rows, columns)."""
    rows, columns = values
    return rows, columns


class Network:
    """The lecture's network with its weights; thread-safe for the server's requests."""

    def __init__(self, model: object | None = None, source: str = "") -> None:
        self.model = model
        self.source = source
        self._lock = threading.Lock()

    @classmethod
    def from_weights(cls, path: str | os.PathLike[str]) -> Network:
        """The network ``strided train`` builds, with the weights saved at ``path``."""
        from ..cli._train import build_model

        path = Path(path)
        if not path.is_file():
            raise OSError(f"cannot read weights {str(path)!r}: no such file (`strided train` "
                          f"writes strided-mnist/lecture_mnist.npz)")
        model = build_model(seed=0)
        model.build()
        try:
            model.load_weights(path)
        except (ValueError, KeyError, OSError) as error:
            raise ValueError(f"cannot load weights {str(path)!r} into the lecture's network "
                             f"(the one `strided train` saves): "
                             f"{' '.join(str(error).split())}") from None
        return cls(model, f"weights from {path}")

    def train(self, epochs: object = 2, seed: int = 0) -> dict[str, Any]:
        """Train the lecture's network for a few epochs on the bundled digits, as
        ``strided train --epochs N`` does, and use it."""
        from ..cli._train import build_model, callbacks, compile_model, load_dataset

        epochs = _integer(epochs, "epochs", 1, MAX_EPOCHS)
        (x_train, y_train), (x_test, y_test), _ = load_dataset("bundled", None)
        model = build_model(seed)
        compile_model(model)
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0, seed=seed,
                  callbacks=callbacks(epochs))
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        with self._lock:
            self.model = model
            self.source = (f"trained here: {epochs} epoch{'s' * (epochs > 1)} on 4,000 bundled "
                           f"digits in {seconds:.1f} s, {100 * accuracy:.1f}% on the other 1,000")
        return self.summary()

    def _require(self) -> Any:
        if self.model is None:
            raise LookupError(NO_NETWORK)
        return self.model

    def _layers(self) -> list[tuple[int, Any]]:
        """The layers whose outputs are feature maps (N, H, W, C), after the input."""
        model = self._require()
        shown = []
        for index, layer in enumerate(model.layers):
            shape = model.output_shapes[index]
            if len(shape) == 4 and not type(layer).__name__.startswith("Random"):
                shown.append((index, layer))
        return shown

    def summary(self) -> dict[str, Any]:
        """The layers (name, type, output shape, parameters) and the first layer's filters."""
        if self.model is None:
            return {"available": False, "message": NO_NETWORK}
        model = self._require()
        layers = [{"index": i, "name": layer.name, "type": type(layer).__name__,
                   "shape": [s for s in model.output_shapes[i] if s is not None],
                   "params": layer.count_params(), "maps": any(i == j for j, _ in self._layers())}
                  for i, layer in enumerate(model.layers)]
        first = next(layer for _, layer in self._layers() if _spatial(layer) is not None)
        kernel = first.params["kernel"]
        # the shortest text that reads back as the same float32: the playground's kernel cells
        filters = [{"values": [[str(v) for v in row] for row in kernel[:, :, 0, f]],
                    "bias": format_number(first.params["bias"][f])
                    if "bias" in first.params else "0"}
                   for f in range(kernel.shape[-1])]
        return {"available": True, "source": self.source, "layers": layers,
                "filters_layer": first.name, "filters": filters,
                "parameters": model.count_params()}

    def digit(self, index: object) -> dict[str, Any]:
        """Feature maps of bundled digit ``index`` at each layer, and the class probabilities."""
        model = self._require()
        image, label = digit(index)
        x = (image.astype(np.float32) / 255)[None, :, :, None]
        maps = []
        with self._lock:
            out = x
            for i, layer in enumerate(model.layers):
                out = layer(out, training=False)
                if out.ndim == 4 and not type(layer).__name__.startswith("Random"):
                    values = out[0].astype(np.float64)
                    maps.append({"index": i, "name": layer.name, "type": type(layer).__name__,
                                 "shape": list(values.shape),
                                 "maps": np.round(values.transpose(2, 0, 1), DECIMALS).tolist(),
                                 "low": [format_number(v) for v in values.min(axis=(0, 1))],
                                 "high": [format_number(v) for v in values.max(axis=(0, 1))]})
        probabilities = out[0].astype(np.float64)
        return {"index": _integer(index, "digit index", 0), "label": label,
                "image": image.tolist(), "layers": maps,
                "probabilities": [float(f"{p:.6f}") for p in probabilities],
                "predicted": int(np.argmax(probabilities))}

    def receptive_field(self, layer_index: object, row: object, col: object) -> dict[str, Any]:
        """Which input pixels feed feature-map pixel ``(row, col)`` of layer ``layer_index``."""
        model = self._require()
        shown = dict(self._layers())
        index = _integer(layer_index, "layer", 0, len(model.layers) - 1)
        if index not in shown:
            raise ValueError(f"layer {index} ({model.layers[index].name}) has no feature maps; "
                             f"choose one of {sorted(shown)}")
        h, w = model.output_shapes[index][1:3]
        at = (_integer(row, "row", 0, h - 1), _integer(col, "column", 0, w - 1))
        specs = [spec for i, layer in enumerate(model.layers[:index + 1])
                 if (spec := _spatial(layer)) is not None]
        counts = receptive_field_counts((28, 28), specs, at)[0]
        where = np.argwhere(counts > 0)
        (r0, c0), (r1, c1) = where.min(axis=0), where.max(axis=0)
        return {"layer": index, "name": model.layers[index].name, "at": list(at),
                "counts": counts.astype(int).tolist(),
                "box": [int(r0), int(c0), int(r1), int(c1)],
                "size": [int(r1 - r0 + 1), int(c1 - c0 + 1)],
                "stack": describe_stack((28, 28, 1), specs).splitlines()}
