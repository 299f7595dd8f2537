"""Exercises as data: one record per graded function, and the one procedure that judges them all.

A record (:class:`Exercise`) says what a graded function must compute: the reference (mentor side),
the cases (visible first, more when ``hidden``), known mistakes (``why -> the wrong function``), the
hint, the tolerance, what the answer must not call. From it come

* ``check_<name>(fn, hidden=False)``: what the notebook's test cell calls (:func:`checks_of`);
* the fixtures of the mentee edition (:func:`fixtures`): for the visible cases, the inputs, the
  expected result and each mistake's result, computed at release time, so the mentee's copy of the
  checks (:func:`replay`) holds data and no reference;
* the tests (tests/test_records.py walks every record: reference passes, stub fails, each mistake fails
  with its own hint, a float32 answer passes).

An answer that is not simply called on a case's arguments names how it runs (``run``, e.g. :func:`over_steps`: a
schedule's rates over every step of a run); its reference and mistakes run the same way. An exercise graded through
more than one of the learner's functions (a layer's backward pass, fed by their own forward pass) names them
(``answers``): the check takes them in that order, the reference is a tuple of as many functions, a mistake is a
tuple or one function standing for the last (the graded one), and ``run(fns, *args)`` says how they work together
(e.g. :func:`forward_backward`).

Both sides judge with :func:`judge`, so a mentee sees the same message from fixtures as from the
reference. A check that needs a procedure of its own stays a function in its week's module.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .core import (CheckFailure, as_array, as_scalar, call, compare, drive, expect, forbid, isolated, returns_tuple,
                   unchanged)


@dataclass(frozen=True)
class Exercise:
    name: str                                   # the graded function, e.g. "mse"
    reference: Callable | None                  # the mentor's answer (None in the mentee edition)
    cases: Callable[[bool], list]               # hidden -> argument tuples, the visible ones first
    hint: str
    mistakes: dict = field(default_factory=dict)   # why -> the wrong answer, same signature
    outputs: tuple = ()                         # names of a returned tuple's parts; () = one result; a part named
                                                # "cache" is the answer's own (a layer's forward) and not compared
    describe: Callable | None = None            # args -> "mse on 4 points"
    rtol: float = 1e-6
    atol: float = 1e-8
    f32: tuple | None = None                    # (rtol, atol) for an answer computed in float32, when the float64 tolerance
                                                # is tighter than float32 can be (a result that accumulates over steps)
    fp_traps: bool = False                      # NumPy overflow / log(0) / 0/0 raise where they happen
    in_place: str = ""                          # the hint if an input array is changed in place
    forbidden: dict = field(default_factory=dict)  # dotted name -> why (core.forbid)
    run: Callable | None = None                 # how an answer runs on a case, run(fn, *args) (a function of this
                                                # module, e.g. over_steps, so the mentee edition has it); None: fn(*args)
    answers: tuple = ()                         # the learner's functions the check takes, when more than one, e.g.
                                                # ("linear_forward", "linear_backward"); run(fns, *args) then runs them

    def __post_init__(self):
        if self.answers:
            assert self.run is not None, f"{self.name}: an exercise of several functions says how they run together (run)"
            assert self.reference is None or len(self.reference) == len(self.answers), f"{self.name}: one reference per answer"

    def what(self, args) -> str:
        return self.describe(*args) if self.describe else self.name

    @property
    def arg_names(self) -> tuple:
        """The reference's parameter names: what a message calls the inputs."""
        import inspect

        if self.answers:                                   # run(fns, *args): the case's names follow fns
            return tuple(inspect.signature(self.run).parameters)[1:]
        return tuple(inspect.signature(self.reference).parameters)

    def wrong(self, mistake):
        """A mistake as the check takes it: for an exercise of several functions, one function stands for the last."""
        if self.answers and callable(mistake):
            return (*self.reference[:-1], mistake)
        return mistake

    def expect(self, args) -> tuple:
        """The reference's result and each mistake's, ``(want, [(wrong, why), ...])``: what judging needs."""
        with np.errstate(all="ignore"):
            want = running(self.run, self.reference)(*copy.deepcopy(args))
            wrongs = []
            for why, wrong in self.mistakes.items():
                try:
                    wrongs.append((running(self.run, self.wrong(wrong))(*copy.deepcopy(args)), why))
                except Exception:  # noqa: BLE001 - a mistake undefined on this input never fires
                    pass
        return want, wrongs

    def check(self, fn, hidden: bool = False) -> None:
        for answer, name in answered(self, fn):
            forbid(answer, self.forbidden, name)
        for args in self.cases(hidden):
            judge(self, fn, args, *self.expect(args), self.what(args))


def answered(ex, fn) -> list:
    """``[(function, its name)]``: the one answer, or each of an exercise's several (``fn`` is then their tuple)."""
    return list(zip(fn, ex.answers)) if ex.answers else [(fn, ex.name)]


def judge(ex, fn, args, want, wrongs, what: str) -> None:
    """Run ``fn(*args)`` and compare with ``want``; a result equal to a mistake's fails with its why."""
    given = copy.deepcopy(args)
    got = call(running(ex.run, fn), *given, hint=ex.hint, fp_traps=ex.fp_traps)
    if ex.in_place:
        for name, before, after in zip(ex.arg_names, args, given):
            if isinstance(before, np.ndarray) or hasattr(before, "detach"):
                unchanged(before, after, f"{ex.name} changed `{name}` in place: {ex.in_place}")
    tol = dict(rtol=ex.rtol, atol=ex.atol)
    if ex.f32 and _float32(got):
        tol = dict(rtol=ex.f32[0], atol=ex.f32[1])
    if not ex.outputs:
        compare(got, want, what, ex.hint, wrongs, **tol)
        return
    got = returns_tuple(got, len(ex.outputs), f"({', '.join(ex.outputs)})", fn[-1] if ex.answers else fn)
    for k, part in enumerate(ex.outputs):
        if part == "cache":
            continue
        part_wrongs = [(w[k], why) for w, why in wrongs if isinstance(w, (tuple, list)) and len(w) == len(ex.outputs)]
        compare(got[k], want[k], f"{part} ({what})", ex.hint, part_wrongs, **tol)


def _float32(value) -> bool:
    """Whether a result (or a part of a returned tuple) is float32, NumPy or torch."""
    if isinstance(value, (tuple, list)):
        return any(_float32(v) for v in value)
    return str(getattr(value, "dtype", "")).replace("torch.", "") == "float32"


def running(run, fn):
    """The answer as a record runs it: ``fn`` itself, or ``run(fn, *args)`` under ``fn``'s name (a crash names the answer)."""
    if run is None:
        return fn

    def answer(*args):
        return run(fn, *args)
    last = fn[-1] if isinstance(fn, tuple) else fn
    answer.__name__ = getattr(last, "__name__", None) or "your function"
    return answer


def over_steps(fn, steps: int, kwargs: dict) -> np.ndarray:
    """A schedule's rates over a run, ``fn(t, **kwargs)`` for t = 0 .. steps - 1: a case is ``(steps, kwargs)``, and a
    mistake is a wrong schedule (the same signature as the answer). The rates are computed where the schedule lives
    (:func:`helpers.checks.core.drive`: one probe per run when graded, not one per step)."""
    rates, failure = drive(fn, _rates, steps, kwargs)
    if failure is not None:
        raise CheckFailure(failure)
    return np.array(rates, dtype=np.float64)


def _rates(fn, steps, kwargs):
    """:func:`over_steps`' run: ``(rates, None)`` or ``(None, what went wrong)``. Self-contained (it imports nothing,
    reads no module global): the grader sends its source to run next to the student's schedule."""
    rates = []
    for t in range(steps):
        rate = fn(t, **kwargs)
        rate = rate.item() if hasattr(rate, "item") else rate        # a 0-d tensor or a NumPy float is a number too
        if not isinstance(rate, (int, float)) or isinstance(rate, bool):
            return None, f"{getattr(fn, '__name__', 'lr')}({t}, ...) should return a float, got {type(rate).__name__}"
        rates.append(float(rate))
    return rates, None


def forward_backward(fns, inputs: tuple, dout):
    """A layer's backward pass as the learner's code runs it: ``out, cache = forward(*inputs)``, then
    ``backward(dout, cache)``: the cache is whatever their own forward pass kept (a case is ``(inputs, dout)``)."""
    forward, backward = fns
    result = call(forward, *inputs)
    _, cache = returns_tuple(result, 2, "(out, cache)", forward)
    return call(backward, dout, cache)


def checks_of(exercises, module: str = __name__) -> dict:
    """``{"check_<name>": check}`` for a week's records: the functions its notebooks call (``module``: the
    week's module, where they are defined)."""
    def make(ex):
        def check(*fns, hidden: bool = False) -> None:
            wanted = ex.answers or (ex.name,)
            if len(fns) != len(wanted):
                raise TypeError(f"check_{ex.name} takes your function{'s' * (len(wanted) > 1)} "
                                f"{', '.join(wanted)}: check_{ex.name}({', '.join(wanted)})")
            ex.check(fns if ex.answers else fns[0], hidden)
        check.__name__ = check.__qualname__ = f"check_{ex.name}"
        check.__module__ = module
        check.__doc__ = f"Check ``{ex.name}``: {ex.hint}"
        return isolated(check)
    return {f"check_{ex.name}": make(ex) for ex in exercises}


# --------------------------------------------------------------------------------------------
# the mentee edition: fixtures instead of references
# --------------------------------------------------------------------------------------------

HIDDEN = "hidden cases are graded by your mentor; they are not part of the mentee edition"


@isolated
def fixtures(exercises) -> list[dict]:
    """What the mentee edition's checks need, as data: per record, its policies and, for each visible
    case, the inputs, the expected result and each mistake's result (drawn under the checks' seeds). No
    function of the record is kept."""
    rows = []
    for ex in exercises:
        if getattr(ex, "kind", "") == "build":          # a module exercise (helpers.checks.modules.Build)
            cases = [(ex.what(c), c, ex.expect(c)) for c in ex.cases(False)]
            rows.append(dict(kind="build", name=ex.name, answer=ex.answer, hint=ex.hint, forbidden=dict(ex.forbidden),
                             holds=dict(ex.holds), never=dict(ex.never), parts=ex.parts, children=tuple(ex.children),
                             cases=cases))
            continue
        assert ex.run is None or globals().get(ex.run.__name__) is ex.run, f"{ex.name}: run must be a function of records"
        cases = [(args, *ex.expect(args)) for args in ex.cases(False)]
        rows.append(dict(name=ex.name, arg_names=ex.arg_names, hint=ex.hint, outputs=ex.outputs, answers=ex.answers,
                         rtol=ex.rtol, atol=ex.atol, f32=ex.f32,
                         fp_traps=ex.fp_traps, in_place=ex.in_place, forbidden=dict(ex.forbidden),
                         run=ex.run.__name__ if ex.run else "",
                         whats=[ex.what(args) for args, _, _ in cases],
                         cases=[(_inputs(a), _plain(w), [(_plain(x), why) for x, why in m]) for a, w, m in cases]))
    return rows


def _inputs(value):
    """A case's arguments as the answer receives them: a tensor stays a tensor (a detached copy on the CPU), so an
    exercise on tensors gets tensors from the fixtures too; everything else as :func:`_plain`."""
    if hasattr(value, "detach"):
        return value.detach().cpu().clone()
    if isinstance(value, (tuple, list)):
        items = [_inputs(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)   # a named tuple too
    return _plain(value)


def _plain(value):
    """Results as NumPy arrays and Python numbers (what the fixture file holds)."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


@dataclass(frozen=True)
class _Fixture:
    name: str
    arg_names: tuple
    hint: str
    outputs: tuple
    rtol: float
    atol: float
    fp_traps: bool
    in_place: str
    forbidden: dict
    whats: list
    cases: list
    run: Callable | None = None
    answers: tuple = ()
    f32: tuple | None = None

    def check(self, fn, hidden: bool = False) -> None:
        if hidden:
            raise PermissionError(HIDDEN)
        for answer, name in answered(self, fn):
            forbid(answer, self.forbidden, name)
        for what, (args, want, wrongs) in zip(self.whats, self.cases):
            judge(self, fn, args, want, wrongs, what)


@dataclass(frozen=True)
class _BuildFixture:
    name: str
    answer: str
    hint: str
    forbidden: dict
    holds: dict
    never: dict
    parts: str
    children: tuple
    cases: list
    answers = ()

    def check(self, fn, hidden: bool = False) -> None:
        from .modules import judge_build

        if hidden:
            raise PermissionError(HIDDEN)
        for what, c, want in self.cases:
            judge_build(self, fn, c, want, what)


def replay(rows: list[dict], module: str = __name__) -> dict:
    """The mentee edition's ``check_<name>`` functions, judging against fixtures (:func:`fixtures`)."""
    def record(outputs=(), run="", answers=(), kind="", **row):
        if kind == "build":
            return _BuildFixture(**row)
        return _Fixture(outputs=tuple(outputs), run=globals()[run] if run else None, answers=tuple(answers), **row)
    return checks_of([record(**row) for row in rows], module)


def load_fixtures(module: str) -> list[dict]:
    """The fixtures ``make release`` wrote for a checks module (``helpers/checks/fixtures/<module>.pkl``)."""
    import pickle
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / f"{module}.pkl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: this mentee edition was not built by `make release`")
    with open(path, "rb") as f:
        return pickle.load(f)




# --- runs added for week4 ---

def over_updates(fn, config, starts, terms, zero=(), steps=100, defaults=None) -> np.ndarray:
    """An update rule ``fn(w, dw, config) -> (next_w, config)`` walked over parameters: the ``starts`` arrays stepped in
    turn, ``steps`` times, each with its own config (a copy of ``config``; None: the first call gets None, and the
    config it returns must hold the ``defaults``), on the gradient ``curvature * w + noise[t]`` of its term ``(curvature,
    noise)`` (all zero at the steps in ``zero``). Each step returns a tuple of 2 with a dict and leaves ``dw`` as it
    was. The trajectories, (steps, all coordinates): a wrong step shows in every later one. A case is ``(config,
    starts, terms, zero, steps, defaults)``; a mistake is a wrong rule, state kept in its config. The walk runs where
    the rule lives (:func:`helpers.checks.core.drive`: in the student's kernel when graded, one probe for the walk
    instead of one per step) and gives back data only, a failure as its message."""
    walk, failure = drive(fn, _walk_updates, config, list(starts), [tuple(t) for t in terms], sorted(zero), steps,
                          defaults)
    if failure is not None:
        raise CheckFailure(failure)
    return walk


def _walk_updates(fn, config, starts, terms, zero, steps, defaults):
    """:func:`over_updates`' walk: ``(trajectories, None)`` or ``(None, what went wrong)``. Self-contained (it
    imports what it uses, reads no module global): the grader sends its source to run next to the student's rule."""
    import copy

    import numpy as np

    name = getattr(fn, "__name__", None) or "the rule"
    ws = [np.array(w, dtype=np.float64) for w in starts]
    configs = [copy.deepcopy(config) for _ in ws]
    out, low = [], False
    for t in range(steps):
        for i, (curvature, noise) in enumerate(terms):
            dw = np.zeros_like(ws[i]) if t in zero else curvature * ws[i] + noise[t]
            given = dw.copy()
            try:
                result = fn(ws[i].copy(), given, configs[i])
            except NotImplementedError:
                raise
            except Exception as err:  # noqa: BLE001 - the answer crashed on config=None: say what None means
                if configs[i] is not None or type(err).__name__ == "CheckFailure":
                    raise
                return None, (f"{name}(w, dw, None) raised {type(err).__name__}: {str(err)[:200]}. config=None means "
                              f"every default: {defaults}")
            if not np.array_equal(dw, np.asarray(given), equal_nan=True):
                return None, (f"{name} changed dw in place: it is the caller's gradient (p.grad under an optimizer); "
                              "compute g = dw + weight_decay * w as a new array")
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                got = (f"a {type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list))
                       else type(result).__name__)
                return None, f"{name} should return a tuple (next_w, config), got {got}"
            nxt, new = result
            if not isinstance(new, dict):
                return None, f"{name} should return (next_w, config) with config a dict, got {type(new).__name__}"
            if configs[i] is None:
                if not all(k in new for k in defaults or ()):
                    return None, f"{name}(w, dw, None) should return a config holding the defaults {sorted(defaults or ())}"
                configs[i] = new
            elif new is not configs[i]:       # a new dict: the next call gets its contents in the same one
                configs[i].clear()
                configs[i].update(new)
            low = low or str(getattr(nxt, "dtype", "")).replace("torch.", "") == "float32"
            try:
                nxt = np.asarray(nxt.detach().cpu().numpy() if hasattr(nxt, "detach") else nxt, dtype=np.float64)
            except (TypeError, ValueError):
                return None, f"next_w of {name} at step {t} should be an array of numbers, got {type(nxt).__name__}"
            if nxt.shape != ws[i].shape:
                return None, f"{name} returned next_w of shape {nxt.shape} for w of shape {ws[i].shape}"
            ws[i] = nxt
        out.append(np.concatenate([w.ravel() for w in ws]))
    return np.stack(out).astype(np.float32 if low else np.float64), None      # float32 if the answer computed in it


def normalised(fns, xs, gamma, beta, bn_param, dout=None):
    """A normalisation layer as training uses it: ``forward(x, gamma, beta, bn_param) -> (out, cache)`` on each of
    ``xs``, in train mode but the last (test mode), ``bn_param`` carried from call to call (the layer keeps its
    running statistics there); for an exercise of two functions (``fns`` a pair) also ``backward(dout, cache)`` after
    each train-mode call, with that call's cache. A case is ``(xs, gamma, beta, bn_param)``, with ``dout`` for a
    pair. Gives back the outputs of every call, the running mean and variance after each (stacked) and, for a pair,
    dx, dgamma and dbeta of each train-mode call (stacked); in float32 where the answer computed in it."""
    forward, backward = fns if isinstance(fns, tuple) else (fns, None)
    name = getattr(forward, "__name__", None) or "your forward pass"
    outs, stats, grads, low = [], [], [], False
    for i, x in enumerate(xs):
        bn_param["mode"] = "train" if i < len(xs) - 1 else "test"
        given = x.copy()
        out, cache = returns_tuple(forward(given, gamma.copy(), beta.copy(), bn_param), 2, "(out, cache)", forward)
        unchanged(x, given, f"{name} changed x in place: it is the previous layer's output, which others may still "
                            "hold; compute a new array")
        expect("running_mean" in bn_param and "running_var" in bn_param,
               f"{name} must keep bn_param['running_mean'] and bn_param['running_var'] (start them at zeros and ones "
               "when absent)")
        low = low or _float32(out) or _float32(bn_param["running_var"])
        outs.append(as_array(out, "out").ravel())
        stats.append(np.concatenate([as_array(bn_param[k], k).ravel() for k in ("running_mean", "running_var")]))
        if backward is not None and bn_param["mode"] == "train":
            step = returns_tuple(backward(dout.copy(), cache), 3, "(dx, dgamma, dbeta)", backward)
            low = low or _float32(step)
            grads.append([as_array(g, part).ravel() for g, part in zip(step, ("dx", "dgamma", "dbeta"))])
    dtype = np.float32 if low else np.float64
    parts = [np.concatenate(outs), np.stack(stats)] + [np.stack(g) for g in zip(*grads)]
    return tuple(p.astype(dtype) for p in parts)


# --- runs added for week2 ---

def same_dtype(fn, x, *rest):
    """``fn(x, *rest)``, whose result, where both are tensors, must keep ``x``'s dtype (a float32 input gives a float32
    result): a case is the answer's arguments, a mistake a function like the answer. An array result is judged by value."""
    out = fn(x, *rest)
    if hasattr(x, "detach") and hasattr(out, "detach") and out.dtype != x.dtype:
        import inspect

        try:
            first = next(iter(inspect.signature(fn).parameters.values()), None)
        except (TypeError, ValueError):
            first = None
        arg = first.name if first is not None and first.kind in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD) else "x"
        raise CheckFailure(f"{getattr(fn, '__name__', None) or 'your function'}({arg}) should keep {arg}'s dtype "
                           f"{x.dtype}, got {out.dtype}: don't convert")
    return out



# --- runs added for week5_6 ---

def an_int(fn, args: tuple, kwargs: dict) -> int:
    """``fn(*args, **kwargs)``, which must be an int (a size or a count: a Python or NumPy integer, or a 0-d integer
    tensor; a whole float is refused): a case is ``(args, kwargs)``, a mistake a function like the answer."""
    name = getattr(fn, "__name__", None) or "your function"

    def short(v):                                   # a model's repr is many lines: its class says enough
        text = repr(v)
        return text if len(text) <= 60 and "\n" not in text else f"<a {type(v).__name__}>"
    shown = ", ".join([*map(short, args), *(f"{k}={short(v)}" for k, v in kwargs.items())])
    return int(as_scalar(fn(*args, **kwargs), f"{name}({shown})", integer=True))


def epochs(fn, losses, patience) -> np.ndarray:
    """``fn(losses, patience)``: a pair ``(best_epoch, stop_epoch)``, each an epoch number or None (never stops), given
    back as an array with None as 0: a case is ``(losses, patience)``, a mistake a function like the answer."""
    got = returns_tuple(fn(list(losses), patience), 2, "(best_epoch, stop_epoch)", fn)
    if any(isinstance(e, bool) for e in got):
        raise CheckFailure("best_epoch and stop_epoch should be epoch numbers (or None: stop_epoch when training "
                           f"never stops), got {got}")
    return np.array([0 if e is None else e for e in got])


def hooks_left(model) -> list[str]:
    """Where forward hooks are still registered: the model's modules by name, and torch's global module hooks."""
    from torch.nn.modules import module as module_mod

    left = [name or "(the model)" for name, m in model.named_modules() if m._forward_hooks or m._forward_pre_hooks]
    if module_mod._global_forward_hooks or module_mod._global_forward_pre_hooks:
        left.append("(a global module hook)")
    return left


def activation(fn, model, x, name):
    """``fn(model, x, name)``: a layer's output captured with a forward hook, which must be gone afterwards, returned
    as a tensor without a graph. A case is ``(model, x, layer name)``, a mistake a function like the answer."""
    import torch

    what = getattr(fn, "__name__", None) or "your function"
    got = fn(model, x, name)
    left = hooks_left(model)
    if left:
        raise CheckFailure(f"after {what}(model, x, {name!r}) hooks are still registered on {left}: keep the handle "
                           "that register_forward_hook returns and call handle.remove() (in a finally block), or every "
                           "later forward pass runs your hook again")
    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"{what} should return a tensor, got {type(got).__name__}")
    if got.requires_grad:
        raise CheckFailure("return the activation detached (output.detach(), or run the model under torch.no_grad()): "
                           "maps kept for plotting should not hold the autograd graph")
    return got


def _loss_tensor(fn, grad: tuple, errors: tuple, args) -> tuple:
    """``(fn's result, the arguments it was given)`` for :func:`a_loss` and :func:`loss_and_grad`."""
    name = getattr(fn, "__name__", None) or "your function"
    args = [a.detach().clone().requires_grad_() if i in grad else a for i, a in enumerate(args)]
    try:
        out = fn(*args)
    except Exception as err:  # noqa: BLE001 - a crash a known mistake makes says which; any other goes on to call()
        kinds = {k.__name__ for k in type(err).__mro__}
        for kind, text, why in errors:
            if kind in kinds and text in str(err):
                raise CheckFailure(f"{name} raised {type(err).__name__}: {why} ({str(err)[:200]})") from err
        raise
    if not hasattr(out, "detach"):
        raise CheckFailure(f"{name} should return a torch tensor, got {type(out).__name__}: a loss should be a torch "
                           "tensor (loss.backward() trains the model), don't call .item() here")
    if out.numel() != 1:
        raise CheckFailure(f"{name} should return one number (a 0-d tensor, the batch mean), got shape "
                           f"{tuple(out.shape)}: average over the whole batch")
    if grad and not out.requires_grad:
        raise CheckFailure(f"{name} returned a loss with no gradient: it must stay connected to the logits or images "
                           "it is computed from (torch operations only: no .detach(), .item() or NumPy inside), so "
                           "backward() can train the model")
    return out, args


def a_loss(fn, grad: tuple, errors: tuple, *args):
    """A loss as training uses it: ``fn(*args)`` must return a torch tensor holding one number (given back 0-d) that
    keeps a gradient (its value given back detached); the arguments at the indices ``grad`` are made tensors that require one (a case is ``(grad,
    errors, *args)``, a mistake a function like the answer). ``errors``: ``(exception class name, text in its message,
    why)`` triples, a crash recognised by how it happens (a known mistake that raises) fails with its ``why``."""
    return _loss_tensor(fn, grad, errors, args)[0].detach().reshape(())          # judged by value: its gradient was checked above


def _tensors(*values) -> list:
    """NumPy arrays as the tensors an exercise on tensors takes (a case keeps arrays: a NumPy-only notebook that loads
    its checks' fixtures then never imports torch); a list of arrays element by element."""
    import torch

    return [[torch.from_numpy(np.array(a)) for a in v] if isinstance(v, list) else
            torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for v in values]


def loss_and_grad(fn, x, *rest) -> tuple:
    """A loss whose gradient is part of the lesson: ``fn(x, *rest)``, ``x`` made a tensor that requires grad, must
    return a loss as :func:`a_loss` does; gives back the loss and the gradient ``loss.backward()`` puts into ``x``
    (a case is the answer's arguments, arrays handed over as tensors; a mistake a function like the answer)."""
    out, args = _loss_tensor(fn, (0,), (), _tensors(x, *rest))
    out.backward()
    return out.detach().reshape(()), args[0].grad


def keeps_graph(fn, x, params):
    """``fn(x, params)`` with ``params`` made tensors that require grad: a forward pass whose result training
    backpropagates through, so it must be a tensor that still requires grad (given back detached). A case is
    ``(x, params)``, arrays handed over as tensors; a mistake a function like the answer."""
    name = getattr(fn, "__name__", None) or "your function"
    x, params = _tensors(x, list(params))
    out = fn(x, [p.detach().clone().requires_grad_() for p in params])
    if not hasattr(out, "detach"):
        raise CheckFailure(f"{name} should return a torch tensor, got {type(out).__name__}")
    if not out.requires_grad:
        raise CheckFailure(f"the result of {name} no longer requires grad: don't detach or convert to NumPy inside it")
    return out.detach()


def with_grads(fn, params: dict, *rest) -> tuple:
    """``fn(params, *rest) -> (loss, grads)``, ``grads`` a dict with ``params``' keys and shapes, ``params`` left as
    they were (computing gradients is not updating); gives back the loss and the gradients in ``params``' order. A case
    is ``(params, *rest)``, a mistake a function like the answer."""
    name = getattr(fn, "__name__", None) or "your function"
    given = {k: v.copy() for k, v in params.items()}
    loss, grads = returns_tuple(fn(given, *rest), 2, "(loss, grads)", fn)
    for k in params:
        unchanged(params[k], given[k], f"{name} changed params[{k!r}]: computing the loss and gradients must not "
                                       "update the weights (that is the optimiser's step)")
    expect(isinstance(grads, dict) and set(grads) == set(params),
           f"grads should be a dict with keys {sorted(params)}, got "
           f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    for k, p in params.items():
        g = as_array(grads[k], f"grads[{k!r}]")
        expect(g.shape == p.shape, f"grads[{k!r}] has shape {g.shape}, expected {p.shape} (the shape of params[{k!r}])")
    return (loss, *(grads[k] for k in params))




# --- runs added for week3 ---

def convnet_run(fn, params, x, y, reg, layers="own") -> tuple:
    """A whole network's ``fn(params, x, y, reg) -> (loss, grads)``, ``grads`` one per array of ``params`` (a tuple),
    the parameters left as they were; with ``layers="avg"`` also ``layers=`` an im2col convolution and AVERAGE pooling
    (the training passes layers of its own: the answer must use what it is given). Gives back the loss and the
    gradients in order. A case is ``(params, x, y, reg, layers)``, a mistake a function like the answer."""
    name = getattr(fn, "__name__", None) or "your function"
    given = tuple(p.copy() for p in params)
    if layers == "avg":
        from helpers import scratch

        got = fn(given, x, y, reg, layers={"conv_forward": scratch.conv_forward_fast,
                                           "conv_backward": scratch.conv_backward_fast,
                                           "pool_forward": avg_pool_torch, "pool_backward": avg_pool_torch_backward})
    else:
        got = fn(given, x, y, reg)
    loss, grads = returns_tuple(got, 2, "(loss, grads)", fn)
    for before, after in zip(params, given):
        unchanged(before, after, f"{name} changed the parameters in place: it computes gradients, the update comes later")
    names = [f"d{k}{i}" for i in range(1, len(params) // 2 + 1) for k in ("w", "b")]
    grads = returns_tuple(grads, len(params), f"(loss, ({', '.join(names)})) with the gradients", fn)
    for i in range(1, len(params), 2):          # a bias gradient summed over too few axes: say which
        db = as_array(grads[i], names[i])
        expect(db.shape == params[i].shape,
               f"{names[i]} has one entry per {'filter' if i == 1 else 'unit'}, shape {params[i].shape}: sum dout over "
               f"{'the images and positions (axes 0, 2, 3)' if i == 1 else 'the images (axis 0)'}, got shape {db.shape}")
    return (loss, *grads)


def avg_pool_torch(x, pool_param):
    """PyTorch's average pooling in the course's layer contract, ``(out, cache)``: what :func:`convnet_run` passes as
    ``layers["pool_forward"]`` (the exercise's own ``avg_pool_forward`` is not in the mentee edition)."""
    import torch
    import torch.nn.functional as F

    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).requires_grad_()
    out = F.avg_pool2d(xt, (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"])
    return out.detach().numpy(), (xt, out)


def avg_pool_torch_backward(dout, cache):
    """The gradient of :func:`avg_pool_torch`'s output, by autograd."""
    import torch

    xt, out = cache
    (dx,) = torch.autograd.grad(out, xt, torch.from_numpy(np.ascontiguousarray(dout, dtype=np.float64)))
    return dx.numpy()


def filled(fn, frame: dict, reference: dict | None = None):
    """A table cleaning step as a pipeline runs it: ``fn(frame, reference)`` on pandas DataFrames made from the case's
    columns (a case is ``(columns, reference columns or None)``, dicts of lists, so the fixtures need no pandas),
    returning a new DataFrame with the frame's shape and columns, the frame passed in and its non-numeric columns left
    as they were. Gives back the numeric columns as one float array (rows, columns); a mistake is a function like the
    answer."""
    import pandas as pd

    name = getattr(fn, "__name__", None) or "your function"
    df = pd.DataFrame(frame)
    given = df.copy()
    got = fn(given, None if reference is None else pd.DataFrame(reference))
    expect(isinstance(got, pd.DataFrame), f"{name} should return a DataFrame, got {type(got).__name__}")
    expect(given.equals(df), f"{name} changed the DataFrame passed in: work on a copy (frame.fillna(...) returns one; "
                             "don't use inplace=True)")
    expect(got.shape == df.shape, f"the result has shape {got.shape}, expected {df.shape}: fill the gaps, don't drop "
                                  "rows or columns")
    expect(list(got.columns) == list(df.columns), "keep the columns (and their order) of the input")
    numeric = df.select_dtypes("number").columns
    for col in df.columns.difference(numeric):
        expect(got[col].equals(df[col]), f"leave the non-numeric column {col!r} as it is")
    return got[numeric].to_numpy(dtype=float)


def one_epoch(fn, dims, X, y, lr, batch_size, seed):
    """A training epoch as the notebook runs it: ``fn(net, X, y, lr, batch_size, rng)`` on a fresh
    ``scratch.TwoLayerNet(*dims, seed=seed)`` with ``rng = np.random.default_rng(seed)`` (a case is ``(dims, X, y,
    lr, batch_size, seed)``; a mistake is a function like the answer). Gives back the parameters after the epoch
    (W1, b1, W2, b2) and the loss it returned, where the size-weighted mean of the batch losses (as right as their
    plain mean, which the reference returns) reads as the plain mean: the batch losses are the ones the net computed
    during the call. Runs where the answer lives (:func:`helpers.checks.core.drive`)."""
    result, failure = drive(fn, _epoch, list(dims), X, y, lr, batch_size, seed)
    if failure is not None:
        raise CheckFailure(failure)
    return tuple(result)


def _epoch(fn, dims, X, y, lr, batch_size, seed):
    """:func:`one_epoch`'s run: ``(params and loss, None)`` or ``(None, what went wrong)``. Self-contained (it imports
    what it uses, reads no module global): the grader sends its source to run next to the student's function."""
    import math

    import numpy as np

    from helpers import scratch

    net = scratch.TwoLayerNet(*dims, seed=seed)
    start = {k: v.copy() for k, v in net.params.items()}
    own, seen = net.loss, []

    def loss(xb, yb):                      # the net's loss, the batch's loss and size noted on the way
        value, grads = own(xb, yb)
        seen.append((float(value), len(yb)))
        return value, grads
    net.loss = loss
    got = fn(net, X.copy(), y.copy(), lr, batch_size, np.random.default_rng(seed))
    if not isinstance(net.params, dict) or set(net.params) != set(start):
        return None, "train_epoch must keep net.params' keys (W1, b1, W2, b2)"
    if all(np.array_equal(np.asarray(net.params[k]), start[k]) for k in start):
        return None, ("the parameters did not change: update the arrays in net.params in place "
                      "(sgd_step(net.params, grads, lr), or net.params[k] -= lr * grads[k])")
    try:
        value = float(got.item() if hasattr(got, "item") else got)
    except (TypeError, ValueError):
        return None, f"train_epoch should return the epoch's loss, a number; got {type(got).__name__}"
    batches = seen[:math.ceil(len(X) / batch_size)]
    if batches:
        losses, sizes = np.array([b[0] for b in batches]), np.array([b[1] for b in batches])
        weighted = float(np.sum(losses * sizes) / np.sum(sizes))
        if math.isclose(value, weighted, rel_tol=1e-9, abs_tol=1e-12):
            value = float(np.mean(losses))
    return [np.array(net.params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")] + [value], None


def stepped(fn, kind, optimizer, seed):
    """A training step as a loop calls it: ``fn(model, xb, yb, loss_fn, optimizer)`` on three batches, one model and
    one optimizer throughout (a case is ``(kind, optimizer, seed)``: "linear" nn.Linear(3, 2) or "mlp" 4-5-3, weights
    and batches drawn from the seed; "sgd", "momentum" or "adam"; a mistake is a function like the answer). Gives back
    the parameters after each step, (3, P), and the losses returned. Runs where the answer lives
    (:func:`helpers.checks.core.drive`)."""
    result, failure = drive(fn, _steps, kind, optimizer, seed)
    if failure is not None:
        raise CheckFailure(failure)
    return tuple(result)


def _steps(fn, kind, optimizer, seed):
    """:func:`stepped`'s run: ``((parameters, losses), None)`` or ``(None, what went wrong)``. Self-contained (it
    imports what it uses, reads no module global): the grader sends its source to run next to the student's function."""
    import numbers

    import numpy as np
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(3, 2) if kind == "linear" else nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    with torch.no_grad():
        for q in model.parameters():
            q.copy_(torch.randn(q.shape, generator=g))
    n_in, n_out = (3, 2) if kind == "linear" else (4, 3)
    batches = [(torch.randn(6, n_in, generator=g), torch.randint(0, n_out, (6,), generator=g)) for _ in range(3)]
    opt = {"sgd": lambda q: torch.optim.SGD(q, lr=0.1), "momentum": lambda q: torch.optim.SGD(q, lr=0.05, momentum=0.9),
           "adam": lambda q: torch.optim.Adam(q, lr=0.01)}[optimizer](model.parameters())

    def flat():
        return torch.cat([q.detach().reshape(-1) for q in model.parameters()]).double().numpy()
    start, params, losses = flat(), [], []
    for step, (xb, yb) in enumerate(batches):
        loss = fn(model, xb, yb, nn.CrossEntropyLoss(), opt)
        if not isinstance(loss, numbers.Real) or isinstance(loss, bool):
            return None, (f"train_step should return the loss as a plain Python float (loss.item()), got "
                          f"{type(loss).__name__}: a tensor keeps the whole graph alive while you sum losses")
        params.append(flat())
        if step == 0 and np.allclose(params[0], start):
            return None, ("the parameters did not change: compute the loss, call loss.backward() and then "
                          "optimizer.step() (a zero_grad between backward and step wipes the gradients)")
        losses.append(float(loss))
    return [np.stack(params), np.array(losses)], None


__all__ = ["Exercise", "judge", "running", "over_steps", "forward_backward", "checks_of", "fixtures", "replay", "load_fixtures", "CheckFailure", "over_updates", "same_dtype", "an_int", "a_loss", "epochs", "activation", "hooks_left", "normalised", "loss_and_grad", "keeps_graph", "with_grads", "convnet_run", "avg_pool_torch", "avg_pool_torch_backward", "filled", "one_epoch", "stepped"]
