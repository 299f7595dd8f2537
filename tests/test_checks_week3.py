"""Week 3's graded checks, three ways each through the shared harness (tests/checks_harness.py): the
notebooks' own solution cells pass (public and hidden cases), the released stubs fail as "not
answered", typical wrong answers fail with their hint (those only the hidden cases can catch pass the
public ones), and other right answers pass.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from checks_harness import Right, Week, Wrong, make_tests
from helpers import scratch
from helpers.checks import week3 as checks

CHECKS = {
    "check_conv_forward": ("01", ["conv_forward"]),
    "check_conv_backward": ("01", ["conv_forward", "conv_backward"]),
    "check_max_pool_forward": ("01", ["max_pool_forward"]),
    "check_max_pool_backward": ("01", ["max_pool_forward", "max_pool_backward"]),
    "check_avg_pool_forward": ("01", ["avg_pool_forward"]),
    "check_avg_pool_backward": ("01", ["avg_pool_forward", "avg_pool_backward"]),
    "check_convnet_loss": ("01", ["convnet_loss"]),
    "check_sobel_kernels": ("02", ["sobel_kernels"]),
    "check_apply_filter": ("02", ["apply_filter"]),
    "check_kernel_effect": ("02", ["kernel_effect"]),
    "check_activation_maps": ("03", ["activation_maps"]),
    "check_mnist_mlp": ("04", ["MnistMLP"]),
    "check_early_stopping_epochs": ("04", ["early_stopping_epochs"]),
    "check_cifar_cnn": ("05", ["CifarCNN"]),
    "check_label_smoothing": ("05", ["label_smoothing_cross_entropy"]),
    "check_conv_output_size": ("06", ["conv_output_size"]),
    "check_lenet5": ("06", ["ModifiedLeNet5"]),
}
WEEK = Week("week3", checks, CHECKS, base={"np": np, "torch": torch, "nn": nn, "F": F, "scratch": scratch})


def ref(fn_name):
    for ns in WEEK.reference.values():
        if fn_name in ns and callable(ns[fn_name]):
            return ns[fn_name]
    raise KeyError(fn_name)


# ---------------------------------------------------------------- 01 convolution

def _conv(flip=False, pad_mode="constant", use_pad=True, use_stride=True, scale_start=True, bias=True, tuple_out=True):
    def conv_forward(x, w, b, conv_param):
        s, p = conv_param["stride"], conv_param["pad"]
        s_size = s if use_stride else 1
        s_start = s_size if scale_start else 1
        p = p if use_pad else 0
        k = w[:, :, ::-1, ::-1] if flip else w
        n, _, h, wd = x.shape
        nf, _, hh, ww = w.shape
        h_out, w_out = (h + 2 * p - hh) // s_size + 1, (wd + 2 * p - ww) // s_size + 1
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=pad_mode)
        out = np.zeros((n, nf, h_out, w_out))
        for i in range(n):
            for f in range(nf):
                for r in range(h_out):
                    for c in range(w_out):
                        field = xp[i, :, r * s_start:r * s_start + hh, c * s_start:c * s_start + ww]
                        out[i, f, r, c] = np.sum(field * k[f]) + (b[f] if bias else 0)
        return (out, (x, w, b, conv_param)) if tuple_out else out
    return conv_forward


def _conv_in_place(x, w, b, conv_param):
    out = ref("conv_forward")(x, w, b, conv_param)
    x[...] = 0
    return out


def _conv_back(flip=False, add_dx=True, add_dw=True, crop="right", step_scaled=True, dw_scale=1.0, db="sum",
               dw_transposed=False):
    def conv_backward(dout, cache):
        x, w, b, conv_param = cache
        s, p = conv_param["stride"], conv_param["pad"]
        step = s if step_scaled else 1
        n, nf, h_out, w_out = dout.shape
        hh, ww = w.shape[2:]
        k = w[:, :, ::-1, ::-1] if flip else w
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for i in range(n):
            for f in range(nf):
                for r in range(h_out):
                    for c in range(w_out):
                        g = dout[i, f, r, c]
                        region = (i, slice(None), slice(r * step, r * step + hh), slice(c * step, c * step + ww))
                        if add_dx:
                            dxp[region] += g * k[f]
                        else:
                            dxp[region] = g * k[f]
                        if add_dw:
                            dw[f] += g * xp[region]
                        else:
                            dw[f] = g * xp[region]
        dx = {"right": dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], "none": dxp,
              "minus": dxp[:, :, p:-p, p:-p]}[crop]
        dbv = {"sum": dout.sum(axis=(0, 2, 3)), "mean": dout.mean(axis=(0, 2, 3)), "no batch": dout.sum(axis=(2, 3))}[db]
        if dw_transposed:
            dw = dw.transpose(0, 1, 3, 2)
        return dx, dw * dw_scale, dbv
    return conv_backward


def _conv_back_over_n(dout, cache):
    dx, dw, db = ref("conv_backward")(dout, cache)
    return dx, dw / dout.shape[0], db


def _conv_vectorised(x, w, b, conv_param, dtype=np.float64):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))).astype(dtype)
    fields = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
    return np.einsum("nchwij,fcij->nfhw", fields, w.astype(dtype)) + b[None, :, None, None].astype(dtype), (x, w, b, conv_param)


def _conv_float32(x, w, b, conv_param):
    return _conv_vectorised(x, w, b, conv_param, np.float32)


def _conv_torch(x, w, b, conv_param):
    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=conv_param["stride"],
                   padding=conv_param["pad"])
    return out.numpy(), (x, w, b, conv_param)


def _conv_reference(x, w, b, conv_param):
    return _helper(x, w, b, conv_param)


def _helper(*args):
    return scratch.conv_forward_naive(*args)


def _conv_back_autograd(dout, cache):
    x, w, b, conv_param = cache
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.conv2d(xt, wt, bt, stride=conv_param["stride"], padding=conv_param["pad"]).backward(torch.from_numpy(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


# ---------------------------------------------------------------- 01 pooling

def _pool(kind="max", use_stride=True, scale_start=True, stride_is_size=False, swap=False, over_channels=False,
          divide=None):
    def pool_forward(x, pool_param):
        ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        if swap:
            ph, pw = pw, ph
        sh = sw = s if use_stride else 1
        if stride_is_size:
            sh, sw = ph, pw
        start_h, start_w = (sh, sw) if scale_start else (1, 1)
        n, c, h, w = x.shape
        h_out, w_out = (h - ph) // sh + 1, (w - pw) // sw + 1
        out = np.zeros((n, c, h_out, w_out))
        for r in range(h_out):
            for q in range(w_out):
                win = x[:, :, r * start_h:r * start_h + ph, q * start_w:q * start_w + pw]
                if kind == "max":
                    v = win.max(axis=(2, 3))
                    if over_channels:
                        v = np.repeat(v.max(axis=1, keepdims=True), c, axis=1)
                else:
                    v = win.sum(axis=(2, 3)) / (ph * pw if divide is None else divide(ph, pw))
                out[:, :, r, q] = v
        return out, (x, pool_param)
    return pool_forward


def _max_back(mode="argmax", add=True, scale=1.0):
    def max_pool_backward(dout, cache):
        x, pool_param = cache
        ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        n, c, h_out, w_out = dout.shape
        dx = np.zeros_like(x)
        for i in range(n):
            for k in range(c):
                for r in range(h_out):
                    for q in range(w_out):
                        field = x[i, k, r * s:r * s + ph, q * s:q * s + pw]
                        if mode == "all":
                            mask = np.ones(field.shape, bool)
                        elif mode == "ties":
                            mask = field == field.max()
                        else:
                            mask = np.zeros(field.shape, bool)
                            mask[np.unravel_index(np.argmax(field), field.shape)] = True
                        region = dx[i, k, r * s:r * s + ph, q * s:q * s + pw]
                        if add:
                            region += mask * dout[i, k, r, q] * scale
                        else:
                            region[mask] = dout[i, k, r, q] * scale
        return dx
    return max_pool_backward


def _avg_back(divide=True, add=True):
    def avg_pool_backward(dout, cache):
        shape, pool_param = cache
        ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        _, _, h_out, w_out = dout.shape
        dx = np.zeros(shape)
        for r in range(h_out):
            for q in range(w_out):
                share = dout[:, :, r:r + 1, q:q + 1] / (ph * pw if divide else 1)
                if add:
                    dx[:, :, r * s:r * s + ph, q * s:q * s + pw] += share
                else:
                    dx[:, :, r * s:r * s + ph, q * s:q * s + pw] = share
        return dx
    return avg_pool_backward


def _max_pool_unfold(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return torch.from_numpy(x).unfold(2, ph, s).unfold(3, pw, s).amax(dim=(-2, -1)).numpy(), (x, pool_param)


def _max_pool_float32(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    fields = np.lib.stride_tricks.sliding_window_view(x.astype(np.float32), (ph, pw), axis=(2, 3))[:, :, ::s, ::s]
    return fields.max(axis=(-2, -1)), (x, pool_param)


# ---------------------------------------------------------------- 02 filters

KX = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _filter(flip=False, pad="same", mode="constant", keep_dtype=False):
    def apply_filter(image, kernel):
        img = np.asarray(image, dtype=float)
        k = kernel[::-1, ::-1] if flip else kernel
        kh, kw = k.shape
        ph, pw = {"same": (kh // 2, kw // 2), "none": (0, 0), "square": (kh // 2, kh // 2)}[pad]
        padded = np.pad(img, ((ph, ph), (pw, pw)), mode=mode)
        out = scratch.conv_forward_fast(padded[None, None], np.ascontiguousarray(k, float)[None, None], np.zeros(1),
                                        {"stride": 1, "pad": 0})[0][0, 0]
        return out.astype(image.dtype) if keep_dtype else out
    return apply_filter


def _filter_scratch_loops(image, kernel):
    img = np.asarray(image, dtype=float)
    kh, kw = kernel.shape
    out, _ = scratch.conv_forward_naive(np.pad(img, ((kh // 2,) * 2, (kw // 2,) * 2))[None, None],
                                        np.asarray(kernel, float)[None, None], np.zeros(1), {"stride": 1, "pad": 0})
    return out[0, 0]


def _effect(kind):
    def kernel_effect(kernel):
        if kind == "exact":
            total = np.sum(kernel)
            return "zero" if total == 0 else "keep" if total == 1 else "scale"
        if kind == "abs":
            total = np.abs(kernel).sum()
        elif kind == "mean":
            total = kernel.mean()
        elif kind == "corner":
            kh, kw = kernel.shape
            total = kernel[kh // 2:, kw // 2:].sum()
        elif kind == "loose":
            total = round(float(kernel.sum()), 2)
        elif kind == "bool":
            return bool(np.isclose(kernel.sum(), 1))
        else:
            total = kernel.sum()
        return "zero" if np.isclose(total, 0, atol=1e-9) else "keep" if np.isclose(total, 1) else "scale"
    return kernel_effect


def _effect_flat_image(kernel):
    kh, kw = kernel.shape
    flat = np.full((3 * kh, 3 * kw), 2.0)
    centre = F.conv2d(torch.tensor(flat)[None, None], torch.tensor(np.asarray(kernel, float))[None, None])[0, 0, kh, kw]
    ratio = float(centre) / 2.0
    return "zero" if abs(ratio) < 1e-9 else "keep" if abs(ratio - 1) < 1e-9 else "scale"


# ---------------------------------------------------------------- 03 activation maps

def _hooked(remove="finally", keep="output", lookup="modules", unknown="valueerror", detach=True):
    def activation_maps(model, x, layer_name):
        layers = dict(model.named_modules() if lookup == "modules" else model.named_children())
        if layer_name not in layers:
            if unknown == "keyerror":
                raise KeyError(layer_name)
            if unknown == "none":
                return None
            raise ValueError(f"unknown layer {layer_name!r}; valid: {[n for n in dict(model.named_modules()) if n]}")
        saved = []

        def hook(module, inputs, output):
            value = {"output": output, "input": inputs[0]}.get(keep, output)
            saved.append(value.detach() if detach else value)

        handle = layers[layer_name].register_forward_hook(hook)
        if remove == "finally":
            try:
                final = model(x) if not detach else None
                if detach:
                    with torch.no_grad():
                        final = model(x)
            finally:
                handle.remove()
        else:
            with torch.no_grad():
                final = model(x)
            if remove == "after":
                handle.remove()
        return final.detach() if keep == "final" else saved[0]
    return activation_maps


def _get_submodule(model, x, layer_name):
    try:
        layer = model.get_submodule(layer_name)
    except AttributeError:
        raise ValueError(f"no layer {layer_name!r} among {[n for n, _ in model.named_modules() if n]}") from None
    out = {}
    handle = layer.register_forward_hook(lambda m, i, o: out.update(value=o))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return out["value"]



# ---------------------------------------------------------------- 04 the classic MLP, early stopping

def _mlp(dropout="hidden", act=nn.ReLU, softmax=False, check_shape=True, fixed_hidden=None, bias=True, out_relu=False):
    class MnistMLP(nn.Module):
        def __init__(self, hidden=512, p_drop=0.2):
            super().__init__()
            h = fixed_hidden or hidden
            drop = (lambda: nn.Dropout(p_drop)) if dropout == "hidden" else nn.Identity
            self.net = nn.Sequential(nn.Linear(784, h, bias=bias), act(), drop(), nn.Linear(h, h), act(),
                                     nn.Dropout(p_drop) if dropout == "second only" else drop(), nn.Linear(h, 10),
                                     *([nn.Dropout(p_drop)] if dropout == "logits" else []), *([nn.ReLU()] if out_relu else []))

        def forward(self, x):
            if check_shape == "4d-only":
                if x.dim() not in (2, 4) or (x.dim() == 2 and x.shape[1] != 784):
                    raise ValueError(f"expected (N, 1, 28, 28) or (N, 784), got {tuple(x.shape)}")
            elif check_shape is True and not ((x.dim() == 4 and tuple(x.shape[1:]) == (1, 28, 28))
                                      or (x.dim() == 2 and x.shape[1] == 784)):
                raise ValueError(f"expected (N, 1, 28, 28) or (N, 784), got {tuple(x.shape)}")
            out = self.net(x.reshape(-1, 784) if check_shape == "reshape" else x.flatten(1))
            return out.softmax(1) if softmax else out
    return MnistMLP


class _MlpFunctional(nn.Module):
    def __init__(self, hidden=512, p_drop=0.2):
        super().__init__()
        self.p, self.fc1, self.fc2, self.out = p_drop, nn.Linear(784, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 10)

    def forward(self, x):
        if not (x.dim() == 4 and tuple(x.shape[1:]) == (1, 28, 28)) and not (x.dim() == 2 and x.shape[1] == 784):
            raise ValueError(f"expected (N, 1, 28, 28) or (N, 784), got {tuple(x.shape)}")
        x = F.dropout(F.relu(self.fc1(x.flatten(1))), self.p, self.training)
        return self.out(F.dropout(F.relu(self.fc2(x)), self.p, self.training))


def _stopping(strict=True, late=False, zero_based=False, best_of_all=False, never=False, check_patience=True):
    def early_stopping_epochs(val_losses, patience):
        if check_patience and patience < 1:
            raise ValueError("patience >= 1")
        best, best_epoch, wait, stop = float("inf"), None, 0, None
        for epoch, loss in enumerate(val_losses, start=0 if zero_based else 1):
            if loss < best or (not strict and loss <= best):
                best, best_epoch, wait = loss, epoch, 0
            else:
                wait += 1
                if (wait > patience if late else wait >= patience) and not never:
                    stop = epoch
                    break
        if best_of_all:
            best_epoch = int(np.argmin(val_losses)) + 1
        return best_epoch, stop
    return early_stopping_epochs


# ---------------------------------------------------------------- 05 CNN, label smoothing

def _cnn(pad=1, dropout=True, fixed_p=None, check_shape=True, softmax=False, functional_dropout=False, side=None,
         block_relu=(True, True, True), one_dropout=False, functional=False):
    class CifarCNN(nn.Module):
        def __init__(self, in_channels=3, num_classes=10, width=16, hidden=500, p_drop=0.25, image_size=32):
            super().__init__()
            self.in_channels, self.image_size, self.p = in_channels, image_size, p_drop
            blocks, c = [], in_channels
            for relu, c_out in zip(block_relu, (width, 2 * width, 4 * width)):
                blocks += [nn.Conv2d(c, c_out, 3, padding=pad), nn.ReLU() if relu else nn.Identity(), nn.MaxPool2d(2)]
                c = c_out
            self.features = nn.Sequential(*blocks)
            s = side if side is not None else image_size // 8
            drop = (lambda: nn.Dropout(fixed_p if fixed_p is not None else p_drop)) if dropout and not functional_dropout \
                else nn.Identity
            self.head = nn.Sequential(nn.Flatten(), nn.Identity() if one_dropout else drop(), nn.Linear(c * s * s, hidden), nn.ReLU(), drop(),
                                      nn.Linear(hidden, num_classes))

        def forward(self, x):
            if check_shape and (x.dim() != 4 or tuple(x.shape[1:]) != (self.in_channels, self.image_size, self.image_size)):
                raise ValueError(f"expected (N, {self.in_channels}, {self.image_size}, {self.image_size})")
            if functional_dropout:
                x = F.dropout(x, self.p)
            if functional:   # the same layers' weights, the parameterless steps as functions
                for conv in self.features[::3]:
                    x = F.max_pool2d(F.relu(conv(x)), 2)
                x = F.dropout(x.flatten(1), self.p, self.training)
                return self.head[-1](F.dropout(F.relu(self.head[2](x)), self.p, self.training))
            out = self.head(self.features(x))
            return out.softmax(1) if softmax else out
    return CifarCNN


def _smooth(mode="right"):
    def label_smoothing_cross_entropy(logits, targets, smoothing):
        if logits.dim() != 2 or targets.dim() != 1 or len(logits) != len(targets):
            raise ValueError("expected logits (N, C) and targets (N,)")
        if mode != "no range" and not 0 <= smoothing < 1:
            raise ValueError("smoothing in [0, 1)")
        c = logits.shape[1]
        logp = logits.softmax(1).log() if mode == "naive" else torch.log_softmax(logits, 1)
        onehot = F.one_hot(targets, c).to(logits.dtype)
        if mode == "other":
            q = (1 - smoothing) * onehot + smoothing / (c - 1) * (1 - onehot)
        elif mode == "ignored":
            q = onehot
        else:
            q = (1 - smoothing) * onehot + smoothing / c
        per = -(q * logp).sum(1)
        if mode == "item":
            return torch.tensor(per.mean().item())
        return per.sum() if mode == "sum" else per.mean()
    return label_smoothing_cross_entropy


# ---------------------------------------------------------------- 06 LeNet-5

def _smooth_library(logits, targets, smoothing):
    return F.cross_entropy(logits, targets, label_smoothing=smoothing)


def _size(plus_one=True, pad_twice=True, stride=True, ceil=False, floats=False, check=True):
    def conv_output_size(size, *, kernel, stride_=None, padding=0, **kw):
        s = kw.get("stride", 1) if stride else 1
        p = 2 * padding if pad_twice else padding
        if check and kernel > size + (0 if check == "unpadded" else 2 * padding):
            raise ValueError("kernel larger than the padded input")
        span = size + p - kernel
        out = (span / s) if floats else (-(-span // s) if ceil else span // s)
        return out + (1 if plus_one else 0)
    return conv_output_size


def _lenet(pad=2, names=("c1", "s2", "c3", "s4", "c5", "f6", "output"), honour_pool=True, honour_act=True,
           softmax=False, f6_act=True, check_shape=True, default_pool="max", check_args=True, dropout=False,
           functional=False):
    from collections import OrderedDict

    class ModifiedLeNet5(nn.Module):
        def __init__(self, pool=default_pool, activation="relu"):
            super().__init__()
            if check_args and pool not in ("max", "avg"):
                raise ValueError("pool must be 'max' or 'avg'")
            pool = pool if honour_pool else "max"
            activation = activation if honour_act else "relu"
            P = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
            A = nn.ReLU if activation == "relu" else nn.Tanh
            self.act = torch.tanh if activation == "tanh" else F.relu
            A = nn.Identity if functional else A
            layers = [nn.Sequential(nn.Conv2d(1, 6, 5, padding=pad), A()), P(2), nn.Sequential(nn.Conv2d(6, 16, 5), A()),
                      P(2), nn.Sequential(nn.Conv2d(16, 120, 5 if pad == 2 else 4), A()),
                      nn.Sequential(nn.Flatten(), nn.Linear(120, 84), *([A()] if f6_act else []),
                                    *([nn.Dropout(0.5)] if dropout else [])), nn.Linear(84, 10)]
            for name, layer in zip(names, layers):
                self.add_module(name, layer)

        def forward(self, x):
            if check_shape and not (x.dim() == 4 and tuple(x.shape[1:]) == (1, 28, 28)):
                raise ValueError(f"expected (N, 1, 28, 28), got {tuple(x.shape)}")
            for name, layer in self.named_children():
                x = layer(x)
                x = self.act(x) if functional and name in ("c1", "c3", "c5", "f6") else x
            return x.softmax(1) if softmax else x
    return ModifiedLeNet5


class _lenet5_sequential(nn.Sequential):
    def __init__(self, pool="max", activation="relu"):
        from collections import OrderedDict

        if pool not in ("max", "avg") or activation not in ("relu", "tanh"):
            raise ValueError("pool must be 'max' or 'avg', activation 'relu' or 'tanh'")
        P, A = (nn.MaxPool2d if pool == "max" else nn.AvgPool2d), (nn.ReLU if activation == "relu" else nn.Tanh)
        super().__init__(OrderedDict(c1=nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), A()), s2=P(2),
                                     c3=nn.Sequential(nn.Conv2d(6, 16, 5), A()), s4=P(2),
                                     c5=nn.Sequential(nn.Conv2d(16, 120, 5), A(), nn.Flatten()),
                                     f6=nn.Sequential(nn.Linear(120, 84), A()), output=nn.Linear(84, 10)))

    def forward(self, x):
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"expected (N, 1, 28, 28), got {tuple(x.shape)}")
        return super().forward(x)



# ---------------------------------------------------------------- 01 the convnet's loss and gradients

def _convnet(reg_grad=1.0, reg_loss=0.5, reg_bias=False, mean=True, grad_mean=True, flatten="chw", masks=(True, True),
             db1_axes=(0, 2, 3), use_layers=True):
    """conv - ReLU - pool - affine - ReLU - affine - softmax CE, the ReLUs and affine layers by hand, slips switchable."""
    scratch_layers = {"conv_forward": scratch.conv_forward_fast, "conv_backward": scratch.conv_backward_fast,
                      "pool_forward": scratch.max_pool_forward, "pool_backward": scratch.max_pool_backward}

    def convnet_loss(params, x, y, reg=0.0, layers=scratch_layers):
        fixed = scratch_layers if not use_layers else layers
        conv_f, conv_b = fixed["conv_forward"], fixed["conv_backward"]
        w1, b1, w2, b2, w3, b3 = params
        n = len(x)
        a1, c1 = conv_f(x, w1, b1, {"stride": 1, "pad": (w1.shape[2] - 1) // 2})
        r1 = np.maximum(a1, 0)
        p1, cp = fixed["pool_forward"](r1, {"pool_height": 2, "pool_width": 2, "stride": 2})
        flat = p1.reshape(n, -1) if flatten == "chw" else p1.transpose(0, 2, 3, 1).reshape(n, -1)
        a2 = flat @ w2 + b2
        r2 = np.maximum(a2, 0)
        scores = r2 @ w3 + b3
        loss, ds = scratch.softmax_cross_entropy(scores, y)
        if not mean:
            loss, ds = loss * n, ds * n
        elif not grad_mean:
            ds = ds * n
        penalised = (w1, b1, w2, b2, w3, b3) if reg_bias else (w1, w2, w3)
        loss += reg_loss * reg * sum(np.sum(w * w) for w in penalised)
        dw3, db3, dr2 = r2.T @ ds, ds.sum(axis=0), ds @ w3.T
        da2 = dr2 * (a2 > 0) if masks[1] else dr2
        dw2, db2, dflat = flat.T @ da2, da2.sum(axis=0), da2 @ w2.T
        if flatten == "chw":
            dp1 = dflat.reshape(p1.shape)
        else:
            dp1 = dflat.reshape(n, p1.shape[2], p1.shape[3], p1.shape[1]).transpose(0, 3, 1, 2)
        dr1 = fixed["pool_backward"](dp1, cp)
        da1 = dr1 * (a1 > 0) if masks[0] else dr1
        _, dw1, _ = conv_b(da1, c1)
        db1 = da1.sum(axis=db1_axes)
        g = reg_grad * reg
        grads = [dw1 + g * w1, db1, dw2 + g * w2, db2, dw3 + g * w3, db3]
        if reg_bias:
            grads[1], grads[3], grads[5] = db1 + g * b1, db2 + g * b2, db3 + g * b3
        return loss, tuple(grads)
    return convnet_loss


def _avg_pool_from_the_checks(x, pool_param):
    """The average pooling the convnet check passes as ``layers=`` (PyTorch's, in the layer contract), taken from the
    checks as the answer."""
    from helpers.checks import records

    return records.avg_pool_torch(x, pool_param)


def _convnet_torch_answer(params, x, y, reg=0.0, layers={}):
    import torch.nn.functional as F
    p = [torch.tensor(a, requires_grad=True) for a in params]
    h = F.max_pool2d(F.relu(F.conv2d(torch.tensor(x), p[0], p[1], padding=1)), 2).flatten(1)
    loss = F.cross_entropy(F.relu(h @ p[2] + p[3]) @ p[4] + p[5], torch.tensor(y))
    loss.backward()
    return loss.item(), tuple(t.grad.numpy() for t in p)


WRONG = [
    Wrong("check_conv_forward", _conv(flip=True), "flipped"),
    Wrong("check_conv_forward", _conv(use_pad=False), "not padded"),
    Wrong("check_conv_forward", _conv(pad_mode="edge"), "pad with zeros"),
    Wrong("check_conv_forward", _conv(use_stride=False), "stride is ignored"),
    Wrong("check_conv_forward", _conv(scale_start=False), r"must start at\s+\(r \* stride"),
    Wrong("check_conv_forward", _conv(bias=False), "add the bias"),
    Wrong("check_conv_forward", _conv(tuple_out=False), r"should return a tuple \(out, cache\)"),
    Wrong("check_conv_forward", _conv_in_place, "changed `x` in place"),
    Wrong("check_conv_backward", _conv_back(flip=True), "flipped kernel"),
    Wrong("check_conv_backward", _conv_back(add_dx=False), r"ADD each output's contribution into dx"),
    Wrong("check_conv_backward", _conv_back(crop="none"), "cut the `pad` padded rows"),
    Wrong("check_conv_backward", _conv_back(crop="minus"), "EMPTY", public_passes=True),
    Wrong("check_conv_backward", _conv_back(step_scaled=False), r"\(r \* stride, c \* stride\)"),
    Wrong("check_conv_backward", _conv_back(add_dw=False), r"dw\[f\] collects a contribution"),
    Wrong("check_conv_backward", _conv_back_over_n, "no 1/N in dw"),
    Wrong("check_conv_backward", _conv_back(db="mean"), "SUMS dout"),
    Wrong("check_conv_backward", _conv_back(db="no batch"), r"shape \(F,\)"),
    Wrong("check_conv_backward", _conv_back(dw_transposed=True), "transposed"),
    Wrong("check_max_pool_forward", _pool(use_stride=False), "stride is ignored"),
    Wrong("check_max_pool_forward", _pool(stride_is_size=True), "not the window size", public_passes=True),
    Wrong("check_max_pool_forward", _pool(scale_start=False), r"starts at \(r \* stride"),
    Wrong("check_max_pool_forward", _pool(swap=True), "swapped", public_passes=True),
    Wrong("check_max_pool_forward", _pool(kind="avg"), "average pooling"),
    Wrong("check_max_pool_forward", _pool(over_channels=True), "each channel on its own"),
    Wrong("check_max_pool_backward", _max_back(mode="all"), "only the maximum of each window"),
    Wrong("check_max_pool_backward", _max_back(mode="ties"), "tie", public_passes=True),
    Wrong("check_max_pool_backward", _max_back(add=False), "windows overlap", public_passes=True),
    Wrong("check_max_pool_backward", _max_back(scale=0.25), "no division by the window size"),
    Wrong("check_avg_pool_forward", _pool(kind="avg", divide=lambda ph, pw: 1), "divide each window's sum"),
    Wrong("check_avg_pool_forward", _pool(kind="max"), "this is max pooling"),
    Wrong("check_avg_pool_forward", _avg_pool_from_the_checks, "the checks' helpers"),
    Wrong("check_avg_pool_forward", _pool(kind="avg", use_stride=False), "stride is ignored"),
    Wrong("check_avg_pool_forward", _pool(kind="avg", divide=lambda ph, pw: ph * ph),
          r"pool_height \* pool_width numbers", public_passes=True),
    Wrong("check_avg_pool_backward", _avg_back(divide=False), "divide the gradient by the window size"),
    Wrong("check_avg_pool_backward", _avg_back(add=False), "windows overlap", public_passes=True),
    Wrong("check_sobel_kernels", lambda: (KX.T, KX), "swapped"),
    Wrong("check_sobel_kernels", lambda: (-KX, -KX.T), "sign is flipped"),
    Wrong("check_sobel_kernels", lambda: (np.sign(KX), np.sign(KX.T)), "Prewitt"),
    Wrong("check_sobel_kernels", lambda: (KX / 4, KX.T / 4), "integer weights"),
    Wrong("check_sobel_kernels", lambda: KX, r"should return a tuple \(kx, ky\)"),
    Wrong("check_sobel_kernels", lambda: (KX[:2], KX.T), r"kx \(sobel_kernels\(\)\) has shape \(2, 3\), expected \(3, 3\)"),
    Wrong("check_apply_filter", _filter(pad="none"), "no padding"),
    Wrong("check_apply_filter", _filter(flip=True), "flipped"),
    Wrong("check_apply_filter", _filter(pad="square"), "not square", public_passes=True),
    Wrong("check_apply_filter", _filter(mode="edge"), "copies of the edge pixels"),
    Wrong("check_apply_filter", _filter(keep_dtype=True), "convert the image to float", public_passes=True),
    Wrong("check_kernel_effect", _effect("exact"), "floating-point"),
    Wrong("check_kernel_effect", _effect("abs"), "SIGNED"),
    Wrong("check_kernel_effect", _effect("mean"), "not its mean"),
    Wrong("check_kernel_effect", _effect("corner"), "border pixel"),
    Wrong("check_kernel_effect", _effect("bool"), "should return one of"),
    Wrong("check_activation_maps", _hooked(remove="never"), "still registered"),
    Wrong("check_activation_maps", _hooked(remove="after"), "finally", public_passes=True),
    Wrong("check_activation_maps", _hooked(keep="input"), "INPUT"),
    Wrong("check_activation_maps", _hooked(keep="final"), "final output"),
    Wrong("check_activation_maps", _hooked(lookup="children"), r"named_modules\(\)"),
    Wrong("check_activation_maps", _hooked(unknown="keyerror"), "lists the valid names"),
    Wrong("check_activation_maps", _hooked(unknown="none"), "returned a value"),
    Wrong("check_activation_maps", _hooked(detach=False), "detached"),

    Wrong("check_mnist_mlp", _mlp(dropout="none"), "no dropout"),
    Wrong("check_mnist_mlp", _mlp(dropout="second only"), "the first hidden layer has no dropout"),
    Wrong("check_mnist_mlp", _mlp(act=nn.ReLU, out_relu=True), "a ReLU after the output layer"),
    Wrong("check_mnist_mlp", _mlp(dropout="logits"), "dropout is applied to the logits"),
    Wrong("check_mnist_mlp", _mlp(softmax=True), "probabilities"),
    Wrong("check_mnist_mlp", _mlp(act=nn.Identity), "no ReLU"),
    Wrong("check_mnist_mlp", _mlp(act=nn.Sigmoid), "sigmoid instead of ReLU"),
    Wrong("check_mnist_mlp", _mlp(check_shape="reshape"), "accepted one image"),
    Wrong("check_mnist_mlp", _mlp(check_shape="4d-only"), "not a ValueError", public_passes=True),
    Wrong("check_mnist_mlp", _mlp(fixed_hidden=512), "MnistMLP\\(hidden=64", public_passes=True),
    Wrong("check_mnist_mlp", _mlp(bias=False), "expected 669,706"),
    Wrong("check_early_stopping_epochs", _stopping(strict=False), "a tie is not an improvement", public_passes=True),
    Wrong("check_early_stopping_epochs", _stopping(late=True), "one epoch late"),
    Wrong("check_early_stopping_epochs", _stopping(zero_based=True), "count from 1"),
    Wrong("check_early_stopping_epochs", _stopping(best_of_all=True), "TRAINED"),
    Wrong("check_early_stopping_epochs", _stopping(never=True), "should stop here"),
    Wrong("check_early_stopping_epochs", _stopping(check_patience=False), "patience >= 1", public_passes=True),
    Wrong("check_cifar_cnn", _cnn(pad=0), "RuntimeError"),
    Wrong("check_cifar_cnn", _cnn(dropout=False), "needs nn.Dropout"),
    Wrong("check_cifar_cnn", _cnn(fixed_p=0.5), "using the p_drop argument"),
    Wrong("check_cifar_cnn", _cnn(functional_dropout=True), "two forward passes"),
    Wrong("check_cifar_cnn", _cnn(block_relu=(True, False, True)), "block 2 has no ReLU"),
    Wrong("check_cifar_cnn", _cnn(one_dropout=True), "before the first Linear layer too"),
    Wrong("check_cifar_cnn", _cnn(softmax=True), "probabilities"),
    Wrong("check_cifar_cnn", _cnn(check_shape=False), "accepted|not a ValueError"),
    Wrong("check_cifar_cnn", _cnn(side=4), "CifarCNN\\(\\{"),
    Wrong("check_label_smoothing", _smooth("ignored"), "smoothing is ignored"),
    Wrong("check_label_smoothing", _smooth("other"), r"e / \(C - 1\)"),
    Wrong("check_label_smoothing", _smooth("sum"), "MEAN over the batch"),
    Wrong("check_label_smoothing", _smooth("naive"), "NaN or inf", public_passes=True),
    Wrong("check_label_smoothing", _smooth_library, "write the loss from log_softmax yourself"),
    Wrong("check_label_smoothing", _smooth("item"), "returned a loss with no gradient"),
    Wrong("check_label_smoothing", _smooth("no range"), "smoothing 1.5", public_passes=True),
    Wrong("check_conv_output_size", _size(plus_one=False), r"forgot the \+ 1"),
    Wrong("check_conv_output_size", _size(pad_twice=False), "BOTH sides"),
    Wrong("check_conv_output_size", _size(stride=False), "stride is ignored"),
    Wrong("check_conv_output_size", _size(ceil=True), r"round down", public_passes=True),
    Wrong("check_conv_output_size", _size(floats=True), "should be an int"),
    Wrong("check_conv_output_size", _size(check=False), "should raise a ValueError"),
    Wrong("check_lenet5", _lenet(pad=0), "pad C1 by 2"),
    Wrong("check_lenet5", _lenet(names=("conv1", "pool1", "conv2", "pool2", "conv3", "fc1", "fc2")), "no layer named"),
    Wrong("check_lenet5", _lenet(honour_pool=False), "should use AvgPool2d"),
    Wrong("check_lenet5", _lenet(honour_act=False), "should use nn.Tanh"),
    Wrong("check_lenet5", _lenet(softmax=True), "probabilities"),
    Wrong("check_lenet5", _lenet(f6_act=False), "F6 needs its activation"),
    Wrong("check_lenet5", _lenet(check_shape=False), "not a ValueError"),
    Wrong("check_lenet5", _lenet(default_pool="avg"), "the defaults are the modified network"),
    Wrong("check_lenet5", _lenet(check_args=False), "pool='min'", public_passes=True),
    Wrong("check_lenet5", _lenet(dropout=True), "has no dropout"),
    # from-scratch exercises: forbidden calls, read from the answer's source (helpers followed)
    Wrong("check_conv_forward", _conv_torch, "uses F.conv2d: write it with NumPy"),
    Wrong("check_conv_forward", _conv_reference, r"uses scratch.conv_forward_naive: helpers.scratch is the course's"),
    Wrong("check_conv_backward", {"conv_forward": _conv_float32, "conv_backward": _conv_back_autograd},
          r"uses (\.backward|torch\.tensor): "),
    Wrong("check_max_pool_forward", _max_pool_unfold, "uses torch.from_numpy"),
    Wrong("check_conv_output_size", _size(check="unpadded"), "raise only when kernel > size", public_passes=True),
    Wrong("check_kernel_effect", _effect("loose"), "returned 'keep', expected 'scale'", public_passes=True),
    Wrong("check_convnet_loss", _convnet(reg_grad=0.0), "gradient is missing"),
    Wrong("check_convnet_loss", _convnet(reg_grad=2.0, reg_loss=1.0), r"0\.5 \* reg"),
    Wrong("check_convnet_loss", _convnet(reg_grad=0.5), r"not 0\.5 \* reg \* w"),
    Wrong("check_convnet_loss", _convnet(reg_bias=True), "not the biases"),
    Wrong("check_convnet_loss", _convnet(mean=False), "average the cross-entropy"),
    Wrong("check_convnet_loss", _convnet(grad_mean=False), "dscores / N"),
    Wrong("check_convnet_loss", _convnet(flatten="hwc"), r"\(C, H, W\) order"),
    Wrong("check_convnet_loss", _convnet(masks=(False, True)), "ReLU after the convolution"),
    Wrong("check_convnet_loss", _convnet(masks=(True, False)), "ReLU between the affine layers"),
    Wrong("check_convnet_loss", _convnet(db1_axes=(0,)), r"db1 has one entry per filter"),
    Wrong("check_convnet_loss", _convnet_torch_answer, "compose the NumPy layers"),
    Wrong("check_convnet_loss", _convnet(use_layers=False), "ignores its `layers` argument"),
]

RIGHT = [
    Right("check_conv_forward", _conv_vectorised, "sliding windows and einsum instead of loops"),
    Right("check_conv_forward", _conv_float32, "computed in float32"),
    Right("check_conv_backward", {"conv_forward": _conv_float32}, "the loops' backward on a float32 forward's cache"),
    Right("check_max_pool_forward", _max_pool_float32, "vectorised, float32"),
    Right("check_max_pool_backward", {"max_pool_forward": _max_pool_float32}),
    Right("check_sobel_kernels", lambda: ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])),
          "integer lists and arrays"),
    Right("check_apply_filter", _filter_scratch_loops, "the loops of helpers.scratch"),
    Right("check_kernel_effect", _effect_flat_image, "read off a filtered flat image"),
    Right("check_activation_maps", _get_submodule, "get_submodule, the output kept without detach under no_grad"),
    Right("check_lenet5", _lenet(), "conv blocks as Sequentials, the flatten inside F6"),
    Right("check_lenet5", _lenet(functional=True), "F.relu / torch.tanh in forward instead of activation modules"),
    Right("check_lenet5", _lenet5_sequential, "an nn.Sequential subclass with named children"),
    Right("check_cifar_cnn", _cnn(functional=True), "F.relu, F.max_pool2d and F.dropout(training=self.training)"),
    Right("check_cifar_cnn", _cnn(), "an error message naming the shape without the word 'shape'"),
    Right("check_mnist_mlp", _mlp(), "an nn.Sequential inside, the error naming the shapes"),
    Right("check_mnist_mlp", _MlpFunctional, "F.relu and F.dropout(training=self.training) in forward"),
    Right("check_label_smoothing", _smooth(), "one_hot instead of scatter"),
    Right("check_early_stopping_epochs", _stopping(), "the loop written another way"),
    Right("check_convnet_loss", _convnet(), "im2col layers by default, the ReLUs and affine layers by hand"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


# ---------------------------------------------------------------- the checks' own edge cases

def test_kernel_effect_cases_include_sums_that_are_not_exact():
    """The 'exact comparison' mistake is only caught if some case's float sum misses 0 or 1 by rounding."""
    sums = [float(np.sum(k)) for k in checks._effect_cases(hidden=False)]
    assert any(s != 1.0 and abs(s - 1.0) < 1e-12 for s in sums)


def test_conv_cases_fit_the_scratch_reference():
    """Every hidden case has sizes that divide exactly (helpers.scratch raises otherwise)."""
    for x, w, b, s, p in checks._conv_cases(hidden=True):
        out, _ = scratch.conv_forward_naive(x.numpy(), w.numpy(), b.numpy(), {"stride": s, "pad": p})
        assert np.allclose(out, F.conv2d(x, w, b, stride=s, padding=p).numpy())


def test_activation_check_leaves_the_global_hooks_alone():
    from torch.nn.modules import module as module_mod

    checks.check_activation_maps(ref("activation_maps"), hidden=True)
    assert not module_mod._global_forward_hooks


def test_the_output_size_reference_is_what_the_layers_give():
    for (size,), kw in checks._size_cases(hidden=True):
        x = torch.zeros(1, 1, size, size)
        conv = nn.Conv2d(1, 1, kw["kernel"], kw["stride"], kw["padding"])(x).shape[-1]
        assert checks._conv_size(size, **kw) == conv, (size, kw)
        if kw["padding"] <= kw["kernel"] // 2:                         # what a pooling layer allows
            assert nn.MaxPool2d(kw["kernel"], kw["stride"], kw["padding"])(x).shape[-1] == conv


def test_the_early_stopping_reference_is_the_callback():
    for losses, patience in checks._stop_cases(hidden=True):
        assert checks._stop_reference(losses, patience) == checks._stop_variant(losses, patience), (losses, patience)


def test_the_smoothing_mistakes_are_the_conventions_they_name():
    for _, _, logits, y, e in checks._ls_cases(hidden=True):
        assert torch.allclose(checks._smoothed(logits, y, e), F.cross_entropy(logits, y, label_smoothing=e), atol=1e-6)
        assert torch.allclose(checks._smoothed(logits, y, e, reduce="sum"), len(y) * checks._smoothed(logits, y, e))


def _autograd_convnet(params, x, y, reg, layers):
    """The convnet's loss and gradients by autograd, with the pooling a case asks for: what the record's NumPy
    reference is tied to."""
    p = [torch.tensor(a, requires_grad=True) for a in params]
    h = F.conv2d(torch.tensor(x), p[0], p[1], padding=(p[0].shape[2] - 1) // 2).relu()
    h = (F.avg_pool2d if layers == "avg" else F.max_pool2d)(h, 2).flatten(1)
    loss = (F.cross_entropy((h @ p[2] + p[3]).relu() @ p[4] + p[5], torch.tensor(y))
            + 0.5 * reg * sum((t ** 2).sum() for t in p[::2]))
    loss.backward()
    return loss.item(), [t.grad.numpy() for t in p]


def test_the_convnet_reference_is_autograd_on_every_case():
    from helpers.checks.records import convnet_run

    ex = next(e for e in checks.EXERCISES if e.name == "convnet_loss")
    cases = ex.cases(hidden=True)
    assert {c[4] for c in cases} == {"own", "avg"}
    for case in cases:
        got = convnet_run(ex.reference, *case)
        loss, grads = _autograd_convnet(*case)
        assert got[0] == pytest.approx(loss, rel=1e-12)
        for mine, theirs in zip(got[1:], grads):
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)
