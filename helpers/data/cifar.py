"""CIFAR-10: the official download, else an announced stand-in of the same shape.

No package registry ships CIFAR-10, so offline the course uses 32x32 RGB crops of ten of
scikit-image's bundled photos, one photo per class. It has CIFAR-10's shape (32x32x3,
10 classes) and nothing else in common: accuracy on it says nothing about CIFAR-10.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ._files import STANDIN, download_timeout, write_manifest
from .images import photo

# one bundled photo per stand-in class (colour photos, plus textures tinted per class)
STANDIN_CLASSES = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
                   "retina", "brick", "grass", "gravel", "camera"]
STANDIN_SIZES = {"train": 5000, "test": 1000}  # CIFAR-10 has 50,000 / 10,000
BANNER = ("=" * 78 + "\n"
          "STAND-IN DATA: real CIFAR-10 is not in the data root and could not be downloaded.\n"
          "These are 32x32 crops of scikit-image's bundled photos (10 photos = 10 classes).\n"
          "Same shape as CIFAR-10, different task: accuracy here is NOT a CIFAR-10 result.\n"
          + "=" * 78)


def _crops(img: np.ndarray, n: int, rng, tint=None) -> np.ndarray:
    from PIL import Image

    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    if tint is not None:
        img = np.clip(img.astype(np.float32) * tint, 0, 255).astype(np.uint8)
    h, w = img.shape[:2]
    out = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for i in range(n):
        side = int(rng.integers(min(h, w) // 8, min(h, w) // 2))
        y, x = rng.integers(0, h - side), rng.integers(0, w - side)
        crop = Image.fromarray(img[y:y + side, x:x + side]).resize((32, 32), Image.BILINEAR)
        crop = np.asarray(crop)
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def make_standin(stage: Path, seed: int = 10) -> dict:
    rng = np.random.default_rng(seed)
    tints = {"brick": (1.1, 0.7, 0.6), "grass": (0.7, 1.1, 0.6), "gravel": (0.8, 0.8, 1.1), "camera": (1.0, 1.0, 1.0)}
    arrays = {}
    for split, n in STANDIN_SIZES.items():
        per = n // 10
        x = np.concatenate([_crops(photo(c), per, rng, np.array(tints[c]) if c in tints else None)
                            for c in STANDIN_CLASSES])
        y = np.repeat(np.arange(10), per)
        order = rng.permutation(n)
        arrays[f"{split}_x"], arrays[f"{split}_y"] = x[order], y[order].astype(np.int64)
    np.savez(stage / "standin.npz", **arrays)
    return write_manifest(stage, "STAND-IN (32x32 crops of scikit-image photos; not CIFAR-10)", STANDIN,
                          ["standin.npz"])


def official(stage: Path) -> dict:
    import torchvision.datasets as tvd

    with download_timeout():
        tvd.CIFAR10(stage, train=True, download=True)
    files = [f"cifar-10-batches-py/{f}" for f in
             ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch", "batches.meta"]]
    return write_manifest(stage, "official download (torchvision)", "official", files)


def adopt(folder: Path) -> dict | None:
    import torchvision.datasets as tvd

    if not (folder / "cifar-10-batches-py").is_dir():
        return None
    tvd.CIFAR10(folder, train=False, download=False)  # torchvision checks the official MD5s
    files = sorted(str(p.relative_to(folder)) for p in (folder / "cifar-10-batches-py").iterdir() if p.is_file())
    return write_manifest(folder, "existing files in the data root (official MD5 verified)", "official", files)


class StandInCIFAR10(torch.utils.data.Dataset):
    """Quacks like ``torchvision.datasets.CIFAR10``: ``.data`` (N, 32, 32, 3) uint8, ``.targets``, ``.classes``."""

    classes = STANDIN_CLASSES

    def __init__(self, root: Path, train: bool = True, transform=None, target_transform=None):
        split = "train" if train else "test"
        with np.load(Path(root) / "standin.npz") as z:
            self.data, self.targets = z[f"{split}_x"], z[f"{split}_y"].tolist()
        self.transform, self.target_transform = transform, target_transform
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        from PIL import Image

        img, target = Image.fromarray(self.data[i]), self.targets[i]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        return f"StandInCIFAR10(split={'train' if len(self.data) == STANDIN_SIZES['train'] else 'test'}, n={len(self)}) — NOT CIFAR-10"
