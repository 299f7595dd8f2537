"""``summary(model, input_size)``: a per-stage table of output shapes, parameters and
multiply-accumulates (MACs), from one torchinfo pass.

torchinfo (``torchinfo.summary``) runs the forward pass with hooks, in eval mode and
without gradients, and records every layer call with its output shape and parameter
count; a model on the "meta" device computes nothing. This module groups those layer
calls into the model's stages. Two things stay by hand, and why:

- MACs. torchinfo's "mult-adds" also count one multiply-add per bias value and output
  position, and BatchNorm's scale and shift once per image. The table keeps the papers'
  convention, the one week 3 computes by hand: a Conv2d output value costs
  ``(C_in / groups) * kh * kw`` MACs, a Linear output ``in_features``, everything else
  (biases, BatchNorm, pooling, activations) 0. So the total is torchinfo's minus exactly
  those bias and BatchNorm terms (tests/test_models.py checks this).
- Stages the pass skips. torchinfo lists only the layers that ran, so stages the
  eval-mode pass never calls (GoogLeNet's auxiliary classifiers) are added at the end,
  with their parameters counted from the module.
"""
from __future__ import annotations

import math

import pandas as pd
import torch
import torchinfo
from torch import nn


def layer_macs(module: nn.Module, output_size) -> int:
    """Multiply-accumulates of one Conv2d or Linear call, per image, from its output
    shape (N, ...): every output value costs (inputs it sees) MACs. Other layers count 0."""
    per_image = math.prod(output_size[1:])
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_image * module.in_channels // module.groups * kh * kw
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    return 0


def _rows(model: nn.Module, depth: int) -> dict[str, nn.Module]:
    """Modules ``depth`` levels down, and leaves above that level."""
    rows = {}
    for name, module in model.named_modules():
        level = name.count(".") + 1 if name else 0
        if level == depth or (0 < level < depth and not any(module.children())):
            rows[name] = module
    return rows


def _shape(output_size) -> tuple[int, ...] | None:
    """torchinfo's output size as a tuple; None when the stage did not return one tensor."""
    if output_size and all(isinstance(n, int) for n in output_size):
        return tuple(output_size)
    return None


def layer_calls(model: nn.Module, input_size: tuple[int, ...]) -> list:
    """torchinfo's record of one eval-mode pass over a batch of zeros: one
    ``torchinfo.layer_info.LayerInfo`` per module call, in call order.

    Zeros are passed as input data (torchinfo would draw ``torch.rand``), so a summary
    leaves the global random state, and with it a seeded notebook's results, untouched.
    """
    first = next(model.parameters(), None)
    device, dtype = (first.device, first.dtype) if first is not None else ("cpu", torch.float32)
    x = torch.zeros(input_size, device=device, dtype=dtype)
    try:
        stats = torchinfo.summary(model, input_data=[x], device=device, mode="eval",
                                  verbose=0, cache_forward_pass=False)
    except RuntimeError as err:   # torchinfo wraps the model's own error: show that one
        if isinstance(err.__cause__, (ValueError, TypeError)):
            raise err.__cause__ from None
        raise
    return stats.summary_list


def summary(model: nn.Module, input_size: tuple[int, ...], depth: int = 1) -> pd.DataFrame:
    """Run one batch of zeros through ``model`` (eval mode, no grad) and tabulate it.

    input_size: (C, H, W) or (N, C, H, W).
    depth: 1 = the model's direct children (conv1, pool1, ... / conv2_x, ...),
        2 = their children (e.g. the blocks inside each ResNet stage), ...
    Returns a DataFrame with one row per stage, in the order the forward pass runs
    them, columns ``stage``, ``type``, ``output_shape`` (with N), ``params`` and
    ``macs`` (per image). Stages the eval-mode pass skips (GoogLeNet's auxiliary
    classifiers) come last with ``output_shape`` None, so ``params`` always sums to the
    model's parameter count. The model's train/eval mode is restored afterwards.
    """
    if len(input_size) == 3:
        input_size = (1, *input_size)
    rows = _rows(model, depth)
    owner = {sub: row for row, module in rows.items() for sub in module.modules()}
    first_call, macs = {}, dict.fromkeys(rows, 0)
    for call in layer_calls(model, input_size):
        row = owner.get(call.module)
        if row is None:                  # the model itself, or a container above the rows
            continue
        if call.module is rows[row] and row not in first_call:
            first_call[row] = call
        macs[row] += layer_macs(call.module, call.output_size)
    order = list(first_call) + [row for row in rows if row not in first_call]
    return pd.DataFrame({
        "stage": order,
        "type": [type(rows[r]).__name__ for r in order],
        "output_shape": [_shape(first_call[r].output_size) if r in first_call else None
                         for r in order],
        "params": [first_call[r].num_params if r in first_call
                   else sum(p.numel() for p in rows[r].parameters()) for r in order],
        "macs": [macs[r] for r in order],
    })
