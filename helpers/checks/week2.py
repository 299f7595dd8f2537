"""Checks for week 2's graded exercises: PyTorch on real images.

Grouped by notebook, in course order (02 networks in PyTorch … 09 hackathon 1; 01 has no graded
exercise: week 1 already graded the hand-written backward passes). Each
``check_<exercise>(student_fn, hidden=False)`` is written with the shared core
(:mod:`helpers.checks.core`): it calls the student's function safely (a crash becomes a failure
naming the function, the exception and the hint), compares with values computed here (mostly by
PyTorch itself) and with a table of known mistakes, so the failure names the likely mistake.
``hidden=True`` adds the cases the locked test cell hides (other shapes, edge cases, rows far
apart in scale, a TensorLoader as well as a DataLoader).

Loaders passed to the student are real ones (``torch.utils.data.DataLoader`` or
``helpers.train.TensorLoader``), so an answer that uses ``len(loader.dataset)`` works.

The exercises whose answer is a function of its arguments (softmax, log_softmax, per_class_accuracy,
multiclass_log_loss, conv_output_size, count_parameters) are records at the end of the module (``EXERCISES``,
:mod:`helpers.checks.records`): the mentee edition judges them against fixtures, without their references.

Every check runs inside ``isolated``: the global random state (torch and NumPy) is the same
after a check as before it, so a notebook's later cells print the same numbers whether or not
the hidden tests ran.
"""
from __future__ import annotations

import copy
import functools
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .core import (CheckFailure, as_array, call, check_output_shape, check_param_count, close, compare,
                   expect, file_bytes, forbidden, isolated, scratch_folder, not_implemented_guard, returns_tuple, same, unchanged)
from .core import forbid as core_forbid
from .records import Exercise, an_int, checks_of, same_dtype, stepped


def _randn(generator, *shape, dtype=torch.float64):
    return torch.randn(*shape, generator=generator, dtype=dtype)


def _np(t) -> np.ndarray:
    return t.detach().double().numpy()


# the general hint for each exercise: what a crash inside the student's function is reported with
HINTS = {
    'make_mlp': 'a stack of layers: flatten the input, then a Linear layer per hidden size with a ReLU after each, and a '
                'last Linear layer to n_out with nothing after it',
    'dataset_mean_std': 'per channel, over every pixel of every image of every batch: the mean, and the standard deviation '
                        'from the mean of the squares minus the squared mean (not the average of per-batch figures)',
    'make_transform': 'two steps in order: the PIL image to a float tensor in [0, 1], then normalisation by the given '
                      'per-channel mean and std',
    'train_step': 'one step: clear the old gradients, compute the loss of the model on the batch, backpropagate, let the '
                  'optimiser step, and return the loss as a Python float',
    'evaluate_accuracy': 'the model in evaluation mode and without gradients; count, over every batch, the examples whose '
                         'highest-scoring class is the label, and divide by the number of examples',
    'dropout': 'in training: zero each entry with probability p and scale the survivors by 1 / (1 - p), with a fresh '
               'random mask per call; in evaluation: the input unchanged',
    'save_training_state': 'one file holding what resuming needs: the model\'s and the optimiser\'s state dicts and the epoch',
    'load_training_state': 'read the file back (weights only), put each state dict into its object, and return the epoch '
                           'that was saved',
    'load_matching': 'load only the entries whose name exists in the model with the same shape, and report which were '
                     'skipped; the model\'s other tensors stay as they are',
    'count_parameters': 'the number of trainable scalars: every parameter that requires a gradient, counted element by element',
    'conv_output_size': 'the output size of a sliding window: padded size minus the (dilated) kernel\'s extent, divided by '
                        'the stride (rounded down), plus one',
    'transfer_model': 'freeze every backbone parameter in place, put a new Linear head from the backbone\'s features to '
                      'num_classes after it, and return the model with the list of the parameters that train (the head\'s)',
}


# --------------------------------------------------------------------------------------------
# 02 · networks in PyTorch: a residual module, a module with buffers, softmax, log-softmax, an MLP factory
# --------------------------------------------------------------------------------------------

_SOFTMAX_FAMILY = ("torch.softmax", "torch.log_softmax", "torch.nn.functional.softmax", "torch.nn.functional.log_softmax",
                   "torch.Tensor.softmax", "torch.Tensor.log_softmax", "torch.special.softmax", "torch.special.log_softmax",
                   "torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp")


def _softmax_rules(what: str) -> dict:
    """The softmax family as a forbidden-calls policy (read from the answer's source, aliases included)."""
    why = f"write {what} from torch.exp, max and sum: torch's softmax, log_softmax and logsumexp are what this check compares against"
    return {**{name: why for name in _SOFTMAX_FAMILY}, **{"." + name.rsplit(".", 1)[1]: why for name in _SOFTMAX_FAMILY}}


SOFTMAX_ROW_MAX = ("subtract each ROW's own max (z.max(dim=1, keepdim=True).values), not one max of the whole "
                   "tensor: rows far apart in scale (one near 1000, one near -1000) then underflow to 0/0")


def _softmax_cases(hidden: bool):
    g = torch.Generator().manual_seed(11)
    cases = [_randn(g, 3, 4),
             torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]], dtype=torch.float64),
             torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -999.0]], dtype=torch.float64)]
    if hidden:
        cases += [_randn(g, 1, 10) * 50, _randn(g, 6, 2, dtype=torch.float32),
                  torch.full((2, 5), -3000.0, dtype=torch.float64),
                  torch.cat([_randn(g, 2, 4) + 800.0, _randn(g, 2, 4) - 800.0])]
    return [(z,) for z in cases]


def _log_softmax_cases(hidden: bool):
    g = torch.Generator().manual_seed(12)
    cases = [_randn(g, 3, 4), torch.tensor([[0.0, -1000.0, 2.0], [500.0, 0.0, -500.0]], dtype=torch.float64),
             torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -999.0]], dtype=torch.float64)]
    if hidden:
        cases += [_randn(g, 1, 10) * 100, _randn(g, 8, 3, dtype=torch.float32),
                  torch.tensor([[3000.0, 3000.0]], dtype=torch.float64),
                  torch.cat([_randn(g, 2, 4) + 800.0, _randn(g, 2, 4) - 800.0])]
    return [(z,) for z in cases]


def _row_max(z):
    return z.max(dim=1, keepdim=True).values


def _softmax_over(z, shift, dim):
    """exp(z - shift) normalised over ``dim`` (None: the whole tensor): the answer (each row's max, dim 1) and its
    known mistakes (another shift, another dim)."""
    e = (z - shift).exp()
    return e / (e.sum() if dim is None else e.sum(dim=dim, keepdim=True))


def _softmax(z):
    return _softmax_over(z, _row_max(z), 1)


def _log_softmax_over(z, shift, dim):
    shifted = z - shift
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def _log_softmax(z):
    return _log_softmax_over(z, _row_max(z), 1)


def _is_affine(model, shape, g) -> bool:
    a, b = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
    zero = torch.zeros(*shape)
    with torch.no_grad():
        return torch.allclose(model(a) + model(b) - model(zero), model(a + b), atol=1e-5)


# procedural: a module factory: its layers, parameter count and activations judged
@isolated
def check_make_mlp(make_mlp, hidden: bool = False) -> None:
    """``make_mlp(n_in, hidden, n_out) -> nn.Module`` mapping (N, ...) inputs to (N, n_out) logits."""
    cases = [(784, [64, 32], 10, (5, 1, 28, 28))]
    if hidden:
        cases += [(20, [], 3, (4, 20)), (12, [8, 8, 8], 2, (6, 12)), (784, [128], 10, (2, 1, 28, 28))]
    g = torch.Generator().manual_seed(14)
    for n_in, sizes, n_out, shape in cases:
        model = call(make_mlp, n_in, list(sizes), n_out, hint=HINTS["make_mlp"])
        expect(isinstance(model, nn.Module), f"make_mlp must return an nn.Module (e.g. nn.Sequential), "
                                             f"got {type(model).__name__}")
        dims = [n_in, *sizes, n_out]
        want = list(zip(dims[:-1], dims[1:]))
        got = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
        expect(got == want, f"make_mlp({n_in}, {sizes}, {n_out}) should hold Linear layers "
                            f"{' -> '.join(map(str, dims))}, i.e. (in, out) pairs {want}; found {got}")
        check_param_count(model, sum((i + 1) * o for i, o in want), "(weights and biases of the Linear layers only)")
        model.eval()
        with torch.no_grad():
            out = call(model, torch.randn(*shape, generator=g), hint=f"on a batch of shape {shape}: start with "
                       "nn.Flatten(), so images (N, 1, 28, 28) become vectors (N, 784)")
        arr = as_array(out, "the model's output")
        expect(arr.shape == (shape[0], n_out), f"the output should have shape (N, n_out) = {(shape[0], n_out)}, "
                                               f"got {arr.shape}")
        if sizes:
            expect(not _is_affine(model, shape, g), "the model is one linear map: put nn.ReLU() between the "
                                                    "Linear layers (a stack of Linear layers alone collapses "
                                                    "into a single one)")
        # whatever the initial weights: with the last Linear's bias pushed far below zero, logits are all
        # negative; a ReLU after it gives zeros, a Softmax positive numbers, a LogSoftmax rows whose exp sums to 1
        low = copy.deepcopy(model)
        with torch.no_grad():
            last = [m for m in low.modules() if isinstance(m, nn.Linear)][-1]
            if last.bias is not None:
                last.bias.fill_(-50.0)
            low_out = as_array(call(low, torch.randn(*shape, generator=g), hint=HINTS["make_mlp"]),
                               "the model's output")
        probs_like = np.allclose(np.exp(low_out.astype(np.float64)).sum(axis=1), 1.0, atol=1e-3)
        expect((low_out < 0).all() and not probs_like,
               "end with the last nn.Linear: no ReLU, Softmax or LogSoftmax after it. nn.CrossEntropyLoss "
               "takes raw logits (any real numbers) and applies log-softmax itself")


RESIDUAL_HINT = ("a residual block adds what the block computes to what skips it: the input itself, or the "
                 "shortcut module's output when one is given, with no activation after the sum; keep both modules "
                 "as attributes, after nn.Module's own __init__, so that their parameters are registered")


def _residual_cases(hidden: bool):
    """(block, shortcut, input shape) triples, built from a fixed seed."""
    torch.manual_seed(141)
    cases = [(nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 6)), None, (5, 6))]
    if hidden:
        cases += [(nn.Linear(4, 3), nn.Linear(4, 3, bias=False), (7, 4)),
                  (nn.Linear(5, 5), nn.Linear(5, 5, bias=False), (4, 5)),  # a shortcut that keeps the shape
                  (nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Tanh()), None, (3, 2, 5, 5)),
                  (nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()), nn.Conv2d(3, 4, 1), (2, 3, 4, 4))]
    return cases


# procedural: a module class: built, its parameters registered, backpropagated through
@isolated
def check_residual(Residual, hidden: bool = False) -> None:
    """``Residual(block, shortcut=None)``: an nn.Module whose forward is ``block(x) + x`` (or
    ``block(x) + shortcut(x)`` when a shortcut module is given, for a block that changes the shape)."""
    for block, shortcut, shape in _residual_cases(hidden):
        args = (block,) if shortcut is None else (block, shortcut)
        model = call(Residual, *args, hint=RESIDUAL_HINT)
        expect(isinstance(model, nn.Module), f"Residual(...) must be an nn.Module (class Residual(nn.Module)), "
                                             f"got {type(model).__name__}")
        wanted = list(block.parameters()) + (list(shortcut.parameters()) if shortcut is not None else [])
        own = list(model.parameters())
        expect(all(any(p is q for q in own) for p in wanted),
               "the block's (or the shortcut's) parameters are not among model.parameters(): assign the modules "
               "as attributes (self.block = block) after super().__init__(). A module kept in a plain list or "
               "dict is invisible to parameters(), .to() and state_dict(), so the optimizer would never train it")
        check_param_count(model, sum(p.numel() for p in wanted),
                          "the residual module adds no parameters of its own: only the block's and the shortcut's")
        g = torch.Generator().manual_seed(142)
        x = torch.randn(*shape, generator=g)
        model.eval()
        out = call(model, x.clone(), hint=RESIDUAL_HINT)
        expect(isinstance(out, torch.Tensor), f"forward must return a tensor, got {type(out).__name__}")
        with torch.no_grad():
            fx = block(x)
            skip = x if shortcut is None else shortcut(x)
            expected = fx + skip
        what = f"Residual's output for an input of shape {shape}" + ("" if shortcut is None else " (with a shortcut)")
        compare(out.detach(), expected, what, "forward(x) = block(x) + x, or block(x) + shortcut(x) with a shortcut",
                [(fx, "the skip connection is missing: add the input (or shortcut(x)) to the block's output"),
                 (torch.relu(expected), "no ReLU after the sum here: forward is exactly block(x) + skip (the block "
                                        "decides its own activations)"),
                 (fx + x if shortcut is not None and fx.shape == x.shape else None,
                  "with a shortcut, add shortcut(x), not x"),
                 (skip, "the block's output is missing: return block(x) + skip"),
                 (2 * skip if shortcut is None else None, "add the BLOCK's output to x, not x to itself")],
                rtol=1e-5, atol=1e-6)
        # the gradient reaches the block through the sum, and reaches x twice (block and skip)
        model.zero_grad()
        xr = x.clone().requires_grad_()
        call(model, xr, hint=RESIDUAL_HINT).sum().backward()
        expect(all(p.grad is not None for p in block.parameters()),
               "backward() did not reach the block's parameters: compute the output from self.block(x), "
               "without .detach() or torch.no_grad()")
        xref = x.clone().requires_grad_()
        (block(xref) + (xref if shortcut is None else shortcut(xref))).sum().backward()
        close(xr.grad, xref.grad, "the gradient with respect to the input differs from that of "
              "block(x) + skip: don't detach x or the block's output", what="d output / d x", rtol=1e-5, atol=1e-6)


STANDARDIZE_HINT = ("mean and std are the layer's state, not weights: buffers (saved in the state_dict, moved and "
                    "cast by .to(), never trained), float, one value per channel, shaped to broadcast over (N, C, H, "
                    "W); forward standardises each channel with them into a new tensor")


def _standardize_cases(hidden: bool):
    cases = [((0.1307,), (0.3081,), (4, 1, 5, 5))]
    cases.append(([0.49, 0.48, 0.45], [0.25, 0.24, 0.26], (2, 3, 4, 6)))
    if hidden:
        cases += [((0.2860,), (0.3530,), (1, 1, 28, 28)), ([1.0, -2.0, 0.5, 3.0], [2.0, 0.5, 1.0, 4.0], (3, 4, 2, 3)),
                  (torch.tensor([0.3, 0.7]), torch.tensor([0.1, 0.2]), (5, 2, 3, 3))]
    return cases


# procedural: a module class: its buffers registered, moved with .to(), reloaded from a state_dict
@isolated
def check_standardize(Standardize, hidden: bool = False) -> None:
    """``Standardize(mean, std)``: an nn.Module mapping images (N, C, H, W) to (x - mean) / std per channel,
    with ``mean`` and ``std`` (C numbers each) registered as buffers named ``mean`` and ``std``."""
    for mean, std, shape in _standardize_cases(hidden):
        c = shape[1]
        model = call(Standardize, mean, std, hint=STANDARDIZE_HINT)
        expect(isinstance(model, nn.Module), f"Standardize(...) must be an nn.Module, got {type(model).__name__}")
        params = dict(model.named_parameters())
        expect(not params, f"mean and std are registered as parameters ({sorted(params)}): the optimizer would "
                           "train them. Register them with self.register_buffer('mean', ...) instead, which is "
                           "saved and moved with the module but never trained")
        buffers = dict(model.named_buffers())
        state = model.state_dict()
        plain = [k for k in ("mean", "std") if isinstance(getattr(model, k, None), torch.Tensor) and k not in buffers]
        expect(not plain, f"{plain} are plain tensor attributes: model.to(device) does not move them and "
                          "state_dict() does not save them. Register them with self.register_buffer(name, tensor)")
        expect({"mean", "std"} <= set(buffers), f"register two buffers named 'mean' and 'std', found buffers "
                                                f"{sorted(buffers)}")
        expect({"mean", "std"} <= set(state), "the buffers are not in state_dict(): register them as persistent "
                                              "buffers (the default, not persistent=False), so a checkpoint keeps "
                                              "the statistics the model was trained with")
        for k in ("mean", "std"):
            expect(buffers[k].numel() == c, f"the buffer {k!r} should hold one number per channel ({c}), got shape "
                                            f"{tuple(buffers[k].shape)}")
            expect(buffers[k].is_floating_point(), f"the buffer {k!r} should be a float tensor, got {buffers[k].dtype}")
        m = torch.as_tensor(mean, dtype=torch.float64).view(1, -1, 1, 1)
        s = torch.as_tensor(std, dtype=torch.float64).view(1, -1, 1, 1)
        g = torch.Generator().manual_seed(151)
        x = torch.rand(*shape, generator=g)
        x_in = x.clone()
        out = call(model, x_in, hint=STANDARDIZE_HINT + f". The input has shape {shape}: reshape the per-channel "
                                                        "statistics to (1, C, 1, 1) so they broadcast over dim 1")
        unchanged(x, x_in, "Standardize changed its input in place (x -= mean): return a new tensor")
        expected = (x.double() - m) / s
        compare(as_array(out, "Standardize's output"), expected, f"Standardize's output for shape {shape}",
                "(x - mean) / std per channel (dim 1), the statistics reshaped to (1, C, 1, 1)",
                [((x.double() - m) / s ** 2, "divide by the std, not the variance"),
                 (x.double() - m, "divide by std too, not only subtract the mean"),
                 (x.double() / s - m, "subtract the mean first, then divide: (x - mean) / std"),
                 ((x.double() - m.view(-1)) / s.view(-1) if c == shape[-1] and c > 1 else None,
                  "the statistics broadcast over the LAST dim (width), not the channels: view them as (1, C, 1, 1)")],
                rtol=1e-5, atol=1e-6)
        # buffers follow the module: .to(dtype) here stands for .to(device), which works the same way
        model.to(torch.float64)
        moved = dict(model.named_buffers())
        expect(all(moved[k].dtype == torch.float64 for k in ("mean", "std")),
               "after model.to(torch.float64) the statistics are still float32: keep them in buffers (not copies "
               "made in forward), so .to() and .cuda() move them with the module")
        out64 = call(model, x.double(), hint=STANDARDIZE_HINT)
        expect(getattr(out64, "dtype", None) == torch.float64, "after model.to(torch.float64) a float64 input should "
               "give a float64 output: don't convert inside forward")
        fresh = call(Standardize, [0.0] * c, [1.0] * c, hint=STANDARDIZE_HINT)
        fresh.load_state_dict(model.state_dict())
        close(call(fresh, x.double(), hint=STANDARDIZE_HINT).detach(), expected, "a second Standardize loaded from "
              "the first one's state_dict() should use the loaded statistics: read self.mean / self.std in "
              "forward, not numbers kept elsewhere", what="the reloaded module's output", rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------
# 03 · data: dataset statistics, a normalising transform, your own Dataset and collate_fn
# --------------------------------------------------------------------------------------------

def _loader(x, y, batch_size: int, kind: str = "dataloader"):
    """A real loader over (x, y), as the notebook promises: a torch DataLoader or helpers' TensorLoader
    (both have ``len(loader.dataset)``), never shuffled, so the batches are the ones the check expects."""
    if kind == "tensorloader":
        from ..train import TensorLoader

        return TensorLoader(x, y, batch_size=batch_size)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size)


def _image_loader(sizes, channels: int, side: int, seed: int, kind: str = "dataloader"):
    """A loader whose batches' brightness drifts from batch to batch, so per-batch shortcuts give wrong
    answers. sizes: full batches of one size, then possibly a smaller last one."""
    g = torch.Generator().manual_seed(seed)
    offsets = torch.linspace(0.1, 0.5, channels).view(1, channels, 1, 1)
    parts = []
    for k, n in enumerate(sizes):
        parts.append(torch.rand(n, channels, side, side, generator=g) * (0.3 + 0.2 * k) + offsets + 0.15 * k)
    x = torch.cat(parts).float()
    return _loader(x, torch.zeros(len(x), dtype=torch.long), sizes[0], kind)


# procedural: takes a loader (an object), and a (1, C, 1, 1) answer is as good as (C,)
@isolated
def check_dataset_mean_std(dataset_mean_std, hidden: bool = False) -> None:
    """``dataset_mean_std(loader) -> (mean, std)``, each (C,), over every pixel the loader yields.
    The loader is a torch DataLoader (hidden: also helpers.train.TensorLoader) yielding (images, labels)."""
    cases = [_image_loader([6, 6, 2], 3, 16, seed=21)]
    if hidden:
        cases += [_image_loader([9, 9, 9, 4], 1, 28, seed=22), _image_loader([7, 7, 7, 7, 2], 2, 10, seed=23),
                  _image_loader([8, 8, 3], 3, 6, seed=24, kind="tensorloader")]
    for loader in cases:
        every = torch.cat([x for x, _ in loader]).double()
        channels = every.shape[1]
        mean, std = every.mean(dim=(0, 2, 3)), every.std(dim=(0, 2, 3), unbiased=False)
        result = call(dataset_mean_std, loader, hint=HINTS["dataset_mean_std"])
        expect(isinstance(result, (tuple, list)) and len(result) == 2, "return a pair: `return mean, std`")
        m, s = (as_array(v, name) for v, name in zip(result, ("mean", "std")))
        m, s = (a.reshape(-1) if a.size == channels else a for a in (m, s))  # (1, C, 1, 1) is fine too
        for arr, name in ((m, "mean"), (s, "std")):
            expect(arr.shape == (channels,), f"{name} should hold one value per channel, shape ({channels},), "
                                             f"got {arr.shape}: reduce over batch, height and width "
                                             f"(dims 0, 2, 3), summing over all batches")
        batches = [x.double() for x, _ in loader]
        per_batch_mean = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
        compare(m, mean, "mean", "mean = (sum of all pixels of a channel) / (number of those pixels), over every batch",
                [(_np(per_batch_mean), "mean is the average of per-batch means, which is wrong when batches differ "
                  "in size (the last one is usually smaller): accumulate the sum of pixels and their count over "
                  "all batches, then divide once"),
                 (_np(batches[-1].mean(dim=(0, 2, 3))), "that is the LAST batch's mean: accumulate over every batch"),
                 (_np(every.sum(dim=(0, 2, 3)) / len(every)), "divide by the number of PIXELS per channel "
                  "(images x height x width), not the number of images")], rtol=1e-5)
        per_batch_std = torch.stack([b.std(dim=(0, 2, 3)) for b in batches]).mean(0)
        compare(s, std, "std", "std = sqrt(E[x**2] - E[x]**2) per channel over all pixels of all batches",
                [(_np(per_batch_std), "std is the average of per-batch stds: that misses how far the batches' means "
                  "lie apart. Accumulate the sum of x and the sum of x**2 per channel, then "
                  "std = sqrt(E[x**2] - E[x]**2)"),
                 (_np(std ** 2), "that is the variance: take its square root")], rtol=1e-3)


def _pil(arr: np.ndarray):
    from PIL import Image

    return Image.fromarray(arr)


# procedural: returns a transform (an object) applied to PIL images
@isolated
def check_make_transform(make_transform, hidden: bool = False) -> None:
    """``make_transform(mean, std)`` -> callable: PIL image -> normalised float tensor (C, H, W)."""
    from PIL import Image

    rng = np.random.default_rng(31)
    cases = [(rng.integers(0, 256, (6, 5), dtype=np.uint8), (0.5,), (0.25,)),
             (rng.integers(0, 256, (4, 3, 3), dtype=np.uint8), (0.4, 0.5, 0.6), (0.2, 0.3, 0.25))]
    if hidden:
        cases += [(rng.integers(0, 256, (28, 28), dtype=np.uint8), [0.1307], [0.3081]),
                  (rng.integers(0, 256, (7, 9, 3), dtype=np.uint8), [0.49, 0.48, 0.45], [0.25, 0.24, 0.26])]
    for arr, mean, std in cases:
        chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        m, s = np.asarray(mean).reshape(-1, 1, 1), np.asarray(std).reshape(-1, 1, 1)
        expected = (chw / 255.0 - m) / s
        transform = call(make_transform, mean, std, hint=HINTS["make_transform"])
        expect(callable(transform), f"make_transform must return a transform (a callable such as T.Compose), "
                                    f"got {type(transform).__name__}")
        out = call(transform, _pil(arr), hint="applying your transform to a PIL image failed: T.ToTensor() comes "
                   "first (PIL image -> tensor in [0, 1]); T.Normalize works on tensors only")
        expect(not isinstance(out, Image.Image), "the transform returned a PIL image: add T.ToTensor() and "
                                                 "T.Normalize(mean, std)")
        got = as_array(out, "the transformed image")
        expect(got.shape == expected.shape, f"the transformed image should have shape (C, H, W) = "
                                            f"{expected.shape}, got {got.shape}: T.ToTensor() puts channels first")
        compare(got, expected, "the transformed image", "output = (pixel / 255 - mean) / std per channel: "
                "T.Compose([T.ToTensor(), T.Normalize(mean, std)])",
                [(chw / 255.0, "the output is still in [0, 1]: add T.Normalize(mean, std) after T.ToTensor()"),
                 ((chw / 255.0 - m) / s ** 2, "T.Normalize takes the std, not the variance"),
                 ((chw - m) / s, "scale the pixels to [0, 1] first (T.ToTensor() divides by 255), then normalise")],
                rtol=1e-5, atol=1e-5)


DATASET_HINT = ("a Dataset is a length and an indexed read: refuse images and labels of different lengths when it "
                "is built (a ValueError naming both), keep what it was given, and let item i be image i "
                "(transformed at read time when a transform was given) with label i as a Python int")


class _CountingTransform:
    """A transform that records how often it ran and marks its output with that count: its k-th call
    returns 2 * x + k (as float). The count shows in what the dataset returns, so it is seen also where
    the dataset lives in another process (a graded cell's student kernel) and only its items come back."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return torch.as_tensor(np.asarray(x), dtype=torch.float32) * 2 + self.calls


def _dataset_cases(hidden: bool):
    g = torch.Generator().manual_seed(161)
    cases = [("a uint8 tensor of images and a tensor of labels", torch.randint(0, 256, (10, 4, 4), generator=g,
              dtype=torch.uint8), torch.randint(0, 3, (10,), generator=g))]
    if hidden:
        rng = np.random.default_rng(162)
        cases += [("a NumPy array of images and a NumPy array of labels", rng.integers(0, 256, (7, 3, 5), dtype=np.uint8),
                   rng.integers(0, 10, 7)),
                  ("a list of images of different sizes", [torch.rand(1, k + 1) for k in range(5)], [4, 3, 2, 1, 0]),
                  ("one image", torch.zeros(1, 2, 2), torch.tensor([7]))]
    return cases


def _label_value(label, what: str) -> int:
    is_int = isinstance(label, numbers.Integral) and not isinstance(label, bool)
    if isinstance(label, torch.Tensor) and label.ndim == 0 and not label.is_floating_point():
        is_int = True
    expect(is_int, f"{what}: the label should be an int (int(labels[i])), got {type(label).__name__} {label!r}: "
                   "a float label would reach nn.CrossEntropyLoss as a float tensor")
    return int(label)


# procedural: a Dataset class: lengths, items, a transform run lazily, the error it raises
@isolated
def check_array_dataset(ArrayDataset, hidden: bool = False) -> None:
    """``ArrayDataset(images, labels, transform=None)``: a torch Dataset over in-memory arrays; item i is
    ``(transform(images[i]) or images[i], int(labels[i]))``; unequal lengths raise ValueError."""
    for what, images, labels in _dataset_cases(hidden):
        n = len(images)
        ds = call(ArrayDataset, images, labels, hint=DATASET_HINT)
        expect(isinstance(ds, torch.utils.data.Dataset), "ArrayDataset should subclass torch.utils.data.Dataset")
        size = call(len, ds, hint="define __len__(self): return len(self.images)")
        expect(size == n, f"len(dataset) is {size} for {n} images ({what}): __len__ should return the number of "
                          f"items, len(self.images){' (off by one)' if abs(size - n) == 1 else ''}")
        for i in sorted({0, n // 2, n - 1}):
            item = returns_tuple(call(ds.__getitem__, i, hint=DATASET_HINT), 2, "(image, label)", ds.__getitem__)
            x, label = item
            want = images[i]
            expect(same(as_array(x, f"dataset[{i}]'s image"), np.asarray(want, dtype=np.float64)),
                   f"dataset[{i}] ({what}) did not return images[{i}]: index with the i you are given")
            expect(_label_value(label, f"dataset[{i}]") == int(labels[i]),
                   f"dataset[{i}] returned label {label!r}, expected labels[{i}] = {int(labels[i])}")
        # the transform: applied to the image only, lazily (once per item read), never to the label
        transform = _CountingTransform()
        ds = call(ArrayDataset, images, labels, transform=transform, hint=DATASET_HINT)
        expect(transform.calls == 0, f"the transform ran {transform.calls} times while the dataset was built: apply "
               "it in __getitem__, to the item being read, so random augmentations are drawn anew each time and "
               "nothing is converted twice")
        i = n - 1
        raw = np.asarray(images[i], dtype=np.float64)
        for read in (1, 2):  # the k-th run of the transform adds k: each read must run it exactly once
            x, label = returns_tuple(call(ds.__getitem__, i, hint=DATASET_HINT), 2, "(image, label)",
                                     ds.__getitem__)
            compare(as_array(x, f"dataset[{i}]'s image with a transform"), raw * 2 + read,
                    f"dataset[{i}]'s image with a transform (read {read})",
                    "return transform(images[i]) when a transform was given, computed anew on every read",
                    [(raw, "the transform was not applied: return self.transform(self.images[i]) when it is not None"),
                     ((raw * 2 + 2 * read - 1) * 2 + 2 * read, "the transform was applied twice, to its own output"),
                     (raw * 2 + read + 1, "the transform ran twice for one read: call it once, on that item's image"),
                     *([(raw * 2 + 1, "the transform's result was kept from the first read: call it in __getitem__ on "
                                      "every read, so random augmentations are drawn anew each time")] if read > 1 else [])])
            expect(_label_value(label, f"dataset[{i}] with a transform") == int(labels[i]),
                   "the label changed: the transform applies to the image only")
        if n > 1 and not isinstance(images, list):  # the default collate stacks equal-sized items
            loader = torch.utils.data.DataLoader(ArrayDataset(images, labels), batch_size=n)
            xb, yb = call(next, iter(loader), hint="a DataLoader could not batch your items")
            expect(tuple(xb.shape)[0] == n and yb.dtype == torch.int64,
                   f"a DataLoader over your dataset gave labels of dtype {yb.dtype}: return int labels")
        wrong_length = labels[:-1] if n > 1 else [0, 1]
        try:
            not_implemented_guard(ArrayDataset, images, wrong_length)
        except ValueError as err:
            expect(str(err).strip(), "raise ValueError with a message saying how many images and labels you got")
        except CheckFailure:
            raise
        except Exception as err:  # noqa: BLE001
            raise CheckFailure(f"ArrayDataset({n} images, {len(wrong_length)} labels) raised {type(err).__name__}: "
                               "raise ValueError naming both lengths instead") from err
        else:
            raise CheckFailure(f"ArrayDataset accepted {n} images with {len(wrong_length)} labels: check "
                               "len(images) == len(labels) in __init__ and raise ValueError naming both lengths "
                               "(otherwise the mismatch surfaces much later as an IndexError, or not at all)")


COLLATE_HINT = ("three tensors for the batch: the sequences one per row, each followed by zeros up to the longest "
                "one in this batch (in the sequences' dtype); their lengths before padding (int64); the labels "
                "(int64)")


def _collate_cases(hidden: bool):
    g = torch.Generator().manual_seed(171)
    cases = [[(torch.rand(k, generator=g) + 0.5, y) for k, y in ((3, 1), (5, 0), (2, 2), (5, 1))]]
    if hidden:
        cases += [[(torch.rand(4, generator=g) + 0.5, 3)],
                  [(torch.rand(3, generator=g, dtype=torch.float64) + 0.5, y) for y in (0, 1, 2)],
                  [(torch.rand(k, generator=g) + 0.5, torch.tensor(k % 2)) for k in (1, 7, 2, 6, 3)]]
    return cases


# procedural: judges its outputs' types and dtypes (one tensor each, int64 lengths and labels) and a list's items in place
@isolated
def check_pad_collate(pad_collate, hidden: bool = False) -> None:
    """``pad_collate(batch) -> (padded, lengths, labels)`` for a list of ``(sequence, label)`` items:
    ``padded`` (B, L_max) in the sequences' dtype, zeros after each sequence; ``lengths`` and ``labels``
    int64 tensors of shape (B,)."""
    for batch in _collate_cases(hidden):
        seqs, ys = [s for s, _ in batch], [int(y) for _, y in batch]
        b, longest = len(batch), max(len(s) for s in seqs)
        expected = torch.zeros(b, longest, dtype=seqs[0].dtype)
        for k, s in enumerate(seqs):
            expected[k, :len(s)] = s
        copies = [(s.clone(), y) for s, y in batch]
        result = call(pad_collate, copies, hint=COLLATE_HINT)
        padded, lengths, labels = returns_tuple(result, 3, "(padded, lengths, labels)", pad_collate)
        for (s, _), (c, _) in zip(batch, copies):
            unchanged(s, c, "pad_collate changed a sequence of the batch in place: copy into a new tensor")
        for value, name in ((padded, "padded"), (lengths, "lengths"), (labels, "labels")):
            expect(isinstance(value, torch.Tensor), f"{name} should be ONE tensor for the whole batch, got a "
                   f"{type(value).__name__}: the training loop moves and indexes tensors, not lists "
                   f"({'torch.tensor([...])' if name != 'padded' else 'stack the padded rows'})")
        lengths_t = torch.tensor([len(s) for s in seqs])
        expect(tuple(padded.shape) != (longest, b) or b == longest,
               f"padded has shape {tuple(padded.shape)}: put the batch first, (B, L_max) = {(b, longest)} "
               "(pad_sequence needs batch_first=True)")
        expect(tuple(padded.shape) == (b, longest), f"padded should have shape (B, L_max) = {(b, longest)}, "
               f"got {tuple(padded.shape)}: pad every sequence to the LONGEST one in this batch")
        expect(padded.dtype == seqs[0].dtype, f"padded should keep the sequences' dtype {seqs[0].dtype}, got "
                                              f"{padded.dtype}")
        front = torch.zeros_like(expected)
        for k, s in enumerate(seqs):
            front[k, longest - len(s):] = s
        compare(padded, expected, "padded", "each row holds its sequence first, then zeros up to L_max",
                [(front, "the zeros went in FRONT of the sequences: pad at the end (padded[k, :len(s)] = s)")])
        expect(not lengths.is_floating_point() and lengths.dtype == torch.int64 and tuple(lengths.shape) == (b,),
               f"lengths should be an int64 tensor of shape ({b},), got {lengths.dtype} {tuple(lengths.shape)}")
        compare(lengths, lengths_t, "lengths", "lengths[k] = len(batch[k][0]), before padding",
                [(torch.full((b,), longest), "lengths are the lengths BEFORE padding, not L_max for every row")])
        expect(labels.dtype == torch.int64 and tuple(labels.shape) == (b,),
               f"labels should be an int64 tensor of shape ({b},), got {labels.dtype} {tuple(labels.shape)}: "
               "torch.tensor([int(y) for _, y in batch])")
        compare(labels, torch.tensor(ys), "labels", "labels in the batch's order")


# --------------------------------------------------------------------------------------------
# 04 · training an MNIST MLP: one training step, evaluation, per-class accuracy
# --------------------------------------------------------------------------------------------

def _train_step(model, xb, yb, loss_fn, optimizer, *, zero_grad=True, after=False):
    """The reference (mentor side) and, switched, its known mistakes."""
    if zero_grad:
        optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    if after:
        with torch.no_grad():
            return loss_fn(model(xb), yb).item()
    return loss.item()


class _Probe(nn.Module):
    """A fixed linear classifier followed by dropout; records the mode and grad state of each call."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(weight)
        self.dropout = nn.Dropout(0.5)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.dropout(self.linear(x))


def _eval_case(sizes, seed: int, kind: str = "dataloader"):
    """(weight, loader): a loader (DataLoader or TensorLoader) with batches of ``sizes``; the last batch
    is labelled worse, so averaging per-batch accuracies gives a different number."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(4, 6, generator=g)
    batches = []
    for n in sizes:
        x = torch.randn(n, 6, generator=g)
        y = (x @ weight.T).argmax(1)
        wrong = torch.rand(n, generator=g) < 0.2 + 0.5 * (len(batches) == len(sizes) - 1)
        y = torch.where(wrong, (y + 1) % 4, y)
        batches.append((x, y))
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    return weight, _loader(x, y, sizes[0], kind)


# procedural: takes a model and a loader, and judges the model's mode and grad state
@isolated
def check_evaluate_accuracy(evaluate_accuracy, hidden: bool = False) -> None:
    """``evaluate_accuracy(model, loader) -> float``: fraction correct, in eval mode, without gradients."""
    cases = [_eval_case([10, 10, 5], 51)]
    if hidden:
        cases += [_eval_case([3], 52), _eval_case([16, 16, 16, 1], 53), _eval_case([8, 8, 4], 54, "tensorloader")]
    for weight, loader in cases:
        batches = [(xb, yb) for xb, yb in loader]
        model = _Probe(weight)
        model.train()  # as after a training epoch
        x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
        expected = ((x @ weight.T).argmax(1) == y).double().mean().item()
        acc = call(evaluate_accuracy, model, loader, hint=HINTS["evaluate_accuracy"])
        expect(model.calls, "evaluate_accuracy never called the model: run every batch through it")
        expect(not any(training for training, _ in model.calls),
               "the model ran in training mode: call model.eval() first. In train mode dropout still drops "
               "units at random, so the accuracy is lower and changes from run to run")
        expect(not any(grad for _, grad in model.calls),
               "gradients were being tracked: wrap the loop in `with torch.no_grad():` — evaluation needs no "
               "graph, and building one costs memory and time")
        value = as_array(acc, "the accuracy")
        expect(value.size == 1, f"return one number, got shape {value.shape}")
        value = float(value.reshape(-1)[0])
        expect(0.0 <= value <= 1.0, f"accuracy should be a fraction in [0, 1], got {value}: divide the number "
                                    "correct by the number of examples (no percent)")
        per_batch = np.mean([((xb @ weight.T).argmax(1) == yb).double().mean().item() for xb, yb in batches])
        last = ((batches[-1][0] @ weight.T).argmax(1) == batches[-1][1]).double().mean().item()
        compare(value, expected, "the accuracy", "accuracy = (number of argmax predictions equal to the label) / "
                "(number of examples), over every batch of the loader",
                [(per_batch, "you averaged the per-batch accuracies, which is wrong when batches differ in size: "
                             "count correct predictions over all batches, divide by all examples"),
                 (expected * len(x) / len(loader), "divide by the number of EXAMPLES (len(loader.dataset)), not "
                                                   "the number of batches (len(loader))"),
                 (last, "that is the LAST batch's accuracy: accumulate over every batch")])


def _per_class_cases(hidden: bool):
    cases = [(torch.tensor([0, 1, 1, 2, 2, 2, 0, 1]), torch.tensor([0, 1, 2, 2, 2, 0, 0, 1]), 3)]
    if hidden:
        g = torch.Generator().manual_seed(61)
        t = torch.arange(200) % 10
        p = torch.where(torch.rand(200, generator=g) < 0.7, t, torch.randint(0, 10, (200,), generator=g))
        cases.append((p, t, 10))
        cases.append((torch.tensor([0, 0, 0, 1]), torch.tensor([0, 1, 2, 1]), 3))  # class 2 never predicted
    return cases


def _per_class_accuracy(preds, targets, num_classes):
    return np.array([(preds[targets == c] == c).double().mean().item() for c in range(num_classes)])


def _precision(preds, targets, num_classes):
    return np.array([(targets[preds == c] == c).double().mean().item() if (preds == c).any() else np.nan
                     for c in range(num_classes)])


def _correct(preds, targets, num_classes):
    return np.array([(preds[targets == c] == c).sum().item() for c in range(num_classes)], dtype=float)


# --------------------------------------------------------------------------------------------
# 05 · validation and dropout: dropout from scratch
# --------------------------------------------------------------------------------------------

# procedural: statistical: many right masks
@isolated
def check_dropout(dropout, hidden: bool = False) -> None:
    """``dropout(x, p, training) -> tensor``: inverted dropout, the identity when not training."""
    cases = [(torch.full((200, 500), 2.0), 0.3)]
    if hidden:
        g = torch.Generator().manual_seed(71)
        cases += [(torch.randn(300, 400, generator=g), 0.5), (torch.randn(50, 2000, generator=g) + 1, 0.9),
                  (torch.randn(4, 100, 100, generator=g), 0.1)]
    hint_lib = "write dropout from torch.rand and a mask: F.dropout / nn.Dropout are what it is compared with"
    forbid = [(F, "dropout"), (torch, "dropout")]
    core_forbid(dropout, {k: hint_lib for k in ("torch.nn.functional.dropout", "torch.dropout", "torch.nn.Dropout",
                                                "torch.nn.functional.dropout1d", "torch.nn.functional.dropout2d")}, "dropout")
    for x, p in cases:
        x0 = x.clone()
        with forbidden(forbid, hint_lib):
            y_eval = call(dropout, x, p, False, hint=HINTS["dropout"])
            close(y_eval, x0, "with training=False dropout is the identity: return x unchanged (no mask, "
                              "no scaling)", what="dropout in eval mode")
            y0 = call(dropout, x, 0.0, True, hint=HINTS["dropout"])
            close(y0, x0, "with p = 0 nothing is dropped and nothing is scaled", what="dropout with p=0")
            y = call(dropout, x, p, True, hint=HINTS["dropout"])
            y2 = call(dropout, x, p, True, hint=HINTS["dropout"])
        expect(torch.equal(x, x0), "dropout changed its input in place: build a new tensor (x * mask / (1 - p))")
        arr, arr2 = as_array(y, "dropout(x)"), as_array(y2, "dropout(x)")
        expect(arr.shape == tuple(x.shape), f"dropout must keep x's shape {tuple(x.shape)}, got {arr.shape}")
        xs = x0.double().numpy()
        dropped = np.isclose(arr, 0.0) & ~np.isclose(xs, 0.0)
        frac = dropped.mean()
        expect(abs(frac - (1 - p)) > 0.02 or abs(frac - p) < 0.02,
               f"{frac:.0%} of the units were zeroed with p = {p}: p is the probability of DROPPING a unit, "
               f"so keep each with probability 1 - p (mask = torch.rand_like(x) >= p)")
        expect(abs(frac - p) < 0.02, f"{frac:.1%} of the units were zeroed, expected about {p:.0%}: draw an "
                                     "independent random keep/drop decision per element")
        kept = ~dropped
        not_scaled = ("the kept units are not scaled by 1 / (1 - p) (inverted dropout): without it the activations "
                      "are smaller on average in training than in eval mode, and the next layer sees different "
                      "statistics")
        compare(arr[kept], xs[kept] / (1 - p), "the kept units", "kept units must be x / (1 - p); dropped ones "
                "exactly 0", [(xs[kept], not_scaled), (xs[kept] * (1 - p), not_scaled),
                              (xs[kept] / p, "scale the kept units by 1 / (1 - p), the keep probability, not 1 / p")],
                rtol=1e-5, atol=1e-6)
        expect(not np.array_equal(arr, arr2), "two calls dropped the same units: draw a new random mask on "
                                              "every call")


# --------------------------------------------------------------------------------------------
# 06 · saving and loading: a checkpoint that resumes training exactly, partial loading
# --------------------------------------------------------------------------------------------

def _ckpt_batch(seed: int, n: int = 16, d_in: int = 6, classes: int = 3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d_in, generator=g), torch.randint(0, classes, (n,), generator=g)


def _ckpt_step(model, optimizer, batch) -> None:
    model.train()
    x, y = batch
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()


def _ckpt_values(model) -> np.ndarray:
    """Every entry of the state_dict (parameters and buffers), flattened into one vector."""
    return np.concatenate([t.detach().double().reshape(-1).numpy() for t in model.state_dict().values()])


def _ckpt_case(kind: str, seed: int):
    """(make_model, make_optimizer, make_scheduler) for one way of training."""
    def make_model():
        if kind == "batchnorm":
            return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
        return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))

    def make_optimizer(model):
        if kind == "sgd_momentum":
            return torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        return torch.optim.Adam(model.parameters(), lr=0.05)

    return make_model, make_optimizer


# procedural: takes two functions, writes and reads a file
@isolated
def check_save_resume(save_training_state, load_training_state, hidden: bool = False) -> None:
    """``save_training_state(path, model, optimizer, epoch)`` writes a file;
    ``load_training_state(path, model, optimizer) -> epoch`` restores both and returns the epoch."""
    import io
    from pathlib import PurePosixPath

    cases = [("adam", 3, 81)]
    if hidden:
        cases += [("sgd_momentum", 5, 82), ("batchnorm", 2, 83), ("adam", 0, 84)]
    for kind, epoch, seed in cases:
        make_model, make_optimizer = _ckpt_case(kind, seed)
        torch.manual_seed(seed)
        model = make_model()
        optimizer = make_optimizer(model)
        for step in range(3):
            _ckpt_step(model, optimizer, _ckpt_batch(seed + 100 * step))
        if kind == "sgd_momentum":  # a schedule lowered the learning rate: that is state too
            optimizer.param_groups[0]["lr"] = 0.05
        with scratch_folder(save_training_state) as folder:      # where the student's code runs
            path = str(PurePosixPath(folder) / "checkpoint.pt")
            call(save_training_state, path, model, optimizer, epoch, hint=HINTS["save_training_state"])
            written = file_bytes(save_training_state, path)
            expect(written is not None, "save_training_state wrote no file at `path`: finish with "
                                        "torch.save(checkpoint, path)")
            call(torch.load, io.BytesIO(written), weights_only=True, hint="the checkpoint cannot be read with "
                 "torch.load(path, weights_only=True): save the state_dicts (tensors and numbers), not the model or "
                 "optimizer objects. torch.save(model) pickles the class itself, which breaks as soon as the code "
                 "changes")
            torch.manual_seed(seed + 1)  # a fresh model starts from different weights
            fresh = make_model()
            fresh_optimizer = make_optimizer(fresh)
            got = call(load_training_state, path, fresh, fresh_optimizer, hint=HINTS["load_training_state"])
        expect(got is not None, "load_training_state must return the epoch stored in the checkpoint")
        close(got, epoch, "return the epoch stored in the checkpoint (checkpoint['epoch'])",
              what="the returned epoch")
        params = [n for n, _ in model.named_parameters()]
        expect(np.allclose(np.concatenate([p.detach().double().reshape(-1).numpy() for p in fresh.parameters()]),
                           np.concatenate([p.detach().double().reshape(-1).numpy() for p in model.parameters()])),
               f"after loading, the model's weights ({', '.join(params[:2])}, …) differ from the saved ones: save "
               "model.state_dict() and restore it with model.load_state_dict(checkpoint['model'])")
        close(_ckpt_values(fresh), _ckpt_values(model),
              "the model's buffers (BatchNorm's running mean and variance) were not restored: save "
              "model.state_dict(), which holds parameters AND buffers, not just model.named_parameters()",
              what="the restored state_dict")
        # the real test of a resume: the next step must be the one the uninterrupted run takes
        batch = _ckpt_batch(seed + 999)
        _ckpt_step(model, optimizer, batch)
        _ckpt_step(fresh, fresh_optimizer, batch)
        close(_ckpt_values(fresh), _ckpt_values(model),
              "the first step after resuming differs from the step the uninterrupted run takes: the "
              "optimizer's state (Adam's running averages and step count, SGD's momentum buffers, the "
              "current learning rate) was not saved or not restored. Save optimizer.state_dict() in the "
              "checkpoint and call optimizer.load_state_dict(checkpoint['optimizer'])",
              what="the model one step after resuming", rtol=1e-6, atol=1e-8)


def _ckpt_pair(seed: int, out_src: int, out_dst: int, extra_src: bool = False, batchnorm: bool = False):
    """A trained-looking source state_dict and a target model that differs in some layers."""
    torch.manual_seed(seed)

    def body(out, extra):
        layers = [nn.Linear(5, 7)] + ([nn.BatchNorm1d(7)] if batchnorm else []) + [nn.ReLU(), nn.Linear(7, out)]
        if extra:
            layers += [nn.ReLU(), nn.Linear(out, 2)]
        return nn.Sequential(*layers)

    source = body(out_src, extra_src)
    if batchnorm:
        with torch.no_grad():
            source[1].running_mean.add_(0.5)
            source[1].num_batches_tracked.add_(7)
    return source.state_dict(), body(out_dst, False)


# procedural: loads into a model in place
@isolated
def check_load_matching(load_matching, hidden: bool = False) -> None:
    """``load_matching(model, state_dict) -> skipped``: copy every entry whose name and shape match,
    leave the rest of ``model`` as it was, return the names of the ``state_dict`` entries not loaded."""
    cases = [(91, 10, 4, False, False)]
    if hidden:
        cases += [(92, 3, 3, True, False), (93, 6, 2, True, True), (94, 4, 4, False, True)]
    for seed, out_src, out_dst, extra, bn in cases:
        state, model = _ckpt_pair(seed, out_src, out_dst, extra, bn)
        state_copy = {k: v.clone() for k, v in state.items()}
        before = {k: v.clone() for k, v in model.state_dict().items()}
        target = model.state_dict()
        loadable = {k for k, v in state.items() if k in target and tuple(v.shape) == tuple(target[k].shape)}
        expected_skipped = sorted(set(state) - loadable)
        skipped = call(load_matching, model, state, hint=HINTS["load_matching"], errors=[
            (RuntimeError, "size mismatch", "load_state_dict raised a size mismatch: strict=False only forgives "
             "missing and unexpected keys, never a different shape. Keep only the entries whose name is in "
             "model.state_dict() AND whose shape matches, then load those"),
            (RuntimeError, "Missing key", "load_state_dict complained about missing keys: the layers you skipped "
             "are missing from the filtered dict on purpose, so load it with strict=False")])
        expect(set(state) == set(state_copy) and all(torch.equal(state[k], state_copy[k]) for k in state),
               "load_matching changed the state_dict it was given: build a new, filtered dict instead of "
               "deleting or editing entries of the caller's")
        expect(isinstance(skipped, (list, tuple)) and all(isinstance(k, str) for k in skipped),
               "return the skipped entries' names as a list of strings, e.g. ['2.weight', '2.bias']")
        got_skipped = sorted(str(k) for k in skipped)
        expect(not (got_skipped == sorted(loadable) and loadable != set(expected_skipped)),
               "you returned the names that WERE loaded: return the ones that were skipped (missing from the "
               "model, or of a different shape)")
        expect(got_skipped == expected_skipped,
               f"the skipped entries should be {expected_skipped} (names absent from the model or with a "
               f"different shape), got {got_skipped}")
        after = model.state_dict()
        for k in after:
            want = state[k] if k in loadable else before[k]
            why = ("was not copied from the state_dict although its name and shape match" if k in loadable else
                   "changed although the state_dict had nothing that fits it: leave such entries as they were")
            close(after[k], want, f"model entry {k!r} {why}", what=f"model.state_dict()[{k!r}]")


# --------------------------------------------------------------------------------------------
# 07 · MLP vs CNN: counting parameters, the convolution output-size formula
# --------------------------------------------------------------------------------------------

def _count_cases(hidden: bool):
    cases = [nn.Linear(784, 10),
             nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 13 * 13, 10))]
    if hidden:
        frozen = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))
        for p in frozen[0].parameters():
            p.requires_grad_(False)
        cases += [nn.Sequential(nn.Conv2d(3, 16, 5, bias=False), nn.BatchNorm2d(16), nn.Conv2d(16, 4, 1)),
                  frozen, nn.Sequential(nn.Flatten(), nn.Linear(12, 12, bias=False)), nn.ReLU()]
    return cases


def _count_trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


COUNT_MISTAKES = {   # why -> the wrong count; "frozen" comes before "state_dict": without buffers the two counts agree
    "you counted parameter TENSORS; count the numbers in them: sum(p.numel() for p in model.parameters())":
        lambda model: len([p for p in model.parameters() if p.requires_grad]),
    "the biases are missing: count every parameter tensor, weights and biases":
        lambda model: sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and n.endswith("weight")),
    "frozen parameters (requires_grad=False) were counted: count only those training updates, `if p.requires_grad`":
        lambda model: sum(p.numel() for p in model.parameters()),
    "you counted the state_dict, which also holds buffers (BatchNorm's running statistics) that training does not "
    "update: count model.parameters()": lambda model: sum(t.numel() for t in model.state_dict().values()),
}


_CONV_CASES = [(28, 5, 1, 0, 1), (28, 3, 1, 1, 1), (28, 2, 2, 0, 1), (28, 3, 2, 0, 1)]
_CONV_HIDDEN = [(32, 3, 1, 2, 2), (224, 7, 2, 3, 1), (5, 5, 1, 0, 1), (10, 4, 3, 0, 1), (7, 3, 2, 1, 1),
                (13, 2, 2, 0, 1), (64, 11, 4, 2, 1), (9, 3, 1, 0, 3)]


def _conv_cases(hidden):
    """(size, kernel_size, stride, padding, dilation), positional: one spatial side."""
    return [(case, {}) for case in _CONV_CASES + (_CONV_HIDDEN if hidden else [])]


def _conv_size(size, kernel_size, stride=1, padding=0, dilation=1) -> int:
    """What nn.Conv2d gives (the reference runs the layer; the answer uses the formula)."""
    with torch.no_grad():
        layer = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
        return int(layer(torch.zeros(1, 1, size, size)).shape[-1])


def _extent(k, d):
    return d * (k - 1) + 1


CONV_SIZE_MISTAKES = {
    "a window that does not fit is dropped, so round DOWN (floor division //), not to the nearest":
        lambda n, k, s=1, p=0, d=1: round((n + 2 * p - _extent(k, d)) / s + 1),
    "padding is added on BOTH sides, so the padded size is size + 2 * padding":
        lambda n, k, s=1, p=0, d=1: (n + p - _extent(k, d)) // s + 1,
    "dilation spreads the kernel to an effective size dilation * (kernel_size - 1) + 1":
        lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1,
    "off by one: the last window starts at size + 2*padding - effective kernel, so subtract 1 before //":
        lambda n, k, s=1, p=0, d=1: (n + 2 * p - _extent(k, d) + 1) // s + 1,
    "off by one: add 1 after the division (the first window)":
        lambda n, k, s=1, p=0, d=1: (n + 2 * p - _extent(k, d)) // s,
}


# --------------------------------------------------------------------------------------------
# 08 · transfer learning: freeze a backbone, train a new head
# --------------------------------------------------------------------------------------------

def _transfer_case(kind: str, seed: int):
    torch.manual_seed(seed)
    if kind == "conv":
        backbone = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        return backbone, 16, torch.randn(6, 3, 5, 5)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.ReLU())
    return backbone, 6, torch.randn(8, 3, 2, 2)


# procedural: builds a model, freezes a backbone, steps an optimiser
@isolated
def check_transfer_model(transfer_model, hidden: bool = False) -> None:
    """``transfer_model(backbone, num_features, num_classes) -> (model, head_params)``."""
    cases = [("mlp", 2, 101)]
    if hidden:
        cases += [("conv", 5, 102), ("mlp", 10, 103)]
    for kind, num_classes, seed in cases:
        backbone, num_features, x = _transfer_case(kind, seed)
        backbone_params = list(backbone.parameters())
        saved = [p.detach().clone() for p in backbone_params]
        result = call(transfer_model, backbone, num_features, num_classes, hint=HINTS["transfer_model"])
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               "return a pair: `return model, head_params`")
        model, head_params = result
        expect(isinstance(model, nn.Module), f"model must be an nn.Module, got {type(model).__name__}")
        head_params = list(head_params)
        expect(len(head_params) > 0 and all(isinstance(p, nn.Parameter) for p in head_params),
               "head_params should be the new head's parameters, e.g. list(head.parameters())")
        model_params = list(model.parameters())
        expect(all(any(p is q for q in model_params) for p in backbone_params),
               "the model does not contain the backbone you were given: build it from that (pretrained) "
               "backbone, e.g. nn.Sequential(backbone, head), instead of a new network")
        expect(not any(p.requires_grad for p in backbone_params),
               "the backbone's parameters still have requires_grad=True: set p.requires_grad_(False) for each. "
               "Otherwise backward() still computes their gradients (time and memory), and an optimizer given "
               "model.parameters() would change the pretrained weights")
        expect(not any(any(p is q for q in backbone_params) for p in head_params),
               "head_params contains backbone parameters: give the optimizer ONLY the new head's parameters "
               "(list(head.parameters())), not model.parameters()")
        expect(all(p.requires_grad for p in head_params),
               "the head's parameters must be trainable (requires_grad=True): freeze the backbone only")
        n_head = sum(p.numel() for p in head_params)
        expect(n_head == num_features * num_classes + num_classes,
               f"the head should be one nn.Linear(num_features={num_features}, num_classes={num_classes}): "
               f"{num_features * num_classes + num_classes} parameters, got {n_head}")
        check_output_shape(model, tuple(x.shape), (len(x), num_classes),
                           "the model should map images to (N, num_classes) logits: backbone, then the new head")
        model.train()
        out = call(model, x, hint="the model should map images to (N, num_classes) logits")
        head_before = [p.detach().clone() for p in head_params]
        optimizer = torch.optim.SGD(head_params, lr=0.5)
        optimizer.zero_grad()
        F.cross_entropy(out, torch.arange(len(x)) % num_classes).backward()
        optimizer.step()
        expect(all(p.grad is None for p in backbone_params),
               "backward() computed gradients for the backbone: it is not frozen")
        expect(all(torch.equal(p, s) for p, s in zip(backbone_params, saved)),
               "a training step changed the backbone's weights: they must stay as pretrained")
        expect(any(not torch.equal(p, b) for p, b in zip(head_params, head_before)),
               "a training step did not change the head: is the head part of the model's forward pass?")


# --------------------------------------------------------------------------------------------
# 09 · hackathon 1: Kaggle's multi-class log loss, a valid submission file
# --------------------------------------------------------------------------------------------

def _log_loss(y_true, probs, eps=1e-15, steps="clip renormalise") -> float:
    """Kaggle's multi-class log loss: clip, renormalise, then minus the mean log of each row's true class (other
    ``steps``: the known mistakes of leaving one out or swapping them)."""
    p = np.asarray(probs, dtype=np.float64)
    for step in steps.split():
        p = np.clip(p, eps, 1 - eps) if step == "clip" else p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y_true)), y_true])))


def _log_loss_cases(hidden: bool):
    rng = np.random.default_rng(111)
    logits = rng.normal(size=(6, 4))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([0, 1, 2, 3, 1, 0])
    zero = probs.copy()
    zero[2] = [0.5, 0.5, 0.0, 0.0]          # the true class (2) gets probability 0
    cases = [(y, probs, 1e-15), (y, zero, 1e-15), (y, probs * rng.uniform(0.5, 3.0, size=(6, 1)), 1e-15)]
    if hidden:
        big = rng.dirichlet(np.ones(9), size=200)
        yb = rng.integers(0, 9, size=200)
        odd = np.array([[0.0, 0.0, 0.0], [0.8, 0.6, 0.6], [1.0, 0.0, 0.0]])   # all zero, summing to 2, certain and wrong
        cases += [(yb, big, 1e-15), (np.array([0, 1, 1]), odd, 1e-15), (y, zero, 1e-7),
                  (np.array([2]), np.array([[0.2, 0.3, 0.5]]), 1e-15)]
    return cases


def _log_loss_what(y_true, probs, eps) -> str:
    sums = probs.sum(axis=1)
    notes = [note for note, seen in (("a zero on a true class", (probs[np.arange(len(y_true)), y_true] == 0).any()),
                                     ("an all-zero row", (sums == 0).any()),
                                     ("rows that do not sum to 1", not np.allclose(sums, 1)),
                                     (f"eps={eps:g}", eps != 1e-15)) if seen]
    return f"the log loss of {len(y_true)} row{'s' if len(y_true) != 1 else ''}" + (f" ({', '.join(notes)})" if notes else "")


def _submission(ids, classes, seed: int):
    import pandas as pd

    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(len(classes)), size=len(ids))
    p = p / 3.0 * 3.0  # float noise: rows sum to 1 only up to rounding
    frame = pd.DataFrame(p, columns=classes)
    frame.insert(0, "id", np.asarray(ids))
    return frame


def _broken_submissions(sub, ids, classes):
    """(description, broken copy, hint) for every way a submission can be wrong."""
    c = list(classes)
    out = []
    out.append(("a class column missing", sub.drop(columns=c[-1]),
                f"the columns must be exactly {['id'] + c}: compare list(submission.columns) with that list"))
    extra = sub.copy()
    extra["target"] = 0
    out.append(("an extra column", extra, f"the columns must be exactly {['id'] + c}, nothing more"))
    twice = sub.copy()
    twice.loc[1, "id"] = twice.loc[0, "id"]
    out.append(("one id twice and another missing (same number of rows)", twice,
                "one id appears twice and another is missing, with the right number of rows: compare the SET "
                "of ids with the test ids and check for duplicates (submission['id'].duplicated().any())"))
    out.append(("a row missing", sub.iloc[1:], "a test id has no row: every test id must appear exactly once"))
    foreign = sub.copy()
    foreign.loc[2, "id"] = int(max(ids)) + 1000
    out.append(("an id that is not in the test set", foreign,
                "the submission contains an id that is not a test id (and misses one that is): compare the set "
                "of ids with the test ids"))
    nan = sub.copy()
    nan.loc[0, c[0]] = np.nan
    out.append(("a NaN probability", nan, "a probability is NaN: check that every value is finite (np.isfinite)"))
    negative = sub.copy()
    negative.loc[3, c] = [1.2, -0.2] + [0.0] * (len(c) - 2)
    out.append(("a negative probability (the row still sums to 1)", negative,
                "a probability is below 0 (its row still sums to 1): check that every value lies in [0, 1]"))
    unnormalised = sub.copy()
    unnormalised.loc[4, c] = 0.5
    out.append(("a row that does not sum to 1", unnormalised,
                "a row of probabilities does not sum to 1: check every row's sum, within a tolerance"))
    return out


def _validate_outcome(validate_submission, frame, ids, classes):
    """None if ``validate_submission`` accepted the frame, else the exception it raised."""
    try:
        not_implemented_guard(validate_submission, frame.reset_index(drop=True).copy(), ids.copy(), list(classes))
    except AssertionError as err:
        if isinstance(err.__cause__, NotImplementedError):  # the release stub
            raise
        return err
    except Exception as err:  # what the student raised on purpose (or by accident)
        return err
    return None


# procedural: judges which tables it accepts and which exception it raises
@isolated
def check_validate_submission(validate_submission, hidden: bool = False) -> None:
    """``validate_submission(submission, test_ids, classes)``: returns quietly for a valid Kaggle submission,
    raises ``ValueError`` (with a message) for a broken one."""
    cases = [(np.arange(200000, 200008), ["Class_1", "Class_2", "Class_3", "Class_4"], 121)]
    if hidden:
        cases += [(np.arange(10, 40) * 3, [f"Class_{i}" for i in range(1, 10)], 122),
                  (np.array([5, 1, 9, 7, 3, 11]), ["a", "b", "c"], 123)]
    for ids, classes, seed in cases:
        sub = _submission(ids, classes, seed)
        valid = [("a valid submission", sub),
                 ("a valid submission in another row order", sub.iloc[::-1])]
        if hidden:
            valid.append(("a valid submission with 0/1 probabilities",
                          sub.assign(**{c: float(i == 0) for i, c in enumerate(classes)})))
        for what, frame in valid:
            err = _validate_outcome(validate_submission, frame, ids, classes)
            if err is not None:
                raise CheckFailure(f"{what} was rejected with {type(err).__name__}: {str(err)[:150]}. Rows sum "
                                     "to 1 only up to rounding: compare with a tolerance (np.allclose), not ==; "
                                     "the row order does not matter, Kaggle matches rows by id")
        broken = _broken_submissions(sub, ids, classes)
        if hidden:
            swapped = sub[["id"] + list(classes)[::-1]]
            broken.append(("the class columns in another order", swapped,
                           f"the columns must be exactly {['id'] + list(classes)}, in this order"))
            as_text = sub.copy()
            as_text["id"] = as_text["id"].astype(str) + "x"
            broken.append(("ids that are not the test ids", as_text,
                           "the ids are not the test ids: compare the set of ids with the test ids"))
        for what, frame, hint in broken:
            err = _validate_outcome(validate_submission, frame, ids, classes)
            if err is None:
                raise CheckFailure(f"a submission with {what} was accepted. {hint}")
            expect(isinstance(err, ValueError),
                   f"for {what} validate_submission raised {type(err).__name__} ({str(err)[:120]}): detect the "
                   "problem yourself and raise ValueError with a message that names it")
            expect(str(err).strip(), f"raise ValueError with a message that says what is wrong ({what})")


# --------------------------------------------------------------------------------------------
# the records: the exercises whose answer is a function of its arguments (helpers.checks.records); each check
# above says why it stays procedural
# --------------------------------------------------------------------------------------------

EXERCISES = [
    Exercise(
        "train_step", reference=_train_step, run=stepped, hint=HINTS["train_step"],
        cases=lambda hidden: [("linear", "sgd", 41)] + ([("mlp", "momentum", 42), ("mlp", "adam", 43)] if hidden else []),
        outputs=("parameters after each step", "returned losses"), rtol=1e-5, atol=1e-7,
        describe=lambda kind, optimizer, seed: f"train_step, 3 steps of {optimizer} on a {kind} model",
        mistakes={"gradients accumulated from one step to the next: call optimizer.zero_grad() before loss.backward(). "
                  "PyTorch ADDS new gradients to .grad, so without it every step also uses all earlier batches' "
                  "gradients": functools.partial(_train_step, zero_grad=False),
                  "that is the loss AFTER the update: return the loss computed before optimizer.step()":
                      functools.partial(_train_step, after=True)}),
    Exercise(
        "softmax", reference=_softmax, cases=_softmax_cases, run=same_dtype, rtol=1e-5, atol=1e-7,
        hint="softmax(z)[i, j] = exp(z[i, j] - max_j z[i]) / sum_k exp(z[i, k] - max_j z[i])",
        describe=lambda z: f"softmax(z) for z {tuple(z.shape)}",
        in_place="compute a new tensor, z - max (z -= max changes the caller's logits)",
        mistakes={SOFTMAX_ROW_MAX: lambda z: _softmax_over(z, z.max(), 1),
                  "softmax returned NaN or inf: exp overflows for large logits (exp(1000) = inf). Subtract each row's "
                  "max first: softmax(z) = softmax(z - row max)": lambda z: _softmax_over(z, 0.0, 1),
                  "normalise over the classes (dim=1), not over the batch (dim=0)":
                  lambda z: _softmax_over(z, z.max(dim=0, keepdim=True).values, 0),
                  "each row must sum to 1: normalise each row (dim=1, keepdim=True), not the whole tensor":
                  lambda z: _softmax_over(z, z.max(), None)},
        forbidden=_softmax_rules("softmax")),
    Exercise(
        "log_softmax", reference=_log_softmax, cases=_log_softmax_cases, rtol=1e-5, atol=1e-6,
        hint="log_softmax(z) = z - m - log(sum(exp(z - m))) row by row (dim=1), m each row's max: log(softmax(z)) "
             "underflows, log(0) = -inf for a logit far below the max",
        describe=lambda z: f"log_softmax(z) for z {tuple(z.shape)}",
        in_place="compute a new tensor, z - max (z -= max changes the caller's logits)",
        mistakes={SOFTMAX_ROW_MAX: lambda z: _log_softmax_over(z, z.max(), 1),
                  "log_softmax returned -inf, inf or NaN: log(softmax(z)) underflows, because softmax is exactly 0 for "
                  "a logit far below the max and log(0) = -inf. Compute z - m - log(sum(exp(z - m))), m the row max":
                  lambda z: _softmax(z).log(),
                  "normalise over the classes (dim=1), not over the batch (dim=0)":
                  lambda z: _log_softmax_over(z, z.max(dim=0, keepdim=True).values, 0),
                  "subtract log(sum(exp(z - m))) too, not only the row max m": lambda z: z - _row_max(z)},
        forbidden=_softmax_rules("log_softmax")),
    Exercise(
        "per_class_accuracy", reference=_per_class_accuracy, cases=_per_class_cases,
        hint="one accuracy per class c in range(num_classes), also for classes never predicted: of the examples whose "
             "TARGET is c, the fraction predicted as c",
        describe=lambda preds, targets, num_classes: f"per-class accuracy ({len(targets)} examples, {num_classes} classes)",
        mistakes={"you divided by how often each class was PREDICTED (that is precision): per-class accuracy divides "
                  "the correct ones by how many examples truly belong to the class, (preds[targets == c] == c).mean()":
                  _precision,
                  "divide the number correct by the number of examples of that class (a fraction in [0, 1]), not just "
                  "count": _correct,
                  "divide by the number of examples OF CLASS c, not by all examples": lambda p, t, k: _correct(p, t, k) / len(t)}),
    Exercise(
        "multiclass_log_loss", reference=_log_loss, cases=_log_loss_cases, rtol=1e-6, describe=_log_loss_what,
        hint="clip to [eps, 1 - eps] (no probability 0, no log(0)), divide each row by its sum, take -log of each row's "
             "probability of its TRUE class (probs[np.arange(N), y_true]), average over the rows: one number",
        in_place="work on a copy (np.clip(..., out=probs) and probs /= ... change the caller's array)",
        mistakes={"the log loss is N times too large: take the MEAN over the rows, not the sum":
                  lambda y, p, eps: _log_loss(y, p, eps) * len(y),
                  "this is the log loss in bits (log2): Kaggle's log loss uses the natural logarithm, np.log":
                  lambda y, p, eps: _log_loss(y, p, eps) / np.log(2),
                  "this used log10: Kaggle's log loss uses the natural logarithm, np.log":
                  lambda y, p, eps: _log_loss(y, p, eps) / np.log(10),
                  "the rows were not renormalised: after clipping, divide each row by its sum (Kaggle rescales every "
                  "row to sum to 1 before scoring)": lambda y, p, eps: _log_loss(y, p, eps, steps="clip"),
                  "clip FIRST, then renormalise each row (Kaggle's order)":
                  lambda y, p, eps: _log_loss(y, p, eps, steps="renormalise clip"),
                  "a probability of 0 gives log(0) = -inf. Clip first, np.clip(probs, eps, 1 - eps), as Kaggle does":
                  lambda y, p, eps: _log_loss(y, p, eps, steps="renormalise"),
                  "the log loss is the NEGATIVE mean log-probability (it is >= 0)": lambda y, p, eps: -_log_loss(y, p, eps)}),
    Exercise(
        "count_parameters", reference=_count_trainable, run=an_int, hint=HINTS["count_parameters"],
        cases=lambda hidden: [((model,), {}) for model in _count_cases(hidden)], mistakes=COUNT_MISTAKES,
        describe=lambda args, kwargs: f"the trainable parameters of this {type(args[0]).__name__}"),
    Exercise(
        "conv_output_size", reference=_conv_size, cases=_conv_cases, run=an_int, hint=HINTS["conv_output_size"],
        mistakes=CONV_SIZE_MISTAKES,
        describe=lambda args, kw: "conv_output_size(size={}, kernel_size={}, stride={}, padding={}, dilation={})".format(
            *args)),
]

__all__ = [
    "check_residual", "check_standardize", "check_softmax", "check_log_softmax", "check_make_mlp",
    "check_dataset_mean_std", "check_make_transform", "check_array_dataset", "check_pad_collate",
    "check_train_step", "check_evaluate_accuracy", "check_per_class_accuracy",
    "check_dropout",
    "check_save_resume", "check_load_matching",
    "check_count_parameters", "check_conv_output_size",
    "check_transfer_model",
    "check_multiclass_log_loss", "check_validate_submission",
]


globals().update(checks_of(EXERCISES, __name__))   # check_softmax, check_log_softmax, ...: what the notebooks call
