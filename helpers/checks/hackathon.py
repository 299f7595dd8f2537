"""Checks for hackathon 2's graded exercises (week 3 · 13 begins, week 4 · 07 ends).

- ``check_channel_stats``: per-channel mean and standard deviation of a training set of images
  ``(N, C, H, W)``, the numbers ``transforms.Normalize`` takes. Known mistakes: one number for all
  channels, the mean of per-image standard deviations (misses the spread between images), the
  wrong axes kept, statistics in 0..255 units.
- ``check_tta_probs``: test-time augmentation, class probabilities averaged over the images and
  their left-right mirror images. Known mistakes: logits averaged instead of probabilities, the
  mirror image left out, an up-down flip, the model left in training mode (dropout still on).

``hidden=True`` adds what the notebooks do not show: non-square images, one channel, a batch of
one, a model with other class counts.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .core import CheckFailure, as_array, call, compare, expect, isolated, returns_tuple, unchanged

__all__ = ["check_channel_stats", "check_tta_probs"]


def _images(n, c, h, w, seed) -> torch.Tensor:
    """Images in [0, 1] whose channels differ, and whose brightness differs from image to image."""
    g = torch.Generator().manual_seed(seed)
    base = torch.linspace(0.2, 0.7, c).view(1, c, 1, 1)
    per_image = 0.2 * torch.rand(n, 1, 1, 1, generator=g)
    return (base + per_image + 0.15 * torch.rand(n, c, h, w, generator=g)).clamp(0, 1)


@isolated
def check_channel_stats(channel_stats, hidden: bool = False) -> None:
    """``channel_stats(images) -> (mean, std)``, each of shape (C,), over N, H and W."""
    cases = [(16, 3, 12, 12, 0)] + ([(9, 3, 7, 11, 1), (12, 1, 10, 10, 2), (3, 4, 16, 9, 3)] if hidden else [])
    for n, c, h, w, seed in cases:
        x = _images(n, c, h, w, seed)
        before = x.clone()
        out = call(channel_stats, x, hint="one mean and one std per channel, each over the images, rows and "
                                            "columns together")
        unchanged(before, x, "channel_stats changed the images in place: compute the statistics without "
                             "modifying them (no -= or /= on the input)")
        mean, std = returns_tuple(out, 2, "(mean, std)", channel_stats)
        what = f"for images of shape {(n, c, h, w)}"
        mean_ok, std_ok = x.mean(dim=(0, 2, 3)).double(), x.std(dim=(0, 2, 3)).double()
        m, s = as_array(mean, f"mean {what}"), as_array(std, f"std {what}")
        mistakes_shape = "one value per channel: shape (C,); keep the channel axis and reduce over all the others"
        if m.shape != (c,) or s.shape != (c,):
            raise CheckFailure(f"mean and std {what} have shapes {m.shape} and {s.shape}, expected ({c},): {mistakes_shape}")
        compare(m, mean_ok, f"the mean {what}", "average every pixel of a channel over all images",
                mistakes=[(np.full(c, float(x.mean())), "one mean for all channels: keep the channel axis"),
                          (255 * mean_ok.numpy(), "statistics in 0..255 units: ToTensor already scaled the "
                           "pixels to [0, 1]")], rtol=1e-4, atol=1e-6)
        per_image = x.std(dim=(2, 3)).mean(dim=0).double().numpy()
        compare(s, std_ok, f"the std {what}", "the standard deviation of all pixels of a channel, over all "
                "images at once", rtol=4e-3, atol=1e-6,
                mistakes=[(per_image, "the mean of per-image standard deviations misses how much images differ "
                           "from each other: reduce over the images, rows and columns in one go"),
                          (np.full(c, float(x.std())), "one std for all channels: keep the channel axis"),
                          (255 * std_ok.numpy(), "statistics in 0..255 units: ToTensor already scaled the "
                           "pixels to [0, 1]"),
                          (x.var(dim=(0, 2, 3)).double().numpy(), "that is the variance: take its square root")])


class _Net(nn.Module):
    """A small classifier that is not mirror-symmetric, with dropout (on in training mode)."""

    def __init__(self, c, k, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(c, 4, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4 * 4 * 4, k)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 4)
        return 3 * self.head(self.drop(x.flatten(1)))


def _probs(model, x):
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).double()


@isolated
def check_tta_probs(tta_probs, hidden: bool = False) -> None:
    """``tta_probs(model, images) -> (N, K)``: softmax probabilities averaged over the images and
    their left-right mirror images (``torch.flip(images, dims=[3])``), the model in eval mode."""
    cases = [(6, 3, 10, 10, 5, 0)] + ([(1, 3, 9, 13, 7, 1), (4, 1, 8, 8, 3, 2)] if hidden else [])
    for n, c, h, w, k, seed in cases:
        model = _Net(c, k, seed)
        x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))
        before = x.clone()
        model.train()  # as a model comes out of fit(): the student's function must switch to eval
        out = call(tta_probs, model, x, hint="average torch.softmax(model(x), dim=1) over x and "
                   "torch.flip(x, dims=[3])")
        unchanged(before, x, "tta_probs changed the images in place: flip a copy (torch.flip returns one)")
        model.eval()
        mirror = torch.flip(x, dims=[3])
        ok = (_probs(model, x) + _probs(model, mirror)) / 2
        with torch.no_grad():
            logits_avg = torch.softmax((model(x) + model(mirror)) / 2, dim=1).double()
        updown = (_probs(model, x) + _probs(model, torch.flip(x, dims=[2]))) / 2
        what = f"the probabilities for images of shape {(n, c, h, w)} and {k} classes"
        got = as_array(out, what)
        expect(got.shape == (n, k), f"{what} have shape {got.shape}, expected ({n}, {k}): one row per image, "
                                    "one column per class")
        compare(got, ok.numpy(), what, "softmax each view, then average the two views' probabilities; "
                "call model.eval() first (dropout off) and flip left-right, torch.flip(x, dims=[3])",
                mistakes=[(logits_avg.numpy(), "the logits were averaged before the softmax: average the "
                           "probabilities (softmax of each view, then the mean)"),
                          (_probs(model, x).numpy(), "only the original images: add their mirror images "
                           "torch.flip(x, dims=[3]) and average"),
                          (updown.numpy(), "an up-down flip (dims=[2]): birds are not upside down; flip "
                           "left-right, dims=[3]"),
                          (((model(x) + model(mirror)) / 2).detach().double().numpy(), "logits, not "
                           "probabilities: apply torch.softmax(..., dim=1)")], rtol=1e-5, atol=1e-7)
