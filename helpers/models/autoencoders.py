"""Autoencoders for weeks 5-6 (28x28 grey images in [0, 1]: MNIST, Fashion-MNIST).

* ``MLPAutoencoder(k)``: 784 -> hidden -> k -> hidden -> 784, a sigmoid output (Hinton &
  Salakhutdinov 2006, "Reducing the dimensionality of data with neural networks", in small).
* ``ConvAutoencoder(k, up="transpose" | "resize")``: two stride-2 convolutions (28 -> 14 -> 7),
  a linear bottleneck of size k, and a decoder that doubles 7 -> 14 -> 28 either with
  ``ConvTranspose2d(kernel 3, stride 2, padding 1, output_padding 1)`` or with nearest
  upsampling followed by a 3x3 convolution (Odena, Dumoulin & Olah 2016, "Deconvolution and
  checkerboard artifacts", Distill: the resize-convolution avoids the uneven overlap).
* ``DenoisingAutoencoder(width)``: deeper and fully convolutional (no linear bottleneck), for
  notebook 03 (Vincent et al. 2008, "Extracting and composing robust features with denoising
  autoencoders": corrupt the input, reconstruct the clean image).

Every model checks its input with :func:`check_unit_images`: a batch (N, 1, 28, 28) of floats
in [0, 1]; anything else is a ``ValueError`` that says what was expected.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["check_unit_images", "MLPAutoencoder", "ConvAutoencoder", "DenoisingAutoencoder"]

SIDE = 28


def check_unit_images(x: torch.Tensor, what: str = "the autoencoder", channels: int = 1, size: int = SIDE) -> None:
    """Raise ``ValueError`` unless ``x`` is a float batch (N, channels, size, size) with values in [0, 1]."""
    expected = f"(N, {channels}, {size}, {size})"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{what} expects a tensor of images {expected}, got {type(x).__name__}")
    if x.dim() != 4 or tuple(x.shape[1:]) != (channels, size, size):
        raise ValueError(f"{what} expects images of shape {expected}, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{what} expects float images in [0, 1], got dtype {x.dtype} (divide uint8 pixels by 255)")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"{what} expects pixel values in [0, 1], got {float(x.min()):.3g} .. {float(x.max()):.3g} "
                         "(normalised with a mean and std? autoencoders here take x / 255, unnormalised)")


class MLPAutoencoder(nn.Module):
    """784 -> hidden -> k (the code) -> hidden -> 784 with ReLU between and a sigmoid at the end.

    ``encode(x)``: (N, 1, 28, 28) -> (N, k); ``decode(z)``: (N, k) -> (N, 1, 28, 28) in (0, 1).
    Parameters: 2 * 784 * hidden + 2 * hidden * k + 2 * hidden + k + 784.
    """

    def __init__(self, k: int, hidden: int = 256):
        super().__init__()
        if k < 1 or hidden < 1:
            raise ValueError(f"k and hidden must be >= 1, got k={k}, hidden={hidden}")
        self.k = k
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(SIDE * SIDE, hidden), nn.ReLU(), nn.Linear(hidden, k))
        self.decoder = nn.Sequential(nn.Linear(k, hidden), nn.ReLU(), nn.Linear(hidden, SIDE * SIDE), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, SIDE, SIDE)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_unit_images(x, "MLPAutoencoder")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def _up(c_in: int, c_out: int, up: str) -> nn.Module:
    """Double the height and width: a transposed convolution or nearest upsampling + 3x3 conv."""
    if up == "transpose":
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
    if up == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1))
    raise ValueError(f"up must be 'transpose' or 'resize', got {up!r}")


class ConvAutoencoder(nn.Module):
    """Conv encoder 1@28 -> c@14 -> 2c@7 -> k; decoder k -> 2c@7 -> c@14 -> 1@28 (sigmoid).

    up: how the decoder doubles the size, ``"transpose"`` (ConvTranspose2d 3x3, stride 2,
    padding 1, output_padding 1: (7 - 1) * 2 - 2 + 3 + 1 = 14) or ``"resize"`` (nearest x2,
    then Conv2d 3x3 padding 1).
    """

    def __init__(self, k: int, channels: int = 16, up: str = "transpose"):
        super().__init__()
        if k < 1 or channels < 1:
            raise ValueError(f"k and channels must be >= 1, got k={k}, channels={channels}")
        c = channels
        self.k, self.up = k, up
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU(),            # c@14x14
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),        # 2c@7x7
            nn.Flatten(), nn.Linear(2 * c * 7 * 7, k))
        self.decoder = nn.Sequential(
            nn.Linear(k, 2 * c * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * c, 7, 7)),
            _up(2 * c, c, up), nn.ReLU(),                                   # c@14x14
            _up(c, 1, up), nn.Sigmoid())                                    # 1@28x28

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_unit_images(x, "ConvAutoencoder")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class DenoisingAutoencoder(nn.Module):
    """Fully convolutional, four 3x3 conv layers down (28 -> 14 -> 7) and four up, sigmoid output.

    Encoder: w@28, w@14 (stride 2), 2w@14, 2w@7 (stride 2); decoder: 2w@7, w@14 (transposed,
    stride 2), w@14, 1@28 (transposed, stride 2). Each hidden layer is conv, BatchNorm, ReLU
    (Ioffe & Szegedy 2015): without BatchNorm this depth sits for several epochs on the blank
    image (about 9.7 dB on MNIST). No linear bottleneck: denoising needs the image's layout more
    than a short code.
    """

    def __init__(self, width: int = 32):
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        w = width

        def block(layer, c_out):
            return [layer, nn.BatchNorm2d(c_out), nn.ReLU()]

        self.encoder = nn.Sequential(
            *block(nn.Conv2d(1, w, 3, padding=1), w),
            *block(nn.Conv2d(w, w, 3, stride=2, padding=1), w),
            *block(nn.Conv2d(w, 2 * w, 3, padding=1), 2 * w),
            *block(nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1), 2 * w))
        self.decoder = nn.Sequential(
            *block(nn.Conv2d(2 * w, 2 * w, 3, padding=1), 2 * w),
            *block(nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1), w),
            *block(nn.Conv2d(w, w, 3, padding=1), w),
            nn.ConvTranspose2d(w, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_unit_images(x, "DenoisingAutoencoder")
        return self.decoder(self.encoder(x))
