"""``strided train``: learn the lecture's MNIST filters with strided alone.

The default network starts with the lecture's layer, ``tf.nn.conv2d(inputs, filter[5, 5, 1,
16], [1, 2, 2, 1], padding="SAME")`` as ``Conv2D(16, 5, strides=2, padding="same")``, and
trains on the 5,000 MNIST digits bundled with strided, so it needs no download.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import click
import numpy as np

#: The learning rate falls from Adam's 1e-3 to this, on a half cosine over the epochs.
FINAL_LEARNING_RATE = 1e-5


def build_model(seed: int | None = None):  # -> strided.models.Sequential
    """The default network: the lecture's first layer, then a small Keras-style CNN.

    Trained 30 epochs on the 5,000 bundled digits (Adam, the learning rate on a half cosine
    from 1e-3 to 1e-5, batches of 32, random turns of up to 11 degrees, zooms of up to 10%
    and shifts of up to two pixels) it reaches 99.08% on the official MNIST test set
    (``benchmarks/train_mnist.py``).  The convolutions before batch normalisation have no
    bias (the normalisation would remove it); their ReLUs are folded into the normalisation.  The
    moving averages of BatchNormalization use ``momentum=0.9``: with 157 steps per epoch,
    Keras' 0.99 lags.

    ======================================  ==================  ========
    layer                                   output              params
    ======================================  ==================  ========
    RandomRotation, RandomZoom,             (None, 28, 28, 1)   0
    RandomTranslation
    Conv2D(16, 5, strides=2, "same", relu)  (None, 14, 14, 16)  416
    Conv2D(32, 3, "same"), BN, ReLU, pool   (None, 7, 7, 32)    4,736
    Conv2D(64, 3, "same"), BN, ReLU, pool   (None, 3, 3, 64)    18,688
    Flatten, Dropout(0.3)                   (None, 576)         0
    Dense(128, relu)                        (None, 128)         73,856
    Dense(10, softmax)                      (None, 10)          1,290
    ======================================  ==================  ========
    """
    from .. import _random, layers
    from ..layers._base import _snake
    from ..models import Sequential

    if seed is not None:
        _random.set_random_seed(seed)
    model = Sequential([
        layers.Input((28, 28, 1)),
        # standard augmentations, during training only: small turns, zooms and shifts
        layers.RandomRotation(0.03, fill_mode="constant"),
        layers.RandomZoom(0.1, fill_mode="constant"),
        layers.RandomTranslation(0.08, 0.08, fill_mode="constant", interpolation="nearest"),
        layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),  # the lecture's layer
        layers.Conv2D(32, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="lecture_mnist")
    # Keras' default names as in a fresh session (conv2d, conv2d_1, ...), whatever else the
    # process built before: the summary, the weights file and the explorer's page (which
    # builds a new model each time it trains) name the layers alike every time
    counts: dict[str, int] = {}
    for layer in model.layers:
        kind = type(layer).__name__
        index = counts[kind] = counts.get(kind, -1) + 1
        layer.name = _snake(kind) + (f"_{index}" if index else "")
    return model


def lecture_layer(model):  # -> strided.layers.Conv2D
    """The network's first convolution: the lecture's 16 filters of 5x5x1."""
    from ..layers import Conv2D

    return next(layer for layer in model.layers if isinstance(layer, Conv2D))


def compile_model(model, learning_rate: float = 1e-3) -> None:
    """Adam at ``learning_rate`` (``callbacks`` schedules it), the cross-entropy, accuracy."""
    from .. import optimizers

    model.compile(optimizer=optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def callbacks(epochs: int, learning_rate: float = 1e-3) -> list:
    """The schedule: the learning rate on a half cosine from ``learning_rate`` at the first
    epoch to ``FINAL_LEARNING_RATE`` after the last (``LearningRateScheduler``)."""
    from ..callbacks import LearningRateScheduler

    def cosine(epoch: int, rate: float) -> float:
        share = 0.5 * (1 + math.cos(math.pi * epoch / max(1, epochs)))
        return FINAL_LEARNING_RATE + (learning_rate - FINAL_LEARNING_RATE) * share

    return [LearningRateScheduler(cosine)]


def load_dataset(dataset: str, data_dir: Path | None
                 ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], str]:
    """(train, held-out, description), images as float32 (N, 28, 28, 1) in [0, 1]."""
    from ..datasets import mnist

    if dataset == "bundled" and data_dir is not None:
        train = mnist.load_bundled()
        test = mnist.load_split(data_dir, "test")
        what = "5,000 bundled MNIST digits; held out: the official test set in " + str(data_dir)
    elif dataset == "bundled":
        train, test = mnist.load_data(source="bundled")
        what = "4,000 of the bundled MNIST digits; held out: the other 1,000"
    else:
        train, test = mnist.load_data(data_dir, source="full")
        what = "the official MNIST training set; held out: the official test set"

    def scale(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return (pair[0].astype(np.float32)[..., None] / 255).astype(np.float32), pair[1]

    return scale(train), scale(test), what


def _finite(value: float) -> float:
    """``--learning-rate`` checked to be a finite number (click's range lets nan and inf in)."""
    if not np.isfinite(value):
        raise click.BadParameter(f"must be a finite positive number; got {value}",
                                 param_hint="'--learning-rate'")
    return value


def _check_writable(directory: Path) -> None:
    """Create ``directory`` and check a file can be written in it, or say why not."""
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise OSError(f"cannot write the results to --output-dir {str(directory)!r}: "
                      f"{error.strerror or error}") from None


@click.command("train")
@click.option("--dataset", type=click.Choice(["bundled", "mnist"]), default="bundled",
              show_default=True,
              help="bundled: the 5,000 MNIST digits installed with strided; mnist: the "
                   "official 60,000 (from --data-dir, else the cache, downloading if needed).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A directory of MNIST IDX files (optionally .gz). With --dataset bundled, "
                   "the held-out accuracy is measured on the official test set found there.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3,
              show_default=True, callback=lambda ctx, param, value: _finite(value),
              help="Adam's initial learning rate (then a half cosine down to 1e-5).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds weights, shuffling, dropout and shifts: a run repeats exactly.")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("strided-mnist"), show_default=True,
              help="Where the weights (.npz) and the pictures (.png) are written.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or per-epoch lines.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG pictures (no matplotlib needed).")
def train(dataset: str, data_dir: Path | None, epochs: int, batch_size: int,
          learning_rate: float, seed: int, output_dir: Path, quiet: bool,
          no_plots: bool) -> None:
    """Train the lecture's MNIST network and draw the filters it learned.

    The first layer is the lecture's bank of 16 filters of 5x5x1, stride 2, SAME padding.
    Prints the model summary, trains with a progress bar, reports the held-out accuracy,
    saves the weights and writes PNGs of the learned filters and of one digit's feature maps.

    \b
    Examples:
      strided train                                   # bundled digits, no download
      strided train --data-dir shared/data/mnist      # test on the official 10,000
      strided train --epochs 3 --no-plots -o /tmp/run
    """
    weights = output_dir / "lecture_mnist.npz"
    _check_writable(output_dir)  # before any work: a run must not be lost at its end
    (x_train, y_train), (x_test, y_test), what = load_dataset(dataset, data_dir)
    click.echo(f"Training on {what}.")
    model = build_model(seed)
    compile_model(model, learning_rate)
    if not quiet:
        model.summary(print_fn=click.echo)
    start = time.perf_counter()
    completed: list[tuple[int, list[np.ndarray]]] = []

    def keep(epoch: int, logs: dict[str, float]) -> None:
        if not all(np.isfinite(value) for value in logs.values()):
            raise ValueError(f"training stopped: the loss became {logs['loss']} in epoch "
                             f"{epoch + 1} (--learning-rate {learning_rate:g} may be too "
                             f"large); nothing was saved")
        completed[:] = [(epoch + 1, model.get_weights())]

    try:
        with np.errstate(all="ignore"):  # a diverging run ends in the message above
            model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                      verbose=0 if quiet else "auto", seed=seed, on_epoch_end=keep,
                      callbacks=callbacks(epochs, learning_rate))
    except KeyboardInterrupt:
        if not completed:
            click.echo("\nInterrupted before the first epoch ended: nothing was saved.",
                       err=True)
            raise click.exceptions.Exit(130) from None
        done, snapshot = completed[0]
        model.set_weights(snapshot)
        model.save_weights(weights)
        click.echo(f"\nInterrupted: saved the weights after epoch {done} of {epochs} to "
                   f"{weights}.", err=True)
        raise click.exceptions.Exit(130) from None
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    click.echo(f"Trained {epochs} epoch{'s' if epochs > 1 else ''} in {seconds:.1f} s. "
               f"Held-out accuracy: "
               f"{100 * accuracy:.2f}% ({len(x_test):,} digits), loss {loss:.4f}.")
    model.save_weights(weights)
    click.echo(f"Saved the weights to {weights}.")
    if no_plots:
        return
    from ..tools import plot_feature_maps, plot_filter_bank

    first = lecture_layer(model)  # the lecture's Conv2D, after the augmentations
    filters_png = plot_filter_bank(first.params["kernel"], output_dir / "filters.png",
                                   titles=[f"filter {i}" for i in range(first.filters)])
    # the feature maps of the first held-out digit: the lecture's conv and its ReLU, 14x14x16
    maps_png = plot_feature_maps(x_test[0], first, output_dir / "feature_maps.png", scale=1.0)
    click.echo(f"Wrote {filters_png} and {maps_png}.")
