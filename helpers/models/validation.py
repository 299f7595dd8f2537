"""Input checks shared by the paper models: a wrong shape fails early with a message
that names the shape the model expects."""
from __future__ import annotations

import torch


def check_images(x: torch.Tensor, arch: str, in_channels: int,
                 min_size: int | None = None, size: int | None = None) -> None:
    """Raise ``ValueError`` unless ``x`` is a batch of images the model can take.

    x: tensor of shape (N, in_channels, H, W).
    min_size: smallest accepted H and W (the network would shrink a smaller image to
        nothing, or below its last pooling window).
    size: the only accepted H and W (LeNet-5's C5 needs an exact 5x5 input).
    """
    if size is not None:
        expected = f"(N, {in_channels}, {size}, {size})"
        ok = x.dim() == 4 and x.shape[1] == in_channels and x.shape[2] == x.shape[3] == size
    else:
        expected = f"(N, {in_channels}, H, W) with H, W >= {min_size}"
        ok = (x.dim() == 4 and x.shape[1] == in_channels
              and x.shape[2] >= min_size and x.shape[3] >= min_size)
    if not ok:
        raise ValueError(f"{arch} expects images of shape {expected}, got {tuple(x.shape)}")


def check_feature_map(x: torch.Tensor, block: str, c_in: int) -> None:
    """Raise ``ValueError`` unless ``x`` is a batch of feature maps (N, c_in, H, W) for ``block``."""
    if x.dim() != 4 or x.shape[1] != c_in:
        raise ValueError(f"{block} expects feature maps of shape (N, {c_in}, H, W), got {tuple(x.shape)}")
