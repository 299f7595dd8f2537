"""Weeks 5-6's graded checks (autoencoders), three ways each through the shared harness
(tests/checks_harness.py): the notebooks' own solution cells pass (public and hidden cases), the
released stubs fail as "not answered", typical wrong answers fail with their hint (those only the
hidden cases catch pass the public ones), and other right answers pass.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from checks_harness import Right, Week, Wrong, make_tests
from helpers.checks import week5_6 as checks
from helpers import models as helpers_models
from helpers.train import psnr as helpers_psnr

CHECKS = {
    "check_mlp_autoencoder": ("01", ["MLPAutoencoder"]),
    "check_reconstruction_loss": ("01", ["reconstruction_loss"]),
    "check_psnr": ("01", ["psnr"]),
    "check_conv_transpose_output_size": ("02", ["conv_transpose_output_size"]),
    "check_conv_decoder": ("02", ["ConvDecoder"]),
    "check_add_noise": ("03", ["add_noise"]),
    "check_denoising_step": ("03", ["denoising_step"]),
}
WEEK = Week("week5_6", checks, CHECKS, base={"np": np, "torch": torch, "nn": nn, "F": F, "psnr": helpers_psnr},
            own_generator=("check_add_noise",))


# ---------------------------------------------------------------- 01 MLP autoencoder

def _mlp(sigmoid=True, relu=True, unflatten=True, names=("encoder", "decoder"), hidden_layer=True, act=None,
         dropout=False):
    class Wrong(nn.Module):
        def __init__(self, k, hidden=128):
            super().__init__()
            act_ = act or (nn.ReLU if relu else nn.Identity)
            drop = [nn.Dropout(0.2)] if dropout else []
            if hidden_layer:
                enc = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), act_(), *drop, nn.Linear(hidden, k))
                dec = [nn.Linear(k, hidden), act_(), nn.Linear(hidden, 784)]
            else:
                enc = nn.Sequential(nn.Flatten(), nn.Linear(784, k))
                dec = [nn.Linear(k, 784)]
            dec += [nn.Sigmoid()] if sigmoid else []
            dec += [nn.Unflatten(1, (1, 28, 28))] if unflatten else []
            setattr(self, names[0], enc)
            setattr(self, names[1], nn.Sequential(*dec))
            self.names = names

        def forward(self, x):
            return getattr(self, self.names[1])(getattr(self, self.names[0])(x))
    return Wrong


class MLPShipped(helpers_models.MLPAutoencoder):
    """The course's model, renamed."""


class MLPDecoderFirst(nn.Module):
    """Right: the decoder registered first, the reshape written with view."""

    def __init__(self, k, hidden=128):
        super().__init__()
        self.decoder = nn.Sequential(nn.Linear(k, hidden), nn.ReLU(), nn.Linear(hidden, 784), nn.Sigmoid(),
                                     nn.Unflatten(-1, (1, 28, 28)))
        self.encoder = nn.Sequential(nn.Flatten(start_dim=1), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, k))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def loss_sum(x_hat, x):
    return ((x_hat - x) ** 2).sum()


def loss_per_image(x_hat, x):
    return ((x_hat - x) ** 2).flatten(1).sum(1).mean()


def loss_rmse(x_hat, x):
    return ((x_hat - x) ** 2).mean().sqrt()


def loss_l1(x_hat, x):
    return (x_hat - x).abs().mean()


def loss_float(x_hat, x):
    return ((x_hat - x) ** 2).mean().item()


def loss_detached(x_hat, x):
    return ((x_hat.detach() - x) ** 2).mean()


def psnr_batch(x_hat, x, data_range=1.0):
    return 10 * torch.log10(data_range ** 2 / ((x_hat - x) ** 2).mean())


def psnr_batch_expanded(x_hat, x, data_range=1.0):
    return psnr_batch(x_hat, x, data_range).expand(len(x))


def psnr_20(x_hat, x, data_range=1.0):
    return 20 * torch.log10(data_range ** 2 / ((x_hat - x) ** 2).flatten(1).mean(1))


def psnr_ln(x_hat, x, data_range=1.0):
    return 10 * torch.log(data_range ** 2 / ((x_hat - x) ** 2).flatten(1).mean(1))


def psnr_unsquared(x_hat, x, data_range=1.0):
    return 10 * torch.log10(data_range / ((x_hat - x) ** 2).flatten(1).mean(1))


def psnr_no_range(x_hat, x, data_range=1.0):
    return 10 * torch.log10(1 / ((x_hat - x) ** 2).flatten(1).mean(1))


def psnr_helpers(x_hat, x, data_range=1.0):
    return helpers_psnr(x_hat, x, data_range)


def psnr_f_mse(x_hat, x, data_range=1.0):
    mse = F.mse_loss(x_hat, x, reduction="none").mean(dim=(1, 2, 3))
    return 20 * torch.log10(torch.as_tensor(data_range)) - 10 * torch.log10(mse)


# ---------------------------------------------------------------- 02 transposed convolution, decoder

def ct_conv_formula(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def ct_no_output_padding(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + 1


def ct_no_dilation(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + kernel_size + output_padding


def ct_pad_once(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - padding + dilation * (kernel_size - 1) + output_padding + 1


def ct_float(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return float((size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1)


def ct_by_torch(size, *, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    layer = nn.ConvTranspose2d(1, 1, kernel_size, stride=stride, padding=padding, output_padding=output_padding,
                               dilation=dilation)
    return layer(torch.zeros(1, 1, size, size)).shape[-1]


def _decoder(output_padding=1, sigmoid=True, upsample=False, unused=False, mid=nn.ReLU):
    class Dec(nn.Module):
        def __init__(self, k, channels=16):
            super().__init__()
            c = channels
            up1 = (nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(2 * c, c, 3, padding=1)) if upsample else
                   nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=output_padding))
            up2 = (nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c, 1, 3, padding=1)) if upsample else
                   nn.ConvTranspose2d(c, 1, 3, stride=2, padding=1, output_padding=output_padding))
            self.layers = nn.Sequential(nn.Linear(k, 2 * c * 49), nn.ReLU(), nn.Unflatten(1, (2 * c, 7, 7)), up1,
                                        mid(), up2, *([nn.Sigmoid()] if sigmoid else []))
            if unused:
                self.extra = nn.Linear(3, 3)

        def forward(self, z):
            return self.layers(z)
    return Dec


class DecShipped(nn.Module):
    def __init__(self, k, channels=16):
        super().__init__()
        self.layers = helpers_models.ConvAutoencoder(k, channels).decoder

    def forward(self, z):
        return self.layers(z)


class DecFunctional(nn.Module):
    """Right: layers as attributes, activations and reshape in forward."""

    def __init__(self, k, channels=16):
        super().__init__()
        self.c = channels
        self.fc = nn.Linear(k, 2 * channels * 49)
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, kernel_size=3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose2d(channels, 1, kernel_size=3, stride=2, padding=1, output_padding=1)

    def forward(self, z):
        h = F.relu(self.fc(z)).view(-1, 2 * self.c, 7, 7)
        return torch.sigmoid(self.up2(F.relu(self.up1(h))))


# ---------------------------------------------------------------- 03 noise, denoising step

def _noise(clamp=True, use_generator=True, in_place=False, squared=False, uniform=False, swapped=False, halve=True,
           raise_unknown=True):
    def add_noise(x, kind="gaussian", factor=0.5, amount=0.2, generator=None):
        g = generator if use_generator else None
        if kind == "gaussian":
            f = factor ** 2 if squared else factor
            eps = torch.rand(x.shape, generator=g) if uniform else torch.randn(x.shape, generator=g)
            if in_place:
                x += f * eps
                out = x
            else:
                out = x + f * eps
            return out.clamp(0, 1) if clamp else out
        if kind == "salt_pepper" or not raise_unknown:
            u = torch.rand(x.shape, generator=g)
            a = amount / 2 if halve else amount
            out = x.clone()
            out[u < a] = 1.0 if swapped else 0.0
            out[u > 1 - a] = 0.0 if swapped else 1.0
            return out
        raise ValueError(kind)
    return add_noise


def noise_reseeded(x, kind="gaussian", factor=0.5, amount=0.2, generator=None):
    torch.manual_seed(generator.initial_seed())          # same numbers as the generator's, drawn from the global RNG
    return _noise(use_generator=False)(x, kind, factor, amount)


def noise_where(x, kind="gaussian", factor=0.5, amount=0.2, generator=None):
    if kind == "gaussian":
        return torch.clip(x + torch.randn(x.shape, generator=generator) * factor, min=0.0, max=1.0)
    if kind != "salt_pepper":
        raise ValueError("kind must be 'gaussian' or 'salt_pepper'")
    u = torch.rand(x.shape, generator=generator)
    return torch.where(u < amount / 2, 0.0, torch.where(u > 1 - amount / 2, 1.0, x))


def step_noisy_target(model, batch):
    noisy, _ = batch
    out = model(noisy)
    return {"loss": F.mse_loss(out, noisy), "psnr": helpers_psnr(out.detach(), noisy)}


def step_clean_input(model, batch):
    _, clean = batch
    out = model(clean)
    return {"loss": F.mse_loss(out, clean), "psnr": helpers_psnr(out.detach(), clean)}


def step_detached(model, batch):
    noisy, clean = batch
    out = model(noisy).detach()
    return {"loss": F.mse_loss(out, clean), "psnr": helpers_psnr(out, clean)}


def step_psnr_vs_noisy(model, batch):
    noisy, clean = batch
    out = model(noisy)
    return {"loss": F.mse_loss(out, clean), "psnr": helpers_psnr(out.detach(), noisy)}


def step_psnr_mean(model, batch):
    noisy, clean = batch
    out = model(noisy)
    return {"loss": F.mse_loss(out, clean), "psnr": helpers_psnr(out.detach(), clean).mean()}


def step_no_psnr(model, batch):
    noisy, clean = batch
    return {"loss": F.mse_loss(model(noisy), clean)}


def step_helpers(model, batch):
    from helpers.train import reconstruction_step
    return reconstruction_step(model, batch, target="y")


WRONG = [
    Wrong("check_mlp_autoencoder", _mlp(sigmoid=False), "Sigmoid"),
    Wrong("check_mlp_autoencoder", _mlp(relu=False), "ReLU"),
    Wrong("check_mlp_autoencoder", _mlp(unflatten=False), "Unflatten"),
    Wrong("check_mlp_autoencoder", _mlp(names=("enc", "dec")), r"needs a \.encoder"),
    Wrong("check_mlp_autoencoder", _mlp(hidden_layer=False), "parameters, expected"),
    Wrong("check_mlp_autoencoder", _mlp(act=nn.LeakyReLU), "not LeakyReLU"),
    Wrong("check_mlp_autoencoder", _mlp(dropout=True), "not in train mode"),
    Wrong("check_mlp_autoencoder", MLPShipped, "built on helpers.models.autoencoders.MLPAutoencoder"),
    Wrong("check_reconstruction_loss", loss_sum, "SUM of squared errors"),
    Wrong("check_reconstruction_loss", loss_per_image, "sums the pixels of each image"),
    Wrong("check_reconstruction_loss", loss_rmse, "RMSE"),
    Wrong("check_reconstruction_loss", loss_l1, "ABSOLUTE"),
    Wrong("check_reconstruction_loss", loss_float, "should be a torch tensor"),
    Wrong("check_reconstruction_loss", loss_detached, "no gradient"),
    Wrong("check_psnr", psnr_batch, "one PSNR per image"),
    Wrong("check_psnr", psnr_batch_expanded, "whole batch's MSE"),
    Wrong("check_psnr", psnr_20, "20 log10"),
    Wrong("check_psnr", psnr_ln, "natural log"),
    Wrong("check_psnr", psnr_unsquared, "square the data range", public_passes=True),
    Wrong("check_psnr", psnr_no_range, "use data_range", public_passes=True),
    Wrong("check_psnr", psnr_helpers, "uses helpers_psnr: the exercise is to write it"),
    Wrong("check_conv_transpose_output_size", ct_conv_formula, "Conv2d's formula"),
    Wrong("check_conv_transpose_output_size", ct_no_output_padding, "add output_padding"),
    Wrong("check_conv_transpose_output_size", ct_no_dilation, "dilation spreads", public_passes=True),
    Wrong("check_conv_transpose_output_size", ct_pad_once, "both sides"),
    Wrong("check_conv_transpose_output_size", ct_float, "should be an int"),
    Wrong("check_conv_decoder", _decoder(output_padding=0), "output_padding=1"),
    Wrong("check_conv_decoder", _decoder(sigmoid=False), "Sigmoid"),
    Wrong("check_conv_decoder", _decoder(upsample=True), "ConvTranspose2d"),
    Wrong("check_conv_decoder", _decoder(unused=True), "parameters, expected"),
    Wrong("check_conv_decoder", _decoder(mid=nn.Identity), "ReLU between the two transposed"),
    Wrong("check_conv_decoder", DecShipped, "uses helpers_models.ConvAutoencoder"),
    Wrong("check_add_noise", _noise(clamp=False), r"clamp\(0, 1\)"),
    Wrong("check_add_noise", _noise(use_generator=False), "global RNG"),
    Wrong("check_add_noise", noise_reseeded, "reseeded torch's global RNG"),
    Wrong("check_add_noise", _noise(in_place=True), "in place"),
    Wrong("check_add_noise", _noise(squared=True), r"factor \*\* 2"),
    Wrong("check_add_noise", _noise(uniform=True), "torch.randn"),
    Wrong("check_add_noise", _noise(swapped=True), "swapped"),
    Wrong("check_add_noise", _noise(halve=False), "fraction of ALL"),
    Wrong("check_add_noise", _noise(raise_unknown=False), "raise ValueError"),
    Wrong("check_denoising_step", step_noisy_target, "CLEAN images"),
    Wrong("check_denoising_step", step_clean_input, "NOISY images"),
    Wrong("check_denoising_step", step_detached, "no gradient"),
    Wrong("check_denoising_step", step_psnr_vs_noisy, "not the noisy inputs"),
    Wrong("check_denoising_step", step_psnr_mean, r"per image, shape \(N,\)"),
    Wrong("check_denoising_step", step_no_psnr, "dict with 'loss' and 'psnr'"),
    Wrong("check_denoising_step", step_helpers, "uses reconstruction_step"),
]

RIGHT = [
    Right("check_reconstruction_loss", lambda x_hat, x: F.mse_loss(x_hat, x), "the library loss"),
    Right("check_psnr", psnr_f_mse, "20 log10(range) - 10 log10(mse)"),
    Right("check_conv_transpose_output_size", ct_by_torch, "asking PyTorch"),
    Right("check_add_noise", noise_where, "torch.where / torch.clip"),
    Right("check_mlp_autoencoder", MLPDecoderFirst, "registered in another order: weights are matched by shape"),
    Right("check_conv_decoder", DecFunctional, "attributes and F.relu / torch.sigmoid in forward"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


def test_the_course_models_compute_what_the_module_checks_ask():
    """The records' references are written in helpers/checks/week5_6.py; the course's own models (helpers.models,
    what the notebooks train) pass the same cases, hidden ones included, with the rule against helpers.models lifted."""
    import dataclasses

    from helpers.checks import week5_6
    from helpers.checks.records import checks_of
    from helpers.models import ConvAutoencoder, MLPAutoencoder

    records = {ex.name: ex for ex in week5_6.EXERCISES}
    for name, model in (("mlp_autoencoder", MLPAutoencoder), ("conv_decoder", lambda k, c=16: ConvAutoencoder(k, c).decoder)):
        checks_of([dataclasses.replace(records[name], forbidden={})])[f"check_{name}"](model, hidden=True)
