"""Pictures: image grids, training curves, confusion matrices.

Every function draws on a new (or given) matplotlib figure and returns it, so notebooks
can show it inline and tests can inspect it without a screen.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _to_hwc(img, mean=None, std=None) -> np.ndarray:
    """Tensor/array (C,H,W), (H,W,C) or (H,W) -> float array (H,W[,C]) in [0,1] for imshow."""
    arr = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape (C, H, W), (H, W, C) or (H, W), got {arr.shape}")
    arr = arr.astype(np.float32)
    if mean is not None:
        arr = arr * np.asarray(std, dtype=np.float32) + np.asarray(mean, dtype=np.float32)
    if arr.max() > 1.5:  # uint8 range
        arr = arr / 255.0
    arr = np.clip(arr, 0, 1)
    return arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr


def show_images(images, labels=None, preds=None, classes=None, ncols: int = 8, mean=None, std=None,
                title: str | None = None, size: float = 1.4):
    """A grid of images; titles show the label, or 'pred (label)' in red when they differ."""
    n = len(images)
    if n == 0:
        raise ValueError("show_images needs at least one image")
    for name, seq in (("labels", labels), ("preds", preds)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries for {n} images")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)), squeeze=False)

    def name(i):
        i = int(i)
        return str(classes[i]) if classes is not None else str(i)

    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = _to_hwc(images[k], mean, std)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        if preds is not None and labels is not None:
            wrong = int(preds[k]) != int(labels[k])
            ax.set_title(f"{name(preds[k])} ({name(labels[k])})" if wrong else name(preds[k]),
                         fontsize=8, color="red" if wrong else "black")
        elif labels is not None:
            ax.set_title(name(labels[k]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _series(history) -> dict:
    """{name: values} from a ``train.History`` (its per-epoch series) or a dict of lists."""
    return history.series() if hasattr(history, "series") else dict(history)


def plot_history(history, title: str | None = None):
    """One panel per metric (loss, accuracy, PSNR ...), per epoch, one line per part (train,
    val; d, g for adversarial runs), from a ``train.History`` or a dict ``{"train_loss": [...]}``."""
    panels: dict[str, dict[str, list]] = {}
    for name, values in _series(history).items():
        part, sep, metric = name.partition("_")
        if sep and values:
            panels.setdefault(metric, {})[part] = values
    if not panels:
        raise ValueError("nothing to plot: expected series named like 'train_loss' or 'val_acc'")
    order = sorted(panels, key=lambda m: (m != "loss", m != "acc"))  # loss first, then accuracy, then the rest
    fig, axes = plt.subplots(1, len(order), figsize=(4.5 * len(order), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], order):
        for part, values in panels[metric].items():
            style = {"train": "-o", "val": "--s"}.get(part, "-")
            ax.plot(range(1, len(values) + 1), values, style, ms=3, label=part)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else metric.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(curves, xlabel: str = "step", ylabel: str = "loss", title: str | None = None,
                logy: bool = False, ax=None, keys=None):
    """Several named curves on one axis: ``plot_curves({"lr=0.1": losses, ...})`` (x from 0),
    or a ``train.History``: its series ``keys`` (default all but seconds) against the epoch (from 1)."""
    start = 0
    if hasattr(curves, "series"):
        series = curves.series()
        curves = {k: series[k] for k in (keys or [k for k in series if k != "seconds"])}
        start, xlabel = 1, ("epoch" if xlabel == "step" else xlabel)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        ax.plot(np.arange(start, start + len(values)), np.asarray(values, dtype=float), label=str(label))
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or "")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.figure.tight_layout()
    return ax.figure


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[true, pred]``."""
    y_true = np.asarray(y_true, dtype=int).ravel()
    y_pred = np.asarray(y_pred, dtype=int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.shape} and {y_pred.shape}")
    k = num_classes or int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion(y_true, y_pred, classes=None, normalize: bool = False, title: str | None = None):
    """Confusion matrix as a heat map, with counts (or row fractions) written in each cell."""
    k = len(classes) if classes is not None else None
    cm = confusion_matrix(y_true, y_pred, k)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    k = len(cm)
    fig, ax = plt.subplots(figsize=(0.5 * k + 2.5, 0.5 * k + 2))
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=90 if k > 5 else 0, fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix"))
    if k <= 12:
        for i in range(k):
            for j in range(k):
                val = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
                ax.text(j, i, val, ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > shown.max() / 2 else "black")
    fig.tight_layout()
    return fig
