"""Layers with a train and a test mode: batch normalisation and (inverted) dropout.

Both take a param dict with the mode, like CS231n's; BatchNorm keeps its running statistics in
it, updated exactly as torch.nn.BatchNorm1d/2d updates its buffers:

    bn_param = {"mode": "train"}                   # eps 1e-5, momentum 0.1, running stats 0 and 1
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)     # x (N, D)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    bn_param["mode"] = "test"                      # now normalises with running_mean / running_var

    out, cache = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 0})   # p: DROP probability
    dx = dropout_backward(dout, cache)
"""
from __future__ import annotations

import numpy as np

from . import _shapes

_MODES = ("train", "test")


def _mode(param: dict, name: str) -> str:
    if not isinstance(param, dict):
        raise ValueError(f"{name} must be a dict with a 'mode' key ('train' or 'test'), got {param!r}")
    mode = param.get("mode")
    if mode not in _MODES:
        hint = " (torch's model.eval() is mode 'test' here)" if mode == "eval" else ""
        raise ValueError(f"{name}['mode'] must be 'train' or 'test', got {mode!r}{hint}")
    return mode


# --- batch normalisation --------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of x (N, D) per feature: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    gamma, beta: (D,). bn_param: dict with "mode" ("train" or "test"), optional "eps" (1e-5),
    "momentum" (0.1) and "running_mean" / "running_var" ((D,); start at 0 and 1 when absent).
    train: mean and the biased variance of this batch normalise x, and the running statistics
    move towards the batch's: running = (1 - momentum) * running + momentum * batch, where the
    batch variance in running_var is the unbiased one (divided by N - 1), as torch does.
    test: the running statistics normalise x and nothing is updated.
    -> out (N, D), cache for ``batchnorm_backward``. bn_param is updated in place.
    """
    mode = _mode(bn_param, "bn_param")
    x = _shapes.matrix(x, "x")
    d = x.shape[1]
    gamma, beta = (_shapes.array(v, name) for v, name in ((gamma, "gamma"), (beta, "beta")))
    for v, name in ((gamma, "gamma"), (beta, "beta")):
        if v.shape != (d,):
            raise ValueError(f"expected {name} of shape (D,) with D = {d}, got {v.shape}")
    eps, momentum = bn_param.setdefault("eps", 1e-5), bn_param.setdefault("momentum", 0.1)
    if not eps > 0:
        raise ValueError(f"bn_param['eps'] must be > 0, got {eps!r}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"bn_param['momentum'] must be in [0, 1] (the weight of the new batch), got {momentum!r}")
    running_mean = bn_param.setdefault("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(d, dtype=x.dtype))
    for v, name in ((running_mean, "running_mean"), (running_var, "running_var")):
        if np.shape(v) != (d,):
            raise ValueError(f"expected bn_param[{name!r}] of shape (D,) with D = {d}, got {np.shape(v)}")

    if mode == "train":
        n = x.shape[0]
        if n < 2:
            raise ValueError(f"batch norm in train mode needs at least 2 values per feature, got x of shape "
                             f"{x.shape}; use a larger batch or mode 'test'")
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = np.asarray(running_mean), np.asarray(running_var)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (mode, x_hat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    """Gradients of batch norm: dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,).

    train: the batch statistics depend on x, which gives the compact form
    dx = inv_std / N * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)), dx_hat = dout * gamma.
    test: the statistics are constants, so dx = dout * gamma * inv_std.
    """
    mode, x_hat, gamma, inv_std = cache
    dout = _shapes.same_shape(dout, x_hat, "dout", "the layer's output")
    dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    dx_hat = dout * gamma
    if mode == "test":
        return dx_hat * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def _channels_last(x):
    """(N, C, H, W) -> (N*H*W, C): every pixel of every image is one sample of its channel."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(-1, c)


def _channels_first(rows, shape):
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm for images, as torch.nn.BatchNorm2d: x (N, C, H, W), gamma, beta (C,).

    Each channel is normalised over the N * H * W values it has in the batch (running_var uses
    the unbiased variance over those N * H * W values); bn_param as in ``batchnorm_forward``
    with D = C. -> out (N, C, H, W), cache.
    """
    x = _shapes.array(x, "x")
    if x.ndim != 4:
        raise ValueError(f"expected x of shape (N, C, H, W), got {x.shape}")
    out, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(out, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """dout (N, C, H, W) -> dx (N, C, H, W), dgamma (C,), dbeta (C,)."""
    cache, shape = cache
    dout = _shapes.array(dout, "dout")
    if dout.shape != shape:
        raise ValueError(f"expected dout of the layer's output shape {shape}, got {dout.shape}")
    dx, dgamma, dbeta = batchnorm_backward(_channels_last(dout), cache)
    return _channels_first(dx, shape), dgamma, dbeta


# --- dropout --------------------------------------------------------------------------------------

def dropout_forward(x, dropout_param):
    """Inverted dropout for any shape, with torch.nn.Dropout's meaning of p.

    dropout_param: "p" (the probability of DROPPING a unit, in [0, 1]), "mode" ("train" or
    "test"), optional "seed" (an int: the same mask on every call, as gradient checks need;
    absent or None: a fresh mask each call).
    train: each unit is zeroed with probability p and the survivors are scaled by 1 / (1 - p),
    so the expected output equals x and test mode needs no rescaling (p = 1 zeroes everything).
    test: out = x.
    -> out (x's shape), cache (dropout_param, mask, x's shape) with mask None in test mode.
    """
    mode = _mode(dropout_param, "dropout_param")
    x = _shapes.array(x, "x")
    p = dropout_param.get("p")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"dropout_param['p'] is the drop probability and must be a number in [0, 1], got {p!r}")
    if mode == "test":
        return x, (dropout_param, None, x.shape)
    rng = np.random.default_rng(dropout_param.get("seed"))
    keep = rng.random(x.shape) >= p
    mask = keep / (1.0 - p) if p < 1 else np.zeros(x.shape)
    mask = mask.astype(x.dtype)
    return x * mask, (dropout_param, mask, x.shape)


def dropout_backward(dout, cache):
    """dx = dout * mask in train mode (the same zeros and 1 / (1 - p) scale), dout in test mode."""
    _, mask, shape = cache
    dout = _shapes.array(dout, "dout")
    if dout.shape != shape:
        raise ValueError(f"expected dout of the layer's output shape {shape}, got {dout.shape}")
    return dout if mask is None else dout * mask
