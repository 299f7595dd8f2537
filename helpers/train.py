"""Training loops: ``fit`` / ``evaluate`` with a per-epoch ``History``, and ``TensorLoader``.

``TensorLoader`` keeps a whole (small) dataset as normalised tensors on the device and
shuffles by index: no per-item PIL decode or collate, which makes an MNIST-size epoch
several times faster than a ``DataLoader`` (benchmarks/loader_speed.py measures it).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .config import quiet


@dataclass
class History:
    """Per-epoch metrics; ``history.train_loss[-1]``, ``history.best("val_acc")``, ``history.frame()``."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.train_loss)

    def best(self, metric: str = "val_acc") -> tuple[int, float]:
        values = getattr(self, metric)
        if not values:
            raise ValueError(f"history has no {metric!r} values (was a validation loader given?)")
        pick = min if metric.endswith("loss") else max
        value = pick(values)
        return values.index(value) + 1, value

    def frame(self):
        import pandas as pd

        cols = {k: v for k, v in self.__dict__.items() if v}
        return pd.DataFrame(cols, index=pd.RangeIndex(1, len(self) + 1, name="epoch"))


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


def _device_of(model: nn.Module):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _progress(iterable, desc: str, total: int | None = None):
    if quiet():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _run_epoch(model, loader, loss_fn, device, optimizer=None, desc=""):
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for xb, yb in _progress(loader, desc, total=len(loader)):
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} — lower the learning rate or check the inputs")
            total_loss += loss.item() * len(xb)
            if out.ndim == 2 and yb.ndim == 1:
                correct += (out.argmax(1) == yb).sum().item()
            count += len(xb)
    if count == 0:
        raise ValueError("the loader yielded no batches")
    return total_loss / count, correct / count


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn=None, device=None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader`` in eval mode."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    return _run_epoch(model, loader, loss_fn, device or _device_of(model), desc="eval")


@torch.no_grad()
def predict(model: nn.Module, loader, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted class, true class) for every example, on the CPU."""
    device = device or _device_of(model)
    model.eval()
    preds, targets = [], []
    for xb, yb in loader:
        preds.append(model(xb.to(device)).argmax(1).cpu())
        targets.append(yb.cpu())
    return torch.cat(preds), torch.cat(targets)


def fit(model: nn.Module, train_loader, val_loader=None, epochs: int = 1, optimizer=None, loss_fn=None,
        scheduler=None, device=None, checkpoint: str | Path | None = None, verbose: bool = True,
        history: History | None = None) -> History:
    """Train for ``epochs``, evaluating on ``val_loader`` after each; return the ``History``.

    ``checkpoint``: save ``{"model", "optimizer", "epoch", "val_acc"}`` there whenever the
    validation accuracy is the best so far. ``history``: continue an earlier run's history.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = device or _device_of(model)
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history = history or History()
    for _ in range(epochs):
        epoch = len(history) + 1
        start = time.perf_counter()
        tl, ta = _run_epoch(model, train_loader, loss_fn, device, optimizer, desc=f"epoch {epoch}")
        history.train_loss.append(tl)
        history.train_acc.append(ta)
        line = f"epoch {epoch:2d}  train loss {tl:.4f} acc {ta:.3f}"
        if val_loader is not None:
            vl, va = evaluate(model, val_loader, loss_fn, device)
            history.val_loss.append(vl)
            history.val_acc.append(va)
            line += f"  |  val loss {vl:.4f} acc {va:.3f}"
            if checkpoint is not None and va >= max(history.val_acc):
                save_checkpoint(checkpoint, model, optimizer, epoch, va)
        if scheduler is not None:
            scheduler.step()
        history.seconds.append(time.perf_counter() - start)
        if verbose:
            print(f"{line}  ({history.seconds[-1]:.1f}s)")
    return history


def save_checkpoint(path, model, optimizer=None, epoch: int | None = None, val_acc: float | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "epoch": epoch, "val_acc": val_acc}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path, model, optimizer=None, map_location="cpu") -> dict:
    """Restore model (and optimizer) state saved by ``save_checkpoint``; return the whole dict."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    return state
