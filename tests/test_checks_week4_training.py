"""Week 4's training checks (04 initialisation, 05 learning-rate schedules), three ways each through the
shared harness (tests/checks_harness.py): the notebooks' own solution cells pass (public and hidden cases),
the released stubs fail as "not answered", typical wrong answers fail with their hint (those only the
hidden cases can catch pass the public ones), and other right answers pass.
"""
import math

import numpy as np
import pytest
import torch

from checks_harness import Right, Week, Wrong, make_tests
from helpers.checks import week4_training as checks
from helpers.scratch import init as scratch_init

CHECKS = {
    "check_xavier_uniform": ("04", ["xavier_uniform"]),
    "check_xavier_normal": ("04", ["xavier_normal"]),
    "check_he_normal": ("04", ["he_normal"]),
    "check_step_lr": ("05", ["step_lr"]),
    "check_exponential_lr": ("05", ["exponential_lr"]),
    "check_cosine_lr": ("05", ["cosine_lr"]),
    "check_warmup_cosine_lr": ("05", ["warmup_cosine_lr"]),
    "check_one_cycle_lr": ("05", ["one_cycle_lr"]),
}
WEEK = Week("week4", checks, CHECKS, base={"np": np, "torch": torch, "math": math},
            pattern="0[4-6]_*.ipynb")   # notebooks 01-03 of week 4 have their own checks module


def _fans(shape, field=True):
    r = math.prod(shape[2:]) if field else 1
    return shape[1] * r, shape[0] * r


# ---------------------------------------------------------------- 04 initialisation

def xu_normal_std_as_bound(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    a = gain * math.sqrt(2 / (fi + fo))
    return rng.uniform(-a, a, size=shape)


def xu_no_field(shape, rng, gain=1.0):
    fi, fo = _fans(shape, field=False)
    a = gain * math.sqrt(6 / (fi + fo))
    return rng.uniform(-a, a, size=shape)


def xu_drawn_normal(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    return rng.normal(0, gain * math.sqrt(2 / (fi + fo)), size=shape)


def xu_gain_ignored(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    a = math.sqrt(6 / (fi + fo))
    return rng.uniform(-a, a, size=shape)


def xu_global_rng(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    a = gain * math.sqrt(6 / (fi + fo))
    return np.random.uniform(-a, a, size=shape)


def xn_bound_as_std(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    return rng.normal(0, gain * math.sqrt(6 / (fi + fo)), size=shape)


def xn_variance_as_std(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    return rng.normal(0, gain * 2 / (fi + fo), size=shape)


def xn_no_field(shape, rng, gain=1.0):
    fi, fo = _fans(shape, field=False)
    return rng.normal(0, gain * math.sqrt(2 / (fi + fo)), size=shape)


def xn_drawn_uniform(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    a = gain * math.sqrt(6 / (fi + fo))
    return rng.uniform(-a, a, size=shape)


def xn_gain_ignored(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    return rng.normal(0, math.sqrt(2 / (fi + fo)), size=shape)


def xn_float32_torch(shape, rng, gain=1.0):
    return torch.nn.init.xavier_normal_(torch.empty(*shape), gain=gain)


def xu_scratch(shape, rng, gain=1.0):
    return scratch_init.xavier_uniform(shape, rng, gain)


def xu_float32(shape, rng, gain=1.0):
    fi, fo = _fans(shape)
    a = gain * math.sqrt(6 / (fi + fo))
    return rng.uniform(-a, a, size=shape).astype(np.float32)


def he_torch_seeded(shape, rng, mode="fan_in"):
    g = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
    return torch.nn.init.kaiming_normal_(torch.empty(*shape, dtype=torch.float64), mode=mode, generator=g).numpy()


def he_swapped(shape, rng, mode="fan_in"):
    fi, fo = _fans(shape)
    return rng.normal(0, math.sqrt(2 / (fo if mode == "fan_in" else fi)), size=shape)


def he_no_gain(shape, rng, mode="fan_in"):
    fi, fo = _fans(shape)
    return rng.normal(0, math.sqrt(1 / (fi if mode == "fan_in" else fo)), size=shape)


def he_no_field(shape, rng, mode="fan_in"):
    fi, fo = _fans(shape, field=False)
    return rng.normal(0, math.sqrt(2 / (fi if mode == "fan_in" else fo)), size=shape)


def he_mode_ignored(shape, rng, mode="fan_in"):
    fi, _ = _fans(shape)
    return rng.normal(0, math.sqrt(2 / fi), size=shape)


def he_xavier(shape, rng, mode="fan_in"):
    fi, fo = _fans(shape)
    return rng.normal(0, math.sqrt(2 / (fi + fo)), size=shape)


def he_uniform(shape, rng, mode="fan_in"):
    fi, fo = _fans(shape)
    a = math.sqrt(6 / (fi if mode == "fan_in" else fo))
    return rng.uniform(-a, a, size=shape)


def he_wrong_shape(shape, rng, mode="fan_in"):
    fi, _ = _fans(shape)
    return rng.normal(0, math.sqrt(2 / fi), size=shape).T


# ---------------------------------------------------------------- 05 schedules

def step_smooth(step, *, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** (step / step_size)


def step_early(step, *, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** ((step + 1) // step_size)


def step_every_step(step, *, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** step


def step_size_one_only(step, *, base_lr, step_size, gamma=0.1):   # right only when step_size == 1 ... never public
    return base_lr * gamma ** (step // 5)


def step_torch(step, *, base_lr, step_size, gamma=0.1):
    return float(checks.torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), step + 1, base_lr)[-1])


def exp_early(step, *, base_lr, gamma):
    return base_lr * gamma ** (step + 1)


def exp_rate(step, *, base_lr, gamma):
    return base_lr * math.exp(-gamma * step)


def exp_tensor(step, *, base_lr, gamma):
    return torch.tensor(base_lr * gamma ** step, dtype=torch.float64)


def cos_no_eta_min(step, *, base_lr, total_steps, eta_min=0.0):
    return base_lr * (1 + math.cos(math.pi * step / total_steps)) / 2


def cos_early(step, *, base_lr, total_steps, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * (step + 1) / total_steps)) / 2


def cos_t_minus_1(step, *, base_lr, total_steps, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / max(total_steps - 1, 1))) / 2


def cos_bare(step, *, base_lr, total_steps, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * math.cos(math.pi * step / total_steps)


def cos_eta_added(step, *, base_lr, total_steps, eta_min=0.0):
    return eta_min + base_lr * (1 + math.cos(math.pi * step / total_steps)) / 2


def cos_numpy(step, *, base_lr, total_steps, eta_min=0.0):
    return np.float64(eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * step / total_steps)) / 2)


def _cos(step, base_lr, total_steps, eta_min):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / total_steps)) / 2


def warm_from_zero(step, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return _cos(step - warmup_steps, base_lr, total_steps - warmup_steps, eta_min)


def warm_no_eta_min(step, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    return _cos(step - warmup_steps, base_lr, total_steps - warmup_steps, 0.0)


def warm_cos_from_zero(step, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    return _cos(step, base_lr, total_steps, eta_min)


def warm_w_minus_1(step, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / max(warmup_steps - 1, 1))
    return _cos(step - warmup_steps, base_lr, total_steps - warmup_steps, eta_min)


def warm_early(step, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    step += 1
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    return _cos(step - warmup_steps, base_lr, total_steps - warmup_steps, eta_min)


def warm_fixed_factor(step, *, base_lr, warmup_steps, total_steps, start_factor=0.1, eta_min=0.0):
    if step < warmup_steps:   # start_factor ignored: public cases use the default 0.1
        return base_lr * (0.1 + 0.9 * step / warmup_steps)
    return _cos(step - warmup_steps, base_lr, total_steps - warmup_steps, eta_min)


def _one_cycle(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, three_phase=False,
               anneal="cos", floor_of=None, minus=1):
    initial = max_lr / div_factor
    floor = initial / final_div_factor if floor_of is None else floor_of(max_lr, div_factor, final_div_factor)
    up = float(pct_start * total_steps) - minus
    phases = ([(up, initial, max_lr), (2 * up, max_lr, initial), (total_steps - minus, initial, floor)] if three_phase
              else [(up, initial, max_lr), (total_steps - minus, max_lr, floor)])
    start = 0.0
    for i, (end, a, b) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            p = (step - start) / (end - start)
            return b + (a - b) * (1 + math.cos(math.pi * p)) / 2 if anneal == "cos" else a + (b - a) * p
        start = end


def oc_floor_initial(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                     three_phase=False, anneal="cos"):
    return _one_cycle(step, max_lr, total_steps, pct_start, div_factor, final_div_factor, three_phase, anneal,
                      floor_of=lambda m, d, f: m / d)


def oc_floor_from_max(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                      three_phase=False, anneal="cos"):
    return _one_cycle(step, max_lr, total_steps, pct_start, div_factor, final_div_factor, three_phase, anneal,
                      floor_of=lambda m, d, f: m / f)


def oc_no_minus_one(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                    three_phase=False, anneal="cos"):
    return _one_cycle(step, max_lr, total_steps, pct_start, div_factor, final_div_factor, three_phase, anneal, minus=0)


def oc_early(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
             three_phase=False, anneal="cos"):
    return _one_cycle(min(step + 1, total_steps - 1), max_lr, total_steps, pct_start, div_factor, final_div_factor,
                      three_phase, anneal)


def oc_two_phase_only(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                      three_phase=False, anneal="cos"):
    return _one_cycle(step, max_lr, total_steps, pct_start, div_factor, final_div_factor, False, anneal)


def oc_cos_only(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                three_phase=False, anneal="cos"):
    return _one_cycle(step, max_lr, total_steps, pct_start, div_factor, final_div_factor, three_phase, "cos")


def oc_linear_everywhere(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                         three_phase=False, anneal="cos"):
    return _one_cycle(step, max_lr, total_steps, pct_start, div_factor, final_div_factor, three_phase, "linear")


def oc_torch(step, *, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
             three_phase=False, anneal="cos"):
    lrs = checks.torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start, div_factor=div_factor,
        final_div_factor=final_div_factor, three_phase=three_phase, anneal_strategy=anneal, cycle_momentum=False),
        step + 1, max_lr)
    return float(lrs[-1])


WRONG = [
    Wrong("check_xavier_uniform", xu_normal_std_as_bound, r"bound is the normal std"),
    Wrong("check_xavier_uniform", xu_no_field, r"leave out the receptive field"),
    Wrong("check_xavier_uniform", xu_drawn_normal, r"outside \[-a, a\]|looks normal"),
    Wrong("check_xavier_uniform", xu_gain_ignored, r"gain is ignored", public_passes=True),
    Wrong("check_xavier_uniform", xu_global_rng, r"must draw from the `rng`"),
    Wrong("check_xavier_normal", xn_bound_as_std, r"std is the uniform bound"),
    Wrong("check_xavier_normal", xn_variance_as_std, r"variance, not the std"),
    Wrong("check_xavier_normal", xn_no_field, r"leave out the receptive field"),
    Wrong("check_xavier_normal", xn_drawn_uniform, r"looks uniform"),
    Wrong("check_xavier_normal", xn_gain_ignored, r"gain is ignored", public_passes=True),
    Wrong("check_xavier_normal", xn_float32_torch, r"uses torch\.nn\.init\.xavier_normal_: torch\.nn\.init is what"),
    Wrong("check_xavier_uniform", xu_scratch, r"uses scratch_init\.xavier_uniform: helpers\.scratch is the reference"),
    Wrong("check_he_normal", he_torch_seeded, r"uses torch\.nn\.init\.kaiming_normal_"),
    Wrong("check_step_lr", step_torch, r"uses (torch\.optim\.lr_scheduler\.StepLR|checks\.torch_lrs)"),
    Wrong("check_one_cycle_lr", oc_torch, r"uses (torch\.optim\.lr_scheduler\.OneCycleLR|checks\.torch_lrs)"),
    Wrong("check_he_normal", he_swapped, r"fan_in and fan_out are swapped"),
    Wrong("check_he_normal", he_no_gain, r"ReLU gain sqrt\(2\) is missing"),
    Wrong("check_he_normal", he_no_field, r"leaves out the receptive field"),
    Wrong("check_he_normal", he_mode_ignored, r"fan_in and fan_out are swapped: mode='fan_out'", public_passes=True),
    Wrong("check_he_normal", he_xavier, r"Xavier's std"),
    Wrong("check_he_normal", he_uniform, r"looks uniform"),
    Wrong("check_he_normal", he_wrong_shape, r"returned shape"),
    Wrong("check_step_lr", step_smooth, r"whole periods"),
    Wrong("check_step_lr", step_early, r"one step early"),
    Wrong("check_step_lr", step_every_step, r"decays every step"),
    Wrong("check_step_lr", step_size_one_only, r"off by up to", public_passes=True),
    Wrong("check_exponential_lr", exp_early, r"one step early"),
    Wrong("check_exponential_lr", exp_rate, r"not a rate in exp"),
    Wrong("check_cosine_lr", cos_no_eta_min, r"eta_min is ignored"),
    Wrong("check_cosine_lr", cos_early, r"one step early"),
    Wrong("check_cosine_lr", cos_t_minus_1, r"not total_steps - 1"),
    Wrong("check_cosine_lr", cos_bare, r"bare cos"),
    Wrong("check_cosine_lr", cos_eta_added, r"spans base_lr - eta_min"),
    Wrong("check_warmup_cosine_lr", warm_from_zero, r"warm-up starts from 0"),
    Wrong("check_warmup_cosine_lr", warm_no_eta_min, r"eta_min is ignored", public_passes=True),
    Wrong("check_warmup_cosine_lr", warm_cos_from_zero, r"from the end of the warm-up"),
    Wrong("check_warmup_cosine_lr", warm_w_minus_1, r"not warmup_steps - 1"),
    Wrong("check_warmup_cosine_lr", warm_early, r"one step early"),
    Wrong("check_warmup_cosine_lr", warm_fixed_factor, r"off by up to|warm-up starts from 0", public_passes=True),
    Wrong("check_one_cycle_lr", oc_floor_initial, r"not initial_lr"),
    Wrong("check_one_cycle_lr", oc_floor_from_max, r"not max_lr / final_div_factor"),
    Wrong("check_one_cycle_lr", oc_no_minus_one, r"total_steps - 1"),
    Wrong("check_one_cycle_lr", oc_early, r"one step early"),
    Wrong("check_one_cycle_lr", oc_two_phase_only, r"three_phase=True goes up", public_passes=True),
    Wrong("check_one_cycle_lr", oc_cos_only, r"anneal='linear'", public_passes=True),
    Wrong("check_one_cycle_lr", oc_linear_everywhere, r"anneal='cos' uses"),
]

RIGHT = [
    Right("check_xavier_uniform", xu_float32, "float32"),
    Right("check_exponential_lr", exp_tensor, "a 0-d tensor is accepted"),
    Right("check_cosine_lr", cos_numpy, "a NumPy float is accepted"),
    Right("check_cosine_lr", lambda step, **kw: np.float32(cos_numpy(step, **kw)), "float32"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


def test_torch_lrs_gives_the_rate_of_each_step():
    lrs = checks.torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 5, 0.8)
    assert np.allclose(lrs, [0.8, 0.8, 0.4, 0.4, 0.2])


def test_a_crashing_schedule_names_the_function():
    def cosine_lr(step, *, base_lr, total_steps, eta_min=0.0):
        raise KeyError("x")
    with pytest.raises(AssertionError, match="cosine_lr raised KeyError"):
        checks.check_cosine_lr(cosine_lr)


_SCHEDULERS = {   # the torch scheduler each schedule record's reference must equal, from a case's keyword arguments
    "step_lr": lambda o, kw: torch.optim.lr_scheduler.StepLR(o, step_size=kw["step_size"], gamma=kw.get("gamma", 0.1)),
    "exponential_lr": lambda o, kw: torch.optim.lr_scheduler.ExponentialLR(o, gamma=kw["gamma"]),
    "cosine_lr": lambda o, kw: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=kw["total_steps"],
                                                                          eta_min=kw.get("eta_min", 0.0)),
    "warmup_cosine_lr": lambda o, kw: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=kw.get("start_factor", 0.1), total_iters=kw["warmup_steps"]),
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=kw["total_steps"] - kw["warmup_steps"],
                                                   eta_min=kw.get("eta_min", 0.0))], milestones=[kw["warmup_steps"]]),
    "one_cycle_lr": lambda o, kw: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=kw["max_lr"], total_steps=kw["total_steps"], pct_start=kw.get("pct_start", 0.3),
        div_factor=kw.get("div_factor", 25.0), final_div_factor=kw.get("final_div_factor", 1e4),
        three_phase=kw.get("three_phase", False), anneal_strategy=kw.get("anneal", "cos"), cycle_momentum=False),
}


@pytest.mark.parametrize("ex", checks.EXERCISES, ids=[ex.name for ex in checks.EXERCISES])
def test_schedule_references_equal_torchs_schedulers(ex):
    """The records' references are what the checks compare with: torch.optim.lr_scheduler's rates, every case, every step."""
    from helpers.checks.records import over_steps

    assert ex.run is over_steps
    cases = ex.cases(True)
    assert len(cases) >= 3
    for steps, kw in cases:
        base = kw.get("base_lr", kw.get("max_lr"))
        want = checks.torch_lrs(lambda o: _SCHEDULERS[ex.name](o, kw), steps, base)
        assert np.allclose(over_steps(ex.reference, steps, kw), want, rtol=1e-9, atol=1e-15), (ex.name, kw)


@pytest.mark.parametrize("ex", checks.EXERCISES, ids=[ex.name for ex in checks.EXERCISES])
def test_schedule_cases_vary_every_argument(ex):
    """A schedule that ignores one of its arguments (uses its default, or a constant) cannot pass the hidden cases."""
    import inspect

    cases = ex.cases(True)
    for name in list(inspect.signature(ex.reference).parameters)[1:]:
        if inspect.signature(ex.reference).parameters[name].kind is inspect.Parameter.KEYWORD_ONLY:
            continue                                   # the reference's own mistake knobs, not the answer's arguments
        values = {repr(kw.get(name, "default")) for _, kw in cases}
        assert len(values) >= 2, (ex.name, name, values)
