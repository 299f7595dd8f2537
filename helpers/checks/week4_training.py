"""Checks for week 4's training notebooks: 04 initialisation, 05 learning-rate schedules.

Initialisers (``xavier_uniform``, ``xavier_normal``, ``he_normal``: ``(shape, rng, ...) -> array``) are
checked statistically with fixed seeds: the sample standard deviation of a large draw must match the
one ``torch.nn.init`` gives that shape (its fans: fan_in = in * prod(kernel), fan_out = out *
prod(kernel)) within 3 %; a draw whose spread matches a known mistake instead (fans swapped, the
receptive field left out of a conv's fans, the uniform bound used as a normal std or the other way
round, the ReLU gain sqrt(2) missing) fails with that mistake's hint. The distribution's shape is read
from its kurtosis (1.8 uniform, 3 normal) and, for the uniform one, its largest value.

Schedules (``lr(step, *, ...) -> float``) are compared with ``torch.optim.lr_scheduler``'s learning
rates over every step of a run (the rate the optimizer uses at step 0, 1, ... total - 1), and with a
table of mistakes: the schedule one step early (the rate of step t + 1 used at step t), cosine without
eta_min, warm-up from 0 instead of from start_factor, one-cycle's phases or floor wrong.
``hidden=True`` adds other step counts, warm-up lengths, gammas, final rates and one-cycle's
three-phase and linear-anneal variants.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from .core import CheckFailure, call, compare, expect, forbid, isolated

__all__ = [
    "check_xavier_uniform", "check_xavier_normal", "check_he_normal",
    "check_step_lr", "check_exponential_lr", "check_cosine_lr", "check_warmup_cosine_lr", "check_one_cycle_lr",
]

STD_RTOL = 0.03     # a draw of >= 20,000 numbers: the sample std is within ~0.5 % of the true one

# what the answers must not call (core.forbid): the library version is what the check compares with
_OWN = {"helpers.scratch": "helpers.scratch is the reference the check compares with: write it yourself",
        "helpers.checks": "the check's own helpers are not part of the answer"}
FORBIDDEN = {
    "init": {**_OWN, "torch.nn.init": "torch.nn.init is what the check compares with: compute the fans and the std, "
                                      "then draw with rng"},
    "schedule": {**_OWN, "torch.optim.lr_scheduler": "torch's schedulers are what the check compares with: write the "
                                                     "formula for step t"},
}


# --------------------------------------------------------------------------------------------
# 04 · initialisation
# --------------------------------------------------------------------------------------------

def _torch_fans(shape) -> tuple[int, int]:
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _draw(fn, shape, seed, what, hint, **kwargs) -> np.ndarray:
    """Call the student's initialiser with a seeded Generator; check type, shape, finiteness and
    that the numbers come from ``rng`` (same seed -> same array, another seed -> another)."""
    out = call(fn, tuple(shape), np.random.default_rng(seed), hint=hint, **kwargs)
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    expect(isinstance(out, np.ndarray), f"{what} should return a NumPy array, got {type(out).__name__}")
    expect(out.shape == tuple(shape), f"{what}{tuple(shape)} returned shape {out.shape}: return an array of the "
                                      f"requested shape (rng.normal(..., size=shape))")
    expect(np.all(np.isfinite(out)), f"{what}{tuple(shape)} returned NaN or inf. {hint}")
    again = call(fn, tuple(shape), np.random.default_rng(seed), hint=hint, **kwargs)
    other = call(fn, tuple(shape), np.random.default_rng(seed + 1), hint=hint, **kwargs)
    expect(np.array_equal(np.asarray(again), out) and not np.array_equal(np.asarray(other), out),
           f"{what} must draw from the `rng` it is given (rng.uniform / rng.normal), not from np.random "
           "or torch: the same seed must give the same weights")
    return out


def _kurtosis(x: np.ndarray) -> float:
    z = (x - x.mean()) / x.std()
    return float(np.mean(z ** 4))


def _check_spread(out, expected_std, shape, what, hint, mistakes) -> None:
    """Compare the sample std with torch's; name the mistake whose std it matches instead."""
    got = float(out.std())
    expect(abs(float(out.mean())) < 0.05 * expected_std + 1e-12,
           f"{what}{tuple(shape)} has mean {out.mean():.3g}: initial weights are centred on 0")
    if abs(got / expected_std - 1) <= STD_RTOL:
        return
    near = [(abs(got / wrong_std - 1), why) for wrong_std, why in mistakes
            if abs(wrong_std / expected_std - 1) > 2 * STD_RTOL and abs(got / wrong_std - 1) <= STD_RTOL]
    if near:                                    # the known mistake whose spread is closest
        raise CheckFailure(f"{what}{tuple(shape)} has std {got:.4g}, torch.nn.init's is {expected_std:.4g}: "
                           f"{min(near)[1]}")
    raise CheckFailure(f"{what}{tuple(shape)} has std {got:.4g}, torch.nn.init's is {expected_std:.4g} "
                       f"(ratio {got / expected_std:.3f}). {hint}")


def _init_shapes(hidden: bool):
    shapes = [(300, 100), (64, 16, 3, 3)]   # linear (out, in), conv (F, C, kh, kw): fans 1:3 and 1:4, never 1:2
    # (with fan_out = 2 fan_in, He with the fans swapped would have the std of He without its gain)
    if hidden:
        shapes += [(100, 400), (32, 3, 5, 5), (8, 64, 1, 1), (16, 8, 3, 5), (4, 2, 3, 3, 3)]
    return shapes


def _size_up(shape):
    """Repeat the output dimension until the draw has >= 20,000 numbers (the fans change with it,
    torch's std is computed for the shape actually drawn)."""
    shape = list(shape)
    while math.prod(shape) < 20_000:
        shape[0] *= 2
    return tuple(shape)


XAVIER_UNIFORM_HINT = ("U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), fan_in = shape[1] * prod(shape[2:]), "
                       "fan_out = shape[0] * prod(shape[2:]) (torch.nn.init.xavier_uniform_)")
XAVIER_NORMAL_HINT = ("N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)), fan_in = shape[1] * prod(shape[2:]), "
                      "fan_out = shape[0] * prod(shape[2:]) (torch.nn.init.xavier_normal_)")
HE_HINT = ("N(0, std^2) with std = gain / sqrt(fan), gain = sqrt(2) for ReLU, fan = fan_in = shape[1] * prod(shape[2:]) "
           "(or fan_out = shape[0] * prod(shape[2:]) with mode='fan_out') (torch.nn.init.kaiming_normal_)")


def _no_field(shape):
    return shape[1], shape[0]            # fans without the receptive field: in, out


@isolated
def check_xavier_uniform(xavier_uniform, hidden: bool = False) -> None:
    """``xavier_uniform(shape, rng, gain=1.0)`` with torch.nn.init.xavier_uniform_'s variance and a uniform shape."""
    gains = [1.0] + ([5 / 3, 0.5] if hidden else [])
    forbid(xavier_uniform, FORBIDDEN["init"], "xavier_uniform")
    for i, base in enumerate(_init_shapes(hidden)):
        shape = _size_up(base)
        for gain in gains:
            kwargs = {} if gain == 1.0 else {"gain": gain}
            out = _draw(xavier_uniform, shape, 10 + i, "xavier_uniform", XAVIER_UNIFORM_HINT, **kwargs)
            fi, fo = _torch_fans(shape)
            bound = gain * math.sqrt(6 / (fi + fo))
            std = bound / math.sqrt(3)
            nfi, nfo = _no_field(shape)
            _check_spread(out, std, shape, "xavier_uniform", XAVIER_UNIFORM_HINT, [
                (gain * math.sqrt(2 / (fi + fo)) / math.sqrt(3),
                 "the bound is the normal std sqrt(2 / (fan_in + fan_out)); the uniform bound is sqrt(6 / (fan_in + fan_out)), "
                 "so that the variance a^2 / 3 equals 2 / (fan_in + fan_out)"),
                (gain * math.sqrt(6 / (nfi + nfo)) / math.sqrt(3),
                 "the fans leave out the receptive field: for a conv weight (F, C, kh, kw), fan_in = C * kh * kw and "
                 "fan_out = F * kh * kw"),
                (math.sqrt(6 / (fi + fo)) / math.sqrt(3), "the gain is ignored: multiply the bound by gain"),
                (math.sqrt(6 / fi) / math.sqrt(3), "use fan_in + fan_out, not fan_in alone (that is He's uniform, times 1/sqrt 2)"),
            ])
            expect(np.abs(out).max() <= bound * (1 + 1e-9),
                   f"xavier_uniform{shape} has values up to {np.abs(out).max():.4g}, outside [-a, a] = [-{bound:.4g}, {bound:.4g}]. "
                   f"{XAVIER_UNIFORM_HINT}")
            expect(_kurtosis(out) < 2.2, f"xavier_uniform{shape} looks normal (kurtosis {_kurtosis(out):.2f}, a uniform's is 1.8): "
                                         "draw with rng.uniform(-a, a, size=shape)")


@isolated
def check_xavier_normal(xavier_normal, hidden: bool = False) -> None:
    """``xavier_normal(shape, rng, gain=1.0)`` with torch.nn.init.xavier_normal_'s std and a normal shape."""
    gains = [1.0] + ([5 / 3, 0.5] if hidden else [])
    forbid(xavier_normal, FORBIDDEN["init"], "xavier_normal")
    for i, base in enumerate(_init_shapes(hidden)):
        shape = _size_up(base)
        for gain in gains:
            kwargs = {} if gain == 1.0 else {"gain": gain}
            out = _draw(xavier_normal, shape, 20 + i, "xavier_normal", XAVIER_NORMAL_HINT, **kwargs)
            fi, fo = _torch_fans(shape)
            std = gain * math.sqrt(2 / (fi + fo))
            nfi, nfo = _no_field(shape)
            _check_spread(out, std, shape, "xavier_normal", XAVIER_NORMAL_HINT, [
                (gain * math.sqrt(6 / (fi + fo)),
                 "the std is the uniform bound sqrt(6 / (fan_in + fan_out)); the normal's std is sqrt(2 / (fan_in + fan_out))"),
                (gain * 2 / (fi + fo), "that is the variance, not the std: take the square root, std = sqrt(2 / (fan_in + fan_out))"),
                (gain * math.sqrt(2 / (nfi + nfo)),
                 "the fans leave out the receptive field: for a conv weight (F, C, kh, kw), fan_in = C * kh * kw and "
                 "fan_out = F * kh * kw"),
                (math.sqrt(2 / (fi + fo)), "the gain is ignored: multiply the std by gain"),
            ])
            expect(_kurtosis(out) > 2.6, f"xavier_normal{shape} looks uniform (kurtosis {_kurtosis(out):.2f}, a normal's is 3): "
                                         "draw with rng.normal(0, std, size=shape)")


@isolated
def check_he_normal(he_normal, hidden: bool = False) -> None:
    """``he_normal(shape, rng, mode="fan_in")`` with torch.nn.init.kaiming_normal_'s std (nonlinearity='relu')."""
    forbid(he_normal, FORBIDDEN["init"], "he_normal")
    modes = ["fan_in"] + (["fan_out"] if hidden else [])
    for i, base in enumerate(_init_shapes(hidden)):
        shape = _size_up(base)
        fi, fo = _torch_fans(shape)
        nfi, nfo = _no_field(shape)
        for mode in modes:
            kwargs = {} if mode == "fan_in" else {"mode": mode}
            out = _draw(he_normal, shape, 30 + i, "he_normal", HE_HINT, **kwargs)
            fan, other, nfan = (fi, fo, nfi) if mode == "fan_in" else (fo, fi, nfo)
            std = math.sqrt(2 / fan)
            _check_spread(out, std, shape, f"he_normal(mode={mode!r})", HE_HINT, [
                (math.sqrt(2 / other), f"fan_in and fan_out are swapped: mode={mode!r} divides by {mode} = "
                                       f"{'shape[1]' if mode == 'fan_in' else 'shape[0]'} * prod(shape[2:])"),
                (math.sqrt(1 / fan), "the ReLU gain sqrt(2) is missing: std = sqrt(2 / fan) (ReLU zeroes half of "
                                     "its inputs, halving the variance, which the 2 restores)"),
                (math.sqrt(2 / nfan), "the fan leaves out the receptive field: for a conv weight (F, C, kh, kw), "
                                      "fan_in = C * kh * kw and fan_out = F * kh * kw"),
                (2 / fan, "that is the variance, not the std: take the square root, std = sqrt(2 / fan)"),
                (math.sqrt(6 / fan), "that is the uniform bound sqrt(6 / fan) used as the std"),
                (math.sqrt(2 / (fi + fo)), "that is Xavier's std sqrt(2 / (fan_in + fan_out)): He uses one fan and gain sqrt(2)"),
            ])
            expect(_kurtosis(out) > 2.6, f"he_normal{shape} looks uniform (kurtosis {_kurtosis(out):.2f}, a normal's is 3): "
                                         "draw with rng.normal(0, std, size=shape)")


# --------------------------------------------------------------------------------------------
# 05 · learning-rate schedules, step by step against torch.optim.lr_scheduler
# --------------------------------------------------------------------------------------------

def torch_lrs(make_scheduler, steps: int, base_lr: float = 1.0) -> np.ndarray:
    """The learning rate an SGD optimizer uses at each of ``steps`` steps under
    ``make_scheduler(optimizer)`` (stepped once per step, after the optimizer)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    scheduler = make_scheduler(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
    return np.array(out)


def _student_lrs(fn, steps, hint, **kwargs) -> np.ndarray:
    forbid(fn, FORBIDDEN["schedule"])
    values = []
    for t in range(steps):
        v = call(fn, t, hint=hint, **kwargs)
        if hasattr(v, "item"):
            v = v.item()
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise CheckFailure(f"{getattr(fn, '__name__', 'lr')}({t}, ...) should return a float, got {type(v).__name__}")
        values.append(float(v))
    return np.array(values)


EARLY = ("the schedule runs one step early: at step t use the rate of step t (step 0 -> the starting rate), "
         "not of step t + 1")


def _compare_schedule(got, expected, what, hint, mistakes):
    """compare() over every step, after the off-by-one test (the rate of step t + 1 used at step t)."""
    if len(got) == len(expected) > 1 and np.allclose(got[:-1], expected[1:], rtol=1e-6, atol=1e-12) and \
            not np.allclose(expected[:-1], expected[1:], rtol=1e-6, atol=1e-12):
        raise CheckFailure(f"{what} is wrong: {EARLY}")
    compare(got, expected, what, hint, mistakes, rtol=1e-6, atol=1e-12)


STEP_HINT = "lr(t) = base_lr * gamma ** (t // step_size) (torch.optim.lr_scheduler.StepLR)"
EXP_HINT = "lr(t) = base_lr * gamma ** t (torch.optim.lr_scheduler.ExponentialLR)"
COS_HINT = ("lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / total_steps)) / 2 "
            "(torch.optim.lr_scheduler.CosineAnnealingLR with T_max=total_steps)")
WARM_HINT = ("for t < warmup_steps: base_lr * (start_factor + (1 - start_factor) * t / warmup_steps) (LinearLR); then cosine "
             "from base_lr to eta_min over the remaining total_steps - warmup_steps steps, counted from the warm-up's end "
             "(SequentialLR of LinearLR and CosineAnnealingLR)")
ONE_CYCLE_HINT = ("torch's OneCycleLR: start at max_lr / div_factor, reach max_lr at step pct_start * total_steps - 1, "
                  "end at (max_lr / div_factor) / final_div_factor at step total_steps - 1; each phase anneals "
                  "with cos: end + (start - end) * (1 + cos(pi * p)) / 2, p = share of the phase done")


@isolated
def check_step_lr(step_lr, hidden: bool = False) -> None:
    """``step_lr(t, *, base_lr, step_size, gamma)`` equal to StepLR at every step."""
    cases = [(0.1, 5, 0.5, 20)] + ([(1.0, 1, 0.9, 8), (0.3, 7, 0.1, 30), (0.05, 12, 0.3, 12)] if hidden else [])
    for base, size, gamma, n in cases:
        exp = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=size, gamma=gamma), n, base)
        got = _student_lrs(step_lr, n, STEP_HINT, base_lr=base, step_size=size, gamma=gamma)
        t = np.arange(n)
        _compare_schedule(got, exp, f"step_lr over {n} steps (base_lr {base}, step_size {size}, gamma {gamma})", STEP_HINT, [
            (base * gamma ** (t / size), "the decay is smooth: use whole periods, t // step_size, not t / step_size"),
            (base * gamma ** (t // size + 1), "the first period must use base_lr itself: gamma ** (t // step_size)"),
            (base * gamma ** t, "that decays every step: divide the step by step_size first (t // step_size)"),
        ])


@isolated
def check_exponential_lr(exponential_lr, hidden: bool = False) -> None:
    """``exponential_lr(t, *, base_lr, gamma)`` equal to ExponentialLR at every step."""
    cases = [(0.1, 0.9, 15)] + ([(1.0, 0.5, 6), (0.02, 0.99, 40)] if hidden else [])
    for base, gamma, n in cases:
        exp = torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=gamma), n, base)
        got = _student_lrs(exponential_lr, n, EXP_HINT, base_lr=base, gamma=gamma)
        t = np.arange(n)
        _compare_schedule(got, exp, f"exponential_lr over {n} steps (base_lr {base}, gamma {gamma})", EXP_HINT, [
            (base * np.exp(-gamma * t), "gamma is the factor per step, base_lr * gamma ** t, not a rate in exp(-gamma * t)"),
            (base * (1 - gamma) ** t, "gamma is the factor kept per step: base_lr * gamma ** t, not (1 - gamma) ** t"),
        ])


@isolated
def check_cosine_lr(cosine_lr, hidden: bool = False) -> None:
    """``cosine_lr(t, *, base_lr, total_steps, eta_min=0.0)`` equal to CosineAnnealingLR(T_max=total_steps) for t = 0 .. total_steps."""
    cases = [(0.1, 20, 0.0), (0.1, 20, 0.01)] + ([(1.0, 7, 0.2), (0.3, 50, 0.001), (0.5, 1, 0.0)] if hidden else [])
    for base, total, eta_min in cases:
        n = total + 1
        exp = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=eta_min), n, base)
        kwargs = {"base_lr": base, "total_steps": total} | ({"eta_min": eta_min} if eta_min else {})
        got = _student_lrs(cosine_lr, n, COS_HINT, **kwargs)
        t = np.arange(n)
        _compare_schedule(got, exp, f"cosine_lr for t = 0 .. {total} (base_lr {base}, eta_min {eta_min})", COS_HINT, [
            (base * (1 + np.cos(np.pi * t / total)) / 2, "eta_min is ignored: the cosine runs from base_lr down to eta_min, "
                                                         "eta_min + (base_lr - eta_min) * (1 + cos(pi t / T)) / 2"),
            (eta_min + (base - eta_min) * np.cos(np.pi * t / total), "use (1 + cos(pi t / T)) / 2: a bare cos goes negative"),
            (eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / max(total - 1, 1))) / 2,
             "divide by total_steps, not total_steps - 1: torch reaches eta_min at t = T_max"),
            (eta_min + base * (1 + np.cos(np.pi * t / total)) / 2, "the cosine spans base_lr - eta_min, then eta_min is added"),
        ])


def _warm_ref(t, base, warm, total, sf, eta_min):
    if t < warm:
        return base * (sf + (1 - sf) * t / warm)
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (t - warm) / (total - warm))) / 2


@isolated
def check_warmup_cosine_lr(warmup_cosine_lr, hidden: bool = False) -> None:
    """``warmup_cosine_lr(t, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0)`` equal to
    SequentialLR([LinearLR(start_factor, total_iters=warmup_steps), CosineAnnealingLR(T_max=total_steps -
    warmup_steps, eta_min)], milestones=[warmup_steps]) at every step."""
    cases = [(0.1, 5, 30, 0.1, 0.0)] + ([(1.0, 1, 10, 0.5, 0.0), (0.3, 10, 25, 0.01, 0.003), (0.05, 3, 4, 0.25, 0.01),
                                          (0.2, 8, 40, 0.2, 0.02)] if hidden else [])
    sched = torch.optim.lr_scheduler
    for base, warm, total, sf, eta_min in cases:
        def make(o):
            return sched.SequentialLR(o, [sched.LinearLR(o, start_factor=sf, total_iters=warm),
                                          sched.CosineAnnealingLR(o, T_max=total - warm, eta_min=eta_min)], milestones=[warm])
        exp = torch_lrs(make, total, base)
        kwargs = {"base_lr": base, "warmup_steps": warm, "total_steps": total} | \
            ({"start_factor": sf} if sf != 0.1 else {}) | ({"eta_min": eta_min} if eta_min else {})
        got = _student_lrs(warmup_cosine_lr, total, WARM_HINT, **kwargs)
        what = (f"warmup_cosine_lr over {total} steps (base_lr {base}, warmup_steps {warm}, start_factor {sf}, "
                f"eta_min {eta_min})")
        _compare_schedule(got, exp, what, WARM_HINT, [
            (np.array([_warm_ref(t, base, warm, total, 0.0, eta_min) for t in range(total)]),
             "the warm-up starts from 0: it starts at start_factor * base_lr, "
             "base_lr * (start_factor + (1 - start_factor) * t / warmup_steps)"),
            (np.array([_warm_ref(t, base, warm, total, sf, 0.0) for t in range(total)]),
             "eta_min is ignored: the cosine runs from base_lr down to eta_min"),
            (np.array([base * sf + (base - base * sf) * t / warm if t < warm else
                       eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / total)) / 2 for t in range(total)]),
             "count the cosine's steps from the end of the warm-up, (t - warmup_steps) / (total_steps - warmup_steps)"),
            (np.array([base * (sf + (1 - sf) * t / max(warm - 1, 1)) if t < warm else _warm_ref(t, base, warm, total, sf, eta_min)
                       for t in range(total)]),
             "the warm-up divides by warmup_steps, not warmup_steps - 1: it reaches base_lr at t = warmup_steps"),
        ])


def _one_cycle_ref(t, max_lr, total, pct, div, fdiv, three, anneal, minus=1):
    init = max_lr / div
    low = init / fdiv
    if three:
        phases = [(float(pct * total) - minus, init, max_lr), (float(2 * pct * total) - 2 * minus, max_lr, init),
                  (total - minus, init, low)]
    else:
        phases = [(float(pct * total) - minus, init, max_lr), (total - minus, max_lr, low)]
    start = 0.0
    for i, (end, a, b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            p = (t - start) / (end - start)
            return b + (a - b) / 2 * (math.cos(math.pi * p) + 1) if anneal == "cos" else (b - a) * p + a
        start = end
    raise AssertionError("unreachable")


@isolated
def check_one_cycle_lr(one_cycle_lr, hidden: bool = False) -> None:
    """``one_cycle_lr(t, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
    three_phase=False, anneal="cos")`` equal to OneCycleLR's learning rate at every step (its momentum
    cycling is left out)."""
    cases = [dict(max_lr=0.1, total_steps=50)]
    if hidden:
        cases += [dict(max_lr=1.0, total_steps=37, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
                  dict(max_lr=0.5, total_steps=40, three_phase=True),
                  dict(max_lr=0.3, total_steps=23, anneal="linear"),
                  dict(max_lr=0.2, total_steps=60, pct_start=0.4, three_phase=True, anneal="linear"),
                  dict(max_lr=0.05, total_steps=11, final_div_factor=10.0)]
    for case in cases:
        max_lr, total = case["max_lr"], case["total_steps"]
        pct, div = case.get("pct_start", 0.3), case.get("div_factor", 25.0)
        fdiv, three, anneal = case.get("final_div_factor", 1e4), case.get("three_phase", False), case.get("anneal", "cos")
        exp = torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=max_lr, total_steps=total, pct_start=pct, div_factor=div, final_div_factor=fdiv,
            three_phase=three, anneal_strategy=anneal, cycle_momentum=False), total, max_lr)
        got = _student_lrs(one_cycle_lr, total, ONE_CYCLE_HINT, **case)
        ref = lambda **kw: np.array([_one_cycle_ref(t, **({"max_lr": max_lr, "total": total, "pct": pct, "div": div,  # noqa: E731
                                                          "fdiv": fdiv, "three": three, "anneal": anneal} | kw))
                                     for t in range(total)])
        what = f"one_cycle_lr over {total} steps ({', '.join(f'{k}={v}' for k, v in case.items())})"
        rows = [
            (ref(fdiv=1.0), "the floor is initial_lr / final_div_factor = max_lr / div_factor / final_div_factor, "
                            "not initial_lr: the last phase anneals far below the starting rate"),
            (ref(fdiv=fdiv / div),
             "the floor is initial_lr / final_div_factor with initial_lr = max_lr / div_factor, not max_lr / final_div_factor"),
            (ref(three=not three), "three_phase=False has two phases (up to max_lr, then down to the floor); "
                                   "three_phase=True goes up, back down to initial_lr, then to the floor"),
            (ref(anneal="linear" if anneal == "cos" else "cos"), "anneal='cos' uses end + (start - end) * (1 + cos(pi p)) / 2, "
                                                                  "anneal='linear' start + (end - start) * p"),
            (ref(minus=0), "the last phase ends at step total_steps - 1 (the last step run), and the peak is at pct_start * total_steps - 1"),
        ]
        _compare_schedule(got, exp, what, ONE_CYCLE_HINT, rows)
