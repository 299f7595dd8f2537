"""Module exercises as records: a block or a network is judged by what it computes.

A :class:`Build` record says how the learner's class or function is called on each case (``args``, ``kwargs``),
what it should build (``reference``: the same signature, the mentor's module) and the known wrong builds
(``mistakes``: why -> a wrong answer of the same signature). Judging a case takes four steps, each of which
names a known mistake when the learner's module matches one there:

1. the number of parameters (the paper's count where a case gives one);
2. the output shape for the case's input (and a crash that a known mistake reproduces);
3. the output values in eval mode, with the reference's weights loaded into the learner's module (mapped by
   registration order, else unit by unit by shape), so a missing or extra parameterless layer, the order of
   layers and swapped widths all count;
4. the same in train mode (BatchNorm on the batch's statistics, dropout under the same seed), then the running
   statistics that step leaves.

The reference's weights are not its own: every tensor is drawn from the case's seed by a rule that depends on
its layer only (:func:`_draw`; BatchNorm gets random statistics, so a BatchNorm in the wrong place shows).
So :meth:`Build.expect` can turn a case into data -- the tensors' names, shapes and rules, the reference's
outputs, each mistake's parameter count, crash, shape and a sample of its outputs -- and the mentee
edition's checks judge from that data alone (:func:`records.fixtures`), with the same messages.
"""
from __future__ import annotations

import copy
import itertools
import pickle
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .core import CheckFailure, call, check_param_count, class_names, expect, forbid

SAMPLE = 512          # a mistake's output is kept as this many values (fixed positions): enough to tell mistakes apart


def case(*args, x, params=None, dtype=torch.float64, attrs=None, seed=0, draw="normal", scale=1.0, parts=None,
         **kwargs) -> dict:
    """One case of a :class:`Build`: the answer is called as ``answer(*args, **kwargs)`` and run on an input of shape
    ``x`` drawn from ``seed`` (``draw``: "normal", or "uniform" on [0, 1), times ``scale``) in ``dtype``; ``params``:
    the parameter count it must have (default: the reference's); ``attrs``: attributes it must have, ``{name:
    value}`` (missing ones are not asked); ``parts``: ``{name: shape}``, a submodule the module must have and the
    shape it gives for the input (None: any)."""
    return dict(args=tuple(args), kwargs=dict(kwargs), x=tuple(x), params=params, dtype=str(dtype).replace("torch.", ""),
                attrs=dict(attrs or {}), seed=seed, draw=draw, scale=scale, parts=dict(parts or {}))


_EXPECTED: dict = {}   # (id of a Build, its case) -> (the Build, Build.expect's data): the Build kept, so ids stay its own


@dataclass(frozen=True)
class Build:
    name: str                                   # the check is check_<name>
    reference: Callable | None                  # the answer's signature -> the right module (None in the mentee edition)
    cases: Callable[[bool], list]               # hidden -> [case(...)], the visible ones first
    hint: str
    answer: str = ""                            # the learner's class or function as the notebook names it
    mistakes: dict = field(default_factory=dict)   # why -> a wrong answer (the same signature)
    also_right: tuple = ()                      # other answers that count as right (a documented variant)
    describe: Callable | None = None            # (*args, **kwargs) -> "Inception(192, 64, ...)"
    forbidden: dict = field(default_factory=dict)  # dotted name -> why: the answer may not use, be, or hold it
    holds: dict = field(default_factory=dict)      # torch layer class name -> why, when the module has none of it
    never: dict = field(default_factory=dict)      # torch layer class name -> why, when the module has one
    parts: str = ""                             # why a case's parts (submodules) are needed, when one is missing
    children: tuple = ()                        # names the module's children must include (the paper's layer names)

    kind = "build"                              # how records.fixtures / records.replay tell it from an Exercise
    answers = ()
    run = None

    def what(self, c) -> str:
        if self.describe:
            return self.describe(*c["args"], **c["kwargs"])
        shown = [*map(repr, c["args"]), *(f"{k}={v!r}" for k, v in c["kwargs"].items())]
        return f"{self.answer or self.name}({', '.join(shown)})"

    def expect(self, c) -> dict:
        """What judging ``c`` needs, as data (tensors, numbers, strings): computed once per process and case, handed
        out as a copy (an answer that writes into what it is given changes nothing for the next one)."""
        key = (id(self), pickle.dumps(c))           # every value in full (a repr would elide a large array's)
        hit = _EXPECTED.get(key)
        if hit is None or hit[0] is not self:
            build = lambda fn: fn(*copy.deepcopy(c["args"]), **copy.deepcopy(c["kwargs"]))   # noqa: E731
            hit = _EXPECTED[key] = (self, expected(build(self.reference), [build(f) for f in self.also_right],
                                                   [(lambda f=f: build(f), why) for why, f in self.mistakes.items()], c))
        return copy.deepcopy(hit[1])

    def check(self, fn, hidden: bool = False) -> None:
        for c in self.cases(hidden):
            judge_build(self, fn, c, self.expect(c), self.what(c))


def judge_build(ex, fn, c, want: dict, what: str) -> None:
    """Build the learner's module for case ``c`` and judge it against ``want`` (:meth:`Build.expect`)."""
    student = call(fn, *copy.deepcopy(c["args"]), hint=f"{what}: {ex.hint}", **copy.deepcopy(c["kwargs"]))
    expect(isinstance(student, nn.Module), f"{what} should be an nn.Module, got {type(student).__name__}")
    if ex.forbidden:
        for name in class_names(fn) + [n for m in student.modules() for n in class_names(type(m))]:
            for rule, why in ex.forbidden.items():
                if name.startswith(rule + "."):
                    raise CheckFailure(f"{what} is built on {name}: {why}")
        forbid(fn, ex.forbidden, what)
    kinds = {type(m).__name__ for m in student.modules() if type(m).__module__.startswith("torch.")}
    for kind, why in ex.holds.items():
        expect(kind in kinds, f"{what} has no nn.{kind}: {why}")
    for kind, why in ex.never.items():
        expect(kind not in kinds, f"{what} has an nn.{kind}: {why}")
    names = [n for n, _ in student.named_children()]
    missing = [n for n in ex.children if n not in names]
    expect(not missing, f"the model has no layer named {missing} (it has {names}): name the layers as asked. {ex.hint}")
    if c["parts"]:
        x = _input(c)
        for name, shape in c["parts"].items():
            part = getattr(student, name, None)
            expect(isinstance(part, nn.Module), f"{what} needs a .{name} (an nn.Module, e.g. nn.Sequential): {ex.parts}")
            if shape is not None:
                got = tuple(_run(part, x.to(next(iter(part.parameters()), x).dtype), f"{what}.{name}", ex.hint).shape)
                expect(got == tuple(shape), f"{what}.{name}(x) for x of shape {tuple(x.shape)} has shape {got}, "
                                            f"expected {tuple(shape)}: {ex.parts}")
    judge_module(student, want, what, ex.hint)
    for attr, value in c["attrs"].items():
        expect(getattr(student, attr, value) == value, f"{what}.{attr} should be {value}")


# --------------------------------------------------------------------------------------------
# the reference's tensors: drawn from a seed by a rule per layer, so data can say what they are
# --------------------------------------------------------------------------------------------

def _named(module: nn.Module, recurse: bool = True, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """(state-dict name, tensor) of the module's parameters, then its buffers."""
    own = list(module.named_parameters(recurse=recurse)) + list(module.named_buffers(recurse=recurse))
    return [(f"{prefix}.{name}" if prefix else name, t) for name, t in own]


def _units(module: nn.Module) -> list[list[str]]:
    """The module's tensor names in registration order, grouped in units: a torch layer's tensors (a conv's weight
    and bias, a BatchNorm's), each tensor of a module of the learner's own (raw nn.Parameters) alone."""
    units = []
    for prefix, m in module.named_modules():
        own = [n for n, _ in _named(m, recurse=False, prefix=prefix)]
        units += ([own] if own else []) if type(m).__module__.startswith("torch.") else [[n] for n in own]
    return units


def _rules(module: nn.Module) -> dict[str, str]:
    """Tensor name -> how :func:`_draw` fills it: BatchNorm's four ("bn.weight", ...), a counter, or
    "uniform <bound>" with PyTorch's default bound 1 / sqrt(fan_in) of the layer's weight."""
    rules = {}
    for prefix, m in module.named_modules():
        own = _named(m, recurse=False, prefix=prefix)
        w = dict(own).get(f"{prefix}.weight" if prefix else "weight")
        fan_in = w[0].numel() if w is not None and w.dim() > 1 else None
        for name, t in own:
            last = name.rsplit(".", 1)[-1]
            if not t.is_floating_point():
                rules[name] = "keep"
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                rules[name] = "bn." + last
            else:
                fan = fan_in or (t[0].numel() if t.dim() > 1 else t.numel())
                rules[name] = f"uniform {1 / max(fan, 1) ** 0.5!r}"
    return rules


def _draw(spec: list, seed: int, dtype) -> dict[str, torch.Tensor]:
    """The reference's tensors for a case: ``spec`` is [(name, shape, rule)], drawn in order from ``seed``."""
    g = torch.Generator().manual_seed(1000 + seed)
    out = {}
    for name, shape, rule in spec:
        if rule == "keep":
            out[name] = torch.zeros(shape, dtype=torch.long)
            continue
        t = torch.empty(shape, dtype=torch.float64)
        if rule in ("bn.weight", "bn.running_var"):
            t.uniform_(0.5, 1.5, generator=g)
        elif rule in ("bn.bias", "bn.running_mean"):
            t.normal_(0.0, 0.5, generator=g)
        else:
            bound = float(rule.split()[1])
            t.uniform_(-bound, bound, generator=g)
        out[name] = t.to(dtype)
    return out


def _input(c) -> torch.Tensor:
    g = torch.Generator().manual_seed(c["seed"])
    draw = torch.rand if c["draw"] == "uniform" else torch.randn
    return (draw(c["x"], generator=g, dtype=torch.float64) * c["scale"]).to(getattr(torch, c["dtype"]))


class _Weights:
    """A reference as data: its tensors (drawn) in registration order and grouped in units."""

    def __init__(self, spec, units, seed, dtype):
        self.values = _draw(spec, seed, dtype)
        self.named = list(self.values.items())
        self.units = [[(n, self.values[n]) for n in u] for u in units]


def _pairings(src: _Weights, dst: nn.Module, limit: int = 24):
    """Candidate lists of (source, destination) pairs of named tensors, most likely first: registration order when
    the shapes agree; then unit by unit, source units matched with destination units of the same shapes (a shortcut
    defined before the convolutions), every order of units that share their shapes (a bottleneck's conv3 and
    projection), up to ``limit``."""
    a, b = src.named, _named(dst)
    if len(a) == len(b) and all(x.shape == y.shape for (_, x), (_, y) in zip(a, b)):
        yield list(zip(a, b))
    tensors = dict(b)
    su, du = src.units, [[(n, tensors[n]) for n in u] for u in _units(dst)]
    key = lambda u: tuple(tuple(t.shape) for _, t in u)  # noqa: E731
    groups = {}
    for u in du:
        groups.setdefault(key(u), []).append(u)
    if sorted(map(key, su)) != sorted(map(key, du)):
        return
    orders = [list(itertools.permutations(g)) for g in groups.values()]
    for n, choice in enumerate(itertools.product(*orders)):
        if n >= limit:
            return
        queues = {k: list(c) for k, c in zip(groups, choice)}
        yield [pair for u in su for pair in zip(u, queues[key(u)].pop(0))]


def _with_weights(src: _Weights | None, dst: nn.Module, dtype):
    """(a copy of ``dst`` in ``dtype`` holding ``src``'s tensors, the pairs used), one per candidate pairing; ``src``
    None: the copy as it is. (For the learner's module judged from outside their kernel the copy is of its mirror:
    the kernel runs it with these tensors.)"""
    dst = copy.deepcopy(dst).to(dtype)
    if src is None:
        yield dst, []
        return
    for pairs in _pairings(src, dst):
        with torch.no_grad():
            for (_, a), (_, b) in pairs:
                b.copy_(a)
        yield dst, pairs


def _loaded(src, dst, dtype):
    return next((m for m, _ in _with_weights(src, dst, dtype)), None)


def _n(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _close(a, b) -> bool:
    """Same shape and values; float64 tolerances, float32's for an answer that computes in float32."""
    if not (torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape):
        return False
    loose = torch.float64 not in (a.dtype, b.dtype)
    return torch.allclose(a.double(), b.double(), rtol=1e-4 if loose else 1e-6, atol=1e-5 if loose else 1e-8)


def _sample(t: torch.Tensor | None):
    """``(shape, values at SAMPLE fixed positions)`` of an output: what a mistake's output is kept as."""
    if t is None:
        return None
    flat = t.detach().reshape(-1)
    if flat.numel() > SAMPLE:
        flat = flat[torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(5))[:SAMPLE].sort().values]
    return tuple(t.shape), flat.clone()


def _fits(out: torch.Tensor, sample) -> bool:
    return sample is not None and tuple(out.shape) == sample[0] and _close(_sample(out)[1], sample[1])


def _run(module: nn.Module, x: torch.Tensor, what: str, hint: str, train: bool = False):
    """``module(x)``, a tensor, in eval mode (or train mode, dropout seeded), without gradients, on a copy of ``x``;
    a module that changes its input in place fails (the shortcut would add the changed tensor)."""
    was, given = module.training, x.clone()
    module.train(train)
    torch.manual_seed(7)
    try:
        with torch.no_grad():
            out = call(module, given, hint=f"for an input of shape {tuple(x.shape)}. {hint}")
    finally:
        module.train(was)
    if not torch.equal(given, x):
        raise CheckFailure(f"{what} changes its input tensor in place (an in-place ReLU on x, or += on x or on "
                           f"nn.Identity()(x), which is x itself): the shortcut then adds the changed tensor and "
                           f"autograd fails in training; write out = ... + x. {hint}")
    if not torch.is_tensor(out):
        raise CheckFailure(f"{what} returned a {type(out).__name__} for an input of shape {tuple(x.shape)}, "
                           f"expected a tensor. {hint}")
    return out


def _quiet(module, x, train=False):
    """``module(x)`` as :func:`_run` runs it, or the ``"Type: message"`` of the exception it raises."""
    try:
        return _run(module, x, "", "", train), None
    except CheckFailure as err:
        cause = err.__cause__
        return None, (f"{type(cause).__name__}: {cause}" if cause is not None else "CheckFailure")


# --------------------------------------------------------------------------------------------
# the expected side: a reference (and its mistakes) turned into data
# --------------------------------------------------------------------------------------------

def expected(reference: nn.Module, also_right, mistakes, c: dict) -> dict:
    """What judging case ``c`` needs: the parameter count, for each right module (the reference first) its tensors'
    spec and outputs in eval and train mode and the buffers after the train step, and for each mistake ``(factory,
    why)`` its count, crash, output shape and samples of its outputs with each right module's tensors. The input is
    drawn again from the case's seed on either side."""
    dtype = getattr(torch, c["dtype"])
    x = _input(c)
    goods = []
    for good in (reference, *also_right):
        rules = _rules(good)
        spec = [(n, tuple(t.shape), rules[n]) for n, t in _named(good)]
        weights = _Weights(spec, _units(good), c["seed"], dtype)
        mine, pairs = next(_with_weights(weights, good, dtype))
        out = _run(mine, x, "the reference", "")
        train_out = _run(mine, x, "the reference", "", train=True)
        buffers = {n for n, _ in good.named_buffers()}
        after = {n: t.detach().clone() for n, t in mine.state_dict().items() if n in buffers}
        goods.append(dict(spec=spec, units=_units(good), out=out, train_out=train_out, after=after, weights=weights))
    wrongs = []
    for factory, why in mistakes:
        try:
            wrong = factory()
        except Exception:  # noqa: BLE001 - a mistake that cannot be built for this case never fires on it
            continue
        own = _loaded(None, wrong, dtype)
        got, crash = _quiet(own, x)
        row = dict(why=why, params=_n(wrong), crash=crash, shape=None if got is None else tuple(got.shape),
                   eval=None, train=[])
        for k, good in enumerate(goods):
            loaded = _loaded(good["weights"], wrong, dtype)
            if loaded is not None and k == 0:
                row["eval"] = _sample(_quiet(loaded, x)[0])
            row["train"].append(None if loaded is None else _sample(_quiet(loaded, x, train=True)[0]))
        wrongs.append(row)
    for good in goods:
        del good["weights"]
    return dict(case={k: c[k] for k in ("x", "dtype", "seed", "draw", "scale")},
                params=_n(reference) if c["params"] is None else c["params"], goods=goods, wrongs=wrongs)


# --------------------------------------------------------------------------------------------
# the judging side: the learner's module against that data (the mentor's checks and the mentee's alike)
# --------------------------------------------------------------------------------------------

def judge_module(student: nn.Module, want: dict, what: str, hint: str) -> None:
    """Fail unless ``student`` computes what ``want`` (:func:`expected`) describes, naming a known mistake where it
    matches one."""
    c, wrongs = want["case"], want["wrongs"]
    dtype = getattr(torch, c["dtype"])
    x = _input(c)
    got_params, expected_params = _n(student), want["params"]
    if got_params != expected_params:
        why = next((w["why"] for w in wrongs if w["params"] == got_params), None)
        if why:
            raise CheckFailure(f"{what} has {got_params:,} parameters, expected {expected_params:,}: {why}")
        check_param_count(student, expected_params, f"{what}: {hint}")
    ref_out = want["goods"][0]["out"]
    try:
        out = _run(_loaded(None, student, dtype), x, what, hint)
    except CheckFailure as err:
        cause = err.__cause__
        if cause is not None and not isinstance(cause, NotImplementedError):
            mine = f"{type(cause).__name__}: {cause}"
            why = next((w["why"] for w in wrongs if w["crash"] == mine), None)
            if why:
                raise CheckFailure(f"{what} raised {type(cause).__name__} for an input of shape {tuple(x.shape)}: "
                                   f"{why}") from cause
        raise
    twice = _loaded(None, student, dtype).eval()
    with torch.no_grad():                    # not reseeded in between: a dropout that ignores the mode shows
        first, second = call(twice, x.clone(), hint=hint), call(twice, x.clone(), hint=hint)
    expect(not torch.is_tensor(first) or torch.equal(first, second), "in eval mode two forward passes of the same batch "
           "must agree: dropout must follow the model's mode (nn.Dropout, or F.dropout(x, p, training=self.training))")
    if out.shape != ref_out.shape:
        why = next((w["why"] for w in wrongs if w["shape"] == tuple(out.shape)), None)
        raise CheckFailure(f"for an input of shape {tuple(x.shape)} {what} returns shape {tuple(out.shape)}, "
                           f"expected {tuple(ref_out.shape)}" + (f": {why}" if why else f". {hint}"))
    goods = [(k, g, _Weights(g["spec"], g["units"], c["seed"], dtype)) for k, g in enumerate(want["goods"])]
    for k, good, weights in goods:
        for mine, pairs in _with_weights(weights, student, dtype):
            if _close(_run(mine, x, what, hint), good["out"]):
                return _judge_train(mine, pairs, k, good, x, what, hint, wrongs)
    mine = _loaded(goods[0][2], student, dtype)
    if mine is None:
        raise CheckFailure(f"{what} has the right number of parameters but tensors of other shapes than "
                           f"the expected module, so weights cannot be copied across. {hint}")
    got = _run(mine, x, what, hint)
    why = next((w["why"] for w in wrongs if _fits(got, w["eval"])), None)
    if why:
        raise CheckFailure(f"{what} computes something else than the exercise asks for: {why}")
    worst = float((got.double() - ref_out.double()).abs().max())
    raise CheckFailure(f"with the reference's weights copied in, {what}'s output differs by up to {worst:.3g}. {hint}")


def _judge_train(mine, pairs, k, good, x, what, hint, wrongs):
    """Eval mode agreed: the same in train mode (BatchNorm on the batch's statistics, dropout with the same seed),
    output and then the buffers (BatchNorm's running statistics after one step)."""
    out = _run(mine, x, what, hint, train=True)
    if not _close(out, good["train_out"]):
        why = next((w["why"] for w in wrongs if k < len(w["train"]) and _fits(out, w["train"][k])), None)
        if why:
            raise CheckFailure(f"in train mode {what} computes something else than the exercise asks for: {why}")
        ref_out = good["train_out"]
        worst = float((out.double() - ref_out.double()).abs().max()) if out.shape == ref_out.shape else float("nan")
        raise CheckFailure(f"{what} agrees with the expected module in eval mode but not in train mode (BatchNorm on the "
                           f"batch's statistics, dropout with the same seed): the output differs by up to {worst:.3g}. "
                           f"A dropout or an .eval() that should not be there, or in another place or with another p? {hint}")
    state = mine.state_dict()
    for (src, _), (dst, _) in pairs:
        if src in good["after"] and not _close(state[dst].double(), good["after"][src].double()):
            raise CheckFailure(f"after one forward pass in train mode {what}'s {dst} differs from the expected module's: "
                               f"keep nn.BatchNorm2d's defaults (momentum=0.1, eps=1e-5: the running statistics move "
                               f"10 % towards the batch's). {hint}")


__all__ = ["Build", "case", "expected", "judge_build", "judge_module"]
