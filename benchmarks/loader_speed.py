"""One LeNet-5 training epoch on MNIST-size data: DataLoader vs the resident TensorLoader.

    python benchmarks/loader_speed.py [--limit N] [--batch-size 64] [--workers 0 2] [--device cpu]

Data: Fashion-MNIST's 60,000 training images (the full set ships offline, so the epoch is
MNIST-size). The DataLoader path is the textbook one: PIL image -> ToTensor -> Normalize per
item, collate per batch. The resident path normalises once and indexes tensors on the device.
Prints seconds per epoch for each path and the speed-up ratio.
"""
from __future__ import annotations

import argparse
import os
import time

import torch
import torchvision.transforms as T
from torch import nn

from helpers import config, data
from helpers.models import lenet5
from helpers.train import TensorLoader

MEAN, STD = (0.2860,), (0.3530,)  # Fashion-MNIST training-set statistics


def one_epoch(model, loader, device) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[0])
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    device = config.pick_device(args.device)
    config.seed_everything(0)
    train = data.get_dataset("fashion_mnist", "train", transform=T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)]))
    subset = train if args.limit is None else torch.utils.data.Subset(train, range(args.limit))
    n = len(subset)
    print(f"device {device.type}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, {n:,} images, "
          f"batch {args.batch_size}, model lenet5 (28x28 variant)")

    rows = {}
    for workers in args.workers:
        loader = torch.utils.data.DataLoader(subset, batch_size=args.batch_size, shuffle=True, num_workers=workers,
                                             pin_memory=device.type == "cuda", persistent_workers=False)
        model = lenet5(in_channels=1, num_classes=10).to(device)
        one_epoch(model, [next(iter(loader))], device)  # warm-up
        rows[f"DataLoader(num_workers={workers})"] = one_epoch(model, loader, device)

    raw = data.get_dataset("fashion_mnist", "train")
    start = time.perf_counter()
    resident = TensorLoader.from_dataset(raw, limit=n, mean=MEAN, std=STD, batch_size=args.batch_size,
                                         shuffle=True, seed=0, device=device)
    build = time.perf_counter() - start
    model = lenet5(in_channels=1, num_classes=10).to(device)
    one_epoch(model, [next(iter(resident))], device)
    rows["TensorLoader (resident)"] = one_epoch(model, resident, device)

    fast = rows["TensorLoader (resident)"]
    print("\n| path | s/epoch | speed-up vs this path |")
    print("|---|---:|---:|")
    for name, secs in rows.items():
        print(f"| {name} | {secs:.2f} | {secs / fast:.2f}x |")
    print(f"\n(one-off cost of building the resident tensors: {build:.2f}s)")
    base = rows["DataLoader(num_workers=0)"] if "DataLoader(num_workers=0)" in rows else max(rows.values())
    print(f"ratio DataLoader(num_workers=0) / resident = {base / fast:.2f}")


if __name__ == "__main__":
    main()
