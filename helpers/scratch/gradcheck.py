"""Numeric gradients by central differences, and the relative error to compare them with.

    num = numeric_gradient(lambda x: loss_of(x), x)            # f returns a number
    num = numeric_gradient(lambda x: layer(x)[0], x, dout=d)   # f returns an array: gradient of sum(f(x) * d)
    rel_error(num, analytic)   # ~1e-7 or less: correct; ~1e-4: suspicious; ~1e-2 or more: a bug

Use float64: in float32 the rounding error of f swamps the (h^2-small) truncation error.
"""
from __future__ import annotations

import numpy as np


def numeric_gradient(f, x: np.ndarray, h: float = 1e-5, dout=None) -> np.ndarray:
    """Central-difference gradient of ``f`` at ``x``: (f(x + h e_i) - f(x - h e_i)) / 2h per entry.

    f: called as f(x) with ``x`` changed in place one entry at a time (and restored); it returns
    a number, or an array when ``dout`` (same shape as f's output) is given, in which case the
    gradient of sum(f(x) * dout) is returned. x: float array of any shape. Returns an array of
    x's shape.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise ValueError("x must be a float NumPy array (it is changed in place while probing)")
    if not h > 0:
        raise ValueError(f"h must be positive, got {h}")

    def value():
        out = f(x)
        if dout is None:
            out = np.asarray(out)
            if out.size != 1:
                raise ValueError(f"f returned an array of shape {out.shape}; pass dout to check an array-valued f")
            return float(out)
        return float(np.sum(np.asarray(out) * dout))

    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = value()
        x[i] = old - h
        minus = value()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b) -> float:
    """max |a - b| / max(1e-8, |a| + |b|) elementwise (CS231n's measure); 0 for identical arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
