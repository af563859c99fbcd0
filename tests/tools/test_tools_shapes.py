"""The stack shape calculator against PyTorch's layers and TensorFlow's written-out rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from strided import output_shape
from strided.tools import (
    describe_stack,
    parse_layer,
    parse_size,
    receptive_field_counts,
    receptive_field_size,
    stack_steps,
)


def test_the_issue_example_in_words() -> None:
    text = describe_stack((28, 28, 1), [parse_layer("conv:16,5,2,same")])
    assert "height: SAME -> output = ceil(28 / 2) = 14" in text
    assert "padding = max((14 - 1) * 2 + 5 - 28, 0) = 3 -> 1 top, 2 bottom" in text
    assert "(28 + 1 + 2 - 5) // 2 + 1 = 26 // 2 + 1 = 14" in text
    assert "parameters: 5 * 5 * 1 * 16 weights + 16 biases = 416" in text
    assert text.endswith("28 x 28 x 1 (H x W x C) -> 14 x 14 x 16 (H x W x C), 416 parameters")


@pytest.mark.parametrize("layers", [
    ["conv:8,3,1,1", "pool:2", "conv:16,5,2,2"],
    ["conv:filters=4,kernel=3x5,stride=2x1,padding=1x2,dilation=2", "pool:kernel=3,stride=2"],
    ["conv:6,3,1,same", "conv:filters=6,kernel=3,groups=3,bias=false", "pool:2,1,1"],
])
def test_torch_convention_matches_pytorch(layers: list[str]) -> None:
    specs = [parse_layer(text, "torch") for text in layers]
    steps = stack_steps(parse_size("3x23x20", "torch"), specs, "torch")
    modules: list[torch.nn.Module] = []
    channels = 3
    for spec in specs:
        padding = spec.padding if isinstance(spec.padding, str) else tuple(spec.padding)
        if spec.kind == "conv":
            modules.append(torch.nn.Conv2d(channels, spec.filters, spec.kernel, spec.stride,
                                           padding, spec.dilation, spec.groups, spec.bias))
            channels = spec.filters or 0
        else:
            modules.append(torch.nn.MaxPool2d(spec.kernel, spec.stride,
                                              0 if padding == "valid" else padding))
    x = torch.zeros(1, 3, 23, 20)
    for step, module in zip(steps, modules):
        x = module(x)
        c, h, w = x.shape[1:]
        assert step.output_shape == (h, w, c)
        assert step.parameters == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(("size", "kernel", "stride", "dilation"),
                         [(28, 5, 2, 1), (7, 3, 3, 1), (10, 4, 1, 1), (11, 3, 2, 2), (5, 5, 4, 1)])
def test_tf_same_is_ceil_and_pads_the_odd_cell_after(size: int, kernel: int, stride: int,
                                                     dilation: int) -> None:
    layer = parse_layer(f"conv:filters=1,kernel={kernel},stride={stride},padding=same,"
                        f"dilation={dilation}")
    (step,) = stack_steps((size, size, 1), [layer])
    assert step.output_shape[:2] == (math.ceil(size / stride),) * 2
    (top, bottom), _ = step.padding
    total = max((math.ceil(size / stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    assert (top, bottom) == (total // 2, total - total // 2)
    assert step.output_shape[:2] == output_shape((size, size), kernel, stride, "same", dilation)


def test_unread_rows_are_mentioned() -> None:
    text = describe_stack((28, 28, 1), [parse_layer("conv:16,5,4")])
    assert "23 is not a multiple of the stride 4: the last 3 row(s) of the padded input" in text


@pytest.mark.parametrize(("convention", "layers", "message"), [
    ("tf", ["conv:16,5"], r"layer 1 \(conv 16 filters 5x5, stride 1, padding valid\) is "
                          r"impossible: along the height the 5-cell kernel does not fit in the "
                          r"input of 4 cells plus padding 0 \+ 0 = 4 cells"),
    ("torch", ["conv:16,3,2,same"], r"impossible in PyTorch: padding='same' needs stride 1 "
                                    r"\(got stride 2\); TensorFlow allows it"),
    ("torch", ["pool:kernel=2,padding=2"], r"pooling padding must be at most half the kernel"),
    ("tf", ["conv:4,3", "conv:filters=4,kernel=1,groups=3"],
     r"layer 2 .* is impossible: groups 3 must divide both the 4 input channels"),
])
def test_impossible_configurations_say_why(convention: str, layers: list[str],
                                           message: str) -> None:
    specs = [parse_layer(text, convention) for text in layers]
    with pytest.raises(ValueError, match=message):
        stack_steps((4, 4, 1), specs, convention)


@pytest.mark.parametrize(("text", "convention", "message"), [
    ("dense:10", "tf", r"layer 'dense:10': the kind must be 'conv' or 'pool'"),
    ("conv:kernel=3", "tf", r"a conv layer needs a number of filters"),
    ("conv:16", "tf", r"the kernel size is missing"),
    ("conv:16,3,1,2", "tf", r"TensorFlow/Keras padding is 'valid' or 'same'; got padding='2'"),
    ("conv:16,3,x", "tf", r"stride must be an integer N or HxW; got stride='x'"),
    ("conv:16,3,color=red", "tf", r"unknown setting 'color'"),
    ("pool:2,2,0,9", "torch", r"too many values; a pool layer takes kernel, stride, padding"),
])
def test_layer_syntax_errors(text: str, convention: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_layer(text, convention)


def test_parse_size_errors() -> None:
    with pytest.raises(ValueError, match=r"input size must be HxW or HxWxC \(e.g. 28x28x1\)"):
        parse_size("28x28x1x1")
    with pytest.raises(ValueError, match=r"input size must be HxW or CxHxW"):
        parse_size("a by b", "torch")


def test_receptive_field_through_a_stack() -> None:
    layers = [parse_layer("conv:1,3"), parse_layer("pool:2"), parse_layer("conv:1,3")]
    counts = receptive_field_counts((16, 16), layers, (2, 2))
    assert [c.shape for c in counts] == [(16, 16), (14, 14), (7, 7), (5, 5)]
    rows, cols = np.nonzero(counts[0])
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 11, 4, 11)
    assert receptive_field_size(layers) == (8, 8)
    # brute force: which input pixels change output (2, 2) of the same stack in PyTorch
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, bias=False), torch.nn.AvgPool2d(2),
                              torch.nn.Conv2d(1, 1, 3, bias=False))
    for p in net.parameters():
        torch.nn.init.constant_(p, 1.0)
    x = torch.zeros(1, 1, 16, 16, requires_grad=True)
    net(x)[0, 0, 2, 2].backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad[0, 0].numpy() > 0, counts[0] > 0)
    # the number of paths is the gradient of the sum (each pool path weighs 1/4)
    np.testing.assert_allclose(x.grad[0, 0].numpy() * 4, counts[0])
