"""A deliberately plain loop-based convolution, sharing no code with strided.

Channels first: x (N, C, *S), w (O, C / groups, *K) -> y (N, O, *OS); ``padding`` is a list of
(before, after) pairs of zeros.  Obviously right and slow: for tiny shapes only.
"""

from __future__ import annotations

import itertools

import numpy as np


def _connections(input_shape, weight_shape, stride, padding, dilation, groups):
    """Every (output index, input index, weight index) whose product the convolution sums.

    Output p of channel o reads input p*s + t*d - lo of channel (o's group) * C/g + c through
    weight [o, c, t]; reads that fall in the zero padding are left out.
    """
    n_batch, _, *size = input_shape
    out_channels, group_channels, *kernel = weight_shape
    out = [(n + lo + hi - d * (k - 1) - 1) // s + 1
           for n, k, s, (lo, hi), d in zip(size, kernel, stride, padding, dilation)]
    per_group = out_channels // groups
    for n, o, p in itertools.product(range(n_batch), range(out_channels),
                                     itertools.product(*map(range, out))):
        taps = itertools.product(*map(range, kernel))
        for c, t in itertools.product(range(group_channels), list(taps)):
            where = [pi * s + ti * d - lo
                     for pi, s, ti, d, (lo, _) in zip(p, stride, t, dilation, padding)]
            if all(0 <= i < m for i, m in zip(where, size)):
                channel = (o // per_group) * group_channels + c
                yield (n, o, *p), (n, channel, *where), (o, c, *t)


def _output_shape(input_shape, weight_shape, stride, padding, dilation):
    _, _, *size = input_shape
    return (input_shape[0], weight_shape[0], *[
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, (lo, hi), d in zip(size, weight_shape[2:], stride, padding, dilation)])


def conv(x, w, stride, padding, dilation, groups=1):
    """y[out] = sum of x[in] * w[tap] over the connections of out."""
    y = np.zeros(_output_shape(x.shape, w.shape, stride, padding, dilation),
                 dtype=np.result_type(x, w))
    for out, inp, tap in _connections(x.shape, w.shape, stride, padding, dilation, groups):
        y[out] += x[inp] * w[tap]
    return y


def conv_grad_input(dy, w, input_shape, stride, padding, dilation, groups=1):
    """dx[in] = sum of dy[out] * w[tap] over the connections of in."""
    dx = np.zeros(input_shape, dtype=np.result_type(dy, w))
    for out, inp, tap in _connections(input_shape, w.shape, stride, padding, dilation, groups):
        dx[inp] += dy[out] * w[tap]
    return dx


def conv_grad_weight(x, dy, weight_shape, stride, padding, dilation, groups=1):
    """dw[tap] = sum of dy[out] * x[in] over the connections through tap."""
    dw = np.zeros(weight_shape, dtype=np.result_type(x, dy))
    for out, inp, tap in _connections(x.shape, weight_shape, stride, padding, dilation, groups):
        dw[tap] += dy[out] * x[inp]
    return dw
