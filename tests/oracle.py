"""PyTorch on the CPU in float64 as the oracle: forward and every gradient, any padding.

Channels first (NC*S) and OIHW, like PyTorch.  Asymmetric per-side padding and padding modes
are applied with ``torch.nn.functional.pad`` before a VALID convolution, so every
configuration strided accepts has an oracle, including TensorFlow's SAME with any stride.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as tf_

torch.set_default_dtype(torch.float64)

_CONV = {1: tf_.conv1d, 2: tf_.conv2d, 3: tf_.conv3d}
_TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                "circular": "circular"}


def _pad(x: torch.Tensor, padding, mode: str) -> torch.Tensor:
    # F.pad takes (before, after) pairs starting from the LAST dimension
    flat = [v for lo_hi in reversed(padding) for v in lo_hi]
    if not any(flat):
        return x
    return tf_.pad(x, flat, mode=_TORCH_MODES[mode])


def conv(x, w, bias=None, stride=1, padding=None, dilation=1, groups=1, mode="zeros",
         grad_output=None):
    """PyTorch's result y and, given ``grad_output``, (dx, dw, db); all NumPy float64.

    ``padding``: list of (before, after) pairs per spatial dimension.
    """
    rank = x.ndim - 2
    padding = padding if padding is not None else [(0, 0)] * rank
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    wt = torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    bt = None if bias is None else torch.tensor(np.asarray(bias, np.float64), requires_grad=True)
    y = _CONV[rank](_pad(xt, padding, mode), wt, bt, stride=stride, dilation=dilation,
                    groups=groups)
    if grad_output is None:
        return y.detach().numpy()
    y.backward(torch.tensor(np.asarray(grad_output, dtype=np.float64)))
    db = None if bt is None else bt.grad.numpy()
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), db


def conv_transpose(x, w, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                   dilation=1):
    """``torch.nn.functional.conv_transpose{1,2,3}d`` in float64."""
    fn = {1: tf_.conv_transpose1d, 2: tf_.conv_transpose2d, 3: tf_.conv_transpose3d}[x.ndim - 2]
    bt = None if bias is None else torch.tensor(np.asarray(bias, np.float64))
    return fn(torch.tensor(np.asarray(x, np.float64)), torch.tensor(np.asarray(w, np.float64)),
              bt, stride, padding, output_padding, groups, dilation).numpy()
