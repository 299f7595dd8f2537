"""Steps: what ``train.fit`` does with one batch, as plain functions.

A step is ``step(model, batch, **options) -> dict of named numbers``. ``"loss"`` (a 0-d tensor)
is the one ``fit`` backpropagates; every other entry is only recorded. A number is either

* a batch mean (0-d tensor or float): the epoch's value weights it by the batch size, or
* a tensor with one value per example, e.g. ``(N,)``: the epoch's value is its mean over all
  examples (so accuracy is correct / total exactly).

``fit`` passes ``loss_fn=`` to the step when it is given one; other options go in with
``functools.partial(reconstruction_step, target="y")``. The same step runs for evaluation
(model in eval mode, no gradients). Adversarial steps take both models:
``d_step(generator, discriminator, batch)`` (see ``train.fit_adversarial``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _logits_and_targets(logits, y, step: str) -> None:
    if isinstance(logits, (tuple, list)):
        raise ValueError(f"{step}: the model returned {len(logits)} outputs (auxiliary heads?); "
                         "use step=aux_classification_step")
    if logits.ndim != 2 or y.ndim != 1 or len(logits) != len(y):
        raise ValueError(f"{step} expects logits (N, C) and class indices (N,), got logits {tuple(logits.shape)} "
                         f"and targets {tuple(y.shape)}; for other targets use loss_step or reconstruction_step")


def classification_step(model, batch, loss_fn=F.cross_entropy) -> dict:
    """batch ``(x, y)``: x (N, ...), y (N,) class indices; ``model(x)`` -> logits (N, C).

    Returns ``{"loss": loss_fn(logits, y)`` (0-d), ``"acc": (N,)`` True where argmax is right``}``.
    """
    x, y = batch
    logits = model(x)
    _logits_and_targets(logits, y, "classification_step")
    return {"loss": loss_fn(logits, y), "acc": logits.argmax(1) == y}


def aux_classification_step(model, batch, loss_fn=F.cross_entropy, aux_weight: float = 0.3, criterion=None) -> dict:
    """Models with auxiliary classifiers (GoogLeNet): in train mode ``model(x)`` returns
    ``(logits, *aux_logits)``, each (N, C) (``GoogLeNetOutputs(logits, aux2, aux1)``; ``None``
    entries are skipped); in eval mode plain logits (N, C).

    loss = loss(logits) + aux_weight * sum(loss(aux)): Szegedy et al. 2014, Section 5, add the
    auxiliary losses with weight 0.3. Returns ``{"loss": that total, "main_loss": loss(logits)
    alone (comparable with the validation loss), "acc": (N,) from the main logits}``.
    criterion: the whole loss as one function instead, ``criterion(model(x), y)`` (e.g. notebook
    09's ``googlenet_loss``, given the model's output as it is: the tuple in train mode).
    """
    x, y = batch
    out = model(x)
    if isinstance(out, (tuple, list)):
        logits, aux = out[0], [a for a in out[1:] if a is not None]
    else:
        logits, aux = out, []
    _logits_and_targets(logits, y, "aux_classification_step")
    main = loss_fn(logits, y)
    if criterion is not None:
        loss = criterion(out, y)
    else:
        loss = main + aux_weight * sum(loss_fn(a, y) for a in aux) if aux else main
    return {"loss": loss, "main_loss": main.detach(), "acc": logits.argmax(1) == y}


def loss_step(model, batch, loss_fn=F.mse_loss) -> dict:
    """batch ``(x, y)``; ``{"loss": loss_fn(model(x), y)}``: regression, or any custom loss."""
    x, y = batch
    return {"loss": loss_fn(model(x), y)}


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB, (N,): 10 log10(data_range^2 / MSE).
    For images in [0, data_range]; a perfect reconstruction is capped at 100 dB."""
    mse = (pred.float() - target.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(data_range ** 2 / mse.clamp_min(data_range ** 2 * 1e-10))


def reconstruction_step(model, batch, loss_fn=F.mse_loss, target: str = "input", data_range: float = 1.0) -> dict:
    """Autoencoders. batch: images x (N, C, H, W), or ``(x, y)``; ``model(x)`` -> (N, C, H, W).

    ``target="input"`` reconstructs x itself (y, if any, is ignored); ``target="y"``
    reconstructs y (denoising: x noisy, y clean). Returns ``{"loss": loss_fn(out, target)``,
    ``"psnr": (N,)`` dB per image, meaningful for images in [0, data_range]``}``.
    """
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    if target == "input":
        clean = x
    elif target == "y":
        clean = batch[1]
    else:
        raise ValueError(f"target must be 'input' or 'y', got {target!r}")
    out = model(x)
    if out.shape != clean.shape:
        raise ValueError(f"reconstruction_step: the model returned {tuple(out.shape)} for targets of shape "
                         f"{tuple(clean.shape)}; a reconstruction must have the target's shape")
    return {"loss": loss_fn(out, clean), "psnr": psnr(out.detach(), clean, data_range)}


# --- adversarial steps: (generator, discriminator, batch) -> dict ----------------------------

def _noise(generator, n: int, device, latent_dim: int | None) -> torch.Tensor:
    latent_dim = latent_dim or getattr(generator, "latent_dim", None)
    if latent_dim is None:
        raise ValueError("the generator has no .latent_dim; pass latent_dim= (functools.partial)")
    return torch.randn(n, latent_dim, device=device)


def _real_images(batch) -> torch.Tensor:
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def gan_discriminator_step(generator, discriminator, batch, latent_dim: int | None = None) -> dict:
    """The discriminator's side of a GAN (Goodfellow et al. 2014): real images x (N, ...) from
    the batch, fakes G(z) for z ~ N(0, 1) of shape (N, latent_dim), detached so G does not learn here.
    ``discriminator`` returns one logit per image, (N,) or (N, 1).

    Returns ``{"loss": BCE(D(x), 1) + BCE(D(G(z)), 0), "real_acc": (N,) D(x) > 0,
    "fake_acc": (N,) D(G(z)) < 0}``.
    """
    real = _real_images(batch)
    fake = generator(_noise(generator, len(real), real.device, latent_dim)).detach()
    real_logit, fake_logit = discriminator(real).flatten(), discriminator(fake).flatten()
    loss = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
            + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
    return {"loss": loss, "real_acc": real_logit > 0, "fake_acc": fake_logit < 0}


def gan_generator_step(generator, discriminator, batch, latent_dim: int | None = None) -> dict:
    """The generator's side: fresh z (N, latent_dim); the non-saturating loss BCE(D(G(z)), 1)
    (Goodfellow et al. 2014, Section 3). Returns ``{"loss"}``."""
    real = _real_images(batch)
    fake_logit = discriminator(generator(_noise(generator, len(real), real.device, latent_dim))).flatten()
    return {"loss": F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))}
