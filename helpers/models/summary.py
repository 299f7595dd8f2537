"""``summary(model, input_size)``: a per-stage table of output shapes, parameters and
multiply-accumulates (MACs), measured with forward hooks on one forward pass."""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates of one Conv2d or Linear call, per image: every output value
    costs (inputs it sees) MACs. Other layers (BatchNorm, pooling, ReLU) count 0."""
    per_image = output[0].numel()
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


def summary(model: nn.Module, input_size: tuple[int, ...], depth: int = 1) -> pd.DataFrame:
    """Run one batch of zeros through ``model`` (eval mode, no grad) and tabulate it.

    input_size: (C, H, W) or (N, C, H, W).
    depth: 1 = the model's direct children (conv1, pool1, ... / conv2_x, ...),
        2 = their children (e.g. the blocks inside each ResNet stage), ...
    Returns a DataFrame with one row per stage, in the order the forward pass runs
    them, columns ``stage``, ``type``, ``output_shape`` (with N), ``params`` and
    ``macs`` (per image). Stages the eval-mode pass skips (GoogLeNet's auxiliary
    classifiers) come last with ``output_shape`` None, so ``params`` always sums to the
    model's parameter count. A model on the "meta" device gives shapes and MACs without
    computing anything.
    """
    if len(input_size) == 3:
        input_size = (1, *input_size)
    first = next(model.parameters(), None)
    device, dtype = (first.device, first.dtype) if first is not None else ("cpu", torch.float32)
    rows = _rows(model, depth)
    owner = {}                                   # every module -> the row that contains it
    for row, module in rows.items():
        for sub in module.modules():
            owner[sub] = row
    shapes, macs, order, handles = {}, dict.fromkeys(rows, 0), [], []

    def record_shape(row):
        def hook(module, inputs, output):
            if row not in shapes:
                order.append(row)
                shapes[row] = tuple(output.shape) if torch.is_tensor(output) else None
        return hook

    def count_macs(module, inputs, output):
        if module in owner:
            macs[owner[module]] += layer_macs(module, output)

    for row, module in rows.items():
        handles.append(module.register_forward_hook(record_shape(row)))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            handles.append(module.register_forward_hook(count_macs))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_size, device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    order += [row for row in rows if row not in shapes]
    return pd.DataFrame({
        "stage": order,
        "type": [type(rows[r]).__name__ for r in order],
        "output_shape": [shapes.get(r) for r in order],
        "params": [sum(p.numel() for p in rows[r].parameters()) for r in order],
        "macs": [macs[r] for r in order],
    })
