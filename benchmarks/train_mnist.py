"""Benchmark: the default ``strided train`` network on the 5,000 bundled MNIST digits.

Targets (issue 4), measured here and never as timed tests:

1. trained on the 5,000-image bundled subset only, the default network reaches at least 98.0%
   accuracy on the official 10,000-image MNIST test set (read through the MNIST loader),
   within 120 seconds of training on 2 cores;
2. its time per epoch is within 1.2x of the same network and optimiser in PyTorch on the CPU,
   measured side by side in this run (epochs alternate between the two, same batches, same
   augmentation, same thread count).

Run from the repository root::

    python benchmarks/train_mnist.py                     # both parts, 2 threads
    python benchmarks/train_mnist.py --skip-torch        # accuracy and time only
    python benchmarks/train_mnist.py --threads 1 --compare-epochs 3

The thread count is set (OPENBLAS/OMP/MKL_NUM_THREADS and ``torch.set_num_threads``) before
NumPy is imported, so that both libraries use the same number of cores.
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
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse()
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np

    from strided.cli import _train
    from strided.datasets import mnist

    epochs = args.epochs or _train.train.params[[p.name for p in _train.train.params]
                                                .index("epochs")].default
    batch_size = args.batch_size or _train.train.params[
        [p.name for p in _train.train.params].index("batch_size")].default
    x_train, y_train = mnist.load_bundled()
    x_test, y_test = mnist.load_split(args.data_dir, "test")
    x_train = x_train.astype(np.float32)[..., None] / 255
    x_test = x_test.astype(np.float32)[..., None] / 255
    print(f"threads={args.threads}, batch_size={batch_size}, train={len(x_train)} bundled, "
          f"test={len(x_test)} official", flush=True)
    ok = True
    if not args.skip_accuracy:
        model = _train.build_model(args.seed)
        steps = -(-len(x_train) // batch_size)
        _train.compile_model(model, steps)
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2,
                  seed=args.seed)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        good = accuracy >= 0.98 and seconds <= 120
        ok &= good
        print(f"strided: {epochs} epochs in {seconds:.1f} s ({seconds / epochs:.2f} s/epoch); "
              f"official test accuracy {100 * accuracy:.2f}% "
              f"[target >= 98.00% in <= 120 s: {'PASS' if good else 'FAIL'}]", flush=True)
    if not args.skip_torch:
        ok &= compare(args, x_train, y_train, batch_size)
    return 0 if ok else 1


def compare(args: argparse.Namespace, x_train, y_train, batch_size: int) -> bool:
    """Alternate one epoch of strided and one of PyTorch; compare the median epoch times."""
    import numpy as np
    import torch
    from torch import nn

    from strided._random import set_random_seed
    from strided.cli import _train

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = _train.build_model(args.seed)
    _train.compile_model(model, -(-len(x_train) // batch_size))
    shift = model.layers[0]  # RandomTranslation: the same augmentation feeds PyTorch
    net = nn.Sequential(
        nn.ZeroPad2d((1, 2, 1, 2)),  # TensorFlow's SAME for 5x5, stride 2, on 28x28
        nn.Conv2d(1, 16, 5, stride=2), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32, eps=1e-3, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64, eps=1e-3, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(576, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    def torch_epoch() -> float:
        net.train()
        order = rng.permutation(len(x_train))
        start = time.perf_counter()
        for i in range(0, len(order), batch_size):
            index = order[i:i + batch_size]
            xb = shift(x_train[index], training=True)
            xb = torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2)))
            yb = torch.from_numpy(y_train[index].astype(np.int64))
            optimizer.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    def strided_epoch() -> float:
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
        return time.perf_counter() - start

    ours, theirs = [], []
    for _ in range(args.compare_epochs):
        time.sleep(PAUSE)
        ours.append(strided_epoch())
        time.sleep(PAUSE)
        theirs.append(torch_epoch())
    a, b = statistics.median(ours), statistics.median(theirs)
    good = a <= 1.2 * b
    print(f"per epoch (median of {args.compare_epochs}, alternating): strided {a:.2f} s, "
          f"PyTorch {torch.__version__} {b:.2f} s, ratio {a / b:.2f} "
          f"[target <= 1.20: {'PASS' if good else 'FAIL'}]", flush=True)
    print(f"  strided epochs: {', '.join(f'{t:.2f}' for t in ours)} s; PyTorch epochs: "
          f"{', '.join(f'{t:.2f}' for t in theirs)} s", flush=True)
    return good


if __name__ == "__main__":
    sys.exit(main())
