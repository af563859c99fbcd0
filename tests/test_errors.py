"""Every bad input gets an exception of the right type whose message names the argument, the
value and what would be valid; each message is pinned here."""

from __future__ import annotations

import numpy as np
import pytest

import strided
from strided import functional as F
from strided import grad as G
from strided import nn, signal
from strided.layers import Conv1D, Conv2D

NHWC = np.zeros((1, 5, 5, 3))
HWIO = np.zeros((3, 3, 3, 2))
NCHW = np.zeros((1, 3, 5, 5))
OIHW = np.zeros((2, 3, 3, 3))


@pytest.mark.parametrize(("call", "error", "match"), [
    # channels, groups, kernel size
    (lambda: nn.conv2d(NHWC, np.zeros((5, 5, 4, 16)), 1, "SAME"), ValueError,
     r"conv2d: input has 3 channels but filters expect 4 \(filters.shape=\(5, 5, 4, 16\), "
     r"groups=1\); the third dimension of HWIO filters must equal input channels / groups"),
    (lambda: F.conv2d(NCHW, np.zeros((2, 4, 3, 3))), ValueError,
     r"conv2d: input has 3 channels but weight expects 4 .*the second dimension of OIHW weight"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3)), groups=2), ValueError,
     r"conv2d: groups must divide the input channels; got 3 input channels and groups=2"),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"groups must divide the output channels; got 3 output channels and groups=2"),
    (lambda: F.conv2d(NCHW, OIHW, groups=0), ValueError,
     r"groups must be a positive int; got groups=0"),
    (lambda: F.conv2d(NCHW, OIHW, groups=1.5), TypeError,
     r"groups must be a positive int; got groups=1.5"),
    (lambda: F.conv2d(NCHW, OIHW, dilation=3), ValueError,
     r"kernel is larger than the padded input in spatial dimension 0: effective kernel size 7 "
     r"\(kernel size 3 with dilation 3\) > padded input size 5"),
    (lambda: F.conv2d(NCHW, np.zeros((2, 3, 7, 3))), ValueError,
     r"effective kernel size 7 > padded input size 5 \(input size 5, padding \(0, 0\)\)"),
    # stride, dilation, padding
    (lambda: F.conv2d(NCHW, OIHW, stride=0), ValueError,
     r"conv2d: stride must be a positive int or a sequence of 2 positive ints; got stride=0"),
    (lambda: F.conv2d(NCHW, OIHW, stride=(1, -2)), ValueError, r"got stride=\(1, -2\)"),
    (lambda: F.conv2d(NCHW, OIHW, stride=(1, 1, 1)), ValueError,
     r"sequence of 2 positive ints; got stride=\(1, 1, 1\)"),
    (lambda: F.conv2d(NCHW, OIHW, dilation=0), ValueError,
     r"dilation must be a positive int .*; got dilation=0"),
    (lambda: F.conv2d(NCHW, OIHW, stride=1.5), TypeError, r"got stride=1.5"),
    (lambda: nn.conv2d(NHWC, HWIO, 1, "FULL"), ValueError,
     r"conv2d: padding must be 'valid', 'same', a non-negative int, 2 non-negative ints or "
     r"2 \(before, after\) pairs; got padding='FULL'"),
    (lambda: F.conv2d(NCHW, OIHW, padding=-1), ValueError, r"got padding=-1"),
    (lambda: F.conv2d(NCHW, OIHW, padding=[(1, 2, 3), (0, 0)]), ValueError,
     r"\(before, after\) pairs; got padding="),
    (lambda: F.conv2d(NCHW, OIHW, padding=1.0), TypeError, r"got padding=1.0"),
    (lambda: F.conv2d(NCHW, OIHW, padding="causal"), ValueError, r"got padding='causal'"),
    (lambda: F.conv2d(NCHW, OIHW, padding_mode="mirror"), ValueError,
     r"padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', 'symmetric'; "
     r"got padding_mode='mirror'"),
    (lambda: F.conv2d(NCHW, OIHW, padding=5, padding_mode="reflect"), ValueError,
     r"padding_mode='reflect' needs padding smaller than the input size; got padding \(5, 5\) "
     r"for size 5"),
    # rank, dtype, bias, algorithm
    (lambda: nn.conv2d(np.zeros((28, 28)), HWIO, 1, "SAME"), ValueError,
     r"conv2d: input must be 4-D \(NHWC\); got input.shape=\(28, 28\)"),
    (lambda: nn.conv2d(NHWC, np.zeros((3, 3, 3)), 1, "SAME"), ValueError,
     r"conv2d: filters must be 4-D \(HWIO\); got filters.shape=\(3, 3, 3\)"),
    (lambda: F.conv2d(np.zeros((5, 5)), OIHW), ValueError,
     r"conv2d: input must be 3-D \(C, \*S\) or 4-D \(N, C, \*S\); got input.shape=\(5, 5\)"),
    (lambda: F.conv3d(np.zeros((1, 1, 4, 4, 4)), np.zeros((1, 1, 2, 2))), ValueError,
     r"conv3d: weight must be 5-D \(OIDHW\)"),
    (lambda: F.conv2d(NCHW.astype(complex), OIHW), TypeError,
     r"conv2d: input must be an array of real numbers \(bool, int, uint or float\); "
     r"got dtype complex128"),
    (lambda: F.conv2d(NCHW, OIHW.astype(str)), TypeError, r"weight must be an array of real"),
    (lambda: F.conv2d(NCHW, OIHW, bias=np.zeros(3)), ValueError,
     r"conv2d: bias must have shape \(2,\), one value per output channel; got bias.shape=\(3,\)"),
    (lambda: F.conv2d(NCHW, OIHW, algorithm="magic"), ValueError,
     r"conv2d: algorithm must be one of 'auto', 'im2col'.*; got algorithm='magic'"),
    (lambda: F.conv2d(np.zeros((1, 3, 0, 5)), OIHW), ValueError,
     r"conv2d: the kernel is larger than the padded input in spatial dimension 0: effective "
     r"kernel size 3 > padded input size 0"),
    (lambda: F.conv2d(np.zeros((1, 3, 0, 5)), OIHW, padding=1, padding_mode="reflect"),
     ValueError, r"input must have positive spatial sizes with padding_mode='reflect'; got "
                 r"input.shape=\(1, 3, 0, 5\)"),
    # TensorFlow's own rules
    (lambda: nn.conv2d(NHWC, HWIO, [2, 2, 2, 1], "SAME"), ValueError,
     r"conv2d: strides in the batch and channel dimensions must be 1; got strides=\[2, 2, 2, 1\]"),
    (lambda: nn.conv2d(NHWC, HWIO, 1, "SAME", dilations=[1, 1, 1, 2]), ValueError,
     r"dilations in the batch and channel dimensions must be 1"),
    (lambda: nn.conv2d(NHWC, HWIO, 1, "SAME", data_format="NWHC"), ValueError,
     r"conv2d: data_format must be 'NHWC' or 'NCHW'; got data_format='NWHC'"),
    (lambda: nn.conv2d(NHWC, HWIO, 1, [[1, 0], [1, 1], [1, 1], [0, 0]]), ValueError,
     r"explicit padding in the batch and channel dimensions must be \[0, 0\]"),
    (lambda: nn.depthwise_conv2d(NHWC, np.zeros((3, 3, 4, 2)), 1, "SAME"), ValueError,
     r"depthwise_conv2d: input has 3 channels but filter expects 4 "
     r"\(filter.shape=\(3, 3, 4, 2\)\)"),
    (lambda: nn.conv2d_transpose(np.zeros((1, 2, 2, 2)), HWIO, (1, 5, 5, 3), 1, "SAME"),
     ValueError, r"conv2d_transpose: input must have shape \(1, 5, 5, 2\) for this convolution; "
     r"got input.shape=\(1, 2, 2, 2\)"),
    (lambda: nn.conv2d_transpose(np.zeros((1, 5, 5, 2)), HWIO, (1, 5, 5), 1), ValueError,
     r"output_shape must have 4 entries \(NHWC\) or 2 spatial sizes"),
    # PyTorch's transposed convolution and gradients
    (lambda: F.conv_transpose2d(NCHW, np.zeros((3, 2, 3, 3)), stride=2, output_padding=2),
     ValueError, r"output_padding must be smaller than stride or dilation; got output_padding=2"),
    (lambda: F.conv_transpose2d(NCHW, np.zeros((4, 2, 3, 3))), ValueError,
     r"conv_transpose2d: input has 3 channels but weight expects 4"),
    (lambda: F.conv_transpose2d(NCHW, np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"conv_transpose2d: groups must divide the input channels; got groups=2 and 3 input"),
    (lambda: F.conv_transpose2d(NCHW, np.zeros((3, 2, 3, 3)), groups="2"), TypeError,
     r"conv_transpose2d: groups must be a positive int; got groups='2'"),
    (lambda: F.conv_transpose2d(NCHW, np.zeros((3, 2, 3, 3)), padding="same"), ValueError,
     r"padding must be an int or 2 ints"),
    (lambda: F.conv_transpose2d(np.zeros((1, 3, 1, 1)), np.zeros((3, 2, 1, 1)), padding=1),
     ValueError, r"the output would be empty"),
    (lambda: G.conv2d_input((1, 3, 5, 5), OIHW, np.zeros((1, 2, 5, 5))), ValueError,
     r"conv2d_input: grad_output must have shape \(1, 2, 3, 3\) for this convolution; "
     r"got grad_output.shape=\(1, 2, 5, 5\)"),
    (lambda: G.conv2d_weight(NCHW, 7, np.zeros((1, 2, 3, 3))), TypeError,
     r"conv2d_weight: weight_size must be a sequence of ints \(a full shape\); got weight_size=7"),
    # output_shape and signal
    (lambda: strided.output_shape(4, 5), ValueError,
     r"output_shape: the kernel is larger than the padded input"),
    (lambda: strided.output_shape(0, 3), ValueError, r"input_size must be a positive int"),
    (lambda: strided.output_shape((4, 4), (3, 3, 3)), ValueError,
     r"kernel_size must be a positive int or a sequence of 2 positive ints"),
    (lambda: signal.convolve2d(np.zeros((3, 3)), np.zeros((2, 2)), mode="middle"), ValueError,
     r"convolve2d: mode must be one of 'full', 'valid', 'same'; got mode='middle'"),
    (lambda: signal.convolve2d(np.zeros((3, 3)), np.zeros((2, 2)), boundary="mirror"),
     ValueError, r"boundary must be one of 'fill', 'wrap', 'symm'"),
    (lambda: signal.correlate(np.zeros(3), np.zeros(4), mode="valid"), ValueError,
     r"mode='valid' needs in2 no larger than in1 in every dimension"),
    (lambda: signal.convolve(np.zeros((3, 3)), np.zeros(3)), ValueError,
     r"in1 and in2 must have the same number of dimensions"),
    (lambda: signal.convolve2d(np.zeros(3), np.zeros(3)), ValueError, r"must be 2-D"),
])
def test_core_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: Conv2D(0, 3), ValueError, r"Conv2D: invalid value for argument `filters`. "
     r"Expected a strictly positive int. Received: filters=0"),
    (lambda: Conv2D(3, 3, groups=2), ValueError, r"the number of filters must be evenly "
     r"divisible by the number of groups. Received: groups=2, filters=3"),
    (lambda: Conv2D(2, 3, padding="full"), ValueError, r"Conv2D: padding must be one of "
     r"\('valid', 'same'\). Received: padding='full'"),
    (lambda: Conv2D(2, 3, padding="causal"), ValueError, r"Received: padding='causal'"),
    (lambda: Conv2D(2, 3, data_format="NHWC"), ValueError, r"data_format must be one of "
     r"\('channels_last', 'channels_first'\). Received: data_format='NHWC'"),
    (lambda: Conv2D(2, 3, activation="swoosh"), ValueError, r"Unknown activation.*"
     r"Received: activation='swoosh'"),
    (lambda: Conv2D(2, 3, kernel_initializer="glorious"), ValueError, r"Unknown initializer.*"
     r"Received: initializer='glorious'"),
    (lambda: Conv2D(2, 3, kernel_regulariser="l2"), TypeError, r"Conv2D: unexpected keyword "
     r"argument\(s\) \['kernel_regulariser'\]"),
    (lambda: Conv2D(2, 3, kernel_regularizer="l3"), ValueError, r"Unknown regularizer.*"
     r"Received: regularizer='l3'"),
    (lambda: Conv2D(2, 3, kernel_constraint="positive"), ValueError, r"Unknown constraint.*"
     r"Received: constraint='positive'"),
    (lambda: Conv2D(2, (3, 3, 3)), ValueError, r"kernel_size must be a positive int or a "
     r"sequence of 2"),
    (lambda: Conv2D(2, 3, input_shape=(28, 28)), ValueError, r"Conv2D: expects inputs of rank "
     r"4 \(batch, 2 spatial dimensions, channels\). Received: input_shape=\(None, 28, 28\)"),
    (lambda: Conv2D(4, 3, groups=2, input_shape=(8, 8, 3)), ValueError, r"input channels must "
     r"be evenly divisible by the number of groups. Received: groups=2"),
    (lambda: Conv2D(2, 5)(np.zeros((1, 3, 3, 1))), ValueError, r"Conv2D: the kernel is larger "
     r"than the padded input"),
    (lambda: Conv2D(2, 3, input_shape=(8, 8, 3))(np.zeros((1, 8, 8, 4))), ValueError,
     r"Conv2D: inputs have 4 channels but kernel expects 3"),
])
def test_keras_layer_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_backward_needs_a_training_forward_pass():
    layer = Conv1D(2, 3, padding="causal")
    layer(np.zeros((1, 8, 1)))
    with pytest.raises(RuntimeError, match=r"backward\(\) needs a forward pass with "
                       r"training=True first"):
        layer.backward(np.zeros((1, 8, 2)))


def test_set_weights_checks_shapes():
    layer = Conv2D(2, 3, input_shape=(8, 8, 1))
    with pytest.raises(ValueError, match=r"weight 'kernel' has shape \(3, 3, 1, 2\). Received: "
                       r"an array of shape \(3, 3, 2, 2\)"):
        layer.set_weights([np.zeros((3, 3, 2, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"expects 2 weights \(kernel, bias\). Received: 1"):
        layer.set_weights([np.zeros((3, 3, 1, 2))])


def test_errors_come_before_heavy_work():
    # a 2 GB input with a channel mismatch fails at once, from shapes alone
    huge = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(64, 3, 2048, 2048),
                                           strides=(0, 0, 0, 0))
    with pytest.raises(ValueError, match="input has 3 channels but weight expects 4"):
        F.conv2d(huge, np.zeros((2, 4, 3, 3)))
