"""Checks for week 3's paper notebooks (07 AlexNet, 08 VGG, 09 GoogLeNet, 10 Xception, 11 ResNet).

Each graded exercise is a building block of one paper, written as ``torch.nn`` modules. A check
builds the block the paper describes (from :mod:`helpers.models`, whose full networks reproduce the
papers' and torchvision's parameter counts, tests/test_models.py) and compares the student's block
with it, all with the shared core (:mod:`helpers.checks.core`):

0. the answer may not use, be or subclass the reference (``FORBIDDEN``: helpers.models, torchvision.models);
1. the exact parameter count (the paper's tables: AlexNet's conv2 with two GPU groups, VGG-16's
   14,714,688 convolution weights, Inception 3a, Xception's middle flow, ResNet-50's 25,557,032);
2. the output shape for a fixed input;
3. with the reference's weights copied in, the same output (float64; float32 tolerances for an answer
   that computes in float32) in eval mode, then in train mode (BatchNorm on batch statistics, dropout
   with the same seed; the running statistics after that step too), the input left unchanged.

Each of the three is also computed for a table of known mistakes (pooling 2/2 instead of 3/2, LRN
with PyTorch's default k=1, groups ignored, 'M' not pooling, no 1x1 reductions, concatenation on the
wrong dim, depthwise and pointwise swapped, a shortcut that projects only when the channels change),
so an answer that matches a mistake fails with that mistake's hint. ``hidden=True`` adds other
configurations (other widths, strides, inputs) so an answer tuned to the public case fails.
"""
from __future__ import annotations

import copy
import itertools
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

import importlib

_goog = importlib.import_module("helpers.models.googlenet")   # the modules (the package re-exports
_res = importlib.import_module("helpers.models.resnet")       # functions of the same names)
_vggmod = importlib.import_module("helpers.models.vgg")
_xc = importlib.import_module("helpers.models.xception")

from .core import CheckFailure, call, check_param_count, class_names, expect, forbid, isolated
from .records import Exercise, checks_of

__all__ = [
    "check_alexnet_layer", "check_vgg_features", "check_inception", "check_inception_aux",
    "check_separable_conv", "check_middle_flow_block", "check_basic_block", "check_bottleneck",
    "check_zero_pad_shortcut", "check_crop_and_flip", "check_googlenet_loss",
]


# --------------------------------------------------------------------------------------------
# comparing a student's module with a reference and with known mistakes
# --------------------------------------------------------------------------------------------

def _n(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# an exercise is to write the block: the reference the check compares with (and torchvision's) is off limits
FORBIDDEN = {
    "helpers.models": "helpers.models holds the reference the check compares with: write the block yourself",
    "torchvision.models": "torchvision's blocks are what the exercise is about: write the block yourself",
}


def _no_reference(answer, module, what: str) -> None:
    """Fail if the answer (a function or class) uses, is or subclasses a forbidden reference, or if the module it
    built holds a layer of such a class (read from the source, the class's MRO and the module's layers)."""
    names = class_names(answer) + [n for m in module.modules() for n in class_names(type(m))]
    for name in names:
        for rule, why in FORBIDDEN.items():
            if name.startswith(rule + "."):
                raise CheckFailure(f"{what} is built on {name}: {why}")
    forbid(answer, FORBIDDEN, what)


def _build(factory, what: str, hint: str) -> nn.Module:
    module = call(factory, hint=hint)
    expect(isinstance(module, nn.Module), f"{what} should be an nn.Module, got {type(module).__name__}")
    return module


def _named(module: nn.Module, recurse: bool = True, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """(state-dict name, tensor) of the module's parameters, then its buffers."""
    own = list(module.named_parameters(recurse=recurse)) + list(module.named_buffers(recurse=recurse))
    return [(f"{prefix}.{name}" if prefix else name, t) for name, t in own]


def _units(module: nn.Module) -> list[list[tuple[str, torch.Tensor]]]:
    """The module's named tensors in registration order, grouped in units: a torch layer's tensors (a conv's
    weight and bias, a BatchNorm's), each tensor of a module of the student's own (raw nn.Parameters)."""
    units = []
    for prefix, m in module.named_modules():
        own = _named(m, recurse=False, prefix=prefix)
        units += ([own] if own else []) if type(m).__module__.startswith("torch.") else [[t] for t in own]
    return units


def _pairings(src: nn.Module, dst: nn.Module, limit: int = 24):
    """Candidate lists of (source, destination) pairs of named tensors, most likely first: registration
    order when the shapes agree; then unit by unit, source units matched with destination units of the
    same shapes (a shortcut defined before the convolutions), every order of units that share their
    shapes (a bottleneck's conv3 and projection), up to ``limit``."""
    a, b = _named(src), _named(dst)
    if len(a) == len(b) and all(x.shape == y.shape for (_, x), (_, y) in zip(a, b)):
        yield list(zip(a, b))
    su, du = _units(src), _units(dst)
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


def _close(a, b) -> bool:
    """Same shape and values; float64 tolerances, float32's for an answer that computes in float32."""
    if not (torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape):
        return False
    loose = torch.float64 not in (a.dtype, b.dtype)
    return torch.allclose(a.double(), b.double(), rtol=1e-4 if loose else 1e-6, atol=1e-5 if loose else 1e-8)


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


def _crash(module, x) -> str | None:
    """'Type: message' of the exception ``module(x)`` raises (eval mode, no grad), or None."""
    try:
        _run(module, x, "", "")
    except CheckFailure as err:
        cause = err.__cause__
        return f"{type(cause).__name__}: {cause}" if cause is not None else None
    return None


def _student_run(student, x, what, hint, wrongs):
    """The student's output; a crash that a known mistake reproduces exactly fails with its hint."""
    try:
        return _run(student, x, what, hint)
    except CheckFailure as err:
        cause = err.__cause__
        if cause is not None and not isinstance(cause, NotImplementedError):
            mine = f"{type(cause).__name__}: {cause}"
            for wrong, why in wrongs():
                if _crash(_same_weights(wrong, wrong, x.dtype), x) == mine:
                    raise CheckFailure(f"{what} raised {type(cause).__name__} for an input of shape "
                                       f"{tuple(x.shape)}: {why}") from cause
        raise


def _same_weights(src: nn.Module, dst: nn.Module, dtype=torch.float64) -> nn.Module | None:
    """A copy of ``dst`` in ``dtype`` holding ``src``'s weights (None if they do not fit)."""
    return next((m for m, _ in _with_weights(src, dst, dtype)), None)


def _with_weights(src: nn.Module, dst: nn.Module, dtype=torch.float64):
    """(copy of ``dst`` in ``dtype`` holding ``src``'s weights, the pairs used), one per candidate pairing (for the
    student's block judged from outside their kernel, the copy is of its mirror: the kernel runs it with these
    weights)."""
    dst = copy.deepcopy(dst).to(dtype)
    for pairs in _pairings(src, dst):
        with torch.no_grad():
            for (_, a), (_, b) in pairs:
                b.copy_(a)
        yield dst, pairs


def _randomize_batchnorm(module: nn.Module) -> None:
    """Give every BatchNorm of a (reference) module random statistics and affine parameters: fresh
    ones compute x / sqrt(1 + eps) in eval mode, which would hide a BatchNorm put after a ReLU."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.5)
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 1.5)


def _matching_mistake(wrongs, x, fits, src=None, train=False):
    """The hint of the first known mistake whose output (with ``src``'s weights, else its own) ``fits``."""
    for wrong, why in wrongs():
        w = _same_weights(wrong if src is None else src, wrong, x.dtype)
        try:
            if w is not None and fits(_run(w, x, "", "", train)):
                return why
        except (CheckFailure, RuntimeError):
            continue
    return None


def _compare_train(mine, pairs, good, x, what, hint, wrongs):
    """Eval mode agreed: the same in train mode (BatchNorm on the batch's statistics, dropout with the same
    seed), output and then every tensor (BatchNorm's running statistics after one step)."""
    ref = _same_weights(good, good, x.dtype)
    ref_out, out = _run(ref, x, "the reference", "", train=True), _run(mine, x, what, hint, train=True)
    if not _close(out, ref_out):
        why = _matching_mistake(wrongs, x, lambda o: _close(out, o), good, train=True)
        if why:
            raise CheckFailure(f"in train mode {what} computes something else than the exercise asks for: {why}")
        worst = float((out.double() - ref_out).abs().max()) if out.shape == ref_out.shape else float("nan")
        raise CheckFailure(f"{what} agrees with the expected module in eval mode but not in train mode (BatchNorm on the "
                           f"batch's statistics, dropout with the same seed): the output differs by up to {worst:.3g}. "
                           f"A dropout or an .eval() that should not be there, or in another place or with another p? {hint}")
    mine_state, ref_state, buffers = mine.state_dict(), ref.state_dict(), dict(good.named_buffers())
    for (src, _), (dst, _) in pairs:
        if src in buffers and not _close(mine_state[dst].double(), ref_state[src].double()):
            raise CheckFailure(f"after one forward pass in train mode {what}'s {dst} differs from the expected module's: "
                               f"keep nn.BatchNorm2d's defaults (momentum=0.1, eps=1e-5: the running statistics move "
                               f"10 % towards the batch's). {hint}")


def _compare_module(student: nn.Module, reference: nn.Module, x: torch.Tensor, what: str, hint: str,
                    mistakes=(), extra_ok=(), params: int | None = None, dtype=torch.float64):
    """Fail unless ``student`` matches ``reference``: parameters, output shape and (weights copied from the
    reference, in ``dtype``) output values in eval mode, then in train mode. ``mistakes``: ``(factory, why)``
    pairs, a factory building the wrong module (built only when needed), tried first at each stage;
    ``extra_ok``: other modules that count as right (a documented variant)."""
    for good in (reference, *extra_ok):
        _randomize_batchnorm(good)
    built = {}

    def wrongs():
        for i, (factory, why) in enumerate(mistakes):
            if i not in built:
                built[i] = factory() if not isinstance(factory, nn.Module) else factory
            yield built[i], why

    expected_params = _n(reference) if params is None else params
    got_params = _n(student)
    if got_params != expected_params:
        for wrong, why in wrongs():
            if _n(wrong) == got_params:
                raise CheckFailure(f"{what} has {got_params:,} parameters, expected {expected_params:,}: {why}")
        check_param_count(student, expected_params, hint)
    x = x.to(dtype)
    ref_out = _run(_same_weights(reference, reference, dtype), x, "the reference", "")
    out = _student_run(_same_weights(student, student, dtype), x, what, hint, wrongs)
    if out.shape != ref_out.shape:
        why = _matching_mistake(wrongs, x, lambda o: o.shape == out.shape)
        raise CheckFailure(f"for an input of shape {tuple(x.shape)} {what} returns shape {tuple(out.shape)}, "
                           f"expected {tuple(ref_out.shape)}" + (f": {why}" if why else f". {hint}"))
    for good in (reference, *extra_ok):
        good_out = ref_out if good is reference else _run(_same_weights(good, good, dtype), x, "the reference", "")
        for mine, pairs in _with_weights(good, student, dtype):
            if _close(_run(mine, x, what, hint), good_out):
                return _compare_train(mine, pairs, good, x, what, hint, wrongs)
    mine = _same_weights(reference, student, dtype)
    if mine is None:
        raise CheckFailure(f"{what} has the right number of parameters but tensors of other shapes than "
                           f"the expected module, so weights cannot be copied across. {hint}")
    got = _run(mine, x, what, hint)
    why = _matching_mistake(wrongs, x, lambda o: _close(got, o), reference)
    if why:
        raise CheckFailure(f"{what} computes something else than the exercise asks for: {why}")
    worst = float((got.double() - ref_out).abs().max())
    raise CheckFailure(f"with the reference's weights copied in, {what}'s output differs by up to {worst:.3g}. {hint}")


# --------------------------------------------------------------------------------------------
# 07 · AlexNet: conv (+ groups) -> ReLU -> LRN -> overlapping max pool
# --------------------------------------------------------------------------------------------

ALEX_HINT = ("conv (groups=groups) -> ReLU -> [nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0) if lrn] "
             "-> [nn.MaxPool2d(kernel_size=3, stride=2) if pool] (Sections 3.1-3.4)")


def _alex(c_in, c_out, kernel, stride, padding, groups, lrn, pool, *, lrn_args=(5, 1e-4, 0.75, 2.0),
          pool_args=(3, 2), relu=True, lrn_first=False, use_groups=True):
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups if use_groups else 1)]
    norm = [nn.LocalResponseNorm(lrn_args[0], alpha=lrn_args[1], beta=lrn_args[2], k=lrn_args[3])] if lrn else []
    act = [nn.ReLU()] if relu else []
    layers += norm + act if lrn_first else act + norm
    if pool:
        layers.append(nn.MaxPool2d(*pool_args))
    return nn.Sequential(*layers)


def _alex_cases(hidden):
    #        c_in, c_out, kernel, stride, padding, groups, lrn, pool, input size
    cases = [(96, 256, 5, 1, 2, 2, True, True, 15),          # the paper's conv2 (on each GPU: 48 -> 128)
             (3, 96, 11, 4, 2, 1, True, True, 63)]           # conv1 (smaller input than 224)
    if hidden:
        cases += [(384, 256, 3, 1, 1, 2, False, True, 13),   # conv5
                  (256, 384, 3, 1, 1, 1, False, False, 13),  # conv3: crosses GPUs, no pooling
                  (8, 12, 3, 1, 1, 4, True, False, 9)]
    return cases


@isolated
def check_alexnet_layer(alexnet_layer, hidden: bool = False) -> None:
    """``alexnet_layer(c_in, c_out, *, kernel, stride, padding, groups, lrn, pool)`` -> nn.Module."""
    for c_in, c_out, k, s, p, g, lrn, pool, size in _alex_cases(hidden):
        args = dict(kernel=k, stride=s, padding=p, groups=g, lrn=lrn, pool=pool)
        what = f"alexnet_layer({c_in}, {c_out}, {', '.join(f'{a}={v}' for a, v in args.items())})"
        student = _build(lambda: alexnet_layer(c_in, c_out, **args), what, ALEX_HINT)
        _no_reference(alexnet_layer, student, what)
        ref = _alex(c_in, c_out, k, s, p, g, lrn, pool)
        mistakes = [
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, use_groups=False),
             "groups ignored: with groups=2 each half of the kernels sees only half of the input channels "
             "(the two GPUs), pass groups= to nn.Conv2d"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, pool_args=(2, 2)),
             "pooling 2/2 instead of the paper's overlapping 3x3 windows with stride 2 (Section 3.4)"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, lrn_args=(5, 1e-4, 0.75, 1.0)),
             "nn.LocalResponseNorm's default k=1.0: the paper uses k=2 (Section 3.3)"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, lrn_args=(5, 1e-4, 0.5, 2.0)),
             "LRN beta should be 0.75 (Section 3.3: k=2, n=5, alpha=1e-4, beta=0.75)"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, lrn_args=(3, 1e-4, 0.75, 2.0)),
             "LRN size n should be 5 neighbouring channels (Section 3.3)"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, lrn_args=(5, 1e-3, 0.75, 2.0)),
             "LRN alpha should be 1e-4 (Section 3.3)"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, lrn_first=True),
             "LRN comes after the ReLU: it normalises the rectified responses (Section 3.3)"),
            (lambda: _alex(c_in, c_out, k, s, p, g, lrn, pool, relu=False), "the ReLU after the convolution is missing"),
        ]
        if not lrn:
            mistakes.append((lambda: _alex(c_in, c_out, k, s, p, g, True, pool), "lrn=False: no LocalResponseNorm in this layer"))
        if not pool:
            mistakes.append((lambda: _alex(c_in, c_out, k, s, p, g, lrn, True), "pool=False: no max pooling in this layer"))
        x = torch.randn(1, c_in, size, size)
        _compare_module(student, ref, x, what, ALEX_HINT, mistakes)


# --------------------------------------------------------------------------------------------
# 08 · VGG: the configuration table as data -> the convolutional part of the network
# --------------------------------------------------------------------------------------------

VGG_HINT = ("for each entry: an int w -> nn.Conv2d(c, w, kernel_size=3, padding=1) [+ nn.BatchNorm2d(w)] + nn.ReLU(), "
            "then c = w; 'M' -> nn.MaxPool2d(kernel_size=2, stride=2) (Section 2.1)")


def _vgg(cfg, in_channels, batch_norm, *, relu=True, pool=(2, 2), skip_m=False, bn_after_relu=False, padding=1):
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            if not skip_m:
                layers.append(nn.MaxPool2d(*pool))
            continue
        layers.append(nn.Conv2d(c, v, 3, padding=padding))
        tail = ([nn.BatchNorm2d(v)] if batch_norm else [])
        act = [nn.ReLU()] if relu else []
        layers += act + tail if bn_after_relu else tail + act
        c = v
    return nn.Sequential(*layers)


# Table 1 column D (VGG-16) in torchvision's list notation: every int a 3x3 conv, "M" a max pool
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
VGG16_CONV_PARAMS = 14_714_688       # 138,357,544 (Table 2's "138M") minus the three FC layers


def _vgg_cases(hidden):
    cases = [([8, "M", 16, 16, "M"], 3, False, 16), (VGG16, 3, False, 32)]
    if hidden:
        cases += [([4, "M", 8, "M", 8, 8, "M"], 1, True, 24), ([6, 6, "M", 10], 2, True, 12)]
    return cases


def _vgg16_reference() -> nn.Sequential:
    """helpers.models' VGG-16 without its classifier (conv1 .. pool5), the paper's layer names."""
    full = _vggmod.VGG("D")
    return nn.Sequential(OrderedDict((n, m) for n, m in full.named_children() if n.startswith(("conv", "pool"))))


@isolated
def check_vgg_features(vgg_features, hidden: bool = False) -> None:
    """``vgg_features(cfg, *, in_channels, batch_norm)`` -> nn.Sequential of convs, ReLUs and pools."""
    for cfg, c_in, bn, size in _vgg_cases(hidden):
        what = f"vgg_features({'VGG16' if cfg is VGG16 else cfg}, in_channels={c_in}, batch_norm={bn})"
        student = _build(lambda: vgg_features(list(cfg), in_channels=c_in, batch_norm=bn), what, VGG_HINT)
        _no_reference(vgg_features, student, what)
        ref = _vgg(cfg, c_in, bn)
        mistakes = [
            (lambda: _vgg(cfg, c_in, bn, skip_m=True), "'M' is skipped: every 'M' is a 2x2 max pool with stride 2"),
            (lambda: _vgg(cfg, c_in, bn, pool=(3, 2)), "'M' is a 2x2 window with stride 2 (Section 2.1), not 3/2"),
            (lambda: _vgg(cfg, c_in, bn, relu=False), "the ReLU after each convolution is missing"),
            (lambda: _vgg(cfg, c_in, bn, padding=0), "padding=1 keeps the size of a 3x3 convolution's input"),
            (lambda: _vgg(cfg, c_in, not bn), "batch_norm= decides whether a BatchNorm2d follows each convolution"),
        ]
        if bn:
            mistakes.append((lambda: _vgg(cfg, c_in, bn, bn_after_relu=True),
                             "BatchNorm goes between the convolution and its ReLU (conv -> BN -> ReLU)"))
        x = torch.randn(1 if cfg is VGG16 else 2, c_in, size, size)
        _compare_module(student, ref, x, what, VGG_HINT, mistakes,
                        params=VGG16_CONV_PARAMS if cfg is VGG16 else None,
                        dtype=torch.float32 if cfg is VGG16 else torch.float64)   # float64 convs are slow on CPU


# --------------------------------------------------------------------------------------------
# 09 · GoogLeNet: the Inception module with 1x1 reductions, the auxiliary classifier
# --------------------------------------------------------------------------------------------

INCEPTION_HINT = ("four branches on the same input, concatenated on the channel dim (dim=1) in the order "
                  "1x1 | 1x1 reduce -> 3x3 (padding 1) | 1x1 reduce -> 5x5 (padding 2) | 3x3/1 max pool (padding 1) "
                  "-> 1x1 pool proj; every conv has a bias and is followed by a ReLU (Figure 2b)")


class _Inception(nn.Module):
    """Inception variants for the mistakes table (the right one is helpers.models'')."""

    def __init__(self, c_in, a, b_red, b, c_red, c, proj, *, reduce=True, dim=1, k5=5, order=(0, 1, 2, 3),
                 pool_proj=True, pool_stride=1):
        super().__init__()

        def conv(i, o, k):
            return nn.Sequential(nn.Conv2d(i, o, k, padding=k // 2), nn.ReLU())

        self.b1 = conv(c_in, a, 1)
        self.b2 = nn.Sequential(conv(c_in, b_red, 1), conv(b_red, b, 3)) if reduce else conv(c_in, b, 3)
        self.b3 = nn.Sequential(conv(c_in, c_red, 1), conv(c_red, c, k5)) if reduce else conv(c_in, c, k5)
        pool = nn.MaxPool2d(3, pool_stride, 1)
        self.b4 = nn.Sequential(pool, conv(c_in, proj, 1)) if pool_proj else pool
        self.dim, self.order = dim, order

    def forward(self, x):
        outs = [b(x) for b in (self.b1, self.b2, self.b3, self.b4)]
        return torch.cat([outs[i] for i in self.order], dim=self.dim)


def _inception_cases(hidden):
    cases = [(192, _goog.INCEPTION_TABLE["3a"], 28)]                 # inception (3a) at 28x28
    if hidden:
        cases += [(480, _goog.INCEPTION_TABLE["4a"], 14), (16, (4, 6, 8, 2, 3, 5), 7)]
    return cases


INCEPTION_3A_PARAMS = 163_696   # Table 1 inception (3a), paper version: 163,328 weights + 368 biases


@isolated
def check_inception(Inception, hidden: bool = False) -> None:
    """``Inception(c_in, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj)`` -> module (N, C, H, W) ->
    (N, n1x1 + n3x3 + n5x5 + pool_proj, H, W)."""
    for c_in, widths, size in _inception_cases(hidden):
        what = f"Inception({c_in}, {', '.join(map(str, widths))})"
        student = _build(lambda: Inception(c_in, *widths), what, INCEPTION_HINT)
        _no_reference(Inception, student, what)
        ref = _goog.Inception(c_in, *widths, batch_norm=False, k5=5)
        mistakes = [
            (lambda: _Inception(c_in, *widths, reduce=False), "the 1x1 reductions are missing: the 3x3 and 5x5 branches "
             "first reduce the channels with a 1x1 conv (that is what keeps the module cheap)"),
            (lambda: _Inception(c_in, *widths, k5=3), "the third branch is a 5x5 convolution in the paper (padding 2)"),
            (lambda: _Inception(c_in, *widths, dim=0), "concatenate on the channel dim, dim=1, not the batch dim 0"),
            (lambda: _Inception(c_in, *widths, dim=2), "concatenate on the channel dim, dim=1"),
            (lambda: _Inception(c_in, *widths, pool_proj=False), "the pool branch needs its 1x1 'pool proj' convolution"),
            (lambda: _Inception(c_in, *widths, pool_stride=2), "the pool branch's max pool has stride 1 (3x3/1, padding 1) "
             "so all four branches keep H x W"),
            (lambda: _Inception(c_in, *widths, order=(0, 1, 3, 2)), "branch order: 1x1, 3x3, 5x5, pool proj"),
            (lambda: _Inception(c_in, *widths, order=(3, 2, 1, 0)), "branch order: 1x1, 3x3, 5x5, pool proj"),
        ]
        params = INCEPTION_3A_PARAMS if c_in == 192 else None
        _compare_module(student, ref, torch.randn(2, c_in, size, size), what, INCEPTION_HINT, mistakes, params=params)
        out_c = widths[0] + widths[2] + widths[4] + widths[5]
        expect(getattr(student, "out_channels", out_c) == out_c,
               f"{what}.out_channels should be n1x1 + n3x3 + n5x5 + pool_proj = {out_c}")


AUX_HINT = ("5x5 average pool with stride 3 -> 1x1 conv with 128 filters + ReLU -> flatten -> FC 1024 + ReLU -> "
            "dropout 0.7 -> FC num_classes (Section 5; on 14x14 maps the pool leaves 4x4)")


class _Aux(nn.Module):
    def __init__(self, c_in, num_classes, *, pool=(5, 3), conv=128, relu=True, p=0.7):
        super().__init__()
        act = [nn.ReLU()] if relu else []
        self.pool = nn.AvgPool2d(*pool)
        self.conv = nn.Sequential(nn.Conv2d(c_in, conv, 1), *act)
        side = (14 - pool[0]) // pool[1] + 1
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(conv * side * side, 1024), *act, nn.Dropout(p),
                                nn.Linear(1024, num_classes))

    def forward(self, x):
        return self.fc(self.conv(self.pool(x)))


AUX_4A_PARAMS = 3_188_840       # aux1 on inception (4a): 512 -> 128 (1x1), 2048 -> 1024, 1024 -> 1000


@isolated
def check_inception_aux(InceptionAux, hidden: bool = False) -> None:
    """``InceptionAux(c_in, num_classes)``: (N, c_in, 14, 14) -> (N, num_classes) logits."""
    cases = [(512, 1000)] + ([(528, 10), (64, 7)] if hidden else [])
    for c_in, k in cases:
        what = f"InceptionAux({c_in}, {k})"
        student = _build(lambda: InceptionAux(c_in, k), what, AUX_HINT)
        _no_reference(InceptionAux, student, what)
        ref = _Aux(c_in, k)
        mistakes = [
            (lambda: _Aux(c_in, k, pool=(5, 5)), "the average pool has stride 3 (5x5/3: 14x14 -> 4x4)"),
            (lambda: _Aux(c_in, k, conv=c_in), "the 1x1 convolution reduces to 128 filters"),
            (lambda: _Aux(c_in, k, relu=False), "ReLUs after the 1x1 convolution and after FC 1024 are missing"),
            (lambda: _Aux(c_in, k, p=0.5), "nn.Dropout(p=0.7) (Section 5: 70 % dropped), not the default p=0.5"),
        ]
        _compare_module(student, ref, torch.randn(2, c_in, 14, 14), what, AUX_HINT, mistakes,
                        params=AUX_4A_PARAMS if (c_in, k) == (512, 1000) else None)


# --------------------------------------------------------------------------------------------
# 10 · Xception: depthwise separable convolution, the middle flow's residual block
# --------------------------------------------------------------------------------------------

SEP_HINT = ("depthwise first: nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False) (one 3x3 filter per "
            "channel), then pointwise nn.Conv2d(c_in, c_out, 1, bias=False); nothing in between (Section 4.7)")


def _sep(c_in, c_out, *, swapped=False, groups=None, bias=False, relu=False, padding=1):
    if swapped:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=bias),
                             nn.Conv2d(c_out, c_out, 3, padding=padding, groups=c_out, bias=bias))
    mid = [nn.ReLU()] if relu else []
    return nn.Sequential(nn.Conv2d(c_in, c_in, 3, padding=padding, groups=c_in if groups is None else groups, bias=bias),
                         *mid, nn.Conv2d(c_in, c_out, 1, bias=bias))


@isolated
def check_separable_conv(SeparableConv2d, hidden: bool = False) -> None:
    """``SeparableConv2d(c_in, c_out)``: (N, c_in, H, W) -> (N, c_out, H, W), c_in * 9 + c_in * c_out
    parameters."""
    cases = [(32, 64, 9)] + ([(728, 728, 5), (6, 4, 7), (16, 16, 3)] if hidden else [])
    for c_in, c_out, size in cases:
        what = f"SeparableConv2d({c_in}, {c_out})"
        student = _build(lambda: SeparableConv2d(c_in, c_out), what, SEP_HINT)
        _no_reference(SeparableConv2d, student, what)
        ref = _xc.SeparableConv2d(c_in, c_out)
        mistakes = [
            (lambda: _sep(c_in, c_out, swapped=True), "depthwise and pointwise are swapped: the 3x3 depthwise conv comes first, "
             "on the c_in input channels"),
            (lambda: _sep(c_in, c_out, groups=1), "groups=1 makes the 3x3 conv a full convolution: depthwise means groups=c_in"),
            (lambda: _sep(c_in, c_out, bias=True), "no biases (bias=False): BatchNorm follows every separable conv in Xception"),
            (lambda: _sep(c_in, c_out, relu=True), "no nonlinearity between depthwise and pointwise (Section 4.7: it hurts)"),
            (lambda: _sep(c_in, c_out, padding=0), "padding=1 keeps the 3x3 depthwise conv's size"),
        ]
        if c_out % c_in == 0 and c_out != c_in:
            mistakes.append((lambda: nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, groups=c_in, bias=False),
                                           nn.Conv2d(c_out, c_out, 1, bias=False)),
                             "the depthwise conv keeps c_in channels (groups=c_in, out_channels=c_in); "
                             "the pointwise 1x1 conv changes them"))
        _compare_module(student, ref, torch.randn(2, c_in, size, size), what, SEP_HINT, mistakes)


MIDDLE_HINT = ("three times [ReLU -> SeparableConv2d(c, c) -> BatchNorm2d(c)], then add the input: "
               "out = residual(x) + x (Figure 5, middle flow)")


class _Middle(nn.Module):
    def __init__(self, c, *, skip=True, relu_after=False, bn=True, repeats=3):
        super().__init__()
        layers = []
        for _ in range(repeats):
            unit = [_xc.SeparableConv2d(c, c)] + ([nn.BatchNorm2d(c)] if bn else [])
            layers += unit + [nn.ReLU()] if relu_after else [nn.ReLU()] + unit
        self.residual = nn.Sequential(*layers)
        self.skip = skip

    def forward(self, x):
        return self.residual(x) + x if self.skip else self.residual(x)


MIDDLE_728_PARAMS = 1_613_976    # 3 x (728 * 9 + 728 * 728 + 2 * 728), one of Figure 5's eight middle blocks


@isolated
def check_middle_flow_block(MiddleFlowBlock, hidden: bool = False) -> None:
    """``MiddleFlowBlock(channels)``: (N, C, H, W) -> (N, C, H, W), Figure 5's middle-flow block."""
    cases = [(728, 5)] + ([(16, 7), (24, 4)] if hidden else [])
    for c, size in cases:
        what = f"MiddleFlowBlock({c})"
        student = _build(lambda: MiddleFlowBlock(c), what, MIDDLE_HINT)
        _no_reference(MiddleFlowBlock, student, what)
        ref = _xc.XceptionBlock(c, [c] * 3, downsample=False)
        mistakes = [
            (lambda: _Middle(c, skip=False), "the residual connection is missing: return residual(x) + x"),
            (lambda: _Middle(c, relu_after=True), "each unit is ReLU -> SeparableConv -> BatchNorm (the ReLU comes first)"),
            (lambda: _Middle(c, bn=False), "a BatchNorm2d follows every separable convolution"),
            (lambda: _Middle(c, repeats=2), "the middle-flow block has three separable convolutions"),
        ]
        _compare_module(student, ref, torch.randn(2, c, size, size), what, MIDDLE_HINT, mistakes,
                        params=MIDDLE_728_PARAMS if c == 728 else None)


# --------------------------------------------------------------------------------------------
# 11 · ResNet: basic and bottleneck blocks with projection shortcuts
# --------------------------------------------------------------------------------------------

BLOCK_HINT = ("conv (bias=False) -> BN -> ReLU -> ... -> conv -> BN, then add the shortcut and apply the last ReLU: "
              "relu(F(x) + shortcut(x)); shortcut = 1x1 conv (stride) + BN whenever the stride is not 1 OR the "
              "channels change, identity otherwise (Section 3.3 option B, BN after every conv, Section 3.4)")


class _Block(nn.Module):
    """Residual-block variants for the mistakes table."""

    def __init__(self, c_in, width, stride, kind, *, shortcut="B", proj_when="both", bias=False,
                 relu_before_add=False, bn_after_relu=False, expansion=None, stride_on_1x1=False,
                 shortcut_first=False):
        super().__init__()
        exp = expansion if expansion is not None else (1 if kind == "basic" else 4)
        c_out = width * exp
        need = {"both": stride != 1 or c_in != c_out, "channels": c_in != c_out, "always": True}[proj_when]
        if shortcut == "none":
            short = None
        elif need:
            short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=bias), nn.BatchNorm2d(c_out))
        else:
            short = nn.Identity()
        if shortcut_first:  # registered before the body (its parameters come first in the state dict)
            self.shortcut = short

        def cbr(i, o, k, s, last=False):
            conv = nn.Conv2d(i, o, k, s, k // 2, bias=bias)
            if last and not relu_before_add:
                return nn.Sequential(conv, nn.BatchNorm2d(o))
            return nn.Sequential(conv, nn.ReLU(), nn.BatchNorm2d(o)) if bn_after_relu else \
                nn.Sequential(conv, nn.BatchNorm2d(o), nn.ReLU())

        if kind == "basic":
            self.body = nn.Sequential(cbr(c_in, width, 3, stride), cbr(width, c_out, 3, 1, last=True))
        else:
            s1, s3 = (stride, 1) if stride_on_1x1 else (1, stride)
            self.body = nn.Sequential(cbr(c_in, width, 1, s1), cbr(width, width, 3, s3), cbr(width, c_out, 1, 1, last=True))
        if not shortcut_first:
            self.shortcut = short

    def forward(self, x):
        out = self.body(x)
        return F.relu(out) if self.shortcut is None else F.relu(out + self.shortcut(x))


def _block_mistakes(c_in, width, stride, kind):
    m = [
        (lambda: _Block(c_in, width, stride, kind, proj_when="channels"),
         "the projection is needed when the stride is not 1 too, not only when the channels change"),
        (lambda: _Block(c_in, width, stride, kind, shortcut="none"), "the shortcut is missing: relu(F(x) + shortcut(x))"),
        (lambda: _Block(c_in, width, stride, kind, proj_when="always"),
         "an identity shortcut (no parameters) when stride is 1 and the channels stay: project only when the shape changes"),
        (lambda: _Block(c_in, width, stride, kind, bias=True), "convolutions followed by BatchNorm have no bias (bias=False)"),
        (lambda: _Block(c_in, width, stride, kind, relu_before_add=True),
         "the last ReLU comes after the addition: relu(bn(conv(...)) + shortcut(x))"),
        (lambda: _Block(c_in, width, stride, kind, bn_after_relu=True), "BatchNorm goes right after each convolution, "
         "before the ReLU (Section 3.4)"),
    ]
    if kind == "bottleneck":
        m.append((lambda: _Block(c_in, width, stride, kind, expansion=1),
                  "the last 1x1 convolution expands to 4 * width channels (Bottleneck.expansion = 4)"))
    return m


def _check_block(Block, kind, cases, hint):
    for c_in, width, stride, size in cases:
        what = f"{Block.__name__ if hasattr(Block, '__name__') else 'block'}({c_in}, {width}, stride={stride})"
        student = _build(lambda: Block(c_in, width, stride=stride), what, hint)
        _no_reference(Block, student, what)
        if kind == "basic":
            ref, ok = _res.BasicBlock(c_in, width, stride), ()
        else:
            ref, ok = _res.Bottleneck(c_in, width, stride), (_res.Bottleneck(c_in, width, stride, stride_on_1x1=True),)
        _compare_module(student, ref, torch.randn(2, c_in, size, size), what, hint,
                        _block_mistakes(c_in, width, stride, kind), extra_ok=ok)


def _in_resnet(Block, depth, expected, what):
    """Plug the student's block class into helpers.models.ResNet (Table 1) and count its parameters:
    the network is laid out with stand-ins that record each block's (c_in, width, stride), and one
    block of the student's per distinct configuration is built and counted (so this works also when
    the class lives in the student's kernel and only its instances' tensors come back)."""
    expansion = getattr(Block, "expansion", None)
    expect(expansion == _res.TABLE1[depth][0].expansion,
           f"{what}.expansion should be {_res.TABLE1[depth][0].expansion} (output channels = expansion * width)")
    layout = []

    def stand_in(c_in, width, stride=1, **_):
        layout.append((c_in, width, stride))
        return nn.Identity()

    stand_in.expansion = expansion
    with torch.device("meta"):
        skeleton = _res.ResNet(stand_in, _res.TABLE1[depth][1])
    per_block = {}
    for c_in, width, stride in dict.fromkeys(layout):
        label = f"{what}({c_in}, {width}, stride={stride})"
        per_block[c_in, width, stride] = _n(_build(lambda: Block(c_in, width, stride=stride), label,
                                                   f"building ResNet-{depth} from {what}"))
    stage_of = [i for i, n in enumerate(_res.TABLE1[depth][1]) for _ in range(n)]   # layout is in stage order
    stages: dict[str, int] = {}
    for config, i in zip(layout, stage_of):
        stages[f"conv{i + 2}_x"] = stages.get(f"conv{i + 2}_x", 0) + per_block[config]
    total = _n(skeleton) + sum(stages.values())
    if total != expected:
        parts = ", ".join(f"{name}: {n:,}" for name, n in stages.items())
        raise CheckFailure(f"ResNet-{depth} built from your {what} (Table 1) has {total:,} parameters, expected "
                           f"{expected:,} ({total - expected:+,}) as torchvision's; blocks per stage: {parts}")


RESNET18_PARAMS, RESNET50_PARAMS = 11_689_512, 25_557_032


@isolated
def check_basic_block(BasicBlock, hidden: bool = False) -> None:
    """``BasicBlock(c_in, width, stride=1)``: (N, c_in, H, W) -> (N, width, H / stride, W / stride)."""
    cases = [(64, 128, 2, 8), (64, 64, 1, 8)]              # conv3_1 of ResNet-18, conv2_2
    if hidden:
        cases += [(16, 16, 2, 8), (8, 12, 1, 6)]            # same channels, stride 2: a projection all the same
    _check_block(BasicBlock, "basic", cases, BLOCK_HINT)
    if hidden:
        _in_resnet(BasicBlock, 18, RESNET18_PARAMS, "BasicBlock")


@isolated
def check_bottleneck(Bottleneck, hidden: bool = False) -> None:
    """``Bottleneck(c_in, width, stride=1)``: (N, c_in, H, W) -> (N, 4 * width, H / stride, W / stride);
    the stride may sit on the 3x3 (torchvision) or the first 1x1 (the paper)."""
    cases = [(256, 128, 2, 8), (512, 128, 1, 4)]            # conv3_1 of ResNet-50, conv3_2
    if hidden:
        cases += [(64, 16, 2, 8), (8, 2, 1, 6), (64, 64, 1, 4)]  # 64 -> 256: conv2_1 projects at stride 1
    _check_block(Bottleneck, "bottleneck", cases, BLOCK_HINT)
    _in_resnet(Bottleneck, 50, RESNET50_PARAMS, "Bottleneck")


# --------------------------------------------------------------------------------------------
# exercises written as records (helpers/checks/records.py): reference, cases, mistakes, hint
# --------------------------------------------------------------------------------------------

def _option_a(x, c_out, stride):
    """The reference, as helpers.models.resnet.PadShortcut computes it (tests/test_checks_papers.py
    compares the two): keep pixels 0, stride, 2 stride, ...; zero channels appended after x's."""
    return F.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, 0, c_out - x.shape[1]))


def _pad_cases(hidden):
    g = torch.Generator().manual_seed(11)
    shapes = [((2, 4, 8, 8), 8, 2), ((1, 3, 7, 7), 5, 2), ((2, 4, 6, 6), 4, 1)]
    if hidden:
        shapes += [((1, 16, 9, 5), 32, 2), ((3, 2, 6, 6), 7, 3), ((1, 6, 5, 5), 6, 2), ((2, 3, 4, 4), 6, 1)]
    return [(torch.randn(*shape, generator=g, dtype=torch.float64), c_out, stride) for shape, c_out, stride in shapes]


def _pad_channels(sub, c_out, before=0):
    """Zero channels around ``sub``: ``before`` of them first, the rest after."""
    extra = c_out - sub.shape[1]
    return F.pad(sub, (0, 0, 0, 0, before, extra - before))


PAD_HINT = ("option A keeps the shortcut parameter-free: take every stride-th row and column of x starting with the "
            "first (no averaging), then append c_out - C channels of zeros after x's channels (channels only, never H or W)")


# 07 AlexNet, Section 4.1: data augmentation as a deterministic function (its randomness passed in)

def _crop_and_flip(images, offsets, flips, size):
    """Reference: image i cropped to size x size at (top, left) = offsets[i], mirrored left-right where flips[i]."""
    images, offsets, flips = torch.as_tensor(images), torch.as_tensor(offsets), torch.as_tensor(flips)
    crops = []
    for image, (top, left), flip in zip(images, offsets.tolist(), flips.tolist()):
        crop = image.narrow(-2, top, size).narrow(-1, left, size)
        crops.append(torch.flip(crop, dims=(-1,)) if flip else crop)
    return torch.stack(crops)


def _crop_cases(hidden):
    """(images, offsets, flips, size): float64 images, long (top, left) offsets, bool flips. The offsets differ
    from image to image and top != left, so a swapped or shared offset and a flip before the crop all show."""
    g = torch.Generator().manual_seed(7)
    cases = [(torch.randn(3, 2, 8, 8, dtype=torch.float64, generator=g),
              torch.tensor([[0, 2], [3, 1], [2, 0]]), torch.tensor([True, False, True]), 5)]
    if hidden:
        images = torch.randn(6, 3, 10, 12, dtype=torch.float64, generator=g)      # H != W
        offsets = torch.stack([torch.randint(0, 4, (6,), generator=g), torch.randint(0, 6, (6,), generator=g)], 1)
        offsets[0], offsets[1] = torch.tensor([1, 4]), torch.tensor([3, 0])
        cases += [(images, offsets, torch.tensor([True, True, False, True, False, False]), 7),
                  (torch.randn(2, 1, 4, 4, dtype=torch.float64, generator=g),       # size = H: only the flips act
                   torch.zeros(2, 2, dtype=torch.long), torch.tensor([False, True]), 4)]
    return cases


def _flip_first(images, offsets, flips, size):
    mirrored = torch.where(torch.as_tensor(flips)[:, None, None, None], torch.flip(images, dims=(-1,)), images)
    return _crop_and_flip(mirrored, offsets, torch.zeros_like(torch.as_tensor(flips)), size)


def _in_place(images, offsets, flips, size):
    out = _crop_and_flip(images, offsets, flips, size)
    images.zero_()
    return out


CROP_IN_PLACE = ("return new crops and leave `images` as it is: the training loop hands you a batch of the resident "
                 "data set, which an in-place change would overwrite for every later epoch")


# 09 GoogLeNet, Section 5: the training loss with the auxiliary classifiers

def _googlenet_loss(outputs, target, aux_weight=0.3):
    """Section 5: the main cross-entropy plus ``aux_weight`` times each auxiliary head's; eval mode
    (one logits tensor): the main cross-entropy alone."""
    if isinstance(outputs, (tuple, list)):
        logits, *aux = outputs
        return F.cross_entropy(logits, target) + aux_weight * sum(F.cross_entropy(a, target) for a in aux)
    return F.cross_entropy(outputs, target)


def _loss_parts(outputs, target, loss=F.cross_entropy):
    """The cross-entropy of each output (main first); one entry in eval mode."""
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [loss(o, target) for o in outputs]


def _on_probabilities(o, t):
    return F.cross_entropy(torch.softmax(o, dim=1), t)


def _googlenet_case(seed, n, classes, aux_weight, train=True):
    g = torch.Generator().manual_seed(seed)
    heads = [torch.randn(n, classes, generator=g, dtype=torch.float64) * 2 for _ in range(3 if train else 1)]
    target = torch.randint(0, classes, (n,), generator=g)
    return (tuple(heads) if train else heads[0], target, aux_weight)


def _googlenet_cases(hidden):
    cases = [_googlenet_case(0, 8, 10, 0.3), _googlenet_case(1, 8, 10, 0.3, train=False)]
    if hidden:
        cases += [_googlenet_case(2, 5, 4, 0.5), _googlenet_case(3, 16, 1000, 0.3), _googlenet_case(4, 3, 7, 1.0),
                  _googlenet_case(5, 6, 5, 0.3, train=False)]
    return cases


def _describe_googlenet(outputs, target, aux_weight):
    if isinstance(outputs, (tuple, list)):
        return (f"train mode: (logits, aux2, aux1), each {tuple(outputs[0].shape)}, aux_weight={aux_weight}")
    return f"eval mode: one logits tensor {tuple(outputs.shape)}, aux_weight={aux_weight}"


EXERCISES = [
    Exercise(
        "zero_pad_shortcut", reference=_option_a, cases=_pad_cases, hint=PAD_HINT, rtol=1e-6, atol=1e-7,
        describe=lambda x, c_out, stride: f"zero_pad_shortcut(x of shape {tuple(x.shape)}, c_out={c_out}, stride={stride})",
        mistakes={
            "subsample, don't pool: option A keeps one pixel out of each stride x stride window (the first), it does not average":
                lambda x, c, s: _pad_channels(F.avg_pool2d(x, s, s, ceil_mode=True), c),
            "the zeros are new CHANNELS (dim 1): padding H or W adds pixels, not feature maps":
                lambda x, c, s: F.pad(x[:, :, ::s, ::s], (0, c - x.shape[1], 0, c - x.shape[1])),
            "start the subsampling at pixel 0 (x[..., ::stride]), as a stride-2 convolution with padding 1 centres its "
            "first window there": lambda x, c, s: _pad_channels(x[:, :, s - 1::s, s - 1::s], c),
            "append the zero channels AFTER x's channels (as the course's ResNet does), not before them":
                lambda x, c, s: _pad_channels(x[:, :, ::s, ::s], c, before=c - x.shape[1]),
            "all the zero channels go after x's channels, not half before and half after":
                lambda x, c, s: _pad_channels(x[:, :, ::s, ::s], c, before=(c - x.shape[1]) // 2),
            "the new channels are zeros, not copies of x": lambda x, c, s: torch.cat([x, x], 1)[:, :c, ::s, ::s],
            "subsample H and W by the stride too (the block's convolutions halve them)": lambda x, c, s: _pad_channels(x, c),
        },
        forbidden={"helpers.models": "write the shortcut yourself from slicing and zeros"}),
    Exercise(
        "crop_and_flip", reference=_crop_and_flip, cases=_crop_cases, in_place=CROP_IN_PLACE,
        hint="for each image i: take rows top .. top + size - 1 and columns left .. left + size - 1, (top, left) = "
             "offsets[i], then, where flips[i] is True, reverse the order of the crop's columns (the last dimension)",
        describe=lambda images, offsets, flips, size:
            f"crop_and_flip of {len(images)} images of {tuple(images.shape[1:])} to {size}x{size}",
        mistakes={
            "a horizontal reflection mirrors left-right: reverse the columns (the last dimension), not the rows":
                lambda im, o, f, s: torch.stack([c.flip(-2) if b else c for c, b in
                                                 zip(_crop_and_flip(im, o, torch.zeros_like(f), s), f.tolist())]),
            "offsets[i] is (top, left): the first number picks the rows, the second the columns":
                lambda im, o, f, s: _crop_and_flip(im, o[:, [1, 0]], f, s),
            "each image has its own offset, offsets[i]: one offset for the whole batch crops every image alike":
                lambda im, o, f, s: _crop_and_flip(im, o[:1].expand_as(o), f, s),
            "crop first, then mirror the crop: mirroring the whole image first moves the window to the other side":
                _flip_first,
            CROP_IN_PLACE: _in_place,
        },
        forbidden={"torchvision.transforms": "index the tensor yourself: the exercise is what RandomCrop and "
                                             "RandomHorizontalFlip do inside"}),
    Exercise(
        "googlenet_loss", reference=_googlenet_loss, cases=_googlenet_cases, rtol=1e-5, atol=1e-7,
        hint="Section 5: in train mode the model returns (logits, aux2, aux1); the loss is the main head's cross-entropy "
             "(weight 1) plus aux_weight times the cross-entropy of each auxiliary head; in eval mode it returns one "
             "logits tensor and the loss is its cross-entropy alone. F.cross_entropy takes raw logits",
        describe=_describe_googlenet,
        mistakes={
            "don't average the three losses: the main loss keeps weight 1 and only the auxiliary ones are scaled by "
            "aux_weight": lambda o, t, w: sum(_loss_parts(o, t)) / len(_loss_parts(o, t)),
            "only the auxiliary losses are weighted by aux_weight: the main loss keeps weight 1":
            lambda o, t, w: w * sum(_loss_parts(o, t)),
            "add the auxiliary losses: in train mode the model returns (logits, aux2, aux1), and Section 5 adds both "
            "heads' losses (weighted)": lambda o, t, w: _loss_parts(o, t)[0],
            "add BOTH auxiliary heads' losses (aux2 on 4d and aux1 on 4a)":
            lambda o, t, w: _loss_parts(o, t)[0] + w * _loss_parts(o, t)[1],
            "F.cross_entropy expects raw logits (it applies log-softmax itself): don't apply softmax first":
            lambda o, t, w: (lambda p: p[0] + w * sum(p[1:]))(_loss_parts(o, t, _on_probabilities)),
            "in eval mode the model returns the main logits alone: there are no auxiliary outputs to add at evaluation "
            "time, the loss is the main cross-entropy":
            lambda o, t, w: _googlenet_loss(o, t, w) if isinstance(o, (tuple, list)) else (1 + 2 * w) * F.cross_entropy(o, t)}),
]

globals().update(checks_of(EXERCISES, __name__))   # check_zero_pad_shortcut (11), check_crop_and_flip (07), check_googlenet_loss (09)
