"""Week 1's graded checks, each tested three ways through the shared harness (tests/checks_harness.py).

1. The reference solution (the solution cell of the week-1 notebook itself) passes, public and hidden.
2. The released stub (the solution region replaced by ``raise NotImplementedError()``, as nbgrader
   does) fails with "not answered".
3. Typical wrong answers fail, and the message names the mistake; other right answers pass.

Plus the notebooks' grading structure: every exercise is followed by a locked, autograded test cell
worth 1-2 points that calls its check both publicly and inside the hidden-tests block.
"""
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch

from checks_harness import Right, Week, Wrong, make_tests
from helpers import scratch
from helpers.checks import week1 as checks



# check name -> (notebook, names of the functions it takes; the last one is the graded exercise)
CHECKS = {
    "check_mse": ("01", ["mse"]),
    "check_mse_grad": ("01", ["mse_grad"]),
    "check_gd_step": ("01", ["gd_step"]),
    "check_r2_score": ("01", ["r2_score"]),
    "check_train_val_split": ("02", ["train_val_split"]),
    "check_impute_median": ("02", ["impute_median"]),
    "check_one_hot": ("02", ["one_hot"]),
    "check_standardize": ("02", ["standardize"]),
    "check_min_max_scale": ("02", ["min_max_scale"]),
    "check_sigmoid": ("03", ["sigmoid"]),
    "check_bce_with_logits": ("03", ["bce_with_logits"]),
    "check_linear_forward": ("03", ["linear_forward"]),
    "check_linear_backward": ("03", ["linear_forward", "linear_backward"]),
    "check_relu_forward": ("03", ["relu_forward"]),
    "check_relu_backward": ("03", ["relu_forward", "relu_backward"]),
    "check_two_layer_loss": ("03", ["two_layer_loss"]),
    "check_softmax": ("04", ["softmax"]),
    "check_cross_entropy": ("04", ["cross_entropy"]),
    "check_train_epoch": ("04", ["train_epoch"]),
    "check_numeric_gradient": ("05", ["numeric_gradient"]),
    "check_rel_error": ("05", ["rel_error"]),
    "check_nll_loss": ("06", ["nll_loss"]),
    "check_mlp_forward": ("06", ["forward"]),
    "check_sgd_update": ("06", ["sgd_update"]),
}


WEEK = Week("week1", checks, CHECKS, base={"np": np, "pd": pd, "torch": torch, "scratch": scratch},
            pattern="0[1-6]_*.ipynb")
NOTEBOOKS = WEEK.notebooks
REFERENCE = WEEK.reference


# --- 3. typical wrong answers fail with their hint ---------------------------------------

def _ref(nb, fn):
    return REFERENCE[nb][fn]


def _sigmoid_naive(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax_naive(s):
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _softmax_columns(s):
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _softmax_global_max(s):
    e = np.exp(s - s.max())
    return e / e.sum(axis=1, keepdims=True)


def _ce_log_of_softmax(s, y):
    p = _softmax_global_max(s)
    n = len(y)
    d = p.copy()
    d[np.arange(n), y] -= 1
    return -np.log(p[np.arange(n), y]).mean(), d / n


def _ce_global_max(s, y):
    shifted = s - s.max()
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    d = np.exp(log_p)
    d[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), d / n


def _ce_sum(s, y):
    loss, d = scratch.softmax_cross_entropy(s, y)
    return loss * len(y), d * len(y)


def _ce_no_mean_grad(s, y):
    loss, d = scratch.softmax_cross_entropy(s, y)
    return loss, d * len(y)


def _bce_naive(z, y):
    p = _sigmoid_naive(z)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), (p - y) / len(z)


def _bce_sum(z, y):
    loss, dz = scratch.bce_with_logits_loss(z, y)
    return loss * len(z), dz * len(z)


def _bce_no_mean_grad(z, y):
    loss, dz = scratch.bce_with_logits_loss(z, y)
    return loss, dz * len(z)


def _gd_in_place(w, b, dw, db, lr):
    w -= lr * dw
    return w, b - lr * db


def _split_unshuffled(X, y, val_fraction=0.2, seed=0):
    n_val = int(round(val_fraction * len(X)))
    return X[n_val:], X[:n_val], y[n_val:], y[:n_val]


def _split_two_permutations(X, y, val_fraction=0.2, seed=0):
    rng = np.random.default_rng(seed)
    n_val = int(round(val_fraction * len(X)))
    ox, oy = rng.permutation(len(X)), rng.permutation(len(X))
    return X[ox[n_val:]], X[ox[:n_val]], y[oy[n_val:]], y[oy[:n_val]]


def _split_global_rng(X, y, val_fraction=0.2, seed=0):
    order = np.random.permutation(len(X))
    n_val = int(round(val_fraction * len(X)))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]


def _split_in_place(X, y, val_fraction=0.2, seed=0):
    order = np.random.default_rng(seed).permutation(len(X))
    X[:], y[:] = X[order], y[order]
    n_val = int(round(val_fraction * len(X)))
    return X[n_val:].copy(), X[:n_val].copy(), y[n_val:].copy(), y[:n_val].copy()


def _impute_in_place(frame, reference=None):
    frame.fillna((frame if reference is None else reference).median(numeric_only=True), inplace=True)
    return frame


def _standardize_global(train, other):
    return (train - train.mean()) / train.std(), (other - train.mean()) / train.std()


def _standardize_leaky(train, other):
    return (train - train.mean(0)) / train.std(0), (other - other.mean(0)) / other.std(0)


def _standardize_unguarded(train, other):
    with np.errstate(all="ignore"):
        return (train - train.mean(0)) / train.std(0), (other - train.mean(0)) / train.std(0)


def _relu_in_place(x):
    x[x < 0] = 0
    return x, x


def _two_layer_without_relu_backward(params, X, y):
    ns = REFERENCE["03"]
    h, c1 = ns["linear_forward"](X, params["W1"], params["b1"])
    a, _ = ns["relu_forward"](h)
    z, c2 = ns["linear_forward"](a, params["W2"], params["b2"])
    loss, dz = ns["bce_with_logits"](z[:, 0], y)
    da, dW2, db2 = ns["linear_backward"](dz[:, None], c2)
    _, dW1, db1 = ns["linear_backward"](da, c1)  # skipped relu_backward
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _epoch(shuffle=True, drop_last=False, update=True, result="mean", evaluate=False):
    def train_epoch(net, X, y, lr, batch_size, rng):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        losses, sizes = [], []
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            if drop_last and len(idx) < batch_size:
                break
            loss, grads = net.loss(X[idx], y[idx])
            if update:
                scratch.sgd_step(net.params, grads, lr)
            losses.append(loss)
            sizes.append(len(idx))
        if evaluate:                 # the whole set's loss after the epoch, printed, not returned
            print(f"loss on every row after the epoch: {net.loss(X, y)[0]:.3f}")
        return {"last": losses[-1], "sum": float(np.sum(losses)),
                "weighted": np.average(losses, weights=sizes)}.get(result, float(np.mean(losses)))
    return train_epoch


def _numgrad(forward_diff=False, restore=True, denominator=2.0):
    def numeric_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        base = f(x) if forward_diff else None
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            plus = f(x)
            if forward_diff:
                grad[i] = (plus - base) / h
            else:
                x[i] = old - h
                grad[i] = (plus - f(x)) / (denominator * h)
            if restore:
                x[i] = old
        return grad
    return numeric_gradient


def _numgrad_copy(restore=True):
    """A copy-based numeric gradient: f only ever sees a copy of x (one entry nudged)."""
    def numeric_gradient(f, x, h=1e-5):
        probe, grad = x.astype(float).copy(), np.zeros_like(x, dtype=float)
        for i in np.ndindex(x.shape):
            old = probe[i]
            probe[i] = old + h
            plus = f(probe)
            probe[i] = old - h
            grad[i] = (plus - f(probe)) / (2 * h)
            if restore:
                probe[i] = old
        return grad
    return numeric_gradient


def _split_int(X, y, val_fraction=0.2, seed=0):
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = int(val_fraction * len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]


def _relu_back_in_place(dout, cache):
    dout[cache <= 0] = 0
    return dout


def _softmax_in_place(s):
    s -= s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _ce_in_place(s, y):
    s -= s.max(axis=1, keepdims=True)
    return scratch.softmax_cross_entropy(s, y)


def _two_layer_updates_params(params, X, y):
    loss, grads = _ref("03", "two_layer_loss")(params, X, y)
    for k in params:
        params[k] -= 0.1 * grads[k]
    return loss, grads


def _standardize_other_in_place(train, other):
    mean, std = train.mean(0), np.where(train.std(0) == 0, 1.0, train.std(0))
    other -= mean
    other /= std
    return (train - mean) / std, other


def _min_max_other_in_place(train, other):
    lo, span = train.min(0), np.where(np.ptp(train, 0) == 0, 1.0, np.ptp(train, 0))
    other -= lo
    other /= span
    return (train - lo) / span, other


def _rel_no_floor(a, b):
    with np.errstate(all="ignore"):
        return np.max(np.abs(a - b) / (np.abs(a) + np.abs(b)))


def _nll_column_index(log_probs, y):
    return -log_probs[:, y].mean()


def _sgd_no_zero(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad


def _sgd_without_no_grad(params, lr):
    for p in params:
        p -= lr * p.grad
        p.grad.zero_()


def _sgd_rebinding(params, lr):
    for p in params:
        p = p - lr * p.grad  # noqa: F841 (the mistake: only the loop variable changes)


def _mlp_no_relu(x, params):
    W1, b1, W2, b2 = params
    return (x @ W1 + b1) @ W2 + b2


def _mlp_log_softmax(x, params):
    return torch.log_softmax(_ref("06", "forward")(x, params), dim=1)


_ROWS = [
    # (check, wrong answer (replaces the graded function), hidden?, hint regex)
    ("check_mse", lambda p, y: float(np.sum((p - y) ** 2)), False, "average over the batch"),
    ("check_mse", lambda p, y: float(np.mean(np.abs(p - y))), False, "square the errors"),
    ("check_mse", lambda p, y: float(np.sqrt(np.mean((p - y) ** 2))), False, "RMSE"),
    ("check_mse_grad", lambda X, y, w, b: (X.T @ (X @ w + b - y) / len(y), float(np.mean(X @ w + b - y))), False, "factor 2"),
    ("check_mse_grad", lambda X, y, w, b: (2 * X.T @ (y - X @ w - b) / len(y), 2 * float(np.mean(y - X @ w - b))), False, "sign"),
    ("check_mse_grad", lambda X, y, w, b: (2 * X.T @ (X @ w + b - y), 2 * float(np.sum(X @ w + b - y))), False, "divide by N"),
    ("check_gd_step", lambda w, b, dw, db, lr: (w + lr * dw, b + lr * db), False, "AGAINST the gradient"),
    ("check_gd_step", _gd_in_place, False, "in place"),
    ("check_gd_step", lambda w, b, dw, db, lr: (w - dw, b - db), False, "learning rate"),
    ("check_r2_score", lambda y, p: float(np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)), False, "unexplained fraction"),
    ("check_r2_score", lambda y, p: max(0.0, 1 - float(np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))), True, "don't clip"),
    ("check_train_val_split", _split_unshuffled, False, "shuffle before splitting"),
    ("check_train_val_split", _split_two_permutations, False, "SAME permutation"),
    ("check_train_val_split", _split_global_rng, False, "same seed must give the same split"),
    ("check_train_val_split", _split_in_place, False, "in place"),
    ("check_impute_median", lambda f, reference=None: f.fillna((f if reference is None else reference).mean(numeric_only=True)),
     False, "use the median, not the mean"),
    ("check_impute_median", lambda f, reference=None: f.fillna(f.median(numeric_only=True)), False, "use ITS medians"),
    ("check_impute_median", _impute_in_place, False, "changed the DataFrame passed in"),
    ("check_impute_median", lambda f, reference=None: f.fillna((f if reference is None else reference).median()),
     True, "numeric_only=True"),
    ("check_one_hot", lambda v, c: (np.asarray(v)[:, None] == np.sort(np.asarray(c))[None, :]).astype(float), False,
     "order of `categories`"),
    ("check_one_hot", lambda v, c: (np.asarray(v)[:, None] == np.array([k for k in c if k in set(v)])[None, :]).astype(float),
     True, "every category gets a column"),
    ("check_standardize", _standardize_leaky, False, "TRAINING mean and std"),
    ("check_standardize", _standardize_global, False, r"per column \(axis=0\)"),
    ("check_standardize", _standardize_unguarded, True, "divided by 1"),
    ("check_min_max_scale", lambda t, o: (t / t.max(0), o / t.max(0)), False, r"range \(max - min\)"),
    ("check_min_max_scale", lambda t, o: ((t - t.min(0)) / np.ptp(t, 0), (o - o.min(0)) / np.ptp(o, 0)), False,
     "TRAINING min and max"),
    ("check_sigmoid", _sigmoid_naive, False, "np.where evaluates BOTH branches"),
    ("check_sigmoid", lambda z: scratch.sigmoid(-z), False, "sign"),
    ("check_bce_with_logits", _bce_naive, False, r"instead of log\(sigmoid\(z\)\)"),
    ("check_bce_with_logits", _bce_sum, False, "average over the batch, not sum"),
    ("check_bce_with_logits", _bce_no_mean_grad, False, "1/N"),
    ("check_linear_forward", lambda x, w, b: (x @ w, (x, w)), False, "add the bias"),
    ("check_linear_forward", lambda x, w, b: (w.T @ x + b, (x, w)), False, "raised ValueError"),
    ("check_linear_backward", lambda d, c: (d @ c[1].T, c[0].T @ d, d.mean(0)), False, "sums dout over the batch"),
    ("check_linear_backward", lambda d, c: (d @ c[1].T, c[0].T @ d / len(d), d.sum(0)), False, "no 1/N"),
    ("check_linear_backward", lambda d, c: (d @ c[1].T, c[0].T @ d, d), False, "one entry per output unit"),
    ("check_linear_backward", lambda d, c: (d @ c[1], c[0].T @ d, d.sum(0)), False, "raised ValueError"),
    ("check_relu_forward", _relu_in_place, False, "in place"),
    ("check_relu_forward", lambda x: (np.minimum(x, 0), x), False, "POSITIVE part"),
    ("check_relu_backward", lambda d, x: (x > 0).astype(float), False, "incoming gradient dout"),
    ("check_relu_backward", lambda d, x: d * (x >= 0), True, "at x == 0"),
    ("check_two_layer_loss", _two_layer_without_relu_backward, False, "relu_backward"),
    ("check_two_layer_loss", lambda p, X, y: (_ref("03", "two_layer_loss")(p, X, y)[0], []), False,
     "grads should be a dict with keys"),
    ("check_softmax", _softmax_naive, False, "overflow.*subtract each row's own max"),
    ("check_softmax", _softmax_columns, False, r"each row \(axis=1\)"),
    ("check_softmax", _softmax_global_max, False, "invalid value.*subtract each row's own max"),
    ("check_cross_entropy", _ce_global_max, False, "floating-point error.*with the row max"),
    ("check_cross_entropy", _ce_log_of_softmax, False, r"never np.log\(softmax\(s\)\)"),
    ("check_cross_entropy", _ce_sum, False, "average over the batch, not sum"),
    ("check_cross_entropy", _ce_no_mean_grad, False, "1/N"),
    ("check_train_epoch", _epoch(shuffle=False), False, "shuffle every epoch"),
    ("check_train_epoch", _epoch(drop_last=True), False, "don't drop the last"),
    ("check_train_epoch", _epoch(update=False), False, "did not change"),
    ("check_train_epoch", _epoch(result="last"), False, "LAST batch"),
    ("check_train_epoch", _epoch(result="sum"), False, "SUM of the batch losses"),
    ("check_numeric_gradient", _numgrad(forward_diff=True), False, "CENTRAL difference"),
    ("check_numeric_gradient", _numgrad(restore=False), False, "restore x"),
    ("check_numeric_gradient", _numgrad(denominator=1.0), False, "divide by 2h"),
    ("check_numeric_gradient", lambda f, x, h=1e-5: _numgrad()(f, x), False, "step h you are given"),
    ("check_rel_error", lambda a, b: float(np.max(np.abs(a - b))), False, r"divide by \|a\| \+ \|b\|"),
    ("check_rel_error", lambda a, b: float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))), False, "WORST"),
    ("check_rel_error", _rel_no_floor, True, "guard the denominator"),
    ("check_nll_loss", _nll_column_index, False, r"torch.arange\(N\)"),
    ("check_nll_loss", lambda lp, y: -lp[torch.arange(len(y)), y].mean().item(), False, "return a torch tensor"),
    ("check_nll_loss", lambda lp, y: lp[torch.arange(len(y)), y].mean(), False, "NEGATIVE"),
    ("check_mlp_forward", _mlp_no_relu, False, "apply the ReLU"),
    ("check_mlp_forward", _mlp_log_softmax, False, "raw scores"),
    ("check_sgd_update", _sgd_no_zero, False, "zero the gradients"),
    ("check_sgd_update", _sgd_without_no_grad, False, "torch.no_grad"),
    ("check_sgd_update", _sgd_rebinding, False, "did not change"),
]


WRONG = [Wrong(c, f, h, hidden=hd) for c, f, hd, h in _ROWS] + [
    Wrong("check_rel_error", lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a + b)))),
          r"not \|a \+ b\|"),
    Wrong("check_rel_error", lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b)))))
          , r"not max\(\|a\|, \|b\|\)"),
    Wrong("check_train_val_split", _split_int, r"int\(\) truncates"),
    Wrong("check_relu_backward", _relu_back_in_place, "changed `dout` in place"),
    Wrong("check_softmax", _softmax_in_place, "changed the scores in place"),
    Wrong("check_cross_entropy", _ce_in_place, "changed the scores in place"),
    Wrong("check_two_layer_loss", _two_layer_updates_params, r"changed params\["),
    Wrong("check_standardize", _standardize_other_in_place, "changed `other` in place"),
    Wrong("check_min_max_scale", _min_max_other_in_place, "changed `other` in place"),
    Wrong("check_numeric_gradient", _numgrad_copy(restore=False), "off by"),
    Wrong("check_numeric_gradient", _numgrad_copy(restore=False), "off by", hidden=True),
]

RIGHT = [
    Right("check_train_epoch", _epoch(result="weighted"), "the batch losses' mean weighted by batch size: right too"),
    Right("check_train_epoch", _epoch(result="weighted", evaluate=True), "the weighted mean, and net.loss once more "
                                                                         "after the epoch"),
    Right("check_numeric_gradient", _numgrad_copy(), "probes a copy of x: the contract allows it"),
    Right("check_numeric_gradient", _numgrad(), "probes x in place and restores it"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


def test_checks_leave_the_global_random_state_alone():
    np.random.seed(123)
    torch.manual_seed(123)
    expected_np, expected_torch = np.random.rand(), torch.rand(1).item()
    np.random.seed(123)
    torch.manual_seed(123)
    checks.check_train_val_split(_split_global_rng_ok, hidden=True)
    checks.check_train_epoch(_ref("04", "train_epoch"), hidden=True)
    assert np.random.rand() == expected_np and torch.rand(1).item() == expected_torch


def _split_global_rng_ok(X, y, val_fraction=0.2, seed=0):
    np.random.rand(5)  # a student function that touches the global state must not shift later cells
    return _ref("02", "train_val_split")(X, y, val_fraction, seed)


# --- the notebooks' grading structure ---------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_each_exercise_is_followed_by_a_locked_graded_test_cell(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    solutions = [i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions, f"{path.name} has no exercises"
    for i in solutions:
        test = cells[i + 1]
        meta = test.metadata.get("nbgrader", {})
        assert meta.get("grade") and meta.get("locked") and not meta.get("solution"), \
            f"{path.name}: the cell after {cells[i].metadata.nbgrader.grade_id} must be a locked autograded test"
        assert meta.get("points") in (1, 2), f"{meta.get('grade_id')}: 1-2 points per test cell"
        src = test.source
        calls = re.findall(r"checks\.(check_\w+)\(", src)
        assert calls and all(c in CHECKS for c in calls), f"{meta['grade_id']} must call a week-1 check"
        hidden = src.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        assert "hidden=True" in hidden, f"{meta['grade_id']}: the hidden block must run the hidden cases"
        assert "### BEGIN SOLUTION" in cells[i].source and "### END SOLUTION" in cells[i].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_starts_with_setup_and_reports_metrics(path):
    code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert "cfg = config.setup()" in code[0]
    assert any("config.report(" in src for src in code[-3:])


@pytest.mark.parametrize("style", ["in place", "copy"])
def test_gradient_check_cell_works_for_either_numeric_gradient_style(style):
    """week1/05's whole-network gradient check (the cell after the loss table) must accept a correct
    numeric_gradient whichever way it probes: the contract is that f depends only on its argument."""
    nb = nbformat.read(WEEK.notebooks[4], as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "loss_of(net, name)" in c.source)
    numeric_gradient = _numgrad() if style == "in place" else _numgrad_copy()
    ns = {"np": np, "pd": pd, "scratch": scratch, "rng": np.random.default_rng(0), "rows": [],
          "cfg": type("Cfg", (), {"seed": 0}), "numeric_gradient": numeric_gradient,
          "rel_error": REFERENCE["05"]["rel_error"]}
    exec(compile(cell.source, "05:whole-network check", "exec"), ns)
    errors = [row[2] for row in ns["rows"]]
    assert len(errors) == 8 and max(errors) < 1e-7, errors


def _record(name):
    return next(ex for ex in checks.EXERCISES if ex.name == name)


def test_two_layer_record_reference_is_the_course_network_on_every_case():
    """two_layer_loss's record compares with scratch.TwoLayerNet's loss and gradients, on every case."""
    ex = _record("two_layer_loss")
    for params, X, y in ex.cases(True):
        net = scratch.TwoLayerNet(params["W1"].shape[0], params["W1"].shape[1], 1)
        net.params = {k: v.copy() for k, v in params.items()}
        loss, grads = net.loss(X, y)
        got, _ = ex.expect((params, X, y))
        np.testing.assert_allclose(got[0], loss, rtol=1e-12)
        for k, g in zip(params, got[1:]):
            np.testing.assert_allclose(g, grads[k], rtol=1e-12, atol=1e-15)


def test_nll_and_mlp_record_references_are_torch_on_every_case():
    """nll_loss's record compares with F.nll_loss and its autograd gradient; mlp_forward's with the course network's
    scores (nn.Linear -> ReLU -> nn.Linear in the [W1, b1, W2, b2] layout)."""
    ex = _record("nll_loss")
    for log_probs, y in ex.cases(True):
        lp = torch.tensor(log_probs, requires_grad=True)
        loss = torch.nn.functional.nll_loss(lp, torch.tensor(y))
        loss.backward()
        got, _ = ex.expect((log_probs, y))
        torch.testing.assert_close(got[0], loss.detach())
        torch.testing.assert_close(got[1], lp.grad)
    ex = _record("mlp_forward")
    for x, params in ex.cases(True):
        W1, b1, W2, b2 = params
        net = scratch.TwoLayerNet(W1.shape[0], W1.shape[1], W2.shape[1])
        net.params = {k: a.copy() for k, a in zip(("W1", "b1", "W2", "b2"), params)}
        got, _ = ex.expect((x, params))
        np.testing.assert_allclose(got.numpy(), net.scores(x), rtol=1e-12)


def test_the_impute_record_fills_each_numeric_gap_with_its_columns_median():
    """impute_median's record against medians taken by hand with np.nanmedian, column by column, on every case; the
    text column of the last hidden case is left out of the result and of the medians."""
    ex = _record("impute_median")
    for frame, reference in ex.cases(True):
        source = frame if reference is None else reference
        numeric = [k for k, v in frame.items() if all(isinstance(x, float) for x in v)]
        want = np.column_stack([np.where(np.isnan(frame[k]), np.nanmedian(source[k]), frame[k]) for k in numeric])
        got, _ = ex.expect((frame, reference))
        np.testing.assert_array_equal(got, want)
