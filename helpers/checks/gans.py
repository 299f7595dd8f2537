"""Checks for weeks 5-6's GAN exercises (notebooks 04-06).

04 · the two players' losses (CS231n's GAN assignment, checked against reference values computed
here with ``F.binary_cross_entropy_with_logits``) and one step of the two-optimiser loop
(checked by running the reference step on copies of the same models and comparing every
parameter afterwards). Each result is compared with a table of known mistakes (labels swapped,
the saturating generator loss, smoothing on the wrong side, sums instead of means, fakes not
detached, gradients not zeroed, the discriminator updated by the generator's loss ...), so the
failure names the mistake. ``hidden=True`` adds cases the notebook does not show: extreme
logits (a naive log(sigmoid) overflows), other batch sizes and smoothing values, stale gradients.

The two losses, the DCGAN generator (a module judged by what it computes, :mod:`helpers.checks.modules`), the
transposed convolution's output size and the class diversity are records at the end of the
module (``EXERCISES``, :mod:`helpers.checks.records`): the mentee edition judges them against fixtures. The
other checks are procedural, each saying why above it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from torch import nn

from .core import as_scalar, call, compare, expect, forbid, isolated, returns_tuple
from .modules import Build, case
from .records import Exercise, a_loss, an_int, checks_of
from .week5_6 import REFERENCE

__all__ = ["check_discriminator_loss", "check_generator_loss", "check_gan_train_step",
           "check_transposed_output_size", "check_dcgan_generator",
           "check_penultimate_features", "check_class_diversity"]

RTOL, ATOL = 1e-5, 1e-7  # float32 losses
FORBIDDEN = {  # per exercise: what its answer may not use, and why
    "gan_train_step": {"helpers.gans": REFERENCE, "helpers.steps": REFERENCE, "helpers.train": REFERENCE},
    "dcgan_generator": {"helpers.models": REFERENCE, "helpers.gans": REFERENCE},
    "penultimate_features": {"helpers.models": "reuse the trained classifier you are given: a fresh lenet5() has "
                                               "other, untrained weights"},
}


def _bce(logits, target, reduction="mean"):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)), reduction=reduction)


def _logits(n: int, seed: int, scale: float = 2.0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)) * scale


TWICE = ("the discriminator's outputs are LOGITS and F.binary_cross_entropy_with_logits applies the sigmoid itself: "
         "don't apply torch.sigmoid first")
STABLE_HINT = ("use F.binary_cross_entropy_with_logits (or F.logsigmoid): log(torch.sigmoid(x)) is -inf once "
               "sigmoid rounds to 0 or 1, e.g. for a logit of -100")
STABLE_1M = ("use F.binary_cross_entropy_with_logits (or F.logsigmoid): log(1 - torch.sigmoid(x)) is -inf once "
             "sigmoid rounds to 1, e.g. for a logit of 100")
BCE_ERRORS = (("RuntimeError", "between 0 and 1", "F.binary_cross_entropy wants probabilities; these are LOGITS: "
               "use F.binary_cross_entropy_with_logits"),
              ("ValueError", "between 0 and 1", "these are LOGITS: use F.binary_cross_entropy_with_logits"))


def _naive(logits, target, weighted=True):
    """-[t log(sigmoid) + (1 - t) log(1 - sigmoid)], averaged: the unstable cross-entropy (weighted: both terms
    written, 0 * -inf = NaN; else only the term of a target 0 or 1, -inf = inf)."""
    p = torch.sigmoid(logits)
    if weighted:
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()
    return -(torch.log(p) if target == 1 else torch.log(1 - p)).mean()


# --------------------------------------------------------------------------------------------
# 04 · the discriminator's loss
# --------------------------------------------------------------------------------------------

D_HINT = ("the discriminator is scored on both batches and the two losses are ADDED: the real logits against the "
          "target 1 - smooth, the fake logits against 0, each a binary cross-entropy on logits averaged over its batch")


def _d_cases(hidden: bool):
    """(grad wrt both, the crashes to recognise, real logits, fake logits, smooth)."""
    cases = [(_logits(8, 1), _logits(8, 2), 0.0), (_logits(8, 3), _logits(8, 4), 0.1)]
    if hidden:
        extreme = torch.tensor([-100.0, 100.0, 0.0, 50.0])
        cases += [(_logits(5, 5, 4.0), _logits(7, 6, 4.0), 0.2),    # different batch sizes for the two
                  (extreme, extreme.flip(0), 0.0),
                  (_logits(16, 7), _logits(16, 8), 0.3)]
    return [((0, 1), BCE_ERRORS, *case) for case in cases]


# --------------------------------------------------------------------------------------------
# 04 · the generator's (non-saturating) loss
# --------------------------------------------------------------------------------------------

G_HINT = ("the non-saturating generator loss: the generator wants its fakes labelled REAL, so the fake logits are "
          "scored against the target 1 (binary cross-entropy on logits, averaged over the batch)")


def _g_cases(hidden: bool):
    """(grad wrt the logits, the crashes to recognise, fake logits)."""
    cases = [_logits(8, 11)]
    if hidden:
        cases += [_logits(3, 12, 5.0), torch.tensor([-120.0, -30.0, 0.0, 80.0]), _logits(32, 13)]
    return [((0,), BCE_ERRORS, fake) for fake in cases]


# --------------------------------------------------------------------------------------------
# 04 · one training step of the two-optimiser loop
# --------------------------------------------------------------------------------------------

STEP_HINT = ("one step trains D, then G: D's gradients cleared, D scored on the real batch and on fakes cut from G's "
             "graph, D stepped; then G's gradients cleared, the same fakes scored by D without cutting them off, G "
             "stepped; both losses returned as Python floats")


def _players(seed: int, latent: int, size: int):
    from ..models.gan import MLPDiscriminator, MLPGenerator

    torch.manual_seed(seed)
    return MLPGenerator(latent, 8, size=size), MLPDiscriminator(8, size=size)


def _reference_step(G, D, real, z, g_opt, d_opt, smooth, *, detach=True, zero=True, g_detach=False,
                    d_in_g=False, g_first=False, ignore_smooth=False):
    """The step, with the usual slips switchable."""
    s = 0.0 if ignore_smooth else smooth
    if zero == "top":  # both zeroed once, before anything runs
        d_opt.zero_grad()
        g_opt.zero_grad()

    def d_phase():
        if zero is True:
            d_opt.zero_grad()
        fake = G(z)
        loss = (F.binary_cross_entropy_with_logits(D(real), torch.full((len(real),), 1 - s))
                + F.binary_cross_entropy_with_logits(D(fake.detach() if detach else fake), torch.zeros(len(z))))
        loss.backward()
        d_opt.step()
        return loss.item()

    def g_phase():
        if zero is True:
            g_opt.zero_grad()
        fake = G(z)
        logit = D(fake.detach() if g_detach else fake)
        loss = F.binary_cross_entropy_with_logits(logit, torch.ones(len(z)))
        if loss.requires_grad:
            loss.backward()
        g_opt.step()
        if d_in_g:
            d_opt.step()
        return loss.item()

    if g_first:
        g, d = g_phase(), d_phase()
    else:
        d, g = d_phase(), g_phase()
    return d, g


def _flat(model) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).double().numpy()


def _setup(case):
    seed, n, latent, size, smooth, lr, stale = case
    G, D = _players(seed, latent, size)
    g = torch.Generator().manual_seed(seed + 1)
    real = torch.rand(n, 1, size, size, generator=g) * 2 - 1
    z = torch.randn(n, latent, generator=g)
    g_opt, d_opt = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    if stale:  # gradients left over from an earlier backward: a step must zero them first
        for p in (*G.parameters(), *D.parameters()):
            p.grad = torch.full_like(p, 0.5)
    return G, D, real, z, g_opt, d_opt, smooth


def _run(case, **slip):
    G, D, real, z, g_opt, d_opt, smooth = _setup(case)
    d, g = _reference_step(G, D, real, z, g_opt, d_opt, smooth, **slip)
    return d, g, _flat(G), _flat(D)


STEP_ERRORS = ((RuntimeError, "does not require grad", "the generator's loss has no path back to G: don't detach "
                 "the fakes in the generator's step (only in the discriminator's)"),
               (RuntimeError, "backward through the graph a second time", "d_loss.backward() went through G and freed "
                "its graph: detach the fakes in the discriminator's step (discriminator(fake.detach())), so the "
                "generator's loss can still backward through G"))

SLIPS = [
    (dict(detach=False, zero="top"), "the fakes are not detached in the discriminator's step (fake.detach()): "
                                     "D's loss pushed gradients into G, and G's update applied them"),
    (dict(zero=False), "zero the gradients before each backward (d_optimizer.zero_grad(), g_optimizer.zero_grad()): "
                       "they are ADDED to what an earlier backward left"),
    (dict(detach=False, zero=False), "the fakes are not detached in the discriminator's step (fake.detach()), and "
                                     "stale gradients are not zeroed: D's loss leaked into G"),
    (dict(g_detach=True), "the generator's step must not detach the fakes: its loss has to flow back through D "
                          "into G"),
    (dict(d_in_g=True), "only g_optimizer steps after the generator's loss: D's parameters got gradients from it "
                        "too, and d_optimizer.step() must not apply them"),
    (dict(g_first=True), "the discriminator's update comes first, then the generator's (against the updated D)"),
    (dict(ignore_smooth=True), "pass smooth on to discriminator_loss: the real targets are 1 - smooth"),
]


# procedural: steps two models with their optimisers (every parameter compared after the step)
@isolated
def check_gan_train_step(gan_train_step, hidden: bool = False) -> None:
    """``gan_train_step(generator, discriminator, real, z, g_optimizer, d_optimizer, smooth=0.0)``
    -> ``(d_loss, g_loss)`` floats; compared with the reference step on copies of the same players."""
    #        seed, N, latent, size, smooth, lr, stale grads
    forbid(gan_train_step, FORBIDDEN["gan_train_step"])
    cases = [(1, 6, 3, 4, 0.0, 0.1, False), (2, 6, 3, 4, 0.1, 0.1, True)]
    if hidden:
        cases += [(3, 5, 4, 6, 0.2, 0.5, True), (4, 9, 2, 4, 0.0, 0.3, True)]
    for case in cases:
        G, D, real, z, g_opt, d_opt, smooth = _setup(case)
        what = f"after one step (N={case[1]}, latent {case[2]}, smooth={smooth}, SGD lr {case[5]}" \
               + (", stale gradients in .grad)" if case[6] else ")")
        real_in, z_in = real.clone(), z.clone()
        got = returns_tuple(call(gan_train_step, G, D, real_in, z_in, g_opt, d_opt, smooth=smooth, hint=STEP_HINT,
                                 errors=STEP_ERRORS),
                            2, "(d_loss, g_loss)", gan_train_step)
        for v, name in zip(got, ("d_loss", "g_loss")):
            expect(not torch.is_tensor(v) or v.dim() == 0, f"{name} should be one number (loss.item())")
        expect(torch.equal(real, real_in) and torch.equal(z, z_in), "gan_train_step changed real or z in place")
        d, g, g_params, d_params = _run(case)
        wrongs = [(_run(case, **slip), why) for slip, why in SLIPS]
        compare(_flat(D), d_params, "the discriminator's parameters " + what, STEP_HINT,
                [(w[3], why) for w, why in wrongs], rtol=1e-5, atol=1e-7)
        compare(_flat(G), g_params, "the generator's parameters " + what, STEP_HINT,
                [(w[2], why) for w, why in wrongs], rtol=1e-5, atol=1e-7)
        compare(as_scalar(got[0], "d_loss"), d, "d_loss " + what, "return d_loss as computed BEFORE the update "
                "(d_loss.item())", rtol=1e-5, atol=1e-7)
        compare(as_scalar(got[1], "g_loss"), g, "g_loss " + what, "return g_loss as computed against the updated D "
                "(g_loss.item())", rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------
# 05 · transposed convolutions and the DCGAN generator
# --------------------------------------------------------------------------------------------

TCONV_HINT = ("count the stamps as in section 1's picture: where does the first stamp start, where does the last "
              "of the h stamps (stride apart, kernel wide) end, and what does `padding` crop? Your count should "
              "give 6 for the picture's 3x3 input (kernel 4, stride 2, padding 1)")


def _t_cases(hidden):
    """((), the keyword arguments h, kernel, stride, padding)."""
    cases = [(7, 4, 2, 1), (1, 7, 1, 0)]
    if hidden:
        cases += [(14, 4, 2, 1), (5, 3, 2, 0), (4, 5, 3, 2), (9, 3, 1, 1), (2, 2, 2, 0)]
    return [((), dict(h=h, kernel=k, stride=s, padding=p)) for h, k, s, p in cases]


def _t_size(h, kernel, stride, padding) -> int:
    with torch.no_grad():
        return int(torch.nn.ConvTranspose2d(1, 1, kernel, stride, padding)(torch.zeros(1, 1, h, h)).shape[-1])


DCGAN_G_HINT = ("compare each stage with the table of section 2: z (N, latent_dim) read as a latent_dim @ 1x1 "
                "image (nn.Unflatten), then transposed convolutions 1 -> 7 -> 14 -> 28 with widths 2*width, width, "
                "1, their paddings from Exercise 1; BatchNorm and activations where the guidelines put them, "
                "no bias where BatchNorm follows")


def _dcgan(latent, w, act=nn.ReLU, out=nn.Tanh, bias=False, swap=False, bn=nn.BatchNorm2d, bn_out=False):
    """The table of notebook 05, with the usual slips switchable."""
    def block(c_in, c_out, *args):
        norm, f = bn(c_out), act()
        return [nn.ConvTranspose2d(c_in, c_out, *args, bias=bias), *((f, norm) if swap else (norm, f))]
    return nn.Sequential(nn.Unflatten(1, (latent, 1, 1)), *block(latent, 2 * w, 7), *block(2 * w, w, 4, 2, 1),
                         nn.ConvTranspose2d(w, 1, 4, 2, 1), *([nn.BatchNorm2d(1)] if bn_out else []), out())


def _dcgan_with(**change):
    return lambda latent, w: _dcgan(latent, w, **change)


def _dcgan_cases(hidden):
    rows = [(16, 8, 4)] + ([(100, 16, 3), (2, 4, 2), (32, 3, 7)] if hidden else [])
    return [case(latent, w, x=(n, latent), scale=3.0, seed=latent) for latent, w, n in rows]


# --------------------------------------------------------------------------------------------
# 06 · measuring a GAN: a classifier's features, the diversity of its predictions
# --------------------------------------------------------------------------------------------

FEAT_HINT = ("the features are LeNet-5's penultimate layer: everything up to and including F6's ReLU (84 numbers "
             "per image), without the output layer, made of the classifier's own (trained) layers, not copies")


# procedural: returns a module built from the classifier's own layers (parameters shared, classifier unchanged)
@isolated
def check_penultimate_features(penultimate_features, hidden: bool = False) -> None:
    """``penultimate_features(classifier)`` -> module: (N, 1, 28, 28) -> (N, 84), LeNet-5's F6 activations."""
    from ..models.lenet import lenet5

    forbid(penultimate_features, FORBIDDEN["penultimate_features"])

    sizes = [5] + ([1, 17] if hidden else [])
    for seed, n in enumerate(sizes):
        torch.manual_seed(seed)
        model = lenet5()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))      # not a fresh initialisation: copies would differ
        state = {k: v.clone() for k, v in model.state_dict().items()}
        x = torch.rand(n, 1, 28, 28) * 2 - 1
        with torch.no_grad():
            c5 = model.flatten(model.c5(model.s4(model.c3(model.s2(model.c1(x))))))
            expected = model.f6(c5)
            logits = model(x)
            f6_linear = model.f6[0](c5)
        what = f"penultimate_features(lenet5)(x) for x of shape {tuple(x.shape)}"
        features = call(penultimate_features, model, hint=FEAT_HINT)
        expect(isinstance(features, nn.Module), f"penultimate_features should return an nn.Module (torchmetrics calls "
               f"it on batches of images), got {type(features).__name__}")
        with torch.no_grad():
            got = call(features, x.clone(), hint=FEAT_HINT)
        got = got.detach() if torch.is_tensor(got) else got
        compare(got, expected.numpy(), what, FEAT_HINT, [
            (logits.numpy(), "these are the 10 LOGITS: leave the output layer out, the features are F6's 84 activations"),
            (c5.numpy(), "these are C5's 120 activations: one layer too early, include F6 (Linear 120 -> 84 and its ReLU)"),
            (f6_linear.numpy(), "include F6's ReLU: the features are the activations F6 passes to the output layer"),
        ], rtol=1e-5, atol=1e-6)
        own = {id(p) for p in model.parameters()}
        expect(all(id(p) in own for p in features.parameters()), "reuse the classifier's trained layers (no "
               "copy.deepcopy, no new layers): the features must follow the classifier as it trains")
        after = model.state_dict()
        expect(set(after) == set(state) and all(torch.equal(state[k], after[k]) for k in state)
               and model(x).shape == (n, 10), "don't change the classifier (no layer replaced, no weights touched): "
               "build a new module from its layers")


DIV_HINT = ("counts[c] = how many images were predicted as class c, for every c in range(num_classes) "
            "(np.bincount(..., minlength=num_classes)); entropy in BITS of p = counts / counts.sum(): "
            "-sum p log2 p over the classes with p > 0 (0 log 0 = 0); never = the classes with count 0, a list")


def _diversity(pred, k):
    counts = np.bincount(pred, minlength=k)
    p = counts / counts.sum()
    nz = p[p > 0]
    return counts, float(-(nz * np.log2(nz)).sum()), [c for c in range(k) if counts[c] == 0]


def _div_cases(hidden):
    """(predicted classes, num_classes)."""
    rng = np.random.default_rng(3)
    cases = [(np.array([0, 1, 1, 3, 3, 3, 3, 9]), 10), (rng.integers(0, 10, 200), 10)]
    if hidden:
        cases += [(np.array([2, 2, 2]), 5),                       # one class only: entropy 0
                  (np.arange(4).repeat(3), 4),                    # uniform: log2(4) = 2 bits
                  (np.array([4, 0, 4, 0]), 7), (rng.integers(0, 3, 50), 3)]
    return cases


def _div_with(pred, k, counts=None, entropy=None, never=None):
    """The reference's result with one part replaced (a function of the counts): a known mistake."""
    right = list(_diversity(pred, k))
    for i, part in enumerate((counts, entropy, never)):
        if part is not None:
            right[i] = part(right[0])
    return tuple(right)


def _p(counts):
    return counts / counts.sum()


def _entropy(q, log=np.log2, sign=-1):
    q = q[q > 0]
    return float(sign * (q * log(q)).sum())


# --------------------------------------------------------------------------------------------
# the records: the functions checked by what they compute (helpers.checks.records)
# --------------------------------------------------------------------------------------------

EXERCISES = [
    Build("dcgan_generator", reference=_dcgan, cases=_dcgan_cases, hint=DCGAN_G_HINT,
          describe=lambda latent, w: f"dcgan_generator(latent_dim={latent}, width={w})",
          forbidden=FORBIDDEN["dcgan_generator"],
          never={kind: "no pooling or nn.Upsample in a DCGAN: the transposed convolutions learn the upsampling"
                 for kind in ("MaxPool2d", "AvgPool2d", "Upsample")}, mistakes={
        "the output layer is nn.Tanh, so images come out in [-1, 1] like the scaled real ones (a sigmoid gives [0, 1])":
            _dcgan_with(out=nn.Sigmoid),
        "the last layer must be nn.Tanh: images in [-1, 1]": _dcgan_with(out=nn.Identity),
        "no BatchNorm on the output layer (Radford et al.: it made samples oscillate); the last transposed convolution "
        "feeds Tanh": _dcgan_with(bn_out=True),
        "the guidelines put BatchNorm2d after every hidden transposed convolution": _dcgan_with(bn=lambda c: nn.Identity()),
        "bias=False in the hidden transposed convolutions: BatchNorm subtracts the mean, a bias before it is wasted":
            _dcgan_with(bias=True),
        "BatchNorm2d comes right after each transposed convolution, before the ReLU": _dcgan_with(swap=True),
        "the generator's hidden layers use ReLU (LeakyReLU is the discriminator's)":
            _dcgan_with(act=lambda: nn.LeakyReLU(0.2))}),
    Exercise(
        "discriminator_loss", reference=lambda real, fake, smooth=0.0: _bce(real, 1 - smooth) + _bce(fake, 0),
        cases=_d_cases, run=a_loss, rtol=RTOL, atol=ATOL, hint=D_HINT,
        describe=lambda grad, errors, real, fake, s: f"discriminator_loss for {len(real)} real and {len(fake)} fake "
                                                     f"logits, smooth={s}",
        mistakes={"the labels are swapped: real images are labelled 1 (or 1 - smooth), fakes 0":
                  lambda real, fake, s: _bce(real, 0) + _bce(fake, 1),
                  "ADD the two terms (Goodfellow et al. eq. 1, CS231n); don't average them":
                  lambda real, fake, s: 0.5 * (_bce(real, 1 - s) + _bce(fake, 0)),
                  "average over the batch (reduction='mean'), don't sum":
                  lambda real, fake, s: _bce(real, 1 - s, "sum") + _bce(fake, 0, "sum"),
                  "one-sided label smoothing makes the real target 1 - smooth (0.9 for smooth = 0.1), not smooth":
                  lambda real, fake, s: _bce(real, s) + _bce(fake, 0),
                  "the real target must be 1 - smooth: the smoothing is ignored": lambda real, fake, s: _bce(real, 1) + _bce(fake, 0),
                  "smoothing is ONE-sided: only the real target moves to 1 - smooth; the fakes keep the target 0":
                  lambda real, fake, s: _bce(real, 1 - s) + _bce(fake, s),
                  "a loss to MINIMISE: the binary cross-entropy is already -log(...)":
                  lambda real, fake, s: -_bce(real, 1 - s) - _bce(fake, 0),
                  TWICE: lambda real, fake, s: _bce(real.sigmoid(), 1 - s) + _bce(fake.sigmoid(), 0),
                  STABLE_HINT: lambda real, fake, s: _naive(real, 1 - s) + _naive(fake, 0),
                  STABLE_1M: lambda real, fake, s: _bce(real, 1 - s) + _naive(fake, 0, False)}),
    Exercise(
        "generator_loss", reference=lambda fake: _bce(fake, 1), cases=_g_cases, run=a_loss, rtol=RTOL, atol=ATOL,
        hint=G_HINT, describe=lambda grad, errors, fake: f"generator_loss for {len(fake)} fake logits",
        mistakes={"this is the SATURATING loss mean(log(1 - D(G(z)))) of the minimax game: its gradient vanishes while D "
                  "rejects the fakes; minimise BCE(D(G(z)), 1) instead": lambda fake: -_bce(fake, 0),
                  "the target is the discriminator's (0 = fake): the generator wants its fakes called REAL, target 1":
                  lambda fake: _bce(fake, 0),
                  "average over the batch (reduction='mean'), don't sum": lambda fake: _bce(fake, 1, "sum"),
                  "-mean(D(G(z))) is the WGAN critic's generator loss; this GAN's discriminator outputs logits of a "
                  "probability: use the BCE against 1": lambda fake: -fake.mean(),
                  TWICE: lambda fake: _bce(fake.sigmoid(), 1),
                  "label smoothing belongs to the discriminator's real targets only; the generator's target is 1":
                  lambda fake: _bce(fake, 0.9),
                  STABLE_HINT: lambda fake: _naive(fake, 1, False),
                  STABLE_1M: lambda fake: _naive(fake, 1)}),
    Exercise(
        "transposed_output_size", reference=_t_size, cases=_t_cases, run=an_int, hint=TCONV_HINT,
        describe=lambda args, kw: "transposed_output_size(h={h}, kernel={kernel}, stride={stride}, padding={padding})".format(**kw),
        mistakes={"that is the size after an ordinary (strided) convolution, which shrinks; its transpose grows: count "
                  "where its stamps reach": lambda h, kernel, stride, padding: (h + 2 * padding - kernel) // stride + 1,
                  "padding is cropped from BOTH sides of the output: subtract 2 * padding":
                  lambda h, kernel, stride, padding: (h - 1) * stride + kernel,
                  "padding is cropped from both sides: subtract 2 * padding, not padding":
                  lambda h, kernel, stride, padding: (h - 1) * stride - padding + kernel,
                  "H * stride is only right for kernel = stride + 2 * padding (e.g. 4, 2, 1): count where the last stamp "
                  "ends instead": lambda h, kernel, stride, padding: h * stride,
                  "padding crops the output of a transposed convolution: subtract 2 * padding":
                  lambda h, kernel, stride, padding: (h - 1) * stride + 2 * padding + kernel}),
    Exercise(
        "class_diversity", reference=_diversity, cases=_div_cases, outputs=("counts", "entropy_bits", "never"),
        hint=DIV_HINT, describe=lambda pred, k: f"class_diversity for {len(pred)} predictions, num_classes={k}",
        mistakes={"counts are numbers of images, not fractions": lambda pred, k: _div_with(pred, k, counts=_p),
                  "that is the entropy in nats (natural log): use np.log2, bits, so ten equal classes give log2(10) = 3.32":
                  lambda pred, k: _div_with(pred, k, entropy=lambda c: _entropy(_p(c), np.log)),
                  "take the entropy of the probabilities p = counts / counts.sum(), not of the counts":
                  lambda pred, k: _div_with(pred, k, entropy=lambda c: _entropy(c.astype(float))),
                  "the entropy is -sum p log2 p: the sign is missing": lambda pred, k: _div_with(pred, k, entropy=lambda c: _entropy(_p(c), sign=1)),
                  "never should be a list of class indices, the classes with count 0 (that looks like how MANY: return WHICH ones)":
                  lambda pred, k: _div_with(pred, k, never=lambda c: int((c == 0).sum()))}),
]

globals().update(checks_of(EXERCISES, __name__))   # check_discriminator_loss, ..., check_class_diversity
