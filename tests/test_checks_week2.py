"""Week 2's graded checks, three ways each through the shared harness (tests/checks_harness.py): the
notebooks' own solution cells pass (public and hidden cases), the released stubs fail as "not
answered", typical wrong answers fail with their hint, and other right answers pass.
"""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from torch import nn

from checks_harness import Right, Week, Wrong, make_tests
from helpers.checks import week2 as checks

CHECKS = {
    "check_torch_linear_backward": ("01", ["linear_backward"]),
    "check_relu_backward": ("01", ["relu_backward"]),
    "check_cross_entropy_backward": ("01", ["cross_entropy_backward"]),
    "check_softmax": ("02", ["softmax"]),
    "check_log_softmax": ("02", ["log_softmax"]),
    "check_nll_loss": ("02", ["nll_loss"]),
    "check_make_mlp": ("02", ["make_mlp"]),
    "check_dataset_mean_std": ("03", ["dataset_mean_std"]),
    "check_make_transform": ("03", ["make_transform"]),
    "check_train_step": ("04", ["train_step"]),
    "check_evaluate_accuracy": ("04", ["evaluate_accuracy"]),
    "check_per_class_accuracy": ("04", ["per_class_accuracy"]),
    "check_train_val_split": ("05", ["train_val_split"]),
    "check_dropout": ("05", ["dropout"]),
    "check_save_resume": ("06", ["save_training_state", "load_training_state"]),
    "check_load_matching": ("06", ["load_matching"]),
    "check_conv_output_size": ("07", ["conv_output_size"]),
    "check_count_parameters": ("07", ["count_parameters"]),
    "check_transfer_model": ("08", ["transfer_model"]),
    "check_multiclass_log_loss": ("09", ["multiclass_log_loss"]),
    "check_validate_submission": ("09", ["validate_submission"]),
}
WEEK = Week("week2", checks, CHECKS, base={"np": np, "pd": pd, "torch": torch, "nn": nn, "F": F, "T": T})


def ref(fn_name):
    for nb, ns in WEEK.reference.items():
        if fn_name in ns and callable(ns[fn_name]):
            return ns[fn_name]
    raise KeyError(fn_name)


# ---------------------------------------------------------------- 01 tensors and autograd

def _ce_unstable(z, y):
    p = z.exp() / z.exp().sum(1, keepdim=True)
    p[torch.arange(len(y)), y] -= 1
    return p / len(y)


def _linear_in_place(d, x, W):
    dx, dW, db = d @ W, d.T @ x, d.sum(0)
    x.zero_()
    return dx, dW, db


def _relu_back_in_place(d, x):
    d[x <= 0] = 0
    return d


def _ce_in_place(z, y):
    z -= z.max(dim=1, keepdim=True).values
    p = z.exp() / z.exp().sum(dim=1, keepdim=True)
    p[torch.arange(len(y)), y] -= 1
    return p / len(y)


# ---------------------------------------------------------------- 02 networks in PyTorch

def _softmax_global_max(z):
    e = (z - z.max()).exp()
    return e / e.sum(dim=1, keepdim=True)


def _log_softmax_global_max(z):
    shifted = z - z.max()
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def _softmax_in_place(z):
    z -= z.max(dim=1, keepdim=True).values
    return z.exp() / z.exp().sum(dim=1, keepdim=True)


def _softmax_float64(z):
    return ref("softmax")(z.double())


def _mlp(*drop):
    def make_mlp(n_in, hidden, n_out):
        layers = [m for m in ref("make_mlp")(n_in, hidden, n_out) if type(m) not in drop]
        return nn.Sequential(*layers)
    return make_mlp


# ---------------------------------------------------------------- 03 data

def _per_batch(loader):
    stats = [(x.mean((0, 2, 3)), x.std((0, 2, 3))) for x, _ in loader]
    return tuple(torch.stack(s).mean(0) for s in zip(*stats))


def _right_mean_batch_std(loader):
    mean, _ = ref("dataset_mean_std")(loader)
    return mean, torch.stack([x.std(dim=(0, 2, 3)) for x, _ in loader]).mean(0)


def _scalar_stats(loader):
    x = torch.cat([b for b, _ in loader])
    return x.mean(), x.std()


def _unbiased(loader):
    x = torch.cat([b for b, _ in loader])
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))


def _mean_std_by_dataset_len(loader):
    """Right: counts pixels with len(loader.dataset), as a DataLoader and TensorLoader allow."""
    total, total_sq, side = 0.0, 0.0, None
    for x, _ in loader:
        x = x.double()
        total, total_sq, side = total + x.sum(dim=(0, 2, 3)), total_sq + (x ** 2).sum(dim=(0, 2, 3)), x.shape[2:]
    count = len(loader.dataset) * side[0] * side[1]
    mean = total / count
    return mean, (total_sq / count - mean ** 2).sqrt()


def _mean_over_images(loader):
    total, n = 0.0, 0
    for x, _ in loader:
        total, n = total + x.double().sum(dim=(0, 2, 3)), n + len(x)
    mean = total / n
    return mean, _unbiased(loader)[1]


def _variance(loader):
    mean, std = ref("dataset_mean_std")(loader)
    return mean, std ** 2


# ---------------------------------------------------------------- 04 training an MNIST MLP

def _no_zero_grad(model, xb, yb, loss_fn, optimizer):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def _zero_grad_after_step(model, xb, yb, loss_fn, optimizer):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def _zero_between(model, xb, yb, loss_fn, optimizer):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _returns_tensor(model, xb, yb, loss_fn, optimizer):
    ref("train_step")(model, xb, yb, loss_fn, optimizer)
    return loss_fn(model(xb), yb)


def _loss_after_update(model, xb, yb, loss_fn, optimizer):
    ref("train_step")(model, xb, yb, loss_fn, optimizer)
    with torch.no_grad():
        return loss_fn(model(xb), yb).item()


def _train_mode(model, loader):
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def _with_grad(model, loader):
    model.eval()
    return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)


def _batch_average(model, loader):
    model.eval()
    with torch.no_grad():
        return float(np.mean([(model(x).argmax(1) == y).float().mean().item() for x, y in loader]))


def _by_batches(model, loader):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / len(loader)


def _accuracy_dataset_len(model, loader):
    """Right: divides by len(loader.dataset)."""
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    return correct / len(loader.dataset)


def _precision(p, t, k):
    return torch.stack([(t[p == c] == c).float().mean() for c in range(k)])


def _present_only(p, t, k):
    return ref("per_class_accuracy")(p, t, k)[torch.unique(p)]


def _correct_counts(p, t, k):
    return torch.stack([(p[t == c] == c).sum() for c in range(k)]).float()


# ---------------------------------------------------------------- 05 validation and dropout

def _not_shuffled(n, f, seed):
    n_val = int(n * f)
    return torch.arange(n_val, n), torch.arange(n_val)


def _unseeded(n, f, seed):
    order = torch.randperm(n)
    return order[int(n * f):], order[:int(n * f)]


def _ignores_seed(n, f, seed):
    return ref("train_val_split")(n, f, 0)


def _overlapping(n, f, seed):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order, order[:int(n * f)]


def _two_permutations(n, f, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)[int(n * f):], torch.randperm(n, generator=g)[:int(n * f)]


def _split_float_indices(n, f, seed):
    train, val = ref("train_val_split")(n, f, seed)
    return train.float() + 0.5, val.float() + 0.5


_FIXED = torch.Generator()


def _same_mask(x, p, t):
    if not t or p == 0:
        return x
    _FIXED.manual_seed(0)
    return x * (torch.rand(x.shape, generator=_FIXED) >= p) / (1 - p)


def _dropout_in_place(x, p, t):
    if not t or p == 0:
        return x
    return x.mul_((torch.rand_like(x) >= p) / (1 - p))


# ---------------------------------------------------------------- 06 saving and loading

def _save_model_only(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def _load_model_only(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]


def _save_objects(path, model, optimizer, epoch):
    torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)


def _save_params(path, model, optimizer, epoch):
    params = {n: p.detach() for n, p in model.named_parameters()}
    torch.save({"model": params, "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def _load_params(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"], strict=False)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]


def _load_next_epoch(path, model, optimizer):
    return ref("load_training_state")(path, model, optimizer) + 1


def _strict_false(model, state_dict):
    return list(model.load_state_dict(state_dict, strict=False).unexpected_keys)


def _fits(model, state_dict):
    own = model.state_dict()
    return {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}


def _strict_filtered(model, state_dict):
    keep = _fits(model, state_dict)
    model.load_state_dict(keep)
    return [k for k in state_dict if k not in keep]


def _returns_loaded(model, state_dict):
    keep = _fits(model, state_dict)
    model.load_state_dict(keep, strict=False)
    return list(keep)


def _deletes(model, state_dict):
    keep = _fits(model, state_dict)
    skipped = [k for k in state_dict if k not in keep]
    for k in skipped:
        del state_dict[k]
    model.load_state_dict(state_dict, strict=False)
    return skipped


# ---------------------------------------------------------------- 07 MLP vs CNN

def _conv_true_division(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) / s + 1


def _conv_float_result(n, k, s=1, p=0, d=1):
    return float((n + 2 * p - d * (k - 1) - 1) // s + 1)


def _conv_one_side(n, k, s=1, p=0, d=1):
    return (n + p - d * (k - 1) - 1) // s + 1


def _conv_no_dilation(n, k, s=1, p=0, d=1):
    return (n + 2 * p - k) // s + 1


def _conv_off_by_one(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1)) // s + 1


def _count_all(m):
    return sum(p.numel() for p in m.parameters())


def _count_state(m):
    return sum(t.numel() for t in m.state_dict().values())


def _count_float(m):
    return float(ref("count_parameters")(m))


# ---------------------------------------------------------------- 08 transfer learning

def _not_frozen(backbone, num_features, num_classes):
    head = nn.Linear(num_features, num_classes)
    return nn.Sequential(backbone, head), list(head.parameters())


def _all_params(backbone, num_features, num_classes):
    for p in backbone.parameters():
        p.requires_grad_(False)
    model = nn.Sequential(backbone, nn.Linear(num_features, num_classes))
    return model, list(model.parameters())


def _new_net(backbone, num_features, num_classes):
    head = nn.Linear(num_features, num_classes)
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_features), head), list(head.parameters())


# ---------------------------------------------------------------- 09 hackathon 1

def _no_clip(y, p, eps=1e-15):
    p = p / p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return float(-np.log(p[np.arange(len(y)), y]).mean())


def _log2(y, p, eps=1e-15):
    p = np.clip(p, eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.log2(p[np.arange(len(y)), y]).mean())


def _no_renormalise(y, p, eps=1e-15):
    p = np.clip(p, eps, 1 - eps)
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def _summed(y, p, eps=1e-15):
    return ref("multiclass_log_loss")(y, p, eps) * len(y)


def _log_loss_in_place(y, p, eps=1e-15):
    np.clip(p, eps, 1 - eps, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def _length_only(submission, test_ids, classes):
    if list(submission.columns) != ["id", *classes]:
        raise ValueError("columns")
    if len(submission) != len(test_ids):
        raise ValueError("wrong number of rows")
    probs = submission[list(classes)].to_numpy(dtype=float)
    if not np.isfinite(probs).all() or (probs < 0).any() or not np.allclose(probs.sum(1), 1):
        raise ValueError("probabilities")


def _exact_sum(submission, test_ids, classes):
    ref("validate_submission")(submission, test_ids, classes)
    if (submission[list(classes)].sum(axis=1) != 1.0).any():
        raise ValueError("rows must sum to 1")


def _no_range(submission, test_ids, classes):
    if list(submission.columns) != ["id", *classes] or submission["id"].duplicated().any() or \
            set(submission["id"]) != set(test_ids):
        raise ValueError("ids or columns")
    if not np.allclose(submission[list(classes)].to_numpy(dtype=float).sum(axis=1), 1.0):
        raise ValueError("sums")


def _asserts(submission, test_ids, classes):
    try:
        ref("validate_submission")(submission, test_ids, classes)
    except ValueError as err:
        raise AssertionError(str(err)) from None


WRONG = [
    Wrong("check_torch_linear_backward", lambda d, x, W: (d @ W, x.T @ d, d.sum(0)), r"x\.T @ dout is its transpose"),
    Wrong("check_torch_linear_backward", lambda d, x, W: (d @ W, d.T @ x, d.mean(0)), "SUM it instead"),
    Wrong("check_torch_linear_backward", lambda d, x, W: (d @ W, d.T @ x, d.sum(1)), r"not over the outputs \(dim=1\)"),
    Wrong("check_torch_linear_backward", lambda d, x, W: [d @ W, d.T @ x], r"return dx, dW, db"),
    Wrong("check_torch_linear_backward", lambda d, x, W: (d @ W.T, d.T @ x, d.sum(0)), "raised RuntimeError: mat1 and mat2"),
    Wrong("check_torch_linear_backward", _linear_in_place, "in place"),
    Wrong("check_relu_backward", lambda d, x: (x > 0).double(), "multiply it by the"),
    Wrong("check_relu_backward", lambda d, x: d * (x >= 0), "at x == 0", public_passes=True),
    Wrong("check_relu_backward", lambda d, x: d * torch.relu(x), r"MASK \(x > 0\)"),
    Wrong("check_relu_backward", _relu_back_in_place, "changed dout in place"),
    Wrong("check_cross_entropy_backward", lambda z, y: ref("cross_entropy_backward")(z, y) * len(y), "divide by the batch"),
    Wrong("check_cross_entropy_backward", lambda z, y: -ref("cross_entropy_backward")(z, y), "sign"),
    Wrong("check_cross_entropy_backward", _ce_unstable, "row's max", public_passes=True),
    Wrong("check_cross_entropy_backward", _ce_in_place, "changed logits in place"),
    Wrong("check_softmax", lambda z: z.exp() / z.exp().sum(1, keepdim=True), "Subtract each row's max"),
    Wrong("check_softmax", _softmax_global_max, "each ROW's own max"),
    Wrong("check_softmax", lambda z: (z - z.max()).exp() / (z - z.max()).exp().sum(), "each row must sum to 1|ROW's own max"),
    Wrong("check_softmax", lambda z: (z - z.max(0, keepdim=True).values).exp() / (z - z.max(0, keepdim=True).values).exp().sum(0, keepdim=True),
          r"not over the batch \(dim=0\)"),
    Wrong("check_softmax", lambda z: torch.softmax(z, dim=1), "from torch.exp"),
    Wrong("check_softmax", lambda z: z.softmax(1), "from torch.exp"),
    Wrong("check_softmax", _softmax_in_place, "changed z in place"),
    Wrong("check_softmax", _softmax_float64, "keep z's dtype", public_passes=True),
    Wrong("check_log_softmax", lambda z: ref("softmax")(z).log(), r"log\(0\) = -inf"),
    Wrong("check_log_softmax", _log_softmax_global_max, "each ROW's own max"),
    Wrong("check_log_softmax", lambda z: z - z.max(dim=1, keepdim=True).values, "not only the row max"),
    Wrong("check_log_softmax", lambda z: torch.log_softmax(z, 1), "from torch.exp"),
    Wrong("check_log_softmax", lambda z: z - z.logsumexp(1, keepdim=True), "logsumexp"),
    Wrong("check_nll_loss", lambda lp, t: -lp[torch.arange(len(t)), t].sum(), "average over the batch"),
    Wrong("check_nll_loss", lambda lp, t: lp[torch.arange(len(t)), t].mean(), "wrong sign"),
    Wrong("check_nll_loss", lambda lp, t: -lp[:, t].mean(), r"log_probs\[torch.arange\(N\), targets\]"),
    Wrong("check_nll_loss", lambda lp, t: nn.NLLLoss()(lp, t), "F.nll_loss is what"),
    Wrong("check_nll_loss", lambda lp, t: -lp[torch.arange(len(t)), t].mean().item(), "no .item"),
    Wrong("check_make_mlp", lambda i, h, o: nn.Sequential(*ref("make_mlp")(i, h, o)[1:]), "nn.Flatten"),
    Wrong("check_make_mlp", lambda i, h, o: nn.Sequential(*ref("make_mlp")(i, h, o), nn.ReLU()), "no ReLU, Softmax"),
    Wrong("check_make_mlp", lambda i, h, o: nn.Sequential(*ref("make_mlp")(i, h, o), nn.Softmax(1)), "raw logits"),
    Wrong("check_make_mlp", lambda i, h, o: nn.Sequential(*ref("make_mlp")(i, h, o), nn.LogSoftmax(1)), "raw logits"),
    Wrong("check_make_mlp", _mlp(nn.ReLU), r"nn.ReLU\(\)"),
    Wrong("check_make_mlp", lambda i, h, o: ref("make_mlp")(i, h[:-1], o), "should hold Linear layers"),
    Wrong("check_make_mlp", lambda i, h, o: [nn.Linear(i, o)], "must return an nn.Module"),
    Wrong("check_dataset_mean_std", _per_batch, "average of per-batch means"),
    Wrong("check_dataset_mean_std", _right_mean_batch_std, "average of per-batch stds"),
    Wrong("check_dataset_mean_std", _scalar_stats, "one value per channel"),
    Wrong("check_dataset_mean_std", _mean_over_images, "number of PIXELS"),
    Wrong("check_dataset_mean_std", _variance, "variance"),
    Wrong("check_make_transform", lambda m, s: T.ToTensor(), r"still in \[0, 1\]"),
    Wrong("check_make_transform", lambda m, s: T.Compose([T.Normalize(m, s), T.ToTensor()]), r"ToTensor\(\) comes first"),
    Wrong("check_make_transform", lambda m, s: T.Compose([T.PILToTensor(), T.ConvertImageDtype(torch.float64),
                                                          T.Normalize(m, [v ** 2 for v in s])]), "not the variance"),
    Wrong("check_make_transform", lambda m, s: T.Compose([T.PILToTensor(), lambda t: t.double(), T.Normalize(m, s)]),
          "scale the pixels to"),
    Wrong("check_make_transform", lambda m, s: T.Resize(4), "returned a PIL image"),
    Wrong("check_make_transform", lambda m, s: "normalize", "must return a transform"),
    Wrong("check_train_step", _no_zero_grad, r"optimizer.zero_grad\(\) before loss.backward"),
    Wrong("check_train_step", _zero_between, "parameters did not change"),
    Wrong("check_train_step", _returns_tensor, "plain Python float"),
    Wrong("check_train_step", _loss_after_update, "AFTER the update"),
    Wrong("check_evaluate_accuracy", _train_mode, r"call model.eval\(\) first"),
    Wrong("check_evaluate_accuracy", _with_grad, "torch.no_grad"),
    Wrong("check_evaluate_accuracy", _batch_average, "averaged the per-batch accuracies"),
    Wrong("check_evaluate_accuracy", lambda m, l: 100 * ref("evaluate_accuracy")(m, l), r"fraction in \[0, 1\]"),
    Wrong("check_evaluate_accuracy", _by_batches, r"not the number of batches|fraction in"),
    Wrong("check_per_class_accuracy", _precision, "that is precision"),
    Wrong("check_per_class_accuracy", _present_only, "one accuracy per class", public_passes=True),
    Wrong("check_per_class_accuracy", _correct_counts, "not just count"),
    Wrong("check_train_val_split", _not_shuffled, "contiguous block"),
    Wrong("check_train_val_split", _unseeded, "same seed gave a different split"),
    Wrong("check_train_val_split", _ignores_seed, "seed 0 and seed 1 gave the same split"),
    Wrong("check_train_val_split", _overlapping, "train_idx should hold|in both"),
    Wrong("check_train_val_split", _two_permutations, "ONE permutation|in both"),
    Wrong("check_train_val_split", _split_float_indices, "integer indices"),
    Wrong("check_dropout", lambda x, p, training: x * (torch.rand_like(x) >= p) / (1 - p), "identity"),
    Wrong("check_dropout", lambda x, p, t: x * (torch.rand_like(x) >= p) if t else x, r"1 / \(1 - p\)"),
    Wrong("check_dropout", lambda x, p, t: x * (torch.rand_like(x) < p) / p if t and p else x, "probability of DROPPING"),
    Wrong("check_dropout", lambda x, p, t: F.dropout(x, p, t), "torch.rand and a mask"),
    Wrong("check_dropout", _same_mask, "new random mask"),
    Wrong("check_dropout", _dropout_in_place, "in place"),
    Wrong("check_save_resume", {"save_training_state": _save_model_only, "load_training_state": _load_model_only},
          r"optimizer's state .*optimizer\.state_dict\(\)"),
    Wrong("check_save_resume", {"save_training_state": _save_objects}, r"weights_only=True\): save the state_dicts"),
    Wrong("check_save_resume", {"save_training_state": _save_params, "load_training_state": _load_params}, "buffers",
          public_passes=True),
    Wrong("check_save_resume", {"load_training_state": _load_next_epoch}, "return the epoch stored"),
    Wrong("check_load_matching", _strict_false, "strict=False only forgives missing"),
    Wrong("check_load_matching", _strict_filtered, "load it with strict=False"),
    Wrong("check_load_matching", _returns_loaded, "WERE loaded"),
    Wrong("check_load_matching", _deletes, "changed the state_dict it was given"),
    Wrong("check_count_parameters", lambda m: len(list(m.parameters())), "counted parameter TENSORS"),
    Wrong("check_count_parameters", lambda m: sum(p.numel() for n, p in m.named_parameters() if n.endswith("weight")),
          "biases are missing"),
    Wrong("check_count_parameters", _count_all, "frozen parameters", public_passes=True),
    Wrong("check_count_parameters", _count_state, "buffers", public_passes=True),
    Wrong("check_count_parameters", _count_float, "should be an int"),
    Wrong("check_conv_output_size", _conv_true_division, "round DOWN|should be an int"),
    Wrong("check_conv_output_size", _conv_float_result, "should be an int"),
    Wrong("check_conv_output_size", _conv_one_side, "BOTH sides"),
    Wrong("check_conv_output_size", _conv_no_dilation, "dilation spreads the kernel", public_passes=True),
    Wrong("check_conv_output_size", _conv_off_by_one, "off by one"),
    Wrong("check_transfer_model", _not_frozen, "requires_grad=True"),
    Wrong("check_transfer_model", _all_params, "ONLY the new head's parameters"),
    Wrong("check_transfer_model", _new_net, "does not contain the backbone"),
    Wrong("check_multiclass_log_loss", _no_clip, "Clip first"),
    Wrong("check_multiclass_log_loss", _log2, "natural logarithm"),
    Wrong("check_multiclass_log_loss", _no_renormalise, "not renormalised"),
    Wrong("check_multiclass_log_loss", _summed, "MEAN over the rows"),
    Wrong("check_multiclass_log_loss", _log_loss_in_place, "changed probs in place"),
    Wrong("check_validate_submission", _length_only, "appears twice and another is missing"),
    Wrong("check_validate_submission", _exact_sum, "compare with a tolerance"),
    Wrong("check_validate_submission", _no_range, r"NaN|below 0"),
    Wrong("check_validate_submission", _asserts, "raise ValueError"),
]

RIGHT = [
    Right("check_train_step", _zero_grad_after_step, "zero_grad after the step is as good as before"),
    Right("check_dataset_mean_std", _unbiased, "the unbiased std is close enough for so many pixels"),
    Right("check_dataset_mean_std", _mean_std_by_dataset_len, "len(loader.dataset) works on the loaders promised"),
    Right("check_evaluate_accuracy", _accuracy_dataset_len, "len(loader.dataset) works on the loaders promised"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


def test_softmax_check_restores_torch():
    with pytest.raises(AssertionError):
        checks.check_softmax(lambda z: z.softmax(1))
    z = torch.randn(2, 3)
    assert torch.allclose(torch.softmax(z, 1), z.softmax(1)) and "softmax" not in torch.Tensor.__dict__


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    np.random.seed(123)
    expected_t, expected_n = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    checks.check_dropout(ref("dropout"), hidden=True)
    checks.check_train_val_split(ref("train_val_split"), hidden=True)
    assert torch.equal(torch.rand(3), expected_t) and np.array_equal(np.random.rand(3), expected_n)


def test_log_loss_reference_matches_scikit_learn():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(9), size=50)
    y = rng.integers(0, 9, size=50)
    assert np.isclose(ref("multiclass_log_loss")(y, p), log_loss(y, p, labels=range(9)))
