"""A seeded hold-out split of ``range(n)``: the validation set that every choice is made on.

    train_idx, val_idx = data.holdout(len(x), n_val=1000, seed=cfg.seed)
    train_loader = TensorLoader(x[train_idx], y[train_idx], ...)
    val_loader = TensorLoader(x[val_idx], y[val_idx], ...)

Notebooks that pick an epoch, a learning rate or a model pick it on ``val_idx`` and look at
the test set once, at the end. (Week 2 · 05 has learners write this function themselves.)
"""
from __future__ import annotations

import torch


def holdout(n: int, n_val: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffle ``range(n)`` with a generator seeded by ``seed``; return ``(train_idx, val_idx)``.

    ``val_idx`` holds the first ``n_val`` indices of the permutation, ``train_idx`` the other
    ``n - n_val``: disjoint, together all of ``range(n)``, int64 tensors, the same for the same seed.
    """
    for name, value in (("n", n), ("n_val", n_val), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
    if not 0 < n_val < n:
        raise ValueError(f"n_val must be between 1 and n - 1 = {n - 1} (both parts non-empty), got {n_val}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]
