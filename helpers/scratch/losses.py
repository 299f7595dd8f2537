"""Losses: each returns ``(loss, dinput)``, the mean loss over the batch and its gradient.

    loss, dscores = softmax_cross_entropy(scores, y)   # scores (N, C), y (N,) ints -> dscores (N, C)

Every loss averages over the batch (so the gradient carries a 1/N), and the ones that take
logits are written so that logits of +-1000 give finite losses and gradients.
"""
from __future__ import annotations

import numpy as np

from . import _shapes
from .layers import log_softmax, sigmoid


def mse_loss(pred, y):
    """Mean squared error mean((pred - y)^2) over all entries; pred and y of the same shape."""
    pred = _shapes.array(pred, "pred")
    y = _shapes.same_shape(y, pred, "y", "pred")
    diff = pred - y
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def bce_loss(probs, y, eps: float = 1e-12):
    """Binary cross-entropy from probabilities: -mean(y log p + (1 - y) log(1 - p)).

    probs, y: same shape, y in {0, 1} (or soft targets in [0, 1]). Probabilities are clipped to
    [eps, 1 - eps] so a confident wrong answer costs a large but finite loss; prefer
    ``bce_with_logits_loss`` when the logits are at hand.
    """
    p = _shapes.array(probs, "probs")
    y = _shapes.same_shape(y, p, "y", "probs")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probs must lie in [0, 1]; pass logits to bce_with_logits_loss instead")
    pc = np.clip(p, eps, 1.0 - eps)
    loss = -np.mean(y * np.log(pc) + (1.0 - y) * np.log1p(-pc))
    dp = (pc - y) / (pc * (1.0 - pc)) / p.size
    return float(loss), dp


def bce_with_logits_loss(logits, y):
    """Binary cross-entropy from logits z, stable for any |z|.

    loss = mean(max(z, 0) - z * y + log(1 + exp(-|z|))) which equals
    -mean(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))); gradient (sigmoid(z) - y) / N.
    """
    z = _shapes.array(logits, "logits")
    y = _shapes.same_shape(y, z, "y", "logits")
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return float(loss), (sigmoid(z) - y) / z.size


def nll_loss(log_probs, y):
    """Negative log-likelihood: -mean(log_probs[i, y_i]); log_probs (N, C), y (N,) -> dlog_probs (N, C)."""
    lp = _shapes.matrix(log_probs, "log_probs", cols_name="C")
    n = lp.shape[0]
    y = _shapes.labels(y, n, lp.shape[1])
    rows = np.arange(n)
    dlp = np.zeros_like(lp)
    dlp[rows, y] = -1.0 / n
    return float(-lp[rows, y].mean()), dlp


def softmax_cross_entropy(scores, y):
    """Softmax followed by cross-entropy, fused: scores (N, C), y (N,) ints -> (loss, dscores (N, C)).

    Uses log-softmax (row max subtracted), so logits of +-1000 stay finite; the gradient is
    (softmax(scores) - onehot(y)) / N.
    """
    lp = log_softmax(scores)
    loss, _ = nll_loss(lp, y)
    n = lp.shape[0]
    dscores = np.exp(lp)
    dscores[np.arange(n), np.asarray(y, dtype=np.int64)] -= 1.0
    return loss, dscores / n
