"""Checks for week 1's graded exercises: neural networks from scratch in NumPy, then PyTorch.

Grouped by notebook (01 linear regression … 06 NumPy to PyTorch). Each
``check_<exercise>(student_fn, hidden=False)`` runs the student's function on fixed inputs,
compares with values computed here (with ``helpers.scratch``, itself tested against torch
autograd) and fails with an ``AssertionError`` naming the likely mistake. When an answer
matches a known wrong variant (a sum instead of a mean, a missing 1/N, the wrong sign …)
the message names that mistake. ``hidden=True`` adds the cases the locked cell hides:
random inputs, other shapes, extreme values.

The exercises at the end of the module (``EXERCISES``) are written as records
(:mod:`helpers.checks.records`): the mentee edition judges them against fixtures, without their references. A
check left procedural says why in a comment above it.

Every check leaves the global random state (NumPy and torch) as it found it, so a
notebook's later cells print the same numbers whether or not the hidden tests ran.
"""
from __future__ import annotations

import functools

import numpy as np

from .core import as_array, call, compare, expect, isolated, returns_tuple, unchanged
from .records import Exercise, checks_of, filled, forward_backward, keeps_graph, loss_and_grad, one_epoch, with_grads
from .. import scratch


# --------------------------------------------------------------------------------------------
# 01 · linear regression: MSE, its gradient, a gradient-descent step, R²
# --------------------------------------------------------------------------------------------

def _linreg_case(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d), float(rng.normal())


def _mse_cases(hidden):
    cases = [(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 5.0, 8.0]))]  # errors 0, 1, 2, 4 -> 21 / 4
    if hidden:
        rng = np.random.default_rng(11)
        cases += [(rng.normal(size=50), rng.normal(size=50)), (rng.normal(size=(20, 1)), rng.normal(size=(20, 1))),
                  (np.array([2.5]), np.array([2.5]))]
    return cases


def _mse_grad(X, y, w, b):
    r = X @ w + b - y
    return 2 / len(y) * X.T @ r, 2 / len(y) * r.sum()


def _gd_cases(hidden):
    cases = [(np.array([1.0, -2.0]), 0.5, np.array([0.5, 4.0]), -1.0, 0.1)]
    if hidden:
        rng = np.random.default_rng(5)
        cases += [(rng.normal(size=7), float(rng.normal()), rng.normal(size=7), float(rng.normal()), 0.03),
                  (np.zeros(3), 0.0, np.ones(3), 2.0, 1.0)]
    return cases


def _r2_cases(hidden):
    y = np.array([3.0, -0.5, 2.0, 7.0])
    cases = [(y, np.array([2.5, 0.0, 2.0, 8.0]))]  # 1 - 1.5 / 29.1875 = 0.9486...
    if hidden:
        rng = np.random.default_rng(8)
        yr = rng.normal(size=40)
        cases += [(yr, yr + 0.3 * rng.normal(size=40)), (yr, yr.copy()), (yr, np.full(40, yr.mean())),
                  (y, np.array([7.0, 2.0, -0.5, 3.0]))]  # worse than the mean: negative
    return cases


def _rel_cases(hidden):
    cases = [(np.array([1.0, 2.0, -3.0]), np.array([1.1, 2.0, -3.0])), (np.array([1e-3, 5.0]), np.array([1e-3 + 1e-9, 5.0])),
             (np.array([1.0, -2.0, 0.5]), np.array([-1.0, -2.0, 0.4]))]  # opposite signs: |a - b| / (|a| + |b|) = 1
    if hidden:
        rng = np.random.default_rng(17)
        a = rng.normal(size=(4, 5))
        cases += [(np.array([[3.0, -1e-4], [2.0, 0.0]]), np.array([[-3.0, 1e-4], [2.5, 0.0]])),
                  (a, a + 1e-6 * rng.normal(size=(4, 5))), (np.zeros(3), np.zeros(3)), (a, a.copy()),
                  (np.array([1e-10, 1.0]), np.array([-1e-10, 1.0]))]
    return cases


def _ss(y, pred):
    return np.sum((y - pred) ** 2), np.sum((y - y.mean()) ** 2)




# --------------------------------------------------------------------------------------------
# 02 · data handling: imputation, one-hot, scaling, splitting
# --------------------------------------------------------------------------------------------

IMPUTE_HINT = ("replace each numeric column's NaNs by the median of that column in `reference` "
               "(the frame itself when reference is None), computed over the values present; a text column has no "
               "median: leave it out (numeric_only=True)")


def _impute_cases(hidden):
    """(frame, reference) as columns (dicts of lists, records.filled makes the DataFrames: week 1's fixtures need no
    pandas); reference None: the frame's own medians."""
    nan = np.nan
    base = {"a": [1.0, nan, 3.0, 100.0], "b": [nan, 2.0, 2.0, 5.0], "c": [1.0, 2.0, 3.0, 4.0]}
    ref = {"a": [10.0, 20.0, 30.0, nan, 1000.0], "b": [0.0, 1.0, 1.0, 1.0, 9.0], "c": [0.0] * 5}
    cases = [(base, None), (base, ref)]
    if hidden:
        rng = np.random.default_rng(2)
        vals = rng.exponential(size=(30, 3))
        vals[rng.random((30, 3)) < 0.2] = nan
        other = rng.exponential(size=(12, 3))
        other[rng.random((12, 3)) < 0.3] = nan

        def columns(a):
            return {k: a[:, i].tolist() for i, k in enumerate("xyz")}
        cases += [(columns(vals), None), (columns(other), columns(vals)),
                  ({"num": [nan, 1.0, 4.0], "kind": ["p", "q", "p"]}, None)]
    return cases


def _source(frame, reference):
    return (frame if reference is None else reference).select_dtypes("number")


IMPUTE_MISTAKES = {   # why -> the wrong impute_median; one equal to the right answer on a case never fires there
    "when `reference` is given, use ITS medians (the training rows), not those of the frame being filled":
        lambda frame, reference=None: frame.fillna(frame.median(numeric_only=True)),
    "use the median, not the mean: the median is not dragged by outliers (see column 'a': 1, 3, 100)":
        lambda frame, reference=None: frame.fillna(_source(frame, reference).mean()),
    "fill with the column's median, not 0": lambda frame, reference=None: frame.fillna(0.0),
    "compute one median per column, not one for the whole table":
        lambda frame, reference=None: frame.fillna(float(np.nanmedian(_source(frame, reference).to_numpy()))),
}


def _scaling_cases(hidden, seed):
    rng = np.random.default_rng(seed)
    train = np.array([[1.0, 200.0], [3.0, 100.0], [5.0, 300.0], [7.0, 400.0]])
    other = np.array([[4.0, 250.0], [9.0, 50.0]])
    cases = [(train, other)]
    if hidden:
        t = rng.normal(loc=[0, 50, -3], scale=[1, 20, 0.1], size=(25, 3))
        o = rng.normal(loc=[1, 40, -3], scale=[2, 10, 0.3], size=(7, 3))
        const = np.column_stack([t[:, 0], np.full(25, 4.0)])  # a constant column
        cases += [(t, o), (const, np.column_stack([o[:, 0], np.array([4.0, 5, 3, 4, 4, 4, 4])]))]
    return cases


def _scaled(train, other, center, spread):
    """(train, other) scaled with the TRAINING columns' center and spread; a spread of 0 divides by 1."""
    c, d = center(train), spread(train)
    d = np.where(d == 0, 1.0, d)
    return (train - c) / d, (other - c) / d


def _std(train, other, ddof=0):
    return _scaled(train, other, lambda a: a.mean(0), lambda a: a.std(0, ddof=ddof))


def _minmax(train, other):
    return _scaled(train, other, lambda a: a.min(0), lambda a: np.ptp(a, 0))


SPLIT_HINT = ("shuffle the row indices with np.random.default_rng(seed).permutation(N), "
              "put round(val_fraction * N) of them in the validation set and the rest in the training set")


# procedural: statistical, many right splits (any seeded permutation): judged by what a split must be, not one value
@isolated
def check_train_val_split(train_val_split, hidden: bool = False) -> None:
    cases = [(20, 0.25, 0), (13, 0.3, 1)]  # 0.3 * 13 = 3.9: round gives 4 validation rows, int() would give 3
    if hidden:
        cases += [(101, 0.2, 7), (10, 0.5, 3), (11, 0.25, 2)]
    for n, frac, seed in cases:
        X = np.column_stack([np.arange(n, dtype=float), np.arange(n) ** 2.0])  # column 0: the row id
        y = 10.0 * np.arange(n)                                                 # y tells which row it came from
        X_in, y_in = X.copy(), y.copy()
        got = returns_tuple(call(train_val_split, X_in, y_in, frac, seed, hint=SPLIT_HINT), 4,
                     "(X_train, X_val, y_train, y_val)", train_val_split)
        unchanged(X, X_in, "train_val_split shuffled X in place: index with a permutation instead (X[order])")
        unchanged(y, y_in, "train_val_split shuffled y in place: index with a permutation instead (y[order])")
        X_tr, X_va, y_tr, y_va = (as_array(a, name) for a, name in zip(got, ("X_train", "X_val", "y_train", "y_val")))
        n_val = int(round(frac * n))
        expect(not (len(X_va) == int(frac * n) != n_val), f"with N = {n} and val_fraction = {frac} the validation "
               f"set should hold round({frac} * {n}) = {n_val} rows, got {len(X_va)}: int() truncates "
               f"{frac * n:.2f} down, use round()")
        expect(X_va.shape == (n_val, 2) and X_tr.shape == (n - n_val, 2),
               f"with N = {n} and val_fraction = {frac}, expected X_val of shape {(n_val, 2)} and X_train of shape "
               f"{(n - n_val, 2)}, got {X_va.shape} and {X_tr.shape}")
        expect(y_va.shape == (n_val,) and y_tr.shape == (n - n_val,), f"y_train / y_val should have shapes "
               f"{(n - n_val,)} and {(n_val,)}, got {y_tr.shape} and {y_va.shape}")
        ids = np.concatenate([X_tr[:, 0], X_va[:, 0]])
        expect(np.array_equal(np.sort(ids), np.arange(n)), "every row must land in exactly one of the two sets "
               "(no row twice, none lost): split ONE permutation into two parts")
        expect(np.array_equal(X_tr[:, 1], X_tr[:, 0] ** 2), "the rows of X were scrambled: shuffle whole rows (X[order])")
        expect(np.array_equal(y_tr, 10 * X_tr[:, 0]) and np.array_equal(y_va, 10 * X_va[:, 0]),
               "X and y no longer line up: index both with the SAME permutation")
        va = X_va[:, 0]
        expect(not (np.array_equal(va, np.arange(n_val)) or np.array_equal(va, np.arange(n - n_val, n))),
               "shuffle before splitting: files are often sorted (by date, by target), so the first or last rows "
               "are not a fair sample")
        again = returns_tuple(call(train_val_split, X.copy(), y.copy(), frac, seed), 4, "(X_train, X_val, y_train, y_val)", train_val_split)
        expect(np.array_equal(as_array(again[1], "X_val"), X_va), "the same seed must give the same split: "
               "use np.random.default_rng(seed), not the global random state")
        other = returns_tuple(call(train_val_split, X.copy(), y.copy(), frac, seed + 1), 4, "(X_train, X_val, y_train, y_val)", train_val_split)
        expect(not np.array_equal(as_array(other[1], "X_val"), X_va), "a different seed should give a different split: "
               "pass `seed` to np.random.default_rng")


# --------------------------------------------------------------------------------------------
# 03 · binary classification: sigmoid, BCE with logits, linear and ReLU layers, backprop
# --------------------------------------------------------------------------------------------

BCE_HINT = ("loss = mean(max(z, 0) - z * y + log1p(exp(-|z|))), the stable (logits) form of "
            "-mean(y log σ(z) + (1 - y) log(1 - σ(z))), finite for logits of +-1000: use it instead of log(sigmoid(z)), "
            "which hits log(0); dz = (σ(z) - y) / N, with the stable sigmoid")


def _bce_cases(hidden):
    cases = [(np.array([2.0, -1.0, 0.5, -3.0]), np.array([1.0, 0.0, 0.0, 1.0])),
             (np.array([1000.0, -1000.0, 20.0, -40.0]), np.array([0.0, 1.0, 1.0, 0.0]))]
    if hidden:
        rng = np.random.default_rng(6)
        cases += [(rng.normal(scale=4, size=33), rng.integers(0, 2, size=33).astype(float)),
                  (np.array([0.0]), np.array([1.0])), (np.array([-800.0, 800.0]), np.array([0.0, 1.0]))]
    return cases


LINEAR_HINT = "x (N, D), w (D, M), b (M,) -> out = x @ w + b of shape (N, M); return (out, cache)"


def _linear_cases(hidden, seed):
    x = np.array([[1.0, 2.0, -1.0], [0.0, -3.0, 2.0]])
    w = np.array([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]])
    b = np.array([0.1, -0.2])
    cases = [(x, w, b)]
    if hidden:
        rng = np.random.default_rng(seed)
        cases += [(rng.normal(size=(7, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)),
                  (rng.normal(size=(1, 3)), rng.normal(size=(3, 1)), rng.normal(size=1))]
    return cases


LINEAR_BACK_HINT = ("for out = x @ w + b: dx = dout @ w.T (N, D), dw = x.T @ dout (D, M), "
                    "db = dout summed over the batch (M,)")


def _linear_back_cases(hidden):
    """((x, w, b), dout): the learner's own linear_forward makes the cache their linear_backward gets."""
    return [((x, w, b), np.random.default_rng(x.size).normal(size=(x.shape[0], w.shape[1])))
            for x, w, b in _linear_cases(hidden, 10)]


RELU_HINT = "relu_forward(x) returns (np.maximum(x, 0), cache); keep x in the cache for the backward pass"


def _relu_inputs(hidden, seed):
    cases = [np.array([[-2.0, 0.5, 0.0], [3.0, -0.1, 1.0]])]
    if hidden:
        rng = np.random.default_rng(seed)
        cases += [rng.normal(size=(5, 6)), rng.normal(size=8), np.zeros((2, 2))]
    return cases


RELU_BACK_HINT = "dx = dout where x > 0 and 0 elsewhere (including x == 0, as PyTorch does): dout * (x > 0)"


def _relu_back_cases(hidden):
    """((x,), dout)."""
    return [((x,), np.random.default_rng(x.size).normal(size=x.shape) + 0.5) for x in _relu_inputs(hidden, 13)]


TWO_LAYER_HINT = ("forward: h = X @ W1 + b1, a = relu(h), z = (a @ W2 + b2)[:, 0], loss = BCE with logits(z, y); "
                  "backward in reverse: dz -> linear_backward -> relu_backward -> linear_backward. "
                  "grads has the keys and shapes of params")


def _two_layer_case(n, d, h, seed):
    net = scratch.TwoLayerNet(d, h, 1, seed=seed)
    rng = np.random.default_rng(seed + 100)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 2, size=n).astype(float)
    return net, X, y


def _two_layer_cases(hidden):
    """(params, X, y): a binary TwoLayerNet's parameters and a batch."""
    rows = [(6, 3, 4, 0)] + ([(25, 8, 16, 1), (1, 2, 3, 2)] if hidden else [])
    return [({k: v.copy() for k, v in net.params.items()}, X, y) for net, X, y in (_two_layer_case(*r) for r in rows)]


def _two_layer(params, X, y, relu_backward=True):
    """The loss and gradients of the binary two-layer net (``relu_backward`` False: the slip of skipping it)."""
    h, c1 = scratch.linear_forward(X, params["W1"], params["b1"])
    a, c_relu = scratch.relu_forward(h)
    z, c2 = scratch.linear_forward(a, params["W2"], params["b2"])
    loss, dz = scratch.bce_with_logits_loss(z[:, 0], y)
    da, dW2, db2 = scratch.linear_backward(dz[:, None], c2)
    _, dW1, db1 = scratch.linear_backward(scratch.relu_backward(da, c_relu) if relu_backward else da, c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# --------------------------------------------------------------------------------------------
# 04 · multiclass: softmax, cross-entropy, one training epoch
# --------------------------------------------------------------------------------------------

SOFTMAX_HINT = ("softmax normalises each ROW of scores (N, C): exp(s - row max) / sum over the row (axis=1, keepdims=True); "
                "subtract each row's own max first (s - s.max(axis=1, keepdims=True)), so the largest exponent is "
                "exp(0) = 1 and logits of +-1000 neither overflow nor leave a row of zeros (0/0)")


def _softmax_cases(hidden):
    cases = [(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),), (np.array([[1000.0, 0.0, -1000.0], [-1000.0, 999.0, 1000.0]]),),
             (np.array([[1000.0, 999.0], [-1000.0, -1001.0]]),)]  # rows far apart: one max per ROW is needed
    if hidden:
        rng = np.random.default_rng(14)
        cases += [(rng.normal(scale=3, size=(9, 5)),), (np.zeros((1, 4)),),
                  (np.vstack([rng.normal(size=(2, 3)) + 900.0, rng.normal(size=(2, 3)) - 900.0]),)]
    return cases


def _global_exp(s):
    """exp(s - the max of the whole matrix): what the softmax mistakes normalise."""
    return np.exp(s - s.max())


CE_HINT = ("loss = -mean over the batch of log_softmax(scores)[i, y_i], with log_softmax = s - max - log(sum(exp(s - max))) "
           "computed directly with the row max, never np.log(softmax(s)) (it stays finite for logits of +-1000); "
           "dscores = (softmax(scores) - onehot(y)) / N")


def _ce_cases(hidden):
    cases = [(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
             (np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]]), np.array([1, 2])),
             (np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -999.0]]), np.array([0, 2]))]  # rows far apart
    if hidden:
        rng = np.random.default_rng(15)
        cases += [(rng.normal(scale=2, size=(12, 4)), rng.integers(0, 4, size=12)),
                  (np.zeros((3, 10)), np.array([0, 5, 9]))]
    return cases


def _off(loss_and_grad, loss=1.0, grad=1.0):
    """The reference's (loss, gradient) with each scaled by a factor ("N": the batch size): the mistakes of a mean
    loss (a sum instead, a gradient without its 1/N, a flipped sign)."""
    def wrong(x, y):
        value, d = loss_and_grad(x, y)
        return value * (len(y) if loss == "N" else loss), d * (len(y) if grad == "N" else grad)
    return wrong


TRAIN_EPOCH_HINT = ("one pass over the rows in the order of a single rng.permutation(N), drawn from the rng you are "
                    "given, in consecutive batches of batch_size (the last one may be smaller); on each batch the "
                    "net's loss and gradients, then an SGD step on every parameter; return the mean of the batch "
                    "losses")


def _train_epoch(net, X, y, lr, batch_size, rng, *, shuffle=True, drop_last=False, sign=1.0, returns="mean"):
    """The reference (mentor side) and, switched, its known mistakes."""
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        if drop_last and len(idx) < batch_size:
            break
        loss, grads = net.loss(X[idx], y[idx])
        for k in net.params:
            net.params[k] -= sign * lr * grads[k]
        losses.append(loss)
    return {"last": losses[-1], "sum": float(np.sum(losses))}.get(returns, float(np.mean(losses)))


def _epoch_with(**slip):
    return functools.partial(_train_epoch, **slip)


EPOCH_MISTAKES = {   # why -> the wrong train_epoch
    "shuffle every epoch: visit the rows in the order rng.permutation(N)": _epoch_with(shuffle=False),
    "don't drop the last, smaller batch: every row is used once per epoch": _epoch_with(drop_last=True),
    "move AGAINST the gradient: params -= lr * grads": _epoch_with(sign=-1.0),
    "train_epoch returned the LAST batch's loss: return the mean over all batches": _epoch_with(returns="last"),
    "train_epoch returned the SUM of the batch losses: return their mean": _epoch_with(returns="sum"),
}


def _epoch_cases(hidden):
    """(dims, X, y, lr, batch_size, seed): a TwoLayerNet (D, 8, C) and N rows; the visible case's last batch has 2."""
    cases = []
    for n, d, c, bs, lr, seed in [(10, 4, 3, 4, 0.5, 0)] + ([(37, 6, 5, 8, 0.1, 1), (16, 3, 2, 16, 0.3, 2)] if hidden else []):
        data_rng = np.random.default_rng(seed + 50)
        cases.append(((d, 8, c), data_rng.normal(size=(n, d)), data_rng.integers(0, c, size=n), lr, bs, seed))
    return cases


# --------------------------------------------------------------------------------------------
# 05 · gradient checking
# --------------------------------------------------------------------------------------------

NUMGRAD_HINT = ("the central difference, one entry at a time: f with that entry raised by h and with it lowered "
                "by h, their difference over 2h; visit every entry of x (any shape), and put each entry back "
                "before probing the next")


def _central(f, x, h):
    return scratch.numeric_gradient(f, x.copy(), h=h)


def _forward_diff(f, x, h):
    x = x.copy()
    base, grad = f(x), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - base) / h
        x[i] = old
    return grad


# the functions numeric_gradient probes: named, so a grader can hand them to the student's code by name
def _coupled_cubes(v):
    return float(np.sum(v ** 3) + v[0] * v[2])


def _weighted_sines(W, v):
    return float(np.sum(np.sin(v) * W))


def _coupled_exps(v):
    return float(np.exp(v).sum() + v[0, 1] * v[1, 0])


def _cubes(v):
    return float(np.sum(v ** 3))


# procedural: its cases pass functions f (this module's, one a partial over W): a fixture holds data, not functions
@isolated
def check_numeric_gradient(numeric_gradient, hidden: bool = False) -> None:
    """The contract: ``f`` is a function of its argument only; ``numeric_gradient(f, x, h)`` may probe
    by nudging ``x`` in place or a copy of it (either is right), and ``x`` holds its original values
    on return. The cases' ``f`` couple entries, so a nudge that is not undone shows up."""
    cases = [(_coupled_cubes, np.array([0.5, -1.0, 2.0]), 1e-2)]
    if hidden:
        rng = np.random.default_rng(16)
        W = rng.normal(size=(3, 4))
        cases += [(functools.partial(_weighted_sines, W), rng.normal(size=(3, 4)), 1e-3),
                  (_coupled_exps, rng.normal(size=(2, 2)), 1e-4), (_cubes, np.array([1.5]), 1e-5)]
    for f, x, h in cases:
        x_in = x.copy()
        got = call(numeric_gradient, f, x_in, h, hint=NUMGRAD_HINT)
        expect(np.allclose(x_in, x, rtol=1e-12, atol=1e-15),
               "numeric_gradient left x changed: restore x[i] to its old value after probing it")
        mistakes = [(_forward_diff(f, x, h), "use the CENTRAL difference (f(x + h) - f(x - h)) / 2h: the one-sided "
                     "(f(x + h) - f(x)) / h is h times less accurate"),
                    (2 * _central(f, x, h), "divide by 2h: the two probes are 2h apart"),
                    (_central(f, x, h) / 2, "divide by 2h, not 4h"),
                    (_central(f, x, 1e-5), "use the step h you are given, not a fixed 1e-5")]
        compare(got, _central(f, x, h), f"the numeric gradient for x of shape {x.shape}, h = {h}", NUMGRAD_HINT,
                 mistakes if h != 1e-5 else mistakes[:3], rtol=1e-7, atol=1e-10)


# --------------------------------------------------------------------------------------------
# 06 · from NumPy to PyTorch
# --------------------------------------------------------------------------------------------

NLL_HINT = ("the negative log-likelihood: pick, in each row, the log-probability of that row's true class, then take "
            "minus their mean (one number for the batch)")


def _nll_cases(hidden):
    """(log_probs, y) as arrays (the run hands them over as tensors; NumPy keeps torch out of week 1's fixtures)."""
    cases = [(np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])), np.array([0, 2, 1]))]
    if hidden:
        rng = np.random.default_rng(18)
        cases += [(scratch.log_softmax(rng.normal(size=(9, 6))), rng.integers(0, 6, size=9)),
                  (scratch.log_softmax(rng.normal(size=(1, 2))), np.array([1]))]
    return cases


def _picked(log_probs, y):
    import torch

    return log_probs[torch.arange(len(y)), y]


MLP_HINT = ("one hidden layer: the inputs through the first weights and bias, then ReLU, then the second weights and "
            "bias, with no ReLU on the scores; params are [W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)]")


def _mlp_cases(hidden):
    """(x, [W1, b1, W2, b2]) as arrays (the run hands them over as tensors), from a TwoLayerNet with biases that
    matter."""
    rows = [(5, 3, 4, 2, 0)] + ([(17, 8, 6, 10, 1), (1, 2, 3, 3, 2)] if hidden else [])
    cases = []
    for n, d, h, c, seed in rows:
        net = scratch.TwoLayerNet(d, h, c, seed=seed)
        net.params["b1"][:] = np.linspace(-0.5, 0.5, h)
        net.params["b2"][:] = np.linspace(1.0, -1.0, c)
        x = np.random.default_rng(seed + 7).normal(size=(n, d))
        cases.append((x, [net.params[k].copy() for k in ("W1", "b1", "W2", "b2")]))
    return cases


def _mlp(x, params, relu=True, biases=True):
    import torch

    W1, b1, W2, b2 = params
    h = x @ W1 + (b1 if biases else 0)
    return (torch.relu(h) if relu else h) @ W2 + (b2 if biases else 0)


SGD_HINT = ("move each parameter against its gradient by lr times it, in place and outside autograd's view, then "
            "clear its gradient: backward() adds to .grad, it does not replace it")


# procedural: steps torch leaf tensors in place and returns None: no result for a record (or its float32 walk)
@isolated
def check_sgd_update(sgd_update, hidden: bool = False) -> None:
    import torch

    cases = [(0.1, 0)]
    if hidden:
        cases += [(0.5, 1), (1e-3, 2)]
    for lr, seed in cases:
        g = torch.Generator().manual_seed(seed)
        start = [torch.randn(3, 2, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)]
        params = [p.clone().requires_grad_() for p in start]
        x = torch.randn(4, 3, generator=g, dtype=torch.float64)
        ((x @ params[0] + params[1]) ** 2).sum().backward()
        grads = [p.grad.clone() for p in params]
        same_objects = list(params)
        no_grad_hint = "updating a tensor that requires grad in place must happen inside `with torch.no_grad():`"
        result = call(sgd_update, params, lr, hint=SGD_HINT,
                      errors=[(RuntimeError, "leaf Variable", no_grad_hint), (RuntimeError, "in-place", no_grad_hint)])
        expect(all(a is b for a, b in zip(params, same_objects)) and len(params) == len(same_objects),
               "keep the same tensor objects in params: update them in place (p -= lr * p.grad), "
               "don't replace the list's entries")
        expect(not all(torch.equal(p.detach(), s) for p, s in zip(params, start)),
               "the parameters did not change: `p = p - lr * p.grad` only rebinds the loop variable; "
               "write p -= lr * p.grad (in place) inside torch.no_grad()")
        for k, (p, s, gr) in enumerate(zip(params, start, grads)):
            compare(p.detach(), s - lr * gr, f"params[{k}] after the update", SGD_HINT,
                     [(s + lr * gr, "move AGAINST the gradient: p -= lr * p.grad"),
                      (s - gr, "scale the gradient by the learning rate lr")])
            expect(p.requires_grad and p.is_leaf, f"params[{k}] is no longer a leaf tensor that requires grad: do the "
                   "update inside torch.no_grad() and in place")
            expect(p.grad is None or not bool(torch.any(p.grad != 0)),
                   "zero the gradients after the update (p.grad.zero_()): backward() ADDS to .grad, so the next "
                   "step would use the sum of all gradients so far")
        expect(result is None or isinstance(result, (list, tuple)), "sgd_update should return None (it works in place)")


# --------------------------------------------------------------------------------------------
# the exercises written as records (helpers/checks/records.py)
# --------------------------------------------------------------------------------------------

EXERCISES = [
    Exercise(
        "train_epoch", reference=_train_epoch, cases=_epoch_cases, run=one_epoch, hint=TRAIN_EPOCH_HINT,
        mistakes=EPOCH_MISTAKES, outputs=("W1", "b1", "W2", "b2", "loss"), rtol=1e-7, atol=1e-10,
        describe=lambda dims, X, y, lr, batch_size, seed: (f"after one epoch of {len(X)} rows, batch_size={batch_size}")),
    Exercise(
        "impute_median", reference=lambda frame, reference=None: frame.fillna(_source(frame, reference).median()),
        cases=_impute_cases, run=filled, hint=IMPUTE_HINT, mistakes=IMPUTE_MISTAKES,
        describe=lambda frame, reference: ("the numeric part of the result (columns " + ", ".join(
            repr(k) for k, v in frame.items() if all(isinstance(x, float) for x in v))
            + (", with a reference frame)" if reference is not None else ")"))),
    Exercise(
        "mse", reference=lambda pred, y: np.mean((pred - y) ** 2), cases=_mse_cases,
        hint="mse(pred, y) is the mean over the batch of (pred - y) ** 2: one number",
        describe=lambda pred, y: f"mse on {len(pred)} points",
        mistakes={"MSE must average over the batch (np.mean), not sum": lambda p, y: np.sum((p - y) ** 2),
                  "square the errors: this is the mean ABSOLUTE error": lambda p, y: np.mean(np.abs(p - y)),
                  "no 1/2 factor: this course's MSE is mean((pred - y) ** 2)": lambda p, y: np.mean((p - y) ** 2) / 2,
                  "don't take the square root: that is the RMSE": lambda p, y: np.sqrt(np.mean((p - y) ** 2)),
                  "square each error, then average (not the square of the mean error)": lambda p, y: np.mean(p - y) ** 2,
                  "average the squared errors into one number (np.mean)": lambda p, y: (p - y) ** 2},
        forbidden={"sklearn.metrics": "write the mean of the squared errors yourself"}),
    Exercise(
        "mse_grad", reference=_mse_grad, outputs=("dw", "db"),
        cases=lambda hidden: [(np.array([[1.0, 2.0], [0.0, 1.0], [2.0, -1.0]]), np.array([3.0, 1.0, 0.0]),
                               np.array([0.5, -1.0]), 0.25)]
        + ([_linreg_case(30, 5, 1), _linreg_case(1, 3, 2), _linreg_case(64, 1, 3)] if hidden else []),
        hint="for pred = X @ w + b and loss mean((pred - y) ** 2): dw = 2 / N * X.T @ (pred - y) has one entry per "
             "feature, db = 2 / N * sum(pred - y) is one number",
        describe=lambda X, y, w, b: f"N = {len(y)}, D = {X.shape[1]}",
        mistakes={"the derivative of (pred - y) ** 2 is 2 * (pred - y): don't forget the factor 2":
                  lambda *a: tuple(g / 2 for g in _mse_grad(*a)),
                  "divide by N: the loss is a mean, so its gradient carries 1 / N":
                  lambda *a: tuple(g * len(a[1]) for g in _mse_grad(*a)),
                  "sign: the residual is pred - y (y - pred flips the gradient)": lambda *a: tuple(-g for g in _mse_grad(*a))},
        forbidden={"torch": "compute the gradient by hand with NumPy"}),
    Exercise(
        "gd_step", reference=lambda w, b, dw, db, lr: (w - lr * dw, b - lr * db), cases=_gd_cases, outputs=("w_new", "b_new"),
        hint="one step of gradient descent: w_new = w - lr * dw, b_new = b - lr * db",
        in_place="return a new array (w - lr * dw): the notebook starts several runs from the same initial w, "
                 "which in-place updates would overwrite",
        mistakes={"gradient descent moves AGAINST the gradient: subtract lr * dw and lr * db":
                  lambda w, b, dw, db, lr: (w + lr * dw, b + lr * db),
                  "scale the step by the learning rate: w - lr * dw, b - lr * db": lambda w, b, dw, db, lr: (w - dw, b - db)}),
    Exercise(
        "r2_score", reference=lambda y, p: 1 - _ss(y, p)[0] / _ss(y, p)[1], cases=_r2_cases,
        hint="R² = 1 - sum((y - pred) ** 2) / sum((y - mean(y)) ** 2)",
        describe=lambda y, p: f"r2_score on {len(y)} points",
        mistakes={"that is the unexplained fraction: R² = 1 - SS_res / SS_tot": lambda y, p: _ss(y, p)[0] / _ss(y, p)[1],
                  "the ratio is upside down: R² = 1 - SS_res / SS_tot": lambda y, p: 1 - _ss(y, p)[1] / _ss(y, p)[0],
                  "don't clip at 0: R² is negative when the model is worse than predicting the mean":
                  lambda y, p: max(0.0, 1 - _ss(y, p)[0] / _ss(y, p)[1]),
                  "SS_tot measures the spread of the TRUE values y around their mean":
                  lambda y, p: 1 - _ss(y, p)[0] / np.sum((p - p.mean()) ** 2)},
        forbidden={"sklearn.metrics": "write R² from its two sums yourself"}),
    Exercise(
        "standardize", reference=_std, cases=lambda hidden: _scaling_cases(hidden, 3), outputs=("train_scaled", "other_scaled"),
        hint="subtract the TRAINING columns' mean and divide by their std (np.std, ddof=0), for both arrays; a constant "
             "column (std 0) is divided by 1",
        in_place="return new arrays",
        mistakes={"compute the mean and std per column (axis=0), not over the whole array":
                  lambda t, o: ((t - t.mean()) / t.std(), _std(t, o)[1]),
                  "use the population std (ddof=0, np.std's default), as scikit-learn's StandardScaler does":
                  lambda t, o: _std(t, o, ddof=1),
                  "scale the validation data with the TRAINING mean and std: statistics computed on validation data leak "
                  "it into the model and shift the two sets differently": lambda t, o: (_std(t, o)[0], _std(o, o)[1])},
        forbidden={"sklearn.preprocessing": "compute the columns' statistics yourself"}),
    Exercise(
        "min_max_scale", reference=_minmax, cases=lambda hidden: _scaling_cases(hidden, 4),
        outputs=("train_scaled", "other_scaled"),
        hint="map each column to [0, 1] with the TRAINING columns' min and max: (x - min) / (max - min), for both "
             "arrays; a constant column (max = min) is divided by 1",
        in_place="return new arrays",
        mistakes={"use each column's own min and max (axis=0), not the whole array's":
                  lambda t, o: ((t - t.min()) / np.ptp(t), _minmax(t, o)[1]),
                  "subtract the min, then divide by the range (max - min), not by the max":
                  lambda t, o: (t / t.max(0), o / t.max(0)),
                  "scale the validation data with the TRAINING min and max (its values may then fall a little outside "
                  "[0, 1], and that is fine)": lambda t, o: (_minmax(t, o)[0], _minmax(o, o)[1])},
        forbidden={"sklearn.preprocessing": "compute the columns' min and max yourself"}),
    Exercise(
        "sigmoid", reference=scratch.sigmoid, fp_traps=True, rtol=1e-7, atol=1e-12,
        cases=lambda hidden: [(np.array([-2.0, 0.0, 3.0]),), (np.array([-1000.0, -50.0, 50.0, 1000.0]),)]
        + ([(np.random.default_rng(4).normal(scale=5, size=(6, 4)),), (np.array([[-745.0, 710.0], [0.0, -1e4]]),)]
           if hidden else []),
        hint="sigmoid(z) = 1 / (1 + exp(-z)), computed without overflow: with e = np.exp(-np.abs(z)), take 1 / (1 + e) "
             "where z >= 0 and e / (1 + e) where z < 0 (np.where evaluates BOTH branches, so never call np.exp on +|z|)",
        describe=lambda z: f"sigmoid({np.array2string(z, precision=0)})",
        mistakes={"sign: sigmoid(z) -> 1 for large positive z, so use exp(-z)": lambda z: 1 / (1 + np.exp(np.clip(z, -700, 700)))},
        forbidden={"scipy.special": "write the stable sigmoid yourself", "torch": "write it in NumPy"}),
    Exercise(
        "rel_error", reference=scratch.rel_error, cases=_rel_cases, rtol=1e-6, atol=1e-14,
        hint="rel_error(a, b) = max over entries of |a - b| / max(1e-8, |a| + |b|): one number; guard the denominator "
             "with np.maximum(1e-8, |a| + |b|) so that two zeros compare as 0, not NaN",
        describe=lambda a, b: f"rel_error for arrays of shape {a.shape}",
        mistakes={"the denominator is |a| + |b|, the sum of the two absolute values, not |a + b|: for entries of opposite "
                  "sign a + b is near 0 (rel_error(1, -1) must be 1)": lambda a, b: np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a + b))),
                  "the denominator is |a| + |b|, not max(|a|, |b|)":
                  lambda a, b: np.max(np.abs(a - b) / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b)))),
                  "divide by |a| + |b|: an absolute difference of 1e-6 means little for values near 1e6": lambda a, b: np.max(np.abs(a - b)),
                  "report the WORST entry (np.max), not the mean: one wrong gradient entry is a bug":
                  lambda a, b: np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))),
                  "reduce to one number with np.max": lambda a, b: np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))}),
    Exercise(
        "one_hot", reference=lambda values, categories: (values[:, None] == np.asarray(categories)[None, :]).astype(float),
        cases=lambda hidden: [(np.array(["b", "a", "c", "a"]), ["c", "a", "b"])]
        + ([(np.array([2, 1, 1, 2, 2]), [1, 2]), (np.array(["a", "a"]), ["a", "b", "c"]),     # a category absent
            (np.array(["40-49", "<30", "60+"]), ["<30", "30-39", "40-49", "50-59", "60+"])] if hidden else []),
        hint="row i has a single 1, in the column of categories.index(values[i]); shape (N, K) with K = len(categories)",
        describe=lambda values, categories: f"one_hot({values.tolist()}, {list(categories)})", in_place="return a new array",
        mistakes={"the columns must follow the order of `categories`, not sorted order":
                  lambda v, c: (v[:, None] == np.sort(np.asarray(c))[None, :]).astype(float),
                  "every category gets a column, even one that does not occur in `values` (a validation split may lack a "
                  "category; np.unique / pd.get_dummies would drop it)": lambda v, c: (v[:, None] == np.array([k for k in c if k in v])[None, :]).astype(float)}),
    Exercise(
        "linear_forward", reference=lambda x, w, b: (x @ w + b, None), outputs=("out", "cache"), hint=LINEAR_HINT,
        cases=lambda hidden: _linear_cases(hidden, 9), describe=lambda x, w, b: f"x {x.shape}, w {w.shape}",
        in_place="return a new array", mistakes={"add the bias b (broadcast over the rows)": lambda x, w, b: (x @ w, None)}),
    Exercise(
        "relu_forward", reference=lambda x: (np.maximum(x, 0), None), outputs=("out", "cache"), hint=RELU_HINT,
        cases=lambda hidden: [(x,) for x in _relu_inputs(hidden, 12)], describe=lambda x: f"relu of an array of shape {x.shape}",
        in_place="x[x < 0] = 0 loses the original x, which the backward pass needs: build a new array, np.maximum(x, 0)",
        mistakes={"keep the POSITIVE part: np.maximum(x, 0)": lambda x: (np.minimum(x, 0), None),
                  "negative inputs become 0, not their absolute value": lambda x: (np.abs(x), None)}),
    Exercise(
        "bce_with_logits", reference=scratch.bce_with_logits_loss, cases=_bce_cases, outputs=("loss", "dz"), hint=BCE_HINT,
        fp_traps=True, rtol=1e-7,
        describe=lambda z, y: f"for z = {np.array2string(z[:4], precision=1)}{' …' if len(z) > 4 else ''}",
        mistakes={"the gradient of a mean carries a 1/N: dz = (sigmoid(z) - y) / N": _off(scratch.bce_with_logits_loss, grad="N"),
                  "sign: dz = (sigmoid(z) - y) / N, not (y - sigmoid(z)) / N": _off(scratch.bce_with_logits_loss, grad=-1),
                  "BCE must average over the batch, not sum": _off(scratch.bce_with_logits_loss, loss="N", grad="N"),
                  "the loss is the NEGATIVE mean log-likelihood (it is >= 0)": _off(scratch.bce_with_logits_loss, loss=-1)}),
    Exercise(
        "softmax", reference=scratch.softmax, cases=_softmax_cases, hint=SOFTMAX_HINT, fp_traps=True, atol=1e-12,
        describe=lambda s: f"softmax of scores {s.shape}",
        in_place="compute s - max as a new array; s -= s.max(...) changed the scores in place",
        mistakes={"normalise each row (axis=1), not each column (axis=0)":
                  lambda s: _global_exp(s) / _global_exp(s).sum(axis=0, keepdims=True),
                  "normalise each row separately, not the whole matrix": lambda s: _global_exp(s) / _global_exp(s).sum()}),
    Exercise(
        "cross_entropy", reference=scratch.softmax_cross_entropy, cases=_ce_cases, outputs=("loss", "dscores"), hint=CE_HINT,
        fp_traps=True, rtol=1e-7, describe=lambda s, y: f"for scores {s.shape}",
        in_place="compute new arrays (s - max, softmax - onehot); s -= s.max(...) changed the scores in place",
        mistakes={"the gradient of a mean carries a 1/N: dscores = (softmax - onehot) / N":
                  _off(scratch.softmax_cross_entropy, grad="N"),
                  "sign: dscores = (softmax - onehot) / N": _off(scratch.softmax_cross_entropy, grad=-1),
                  "subtract 1 at the true class: dscores = (softmax - onehot(y)) / N":
                  lambda s, y: (scratch.softmax_cross_entropy(s, y)[0], scratch.softmax(s) / len(y)),
                  "cross-entropy must average over the batch, not sum": _off(scratch.softmax_cross_entropy, loss="N", grad="N"),
                  "the loss is the NEGATIVE mean log-probability of the true class (it is >= 0)":
                  _off(scratch.softmax_cross_entropy, loss=-1)}),
    Exercise(
        "linear_backward", answers=("linear_forward", "linear_backward"), run=forward_backward,
        reference=(scratch.linear_forward, scratch.linear_backward), cases=_linear_back_cases, outputs=("dx", "dw", "db"),
        hint=LINEAR_BACK_HINT, forbidden={"torch": "write the backward pass by hand with NumPy"},
        describe=lambda inputs, dout: f"x {inputs[0].shape}, w {inputs[1].shape}, dout {dout.shape}",
        mistakes={"no 1/N here: the loss already averaged, so dout carries it":
                  lambda d, c: (d @ c[1].T, c[0].T @ d / len(d), d.sum(0)),
                  "db sums dout over the batch (the loss's 1/N is already inside dout)":
                  lambda d, c: (d @ c[1].T, c[0].T @ d, d.mean(0)),
                  "db has one entry per output unit: sum dout over the batch (axis=0)": lambda d, c: (d @ c[1].T, c[0].T @ d, d)}),
    Exercise(
        "relu_backward", answers=("relu_forward", "relu_backward"), run=forward_backward,
        reference=(scratch.relu_forward, scratch.relu_backward), cases=_relu_back_cases, hint=RELU_BACK_HINT,
        forbidden={"torch": "write the backward pass by hand with NumPy"},
        in_place="return a new array, dout * (x > 0); the caller may still need dout",
        describe=lambda inputs, dout: f"dx for x of shape {inputs[0].shape}",
        mistakes={"multiply the incoming gradient dout by the mask (x > 0)": lambda d, x: (x > 0).astype(float),
                  "multiply dout by the MASK (x > 0), not by the ReLU output": lambda d, x: d * np.maximum(x, 0),
                  "at x == 0 use gradient 0 (mask x > 0), like PyTorch": lambda d, x: d * (x >= 0)}),
    Exercise(
        "two_layer_loss", reference=_two_layer, cases=_two_layer_cases, run=with_grads, hint=TWO_LAYER_HINT,
        outputs=("the loss", "grads['W1']", "grads['b1']", "grads['W2']", "grads['b2']"),
        describe=lambda params, X, y: f"X {X.shape}, {params['W1'].shape[1]} hidden units",
        mistakes={"the second layer's gradients are right but the first layer's are not: pass the gradient through "
                  "relu_backward (with the cache of h) before the first linear_backward":
                  lambda params, X, y: _two_layer(params, X, y, relu_backward=False)}),
    Exercise(
        "nll_loss", reference=lambda log_probs, y: -_picked(log_probs, y).mean(), cases=_nll_cases, run=loss_and_grad,
        outputs=("the loss", "its gradient w.r.t. log_probs"), hint=NLL_HINT, rtol=1e-7,
        describe=lambda log_probs, y: f"nll_loss for log_probs {log_probs.shape}",
        mistakes={"index with log_probs[torch.arange(N), y]: log_probs[:, y] picks an N x N block":
                  lambda log_probs, y: -log_probs[:, y].mean(),
                  "average over the batch (.mean()), not sum": lambda log_probs, y: -_picked(log_probs, y).sum(),
                  "NLL is the NEGATIVE log-likelihood: put a minus sign in front":
                  lambda log_probs, y: _picked(log_probs, y).mean()}),
    Exercise(
        "mlp_forward", reference=_mlp, cases=_mlp_cases, run=keeps_graph, hint=MLP_HINT, rtol=1e-7,
        describe=lambda x, params: f"scores for x {x.shape}",
        mistakes={"apply the ReLU after the first layer (torch.relu)": lambda x, params: _mlp(x, params, relu=False),
                  "add the biases b1 and b2": lambda x, params: _mlp(x, params, biases=False),
                  "return the raw scores; the log-softmax belongs to the loss":
                  lambda x, params: _mlp(x, params).log_softmax(1)}),
]


__all__ = [
    "check_mse", "check_mse_grad", "check_gd_step", "check_r2_score",
    "check_impute_median", "check_one_hot", "check_standardize", "check_min_max_scale", "check_train_val_split",
    "check_sigmoid", "check_bce_with_logits", "check_linear_forward", "check_linear_backward",
    "check_relu_forward", "check_relu_backward", "check_two_layer_loss",
    "check_softmax", "check_cross_entropy", "check_train_epoch",
    "check_numeric_gradient", "check_rel_error",
    "check_nll_loss", "check_mlp_forward", "check_sgd_update",
]


globals().update(checks_of(EXERCISES, __name__))   # check_mse, check_mse_grad, ...: what the notebooks call
