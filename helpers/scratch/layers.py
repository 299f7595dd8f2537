"""Layers in the CS231n shape: ``forward(x, ...) -> (out, cache)``, ``backward(dout, cache) -> grads``.

``cache`` holds what the backward pass needs; ``dout`` is the gradient of the loss with
respect to the layer's output (same shape as ``out``), and every returned gradient has the
shape of the input it belongs to.

    out, cache = linear_forward(x, w, b)        # x (N, D), w (D, M), b (M,) -> out (N, M)
    dx, dw, db = linear_backward(dout, cache)

The stable elementwise functions (``sigmoid``, ``softmax``, ``log_softmax``) are exported on
their own too, for losses and predictions that need no cache.
"""
from __future__ import annotations

import numpy as np

from . import _shapes


# --- plain functions --------------------------------------------------------------------------

def sigmoid(z):
    """1 / (1 + exp(-z)) for any shape, without overflow: exp is only taken of -|z| <= 0."""
    z = _shapes.array(z, "z")
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(scores):
    """Row-wise log-softmax of scores (N, C): scores - logsumexp(scores), with the row max subtracted first."""
    s = _shapes.matrix(scores, "scores", cols_name="C")
    shifted = s - s.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores):
    """Row-wise softmax of scores (N, C); every row sums to 1, finite for any finite scores."""
    return np.exp(log_softmax(scores))


# --- linear -----------------------------------------------------------------------------------

def linear_forward(x, w, b):
    """Affine layer ``out = x @ w + b``.

    x: (N, D) inputs, w: (D, M) weights, b: (M,) biases -> out (N, M), cache (x, w).
    """
    w = _shapes.array(w, "w")
    if w.ndim != 2:
        raise ValueError(f"expected w of shape (D, M), got {w.shape}")
    x = _shapes.matrix(x, "x", cols=w.shape[0])
    b = _shapes.array(b, "b")
    if b.shape != (w.shape[1],):
        raise ValueError(f"expected b of shape (M,) with M = {w.shape[1]}, got {b.shape}")
    return x @ w + b, (x, w)


def linear_backward(dout, cache):
    """Gradients of the affine layer: dout (N, M) -> dx (N, D), dw (D, M), db (M,)."""
    x, w = cache
    dout = _shapes.array(dout, "dout")
    if dout.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"expected dout of shape (N, M) = {(x.shape[0], w.shape[1])}, got {dout.shape}")
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


# --- elementwise activations ----------------------------------------------------------------

def _dout_like(dout, out):
    return _shapes.same_shape(dout, out, "dout", "the layer's output")


def relu_forward(x):
    """max(0, x) for any shape -> out (same shape), cache x."""
    x = _shapes.array(x, "x")
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0 (the subgradient at exactly 0 is taken as 0, like PyTorch)."""
    x = cache
    return _dout_like(dout, x) * (x > 0)


def sigmoid_forward(x):
    """Stable sigmoid for any shape -> out (same shape), cache out."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """dx = dout * s * (1 - s), with s the forward output."""
    s = cache
    return _dout_like(dout, s) * s * (1.0 - s)


def softmax_forward(scores):
    """Row-wise softmax: scores (N, C) -> probs (N, C), cache probs."""
    p = softmax(scores)
    return p, p


def softmax_backward(dout, cache):
    """Jacobian-vector product of softmax: dx_i = p_i * (dout_i - sum_j dout_j p_j), row by row."""
    p = cache
    dout = _dout_like(dout, p)
    return p * (dout - (dout * p).sum(axis=1, keepdims=True))


def log_softmax_forward(scores):
    """Row-wise log-softmax: scores (N, C) -> log-probs (N, C), cache the probabilities."""
    out = log_softmax(scores)
    return out, np.exp(out)


def log_softmax_backward(dout, cache):
    """dx = dout - p * sum_j dout_j (row by row), with p = softmax(scores)."""
    p = cache
    dout = _dout_like(dout, p)
    return dout - p * dout.sum(axis=1, keepdims=True)
