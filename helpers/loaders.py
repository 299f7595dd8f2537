"""Batches resident in memory (and on the device), and augmentation that runs on them.

``TensorLoader`` keeps a whole (small) dataset as normalised tensors on the device and
shuffles by index: no per-item PIL decode or collate, which makes an MNIST-size epoch
several times faster than a ``DataLoader`` (benchmarks/loader_speed.py measures it).
``random_crop_flip`` augments such batches on the device (``train.fit(..., augment=...)``),
so the resident path still sees new crops every epoch. Both are importable from helpers.train.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F


class TensorLoader:
    """Batches from tensors resident in memory (and on ``device``), shuffled by index.

    >>> loader = TensorLoader(x, y, batch_size=64, shuffle=True)   # x: (N, ...), y: (N,)
    >>> for xb, yb in loader: ...
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64, shuffle: bool = False,
                 device=None, seed: int | None = None, drop_last: bool = False):
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        device = torch.device(device) if device is not None else x.device
        self.x, self.y = x.to(device), y.to(device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        # as with a DataLoader: len(loader.dataset) is the number of examples, loader.dataset[i] one (x, y)
        self.dataset = torch.utils.data.TensorDataset(self.x, self.y)

    @classmethod
    def from_dataset(cls, dataset, limit: int | None = None, mean=None, std=None, **kwargs) -> "TensorLoader":
        """Stack a torchvision-style dataset once: uint8 ``.data`` fast path, else item by item.

        ``mean``/``std`` (per channel) normalise the stacked images.
        """
        n = len(dataset) if limit is None else min(limit, len(dataset))
        data = getattr(dataset, "data", None)
        if data is not None and getattr(dataset, "transform", None) is None and hasattr(dataset, "targets"):
            x = torch.as_tensor(data[:n]).float().div_(255)
            x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)  # (N,H,W) or (N,H,W,C)
            y = torch.as_tensor(dataset.targets[:n]).long()
        else:
            items = [dataset[i] for i in range(n)]
            x = torch.stack([torch.as_tensor(img) for img, _ in items]).float()
            y = torch.as_tensor([int(t) for _, t in items])
        if mean is not None:
            shape = (1, -1) + (1,) * (x.ndim - 2)
            x = (x - torch.as_tensor(mean).view(shape)) / torch.as_tensor(std).view(shape)
        return cls(x.contiguous(), y, **kwargs)

    def __len__(self) -> int:
        n = len(self.x) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator).to(self.x.device) if self.shuffle else None
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            if order is None:
                yield self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                yield self.x[idx], self.y[idx]


def random_crop_flip(pad: int = 4, flip: bool = True, fill: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """An ``augment=`` function for ``fit``: images (N, C, H, W) -> (N, C, H, W), each one
    cropped at a random offset from the image padded by ``pad`` pixels of ``fill`` (0 is the
    mean colour of normalised data), and mirrored left-right with probability 1/2 (``flip``).
    Runs on the batch's device in a few tensor operations, drawing from torch's RNG there."""
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")

    def augment(x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"random_crop_flip expects images of shape (N, C, H, W), got {tuple(x.shape)}")
        n, _, h, w = x.shape
        padded = F.pad(x, (pad, pad, pad, pad), value=fill).permute(0, 2, 3, 1)    # (N, H+2p, W+2p, C)
        rows = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device) + torch.arange(h, device=x.device)
        cols = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device) + torch.arange(w, device=x.device)
        if flip:  # reading a crop's columns backwards mirrors it
            cols = torch.where(torch.rand(n, 1, device=x.device) < 0.5, cols.flip(1), cols)
        crops = padded[torch.arange(n, device=x.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
        return crops.permute(0, 3, 1, 2).contiguous()                                # (N, C, H, W)

    return augment
