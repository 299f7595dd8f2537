"""Hackathon 2's graded checks (helpers/checks/hackathon.py), three ways each through the shared harness:
the notebooks' solution cells pass (public and hidden cases), the released stubs fail as "not answered",
typical wrong answers fail with their hint, other right answers pass. The exercises live in two weeks'
notebooks: week3/13 (channel_stats) and week4/07 (tta_probs).
"""
import numpy as np
import torch
from torch import nn

from checks_harness import Right, Week, Wrong, make_tests
from helpers.checks import hackathon as checks

CHECKS = {
    "check_channel_stats": ("13", ["channel_stats"]),
    "check_tta_probs": ("07", ["tta_probs"]),
}
WEEK = Week(".", checks, CHECKS, base={"np": np, "torch": torch, "nn": nn}, pattern="week[34]/*_hackathon2_*.ipynb")


# ---------------------------------------------------------------- channel_stats

def one_for_all(x):
    c = x.shape[1]
    return x.mean().repeat(c), x.std().repeat(c)


def per_image_std(x):
    return x.mean(dim=(0, 2, 3)), x.std(dim=(2, 3)).mean(dim=0)


def wrong_axes(x):
    return x.mean(dim=(0, 1, 2)), x.std(dim=(0, 1, 2))


def in_255_units(x):
    return 255 * x.mean(dim=(0, 2, 3)), 255 * x.std(dim=(0, 2, 3))


def variance(x):
    return x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3))


def in_place(x):
    m = x.mean(dim=(0, 2, 3))
    x -= m.view(1, -1, 1, 1)
    return m, x.std(dim=(0, 2, 3))


def mean_only(x):
    return x.mean(dim=(0, 2, 3))


def three_channels_only(x):  # hard-codes RGB: the public case has 3 channels, the hidden ones 1 and 4
    flat = x.transpose(0, 1).reshape(3, -1)
    return flat.mean(dim=1), flat.std(dim=1)


def population_std(x):
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3), unbiased=False)


def numpy_stats(x):
    a = x.numpy()
    return a.mean(axis=(0, 2, 3)), a.std(axis=(0, 2, 3))


# ---------------------------------------------------------------- tta_probs

def _views(x):
    return [x, torch.flip(x, dims=[3])]


def logits_averaged(model, x):
    model.eval()
    with torch.no_grad():
        return torch.softmax(sum(model(v) for v in _views(x)) / 2, dim=1)


def no_mirror(model, x):
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)


def up_down(model, x):
    model.eval()
    with torch.no_grad():
        return (torch.softmax(model(x), 1) + torch.softmax(model(torch.flip(x, dims=[2])), 1)) / 2


def no_softmax(model, x):
    model.eval()
    with torch.no_grad():
        return sum(model(v) for v in _views(x)) / 2


def training_mode(model, x):  # forgets model.eval(): dropout stays on
    with torch.no_grad():
        return sum(torch.softmax(model(v), dim=1) for v in _views(x)) / 2


def flips_in_place(model, x):
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1)
        x.copy_(torch.flip(x, dims=[3]))
        return (p + torch.softmax(model(x), dim=1)) / 2


def squeezed(model, x):  # a batch of one loses its batch axis: only the hidden cases have one
    model.eval()
    with torch.no_grad():
        return (sum(torch.softmax(model(v), dim=1) for v in _views(x)) / 2).squeeze()


def tta_numpy(model, x):
    model.eval()
    with torch.no_grad():
        a, b = (torch.softmax(model(v), dim=1).numpy() for v in _views(x))
    return (a + b) / 2


def tta_flip_last(model, x):
    model.eval()
    with torch.no_grad():
        return torch.stack([model(x).softmax(-1), model(x.flip(-1)).softmax(-1)]).mean(0)


WRONG = [
    Wrong("check_channel_stats", one_for_all, "one mean for all channels"),
    Wrong("check_channel_stats", per_image_std, "per-image standard deviations"),
    Wrong("check_channel_stats", wrong_axes, "one value per channel"),
    Wrong("check_channel_stats", in_255_units, "0..255 units"),
    Wrong("check_channel_stats", variance, "variance"),
    Wrong("check_channel_stats", in_place, "in place"),
    Wrong("check_channel_stats", mean_only, r"should return a tuple \(mean, std\)"),
    Wrong("check_channel_stats", three_channels_only, r"expected \(1,\): one value per channel", public_passes=True),
    Wrong("check_tta_probs", logits_averaged, "logits were averaged"),
    Wrong("check_tta_probs", no_mirror, "only the original images"),
    Wrong("check_tta_probs", up_down, "up-down flip"),
    Wrong("check_tta_probs", no_softmax, "logits, not probabilities"),
    Wrong("check_tta_probs", training_mode, r"model\.eval\(\)"),
    Wrong("check_tta_probs", flips_in_place, "in place"),
    Wrong("check_tta_probs", squeezed, r"shape \(7,\), expected \(1, 7\)", public_passes=True),
]
RIGHT = [
    Right("check_channel_stats", population_std, "the population std differs by a factor sqrt(n/(n-1)) only"),
    Right("check_channel_stats", numpy_stats, "NumPy arrays are fine"),
    Right("check_tta_probs", tta_numpy, "a NumPy array of probabilities"),
    Right("check_tta_probs", tta_flip_last, "flip(-1) is the width axis"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


def test_a_check_leaves_the_callers_random_state_alone():
    np.random.seed(1)
    torch.manual_seed(1)
    before = np.random.rand(), torch.rand(1)
    np.random.seed(1)
    torch.manual_seed(1)
    checks.check_tta_probs(WEEK.reference["07"]["tta_probs"], hidden=True)
    assert (np.random.rand(), torch.rand(1)) == before
