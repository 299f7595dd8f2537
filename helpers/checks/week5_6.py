"""Checks for weeks 5-6's graded exercises: autoencoders (notebooks 01-03).

01 MLP autoencoder: the module (``MLPAutoencoder(k, hidden)`` with ``.encoder`` / ``.decoder``),
the reconstruction loss, PSNR per image. 02 convolutional autoencoder: the output size of
``ConvTranspose2d`` (checked against PyTorch itself) and a decoder that returns exactly 28x28.
03 denoising: the noise function (reproducible with a ``torch.Generator``, clipped to [0, 1])
and the training step whose target is the *clean* image.

The two modules, the loss, PSNR and output size are records at the end of the module (``EXERCISES``,
:mod:`helpers.checks.records`, :mod:`helpers.checks.modules`: a module is judged by what it computes with the
reference's weights loaded in): the mentee edition judges them against fixtures. The other checks are written
with the shared core (:mod:`helpers.checks.core`), each saying why above it; a known mistake fails with its own hint. ``hidden=True`` adds cases
the notebooks do not show (other sizes, data ranges, dilation, other seeds and amounts).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..steps import psnr as _psnr
from .core import CheckFailure, call, compare, expect, forbid, isolated, unchanged
from .modules import Build, case
from .records import Exercise, a_loss, an_int, checks_of

__all__ = [
    "check_mlp_autoencoder", "check_reconstruction_loss", "check_psnr",
    "check_conv_transpose_output_size", "check_conv_decoder",
    "check_add_noise", "check_denoising_step",
]


def _images(n: int, seed: int, shape=(1, 28, 28)) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


def _t(value, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch tensor, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------
# 01 · MLP autoencoder
# --------------------------------------------------------------------------------------------

MLP_HINT = ("the encoder flattens each image and maps 784 -> hidden -> k numbers with a ReLU in between; the decoder "
            "mirrors it, k -> hidden -> 784 with a ReLU in between and a sigmoid at the end, and gives back images of "
            "shape (N, 1, 28, 28); the autoencoder is the decoder applied to the encoder's output")
REFERENCE = "the exercise is to write it: the course's version in helpers is what the check compares with"
FORBIDDEN = {  # per exercise: what its answer may not use, and why
    "MLPAutoencoder": {"helpers.models": REFERENCE},
    "ConvDecoder": {"helpers.models": REFERENCE},
    "psnr": {"helpers.steps.psnr": REFERENCE, "helpers.metrics": REFERENCE, "skimage.metrics": REFERENCE},
    "denoising_step": {"helpers.steps.reconstruction_step": REFERENCE + " (psnr from helpers.train is fine)",
                       "helpers.steps.loss_step": REFERENCE},
}


class _AE(nn.Module):
    """The MLP autoencoder (section 2's table) and, with a keyword changed, its mistakes."""

    def __init__(self, k, h, act=nn.ReLU, out=nn.Sigmoid, code=nn.Identity, dec_act=None, shape=(1, 28, 28)):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, h), act(), nn.Linear(h, k), code())
        self.decoder = nn.Sequential(nn.Linear(k, h), (dec_act or act)(), nn.Linear(h, 784), out(), nn.Unflatten(1, shape))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def _ae_with(**change):
    return lambda k, h: _AE(k, h, **change)


def _ae_cases(hidden):
    rows = [(2, 128), (32, 64)] + ([(1, 16), (128, 32)] if hidden else [])
    return [case(k, h, x=(5, 1, 28, 28), draw="uniform", seed=k, parts={"encoder": (5, k), "decoder": None})
            for k, h in rows]


LOSS_HINT = "the squared differences between reconstruction and input, averaged over every pixel of every image"


def _loss_cases(hidden):
    """(grad wrt x_hat, no errors to recognise, x_hat, x)."""
    shapes = [(4, 1, 28, 28)] + ([(1, 1, 28, 28), (7, 1, 5, 3)] if hidden else [])
    return [((0,), (), _images(s[0], 20 + i, s[1:]), _images(s[0], 10 + i, s[1:])) for i, s in enumerate(shapes)]


PSNR_HINT = "per image: mse_i = mean of (x_hat_i - x_i) ** 2 over its pixels; psnr_i = 10 * log10(data_range ** 2 / mse_i)"


def _psnr_cases(hidden):
    """(x_hat, x, data_range): each image its own error."""
    cases = []
    for i, (n, rng, noise) in enumerate([(6, 1.0, 0.1), (3, 1.0, 0.3)] + ([(1, 255.0, 20.0), (5, 2.0, 0.05)] if hidden else [])):
        x = _images(n, 30 + i) * rng
        scale = torch.linspace(0.5, 2.0, n).view(n, 1, 1, 1)
        cases.append((x + noise * scale * torch.randn(x.shape, generator=torch.Generator().manual_seed(40 + i)), x, rng))
    return cases


def _mse_per_image(x_hat, x):
    return (x_hat - x).pow(2).flatten(1).mean(1)


# --------------------------------------------------------------------------------------------
# 02 · convolutional autoencoder
# --------------------------------------------------------------------------------------------

CT_HINT = ("count the stamps as in section 1: where does the first stamp start, where does the last of the size "
           "stamps end (a dilated kernel is wider than kernel_size), what does padding take off and output_padding "
           "add? Check it on the worked example: size 3, kernel 3, stride 2 gives 7; with padding 1, 5; "
           "with output_padding 1 as well, 6")


def _torch_ct_size(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> int:
    layer = nn.ConvTranspose2d(1, 1, kernel_size, stride=stride, padding=padding, output_padding=output_padding,
                               dilation=dilation)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, size, size)).shape[-1])


def _ct_cases(hidden):
    """((size,), the keyword arguments): size, kernel_size, stride, padding, output_padding, dilation."""
    cases = [(7, 3, 2, 1, 1, 1), (14, 4, 2, 1, 0, 1), (5, 3, 1, 0, 0, 1)]
    if hidden:
        cases += [(7, 3, 2, 1, 0, 1), (4, 5, 3, 2, 2, 1), (6, 3, 1, 1, 0, 2), (3, 2, 2, 0, 1, 3), (1, 7, 1, 0, 0, 1),
                  (9, 3, 3, 4, 0, 4)]
    return [((n,), dict(kernel_size=k, stride=s, padding=p, output_padding=op, dilation=d)) for n, k, s, p, op, d in cases]


def _ct(formula):
    """A mistaken output size, as a function with the answer's signature."""
    def size(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
        return formula(size, kernel_size, stride, padding, output_padding, dilation)
    return size


DEC_HINT = ("compare each stage with the table of section 2: a Linear to a (2 * channels) @ 7x7 map, then two "
            "kernel-3, stride-2 transposed convolutions that double it exactly, 7 -> 14 -> 28 (widths channels, 1; "
            "padding and output_padding from your section-1 function), ReLU after the hidden layers, an output "
            "activation into [0, 1]")


def _dec(k, c=16, act=nn.ReLU, mid=nn.ReLU, out=nn.Sigmoid, op=1):
    return nn.Sequential(nn.Linear(k, 2 * c * 49), act(), nn.Unflatten(1, (2 * c, 7, 7)),
                         nn.ConvTranspose2d(2 * c, c, 3, 2, 1, op), mid(), nn.ConvTranspose2d(c, 1, 3, 2, 1, op), out())


def _dec_with(**change):
    return lambda k, c=16: _dec(k, c, **change)


def _dec_cases(hidden):
    rows = [(2, 16, 3), (32, 16, 5)] + ([(1, 4, 1), (128, 8, 2), (10, 3, 17)] if hidden else [])
    return [case(k, c, x=(n, k), seed=k) for k, c, n in rows]


# --------------------------------------------------------------------------------------------
# 03 · denoising
# --------------------------------------------------------------------------------------------

NOISE_HINT = ("follow the recipe of section 1: one draw from `generator` per pixel (a normal one for gaussian, "
              "a uniform one for salt_pepper), the gaussian result clipped to [0, 1], salt and pepper each taking "
              "half of `amount`; return a new tensor, x unchanged")


def reference_noise(x, kind="gaussian", factor=0.5, amount=0.2, generator=None):
    """The answer the checks compare with (the notebook's exercise states the same recipe)."""
    if kind == "gaussian":
        return (x + factor * torch.randn(x.shape, generator=generator)).clamp(0, 1)
    u = torch.rand(x.shape, generator=generator)
    out = x.clone()
    out[u < amount / 2] = 0.0
    out[u > 1 - amount / 2] = 1.0
    return out


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# procedural: random: drawn from the answer's own generator, the global RNG untouched, an unknown kind raising
@isolated
def check_add_noise(add_noise, hidden: bool = False) -> None:
    """``add_noise(x, kind="gaussian" | "salt_pepper", factor=0.5, amount=0.2, generator=None)``: reproducible, in [0, 1]."""
    cases = [("gaussian", 0.5, 0.2, 0, 4), ("salt_pepper", 0.5, 0.2, 1, 4)]
    if hidden:
        cases += [("gaussian", 0.1, 0.2, 2, 1), ("gaussian", 1.0, 0.2, 3, 6), ("salt_pepper", 0.5, 0.5, 4, 2),
                  ("salt_pepper", 0.5, 0.02, 5, 8)]
    for kind, factor, amount, seed, n in cases:
        x = _images(n, 50 + seed)
        before, rng = x.clone(), torch.get_rng_state()
        where = f"kind={kind!r}, factor={factor}, amount={amount}"
        got = _t(call(add_noise, x, kind=kind, factor=factor, amount=amount, generator=_gen(seed), hint=NOISE_HINT),
                 f"add_noise(x, {where})")
        expect(torch.equal(rng, torch.get_rng_state()), "add_noise used or reseeded torch's global RNG: "
               "draw every random number from `generator` (torch.randn(x.shape, generator=generator)), nothing else")
        unchanged(before, x, "add_noise changed x in place: the clean images are still needed as targets (use x + ..., "
                             "x.clone())")
        expect(tuple(got.shape) == tuple(x.shape), f"add_noise returned shape {tuple(got.shape)}, expected {tuple(x.shape)}")
        expected = reference_noise(x, kind, factor, amount, _gen(seed))
        if kind == "gaussian":
            raw = x + factor * torch.randn(x.shape, generator=_gen(seed))
            mistakes = [(raw, "the noisy images leave [0, 1]: clip them with .clamp(0, 1)"),
                        ((x + factor ** 2 * torch.randn(x.shape, generator=_gen(seed))).clamp(0, 1) if factor != 1 else None,
                         "factor is the standard deviation of the noise: multiply the randn by factor, not factor ** 2"),
                        ((x + factor * torch.rand(x.shape, generator=_gen(seed))).clamp(0, 1),
                         "Gaussian noise comes from torch.randn (normal), not torch.rand (uniform)")]
        else:
            u = torch.rand(x.shape, generator=_gen(seed))
            swapped, unhalved = x.clone(), x.clone()
            swapped[u < amount / 2], swapped[u > 1 - amount / 2] = 1.0, 0.0
            unhalved[u < amount] = 0.0
            unhalved[u > 1 - amount] = 1.0
            mistakes = [(swapped, "salt and pepper are swapped: u < amount / 2 -> 0 (pepper), u > 1 - amount / 2 -> 1 (salt)"),
                        (unhalved, "amount is the fraction of ALL corrupted pixels: half pepper (u < amount / 2), half salt")]
        compare(got, expected, f"add_noise(x, {where})", NOISE_HINT, mistakes)
    try:
        call(add_noise, _images(2, 99), kind="speckle", generator=_gen(0))
    except CheckFailure as err:
        expect(isinstance(err.__cause__, ValueError), f"an unknown kind should raise ValueError naming the kinds: {err}")
    else:
        raise CheckFailure("add_noise(x, kind='speckle') returned a result: raise ValueError for an unknown kind "
                           "(say 'gaussian' or 'salt_pepper')")


STEP_HINT = ("the model sees the NOISY images (the batch's first tensor) and is scored on the CLEAN ones (the "
             "second): the loss is the mean squared error per pixel and keeps its gradient; the PSNR, per image, "
             "is a measurement of the same output")


# procedural: steps a model (a training step's dict of loss and PSNR)
@isolated
def check_denoising_step(denoising_step, hidden: bool = False) -> None:
    """``denoising_step(model, batch)`` with batch ``(noisy, clean)`` -> {"loss": 0-d MSE to clean, "psnr": (N,) vs clean}."""
    forbid(denoising_step, FORBIDDEN["denoising_step"])
    cases = [(4, 0)] + ([(1, 1), (9, 2)] if hidden else [])
    for n, seed in cases:
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Sigmoid())
        clean = _images(n, 60 + seed)
        noisy = reference_noise(clean, "gaussian", 0.5, generator=_gen(70 + seed))
        numbers = call(denoising_step, model, (noisy.clone(), clean.clone()), hint=STEP_HINT)
        expect(isinstance(numbers, dict) and "loss" in numbers and "psnr" in numbers,
               f"denoising_step should return a dict with 'loss' and 'psnr', got "
               f"{sorted(numbers) if isinstance(numbers, dict) else type(numbers).__name__}")
        loss, score = _t(numbers["loss"], "numbers['loss']"), _t(numbers["psnr"], "numbers['psnr']")
        expect(loss.ndim == 0, f"'loss' should be a 0-d tensor (the batch mean), got shape {tuple(loss.shape)}")
        with torch.no_grad():
            out = model(noisy)
        mistakes = [(F.mse_loss(out, noisy), "the target is the noisy input: compare the output with the CLEAN images "
                                             "(batch[1]), or the model learns to copy the noise"),
                    (F.mse_loss(noisy, clean), "that is the noise itself: run the model on the noisy images first"),
                    (F.mse_loss(model(clean).detach(), clean), "the model must see the NOISY images (batch[0]) as input")]
        compare(loss.detach(), F.mse_loss(out, clean), "numbers['loss']", STEP_HINT, mistakes, rtol=1e-5, atol=1e-7)
        expect(loss.requires_grad, "'loss' has no gradient (detached, .item()?): fit backpropagates it")
        compare(score.detach(), _psnr(out, clean), "numbers['psnr']", "one PSNR per image, (N,), of the output against "
                "the clean images (helpers.train.psnr, on the output without its gradient)",
                [(_psnr(out, noisy), "the PSNR is measured against the clean images, not the noisy inputs"),
                 (_psnr(noisy, clean), "that is the noisy input's PSNR: measure the model's output"),
                 (_psnr(out, clean).mean(), "return the PSNR per image, shape (N,): fit averages it over the epoch")],
                rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------------
# the records: the functions checked by what they compute (helpers.checks.records)
# --------------------------------------------------------------------------------------------

EXERCISES = [
    Build("mlp_autoencoder", answer="MLPAutoencoder", reference=_AE, cases=_ae_cases, hint=MLP_HINT,
          forbidden=FORBIDDEN["MLPAutoencoder"], parts="the notebook encodes and decodes separately: the code is a "
          "vector of k numbers per image", mistakes={
        "reshape the decoder's 784 outputs to images: nn.Unflatten(1, (1, 28, 28))": _ae_with(shape=(784,)),
        "end the decoder with nn.Sigmoid(), so reconstructions are pixel values in [0, 1]": _ae_with(out=nn.Identity),
        "put a ReLU between the two Linear layers of the encoder and of the decoder: without it each half is linear "
        "(PCA at best)": _ae_with(act=nn.Identity),
        "the decoder needs its ReLU between its Linear layers too": _ae_with(dec_act=nn.Identity),
        "the hidden layers use nn.ReLU, not LeakyReLU": _ae_with(act=lambda: nn.LeakyReLU(0.01)),
        "the code is the last Linear's output as it is: no ReLU on it": _ae_with(code=nn.ReLU)}),
    Build("conv_decoder", answer="ConvDecoder", reference=_dec, cases=_dec_cases, hint=DEC_HINT,
          forbidden=FORBIDDEN["ConvDecoder"],
          holds={"ConvTranspose2d": "the decoder should upsample with nn.ConvTranspose2d (notebook section 2 compares "
                                    "it with resize + conv)"}, mistakes={
        "without output padding a kernel-3, stride-2, padding-1 layer maps 7 -> 13 and 13 -> 25 ((H - 1) * 2 - 2 + 3): "
        "give each ConvTranspose2d output_padding=1 (7 -> 14 -> 28)": _dec_with(op=0),
        "end with nn.Sigmoid(): the images are pixel values in [0, 1]": _dec_with(out=nn.Identity),
        "put a ReLU between the two transposed convolutions": _dec_with(mid=nn.Identity),
        "put a ReLU after the Linear layer": _dec_with(act=nn.Identity)}),
    Exercise(
        "reconstruction_loss", reference=lambda x_hat, x: F.mse_loss(x_hat, x), cases=_loss_cases, run=a_loss, rtol=1e-5,
        hint=LOSS_HINT, describe=lambda grad, errors, x_hat, x: f"the loss for images {tuple(x.shape)}",
        mistakes={"that is the SUM of squared errors: take the mean over all pixels (F.mse_loss)":
                  lambda x_hat, x: (x_hat - x).pow(2).sum(),
                  "that sums the pixels of each image: average over the pixels as well":
                  lambda x_hat, x: (x_hat - x).pow(2).flatten(1).sum(1).mean(),
                  "that is the root of the MSE (RMSE): leave out the square root": lambda x_hat, x: (x_hat - x).pow(2).mean().sqrt(),
                  "that is the mean ABSOLUTE error (L1): square the differences": lambda x_hat, x: (x_hat - x).abs().mean()}),
    Exercise(
        "psnr", reference=_psnr, cases=_psnr_cases, rtol=1e-4, atol=1e-4, hint=PSNR_HINT,
        describe=lambda x_hat, x, data_range: f"psnr for {len(x)} images, data_range {data_range:g}",
        mistakes={"that is the PSNR of the whole batch's MSE for every image: compute the MSE per image (mean over dims 1, 2, 3)":
                  lambda x_hat, x, r: (10 * torch.log10(r ** 2 / _mse_per_image(x_hat, x).mean())).expand(len(x)),
                  "psnr returned one number for all the images: return one PSNR per image, shape (N,) (mean over dims 1, 2, 3 only)":
                  lambda x_hat, x, r: 10 * torch.log10(r ** 2 / _mse_per_image(x_hat, x).mean()),
                  "20 log10 goes with the root of the MSE; with the MSE itself it is 10 log10":
                  lambda x_hat, x, r: 20 * torch.log10(r ** 2 / _mse_per_image(x_hat, x)),
                  "use log10 (decibels), not the natural log": lambda x_hat, x, r: 10 * torch.log(r ** 2 / _mse_per_image(x_hat, x)),
                  "square the data range: PSNR = 10 log10(data_range ** 2 / MSE)":
                  lambda x_hat, x, r: 10 * torch.log10(r / _mse_per_image(x_hat, x)),
                  "use data_range: the peak is data_range, not 1": lambda x_hat, x, r: 10 * torch.log10(1 / _mse_per_image(x_hat, x)),
                  "the ratio is upside down: peak squared over MSE, so better is higher":
                  lambda x_hat, x, r: 10 * torch.log10(_mse_per_image(x_hat, x) / r ** 2)},
        forbidden=FORBIDDEN["psnr"]),
    Exercise(
        "conv_transpose_output_size", reference=_torch_ct_size, cases=_ct_cases, run=an_int, hint=CT_HINT,
        describe=lambda args, kw: "the output size for size {}, kernel_size {kernel_size}, stride {stride}, padding {padding}, "
                                  "output_padding {output_padding}, dilation {dilation}".format(*args, **kw),
        mistakes={"that is Conv2d's formula (it shrinks): the transposed convolution grows: count where its stamps reach":
                  _ct(lambda n, k, s, p, op, d: (n + 2 * p - d * (k - 1) - 1) // s + 1),
                  "add output_padding (it adds rows on one side)": _ct(lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + d * (k - 1) + 1),
                  "dilation spreads the kernel: it covers dilation * (kernel_size - 1) + 1 pixels":
                  _ct(lambda n, k, s, p, op, d: (n - 1) * s - 2 * p + k + op),
                  "padding is taken off both sides: - 2 * padding": _ct(lambda n, k, s, p, op, d: (n - 1) * s - p + d * (k - 1) + op + 1),
                  "(H - 1) * stride: the first input pixel needs no step": _ct(lambda n, k, s, p, op, d: n * s - 2 * p + d * (k - 1) + op + 1)}),
]

globals().update(checks_of(EXERCISES, __name__))   # check_reconstruction_loss, check_psnr, check_conv_transpose_output_size
