"""helpers.scratch.optim's update rules against torch.optim, step by step, in float64.

Three parameter tensors in two parameter groups (different learning rates and weight decay),
100 steps on one fixed gradient sequence that includes all-zero gradients, and a learning-rate
cut halfway (as a schedule makes), which separates torch's momentum form from CS231n's.
"""
import numpy as np
import pytest
import torch

from helpers import scratch

SHAPES = [(4, 3), (5,), (2, 3, 2, 2)]
STEPS, CUT = 100, 50
GROUPS = [{"params": [0, 1], "lr": 0.05, "weight_decay": 0.01}, {"params": [2], "lr": 0.02, "weight_decay": 0.0}]

CASES = [
    ("sgd", scratch.sgd, torch.optim.SGD, {}),
    ("sgd_momentum", scratch.sgd_momentum, torch.optim.SGD, {"momentum": 0.9}),
    ("nesterov", scratch.nesterov, torch.optim.SGD, {"momentum": 0.8, "nesterov": True}),
    ("rmsprop", scratch.rmsprop, torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-6}),
    ("rmsprop_centered_momentum", scratch.rmsprop, torch.optim.RMSprop,
     {"alpha": 0.95, "eps": 1e-7, "momentum": 0.5, "centered": True}),
    ("adam", scratch.adam, torch.optim.Adam, {"betas": (0.8, 0.95), "eps": 1e-7}),
    ("adamw", scratch.adamw, torch.optim.AdamW, {"betas": (0.85, 0.99), "eps": 1e-8}),
]
RENAME = {"lr": "learning_rate", "alpha": "decay_rate", "eps": "epsilon"}


def our_config(torch_kwargs: dict) -> dict:
    """torch.optim keyword arguments -> our config keys (nesterov is a rule of its own here)."""
    config = {}
    for k, v in torch_kwargs.items():
        if k == "betas":
            config["beta1"], config["beta2"] = v
        elif k != "nesterov":
            config[RENAME.get(k, k)] = v
    return config


def gradient_sequence(seed=0):
    rng = np.random.default_rng(seed)
    seq = []
    for step in range(STEPS):
        grads = [rng.normal(scale=rng.uniform(0.1, 3.0), size=s) for s in SHAPES]
        if step % 9 == 4:           # a step where nothing gets a gradient
            grads = [np.zeros(s) for s in SHAPES]
        if 20 <= step < 30:         # one tensor gets none for a while (its moments decay)
            grads[1] = np.zeros(SHAPES[1])
        seq.append(grads)
    return seq


def run_both(rule, torch_cls, extra, groups):
    """Step our rule and torch's optimiser side by side; return the largest difference seen."""
    rng = np.random.default_rng(1)
    start = [rng.normal(size=s) for s in SHAPES]
    tparams = [torch.tensor(w.copy(), requires_grad=True) for w in start]
    opt = torch_cls([{"params": [tparams[i] for i in g["params"]],
                      **{k: v for k, v in g.items() if k != "params"}} for g in groups], **extra)
    ws, configs = [w.copy() for w in start], [None] * len(SHAPES)
    for g in groups:
        for i in g["params"]:
            configs[i] = our_config({**extra, **{k: v for k, v in g.items() if k != "params"}})
    worst = 0.0
    for step, grads in enumerate(gradient_sequence()):
        if step == CUT:
            for group in opt.param_groups:
                group["lr"] *= 0.5
            for c in configs:
                c["learning_rate"] *= 0.5
        for t, g in zip(tparams, grads):
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        for i, g in enumerate(grads):
            before = ws[i].copy()
            ws[i], configs[i] = rule(ws[i], g, configs[i])
            assert ws[i].shape == SHAPES[i]
            assert not np.shares_memory(ws[i], before)
            theirs = tparams[i].detach().numpy()
            np.testing.assert_allclose(ws[i], theirs, rtol=1e-6, atol=1e-12,
                                       err_msg=f"parameter {i} after step {step + 1}")
            worst = max(worst, float(np.max(np.abs(ws[i] - theirs))))
    return ws, start, worst


@pytest.mark.parametrize("name, rule, torch_cls, extra", CASES, ids=[c[0] for c in CASES])
def test_rule_matches_torch_over_100_steps(name, rule, torch_cls, extra):
    ws, start, worst = run_both(rule, torch_cls, extra, GROUPS)
    assert worst <= 1e-9
    assert all(np.max(np.abs(w - s)) > 1e-3 for w, s in zip(ws, start))  # the walk went somewhere


@pytest.mark.parametrize("name, rule, torch_cls, extra", [c for c in CASES if c[0] in ("adam", "adamw")],
                         ids=["adam", "adamw"])
def test_adam_weight_decay_strengths(name, rule, torch_cls, extra):
    """Strong decay (where L2-in-the-gradient and decoupled decay differ most) still matches."""
    groups = [{"params": [0, 1, 2], "lr": 0.01, "weight_decay": 0.5}]
    run_both(rule, torch_cls, extra, groups)


def test_adam_l2_and_adamw_decay_differ():
    """Same hyperparameters, same gradients: Adam's L2 and AdamW's decoupled decay give different weights."""
    w = np.ones(3)
    a, b = w.copy(), w.copy()
    ca, cb = {"learning_rate": 0.1, "weight_decay": 0.1}, {"learning_rate": 0.1, "weight_decay": 0.1}
    for _ in range(10):
        a, ca = scratch.adam(a, np.array([1e-3, 0.0, -1e-3]), ca)
        b, cb = scratch.adamw(b, np.array([1e-3, 0.0, -1e-3]), cb)
    assert np.max(np.abs(a - b)) > 0.1


@pytest.mark.parametrize("rule, torch_cls", [(scratch.rmsprop, torch.optim.RMSprop), (scratch.adam, torch.optim.Adam),
                                             (scratch.adamw, torch.optim.AdamW)])
def test_defaults_match_torch(rule, torch_cls):
    """config=None: the documented defaults, equal to torch's for these rules."""
    rng = np.random.default_rng(2)
    w = rng.normal(size=6)
    t = torch.tensor(w.copy(), requires_grad=True)
    opt, config = torch_cls([t]), None
    for _ in range(20):
        g = rng.normal(size=6)
        t.grad = torch.from_numpy(g.copy())
        opt.step()
        w, config = rule(w, g, config)
    np.testing.assert_allclose(w, t.detach().numpy(), rtol=1e-6, atol=1e-12)


def test_documented_defaults_and_state():
    w, dw = np.ones((2, 2)), np.full((2, 2), 0.5)
    expect = {
        scratch.sgd: ({"learning_rate": 1e-2, "weight_decay": 0.0}, []),
        scratch.sgd_momentum: ({"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0}, ["velocity"]),
        scratch.nesterov: ({"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0}, ["velocity"]),
        scratch.rmsprop: ({"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0,
                           "momentum": 0.0, "centered": False}, ["cache"]),
        scratch.adam: ({"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                        "weight_decay": 0.0}, ["m", "v", "t"]),
        scratch.adamw: ({"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                         "weight_decay": 1e-2}, ["m", "v", "t"]),
    }
    for rule, (defaults, state) in expect.items():
        given = {}
        next_w, config = rule(w, dw, given)
        assert config is given, rule.__name__            # the config dict is updated in place and returned
        assert set(config) == set(defaults) | set(state), rule.__name__
        assert {k: config[k] for k in defaults} == defaults, rule.__name__
        np.testing.assert_array_equal(w, np.ones((2, 2)))  # w itself is untouched
        assert np.all(next_w < w), rule.__name__
    assert scratch.adam(w, dw)[1]["t"] == 1


def test_sgd_momentum_first_steps_by_hand():
    w, config = np.array([1.0]), {"learning_rate": 0.1, "momentum": 0.5}
    w, config = scratch.sgd_momentum(w, np.array([1.0]), config)   # v = 1, w = 1 - 0.1
    w, config = scratch.sgd_momentum(w, np.array([1.0]), config)   # v = 1.5, w = 0.9 - 0.15
    np.testing.assert_allclose([w[0], config["velocity"][0]], [0.75, 1.5])
    w, config = scratch.nesterov(np.array([1.0]), np.array([1.0]), {"learning_rate": 0.1, "momentum": 0.5})
    np.testing.assert_allclose(w, [1.0 - 0.1 * (1.0 + 0.5 * 1.0)])  # g + mu * v with v = 1


# --- errors a learner can act on --------------------------------------------------------------------

W = np.zeros(2)


@pytest.mark.parametrize("call, message", [
    (lambda: scratch.sgd(W, W, {"learning_rate": -0.1}), r"sgd: config\['learning_rate'\] must be >= 0, got -0\.1"),
    (lambda: scratch.adam(W, W, {"learning_rate": -1e-3}), r"adam: config\['learning_rate'\] must be >= 0"),
    (lambda: scratch.adam(W, W, {"beta1": 1.0}), r"adam: config\['beta1'\] must be in \[0, 1\), got 1\.0"),
    (lambda: scratch.adamw(W, W, {"beta2": -0.1}), r"adamw: config\['beta2'\] must be in \[0, 1\), got -0\.1"),
    (lambda: scratch.rmsprop(W, W, {"decay_rate": 1.0}), r"rmsprop: config\['decay_rate'\] must be in \[0, 1\)"),
    (lambda: scratch.sgd_momentum(W, W, {"momentum": -0.9}), r"sgd_momentum: config\['momentum'\] must be >= 0"),
    (lambda: scratch.nesterov(W, W, {"momentum": 0.0}), r"nesterov: Nesterov momentum needs config\['momentum'\] > 0"),
    (lambda: scratch.rmsprop(W, W, {"epsilon": 0.0}), r"rmsprop: config\['epsilon'\] must be > 0, got 0\.0"),
    (lambda: scratch.adam(W, W, {"epsilon": -1e-8}), r"adam: config\['epsilon'\] must be > 0"),
    (lambda: scratch.sgd(W, W, {"weight_decay": -1e-4}), r"sgd: config\['weight_decay'\] must be >= 0"),
    (lambda: scratch.adam(W, W, {"lr": 1e-3}),
     r"adam: unknown config key 'lr' \(torch's 'lr' is called 'learning_rate' here\)"),
    (lambda: scratch.rmsprop(W, W, {"alpha": 0.9}), r"torch's 'alpha' is called 'decay_rate' here"),
    (lambda: scratch.sgd(W, W, {"momentum": 0.9}), r"sgd: unknown config key 'momentum'.*use sgd_momentum"),
    (lambda: scratch.sgd_momentum(W, W, {"velocity": np.zeros(3)}),
     r"config\['velocity'\] is state for an array of shape \(3,\), but w has shape \(2,\); keep one config per parameter"),
    (lambda: scratch.sgd_momentum(W, W, {"velocity": None}), r"config\['velocity'\] is state for an array"),
    (lambda: scratch.adam(W, np.zeros(3)), r"adam: expected dw of the same shape as w \(2,\), got \(3,\)"),
    (lambda: scratch.adam(np.zeros(2, dtype=int), W), r"adam: expected w to be a float array, got dtype int"),
    (lambda: scratch.adam(W, W, [0.1]), r"adam: config must be a dict \(or None for the defaults\), got list"),
    (lambda: scratch.adam(W, W, {"t": -1}), r"adam: config\['t'\] counts the steps taken and must be >= 0"),
])
def test_bad_configs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
