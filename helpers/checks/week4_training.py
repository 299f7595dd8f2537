"""Checks for week 4's training notebooks: 04 initialisation, 05 learning-rate schedules.

Initialisers (``xavier_uniform``, ``xavier_normal``, ``he_normal``: ``(shape, rng, ...) -> array``) are
checked statistically with fixed seeds: the sample standard deviation of a large draw must match the
one ``torch.nn.init`` gives that shape (its fans: fan_in = in * prod(kernel), fan_out = out *
prod(kernel)) within 3 %; a draw whose spread matches a known mistake instead (fans swapped, the
receptive field left out of a conv's fans, the uniform bound used as a normal std or the other way
round, the ReLU gain sqrt(2) missing) fails with that mistake's hint. The distribution's shape is read
from its kurtosis (1.8 uniform, 3 normal) and, for the uniform one, its largest value.

Schedules (``lr(step, *, ...) -> float``) are exercise records (``EXERCISES``, :mod:`helpers.checks.records`): the
rates over every step of a run (``records.over_steps``) compared with references that equal
``torch.optim.lr_scheduler``'s (tested), and a table of mistakes: the schedule one step early (the rate of step t + 1
used at step t), cosine without eta_min, warm-up from 0 instead of from start_factor, one-cycle's phases or floor
wrong. ``hidden=True`` adds other step counts, warm-up lengths, gammas, final rates and one-cycle's three-phase and
linear-anneal variants.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from .core import CheckFailure, call, expect, forbid, isolated
from .records import Exercise, checks_of, over_steps

__all__ = [
    "check_xavier_uniform", "check_xavier_normal", "check_he_normal",
    "check_step_lr", "check_exponential_lr", "check_cosine_lr", "check_warmup_cosine_lr", "check_one_cycle_lr",
    "torch_lrs",   # notebook 05 compares its schedules with torch's
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


# procedural: statistical (right answers draw different arrays from one seeded rng: order, dtype, method)
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


# procedural: statistical (right answers draw different arrays from one seeded rng: order, dtype, method)
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


# procedural: statistical (right answers draw different arrays from one seeded rng: order, dtype, method)
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
# 05 · learning-rate schedules, as records: the rate of every step of a run
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


def _cosine(t, base_lr, total_steps, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / total_steps)) / 2


def _warmup_cosine(t, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0, *, minus=0, restart=True):
    if t < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * t / max(warmup_steps - minus, 1))
    if restart:                                                  # the cosine counts from the warm-up's end
        t, total_steps = t - warmup_steps, total_steps - warmup_steps
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / total_steps)) / 2


def _one_cycle(t, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, three_phase=False,
               anneal="cos", *, minus=1):
    init = max_lr / div_factor
    low, up = init / final_div_factor, float(pct_start * total_steps) - minus
    phases = [(up, init, max_lr), (2 * up, max_lr, init), (total_steps - minus, init, low)] if three_phase else \
        [(up, init, max_lr), (total_steps - minus, max_lr, low)]
    start = 0.0
    for i, (end, a, b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            p = (t - start) / (end - start)
            return b + (a - b) / 2 * (math.cos(math.pi * p) + 1) if anneal == "cos" else (b - a) * p + a
        start = end


def _varied(ref, **change):
    """The schedule ``ref`` with arguments misread: ``change`` maps a name to ``f(arguments) -> the value used``."""
    import inspect

    defaults = {k: v.default for k, v in inspect.signature(ref).parameters.items() if v.default is not inspect.Parameter.empty}
    return lambda t, **kw: ref(t, **{**kw, **{k: f({**defaults, **kw}) for k, f in change.items()}})


def _over(name):
    return lambda steps, kw: f"{name} over {steps} steps ({', '.join(f'{k}={v}' for k, v in kw.items())})"


EARLY = ("the schedule runs one step early: at step t use the rate of step t (step 0 -> the starting rate), "
         "not of step t + 1")

# schedules lr(step, *, ...) -> float: the references equal torch.optim.lr_scheduler's rates at every step
# (tests/test_checks_week4_training.py); a case is (steps, keyword arguments), defaults left out where the notebook
# has one; hidden cases vary every argument
EXERCISES = [
    Exercise(
        "step_lr", reference=lambda t, base_lr, step_size, gamma=0.1: base_lr * gamma ** (t // step_size),
        run=over_steps, forbidden=FORBIDDEN["schedule"], rtol=1e-6, atol=1e-12, describe=_over("step_lr"),
        cases=lambda hidden: [(20, dict(base_lr=0.1, step_size=5, gamma=0.5))] + (
            [(8, dict(base_lr=1.0, step_size=1, gamma=0.9)), (30, dict(base_lr=0.3, step_size=7, gamma=0.1)),
             (12, dict(base_lr=0.05, step_size=12, gamma=0.3)), (15, dict(base_lr=0.2, step_size=4))] if hidden else []),
        hint="lr(t) = base_lr * gamma ** (t // step_size) (torch.optim.lr_scheduler.StepLR)",
        mistakes={EARLY: lambda t, base_lr, step_size, gamma=0.1: base_lr * gamma ** ((t + 1) // step_size),
                  "the decay is smooth: use whole periods, t // step_size, not t / step_size":
                  lambda t, base_lr, step_size, gamma=0.1: base_lr * gamma ** (t / step_size),
                  "the first period must use base_lr itself: gamma ** (t // step_size)":
                  lambda t, base_lr, step_size, gamma=0.1: base_lr * gamma ** (t // step_size + 1),
                  "that decays every step: divide the step by step_size first (t // step_size)":
                  lambda t, base_lr, step_size, gamma=0.1: base_lr * gamma ** t}),
    Exercise(
        "exponential_lr", reference=lambda t, base_lr, gamma: base_lr * gamma ** t,
        run=over_steps, forbidden=FORBIDDEN["schedule"], rtol=1e-6, atol=1e-12, describe=_over("exponential_lr"),
        cases=lambda hidden: [(15, dict(base_lr=0.1, gamma=0.9))] + (
            [(6, dict(base_lr=1.0, gamma=0.5)), (40, dict(base_lr=0.02, gamma=0.99))] if hidden else []),
        hint="lr(t) = base_lr * gamma ** t (torch.optim.lr_scheduler.ExponentialLR)",
        mistakes={EARLY: lambda t, base_lr, gamma: base_lr * gamma ** (t + 1),
                  "gamma is the factor per step, base_lr * gamma ** t, not a rate in exp(-gamma * t)":
                  lambda t, base_lr, gamma: base_lr * math.exp(-gamma * t),
                  "gamma is the factor kept per step: base_lr * gamma ** t, not (1 - gamma) ** t":
                  lambda t, base_lr, gamma: base_lr * (1 - gamma) ** t}),
    Exercise(
        "cosine_lr", reference=_cosine, run=over_steps, forbidden=FORBIDDEN["schedule"], rtol=1e-6, atol=1e-12,
        describe=_over("cosine_lr"),
        cases=lambda hidden: [(21, dict(base_lr=0.1, total_steps=20)), (21, dict(base_lr=0.1, total_steps=20, eta_min=0.01))]
        + ([(8, dict(base_lr=1.0, total_steps=7, eta_min=0.2)), (51, dict(base_lr=0.3, total_steps=50, eta_min=0.001)),
            (2, dict(base_lr=0.5, total_steps=1))] if hidden else []),      # t = 0 .. total_steps
        hint="lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / total_steps)) / 2 "
             "(torch.optim.lr_scheduler.CosineAnnealingLR with T_max=total_steps)",
        mistakes={EARLY: lambda t, **kw: _cosine(t + 1, **kw),
                  "eta_min is ignored: the cosine runs from base_lr down to eta_min, "
                  "eta_min + (base_lr - eta_min) * (1 + cos(pi t / T)) / 2": _varied(_cosine, eta_min=lambda a: 0.0),
                  "use (1 + cos(pi t / T)) / 2: a bare cos goes negative":
                  lambda t, base_lr, total_steps, eta_min=0.0: eta_min + (base_lr - eta_min) * math.cos(math.pi * t / total_steps),
                  "divide by total_steps, not total_steps - 1: torch reaches eta_min at t = T_max":
                  _varied(_cosine, total_steps=lambda a: max(a["total_steps"] - 1, 1)),
                  "the cosine spans base_lr - eta_min, then eta_min is added":
                  lambda t, base_lr, total_steps, eta_min=0.0: eta_min + _cosine(t, base_lr, total_steps)}),
    Exercise(
        "warmup_cosine_lr", reference=_warmup_cosine, run=over_steps, forbidden=FORBIDDEN["schedule"], rtol=1e-6, atol=1e-12,
        describe=_over("warmup_cosine_lr"),
        cases=lambda hidden: [(30, dict(base_lr=0.1, warmup_steps=5, total_steps=30))] + (
            [(10, dict(base_lr=1.0, warmup_steps=1, total_steps=10, start_factor=0.5)),
             (25, dict(base_lr=0.3, warmup_steps=10, total_steps=25, start_factor=0.01, eta_min=0.003)),
             (4, dict(base_lr=0.05, warmup_steps=3, total_steps=4, start_factor=0.25, eta_min=0.01)),
             (40, dict(base_lr=0.2, warmup_steps=8, total_steps=40, start_factor=0.2, eta_min=0.02))] if hidden else []),
        hint="for t < warmup_steps: base_lr * (start_factor + (1 - start_factor) * t / warmup_steps) (LinearLR); then cosine "
             "from base_lr to eta_min over the remaining total_steps - warmup_steps steps, counted from the warm-up's end "
             "(SequentialLR of LinearLR and CosineAnnealingLR)",
        mistakes={EARLY: lambda t, **kw: _warmup_cosine(t + 1, **kw),
                  "the warm-up starts from 0: it starts at start_factor * base_lr, "
                  "base_lr * (start_factor + (1 - start_factor) * t / warmup_steps)":
                  _varied(_warmup_cosine, start_factor=lambda a: 0.0),
                  "eta_min is ignored: the cosine runs from base_lr down to eta_min": _varied(_warmup_cosine, eta_min=lambda a: 0.0),
                  "count the cosine's steps from the end of the warm-up, (t - warmup_steps) / (total_steps - warmup_steps)":
                  _varied(_warmup_cosine, restart=lambda a: False),
                  "the warm-up divides by warmup_steps, not warmup_steps - 1: it reaches base_lr at t = warmup_steps":
                  _varied(_warmup_cosine, minus=lambda a: 1)}),
    Exercise(
        "one_cycle_lr", reference=_one_cycle, run=over_steps, forbidden=FORBIDDEN["schedule"], rtol=1e-6, atol=1e-12,
        describe=_over("one_cycle_lr"),
        cases=lambda hidden: [(50, dict(max_lr=0.1, total_steps=50))] + ([(n, dict(total_steps=n, **kw)) for n, kw in [
            (37, dict(max_lr=1.0, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
            (40, dict(max_lr=0.5, three_phase=True)), (23, dict(max_lr=0.3, anneal="linear")),
            (60, dict(max_lr=0.2, pct_start=0.4, three_phase=True, anneal="linear")),
            (11, dict(max_lr=0.05, final_div_factor=10.0))]] if hidden else []),
        hint="torch's OneCycleLR: start at max_lr / div_factor, reach max_lr at step pct_start * total_steps - 1, "
             "end at (max_lr / div_factor) / final_div_factor at step total_steps - 1; each phase anneals "
             "with cos: end + (start - end) * (1 + cos(pi * p)) / 2, p = share of the phase done",
        mistakes={EARLY: lambda t, **kw: _one_cycle(min(t + 1, kw["total_steps"] - 1), **kw),
                  "the floor is initial_lr / final_div_factor = max_lr / div_factor / final_div_factor, not initial_lr: "
                  "the last phase anneals far below the starting rate": _varied(_one_cycle, final_div_factor=lambda a: 1.0),
                  "the floor is initial_lr / final_div_factor with initial_lr = max_lr / div_factor, not max_lr / "
                  "final_div_factor": _varied(_one_cycle, final_div_factor=lambda a: a["final_div_factor"] / a["div_factor"]),
                  "three_phase=False has two phases (up to max_lr, then down to the floor); three_phase=True goes up, back "
                  "down to initial_lr, then to the floor": _varied(_one_cycle, three_phase=lambda a: not a["three_phase"]),
                  "anneal='cos' uses end + (start - end) * (1 + cos(pi p)) / 2, anneal='linear' start + (end - start) * p":
                  _varied(_one_cycle, anneal=lambda a: "linear" if a["anneal"] == "cos" else "cos"),
                  "the last phase ends at step total_steps - 1 (the last step run), and the peak is at pct_start * "
                  "total_steps - 1": _varied(_one_cycle, minus=lambda a: 0)}),
]

globals().update(checks_of(EXERCISES, __name__))   # check_step_lr, ..., check_one_cycle_lr: what 05 calls
