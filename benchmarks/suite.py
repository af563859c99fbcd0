"""The issue's suite of 14 layers and how strided is called on each, for the benchmarks.

``conv_vs_torch.py`` times these calls against PyTorch; ``fresh_process.py`` times them each
in a new process.  Nothing here imports PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import strided
from strided import _core
from strided._spec import make_spec

# name, N, H, W, Cin, Cout, kernel, stride, padding, dilation, groups
SUITE = [
    ("lecture MNIST", 64, 28, 28, 1, 16, 5, 2, "SAME", 1, 1),
    ("lecture CIFAR", 64, 32, 32, 3, 16, 5, 2, "SAME", 1, 1),
    ("Keras article", 4, 28, 28, 3, 2, 3, 1, "VALID", 1, 1),
    ("ResNet stem", 8, 224, 224, 3, 64, 7, 2, 3, 1, 1),
    ("ResNet 3x3 a", 16, 56, 56, 64, 64, 3, 1, 1, 1, 1),
    ("ResNet 3x3 b", 16, 28, 28, 128, 128, 3, 1, 1, 1, 1),
    ("ResNet 3x3 c", 16, 14, 14, 256, 256, 3, 1, 1, 1, 1),
    ("ResNet 3x3 d", 16, 7, 7, 512, 512, 3, 1, 1, 1, 1),
    ("downsample", 16, 56, 56, 64, 128, 3, 2, 1, 1, 1),
    ("pointwise", 16, 56, 56, 64, 256, 1, 1, 0, 1, 1),
    ("depthwise", 16, 56, 56, 128, 128, 3, 1, 1, 1, 128),
    ("dilated", 16, 56, 56, 64, 64, 3, 1, 2, 2, 1),
    ("large kernel", 4, 64, 64, 16, 16, 11, 1, "SAME", 1, 1),
    ("image filter", 1, 2048, 2048, 1, 1, 5, 1, "SAME", 1, 1),
]
#: Drawn once (numpy.random.default_rng(20261201)) from realistic ranges: batch 1-64, side
#: 7-224, channels 1-512, kernel 1-7, stride 1-2, dilation 1-2, groups 1 or depthwise, 5 MFLOP
#: to 8 GFLOP.  ``choose`` is not tuned on these: they check that it carries over.
HELD_OUT = [
    ("held-out 1", 4, 56, 56, 32, 512, 3, 1, 1, 1, 1),
    ("held-out 2", 16, 28, 28, 32, 16, 1, 1, 0, 1, 1),
    ("held-out 3", 4, 14, 14, 512, 512, 7, 1, 3, 1, 512),
    ("held-out 4", 16, 56, 56, 32, 64, 3, 1, 2, 2, 1),
    ("held-out 5", 8, 56, 56, 128, 256, 3, 2, 1, 1, 1),
    ("held-out 6", 2, 28, 28, 256, 16, 7, 2, 6, 2, 1),
    ("held-out 7", 1, 224, 224, 96, 16, 7, 1, 6, 2, 1),
    ("held-out 8", 4, 28, 28, 32, 128, 3, 1, 1, 1, 1),
    ("held-out 9", 32, 112, 112, 3, 128, 1, 2, 0, 1, 1),
    ("held-out 10", 8, 112, 112, 16, 32, 7, 1, 6, 2, 16),
    ("held-out 11", 8, 56, 56, 3, 256, 1, 1, 0, 1, 1),
    ("held-out 12", 2, 224, 224, 64, 32, 1, 1, 0, 1, 1),
    ("held-out 13", 2, 56, 56, 1, 512, 1, 1, 0, 1, 1),
    ("held-out 14", 4, 224, 224, 32, 64, 3, 1, 1, 1, 1),
]

#: The layers outside the suite that the compiled-kernels issue reports (batch sizes ours).
REPORTED = [
    ("3x3 64x64x32", 8, 64, 64, 32, 32, 3, 1, 1, 1, 1),
    ("5x5 32x32x32", 8, 32, 32, 32, 64, 5, 1, 2, 1, 1),
    ("batch-1 3x3", 1, 56, 56, 64, 64, 3, 1, 1, 1, 1),
    ("1x1 14x14x512", 8, 14, 14, 512, 128, 1, 1, 0, 1, 1),
    ("depthwise 5x5", 4, 28, 28, 96, 96, 5, 1, 2, 1, 96),
    ("depthwise 3x3 x2", 8, 56, 56, 64, 128, 3, 1, 1, 1, 64),
    ("depthwise 5x5 x2", 8, 28, 28, 96, 192, 5, 1, 2, 1, 96),
]

SETS = {"suite": SUITE, "held-out": HELD_OUT, "reported": REPORTED}
PASSES = ("forward", "grad_input", "grad_weight")


class Layer:
    """One suite entry: its spec, float32 arrays in both layouts, and strided's calls."""

    def __init__(self, name, n, h, w, cin, cout, k, stride, padding, dilation, groups,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.name, self.groups = name, groups
        self.spec = make_spec("bench", (n, h, w, cin), (k, k, cin // groups, cout), rank=2,
                              stride=stride, padding=padding, dilation=dilation, groups=groups)
        self.x = rng.standard_normal((n, h, w, cin), dtype=np.float32)
        self.w = (rng.standard_normal(self.spec.weight_shape) / math.sqrt(k * k * cin // groups)
                  ).astype(np.float32)
        self.dy = rng.standard_normal(self.spec.output_shape, dtype=np.float32)
        self.x_nchw = np.ascontiguousarray(self.x.transpose(0, 3, 1, 2))
        self.w_oihw = np.ascontiguousarray(self.w.transpose(3, 2, 0, 1))
        self.dy_nchw = np.ascontiguousarray(self.dy.transpose(0, 3, 1, 2))
        self.padding = [lo for lo, _ in self.spec.padding]
        self.torch_padding = [max(lo, hi) for lo, hi in self.spec.padding]
        self.stride, self.dilation = self.spec.stride, self.spec.dilation
        self.nhwc_spec = self.spec
        self.nchw_spec = make_spec("bench", self.x_nchw.shape, self.w_oihw.shape, rank=2,
                                   stride=stride, padding=padding, dilation=dilation,
                                   groups=groups, data_format="channels_first",
                                   weight_format="OIHW")

    # strided, NHWC face (strided.nn; gradients through the core in NHWC / HWIO)
    def strided_nhwc(self, which: str, algorithm: str = "auto") -> Callable[[], object]:
        s, x, w, dy = self.nhwc_spec, self.x, self.w, self.dy
        if which == "forward":
            if self.groups > 1 and self.groups == s.in_channels:  # depthwise, multiplier O/C
                filt = w.reshape(*w.shape[:2], s.in_channels, -1)
                return lambda: strided.nn.depthwise_conv2d(
                    x, filt, [1, *s.stride, 1], s.padding and [(0, 0), *s.padding, (0, 0)],
                    dilations=list(s.dilation), algorithm=algorithm)
            return lambda: strided.nn.conv2d(x, w, list(s.stride), [(0, 0), *s.padding, (0, 0)],
                                             dilations=list(s.dilation), algorithm=algorithm)
        if which == "grad_input":
            return lambda: _core.convolve_grad_input(dy, w, s, algorithm=algorithm)
        return lambda: _core.convolve_grad_weight(x, dy, s, algorithm=algorithm)

    # strided, NCHW face (strided.functional, strided.grad)
    def strided_nchw(self, which: str, algorithm: str = "auto") -> Callable[[], object]:
        x, w, dy, s = self.x_nchw, self.w_oihw, self.dy_nchw, self.spec
        pad = [list(p) for p in s.padding]
        if which == "forward":
            return lambda: strided.functional.conv2d(x, w, None, s.stride, pad, s.dilation,
                                                     self.groups, algorithm=algorithm)
        if which == "grad_input":
            return lambda: strided.grad.conv2d_input(x.shape, w, dy, s.stride, pad, s.dilation,
                                                     self.groups, algorithm=algorithm)
        return lambda: strided.grad.conv2d_weight(x, w.shape, dy, s.stride, pad, s.dilation,
                                                  self.groups, algorithm=algorithm)
