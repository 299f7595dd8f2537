"""What graded test cells call: comparisons whose failure message is the hint.

One module per week (``helpers.checks.week1`` …) holds ``check_<exercise>(student_fn)``
functions. Each runs the student's function on fixed inputs, compares with values computed
here, and raises ``AssertionError`` whose message names the likely mistake.

Comparisons convert the student's result to a float NumPy array first, so an object that
claims to equal everything (``__eq__`` returning True) cannot pass.
"""
from __future__ import annotations

import functools

import numpy as np


def as_array(value, what: str) -> np.ndarray:
    """The student's result as a float64 array, or an AssertionError saying what it was."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if type(value) not in (np.ndarray, float, int, np.float64, np.float32, np.int64, list, tuple) and not np.isscalar(value):
        raise AssertionError(f"{what} should be a number or a NumPy array, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AssertionError(f"{what} should be a number or a NumPy array of numbers, got {type(value).__name__}") from err
    return arr


def expect(condition: bool, hint: str) -> None:
    if not bool(condition):
        raise AssertionError(hint)


def close(actual, expected, hint: str, what: str = "the result", rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Assert ``actual`` has ``expected``'s shape, is finite and matches it; else fail with ``hint``."""
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{what} has shape {a.shape}, expected {e.shape}. {hint}")
    if not np.all(np.isfinite(a)):
        raise AssertionError(f"{what} contains NaN or inf. {hint}")
    if not np.allclose(a, e, rtol=rtol, atol=atol):
        worst = np.max(np.abs(a - e))
        raise AssertionError(f"{what} is off by up to {worst:.3g}. {hint}")


def not_implemented_guard(fn, *args):
    """Call ``fn``; turn the release stub's NotImplementedError into a clear failure."""
    try:
        return fn(*args)
    except NotImplementedError as err:
        raise AssertionError("this exercise is not answered yet: replace `raise NotImplementedError()`") from err


def isolated(check):
    """Run ``check`` with its own seeded random state and restore the caller's afterwards,
    so running a test cell never changes the numbers the rest of the notebook prints."""

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        import torch

        np_state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                return check(*args, **kwargs)
        finally:
            np.random.set_state(np_state)

    return wrapper
