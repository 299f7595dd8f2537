"""GAN players for 28x28 images scaled to [-1, 1] (weeks 5-6, notebooks 04-06).

- ``MLPGenerator`` / ``MLPDiscriminator``: the fully connected GAN of Goodfellow et al. 2014
  ("Generative Adversarial Nets", Section 5), with the now usual LeakyReLU(0.2) hidden units and
  a tanh output, so generated pixels live in [-1, 1] like the scaled real ones.
- ``DCGANGenerator`` / ``DCGANDiscriminator``: Radford, Metz & Chintala 2015 ("Unsupervised
  representation learning with deep convolutional GANs", Section 3, the architecture
  guidelines): no pooling (transposed convolutions upsample in G, strided convolutions
  downsample in D), BatchNorm in both except G's output and D's input layer, ReLU in G with a
  tanh output, LeakyReLU(0.2) in D, weights from N(0, 0.02) (Section 4). Sized for 28x28
  digits (the paper's 64x64 network has one more stage per player).

Every discriminator returns one logit per image, shape (N,), and rejects images of the
wrong shape or outside [-1, 1] with a ValueError that says what it expected.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

__all__ = ["MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator",
           "dcgan_init", "check_gan_images", "fixed_latent"]


def check_gan_images(x, where: str, channels: int = 1, size: int = 28, atol: float = 1e-5) -> None:
    """Raise ``ValueError`` unless ``x`` is a float tensor (N, channels, size, size) in [-1, 1]."""
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ValueError(f"{where} expects a float tensor of images, got {type(x).__name__}"
                         + (f" of {x.dtype}" if torch.is_tensor(x) else ""))
    if x.dim() != 4 or tuple(x.shape[1:]) != (channels, size, size):
        raise ValueError(f"{where} expects images of shape (N, {channels}, {size}, {size}), got {tuple(x.shape)}")
    if x.numel():
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if lo < -1 - atol or hi > 1 + atol:
            raise ValueError(f"{where} expects images scaled to [-1, 1] (pixels in [0, 1] -> x * 2 - 1), "
                             f"got values in [{lo:.3g}, {hi:.3g}]")


def _check_latent(z, where: str, latent_dim: int) -> torch.Tensor:
    if not torch.is_tensor(z) or z.dim() not in (2, 4) or z.shape[1] != latent_dim \
            or (z.dim() == 4 and z.shape[2:] != (1, 1)):
        shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
        raise ValueError(f"{where} expects latent codes of shape (N, {latent_dim}), got {shape}")
    return z.flatten(1)


def fixed_latent(n: int, latent_dim: int, seed: int = 0) -> torch.Tensor:
    """A reproducible batch of codes z ~ N(0, 1), shape (n, latent_dim): sample it once, look at
    G(z) after every epoch, and the grid shows the same codes learning."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, C, size, size) in [-1, 1] through two LeakyReLU layers."""

    def __init__(self, latent_dim: int = 64, hidden: int = 256, *, channels: int = 1, size: int = 28):
        super().__init__()
        self.latent_dim, self.channels, self.size = latent_dim, channels, size
        self.net = nn.Sequential(OrderedDict(
            fc1=nn.Linear(latent_dim, hidden), act1=nn.LeakyReLU(0.2),
            fc2=nn.Linear(hidden, 2 * hidden), act2=nn.LeakyReLU(0.2),
            out=nn.Linear(2 * hidden, channels * size * size), tanh=nn.Tanh()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = _check_latent(z, "MLPGenerator", self.latent_dim)
        return self.net(z).view(len(z), self.channels, self.size, self.size)


class MLPDiscriminator(nn.Module):
    """Images (N, C, size, size) in [-1, 1] -> logits (N,) (positive: "real")."""

    def __init__(self, hidden: int = 256, *, channels: int = 1, size: int = 28):
        super().__init__()
        self.channels, self.size = channels, size
        self.net = nn.Sequential(OrderedDict(
            flatten=nn.Flatten(),
            fc1=nn.Linear(channels * size * size, 2 * hidden), act1=nn.LeakyReLU(0.2),
            fc2=nn.Linear(2 * hidden, hidden), act2=nn.LeakyReLU(0.2),
            out=nn.Linear(hidden, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_gan_images(x, "MLPDiscriminator", self.channels, self.size)
        return self.net(x).flatten()


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> (N, C, 28, 28) in [-1, 1]: project to 2w@7x7, then two stride-2
    transposed convolutions (7 -> 14 -> 28); BatchNorm + ReLU between, tanh at the end."""

    def __init__(self, latent_dim: int = 64, width: int = 64, *, channels: int = 1):
        super().__init__()
        self.latent_dim, self.channels, self.size = latent_dim, channels, 28
        self.net = nn.Sequential(OrderedDict(
            project=nn.ConvTranspose2d(latent_dim, 2 * width, 7, 1, 0, bias=False),   # 2w@7x7
            bn1=nn.BatchNorm2d(2 * width), act1=nn.ReLU(),
            up1=nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),           # w@14x14
            bn2=nn.BatchNorm2d(width), act2=nn.ReLU(),
            up2=nn.ConvTranspose2d(width, channels, 4, 2, 1),                        # C@28x28
            tanh=nn.Tanh()))
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = _check_latent(z, "DCGANGenerator", self.latent_dim)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """(N, C, 28, 28) in [-1, 1] -> logits (N,): two stride-2 convolutions (28 -> 14 -> 7), no
    BatchNorm on the first, LeakyReLU(0.2), then a 7x7 convolution to one logit."""

    def __init__(self, width: int = 64, *, channels: int = 1):
        super().__init__()
        self.channels, self.size = channels, 28
        self.net = nn.Sequential(OrderedDict(
            down1=nn.Conv2d(channels, width, 4, 2, 1), act1=nn.LeakyReLU(0.2),              # w@14x14
            down2=nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),                          # 2w@7x7
            bn2=nn.BatchNorm2d(2 * width), act2=nn.LeakyReLU(0.2),
            out=nn.Conv2d(2 * width, 1, 7)))                                                 # 1@1x1
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_gan_images(x, "DCGANDiscriminator", self.channels, self.size)
        return self.net(x).flatten()


def dcgan_init(model: nn.Module) -> nn.Module:
    """Radford et al. Section 4: conv weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return model
