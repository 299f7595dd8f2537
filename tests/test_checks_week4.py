"""Week 4's graded checks, three ways each through the shared harness (tests/checks_harness.py): the
notebooks' own solution cells pass (public and hidden cases), the released stubs fail as "not
answered", typical wrong answers fail with their hint (those only the hidden cases can catch pass the
public ones), and other right answers pass. The references and the checks are also compared with
torch here on inputs neither the notebooks nor the checks use.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from checks_harness import Right, Week, Wrong, make_tests
from helpers import scratch
from helpers.checks import week4 as checks

CHECKS = {
    "check_sgd": ("01", ["sgd"]),
    "check_sgd_momentum": ("01", ["sgd_momentum"]),
    "check_nesterov": ("01", ["nesterov"]),
    "check_rmsprop": ("01", ["rmsprop"]),
    "check_adam": ("01", ["adam"]),
    "check_scratch_optimizer": ("01", ["ScratchOptimizer"]),
    "check_l2_penalty": ("02", ["l2_penalty"]),
    "check_l1_penalty": ("02", ["l1_penalty"]),
    "check_dropout_forward": ("02", ["dropout_forward"]),
    "check_dropout_backward": ("02", ["dropout_forward", "dropout_backward"]),
    "check_batchnorm_forward": ("03", ["batchnorm_forward"]),
    "check_batchnorm_backward": ("03", ["batchnorm_forward", "batchnorm_backward"]),
    "check_spatial_batchnorm": ("03", ["spatial_batchnorm_forward", "spatial_batchnorm_backward"]),
}
WEEK = Week("week4", checks, CHECKS, base={"np": np, "torch": torch, "nn": nn, "F": F, "scratch": scratch})


def ref(fn_name):
    for ns in WEEK.reference.values():
        if fn_name in ns and callable(ns[fn_name]):
            return ns[fn_name]
    raise KeyError(fn_name)


# ---------------------------------------------------------------- 01 optimisers

def _defaults(config, **values):
    config = {} if config is None else config
    for k, v in values.items():
        config.setdefault(k, v)
    return config


def sgd_uphill(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    return w + c["learning_rate"] * (dw + c["weight_decay"] * w), c


def sgd_decay_after(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    return w - c["learning_rate"] * dw - c["weight_decay"] * w, c


def sgd_ignores_decay(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    return w - c["learning_rate"] * dw, c


def sgd_no_defaults(w, dw, config=None):
    return w - config["learning_rate"] * (dw + config.get("weight_decay", 0.0) * w), config


def _momentum(nesterov=False, dampened=False, keep=True, decay_after=False, old_v=False):
    def rule(w, dw, config=None):
        c = _defaults(config, learning_rate=1e-2, momentum=0.9, weight_decay=0.0)
        mu, lr, wd = c["momentum"], c["learning_rate"], c["weight_decay"]
        g = dw if decay_after else dw + wd * w
        v_old = c.get("velocity", np.zeros_like(w))
        v = mu * v_old + ((1 - mu) * g if dampened else g)
        if keep:
            c["velocity"] = v
        step = (g + mu * (v_old if old_v else v)) if nesterov else v
        nxt = w - lr * step
        return (nxt - wd * w if decay_after else nxt), c
    return rule


def momentum_cs231n(w, dw, config=None):
    """CS231n's form v = mu v - lr dw; w += v: the same walk at a constant learning rate (right)."""
    c = _defaults(config, learning_rate=1e-2, momentum=0.9, weight_decay=0.0)
    g = dw + c["weight_decay"] * w
    v = c["momentum"] * c.get("velocity", np.zeros_like(w)) - c["learning_rate"] * g
    c["velocity"] = v
    return w + v, c


def _rmsprop(eps_inside=False, one_minus=True):
    def rule(w, dw, config=None):
        c = _defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8, weight_decay=0.0)
        g = dw + c["weight_decay"] * w
        rho = c["decay_rate"]
        cache = rho * c.get("cache", np.zeros_like(w)) + ((1 - rho) if one_minus else 1.0) * g * g
        c["cache"] = cache
        denom = np.sqrt(cache + c["epsilon"]) if eps_inside else np.sqrt(cache) + c["epsilon"]
        return w - c["learning_rate"] * g / denom, c
    return rule


def _adam(correct=True, t_from_0=False, eps_inside=False, decay_after=False, in_place=False):
    def rule(w, dw, config=None):
        c = _defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.0)
        b1, b2, lr, wd = c["beta1"], c["beta2"], c["learning_rate"], c["weight_decay"]
        g = dw if decay_after else dw + wd * w
        t = c.get("t", 0)
        m = b1 * c.get("m", np.zeros_like(w)) + (1 - b1) * g
        v = b2 * c.get("v", np.zeros_like(w)) + (1 - b2) * g * g
        tc = t if t_from_0 else t + 1
        c.update(m=m, v=v, t=t + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            m_hat, v_hat = (m / (1 - b1 ** tc), v / (1 - b2 ** tc)) if correct else (m, v)
            denom = np.sqrt(v_hat + c["epsilon"]) if eps_inside else np.sqrt(v_hat) + c["epsilon"]
            step = lr * m_hat / denom
        if in_place:
            w -= step
            nxt = w
        else:
            nxt = w - step
        return (nxt - lr * wd * w if decay_after else nxt), c
    return rule


def adam_new_dict(w, dw, config=None):
    """Returns a fresh config dict each call instead of updating the given one (right)."""
    nxt, c = ref("adam")(w, dw, dict(config) if config is not None else None)
    return nxt, dict(c)


def adam_float32(w, dw, config=None):
    """The moments and the result in float32 (right: precision is not the lesson)."""
    nxt, c = ref("adam")(w.astype(np.float32), dw.astype(np.float32), config)
    return nxt.astype(np.float32), c


def sgd_torch(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    p = torch.tensor(w, requires_grad=True)
    p.grad = torch.tensor(dw)
    torch.optim.SGD([p], lr=c["learning_rate"], weight_decay=c["weight_decay"]).step()
    return p.detach().numpy(), c


def sgd_grad_in_place(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    dw += c["weight_decay"] * w
    return w - c["learning_rate"] * dw, c


def sgd_returns_w(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    return w - c["learning_rate"] * (dw + c["weight_decay"] * w)


def sgd_config_as_list(w, dw, config=None):
    c = _defaults(config, learning_rate=1e-2, weight_decay=0.0)
    return w - c["learning_rate"] * (dw + c["weight_decay"] * w), list(c.items())


def sgd_forgets_defaults(w, dw, config=None):
    """Uses the defaults for config=None, but returns an empty config."""
    c = {"learning_rate": 1e-2, "weight_decay": 0.0, **(config or {})}
    return w - c["learning_rate"] * (dw + c["weight_decay"] * w), config if config is not None else {}


_VELOCITY = {}


def momentum_global(w, dw, config=None):
    """The velocity in a module-level variable: every parameter shares it."""
    c = _defaults(config, learning_rate=1e-2, momentum=0.9, weight_decay=0.0)
    _VELOCITY["v"] = c["momentum"] * _VELOCITY.get("v", 0.0) + dw + c["weight_decay"] * w
    return w - c["learning_rate"] * _VELOCITY["v"], c


def nesterov_cs231n(w, dw, config=None):
    """CS231n's form v = mu v - lr g; w += -mu v_prev + (1 + mu) v: the same walk at a constant learning rate (right)."""
    c = _defaults(config, learning_rate=1e-2, momentum=0.9, weight_decay=0.0)
    mu, v_prev = c["momentum"], c.get("velocity", np.zeros_like(w))
    c["velocity"] = mu * v_prev - c["learning_rate"] * (dw + c["weight_decay"] * w)
    return w - mu * v_prev + (1 + mu) * c["velocity"], c


class _Opt(torch.optim.Optimizer):
    def __init__(self, params, rule, **config):
        super().__init__(params, dict(config))
        self.rule = rule


class OptDefaultsOnly(_Opt):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                conf = self.state[p].setdefault("config", dict(self.defaults))
                w, conf = self.rule(p.detach().numpy(), p.grad.numpy(), conf)
                p.copy_(torch.from_numpy(w))


class OptFrozen(_Opt):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                conf = self.state[p].setdefault("config", {k: v for k, v in group.items() if k != "params"})
                w, conf = self.rule(p.detach().numpy(), p.grad.numpy(), conf)
                p.copy_(torch.from_numpy(w))


class OptSkipZero(_Opt):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None or not p.grad.any():
                    continue
                conf = self.state[p].setdefault("config", {})
                conf.update({k: v for k, v in group.items() if k != "params"})
                w, conf = self.rule(p.detach().numpy(), p.grad.numpy(), conf)
                p.copy_(torch.from_numpy(w))


class OptSharedConfig(_Opt):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            conf = group.setdefault("shared", {})
            for p in group["params"]:
                conf.update({k: v for k, v in group.items() if k not in ("params", "shared")})
                w, conf = self.rule(p.detach().numpy(), p.grad.numpy(), conf)
                p.copy_(torch.from_numpy(w))


class OptNotInPlace(_Opt):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                conf = self.state[p].setdefault("config", {})
                conf.update({k: v for k, v in group.items() if k != "params"})
                self.rule(p.detach().numpy().copy(), p.grad.numpy(), conf)   # the result is thrown away


class OptTorchAdam(_Opt):
    """Ignores the rule and steps torch.optim.Adam."""

    def step(self, closure=None):
        if not hasattr(self, "inner"):
            self.inner = torch.optim.Adam([{"params": g["params"], "lr": g["learning_rate"]} for g in self.param_groups])
        self.inner.step()


class OptPlain(torch.optim.Optimizer):
    """Keeps state as attributes, not in self.state (right)."""

    def __init__(self, params, rule, **config):
        super().__init__(params, dict(config))
        self.rule, self.configs = rule, {}

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                conf = self.configs.setdefault(id(p), {})
                conf.update({k: v for k, v in group.items() if k != "params"})
                w, conf = self.rule(p.detach().numpy().copy(), p.grad.numpy().copy(), conf)
                p.data = torch.as_tensor(w, dtype=p.dtype)


# ---------------------------------------------------------------- 02 regularisation

def l2_no_half(w, lam):
    return lam * np.sum(w ** 2), 2 * lam * w


def l2_grad_doubled(w, lam):
    return 0.5 * lam * np.sum(w ** 2), 2 * lam * w


def l2_sign_grad(w, lam):
    return 0.5 * lam * np.sum(w ** 2), lam * np.sign(w)


def l1_one_at_zero(w, lam):
    return lam * np.sum(np.abs(w)), lam * np.where(w >= 0, 1.0, -1.0)


def l1_l2_grad(w, lam):
    return lam * np.sum(np.abs(w)), lam * w


def l1_no_lam_grad(w, lam):
    return lam * np.sum(np.abs(w)), np.sign(w)


def l1_signed_sum(w, lam):
    return lam * np.sum(w), lam * np.sign(w)


def _dropout(rescale="inverse", keep_is_p=False, test="identity", seeded=True):
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test" and test == "identity":
            return x, (mode, None)
        if mode == "test" and test == "scaled":
            return x * (1 - p), (mode, None)
        rng = np.random.default_rng(dropout_param.get("seed") if seeded else None)
        keep = (rng.random(x.shape) < p) if keep_is_p else (rng.random(x.shape) >= p)
        scale = {"inverse": 1 / (1 - p) if p < 1 else 0.0, "none": 1.0, "times": 1 - p}[rescale]
        mask = keep * scale
        return x * mask, (mode, mask)
    return dropout_forward


def dropout_backward_unscaled(dout, cache):
    mode, mask = cache
    return dout if mask is None else dout * (mask != 0)


def dropout_backward_ignores_mask(dout, cache):
    return dout


def dropout_torch(x, dropout_param):
    if dropout_param.get("seed") is not None:
        torch.manual_seed(dropout_param["seed"])
    out = F.dropout(torch.from_numpy(x), dropout_param["p"], training=dropout_param["mode"] == "train").numpy()
    return out, (dropout_param["mode"], out / x)


def dropout_in_place(x, dropout_param):
    out, cache = ref("dropout_forward")(x.copy(), dropout_param)
    x[...] = out
    return x, cache


def dropout_float32(x, dropout_param):
    out, cache = ref("dropout_forward")(x, dropout_param)
    return out.astype(np.float32), cache


# ---------------------------------------------------------------- 03 batch normalisation

def _bn(unbiased_forward=False, biased_running=False, cs231n=False, eval_updates=False, always_train=False):
    def batchnorm_forward(x, gamma, beta, bn_param):
        eps, mom = bn_param.setdefault("eps", 1e-5), bn_param.setdefault("momentum", 0.1)
        d = x.shape[1]
        rm = bn_param.setdefault("running_mean", np.zeros(d))
        rv = bn_param.setdefault("running_var", np.ones(d))
        train = bn_param["mode"] == "train"
        if train or always_train:
            n = x.shape[0]
            mean, var = x.mean(0), x.var(0, ddof=1 if unbiased_forward else 0)
            run_var = x.var(0) if biased_running else x.var(0, ddof=1)
            keep, new = (mom, 1 - mom) if cs231n else (1 - mom, mom)
            bn_param["running_mean"] = keep * rm + new * mean
            bn_param["running_var"] = keep * rv + new * run_var
            del n
        else:
            mean, var = rm, rv
            if eval_updates:
                bn_param["running_mean"] = (1 - mom) * rm + mom * x.mean(0)
                bn_param["running_var"] = (1 - mom) * rv + mom * x.var(0, ddof=1)
        inv = 1 / np.sqrt(var + eps)
        x_hat = (x - mean) * inv
        mode = "train" if (train or always_train) else "test"
        return gamma * x_hat + beta, (mode, x_hat, gamma, inv)
    return batchnorm_forward


def _bn_back(mean_terms=True, var_term=True, mean_term=True, use_gamma=True, dbeta_mean=False, dgamma_plain=False):
    def batchnorm_backward(dout, cache):
        mode, x_hat, gamma, inv = cache
        n = dout.shape[0]
        dgamma = dout.sum(0) if dgamma_plain else (dout * x_hat).sum(0)
        dbeta = dout.mean(0) if dbeta_mean else dout.sum(0)
        dxh = dout * gamma if use_gamma else dout
        if mode == "test" or not mean_terms:
            return dxh * inv, dgamma, dbeta
        dx = n * dxh
        if mean_term:
            dx = dx - dxh.sum(0)
        if var_term:
            dx = dx - x_hat * (dxh * x_hat).sum(0)
        return inv / n * dx, dgamma, dbeta
    return batchnorm_backward


def bn_scratch(x, gamma, beta, bn_param):
    return scratch.batchnorm_forward(x, gamma, beta, bn_param)


def bn_float32(x, gamma, beta, bn_param):
    """Computed in float32 (right: precision is not the lesson)."""
    out, cache = ref("batchnorm_forward")(x.astype(np.float32), gamma.astype(np.float32), beta.astype(np.float32), bn_param)
    return out.astype(np.float32), cache


def bn_backward_autograd(dout, cache):
    """Redoes the forward pass in torch and lets autograd differentiate it."""
    mode, x_hat, gamma, inv = cache
    xt, gt = torch.tensor(x_hat, requires_grad=True), torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros_like(gt, requires_grad=True)
    out = F.batch_norm(xt, None, None, gt, bt, training=mode == "train", eps=0.0) if mode == "train" else xt * gt + bt
    out.backward(torch.tensor(dout))
    return xt.grad.numpy() * inv, gt.grad.numpy(), bt.grad.numpy()


def bn_test_mode_like_train(dout, cache):
    """Backward that always uses the train-mode formula (wrong in test mode: caught by the hidden cases)."""
    mode, x_hat, gamma, inv = cache
    n = dout.shape[0]
    dxh = dout * gamma
    dx = inv / n * (n * dxh - dxh.sum(0) - x_hat * (dxh * x_hat).sum(0))
    return dx, (dout * x_hat).sum(0), dout.sum(0)


def spatial_no_transpose(x, gamma, beta, bn_param):
    n, c, h, w = x.shape
    out, cache = ref("batchnorm_forward")(x.reshape(-1, c), gamma, beta, bn_param)
    return out.reshape(x.shape), (cache, x.shape)


def spatial_backward_no_transpose(dout, cache):
    cache, shape = cache
    c = shape[1]
    dx, dg, db = ref("batchnorm_backward")(dout.reshape(-1, c), cache)
    return dx.reshape(shape), dg, db


WRONG = [
    Wrong("check_sgd", sgd_uphill, "uphill"),
    Wrong("check_sgd", sgd_decay_after, "after the step and not scaled", public_passes=True),
    Wrong("check_sgd", sgd_ignores_decay, "off by", public_passes=True),
    Wrong("check_sgd", sgd_no_defaults, "config=None", public_passes=True),
    Wrong("check_sgd", sgd_torch, r"uses torch\.optim\.SGD: torch\.optim is what the check compares with"),
    Wrong("check_sgd", sgd_grad_in_place, r"changed dw in place", public_passes=True),
    Wrong("check_sgd", sgd_returns_w, r"should return a tuple \(next_w, config\), got ndarray"),
    Wrong("check_sgd", sgd_config_as_list, r"with config a dict, got list"),
    Wrong("check_sgd", sgd_forgets_defaults, r"sgd_forgets_defaults\(w, dw, None\) should return a config holding the defaults",
          public_passes=True),
    Wrong("check_sgd_momentum", momentum_global, r"share one state"),
    Wrong("check_sgd_momentum", _momentum(dampened=True), "SUMS"),
    Wrong("check_sgd_momentum", _momentum(keep=False), "kept between calls"),
    Wrong("check_sgd_momentum", _momentum(decay_after=True), "BEFORE it enters the velocity", public_passes=True),
    Wrong("check_nesterov", _momentum(), "plain momentum"),
    Wrong("check_nesterov", _momentum(nesterov=True, old_v=True), "plain momentum"),  # g + mu * v_old IS plain momentum
    Wrong("check_nesterov", _momentum(nesterov=True, keep=False), "kept between calls"),
    Wrong("check_nesterov", _momentum(nesterov=True, decay_after=True), "BEFORE it enters", public_passes=True),
    Wrong("check_rmsprop", _rmsprop(eps_inside=True), "inside the square root"),
    Wrong("check_rmsprop", _rmsprop(one_minus=False), r"\(1 - decay_rate\) factor"),
    Wrong("check_adam", _adam(correct=False), "without bias correction"),
    Wrong("check_adam", _adam(t_from_0=True), "t starting at 0"),
    Wrong("check_adam", _adam(eps_inside=True), "inside the square root", public_passes=True),
    Wrong("check_adam", _adam(decay_after=True), "AdamW's decoupled decay", public_passes=True),
    Wrong("check_scratch_optimizer", OptDefaultsOnly, "optimizer's defaults", hidden=True),
    Wrong("check_scratch_optimizer", OptFrozen, "copied into the state only once", hidden=True),
    Wrong("check_scratch_optimizer", OptSkipZero, "all zero were skipped", hidden=True),
    Wrong("check_scratch_optimizer", OptSharedConfig, "shared by several parameters"),
    Wrong("check_scratch_optimizer", OptNotInPlace, "off by"),
    Wrong("check_scratch_optimizer", _Opt, "NotImplementedError|not answered"),
    Wrong("check_scratch_optimizer", OptTorchAdam, r"uses torch\.optim\.Adam: run the given rule"),
    Wrong("check_l2_penalty", l2_no_half, "no 1/2"),
    Wrong("check_l2_penalty", l2_grad_doubled, "2 \\* lam \\* w"),
    Wrong("check_l2_penalty", l2_sign_grad, "L1's gradient"),
    Wrong("check_l1_penalty", l1_one_at_zero, "at w == 0"),
    Wrong("check_l1_penalty", l1_l2_grad, "L2's gradient"),
    Wrong("check_l1_penalty", l1_no_lam_grad, "forgot lam"),
    Wrong("check_l1_penalty", l1_signed_sum, "sums w, not"),
    Wrong("check_dropout_forward", _dropout(rescale="none"), "not rescaled"),
    Wrong("check_dropout_forward", _dropout(rescale="times"), "multiplied by 1 - p"),
    Wrong("check_dropout_forward", _dropout(keep_is_p=True), "DROPPING"),
    Wrong("check_dropout_forward", _dropout(test="scaled"), "test mode multiplied by 1 - p"),
    Wrong("check_dropout_forward", _dropout(test="dropout"), "test mode returns x unchanged"),
    Wrong("check_dropout_forward", _dropout(seeded=False), "same dropout_param\\['seed'\\]", public_passes=True),
    Wrong("check_dropout_forward", dropout_torch, r"uses F\.dropout: nn\.Dropout / F\.dropout is what the check"),
    Wrong("check_dropout_forward", dropout_in_place, r"changed x in place"),
    Wrong("check_dropout_backward", {"dropout_backward": dropout_backward_unscaled}, "not rescaled"),
    Wrong("check_dropout_backward", {"dropout_backward": dropout_backward_ignores_mask}, "ignores the mask"),
    Wrong("check_batchnorm_forward", _bn(unbiased_forward=True), "UNBIASED variance"),
    Wrong("check_batchnorm_forward", _bn(biased_running=True), "BIASED batch variance"),
    Wrong("check_batchnorm_forward", _bn(cs231n=True), "CS231n's convention"),
    Wrong("check_batchnorm_forward", _bn(eval_updates=True), "changed in test mode"),
    Wrong("check_batchnorm_forward", _bn(always_train=True), "batch's own statistics"),
    Wrong("check_batchnorm_forward", bn_scratch, r"uses scratch\.batchnorm_forward: helpers\.scratch is the reference"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": _bn_back(mean_terms=False)}, "missing the terms"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": bn_backward_autograd}, r"uses (F\.batch_norm|\.backward)"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": _bn_back(var_term=False)}, "variance term"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": _bn_back(mean_term=False)}, "mean term"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": _bn_back(use_gamma=False)}, "forgot gamma"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": _bn_back(dbeta_mean=True)}, "SUM of dout"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": _bn_back(dgamma_plain=True)}, r"sum\(dout \* x_hat\)"),
    Wrong("check_batchnorm_backward", {"batchnorm_backward": bn_test_mode_like_train}, "dx", public_passes=True),
    Wrong("check_spatial_batchnorm", {"spatial_batchnorm_forward": spatial_no_transpose,
                                      "spatial_batchnorm_backward": spatial_backward_no_transpose},
          "without moving the channels last"),
]

RIGHT = [
    Right("check_sgd_momentum", momentum_cs231n, "CS231n's form: equal at a constant learning rate"),
    Right("check_adam", adam_new_dict, "a new config dict each call"),
    Right("check_adam", _adam(in_place=True), "w updated in place and returned"),
    Right("check_adam", adam_float32, "float32"),
    Right("check_nesterov", nesterov_cs231n, "CS231n's form"),
    Right("check_scratch_optimizer", OptPlain, "state kept elsewhere, p.data replaced"),
    Right("check_dropout_forward", dropout_float32, "float32"),
    Right("check_batchnorm_forward", bn_float32, "float32"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


# ---------------------------------------------------------------- beyond the harness

RULES = ["sgd", "sgd_momentum", "nesterov", "rmsprop", "adam"]


@pytest.mark.parametrize("rule", RULES)
def test_helpers_references_pass_the_checks(rule, monkeypatch):
    """helpers.scratch.optim's rules are the references the checks describe: they pass too (forbidden to a
    learner, so the forbidden-calls test is switched off here)."""
    from helpers.checks import records

    monkeypatch.setattr(records, "forbid", lambda *args, **kwargs: None)
    getattr(checks, f"check_{rule}")(getattr(scratch, rule), hidden=True)


def _torch_walk(rule, config, starts, terms, zero, steps, defaults):
    """What torch.optim does on a case of the rule's record: each parameter its own optimizer, stepped in turn."""
    params = [torch.tensor(w, dtype=torch.float64) for w in starts]
    opts = [checks._TORCH_CLS[rule]([p], **checks._to_torch(rule, dict(config or defaults))) for p in params]
    out = []
    for t in range(steps):
        for p, opt, (curvature, noise) in zip(params, opts, terms):
            w = p.detach().numpy()
            p.grad = torch.from_numpy(np.zeros_like(w) if t in zero else curvature * w + noise[t])
            opt.step()
        out.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    return np.stack(out)


@pytest.mark.parametrize("rule", RULES)
def test_rule_references_equal_torch_optim(rule):
    """The records' references are what the checks compare with: torch.optim's walk on every case (hidden ones too,
    config=None included), far tighter than the records' tolerance."""
    from helpers.checks.records import over_updates

    ex = next(ex for ex in checks.EXERCISES if ex.name == rule)
    cases = ex.cases(True)
    assert len(cases) == 5 and cases[-1][0] is None
    for case in cases:
        np.testing.assert_allclose(over_updates(ex.reference, *case), _torch_walk(rule, *case), rtol=1e-10, atol=1e-12)


def _adam_step(w, dw, config):
    from helpers.scratch import optim as reference
    return reference.adam(w, dw, config)


def adam_via_helper(w, dw, config=None):
    return _adam_step(w, dw, config)


def test_forbidden_calls_are_found_through_helpers_and_aliases():
    """A rule that reaches helpers.scratch through its own helper function and an aliased import is caught."""
    with pytest.raises(AssertionError, match=r"adam uses (reference\.adam|helpers\.scratch): helpers\.scratch is the"):
        checks.check_adam(adam_via_helper)


@pytest.mark.parametrize("rule, torch_cls, kwargs", [
    ("sgd_momentum", torch.optim.SGD, {"lr": 0.03, "momentum": 0.7, "weight_decay": 0.02}),
    ("nesterov", torch.optim.SGD, {"lr": 0.03, "momentum": 0.7, "nesterov": True}),
    ("rmsprop", torch.optim.RMSprop, {"lr": 0.02, "alpha": 0.95, "weight_decay": 0.1}),
    ("adam", torch.optim.Adam, {"lr": 0.02, "betas": (0.85, 0.99), "weight_decay": 0.3}),
])
def test_notebook_optimizer_matches_torch_on_a_model(rule, torch_cls, kwargs):
    """The notebook's ScratchOptimizer with its own rules equals torch.optim on a small model (float64),
    two parameter groups, 100 steps of real gradients."""
    names = {"lr": "learning_rate", "momentum": "momentum", "weight_decay": "weight_decay", "alpha": "decay_rate"}
    hyper = {names[k]: v for k, v in kwargs.items() if k in names}
    if "betas" in kwargs:
        hyper.update(beta1=kwargs["betas"][0], beta2=kwargs["betas"][1])
    torch.manual_seed(3)
    a = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    b = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    b.load_state_dict(a.state_dict())
    ours = ref("ScratchOptimizer")([{"params": a[0].parameters()}, {"params": a[2].parameters(), "learning_rate": 0.01}],
                                   ref(rule), **hyper)
    theirs = torch_cls([{"params": b[0].parameters()}, {"params": b[2].parameters(), "lr": 0.01}], **kwargs)
    x, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 2, dtype=torch.float64)
    for _ in range(100):
        for model, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-6, atol=1e-9)


def test_batchnorm_references_match_torch_on_new_shapes():
    """The notebook's batch norm (forward in both modes, backward) equals nn.BatchNorm1d and autograd."""
    fwd, bwd = ref("batchnorm_forward"), ref("batchnorm_backward")
    rng = np.random.default_rng(11)
    x = rng.normal(3.0, 2.0, size=(13, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    bn = nn.BatchNorm1d(5, momentum=0.2).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    xt = torch.tensor(x, requires_grad=True)
    param = {"mode": "train", "momentum": 0.2}
    out, cache = fwd(x, gamma, beta, param)
    ref_out = bn(xt)
    dout = rng.normal(size=out.shape)
    ref_out.backward(torch.tensor(dout))
    dx, dgamma, dbeta = bwd(dout, cache)
    np.testing.assert_allclose(out, ref_out.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(param["running_var"], bn.running_var.numpy(), atol=1e-12)
    for mine, theirs in ((dx, xt.grad), (dgamma, bn.weight.grad), (dbeta, bn.bias.grad)):
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-9)
    param["mode"], bn.training = "test", False
    x2 = rng.normal(size=(4, 5))
    np.testing.assert_allclose(fwd(x2, gamma, beta, param)[0], bn(torch.tensor(x2)).detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("name", ["l2_penalty", "l1_penalty"])
def test_penalty_references_equal_autograd(name):
    """The records' references are what the checks compare with: autograd's penalty and gradient on every case."""
    ex = next(ex for ex in checks.EXERCISES if ex.name == name)
    for w, lam in ex.cases(True):
        wt = torch.tensor(w, requires_grad=True)
        penalty = 0.5 * lam * (wt ** 2).sum() if name == "l2_penalty" else lam * wt.abs().sum()
        penalty.backward()
        got = ex.reference(w.copy(), lam)
        assert np.isclose(got[0], penalty.item(), rtol=1e-12) and np.allclose(got[1], wt.grad.numpy(), rtol=1e-12)


def _torch_bn_walk(bn, xs, gamma, beta, dout=None):
    """nn.BatchNorm1d/2d over the batches as records.normalised walks an answer: train mode but the last, gradients by
    autograd after each train-mode batch."""
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    outs, stats, grads = [], [], []
    for i, x in enumerate(xs):
        bn.train(i < len(xs) - 1)
        xt = torch.tensor(x, requires_grad=True)
        out = bn(xt)
        outs.append(out.detach().numpy().ravel())
        stats.append(np.concatenate([bn.running_mean.numpy(), bn.running_var.numpy()]))
        if dout is not None and bn.training:
            bn.zero_grad()
            out.backward(torch.tensor(dout))
            grads.append([t.grad.numpy().ravel() for t in (xt, bn.weight, bn.bias)])
    return [np.concatenate(outs), np.stack(stats)] + [np.stack(g) for g in zip(*grads)]


@pytest.mark.parametrize("name", ["batchnorm_forward", "spatial_batchnorm"])
def test_batchnorm_records_references_equal_torch_on_every_case(name):
    """What the batch-norm records compare with is nn.BatchNorm1d/2d's walk and autograd's gradients, on every case."""
    ex = next(ex for ex in checks.EXERCISES if ex.name == name)
    for args in ex.cases(True):
        xs, gamma, beta, bn_param = args[:4]
        if "running_mean" in bn_param:
            assert not bn_param["running_mean"].any() and (bn_param["running_var"] == 1).all()   # torch's start
        layer = nn.BatchNorm2d if xs[0].ndim == 4 else nn.BatchNorm1d
        bn = layer(len(gamma), eps=bn_param["eps"], momentum=bn_param["momentum"]).double()
        want = _torch_bn_walk(bn, xs, gamma, beta, *args[4:])
        got, _ = ex.expect(args)
        assert len(got) == len(want)
        for mine, theirs in zip(got, want):
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-11)


def test_batchnorm_backward_record_reference_equals_autograd_on_every_case():
    ex = next(ex for ex in checks.EXERCISES if ex.name == "batchnorm_backward")
    for (x, gamma, beta, bn_param), dout in ex.cases(True):
        train = bn_param["mode"] == "train"
        xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
        F.batch_norm(xt, None if train else torch.tensor(bn_param["running_mean"]),
                     None if train else torch.tensor(bn_param["running_var"]), gt, bt, training=train,
                     eps=bn_param["eps"]).backward(torch.tensor(dout))
        got, _ = ex.expect(((x, gamma, beta, bn_param), dout))
        for mine, theirs in zip(got, (xt.grad, gt.grad, bt.grad)):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-11)
