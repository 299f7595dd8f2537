"""helpers.scratch.init against torch.nn.init: the fans, and empirical variances within a statistical
tolerance (fixed seeds; a fan swapped or a factor wrong lands far outside it)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import scratch

FAN_SHAPES = [(10, 84), (16, 3, 5, 5), (32, 16, 3, 1), (8, 4, 2, 3, 3)]


@pytest.mark.parametrize("shape", FAN_SHAPES, ids=[str(s) for s in FAN_SHAPES])
def test_fans_match_torch(shape):
    assert scratch.fans(shape) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


# fan_in = 64 * 9 = 576, fan_out = 256 * 9 = 2304: swapping them changes He's variance fourfold
BIG = (256, 64, 3, 3)
FAN_IN, FAN_OUT = 576, 2304
N = math.prod(BIG)
INIT_CASES = [
    # name, ours, torch's, the variance both must have, the relative standard error of a sample variance
    ("xavier_uniform", lambda r: scratch.xavier_uniform(BIG, r), nn.init.xavier_uniform_,
     2 / (FAN_IN + FAN_OUT), math.sqrt(0.8 / N)),           # uniform: kurtosis 9/5, so Var(s^2) = 0.8 sigma^4 / n
    ("xavier_uniform_tanh_gain", lambda r: scratch.xavier_uniform(BIG, r, gain=5 / 3),
     lambda t: nn.init.xavier_uniform_(t, gain=5 / 3), (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT), math.sqrt(0.8 / N)),
    ("xavier_normal", lambda r: scratch.xavier_normal(BIG, r), nn.init.xavier_normal_,
     2 / (FAN_IN + FAN_OUT), math.sqrt(2 / N)),              # normal: Var(s^2) = 2 sigma^4 / n
    ("he_normal", lambda r: scratch.he_normal(BIG, r), nn.init.kaiming_normal_, 2 / FAN_IN, math.sqrt(2 / N)),
    ("he_normal_fan_out", lambda r: scratch.he_normal(BIG, r, mode="fan_out"),
     lambda t: nn.init.kaiming_normal_(t, mode="fan_out"), 2 / FAN_OUT, math.sqrt(2 / N)),
]


@pytest.mark.parametrize("name, ours, theirs, variance, rel_se", INIT_CASES, ids=[c[0] for c in INIT_CASES])
def test_initialiser_variance_matches_torch_formula(name, ours, theirs, variance, rel_se):
    w = ours(np.random.default_rng(0))
    assert w.shape == BIG and w.dtype == np.float64
    torch.manual_seed(0)
    t = theirs(torch.empty(BIG, dtype=torch.float64)).numpy()
    for label, sample in (("ours", w), ("torch", t)):       # both within 5 standard errors of the formula
        assert abs(sample.var() / variance - 1) <= 5 * rel_se, (label, sample.var(), variance)
        assert abs(sample.mean()) <= 5 * math.sqrt(variance / N), label
    if "uniform" in name:
        bound = math.sqrt(3 * variance)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound


def test_initialisers_are_seeded_by_the_generator():
    a = scratch.he_normal((4, 3, 3, 3), np.random.default_rng(7))
    b = scratch.he_normal((4, 3, 3, 3), np.random.default_rng(7))
    c = scratch.he_normal((4, 3, 3, 3), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_he_normal_for_a_scratch_linear_weight():
    """The docstring's recipe for linear_forward's (D, M) weight: draw (M, D) and transpose; fan_in = D."""
    d, m = 400, 50
    w = scratch.he_normal((m, d), np.random.default_rng(0)).T
    assert w.shape == (d, m)
    assert abs(w.var() / (2 / d) - 1) <= 5 * math.sqrt(2 / w.size)


@pytest.mark.parametrize("call, message", [
    (lambda: scratch.fans((5,)), r"expected a weight shape of at least 2 positive integers, .* got \(5,\)"),
    (lambda: scratch.xavier_normal((3, 0), np.random.default_rng()), r"at least 2 positive integers.*got \(3, 0\)"),
    (lambda: scratch.he_normal((3, 4), 0), r"expected rng to be a numpy Generator .*got int"),
    (lambda: scratch.xavier_uniform((3, 4), np.random.RandomState(0)), r"numpy Generator.*got RandomState"),
    (lambda: scratch.he_normal((3, 4), np.random.default_rng(), mode="fan_avg"), r"mode must be 'fan_in' or 'fan_out'"),
    (lambda: scratch.xavier_uniform((3, 4), np.random.default_rng(), gain=0), r"gain must be positive, got 0"),
])
def test_initialiser_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
