"""A two-layer network (Linear -> ReLU -> Linear) built from the scratch layers.

    net = TwoLayerNet(64, 32, 10, seed=0)          # softmax cross-entropy over 10 classes
    loss, grads = net.loss(x, y)                     # grads has the keys of net.params
    sgd_step(net.params, grads, lr=0.1)

With ``num_classes=1`` the single output is a logit and the loss is binary cross-entropy
(y in {0, 1}). Weights start He-scaled (std sqrt(2 / fan_in)), biases at 0.
"""
from __future__ import annotations

import numpy as np

from . import _shapes
from .layers import linear_backward, linear_forward, relu_backward, relu_forward
from .losses import bce_with_logits_loss, softmax_cross_entropy


class TwoLayerNet:
    """x (N, D) -> Linear(D, H) -> ReLU -> Linear(H, C) -> scores (N, C).

    params: ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,), float64.
    """

    def __init__(self, input_dim: int, hidden_dim: int, num_classes: int, seed: int = 0,
                 weight_scale: float | None = None):
        for name, v in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("num_classes", num_classes)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        rng = np.random.default_rng(seed)
        s1 = weight_scale if weight_scale is not None else np.sqrt(2.0 / input_dim)
        s2 = weight_scale if weight_scale is not None else np.sqrt(2.0 / hidden_dim)
        self.params = {
            "W1": rng.normal(0.0, s1, size=(input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": rng.normal(0.0, s2, size=(hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }

    @property
    def binary(self) -> bool:
        return self.params["W2"].shape[1] == 1

    def _forward(self, x):
        p = self.params
        h, cache1 = linear_forward(x, p["W1"], p["b1"])
        a, cache_relu = relu_forward(h)
        scores, cache2 = linear_forward(a, p["W2"], p["b2"])
        return scores, (cache1, cache_relu, cache2)

    def scores(self, x) -> np.ndarray:
        """Raw scores (logits) of shape (N, C)."""
        return self._forward(x)[0]

    def predict(self, x) -> np.ndarray:
        """Predicted labels (N,): argmax of the scores, or logit > 0 for a binary net."""
        s = self.scores(x)
        return (s[:, 0] > 0).astype(np.int64) if self.binary else s.argmax(axis=1)

    def loss(self, x, y):
        """Mean loss over the batch and the gradient of every parameter: ``(loss, grads)``."""
        scores, (cache1, cache_relu, cache2) = self._forward(x)
        if self.binary:
            y = _shapes.array(y, "y")
            if y.shape != (scores.shape[0],):
                raise ValueError(f"expected y of shape (N,) with N = {scores.shape[0]}, got {y.shape}")
            loss, dz = bce_with_logits_loss(scores[:, 0], y)
            dscores = dz[:, None]
        else:
            loss, dscores = softmax_cross_entropy(scores, y)
        da, dw2, db2 = linear_backward(dscores, cache2)
        dh = relu_backward(da, cache_relu)
        _, dw1, db1 = linear_backward(dh, cache1)
        return loss, {"W1": dw1, "b1": db1, "W2": dw2, "b2": db2}

    def accuracy(self, x, y) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))
