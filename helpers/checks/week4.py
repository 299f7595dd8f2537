"""Checks for week 4's graded exercises: optimisers from scratch (01), regularisation (02) and batch normalisation (03).

The optimiser rules (``sgd``, ``sgd_momentum``, ``nesterov``, ``rmsprop``, ``adam``) and the penalties of 02
(``l2_penalty``, ``l1_penalty``) are exercise records (``EXERCISES``, :mod:`helpers.checks.records`). A rule keeps
CS231n's ``update(w, dw, config) -> (next_w, config)`` shape (scratch names: learning_rate, momentum, decay_rate,
epsilon, beta1, beta2, weight_decay) and is walked 100 steps by ``records.over_updates``: two parameters stepped in
turn, each with its own config, on gradients that depend on the walk (an ill-conditioned quadratic plus noise), so a
wrong step shows up in every later one; the references equal ``torch.optim``'s walks (tested), and an answer in
float32 passes (1e-4). Known mistakes (Adam without bias correction or with t starting at 0, Nesterov as plain
momentum, weight decay added after the update, epsilon inside the square root, one state shared by the parameters
...) are named. ``hidden=True`` adds weight decay, runs of zero gradients, other shapes and hyperparameters and
``config=None`` (the defaults). The penalties' references equal autograd's (tested).

Batch normalisation (03) is written as records too: ``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)``
with ``bn_param = {"mode": "train" | "test", "eps", "momentum", "running_mean", "running_var"}`` and torch's meaning of
momentum (the weight of the new batch), walked by ``records.normalised`` over several train batches then one in test
mode (outputs and running statistics after each call), its backward pass fed by the learner's own forward
(``records.forward_backward``), the spatial pair walked together; the references equal ``nn.BatchNorm1d/2d`` and
autograd (tested; float64 to 1e-8, an answer in float32 to 1e-4).

The rest are procedural, each saying why: ``check_scratch_optimizer`` grades a ``torch.optim.Optimizer`` subclass
that runs a rule on every parameter (several parameter groups, a learning rate changed mid-run, zero gradients);
dropout is judged statistically (many right masks), and its backward pass by the mask its own forward drew.
"""
from __future__ import annotations

import numpy as np
import torch

from .core import as_array, call, compare, drive, expect, forbid, is_subclass, isolated, returns_tuple, unchanged
from .records import Exercise, checks_of, forward_backward, normalised, over_updates

__all__ = [
    "check_sgd", "check_sgd_momentum", "check_nesterov", "check_rmsprop", "check_adam",
    "check_scratch_optimizer",
    "check_l2_penalty", "check_l1_penalty", "check_dropout_forward", "check_dropout_backward",
    "check_batchnorm_forward", "check_batchnorm_backward", "check_spatial_batchnorm",
]

RTOL, ATOL = 1e-6, 1e-9          # optimisers against torch.optim over 100 steps
BN_RTOL, BN_ATOL = 1e-8, 1e-10   # batch norm against torch in float64
F32 = 1e-4, 1e-5                 # an answer computed in float32: precision is not the lesson

# what each from-scratch answer must not call (core.forbid): the library version is what the check compares with
_OWN = {"helpers.scratch": "helpers.scratch is the reference the check compares with: write it yourself",
        "helpers.checks": "the check's own helpers are not part of the answer"}
_AUTOGRAD = {"torch.autograd.grad": "write the backward pass by hand, with NumPy",
             "torch.autograd.backward": "write the backward pass by hand, with NumPy",
             "torch.func": "write the backward pass by hand, with NumPy",
             ".backward": "autograd computes what this exercise asks you to derive: write the backward pass with NumPy"}
FORBIDDEN = {
    "rule": {**_OWN, "torch.optim": "torch.optim is what the check compares with: write the update rule with NumPy"},
    "optimizer": {**_OWN, **{f"torch.optim.{c}": "run the given rule on every parameter, not a torch.optim optimiser"
                             for c in ("SGD", "Adam", "AdamW", "RMSprop")}},
    "grad": {**_OWN, **_AUTOGRAD},
    "dropout": {**_OWN, "torch.nn": "nn.Dropout / F.dropout is what the check compares with: build the mask with NumPy",
                "torch.dropout": "build the mask with NumPy"},
    "batchnorm": {**_OWN, **_AUTOGRAD, "torch.nn": "nn.BatchNorm / F.batch_norm is what the check compares with: "
                                                   "write the normalisation with NumPy",
                  "torch.batch_norm": "write the normalisation with NumPy"},
}


# --------------------------------------------------------------------------------------------
# 01 · optimisers: the update rules, as records walked by records.over_updates
# --------------------------------------------------------------------------------------------

def _quadratic(shape, seed):
    """(curvature, noise for each of 100 steps) of an ill-conditioned quadratic with noisy gradients."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 5.0, size=shape), 0.3 * rng.normal(size=(100, *shape))


def _start(shape, seed):
    return np.random.default_rng(1000 + seed).normal(size=shape)


_TORCH_KEYS = {"learning_rate": "lr", "weight_decay": "weight_decay", "momentum": "momentum", "decay_rate": "alpha",
               "epsilon": "eps"}


def _to_torch(name, hp):
    out = {}
    for k, v in hp.items():
        if k in ("beta1", "beta2"):
            b = list(out.get("betas", (0.9, 0.999)))
            b[k == "beta2"] = v
            out["betas"] = tuple(b)
        else:
            out[_TORCH_KEYS[k]] = v
    if name == "nesterov":
        out["nesterov"] = True
    return out


_TORCH_CLS = {"sgd": torch.optim.SGD, "sgd_momentum": torch.optim.SGD, "nesterov": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


DEFAULTS = {
    "sgd": {"learning_rate": 1e-2, "weight_decay": 0.0},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0},
    "nesterov": {"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.0},
}
_ALL_DEFAULTS = {**DEFAULTS, "adamw": {**DEFAULTS["adam"], "weight_decay": 1e-2}}   # torch.optim.AdamW's decay


def _rule(kind, mistake=None):
    """The update rule ``(w, dw, config=None) -> (next_w, config)`` of ``kind``, torch.optim's written out (the state in
    config, as helpers.scratch.optim keeps it); ``mistake`` (one of _MISTAKES) makes it wrong. Self-contained: the
    records' reference is checked like an answer, forbidden calls included."""
    preset = dict(DEFAULTS[kind])

    def rule(w, dw, config=None):
        config = {} if config is None else config
        for k, v in preset.items():
            config.setdefault(k, v)
        lr, wd = config["learning_rate"], config["weight_decay"]
        g = dw if mistake == "decay_after" else dw + wd * w
        if kind == "sgd":
            nxt = w + lr * g if mistake == "uphill" else w - lr * g
        elif kind in ("sgd_momentum", "nesterov"):
            mu = config["momentum"]
            v = mu * config.get("velocity", np.zeros_like(w)) + ((1 - mu) * g if mistake == "dampened" else g)
            if mistake != "no_state":
                config["velocity"] = v
            nxt = w - lr * (g + mu * v if kind == "nesterov" and mistake != "plain" else v)
        elif kind == "rmsprop":
            rho, eps = config["decay_rate"], config["epsilon"]
            cache = rho * config.get("cache", np.zeros_like(w)) + (1.0 if mistake == "no_one_minus" else 1 - rho) * g * g
            config["cache"] = cache
            nxt = w - lr * g / (np.sqrt(cache + eps) if mistake == "eps_inside" else np.sqrt(cache) + eps)
        else:                                                   # adam
            b1, b2, eps = config["beta1"], config["beta2"], config["epsilon"]
            t = config.get("t", 0) + 1
            m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * g
            v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * g * g
            config.update(m=m, v=v, t=t)
            tc = t - 1 if mistake == "t_from_0" else t
            with np.errstate(divide="ignore", invalid="ignore"):
                m_hat, v_hat = (m, v) if mistake == "no_bias_correction" else (m / (1 - b1 ** tc), v / (1 - b2 ** tc))
                nxt = w - lr * m_hat / (np.sqrt(v_hat + eps) if mistake == "eps_inside" else np.sqrt(v_hat) + eps)
        if mistake == "decay_after":
            nxt = nxt - (lr * wd * w if kind == "adam" else wd * w)
        return nxt, config
    return rule


def _one_state(kind):
    """The rule with one state for every parameter (the mistake of a global): the velocity / cache / m, v, t of one
    parameter is the other's. A walk starts afresh where a config holding only hyperparameters follows one that held
    state (its first parameter's first step)."""
    step, hyper, shared, last = _rule(kind), set(DEFAULTS[kind]), {}, {"fresh": False}

    def one_state(w, dw, config=None):
        config = {} if config is None else config
        fresh = not set(config) - hyper
        if fresh and not last["fresh"]:
            shared.clear()
        last["fresh"] = fresh
        shared.update({k: v for k, v in config.items() if k in hyper})
        nxt, _ = step(w, dw, shared)
        config.update(shared)
        return nxt, config
    return one_state


_MISTAKES = {
    "sgd": [("uphill", "the step went uphill: next_w = w - learning_rate * dw (minus: against the gradient)"),
            ("decay_after", "weight decay was applied after the step and not scaled by the learning rate: "
                            "torch adds weight_decay * w to the gradient, g = dw + weight_decay * w")],
    "sgd_momentum": [("dampened", "the velocity is an average, momentum * v + (1 - momentum) * g: torch's momentum "
                                  "SUMS, velocity = momentum * velocity + g"),
                     ("no_state", "the velocity is not kept between calls: store it in config['velocity']"),
                     ("decay_after", "weight decay was added after the update: add weight_decay * w to the gradient "
                                     "BEFORE it enters the velocity")],
    "nesterov": [("plain", "this is plain momentum (the step is the velocity): Nesterov steps along "
                           "g + momentum * velocity, the look-ahead"),
                 ("no_state", "the velocity is not kept between calls: store it in config['velocity']"),
                 ("decay_after", "weight decay was added after the update: add weight_decay * w to the gradient "
                                 "BEFORE it enters the velocity")],
    "rmsprop": [("eps_inside", "epsilon is inside the square root: torch divides by sqrt(cache) + epsilon"),
                ("no_one_minus", "the cache adds g**2 without the (1 - decay_rate) factor: "
                                 "cache = decay_rate * cache + (1 - decay_rate) * g**2"),
                ("decay_after", "weight decay was added after the update: add weight_decay * w to the gradient first")],
    "adam": [("no_bias_correction", "Adam without bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t), "
                                    "the moments start at 0"),
             ("t_from_0", "the bias correction used t before counting this step (t starting at 0 divides by "
                          "1 - beta**0 = 0): increment t first, so the first step uses t = 1"),
             ("eps_inside", "epsilon is inside the square root: divide by sqrt(v_hat) + epsilon"),
             ("decay_after", "weight decay was applied after the update (that is AdamW's decoupled decay): "
                             "torch.optim.Adam adds weight_decay * w to the gradient before the moments")],
}

HINTS = {
    "sgd": "next_w = w - learning_rate * (dw + weight_decay * w)",
    "sgd_momentum": "g = dw + weight_decay * w; velocity = momentum * velocity + g; next_w = w - learning_rate * velocity",
    "nesterov": "g = dw + weight_decay * w; velocity = momentum * velocity + g; "
                "next_w = w - learning_rate * (g + momentum * velocity)",
    "rmsprop": "g = dw + weight_decay * w; cache = decay_rate * cache + (1 - decay_rate) * g**2; "
               "next_w = w - learning_rate * g / (sqrt(cache) + epsilon)",
    "adam": "g = dw + weight_decay * w; t += 1; m and v exponential averages of g and g**2; "
            "next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon), m_hat = m / (1 - beta1**t), "
            "v_hat = v / (1 - beta2**t)",
}


def _rule_cases(kind, hidden):
    """(hyperparameters, shape, seed, zero-gradient steps)."""
    base = {"sgd": {"learning_rate": 0.05}, "sgd_momentum": {"learning_rate": 0.02, "momentum": 0.9},
            "nesterov": {"learning_rate": 0.02, "momentum": 0.9},
            "rmsprop": {"learning_rate": 0.01, "decay_rate": 0.99, "epsilon": 1e-8},
            "adam": {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}}[kind]
    cases = [(base, (2, 3), 1, ())]
    if hidden:
        other = {"sgd": {"learning_rate": 0.1}, "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.5},
                 "nesterov": {"learning_rate": 0.05, "momentum": 0.7},
                 "rmsprop": {"learning_rate": 0.003, "decay_rate": 0.9, "epsilon": 1e-3},
                 "adam": {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3}}[kind]
        cases += [({**base, "weight_decay": 0.1}, (5,), 2, ()),                 # weight decay
                  (other, (2, 2, 3), 3, tuple(range(40, 55))),                  # other values, zero gradients
                  ({**other, "weight_decay": 0.5}, (4, 1), 4, (0, 1, 2))]       # strong decay, zero first steps
    return cases


def _walks(kind):
    """The cases of ``kind``'s record, as records.over_updates takes them: two parameters stepped in turn 100 times,
    each with its own config (the defaults filled in) and gradient terms; hidden: one step from config=None."""
    def cases(hidden):
        rows = [({**DEFAULTS[kind], **given}, [_start(shape, seed), _start(shape, seed + 100)],
                 [_quadratic(shape, seed), _quadratic(shape, seed + 100)], zero, 100, None)
                for given, shape, seed, zero in _rule_cases(kind, hidden)]
        if hidden:  # config=None: the documented defaults, one step
            rows.append((None, [_start((3,), 9)], [(np.zeros(3), np.array([[0.5, -1.0, 2.0]]))], (), 1, DEFAULTS[kind]))
        return rows

    def what(config, starts, terms, zero, steps, defaults):
        if config is None:
            return f"{kind}(w, dw, None) (one step; config=None means every default: {defaults})"
        return (f"the walk of {steps} steps ({kind} with config {config}, two parameters of shape {starts[0].shape} stepped "
                "in turn, each with its own config" + (f", zero gradients at steps {zero[0]}-{zero[-1]})" if zero else ")"))
    return cases, what


SHARED = ("the parameters share one state: two parameters were stepped in turn, each with its own config, and the "
          "velocity / cache / m, v, t of one leaked into the other; keep the state in config (no global variable)")


def _rule_record(kind):
    """``kind``'s update rule as a record: its walks equal torch.optim's (tests/test_checks_week4.py); an answer in
    float32 passes (one tolerance for every answer: float32's)."""
    cases, what = _walks(kind)
    mistakes = {why: _rule(kind, m) for m, why in _MISTAKES[kind]}
    if kind != "sgd":                                   # plain SGD keeps no state to share
        mistakes[SHARED] = _one_state(kind)
    return Exercise(kind, reference=_rule(kind), cases=cases, describe=what, run=over_updates, hint=HINTS[kind],
                    mistakes=mistakes, forbidden=FORBIDDEN["rule"], rtol=RTOL, atol=ATOL, f32=F32)


# --------------------------------------------------------------------------------------------
# 01 · the rules as a torch.optim.Optimizer
# --------------------------------------------------------------------------------------------

OPT_HINT = ("step() loops over self.param_groups and each group's params; skips p.grad None; keeps one config per "
            "parameter in self.state[p]; copies the group's hyperparameters (all keys but 'params') into it before "
            "every call, so a changed learning rate is used; then writes next_w back into p in place")


def torch_rule(kind, w, dw, config=None):
    """One step of torch.optim's ``kind`` on one array, in the scratch contract ``(next_w, config)``, its state (a
    tensor and its optimizer) kept in ``config``: the rule ``check_scratch_optimizer`` hands the learner's optimizer,
    so that check needs none of 01's answers (the course's ``helpers.scratch`` rules stay sealed in the mentee
    edition). Sent to a grading kernel by name, as ``functools.partial(torch_rule, kind)``."""
    config = {} if config is None else config
    w = np.asarray(w, dtype=np.float64)
    hyper = {**_ALL_DEFAULTS[kind], **{k: v for k, v in config.items() if k in _ALL_DEFAULTS[kind]}}
    if "torch" not in config:
        tensor = torch.zeros(w.shape, dtype=torch.float64)
        config["torch"] = (tensor, _TORCH_CLS[kind]([tensor], **_to_torch(kind, hyper)))
    tensor, opt = config["torch"]
    if tuple(tensor.shape) != w.shape:
        raise ValueError(f"{kind}: config holds the state of an array of shape {tuple(tensor.shape)}, but w has shape "
                         f"{w.shape}; keep one config per parameter array")
    opt.param_groups[0].update(_to_torch(kind, hyper))
    tensor.copy_(torch.from_numpy(w))
    tensor.grad = torch.from_numpy(np.ascontiguousarray(dw, dtype=np.float64))
    opt.step()
    return tensor.detach().numpy().copy(), config


def _opt_cases(hidden):
    """(rule name, the rule (:func:`torch_rule`), defaults, param groups as (shapes, overrides), lr changes {step:
    factor}, zero steps)."""
    import functools

    def rule(kind):
        return functools.partial(torch_rule, kind)

    cases = [("adam", rule("adam"), {"learning_rate": 0.01}, [([(3, 2), (4,)], {})], {}, ())]
    if hidden:
        cases += [
            ("sgd", rule("sgd"), {"learning_rate": 0.05, "weight_decay": 0.01},
             [([(3,)], {}), ([(2, 2)], {"learning_rate": 0.01})], {}, ()),
            ("sgd_momentum", rule("sgd_momentum"), {"learning_rate": 0.02, "momentum": 0.9},
             [([(3,)], {"weight_decay": 0.1}), ([(2, 3)], {"momentum": 0.5})], {50: 0.1}, tuple(range(20, 30))),
            ("nesterov", rule("nesterov"), {"learning_rate": 0.02, "momentum": 0.8}, [([(5,)], {})], {}, (0, 1, 2)),
            ("rmsprop", rule("rmsprop"), {"learning_rate": 0.01}, [([(2,)], {}), ([(3,)], {"decay_rate": 0.9})],
             {30: 0.5}, ()),
            ("adam", rule("adam"), {"learning_rate": 0.02, "weight_decay": 0.05},
             [([(3, 2)], {}), ([(4,)], {"beta1": 0.8, "learning_rate": 0.005})], {60: 0.2}, tuple(range(10, 20))),
            ("adamw", rule("adamw"), {"learning_rate": 0.02, "weight_decay": 0.1}, [([(6,)], {})], {}, ()),
        ]
    return cases




def _walk_data(groups, zero, seed):
    """Starting weights, curvatures and per-step noise (zero at the steps in ``zero``) of each parameter."""
    rng = np.random.default_rng(seed)
    shapes = [s for shapes, _ in groups for s in shapes]
    starts = [rng.normal(size=s) for s in shapes]
    return starts, [_quadratic(s, seed + 10 * i) for i, s in enumerate(shapes)]


def _optimizer_walk(cls, groups, args, kwargs, lr_changes, zero, starts, terms):
    """``cls(param_groups, *args, **kwargs)`` stepping its parameters 100 times on the gradients
    ``curvature * w + noise[t]`` (zero at the steps in ``zero``); the trajectories (100, all coordinates).
    Self-contained: the grader sends its source to run next to the student's optimizer class."""
    import numpy as np
    import torch

    params = [torch.tensor(w.copy(), dtype=torch.float64, requires_grad=True) for w in starts]
    it = iter(params)
    opt = cls([{"params": [next(it) for _ in range(n)], **over} for n, over in groups], *args, **kwargs)
    out = []
    for t in range(100):
        if t in lr_changes:
            for group in opt.param_groups:
                group["lr" if "lr" in group else "learning_rate"] *= lr_changes[t]
        for p, (curvature, noise) in zip(params, terms):
            g = np.zeros(curvature.shape) if t in zero else curvature * p.detach().numpy() + noise[t]
            p.grad = torch.from_numpy(np.ascontiguousarray(g, dtype=np.float64))
        opt.step()
        out.append(np.concatenate([p.detach().numpy().ravel().copy() for p in params]))
    return np.stack(out)


# procedural: steps a torch.optim.Optimizer class (parameter groups, a rate changed mid-run) where the answer lives
@isolated
def check_scratch_optimizer(ScratchOptimizer, hidden: bool = False) -> None:
    """``ScratchOptimizer(params, rule, **config)`` running a scratch rule equals torch.optim over 100 steps."""
    expect(is_subclass(ScratchOptimizer, torch.optim.Optimizer),
           "ScratchOptimizer should be a class derived from torch.optim.Optimizer")
    forbid(ScratchOptimizer, FORBIDDEN["optimizer"], "ScratchOptimizer")
    for i, (name, rule, defaults, groups, lr_changes, zero) in enumerate(_opt_cases(hidden)):
        starts, terms = _walk_data(groups, zero, 50 + i)
        counts = [(len(shapes), over) for shapes, over in groups]
        walk = (lr_changes, list(zero), starts, terms)
        expected = _optimizer_walk(_TORCH_CLS[name], [(n, _to_torch(name, over)) for n, over in counts], [],
                                   _to_torch(name, defaults), *walk)
        where = (f"ScratchOptimizer with {name} and {len(groups)} parameter group(s) {[o for _, o in groups]}"
                 + (f", learning rate changed at steps {sorted(lr_changes)}" if lr_changes else "")
                 + (f", zero gradients at steps {zero[0]}-{zero[-1]}" if zero else ""))
        got = call(drive, ScratchOptimizer, _optimizer_walk, counts, [rule], defaults, *walk, hint=OPT_HINT, errors=[
            (ValueError, "one config per parameter", "one config dict was shared by several parameters: keep "
                                                     "one per parameter, in self.state[p]")])
        mistakes = [(_optimizer_walk(cls, counts, [rule], defaults, *walk), why) for cls, why in _OPT_MISTAKES]
        compare(got, expected, f"the parameters over 100 steps ({where})", OPT_HINT, mistakes, rtol=RTOL, atol=ATOL)


class _Base(torch.optim.Optimizer):
    def __init__(self, params, rule, **config):
        super().__init__(params, dict(config))
        self.rule = rule

    def hyper(self, group, state):
        return {k: v for k, v in group.items() if k != "params"}

    def skip(self, p):
        return p.grad is None

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if self.skip(p):
                    continue
                state = self.state[p]
                config = state.setdefault("config", {})
                config.update(self.hyper(group, state))
                w, config = self.rule(p.detach().numpy(), p.grad.detach().numpy(), config)
                p.copy_(torch.from_numpy(np.asarray(w)))


class _FrozenRule(_Base):
    def hyper(self, group, state):
        return {} if state.get("config") else {k: v for k, v in group.items() if k != "params"}


class _DefaultsOnly(_Base):
    def hyper(self, group, state):
        return dict(self.defaults)


class _SkipZero(_Base):
    def skip(self, p):
        return p.grad is None or not bool(p.grad.any())


_OPT_MISTAKES = [
    (_DefaultsOnly, "every group used the optimizer's defaults: read the hyperparameters from each param_group"),
    (_FrozenRule, "the hyperparameters were copied into the state only once: a learning rate changed later "
                  "(a schedule) must be used, so copy the group's values before every call"),
    (_SkipZero, "parameters whose gradient is all zero were skipped: torch still steps them (momentum and "
                "decay keep moving them); skip only p.grad is None"),
]


# --------------------------------------------------------------------------------------------
# 03 · batch normalisation, as records: the layer walked over several batches (records.normalised)
# --------------------------------------------------------------------------------------------

BN_HINT = ("train: mean and the BIASED variance (divide by N) of the batch normalise x; running = (1 - momentum) * "
           "running + momentum * batch statistic, with the UNBIASED variance (N - 1) in running_var, as torch does; "
           "test: normalise with the running statistics and change nothing")


def _np(t):
    return t.detach().double().numpy()


def _bn_batches(n, d, k, seed):
    g = torch.Generator().manual_seed(200 + seed)
    shift = 3 * torch.randn(d, generator=g, dtype=torch.float64)
    scale = 0.5 + 2 * torch.rand(d, generator=g, dtype=torch.float64)
    xs = [torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift for _ in range(k + 1)]
    gamma = 1 + 0.5 * torch.randn(d, generator=g, dtype=torch.float64)
    beta = torch.randn(d, generator=g, dtype=torch.float64)
    return [_np(x) for x in xs], _np(gamma), _np(beta)


def _bn_cases(hidden):
    """(xs, gamma, beta, bn_param): k batches in train mode, then one in test mode."""
    rows = [(8, 4, 0.1, 1e-5, 3, 1, True)]                # (N, D, momentum, eps, k, seed, running stats given)
    if hidden:
        rows += [(2, 3, 0.3, 1e-3, 2, 2, True),          # the smallest batch: unbiased = 2 x biased
                 (5, 1, 0.5, 1e-5, 4, 3, False),         # one feature, no running stats given (0 and 1)
                 (16, 6, 0.05, 1e-2, 3, 4, True)]        # big eps, small momentum
    cases = []
    for n, d, momentum, eps, k, seed, given in rows:
        xs, gamma, beta = _bn_batches(n, d, k, seed)
        bn_param = {"eps": eps, "momentum": momentum}
        if given:
            bn_param.update(running_mean=np.zeros(d), running_var=np.ones(d))
        cases.append((xs, gamma, beta, bn_param))
    return cases


def _bn_variant(slip):
    """``batchnorm_forward`` with torch's conventions (``slip`` ""), or with one slip of BN_MISTAKES; its cache is
    (mode, x_hat, gamma, inv_std, x). Self-contained: a record's reference is checked like an answer, forbidden calls
    included."""
    def batchnorm_forward(x, gamma, beta, bn_param):
        eps, momentum = bn_param.setdefault("eps", 1e-5), bn_param.setdefault("momentum", 0.1)
        rm = bn_param.setdefault("running_mean", np.zeros(x.shape[1]))
        rv = bn_param.setdefault("running_var", np.ones(x.shape[1]))
        train = bn_param["mode"] == "train" or slip == "always_train"
        if train:
            mean, var = x.mean(0), x.var(0, ddof=1 if slip == "unbiased_forward" else 0)
            batch_var = x.var(0, ddof=0 if slip == "biased_running" else 1)
            old, new = (momentum, 1 - momentum) if slip == "cs231n_momentum" else (1 - momentum, momentum)
            bn_param["running_mean"], bn_param["running_var"] = old * rm + new * mean, old * rv + new * batch_var
        else:
            mean, var = rm, rv
            if slip == "eval_updates":
                bn_param["running_mean"] = (1 - momentum) * rm + momentum * x.mean(0)
                bn_param["running_var"] = (1 - momentum) * rv + momentum * x.var(0, ddof=1)
        inv = 1 / np.sqrt(var + eps)
        x_hat = (x - mean) * inv
        return gamma * x_hat + beta, ("train" if train else "test", x_hat, gamma, inv, x)
    return batchnorm_forward


def _bn_back_variant(slip):
    """``batchnorm_backward`` for :func:`_bn_variant`'s cache, or with one slip of BN_BACK_MISTAKES."""
    def batchnorm_backward(dout, cache):
        mode, x_hat, gamma, inv, x = cache
        n = dout.shape[0]
        dgamma = {"dgamma_sum": dout.sum(0), "dgamma_x": (dout * x).sum(0)}.get(slip, (dout * x_hat).sum(0))
        dbeta = dout.mean(0) if slip == "dbeta_mean" else dout.sum(0)
        dxh = dout if slip == "no_gamma" else dout * gamma
        if mode == "test" or slip == "no_terms":
            return dxh * inv, dgamma, dbeta
        mean_term = 0 if slip == "no_mean" else dxh.sum(0)
        var_term = 0 if slip == "no_var" else x_hat * (dxh * x_hat).sum(0)
        return inv / n * (n * dxh - mean_term - var_term), dgamma, dbeta
    return batchnorm_backward


BN_MISTAKES = {
    "the forward pass normalised with the UNBIASED variance (ddof=1): normalise with the biased one, x.var(axis=0); "
    "only running_var gets the unbiased one": _bn_variant("unbiased_forward"),
    "running_var was updated with the BIASED batch variance: torch keeps the unbiased one there, var * N / (N - 1)":
        _bn_variant("biased_running"),
    "the momentum weights the OLD running value (CS231n's convention): here, as in torch, running = (1 - momentum) * "
    "running + momentum * batch": _bn_variant("cs231n_momentum"),
    "the running statistics changed in test mode: only train mode updates them": _bn_variant("eval_updates"),
    "test mode normalised with the batch's own statistics: it must use running_mean / running_var":
        _bn_variant("always_train"),
}

BN_BACK_HINT = ("train mode: dx = inv_std / N * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) with "
                "dx_hat = dout * gamma (the batch mean and variance depend on x too); dgamma = sum(dout * x_hat), "
                "dbeta = sum(dout), sums over the batch axis")

BN_BACK_MISTAKES = {
    "dx is missing the terms from the batch mean and variance (dout * gamma * inv_std is the test-mode gradient): "
    "subtract sum(dx_hat) and x_hat * sum(dx_hat * x_hat), divided by N": _bn_back_variant("no_terms"),
    "dx is missing the variance term - x_hat * sum(dx_hat * x_hat)": _bn_back_variant("no_var"),
    "dx is missing the mean term - sum(dx_hat)": _bn_back_variant("no_mean"),
    "dx forgot gamma: dx_hat = dout * gamma": _bn_back_variant("no_gamma"),
    "dgamma is sum(dout): it is sum(dout * x_hat)": _bn_back_variant("dgamma_sum"),
    "dgamma used x, not the normalised x_hat": _bn_back_variant("dgamma_x"),
    "dbeta is the SUM of dout over the batch, not its mean": _bn_back_variant("dbeta_mean"),
}


def _bn_back_cases(hidden):
    """((x, gamma, beta, bn_param), dout): one forward call in train or test mode, then the backward pass."""
    rows = [(6, 4, 1e-5, "train", 1)]
    if hidden:
        rows += [(2, 3, 1e-3, "train", 2), (9, 1, 1e-5, "train", 3), (5, 3, 1e-5, "test", 4), (20, 7, 1e-2, "train", 5)]
    cases = []
    for n, d, eps, mode, seed in rows:
        (x, x2), gamma, beta = _bn_batches(n, d, 1, seed)
        dout = _np(torch.randn(n, d, generator=torch.Generator().manual_seed(300 + seed), dtype=torch.float64))
        bn_param = {"mode": mode, "eps": eps, "momentum": 0.1, "running_mean": x2.mean(0),
                    "running_var": x2.var(0, ddof=1) + 0.5}
        cases.append(((x, gamma, beta, bn_param), dout))
    return cases


SPATIAL_HINT = ("move the channels last and flatten, x.transpose(0, 2, 3, 1).reshape(-1, C), so every pixel of every "
                "image is a sample of its channel; run the (N, D) version; reshape (N, H, W, C) and transpose back")


def _spatial_pair(flat=False):
    """``spatial_batchnorm_forward`` and ``_backward`` through the (N, D) pair; ``flat``: the slip of reshaping without
    moving the channels last."""
    forward, backward = _bn_variant(""), _bn_back_variant("")

    def spatial_batchnorm_forward(x, gamma, beta, bn_param):
        n, c, h, w = x.shape
        out, cache = forward(x.reshape(-1, c) if flat else x.transpose(0, 2, 3, 1).reshape(-1, c), gamma, beta, bn_param)
        return (out.reshape(x.shape) if flat else out.reshape(n, h, w, c).transpose(0, 3, 1, 2)), (cache, x.shape)

    def spatial_batchnorm_backward(dout, cache):
        cache, (n, c, h, w) = cache
        dx, dgamma, dbeta = backward(dout.reshape(-1, c) if flat else dout.transpose(0, 2, 3, 1).reshape(-1, c), cache)
        return (dx.reshape(n, c, h, w) if flat else dx.reshape(n, h, w, c).transpose(0, 3, 1, 2)), dgamma, dbeta
    return spatial_batchnorm_forward, spatial_batchnorm_backward


def _spatial_cases(hidden):
    """(xs, gamma, beta, bn_param, dout): two batches in train mode (each then backward), one in test mode."""
    rows = [((4, 3, 5, 5), 0.1, 1e-5, 1)]
    if hidden:
        rows += [((2, 2, 3, 7), 0.3, 1e-3, 2), ((1, 4, 2, 2), 0.1, 1e-5, 3), ((3, 1, 4, 3), 0.5, 1e-5, 4)]
    cases = []
    for shape, momentum, eps, seed in rows:
        g = torch.Generator().manual_seed(400 + seed)
        c = shape[1]
        xs = [torch.randn(*shape, generator=g, dtype=torch.float64) * 2 + torch.arange(c, dtype=torch.float64).view(1, c, 1, 1)
              for _ in range(3)]
        gamma = 1 + 0.5 * torch.randn(c, generator=g, dtype=torch.float64)
        beta = torch.randn(c, generator=g, dtype=torch.float64)
        dout = torch.randn(*shape, generator=g, dtype=torch.float64)
        cases.append(([_np(x) for x in xs], _np(gamma), _np(beta), {"eps": eps, "momentum": momentum}, _np(dout)))
    return cases


def _walk_what(xs, gamma, beta, bn_param, dout=None):
    return (f"x of shape {xs[0].shape}, momentum {bn_param['momentum']}, eps {bn_param['eps']}, {len(xs) - 1} train "
            "batches then one in test mode")


_BN_TOL = dict(rtol=BN_RTOL, atol=BN_ATOL, f32=F32)   # float64 against torch; an answer in float32 to 1e-4



# --------------------------------------------------------------------------------------------
# 02 · regularisation: penalties and inverted dropout
# --------------------------------------------------------------------------------------------

IN_PLACE = ("{} changed {} in place: it is the previous layer's output (or the caller's gradient), which others "
            "may still hold; compute a new array (out = x * mask, not x *= mask)")
DROPOUT_HINT = ("train: keep each unit with probability 1 - p (p is the DROP probability, as in nn.Dropout) and scale "
                "the kept ones by 1 / (1 - p); test: out = x, unchanged")


def _dropout_cases(hidden):
    """(shape, p, seed)."""
    cases = [((400, 250), 0.3, 1)]
    if hidden:
        cases += [((20, 10, 25, 20), 0.5, 2), ((100000,), 0.8, 3), ((300, 300), 0.1, 4), ((50, 40), 0.0, 5)]
    return cases


def _dropout_x(shape, seed):
    rng = np.random.default_rng(500 + seed)
    return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# procedural: statistical, many right masks
@isolated
def check_dropout_forward(dropout_forward, hidden: bool = False) -> None:
    """Inverted dropout behaves as nn.Dropout: zeros with probability p, survivors scaled by 1/(1-p); test mode is
    the identity; the same seed gives the same mask."""
    forbid(dropout_forward, FORBIDDEN["dropout"], "dropout_forward")
    for shape, p, seed in _dropout_cases(hidden):
        x = _dropout_x(shape, seed)
        where = f"x of shape {shape}, p {p}"
        given = x.copy()
        res = call(dropout_forward, given, {"p": p, "mode": "train", "seed": seed}, hint=DROPOUT_HINT)
        unchanged(x, given, IN_PLACE.format("dropout_forward", "x"))
        out, _ = returns_tuple(res, 2, "(out, cache)", dropout_forward)
        out = as_array(out, "out")
        expect(out.shape == x.shape, f"out has shape {out.shape}, expected x's {x.shape} ({where})")
        kept = out != 0
        frac = 1 - kept.mean()
        if p > 0:
            expect(abs(frac - (1 - p)) > 0.02 or abs(p - 0.5) < 0.02,
                   f"{frac:.1%} of the units were dropped with p = {p}: p is the probability of DROPPING a unit "
                   f"(torch's meaning), so keep with probability 1 - p ({where})")
        expect(abs(frac - p) < max(0.02, 4 * np.sqrt(p * (1 - p) / x.size)),
               f"{frac:.1%} of the units were dropped, expected about {p:.0%} ({where}). {DROPOUT_HINT}")
        if kept.any():
            scale = out[kept] / x[kept]
            expect(not np.allclose(scale, 1.0) or p == 0,
                   f"the kept units are not rescaled: inverted dropout divides them by 1 - p = {1 - p:g}, so the "
                   f"expected output equals x and test mode needs no change ({where})")
            expect(p == 0 or not np.allclose(scale, 1 - p),
                   f"the kept units were multiplied by 1 - p; inverted dropout DIVIDES them by 1 - p ({where})")
            expect(np.allclose(scale, 1 / (1 - p)), f"the kept units should be x / (1 - p) ({where}). {DROPOUT_HINT}")
        if hidden:
            again, _ = returns_tuple(call(dropout_forward, x.copy(), {"p": p, "mode": "train", "seed": seed},
                                          hint=DROPOUT_HINT), 2, "(out, cache)", dropout_forward)
            expect(np.array_equal(as_array(again, "out"), out),
                   "the same dropout_param['seed'] must give the same mask: np.random.default_rng(seed)")
        test_res = call(dropout_forward, x.copy(), {"p": p, "mode": "test"}, hint=DROPOUT_HINT)
        test_out, _ = returns_tuple(test_res, 2, "(out, cache)", dropout_forward)
        compare(test_out, x, f"the test-mode output ({where})", "test mode returns x unchanged",
                [(x * (1 - p), "test mode multiplied by 1 - p: with INVERTED dropout the scaling happened in training, "
                               "so test mode returns x as it is"),
                 (x / (1 - p) if p < 1 else None, "test mode rescaled x: it must return x unchanged")])


# procedural: the mask is the answer's own (many right masks): dx is judged against what its own forward kept
@isolated
def check_dropout_backward(dropout_forward, dropout_backward, hidden: bool = False) -> None:
    """dx = dout * mask (zeros where dropped, 1 / (1 - p) where kept) in train mode, dout in test mode."""
    forbid(dropout_forward, FORBIDDEN["dropout"], "dropout_forward")
    forbid(dropout_backward, FORBIDDEN["grad"], "dropout_backward")
    cases = [((30, 20), 0.4, 1, "train")]
    if hidden:
        cases += [((4, 3, 5, 5), 0.5, 2, "train"), ((10, 10), 0.2, 3, "test"), ((64,), 0.0, 4, "train")]
    for shape, p, seed, mode in cases:
        x = _dropout_x(shape, seed)
        dout = np.random.default_rng(600 + seed).normal(size=shape)
        res = call(dropout_forward, x.copy(), {"p": p, "mode": mode, "seed": seed}, hint=DROPOUT_HINT)
        out, cache = returns_tuple(res, 2, "(out, cache)", dropout_forward)
        dx = call(dropout_backward, dout.copy(), cache, hint="dx = dout * mask in train mode, dout in test mode")
        mask = as_array(out, "out") / x
        where = f"x of shape {shape}, p {p}, mode {mode!r}"
        compare(dx, dout * mask, f"dx ({where})", "dx = dout * mask: the same zeros and the same 1 / (1 - p) scale",
                [((mask != 0) * dout if mode == "train" and p > 0 else None,
                  "dx is not rescaled: the kept units' gradient is multiplied by 1 / (1 - p), like their values"),
                 (dout if mode == "train" and p > 0 else None, "dx ignores the mask: dropped units get no gradient")])


# --------------------------------------------------------------------------------------------
# 02 · the penalties, written as records (helpers/checks/records.py)
# --------------------------------------------------------------------------------------------

def _penalty_cases(hidden):
    """(w, lam)."""
    cases = [(np.array([[1.5, -2.0, 0.0], [0.25, -0.5, 3.0]]), 0.1)]
    if hidden:
        rng = np.random.default_rng(7)
        cases += [(rng.normal(size=(4, 3, 2)), 0.01), (np.zeros(5), 0.3), (rng.normal(size=7), 0.0),
                  (np.array([-1e-3, 1e-3, 0.0, -4.0]), 2.0)]
    return cases


# the rules' references equal torch.optim's walks, the penalties' autograd's (tests/test_checks_week4.py)
EXERCISES = [
    *(_rule_record(kind) for kind in ("sgd", "sgd_momentum", "nesterov", "rmsprop", "adam")),
    Exercise(
        "l2_penalty", reference=lambda w, lam: (lam / 2 * np.sum(w ** 2), lam * w), cases=_penalty_cases,
        outputs=("penalty", "dw"), forbidden=FORBIDDEN["grad"],
        hint="penalty = lam / 2 * sum(w**2), dw = lam * w", in_place="return a new array (lam * w)",
        describe=lambda w, lam: f"l2_penalty of w of shape {w.shape}, lam {lam}",
        mistakes={"the penalty has no 1/2: with lam / 2 * sum(w**2) its gradient is lam * w, exactly SGD's weight_decay":
                  lambda w, lam: (lam * np.sum(w ** 2), lam * w),
                  "the penalty uses the norm, not the squared norm": lambda w, lam: (lam / 2 * np.sqrt(np.sum(w ** 2)), lam * w),
                  "dw = 2 * lam * w: the 1/2 in the penalty cancels the 2, dw = lam * w":
                  lambda w, lam: (lam / 2 * np.sum(w ** 2), 2 * lam * w),
                  "dw = lam * sign(w) is L1's gradient; L2's is lam * w": lambda w, lam: (lam / 2 * np.sum(w ** 2), lam * np.sign(w))}),
    Exercise(
        "l1_penalty", reference=lambda w, lam: (lam * np.sum(np.abs(w)), lam * np.sign(w)), cases=_penalty_cases,
        outputs=("penalty", "dw"), forbidden=FORBIDDEN["grad"],
        hint="penalty = lam * sum(|w|), dw = lam * sign(w) (0 where w == 0, as autograd of abs gives)",
        in_place="return a new array (lam * np.sign(w))",
        describe=lambda w, lam: f"l1_penalty of w of shape {w.shape}, lam {lam}",
        mistakes={"the penalty sums w, not |w|": lambda w, lam: (lam * np.sum(w), lam * np.sign(w)),
                  "that is the L2 penalty; L1 is lam * sum(|w|)": lambda w, lam: (lam / 2 * np.sum(w ** 2), lam * np.sign(w)),
                  "the gradient is lam at w == 0: use np.sign(w), which is 0 there (the subgradient torch's autograd of abs "
                  "picks)": lambda w, lam: (lam * np.sum(np.abs(w)), lam * np.where(w >= 0, 1.0, -1.0)),
                  "dw = lam * w is L2's gradient; L1's is lam * sign(w)": lambda w, lam: (lam * np.sum(np.abs(w)), lam * w),
                  "dw forgot lam: lam * sign(w)": lambda w, lam: (lam * np.sum(np.abs(w)), np.sign(w))}),
]

EXERCISES += [   # 03: the references equal nn.BatchNorm1d/2d's walks and autograd's gradients (tests/test_checks_week4.py)
    Exercise(
        "batchnorm_forward", reference=_bn_variant(""), cases=_bn_cases, run=normalised, hint=BN_HINT,
        outputs=("the outputs", "running_mean and running_var after each batch"), describe=_walk_what,
        forbidden=FORBIDDEN["batchnorm"], mistakes=BN_MISTAKES, **_BN_TOL),
    Exercise(
        "batchnorm_backward", answers=("batchnorm_forward", "batchnorm_backward"), run=forward_backward,
        reference=(_bn_variant(""), _bn_back_variant("")), cases=_bn_back_cases, hint=BN_BACK_HINT,
        outputs=("dx", "dgamma", "dbeta"), forbidden=FORBIDDEN["batchnorm"], mistakes=BN_BACK_MISTAKES,
        describe=lambda inputs, dout: f"x of shape {inputs[0].shape}, mode {inputs[3]['mode']!r}",
        in_place="it is the caller's gradient, which others may still hold: compute new arrays", **_BN_TOL),
    Exercise(
        "spatial_batchnorm", answers=("spatial_batchnorm_forward", "spatial_batchnorm_backward"), run=normalised,
        reference=_spatial_pair(), cases=_spatial_cases, hint=SPATIAL_HINT,
        outputs=("the outputs", "running_mean and running_var after each batch", "dx", "dgamma", "dbeta"),
        describe=_walk_what, forbidden=FORBIDDEN["batchnorm"], **_BN_TOL,
        mistakes={"x was reshaped to (-1, C) without moving the channels last first: transpose(0, 2, 3, 1) before "
                  "the reshape, and back afterwards": _spatial_pair(flat=True)}),
]

globals().update(checks_of(EXERCISES, __name__))   # the rules (01), the penalties (02), batch normalisation (03)
