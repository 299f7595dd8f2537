"""Plain stochastic gradient descent on a dict of NumPy parameters."""
from __future__ import annotations

import numpy as np


def sgd_step(params: dict, grads: dict, lr: float) -> dict:
    """Update every parameter in place, ``params[k] -= lr * grads[k]``, and return ``params``.

    params, grads: dicts with the same keys and matching array shapes.
    """
    if set(params) != set(grads):
        raise ValueError(f"params and grads must have the same keys, got {sorted(params)} and {sorted(grads)}")
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr}")
    for k, p in params.items():
        g = np.asarray(grads[k])
        if g.shape != np.shape(p):
            raise ValueError(f"grads[{k!r}] has shape {g.shape}, expected {np.shape(p)} like params[{k!r}]")
        p -= lr * g
    return params
