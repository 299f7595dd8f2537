"""Shape checks with messages a learner can act on (shared by layers and losses)."""
from __future__ import annotations

import numpy as np


def array(value, name: str) -> np.ndarray:
    """``value`` as a float NumPy array (float32 stays float32, everything else becomes float64)."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"expected {name} to hold numbers, got dtype {arr.dtype}")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)


def matrix(value, name: str, cols: int | None = None, cols_name: str = "D") -> np.ndarray:
    """``value`` as an (N, D) array; ``cols`` fixes D."""
    arr = array(value, name)
    if arr.ndim != 2 or (cols is not None and arr.shape[1] != cols):
        want = f"(N, {cols_name})" + (f" with {cols_name} = {cols}" if cols is not None else "")
        raise ValueError(f"expected {name} of shape {want}, got {arr.shape}")
    return arr


def same_shape(value, like: np.ndarray, name: str, like_name: str) -> np.ndarray:
    """``value`` as an array with exactly ``like``'s shape (no silent broadcasting)."""
    arr = array(value, name)
    if arr.shape != like.shape:
        raise ValueError(f"expected {name} of the same shape as {like_name} {like.shape}, got {arr.shape}")
    return arr


def labels(value, n: int, num_classes: int) -> np.ndarray:
    """Integer class labels of shape (N,) with values in [0, num_classes)."""
    y = np.asarray(value)
    if y.shape != (n,):
        raise ValueError(f"expected labels y of shape (N,) with N = {n}, got {y.shape}")
    if y.dtype.kind not in "iu" and not (y.dtype.kind in "fb" and np.all(y == np.round(y))):
        raise ValueError(f"expected integer class labels y, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got values from {y.min()} to {y.max()}")
    return y
