"""Weight initialisers, with torch.nn.init's fan computation and a NumPy Generator for the randomness.

    rng = np.random.default_rng(0)
    w = he_normal((16, 3, 5, 5), rng)        # conv filters (F, C, kh, kw): std sqrt(2 / (3 * 5 * 5))
    w = xavier_uniform((10, 84), rng)        # a torch-layout linear weight (out, in)

Shapes are read as torch reads them: (fan_out, fan_in, *kernel), so (out, in) for a linear
weight and (F, C, kh, kw) for a convolution, with fan_in = C * kh * kw and fan_out = F * kh * kw.
The scratch ``linear_forward`` stores w as (D, M) = (in, out): draw its weight as
``he_normal((M, D), rng).T`` (Xavier is symmetric in the fans, so either order gives the same
distribution there).
"""
from __future__ import annotations

import math

import numpy as np


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as torch.nn.init computes them.

    shape: (out, in) or (out, in, *kernel) -> fan_in = in * prod(kernel), fan_out = out * prod(kernel).
    """
    shape = tuple(shape)
    if len(shape) < 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
        raise ValueError(f"expected a weight shape of at least 2 positive integers, (out, in) or "
                         f"(F, C, kh, kw), got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check(shape, rng, gain):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"expected rng to be a numpy Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    if not gain > 0:
        raise ValueError(f"gain must be positive, got {gain!r}")
    return fans(shape)


def xavier_uniform(shape, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), so that
    Var = gain^2 * 2 / (fan_in + fan_out) (torch.nn.init.xavier_uniform_). Returns float64 of ``shape``."""
    fan_in, fan_out = _check(shape, rng, gain)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=tuple(shape))


def xavier_normal(shape, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (torch.nn.init.xavier_normal_)."""
    fan_in, fan_out = _check(shape, rng, gain)
    return rng.normal(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), size=tuple(shape))


def he_normal(shape, rng: np.random.Generator, mode: str = "fan_in", gain: float = math.sqrt(2.0)) -> np.ndarray:
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan), gain sqrt(2) for ReLU
    (torch.nn.init.kaiming_normal_ with its defaults mode='fan_in', nonlinearity='relu').

    mode: "fan_in" keeps the forward activations' variance, "fan_out" the backward gradients'.
    """
    fan_in, fan_out = _check(shape, rng, gain)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return rng.normal(0.0, gain / math.sqrt(fan_in if mode == "fan_in" else fan_out), size=tuple(shape))
