"""Week 2's graded checks, three ways each: the reference solution passes (public and hidden
cases), the released stub fails as "not answered", and typical wrong answers fail with their hint.
"""
import numpy as np
import pytest
import torch
import torchvision.transforms as T
from torch import nn

from helpers.checks import week2 as checks


def stub(*args, **kwargs):
    raise NotImplementedError()


def passes(check, fn):
    check(fn)
    check(fn, hidden=True)


def fails(check, fn, match, hidden=False):
    with pytest.raises(AssertionError, match=match):
        check(fn, hidden=hidden)


@pytest.mark.parametrize("check", [
    checks.check_linear_backward, checks.check_relu_backward, checks.check_cross_entropy_backward,
    checks.check_softmax, checks.check_log_softmax, checks.check_nll_loss, checks.check_make_mlp,
    checks.check_dataset_mean_std, checks.check_make_transform, checks.check_train_step,
    checks.check_evaluate_accuracy, checks.check_per_class_accuracy, checks.check_train_val_split,
    checks.check_dropout,
])
def test_release_stub_fails_as_not_answered(check):
    fails(check, stub, "not answered yet")


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    np.random.seed(123)
    expected_t, expected_n = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    checks.check_dropout(dropout, hidden=True)
    checks.check_train_val_split(train_val_split, hidden=True)
    assert torch.equal(torch.rand(3), expected_t) and np.array_equal(np.random.rand(3), expected_n)


# ---------------------------------------------------------------- 01 tensors and autograd

def linear_backward(dout, x, W):
    return dout @ W, dout.T @ x, dout.sum(dim=0)


def relu_backward(dout, x):
    return dout * (x > 0)


def cross_entropy_backward(logits, y):
    z = logits - logits.max(dim=1, keepdim=True).values
    p = z.exp() / z.exp().sum(dim=1, keepdim=True)
    p[torch.arange(len(y)), y] -= 1
    return p / len(y)


def test_linear_backward():
    passes(checks.check_linear_backward, linear_backward)
    fails(checks.check_linear_backward, lambda d, x, W: (d @ W, x.T @ d, d.sum(0)), r"dW has shape .*dout\.T @ x")
    fails(checks.check_linear_backward, lambda d, x, W: (d @ W, d.T @ x, d.mean(0)), "SUM it instead")
    fails(checks.check_linear_backward, lambda d, x, W: [d @ W, d.T @ x], r"return dx, dW, db")


def test_linear_backward_must_not_modify_inputs():
    def in_place(d, x, W):
        dx, dW, db = d @ W, d.T @ x, d.sum(0)
        x.zero_()
        return dx, dW, db

    fails(checks.check_linear_backward, in_place, "in place")


def test_relu_backward():
    passes(checks.check_relu_backward, relu_backward)
    fails(checks.check_relu_backward, lambda d, x: (x > 0).double(), "multiply it by the")
    fails(checks.check_relu_backward, lambda d, x: d * (x >= 0), "0 at x == 0", hidden=True)


def test_cross_entropy_backward():
    passes(checks.check_cross_entropy_backward, cross_entropy_backward)
    fails(checks.check_cross_entropy_backward, lambda z, y: cross_entropy_backward(z, y) * len(y), "divide by the batch")

    def unstable(z, y):
        p = z.exp() / z.exp().sum(1, keepdim=True)
        p[torch.arange(len(y)), y] -= 1
        return p / len(y)

    fails(checks.check_cross_entropy_backward, unstable, "row max", hidden=True)


# ---------------------------------------------------------------- 02 networks in PyTorch

def softmax(z):
    e = (z - z.max(dim=1, keepdim=True).values).exp()
    return e / e.sum(dim=1, keepdim=True)


def log_softmax(z):
    shifted = z - z.max(dim=1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def nll_loss(log_probs, targets):
    return -log_probs[torch.arange(len(targets)), targets].mean()


def make_mlp(n_in, hidden, n_out):
    layers, sizes = [nn.Flatten()], [n_in, *hidden]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], n_out))


def test_softmax():
    passes(checks.check_softmax, softmax)
    fails(checks.check_softmax, lambda z: z.exp() / z.exp().sum(1, keepdim=True), "Subtract each row's max")
    fails(checks.check_softmax, lambda z: (z - z.max()).exp() / (z - z.max()).exp().sum(), "each row must sum to 1")
    fails(checks.check_softmax, lambda z: torch.softmax(z, dim=1), "from torch.exp")


def test_softmax_check_restores_torch():
    with pytest.raises(AssertionError):
        checks.check_softmax(lambda z: z.softmax(1))
    z = torch.randn(2, 3)
    assert torch.allclose(torch.softmax(z, 1), z.softmax(1)) and "softmax" not in torch.Tensor.__dict__


def test_log_softmax():
    passes(checks.check_log_softmax, log_softmax)
    fails(checks.check_log_softmax, lambda z: softmax(z).log(), "log\\(0\\) = -inf")
    fails(checks.check_log_softmax, lambda z: torch.log_softmax(z, 1), "from torch.exp")


def test_nll_loss():
    passes(checks.check_nll_loss, nll_loss)
    fails(checks.check_nll_loss, lambda lp, t: -lp[torch.arange(len(t)), t].sum(), "average over the batch")
    fails(checks.check_nll_loss, lambda lp, t: lp[torch.arange(len(t)), t].mean(), "wrong sign")
    fails(checks.check_nll_loss, lambda lp, t: -lp[:, t].mean(), r"log_probs\[torch.arange\(N\), targets\]")
    fails(checks.check_nll_loss, lambda lp, t: nn.NLLLoss()(lp, t), "F.nll_loss is what")


def test_make_mlp():
    passes(checks.check_make_mlp, make_mlp)
    fails(checks.check_make_mlp, lambda i, h, o: nn.Sequential(*make_mlp(i, h, o)[1:]), "nn.Flatten")
    fails(checks.check_make_mlp, lambda i, h, o: nn.Sequential(*make_mlp(i, h, o), nn.ReLU()), "no ReLU, Softmax")
    fails(checks.check_make_mlp, lambda i, h, o: nn.Sequential(*make_mlp(i, h, o), nn.Softmax(1)), "raw logits")
    fails(checks.check_make_mlp, lambda i, h, o: nn.Sequential(*make_mlp(i, h, o), nn.LogSoftmax(1)), "raw logits")
    fails(checks.check_make_mlp,
          lambda i, h, o: nn.Sequential(*[m for m in make_mlp(i, h, o) if not isinstance(m, nn.ReLU)]), "nn.ReLU()")
    fails(checks.check_make_mlp, lambda i, h, o: make_mlp(i, h[:-1], o), "should hold Linear layers")
    fails(checks.check_make_mlp, lambda i, h, o: [nn.Linear(i, o)], "must return an nn.Module")


# ---------------------------------------------------------------- 03 data

def dataset_mean_std(loader):
    total, total_sq, count = 0.0, 0.0, 0
    for x, _ in loader:
        x = x.double()
        total = total + x.sum(dim=(0, 2, 3))
        total_sq = total_sq + (x ** 2).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    return mean, (total_sq / count - mean ** 2).sqrt()


def make_transform(mean, std):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])


def test_dataset_mean_std():
    passes(checks.check_dataset_mean_std, dataset_mean_std)

    def per_batch(fn):
        def inner(loader):
            stats = [fn(x) for x, _ in loader]
            return tuple(torch.stack(s).mean(0) for s in zip(*stats))
        return inner

    fails(checks.check_dataset_mean_std, per_batch(lambda x: (x.mean((0, 2, 3)), x.std((0, 2, 3)))),
          "average of per-batch means")

    def right_mean_batch_std(loader):
        mean, _ = dataset_mean_std(loader)
        return mean, torch.stack([x.std(dim=(0, 2, 3)) for x, _ in loader]).mean(0)

    fails(checks.check_dataset_mean_std, right_mean_batch_std, "average of per-batch stds")

    def scalar(loader):
        x = torch.cat([b for b, _ in loader])
        return x.mean(), x.std()

    fails(checks.check_dataset_mean_std, scalar, "one value per channel")


def test_dataset_mean_std_unbiased_std_is_accepted():
    def unbiased(loader):
        x = torch.cat([b for b, _ in loader])
        return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))

    passes(checks.check_dataset_mean_std, unbiased)


def test_make_transform():
    passes(checks.check_make_transform, make_transform)
    fails(checks.check_make_transform, lambda m, s: T.ToTensor(), "still in \\[0, 1\\]")
    fails(checks.check_make_transform, lambda m, s: T.Compose([T.Normalize(m, s), T.ToTensor()]), "ToTensor\\(\\) comes first")
    fails(checks.check_make_transform, lambda m, s: T.Compose([T.PILToTensor(), T.ConvertImageDtype(torch.float64),
                                                               T.Normalize(m, [v ** 2 for v in s])]), "not variance")
    fails(checks.check_make_transform, lambda m, s: T.Resize(4), "returned a PIL image")
    fails(checks.check_make_transform, lambda m, s: "normalize", "must return a transform")


# ---------------------------------------------------------------- 04 training an MNIST MLP

def train_step(model, xb, yb, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def evaluate_accuracy(model, loader):
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return correct / count


def per_class_accuracy(preds, targets, num_classes):
    return torch.stack([(preds[targets == c] == c).float().mean() for c in range(num_classes)])


def test_train_step():
    passes(checks.check_train_step, train_step)

    def no_zero_grad(model, xb, yb, loss_fn, optimizer):
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss.item()

    fails(checks.check_train_step, no_zero_grad, "optimizer.zero_grad\\(\\) before loss.backward")

    def zero_grad_after_step(model, xb, yb, loss_fn, optimizer):  # also right
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()

    passes(checks.check_train_step, zero_grad_after_step)

    def zero_between(model, xb, yb, loss_fn, optimizer):
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        return loss.item()

    fails(checks.check_train_step, zero_between, "parameters did not change")

    def returns_tensor(model, xb, yb, loss_fn, optimizer):
        train_step(model, xb, yb, loss_fn, optimizer)
        return loss_fn(model(xb), yb)

    fails(checks.check_train_step, returns_tensor, "plain Python float")

    def loss_after_update(model, xb, yb, loss_fn, optimizer):
        train_step(model, xb, yb, loss_fn, optimizer)
        with torch.no_grad():
            return loss_fn(model(xb), yb).item()

    fails(checks.check_train_step, loss_after_update, "before the update")


def test_evaluate_accuracy():
    passes(checks.check_evaluate_accuracy, evaluate_accuracy)

    def train_mode(model, loader):
        with torch.no_grad():
            return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)

    fails(checks.check_evaluate_accuracy, train_mode, "call model.eval\\(\\) first")

    def with_grad(model, loader):
        model.eval()
        return sum((model(x).argmax(1) == y).sum().item() for x, y in loader) / sum(len(y) for _, y in loader)

    fails(checks.check_evaluate_accuracy, with_grad, "torch.no_grad")

    def batch_average(model, loader):
        model.eval()
        with torch.no_grad():
            return float(np.mean([(model(x).argmax(1) == y).float().mean().item() for x, y in loader]))

    fails(checks.check_evaluate_accuracy, batch_average, "averaged the per-batch accuracies")

    def percent(model, loader):
        return 100 * evaluate_accuracy(model, loader)

    fails(checks.check_evaluate_accuracy, percent, "fraction in \\[0, 1\\]")


def test_per_class_accuracy():
    passes(checks.check_per_class_accuracy, per_class_accuracy)
    precision = lambda p, t, k: torch.stack([(t[p == c] == c).float().mean() for c in range(k)])  # noqa: E731
    fails(checks.check_per_class_accuracy, precision, "that is precision")
    present_only = lambda p, t, k: per_class_accuracy(p, t, k)[torch.unique(p)]  # noqa: E731
    fails(checks.check_per_class_accuracy, present_only, "one accuracy per class", hidden=True)


# ---------------------------------------------------------------- 05 validation and dropout

def train_val_split(n, val_fraction, seed):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(n * val_fraction)
    return order[n_val:], order[:n_val]


def dropout(x, p, training):
    if not training or p == 0:
        return x
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x * keep / (1 - p)


def test_train_val_split():
    passes(checks.check_train_val_split, train_val_split)

    def not_shuffled(n, f, seed):
        n_val = int(n * f)
        return torch.arange(n_val, n), torch.arange(n_val)

    fails(checks.check_train_val_split, not_shuffled, "contiguous block")

    def unseeded(n, f, seed):
        order = torch.randperm(n)
        return order[int(n * f):], order[:int(n * f)]

    fails(checks.check_train_val_split, unseeded, "same seed gave a different split")

    def ignores_seed(n, f, seed):
        return train_val_split(n, f, 0)

    fails(checks.check_train_val_split, ignores_seed, "seed 0 and seed 1 gave the same split")

    def overlapping(n, f, seed):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        return order, order[:int(n * f)]

    fails(checks.check_train_val_split, overlapping, "train_idx should hold|in both")

    def two_permutations(n, f, seed):
        g = torch.Generator().manual_seed(seed)
        return torch.randperm(n, generator=g)[int(n * f):], torch.randperm(n, generator=g)[:int(n * f)]

    fails(checks.check_train_val_split, two_permutations, "ONE permutation|in both")


def test_dropout():
    passes(checks.check_dropout, dropout)
    fails(checks.check_dropout, lambda x, p, training: x * (torch.rand_like(x) >= p) / (1 - p), "identity")
    fails(checks.check_dropout, lambda x, p, t: x * (torch.rand_like(x) >= p) if t else x, "1 / \\(1 - p\\)")
    fails(checks.check_dropout, lambda x, p, t: x * (torch.rand_like(x) < p) / p if t and p else x,
          "probability of DROPPING")
    fails(checks.check_dropout, lambda x, p, t: torch.nn.functional.dropout(x, p, t), "torch.rand and a mask")

    fixed = torch.Generator()

    def same_mask(x, p, t):
        if not t or p == 0:
            return x
        fixed.manual_seed(0)
        return x * (torch.rand(x.shape, generator=fixed) >= p) / (1 - p)

    fails(checks.check_dropout, same_mask, "new random mask")

    def in_place(x, p, t):
        if not t or p == 0:
            return x
        return x.mul_((torch.rand_like(x) >= p) / (1 - p))

    fails(checks.check_dropout, in_place, "in place")


# ============================================================================================
# 06-09: saving and loading, MLP vs CNN, transfer learning, hackathon 1
# Every check three ways: the reference solution passes, the release stub fails, a typical
# mistake fails with its hint.
# ============================================================================================
# (np, pytest, torch, nn and `checks` are imported at the top of this file)


def _stub(*args, **kwargs):
    raise NotImplementedError()


# --- 06 · save and resume ----------------------------------------------------------------

def ref_save_training_state(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def ref_load_training_state(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]


def test_save_resume_reference_passes():
    checks.check_save_resume(ref_save_training_state, ref_load_training_state)
    checks.check_save_resume(ref_save_training_state, ref_load_training_state, hidden=True)


def test_save_resume_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_save_resume(_stub, ref_load_training_state)
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_save_resume(ref_save_training_state, _stub)


def test_save_resume_model_only_fails_with_optimizer_hint():
    def save_model_only(path, model, optimizer, epoch):
        torch.save({"model": model.state_dict(), "epoch": epoch}, path)

    def load_model_only(path, model, optimizer):
        checkpoint = torch.load(path, weights_only=True)
        model.load_state_dict(checkpoint["model"])
        return checkpoint["epoch"]

    with pytest.raises(AssertionError, match=r"optimizer's state .*optimizer\.state_dict\(\)"):
        checks.check_save_resume(save_model_only, load_model_only)


def test_save_resume_pickled_objects_fail():
    def save_objects(path, model, optimizer, epoch):
        torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)

    with pytest.raises(AssertionError, match=r"weights_only=True\): save the state_dicts"):
        checks.check_save_resume(save_objects, ref_load_training_state)


def test_save_resume_parameters_without_buffers_fail_hidden():
    def save_params(path, model, optimizer, epoch):
        params = {n: p.detach() for n, p in model.named_parameters()}
        torch.save({"model": params, "optimizer": optimizer.state_dict(), "epoch": epoch}, path)

    def load_params(path, model, optimizer):
        checkpoint = torch.load(path, weights_only=True)
        model.load_state_dict(checkpoint["model"], strict=False)
        optimizer.load_state_dict(checkpoint["optimizer"])
        return checkpoint["epoch"]

    checks.check_save_resume(save_params, load_params)  # no BatchNorm in the public case
    with pytest.raises(AssertionError, match="buffers"):
        checks.check_save_resume(save_params, load_params, hidden=True)


def test_save_resume_wrong_epoch_fails():
    def load_next_epoch(path, model, optimizer):
        return ref_load_training_state(path, model, optimizer) + 1

    with pytest.raises(AssertionError, match="return the epoch stored"):
        checks.check_save_resume(ref_save_training_state, load_next_epoch)


# --- 06 · load what matches ------------------------------------------------------------------

def ref_load_matching(model, state_dict):
    own = model.state_dict()
    keep = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(keep, strict=False)
    return [k for k in state_dict if k not in keep]


def test_load_matching_reference_passes():
    checks.check_load_matching(ref_load_matching)
    checks.check_load_matching(ref_load_matching, hidden=True)


def test_load_matching_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_load_matching(_stub)


def test_load_matching_strict_false_alone_fails_with_hint():
    def strict_false(model, state_dict):
        result = model.load_state_dict(state_dict, strict=False)
        return list(result.unexpected_keys)

    with pytest.raises(AssertionError, match="strict=False only forgives missing"):
        checks.check_load_matching(strict_false)


def test_load_matching_filtered_but_strict_fails_with_hint():
    def strict_filtered(model, state_dict):
        own = model.state_dict()
        keep = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
        model.load_state_dict(keep)
        return [k for k in state_dict if k not in keep]

    with pytest.raises(AssertionError, match="load it with strict=False"):
        checks.check_load_matching(strict_filtered)


def test_load_matching_returning_loaded_names_fails():
    def returns_loaded(model, state_dict):
        own = model.state_dict()
        keep = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
        model.load_state_dict(keep, strict=False)
        return list(keep)

    with pytest.raises(AssertionError, match="WERE loaded"):
        checks.check_load_matching(returns_loaded)


def test_load_matching_editing_the_callers_dict_fails():
    def deletes(model, state_dict):
        own = model.state_dict()
        skipped = [k for k, v in state_dict.items() if k not in own or v.shape != own[k].shape]
        for k in skipped:
            del state_dict[k]
        model.load_state_dict(state_dict, strict=False)
        return skipped

    with pytest.raises(AssertionError, match="changed the state_dict it was given"):
        checks.check_load_matching(deletes)


# --- 07 · count parameters, conv output size ---------------------------------------------------

def ref_count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def ref_conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def test_count_parameters_reference_passes():
    checks.check_count_parameters(ref_count_parameters)
    checks.check_count_parameters(ref_count_parameters, hidden=True)


def test_count_parameters_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_count_parameters(_stub)


@pytest.mark.parametrize("wrong, hint", [
    (lambda m: len(list(m.parameters())), "counted parameter TENSORS"),
    (lambda m: sum(p.numel() for n, p in m.named_parameters() if n.endswith("weight")), "biases are missing"),
])
def test_count_parameters_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_count_parameters(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda m: sum(p.numel() for p in m.parameters()), "frozen parameters"),
    (lambda m: sum(t.numel() for t in m.state_dict().values()), "buffers"),
])
def test_count_parameters_hidden_mistakes(wrong, hint):
    checks.check_count_parameters(wrong)  # the public models have no frozen layers and no buffers
    with pytest.raises(AssertionError, match=hint):
        checks.check_count_parameters(wrong, hidden=True)


def test_conv_output_size_reference_passes():
    checks.check_conv_output_size(ref_conv_output_size)
    checks.check_conv_output_size(ref_conv_output_size, hidden=True)


def test_conv_output_size_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_conv_output_size(_stub)


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1, "round DOWN"),
    (lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1, "BOTH sides"),
])
def test_conv_output_size_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_conv_output_size(wrong)


def test_conv_output_size_without_dilation_fails_hidden():
    def no_dilation(n, k, s=1, p=0, d=1):
        return (n + 2 * p - k) // s + 1

    checks.check_conv_output_size(no_dilation)
    with pytest.raises(AssertionError, match="dilation spreads the kernel"):
        checks.check_conv_output_size(no_dilation, hidden=True)


# --- 08 · transfer learning -------------------------------------------------------------------

def ref_transfer_model(backbone, num_features, num_classes):
    for p in backbone.parameters():
        p.requires_grad_(False)
    head = nn.Linear(num_features, num_classes)
    return nn.Sequential(backbone, head), list(head.parameters())


def test_transfer_model_reference_passes():
    checks.check_transfer_model(ref_transfer_model)
    checks.check_transfer_model(ref_transfer_model, hidden=True)


def test_transfer_model_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_transfer_model(_stub)


def test_transfer_model_not_frozen_fails_with_requires_grad_hint():
    def not_frozen(backbone, num_features, num_classes):
        head = nn.Linear(num_features, num_classes)
        return nn.Sequential(backbone, head), list(head.parameters())

    with pytest.raises(AssertionError, match="requires_grad=True"):
        checks.check_transfer_model(not_frozen)


def test_transfer_model_all_parameters_to_optimizer_fails():
    def all_params(backbone, num_features, num_classes):
        for p in backbone.parameters():
            p.requires_grad_(False)
        model = nn.Sequential(backbone, nn.Linear(num_features, num_classes))
        return model, list(model.parameters())

    with pytest.raises(AssertionError, match="ONLY the new head's parameters"):
        checks.check_transfer_model(all_params)


def test_transfer_model_new_backbone_fails():
    def new_net(backbone, num_features, num_classes):
        head = nn.Linear(num_features, num_classes)
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_features), head), list(head.parameters())

    with pytest.raises(AssertionError, match="does not contain the backbone"):
        checks.check_transfer_model(new_net)


# --- 09 · log loss, submission ---------------------------------------------------------------

def ref_multiclass_log_loss(y_true, probs, eps=1e-15):
    p = np.clip(np.asarray(probs, dtype=np.float64), eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    y = np.asarray(y_true, dtype=int)
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def test_log_loss_reference_passes():
    checks.check_multiclass_log_loss(ref_multiclass_log_loss)
    checks.check_multiclass_log_loss(ref_multiclass_log_loss, hidden=True)


def test_log_loss_matches_scikit_learn():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(9), size=50)
    y = rng.integers(0, 9, size=50)
    assert np.isclose(ref_multiclass_log_loss(y, p), log_loss(y, p, labels=range(9)))


def test_log_loss_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_multiclass_log_loss(_stub)


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
    return ref_multiclass_log_loss(y, p, eps) * len(y)


@pytest.mark.parametrize("wrong, hint", [
    (_no_clip, "Clip first"), (_log2, "natural logarithm"), (_no_renormalise, "not renormalised"),
    (_summed, "MEAN over the rows"),
])
def test_log_loss_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_multiclass_log_loss(wrong)


def ref_validate_submission(submission, test_ids, classes):
    expected = ["id", *classes]
    if list(submission.columns) != expected:
        raise ValueError(f"columns must be {expected}, got {list(submission.columns)}")
    ids = submission["id"]
    if ids.duplicated().any():
        raise ValueError(f"duplicated ids, e.g. {ids[ids.duplicated()].iloc[0]}")
    if set(ids) != set(test_ids):
        missing, unknown = set(test_ids) - set(ids), set(ids) - set(test_ids)
        raise ValueError(f"{len(missing)} test ids missing, {len(unknown)} unknown ids")
    probs = submission[list(classes)].to_numpy(dtype=float)
    if not np.isfinite(probs).all():
        raise ValueError("probabilities contain NaN or inf")
    if (probs < 0).any() or (probs > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("every row's probabilities must sum to 1")


def test_validate_submission_reference_passes():
    checks.check_validate_submission(ref_validate_submission)
    checks.check_validate_submission(ref_validate_submission, hidden=True)


def test_validate_submission_stub_fails():
    with pytest.raises(AssertionError, match="not answered"):
        checks.check_validate_submission(_stub)


def test_validate_submission_length_only_fails_with_duplicate_hint():
    def length_only(submission, test_ids, classes):
        if list(submission.columns) != ["id", *classes]:
            raise ValueError("columns")
        if len(submission) != len(test_ids):
            raise ValueError("wrong number of rows")
        probs = submission[list(classes)].to_numpy(dtype=float)
        if not np.isfinite(probs).all() or (probs < 0).any() or not np.allclose(probs.sum(1), 1):
            raise ValueError("probabilities")

    with pytest.raises(AssertionError, match="appears twice and another is missing"):
        checks.check_validate_submission(length_only)


def test_validate_submission_exact_sum_fails_with_tolerance_hint():
    def exact(submission, test_ids, classes):
        ref_validate_submission(submission, test_ids, classes)
        if (submission[list(classes)].sum(axis=1) != 1.0).any():
            raise ValueError("rows must sum to 1")

    with pytest.raises(AssertionError, match="compare with a tolerance"):
        checks.check_validate_submission(exact)


def test_validate_submission_sums_without_range_check_fails():
    def no_range(submission, test_ids, classes):
        expected = ["id", *classes]
        if list(submission.columns) != expected or submission["id"].duplicated().any() or \
                set(submission["id"]) != set(test_ids):
            raise ValueError("ids or columns")
        probs = submission[list(classes)].to_numpy(dtype=float)
        if not np.allclose(probs.sum(axis=1), 1.0):
            raise ValueError("sums")

    with pytest.raises(AssertionError, match=r"NaN|below 0"):
        checks.check_validate_submission(no_range)


def test_validate_submission_assert_instead_of_value_error_fails():
    def asserts(submission, test_ids, classes):
        try:
            ref_validate_submission(submission, test_ids, classes)
        except ValueError as err:
            raise AssertionError(str(err)) from None

    with pytest.raises(AssertionError, match="raise ValueError"):
        checks.check_validate_submission(asserts)
