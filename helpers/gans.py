"""Training GANs with snapshots (weeks 5-6, notebooks 04-06).

    G, D = models.MLPGenerator(64), models.MLPDiscriminator()
    history, snapshots = gans.train_gan(G, D, loader, epochs=3, lr=2e-4)
    viz.show_images(snapshots[-1])                       # G(z_fixed) after the last epoch

``train_gan`` is ``helpers.train.fit_adversarial`` one epoch at a time, with an Adam per player
(Radford et al. 2015: lr 2e-4, beta1 0.5) and ``G(z_fixed)`` kept after every epoch, so a grid
shows the same latent codes learning.
"""
from __future__ import annotations

import torch
from torch import nn

from .models.gan import fixed_latent
from .train import fit_adversarial, gan_discriminator_step, gan_generator_step

__all__ = ["train_gan", "generate", "make_players", "to_gan_range", "from_gan_range"]


def to_gan_range(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] -> [-1, 1] (the range of a tanh output)."""
    if x.numel() and (float(x.min()) < 0 or float(x.max()) > 1):
        raise ValueError(f"to_gan_range expects pixels in [0, 1], got values in [{float(x.min()):.3g}, {float(x.max()):.3g}]")
    return x * 2 - 1


def from_gan_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] for showing or for a classifier trained on [0, 1] pixels."""
    return ((x + 1) / 2).clamp(0, 1)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm uses its running statistics), on the CPU; G's mode is restored."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = torch.cat([generator(part.to(device)).cpu() for part in z.split(512)])
    generator.train(was_training)
    return out


def train_gan(generator: nn.Module, discriminator: nn.Module, loader, *, epochs: int = 1, lr: float = 2e-4,
              betas=(0.5, 0.999), z_fixed: torch.Tensor | None = None, d_step=gan_discriminator_step,
              g_step=gan_generator_step, verbose: bool = True, optimizers=None, device=None):
    """Train both players for ``epochs`` with Adam(lr, betas) each (or ``optimizers=(g_opt, d_opt)``).

    Returns ``(history, snapshots)``: the History of ``fit_adversarial`` (``d_loss``, ``g_loss``,
    ``d_real_acc``, ``d_fake_acc`` per epoch) and a list of ``G(z_fixed)`` (cpu tensors), one per
    epoch; ``z_fixed`` defaults to 32 codes from ``fixed_latent``. ``device``: where to train
    (default: where the generator is).
    """
    if z_fixed is None:
        z_fixed = fixed_latent(32, generator.latent_dim)
    if device is not None:
        generator.to(device)
        discriminator.to(device)
    g_opt, d_opt = optimizers or (torch.optim.Adam(generator.parameters(), lr=lr, betas=betas),
                                  torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas))
    history, snapshots = None, []
    for _ in range(epochs):
        history = fit_adversarial(generator, discriminator, loader, g_opt, d_opt, d_step=d_step, g_step=g_step,
                                  epochs=1, verbose=verbose, history=history, device=device)
        snapshots.append(generate(generator, z_fixed))
    return history, snapshots


def make_players(kind: str, latent_dim: int = 64, width: int | None = None):
    """``(generator, discriminator)`` for 28x28 one-channel images: ``kind`` "mlp" (hidden units,
    default 256) or "dcgan" (base channel width, default 64)."""
    from .models.gan import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

    if kind == "mlp":
        return MLPGenerator(latent_dim, width or 256), MLPDiscriminator(width or 256)
    if kind == "dcgan":
        return DCGANGenerator(latent_dim, width or 64), DCGANDiscriminator(width or 64)
    raise ValueError(f"kind must be 'mlp' or 'dcgan', got {kind!r}")
