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
    "check_residual": ("02", ["Residual"]),
    "check_standardize": ("02", ["Standardize"]),
    "check_softmax": ("02", ["softmax"]),
    "check_log_softmax": ("02", ["log_softmax"]),
    "check_make_mlp": ("02", ["make_mlp"]),
    "check_dataset_mean_std": ("03", ["dataset_mean_std"]),
    "check_make_transform": ("03", ["make_transform"]),
    "check_array_dataset": ("03", ["ArrayDataset"]),
    "check_pad_collate": ("03", ["pad_collate"]),
    "check_train_step": ("04", ["train_step"]),
    "check_evaluate_accuracy": ("04", ["evaluate_accuracy"]),
    "check_per_class_accuracy": ("04", ["per_class_accuracy"]),
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


# ---------------------------------------------------------------- 02 modules: a residual block, buffers

def _residual(forward, *, in_list=False):
    """A Residual class whose __init__ is right (or keeps the modules in a plain list) and whose
    forward is ``forward(self, x)``."""
    class Residual(nn.Module):
        def __init__(self, block, shortcut=None):
            super().__init__()
            if in_list:
                self.parts = [block, shortcut]
                self.block, self.shortcut = (lambda x: self.parts[0](x)), (None if shortcut is None else (lambda x: self.parts[1](x)))
            else:
                self.block, self.shortcut = block, shortcut

        def forward(self, x):
            return forward(self, x)
    return Residual


def _skip(self, x):
    return x if self.shortcut is None else self.shortcut(x)


_res_no_skip = _residual(lambda self, x: self.block(x))
_res_relu_after = _residual(lambda self, x: torch.relu(self.block(x) + _skip(self, x)))
_res_ignores_shortcut = _residual(lambda self, x: self.block(x) + (x if self.block(x).shape == x.shape else _skip(self, x)))
_res_detached = _residual(lambda self, x: self.block(x).detach() + _skip(self, x))
_res_in_list = _residual(lambda self, x: self.block(x) + _skip(self, x), in_list=True)
_res_skip_only = _residual(lambda self, x: _skip(self, x) + 0 * x.sum())


class _ResidualDefault(nn.Module):
    """Right: an nn.Identity shortcut by default instead of None."""

    def __init__(self, block, shortcut=None):
        super().__init__()
        self.body = block
        self.skip = nn.Identity() if shortcut is None else shortcut

    def forward(self, x):
        out = self.skip(x)
        return out + self.body(x)


def _standardize(init, forward=lambda self, x: (x - self.mean) / self.std):
    class Standardize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            init(self, torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1),
                 torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

        def forward(self, x):
            return forward(self, x)
    return Standardize


def _as_params(self, m, s):
    self.mean, self.std = nn.Parameter(m), nn.Parameter(s)


def _as_frozen_params(self, m, s):
    self.mean, self.std = nn.Parameter(m, requires_grad=False), nn.Parameter(s, requires_grad=False)


def _as_attributes(self, m, s):
    self.mean, self.std = m, s


def _not_persistent(self, m, s):
    self.register_buffer("mean", m, persistent=False)
    self.register_buffer("std", s, persistent=False)


def _buffers(self, m, s):
    self.register_buffer("mean", m)
    self.register_buffer("std", s)


def _flat_buffers(self, m, s):
    self.register_buffer("mean", m.view(-1))
    self.register_buffer("std", s.view(-1))


def _buffers_copied_in_forward(self, m, s):
    self.register_buffer("mean", m)
    self.register_buffer("std", s)
    self.frozen = (m.clone(), s.clone())


_std_params = _standardize(_as_params)
_std_frozen_params = _standardize(_as_frozen_params)
_std_attributes = _standardize(_as_attributes)
_std_not_persistent = _standardize(_not_persistent)
_std_variance = _standardize(_buffers, lambda self, x: (x - self.mean) / self.std ** 2)
_std_last_dim = _standardize(_flat_buffers, lambda self, x: (x - self.mean) / self.std)
_std_in_place = _standardize(_buffers, lambda self, x: x.sub_(self.mean).div_(self.std))
_std_float32_copies = _standardize(_buffers_copied_in_forward,
                                   lambda self, x: (x - self.frozen[0].to(x.dtype)) / self.frozen[1].to(x.dtype))
_std_right_flat = _standardize(_flat_buffers, lambda self, x: (x - self.mean[:, None, None]) / self.std[:, None, None])


# ---------------------------------------------------------------- 03 your own Dataset and collate_fn

def _dataset(getitem, length=lambda self: len(self.images), check=True, eager=False):
    class ArrayDataset(torch.utils.data.Dataset):
        def __init__(self, images, labels, transform=None):
            if check and len(images) != len(labels):
                raise ValueError(f"{len(images)} images, {len(labels)} labels")
            self.images, self.labels, self.transform = images, labels, transform
            if eager and transform is not None:
                self.images = [transform(im) for im in images]
                self.transform = None

        def __len__(self):
            return length(self)

        def __getitem__(self, i):
            return getitem(self, i)
    return ArrayDataset


def _item(self, i):
    image = self.images[i] if self.transform is None else self.transform(self.images[i])
    return image, int(self.labels[i])


_ds_len_minus_one = _dataset(_item, length=lambda self: len(self.images) - 1)
_ds_no_transform = _dataset(lambda self, i: (self.images[i], int(self.labels[i])))
_ds_eager = _dataset(_item, eager=True)
_ds_float_label = _dataset(lambda self, i: (_item(self, i)[0], float(self.labels[i])))
_ds_no_check = _dataset(_item, check=False)
_ds_first_item = _dataset(lambda self, i: _item(self, 0))
_ds_transform_twice = _dataset(lambda self, i: (_item(self, i)[0] if self.transform is None else
                                                self.transform(self.transform(self.images[i])), int(self.labels[i])))
_ds_assert = _dataset(_item, check=False)


def _item_ran_twice(self, i):
    if self.transform is not None:
        self.transform(self.images[i])          # a result thrown away: the transform still ran
    return _item(self, i)


def _item_cached(self, i):
    cache = self.__dict__.setdefault("cache", {})
    if i not in cache:
        cache[i] = _item(self, i)
    return cache[i]


_ds_ran_twice = _dataset(_item_ran_twice)
_ds_cached = _dataset(_item_cached)
_ds_tensor_label = _dataset(lambda self, i: (_item(self, i)[0], torch.as_tensor(np.asarray(self.labels[i]))))


class _DatasetAssert(_ds_assert):
    def __init__(self, images, labels, transform=None):
        assert len(images) == len(labels), "lengths differ"
        super().__init__(images, labels, transform)


def _collate_lists(batch):
    padded, lengths, labels = ref("pad_collate")(batch)
    return list(padded), lengths, labels.tolist()


def _collate_front(batch):
    longest = max(len(s) for s, _ in batch)
    rows = [torch.cat([s.new_zeros(longest - len(s)), s]) for s, _ in batch]
    return torch.stack(rows), torch.tensor([len(s) for s, _ in batch]), torch.tensor([int(y) for _, y in batch])


def _collate_time_first(batch):
    from torch.nn.utils.rnn import pad_sequence
    return (pad_sequence([s for s, _ in batch]), torch.tensor([len(s) for s, _ in batch]),
            torch.tensor([int(y) for _, y in batch]))


def _collate_fixed_length(batch):
    padded = torch.zeros(len(batch), 32, dtype=batch[0][0].dtype)
    for k, (s, _) in enumerate(batch):
        padded[k, :len(s)] = s
    return padded, torch.tensor([len(s) for s, _ in batch]), torch.tensor([int(y) for _, y in batch])


def _collate_padded_lengths(batch):
    padded, _, labels = ref("pad_collate")(batch)
    return padded, torch.full((len(batch),), padded.shape[1]), labels


def _collate_float32(batch):
    padded, lengths, labels = ref("pad_collate")(batch)
    return padded.float(), lengths, labels


def _collate_float_lengths(batch):
    padded, lengths, labels = ref("pad_collate")(batch)
    return padded, lengths.float(), labels


def _collate_in_place(batch):
    out = ref("pad_collate")(batch)
    for s, _ in batch:
        s.zero_()
    return out


def _collate_pad_sequence(batch):
    """Right: torch's pad_sequence with batch_first=True."""
    from torch.nn.utils.rnn import pad_sequence
    seqs = [s for s, _ in batch]
    return (pad_sequence(seqs, batch_first=True), torch.tensor([len(s) for s in seqs]),
            torch.stack([torch.as_tensor(y) for _, y in batch]).long())


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
    Wrong("check_residual", _res_no_skip, "skip connection is missing"),
    Wrong("check_residual", _res_relu_after, "no ReLU after the sum"),
    Wrong("check_residual", _res_ignores_shortcut, "add shortcut\\(x\\), not x", hidden=True),
    Wrong("check_residual", _res_detached, "did not reach the block's parameters"),
    Wrong("check_residual", _res_in_list, "plain list or dict"),
    Wrong("check_residual", _res_skip_only, "block's output is missing"),
    Wrong("check_standardize", _std_params, "registered as parameters"),
    Wrong("check_standardize", _std_frozen_params, "registered as parameters"),
    Wrong("check_standardize", _std_attributes, "plain tensor attributes"),
    Wrong("check_standardize", _std_not_persistent, "persistent=False"),
    Wrong("check_standardize", _std_variance, "not the variance"),
    Wrong("check_standardize", _std_last_dim, r"LAST dim|raised RuntimeError"),
    Wrong("check_standardize", _std_in_place, "in place"),
    Wrong("check_standardize", _std_float32_copies, r"model.to\(torch.float64\)|loaded statistics"),
    Wrong("check_array_dataset", _ds_len_minus_one, "off by one"),
    Wrong("check_array_dataset", _ds_no_transform, "transform was not applied"),
    Wrong("check_array_dataset", _ds_eager, "while the dataset was built"),
    Wrong("check_array_dataset", _ds_ran_twice, "ran twice for one read"),
    Wrong("check_array_dataset", _ds_cached, "kept from the first read"),
    Wrong("check_array_dataset", _ds_float_label, "should be an int"),
    Wrong("check_array_dataset", _ds_no_check, "raise ValueError naming both lengths"),
    Wrong("check_array_dataset", _DatasetAssert, "raised AssertionError: raise ValueError"),
    Wrong("check_array_dataset", _ds_first_item, "index with the i you are given"),
    Wrong("check_array_dataset", _ds_transform_twice, "applied twice"),
    Wrong("check_pad_collate", _collate_lists, "ONE tensor for the whole batch"),
    Wrong("check_pad_collate", _collate_front, "zeros went in FRONT"),
    Wrong("check_pad_collate", _collate_time_first, "batch_first=True"),
    Wrong("check_pad_collate", _collate_fixed_length, "LONGEST one in this batch"),
    Wrong("check_pad_collate", _collate_padded_lengths, "BEFORE padding"),
    Wrong("check_pad_collate", _collate_float32, "keep the sequences' dtype", hidden=True),
    Wrong("check_pad_collate", _collate_float_lengths, "int64 tensor"),
    Wrong("check_pad_collate", _collate_in_place, "in place"),
    Wrong("check_softmax", lambda z: z.exp() / z.exp().sum(1, keepdim=True), "Subtract each row's max"),
    Wrong("check_softmax", _softmax_global_max, "each ROW's own max"),
    Wrong("check_softmax", lambda z: (z - z.max()).exp() / (z - z.max()).exp().sum(), "each row must sum to 1|ROW's own max"),
    Wrong("check_softmax", lambda z: (z - z.max(0, keepdim=True).values).exp() / (z - z.max(0, keepdim=True).values).exp().sum(0, keepdim=True),
          r"not over the batch \(dim=0\)"),
    Wrong("check_softmax", lambda z: torch.softmax(z, dim=1), "from torch.exp"),
    Wrong("check_softmax", lambda z: z.softmax(1), "from torch.exp"),
    Wrong("check_softmax", _softmax_in_place, "changed `z` in place"),
    Wrong("check_softmax", _softmax_float64, "keep z's dtype", public_passes=True),
    Wrong("check_log_softmax", lambda z: ref("softmax")(z).log(), r"log\(0\) = -inf"),
    Wrong("check_log_softmax", _log_softmax_global_max, "each ROW's own max"),
    Wrong("check_log_softmax", lambda z: z - z.max(dim=1, keepdim=True).values, "not only the row max"),
    Wrong("check_log_softmax", lambda z: torch.log_softmax(z, 1), "from torch.exp"),
    Wrong("check_log_softmax", lambda z: z - z.logsumexp(1, keepdim=True), "logsumexp"),
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
    Wrong("check_multiclass_log_loss", _log_loss_in_place, "changed `probs` in place"),
    Wrong("check_validate_submission", _length_only, "appears twice and another is missing"),
    Wrong("check_validate_submission", _exact_sum, "compare with a tolerance"),
    Wrong("check_validate_submission", _no_range, r"NaN|below 0"),
    Wrong("check_validate_submission", _asserts, "raise ValueError"),
]

RIGHT = [
    Right("check_residual", _ResidualDefault, "an nn.Identity shortcut and other attribute names"),
    Right("check_standardize", _std_right_flat, "buffers of shape (C,), reshaped in forward"),
    Right("check_array_dataset", _ds_tensor_label, "a 0-d integer tensor label is fine for the default collate"),
    Right("check_pad_collate", _collate_pad_sequence, "pad_sequence(batch_first=True)"),
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
    checks.check_residual(ref("Residual"), hidden=True)
    checks.check_array_dataset(ref("ArrayDataset"), hidden=True)
    assert torch.equal(torch.rand(3), expected_t) and np.array_equal(np.random.rand(3), expected_n)


def test_log_loss_reference_matches_scikit_learn():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(9), size=50)
    y = rng.integers(0, 9, size=50)
    assert np.isclose(ref("multiclass_log_loss")(y, p), log_loss(y, p, labels=range(9)))


def test_count_parameters_record_reference_on_every_case():
    """count_parameters' reference against counts worked out by hand: 784 * 10 + 10; a 3x3 conv to 8 channels
    (72 + 8) and 8 * 13 * 13 * 10 + 10; a bias-free 5x5 conv (1,200), BatchNorm's weight and bias (32, its running
    statistics are buffers) and a 1x1 conv (68); a frozen first layer (only 30 * 5 + 5 counts); a bias-free linear
    layer (144); a ReLU (none)."""
    ex = next(ex for ex in checks.EXERCISES if ex.name == "count_parameters")
    assert [ex.expect(case)[0] for case in ex.cases(True)] == [7850, 13610, 1300, 155, 144, 0]
