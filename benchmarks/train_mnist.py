"""Benchmark: the main job (``strided train``) and training speed against PyTorch.

Targets (issue 12), measured here and never as timed tests:

1. trained on the 5,000-image bundled subset only, ``strided train``'s network reaches at
   least 99.0% accuracy on the official 10,000-image MNIST test set, within 60 s of training
   on 2 cores;
2. the time per epoch, strided / PyTorch, the same network, optimiser (Adam), batch size,
   batches and threads, in the same run (epochs alternate between the libraries): 0.9 or less
   for each of three networks: the lecture's (``strided train``'s), LeNet-5 and the Keras
   MNIST example's 2 convolutions + 2 dense layers;
3. ``predict`` on the 10,000 test images: 0.8 or less of PyTorch's time (``torch.no_grad``,
   eval mode, the same batch size).

Run from the repository root, with this project's OpenBLAS settings unset for this command
only (see benchmarks/README.md)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/train_mnist.py
    ... --skip-torch                  # the main job only
    ... --skip-accuracy --compare-epochs 5 --networks lenet5,keras_cnn
    ... --skip-accuracy --threads 1 --cpu-time   # one core's CPU time, robust to load

The thread count is set (OPENBLAS/OMP/MKL_NUM_THREADS and ``torch.set_num_threads``) before
NumPy is imported, so that both libraries use the same number of cores.  PyTorch runs each
strided network translated layer by layer (``torch_twin``: the same weights, TensorFlow's
SAME padding as a ZeroPad2d, channels-last flattening), its loss on the logits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"
#: Seconds of idle before each timed epoch: OpenMP and OpenBLAS worker threads busy-wait for
#: a while after their work, and would otherwise steal the cores from the other library.
PAUSE = 0.5
NETWORKS = ("lecture", "lenet5", "keras_cnn")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA,
                        help="directory holding t10k-images-idx3-ubyte(.gz) and labels")
    parser.add_argument("--epochs", type=int, default=None, help="default: strided train's")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare-epochs", type=int, default=3,
                        help="epochs of each library in the per-epoch comparison")
    parser.add_argument("--networks", default=",".join(NETWORKS),
                        help=f"networks compared with PyTorch, of {', '.join(NETWORKS)}")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the comparisons by CPU time (with --threads 1: one core's "
                             "work, whatever else the machine runs)")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse()
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np

    import strided
    from strided.cli import _train
    from strided.datasets import mnist

    strided.set_num_threads(args.threads)
    defaults = {p.name: p.default for p in _train.train.params}
    epochs = args.epochs or defaults["epochs"]
    batch_size = args.batch_size or defaults["batch_size"]
    x_train, y_train = mnist.load_bundled()
    x_test, y_test = mnist.load_split(args.data_dir, "test")
    x_train = x_train.astype(np.float32)[..., None] / 255
    x_test = x_test.astype(np.float32)[..., None] / 255
    print(f"threads={args.threads}, batch_size={batch_size}, train={len(x_train)} bundled, "
          f"test={len(x_test)} official, strided level {strided.instruction_set()}", flush=True)
    ok = True
    if not args.skip_accuracy:
        model = _train.build_model(args.seed)
        _train.compile_model(model)
        start = time.perf_counter()
        cpu = time.process_time()
        model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2,
                  seed=args.seed, callbacks=_train.callbacks(epochs))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        good = accuracy >= 0.99 and seconds <= 60
        ok &= good
        print(f"strided: {epochs} epochs in {seconds:.1f} s ({cpu:.1f} s of CPU); official "
              f"test accuracy {100 * accuracy:.2f}% "
              f"[target >= 99.00% in <= 60 s: {'PASS' if good else 'FAIL'}]", flush=True)
    if not args.skip_torch:
        for name in args.networks.split(","):
            ok &= compare(args, name, x_train, y_train, x_test, batch_size)
    return 0 if ok else 1


def network(name: str, seed: int):
    """The strided model called ``name`` (compiled with Adam 1e-3)."""
    from strided import Sequential, layers
    from strided.cli import _train

    if name == "lecture":
        model = _train.build_model(seed)
    elif name == "lenet5":  # LeCun et al. 1998, with ReLUs and max pooling as usually taught
        model = Sequential([
            layers.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="relu"), layers.MaxPooling2D(),
            layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
            layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax")], name="lenet5")
    elif name == "keras_cnn":  # keras.io's "Simple MNIST convnet" with dense layers
        model = Sequential([
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(), layers.Dropout(0.25), layers.Flatten(),
            layers.Dense(128, activation="relu"), layers.Dropout(0.5),
            layers.Dense(10, activation="softmax")], name="keras_cnn")
    else:
        raise SystemExit(f"--networks: unknown network {name!r}; choose from {NETWORKS}")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def torch_twin(model):
    """The same network in PyTorch (NCHW), with the strided model's weights; augmentation
    layers are left out (their output feeds both libraries)."""
    import numpy as np
    import torch
    from torch import nn

    from strided import layers as L
    from strided._spec import pooling_geometry

    class ChannelsLast(nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1)

    modules: list[nn.Module] = []
    shapes = model.output_shapes
    shape = model.input_shape
    for index, layer in enumerate(model.layers):
        if type(layer).__name__.startswith("Random"):
            pass
        elif isinstance(layer, L.Conv2D):
            k = layer.params["kernel"]
            if layer.padding == "same":
                ((top, bottom), (left, right)), _ = pooling_geometry(
                    shape[1:3], layer.kernel_size, layer.strides, "same", "twin")
                modules.append(nn.ZeroPad2d((left, right, top, bottom)))
            conv = nn.Conv2d(k.shape[2], k.shape[3], layer.kernel_size, layer.strides,
                             bias=layer.use_bias)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))
                if layer.use_bias:
                    conv.bias.copy_(torch.from_numpy(layer.params["bias"]))
            modules.append(conv)
            if layer.activation.name == "relu":
                modules.append(nn.ReLU())
        elif isinstance(layer, L.BatchNormalization):
            modules.append(nn.BatchNorm2d(shape[-1], eps=layer.epsilon,
                                          momentum=1 - layer.momentum))
        elif isinstance(layer, L.ReLU):
            modules.append(nn.ReLU())
        elif isinstance(layer, L.MaxPooling2D):
            modules.append(nn.MaxPool2d(layer.pool_size, layer.strides))
        elif isinstance(layer, L.AveragePooling2D):
            modules.append(nn.AvgPool2d(layer.pool_size, layer.strides))
        elif isinstance(layer, L.Flatten):
            modules += [ChannelsLast(), nn.Flatten()]
        elif isinstance(layer, L.Dropout):
            modules.append(nn.Dropout(layer.rate))
        elif isinstance(layer, L.Dense):
            dense = nn.Linear(*layer.params["kernel"].shape)
            with torch.no_grad():
                dense.weight.copy_(torch.from_numpy(np.ascontiguousarray(
                    layer.params["kernel"].T)))
                dense.bias.copy_(torch.from_numpy(layer.params["bias"]))
            modules.append(dense)
            if layer.activation.name == "relu":
                modules.append(nn.ReLU())
            elif layer.activation.name != "softmax" or index != len(model.layers) - 1:
                raise SystemExit(f"torch_twin: no translation of {layer.activation.name}")
        else:
            raise SystemExit(f"torch_twin: no translation of {type(layer).__name__}")
        shape = shapes[index]
    return nn.Sequential(*modules)


def compare(args: argparse.Namespace, name: str, x_train, y_train, x_test,
            batch_size: int) -> bool:
    """Alternate one epoch of strided and one of PyTorch; compare the median epoch times,
    then ``predict`` on the test images."""
    import numpy as np
    import torch
    from torch import nn

    from strided._random import set_random_seed

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    clock = time.process_time if args.cpu_time else time.perf_counter
    model = network(name, args.seed)
    net = torch_twin(model)
    augment = [layer for layer in model.layers if type(layer).__name__.startswith("Random")]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    def torch_epoch() -> float:
        net.train()
        order = rng.permutation(len(x_train))
        start = clock()
        for i in range(0, len(order), batch_size):
            index = order[i:i + batch_size]
            xb = x_train[index]
            for layer in augment:  # the same augmentation as strided's, in the timing
                xb = layer(xb, training=True)
            xb = torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2)))
            yb = torch.from_numpy(y_train[index].astype(np.int64))
            optimizer.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            optimizer.step()
        return clock() - start

    def strided_epoch() -> float:
        start = clock()
        model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
        return clock() - start

    ours, theirs = [], []
    for _ in range(args.compare_epochs):
        time.sleep(PAUSE)
        ours.append(strided_epoch())
        time.sleep(PAUSE)
        theirs.append(torch_epoch())
    a, b = statistics.median(ours), statistics.median(theirs)
    good = a <= 0.9 * b
    what = "CPU time" if args.cpu_time else "wall time"
    print(f"{name}: per epoch ({what}, median of {args.compare_epochs}, alternating): strided "
          f"{a:.2f} s, PyTorch {torch.__version__} {b:.2f} s, ratio {a / b:.2f} "
          f"[target <= 0.90: {'PASS' if good else 'FAIL'}]", flush=True)
    print(f"  strided epochs: {', '.join(f'{t:.2f}' for t in ours)} s; PyTorch epochs: "
          f"{', '.join(f'{t:.2f}' for t in theirs)} s", flush=True)

    net.eval()
    xt = torch.from_numpy(np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)))

    def torch_predict() -> float:
        start = clock()
        with torch.no_grad():
            for i in range(0, len(xt), 500):
                net(xt[i:i + 500])
        return clock() - start

    def strided_predict() -> float:
        start = clock()
        model.predict(x_test, batch_size=500)
        return clock() - start

    ours, theirs = [], []
    for _ in range(3):
        time.sleep(PAUSE)
        ours.append(strided_predict())
        time.sleep(PAUSE)
        theirs.append(torch_predict())
    a, b = min(ours), min(theirs)
    fast = a <= 0.8 * b
    print(f"{name}: predict on {len(x_test):,} images ({what}, batches of 500, least of 3): "
          f"strided "
          f"{a:.2f} s, PyTorch {b:.2f} s, ratio {a / b:.2f} "
          f"[target <= 0.80: {'PASS' if fast else 'FAIL'}]", flush=True)
    return good and fast


if __name__ == "__main__":
    sys.exit(main())
