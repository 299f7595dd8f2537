"""Week 3's paper notebooks (07-11): each graded block tested three ways through the shared harness
(tests/checks_harness.py): the notebooks' own solutions pass (public and hidden cases), the released
stubs fail as "not answered", typical wrong blocks fail with the hint naming the mistake (those only
the hidden cases catch pass the public ones), and other right answers pass. Plus: the paper numbers
the checks hold are the ones helpers.models reproduces.
"""
import importlib
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from checks_harness import Right, Week, Wrong, make_tests
from helpers import models, scratch
from helpers.checks import papers as checks

CHECKS = {
    "check_alexnet_layer": ("07", ["alexnet_layer"]),
    "check_crop_and_flip": ("07", ["crop_and_flip"]),
    "check_vgg_features": ("08", ["vgg_features"]),
    "check_inception": ("09", ["Inception"]),
    "check_inception_aux": ("09", ["InceptionAux"]),
    "check_googlenet_loss": ("09", ["googlenet_loss"]),
    "check_separable_conv": ("10", ["SeparableConv2d"]),
    "check_middle_flow_block": ("10", ["MiddleFlowBlock"]),
    "check_basic_block": ("11", ["BasicBlock"]),
    "check_bottleneck": ("11", ["Bottleneck"]),
    "check_zero_pad_shortcut": ("11", ["zero_pad_shortcut"]),
}
WEEK = Week("week3", checks, CHECKS, base={"np": np, "torch": torch, "nn": nn, "F": F, "scratch": scratch},
            alias="papers")


# ---------------------------------------------------------------- 07 AlexNet

def _alexnet(lrn=(5, 1e-4, 0.75, 2.0), pool=(3, 2), groups=True, lrn_first=False, relu=True, default_lrn=False):
    def alexnet_layer(c_in, c_out, *, kernel, stride=1, padding=0, groups=1, lrn=False, pool=False,
                      _cfg=(lrn, pool, groups)):
        lrn_args, pool_args, use_groups = _cfg
        layers = [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups if use_groups else 1)]
        norm = [nn.LocalResponseNorm(5) if default_lrn else nn.LocalResponseNorm(*lrn_args[:1], alpha=lrn_args[1],
                                                                                  beta=lrn_args[2], k=lrn_args[3])] if lrn else []
        act = [nn.ReLU()] if relu else []
        layers += norm + act if lrn_first else act + norm
        if pool:
            layers.append(nn.MaxPool2d(*pool_args))
        return nn.Sequential(*layers)
    return alexnet_layer


def _alexnet_pool_always(c_in, c_out, *, kernel, stride=1, padding=0, groups=1, lrn=False, pool=False):
    return _alexnet()(c_in, c_out, kernel=kernel, stride=stride, padding=padding, groups=groups, lrn=lrn, pool=True)


def _alexnet_functional(c_in, c_out, *, kernel, stride=1, padding=0, groups=1, lrn=False, pool=False):
    """Right: one module with the same layers written in forward."""
    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups)

        def forward(self, x):
            x = F.relu(self.conv(x))
            x = F.local_response_norm(x, 5, alpha=1e-4, beta=0.75, k=2.0) if lrn else x
            return F.max_pool2d(x, 3, 2) if pool else x
    return Layer()


# ---------------------------------------------------------------- 08 VGG

def _vgg(pool=(2, 2), skip_m=False, relu=True, padding=1, bn_after_relu=False, ignore_bn=False):
    def vgg_features(cfg, *, in_channels=3, batch_norm=False):
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                if not skip_m:
                    layers.append(nn.MaxPool2d(*pool))
                continue
            layers.append(nn.Conv2d(c, v, 3, padding=padding))
            bn = [nn.BatchNorm2d(v)] if batch_norm and not ignore_bn else []
            act = [nn.ReLU()] if relu else []
            layers += act + bn if bn_after_relu else bn + act
            c = v
        return nn.Sequential(*layers)
    return vgg_features


# ---------------------------------------------------------------- 09 GoogLeNet

def _inception(reduce=True, k5=5, dim=1, order=(0, 1, 2, 3), pool_stride=1, pool_proj=True):
    class Inception(nn.Module):
        def __init__(self, c_in, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj_):
            super().__init__()

            def conv(i, o, k):
                return nn.Sequential(nn.Conv2d(i, o, k, padding=k // 2), nn.ReLU())
            self.branch1x1 = conv(c_in, n1x1, 1)
            self.branch3x3 = nn.Sequential(conv(c_in, n3x3red, 1), conv(n3x3red, n3x3, 3)) if reduce else conv(c_in, n3x3, 3)
            self.branch5x5 = nn.Sequential(conv(c_in, n5x5red, 1), conv(n5x5red, n5x5, k5)) if reduce else conv(c_in, n5x5, k5)
            pool = nn.MaxPool2d(3, pool_stride, 1)
            self.branch_pool = nn.Sequential(pool, conv(c_in, pool_proj_, 1)) if pool_proj else pool
            self.out_channels = n1x1 + n3x3 + n5x5 + pool_proj_

        def forward(self, x):
            outs = [b(x) for b in (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)]
            return torch.cat([outs[i] for i in order], dim=dim)
    return Inception


class _InceptionListed(nn.Module):
    """Right: the module wrapped inside another (parameters registered one level deeper)."""

    def __init__(self, c_in, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj):
        super().__init__()
        self.inner = _inception()(c_in, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj)
        self.out_channels = self.inner.out_channels

    def forward(self, x):
        return self.inner(x)


def _aux(pool=(5, 3), conv=128, relu=True, p=0.7, fc_in=None):
    class InceptionAux(nn.Module):
        def __init__(self, c_in, num_classes):
            super().__init__()
            act = [nn.ReLU()] if relu else []
            self.pool = nn.AvgPool2d(*pool)
            self.conv = nn.Sequential(nn.Conv2d(c_in, conv, 1), *act)
            side = (14 - pool[0]) // pool[1] + 1
            self.fc = nn.Sequential(nn.Flatten(), nn.Linear(fc_in or conv * side * side, 1024), *act, nn.Dropout(p),
                                    nn.Linear(1024, num_classes))

        def forward(self, x):
            return self.fc(self.conv(self.pool(x)))
    return InceptionAux


# ---------------------------------------------------------------- 10 Xception

def _sep(swapped=False, groups_one=False, bias=False, relu=False, padding=1, wide_depthwise=False):
    class SeparableConv2d(nn.Module):
        def __init__(self, c_in, c_out):
            super().__init__()
            if swapped:
                self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=bias)
                self.depthwise = nn.Conv2d(c_out, c_out, 3, padding=padding, groups=c_out, bias=bias)
            else:
                mid = c_out if wide_depthwise else c_in
                self.depthwise = nn.Conv2d(c_in, mid, 3, padding=padding, groups=1 if groups_one else c_in, bias=bias)
                self.pointwise = nn.Conv2d(mid, c_out, 1, bias=bias)

        def forward(self, x):
            if swapped:
                return self.depthwise(self.pointwise(x))
            x = self.depthwise(x)
            return self.pointwise(F.relu(x) if relu else x)
    return SeparableConv2d


def _middle(skip=True, relu_after=False, bn=True, repeats=3):
    Sep = _sep()

    class MiddleFlowBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            layers = []
            for _ in range(repeats):
                unit = [Sep(channels, channels)] + ([nn.BatchNorm2d(channels)] if bn else [])
                layers += unit + [nn.ReLU()] if relu_after else [nn.ReLU()] + unit
            self.residual = nn.Sequential(*layers)

        def forward(self, x):
            return self.residual(x) + x if skip else self.residual(x)
    return MiddleFlowBlock


# ---------------------------------------------------------------- 11 ResNet

def _block(kind, *, shortcut=True, expansion=None, **variant):
    """A student's block class: the checks' own mistake variants (``checks._Block``) behind the notebook's
    ``(c_in, width, stride=1)`` signature; ``shortcut_first`` registers the shortcut before the body."""
    exp_ = expansion if expansion is not None else (1 if kind == "basic" else 4)

    class Block(checks._Block):
        expansion = exp_

        def __init__(self, c_in, width, stride=1):
            super().__init__(c_in, width, stride, kind, shortcut="B" if shortcut else "none", expansion=exp_, **variant)
    Block.__name__ = "BasicBlock" if kind == "basic" else "Bottleneck"
    return Block


class _ExtraInLastStages(_block("basic")):
    """Right on every case the check builds, one parameter too many where ResNet-18 has 256+ channels."""

    def __init__(self, c_in, width, stride=1):
        super().__init__(c_in, width, stride)
        if c_in >= 256:
            self.extra = torch.nn.Parameter(torch.zeros(1))


# ---------------------------------------------------------------- the reference, train mode, the input, dtypes


# ---------------------------------------------------------------- 09 GoogLeNet: the loss of Section 5
def _heads(outputs):
    return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]


def _loss_averaged(outputs, target, aux_weight=0.3):
    losses = [F.cross_entropy(o, target) for o in _heads(outputs)]
    return sum(losses) / len(losses)


def _loss_all_weighted(outputs, target, aux_weight=0.3):
    return aux_weight * sum(F.cross_entropy(o, target) for o in _heads(outputs))


def _loss_main_only(outputs, target, aux_weight=0.3):
    return F.cross_entropy(_heads(outputs)[0], target)


def _loss_softmax_first(outputs, target, aux_weight=0.3):
    losses = [F.cross_entropy(torch.softmax(o, dim=1), target) for o in _heads(outputs)]
    return losses[0] + aux_weight * sum(losses[1:])


def _loss_main_as_aux_in_eval(outputs, target, aux_weight=0.3):
    logits, aux2, aux1 = outputs if isinstance(outputs, (tuple, list)) else (outputs, outputs, outputs)
    return F.cross_entropy(logits, target) + aux_weight * (F.cross_entropy(aux2, target) + F.cross_entropy(aux1, target))


def _loss_item(outputs, target, aux_weight=0.3):
    """Right values, but a float: the records compare values (the notebook's public assert wants a tensor)."""
    heads = _heads(outputs)
    return float(F.cross_entropy(heads[0], target) + aux_weight * sum(F.cross_entropy(a, target) for a in heads[1:]))


def _loss_log_softmax(outputs, target, aux_weight=0.3):
    """Right: log-softmax + NLL, and the heads unpacked by name."""
    if torch.is_tensor(outputs):
        return F.nll_loss(F.log_softmax(outputs, dim=1), target)
    logits, aux2, aux1 = outputs
    return sum(w * F.nll_loss(F.log_softmax(o, dim=1), target) for w, o in ((1, logits), (aux_weight, aux2), (aux_weight, aux1)))


def _vgg_from_helpers(cfg, *, in_channels=3, batch_norm=False):
    """Wrong: helpers.models' VGG stages (the reference) instead of the loop the exercise is."""
    from helpers.models.vgg import make_stage
    layers, c = [], in_channels
    for i, v in enumerate(cfg):
        stage, c = (nn.MaxPool2d(2, 2), c) if v == "M" else make_stage(i, [f"conv3-{v}"], c, batch_norm)
        layers.append(stage)
    return nn.Sequential(*layers)


class _SepFromHelpers(importlib.import_module("helpers.models.xception").SeparableConv2d):
    """Wrong: the shipped block, subclassed."""


class _BasicFromTorchvision(torchvision.models.resnet.BasicBlock):
    """Wrong: torchvision's block with a downsample built to the notebook's signature."""
    expansion = 1

    def __init__(self, c_in, width, stride=1):
        project = stride != 1 or c_in != width
        super().__init__(c_in, width, stride, downsample=checks._res.conv_bn(c_in, width, 1, stride) if project else None)


def _alexnet_dropout(c_in, c_out, **kw):
    """Wrong: a dropout after the ReLU (the same output in eval mode)."""
    layer = _alexnet()(c_in, c_out, **kw)
    layer.insert(2, nn.Dropout(0.5))
    return layer


class _BasicEvalInside(_block("basic")):
    """Wrong: switches itself to eval mode, so BatchNorm never uses the batch's statistics."""

    def forward(self, x):
        self.eval()
        return super().forward(x)


class _BasicAddsInPlace(_block("basic")):
    """Wrong: out = shortcut(x); out += body(x): with the identity shortcut that is x, changed in place."""

    def forward(self, x):
        out = self.shortcut(x)
        out += self.body(x)
        return F.relu(out)


def _middle_keras_momentum(channels):
    """Wrong: Keras's BatchNorm momentum 0.99 (PyTorch's 0.1 is 1 - Keras's)."""
    block = _middle()(channels)
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.99
    return block


class _InceptionPreallocated(_inception()):
    """Right: fills a preallocated output (torch's default dtype, float32)."""

    def forward(self, x):
        out = torch.empty(x.shape[0], self.out_channels, *x.shape[2:])
        out[:] = torch.cat([b(x) for b in (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)], 1)
        return out


class _AuxFunctional(nn.Module):
    """Right: F.dropout(training=self.training) in forward, layers registered out of order."""

    def __init__(self, c_in, num_classes):
        super().__init__()
        self.fc2, self.conv, self.fc1 = nn.Linear(1024, num_classes), nn.Conv2d(c_in, 128, 1), nn.Linear(2048, 1024)

    def forward(self, x):
        x = F.relu(self.fc1(torch.flatten(F.relu(self.conv(F.avg_pool2d(x, 5, 3))), 1)))
        return self.fc2(F.dropout(x, 0.7, self.training))


class _SepRawParameters(nn.Module):
    """Right: raw nn.Parameters (pointwise first) and F.conv2d."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.pw, self.dw = nn.Parameter(torch.randn(c_out, c_in, 1, 1)), nn.Parameter(torch.randn(c_in, 1, 3, 3))

    def forward(self, x):
        return F.conv2d(F.conv2d(x, self.dw, padding=1, groups=self.dw.shape[0]), self.pw)


class _MiddleBatchNormsFirst(nn.Module):
    """Right: the BatchNorms registered before the convolutions, F.relu (in place on fresh tensors)."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.ModuleList(nn.BatchNorm2d(c) for _ in range(3))
        self.sep = nn.ModuleList(_sep()(c, c) for _ in range(3))

    def forward(self, x):
        out = x
        for i in range(3):
            out = self.bn[i](self.sep[i](F.relu(out, inplace=i > 0)))
        return out + x


class _VggSequential(nn.Sequential):
    """Right: an nn.Sequential subclass with its own __init__ and the paper's layer names."""

    def __init__(self, cfg, *, in_channels=3, batch_norm=False):
        layers, c, stage, n = OrderedDict(), in_channels, 1, 1
        for v in cfg:
            if v == "M":
                layers[f"pool{stage}"], stage, n = nn.MaxPool2d(2), stage + 1, 1
                continue
            layers[f"conv{stage}_{n}"] = nn.Conv2d(c, v, 3, padding="same")
            layers.update({f"bn{stage}_{n}": nn.BatchNorm2d(v)} if batch_norm else {})
            layers[f"relu{stage}_{n}"], c, n = nn.ReLU(inplace=True), v, n + 1
        super().__init__(layers)



# ---------------------------------------------------------------- 07 AlexNet: crop_and_flip

def _crop_flip(rows_dim=-1, swap=False, shared=False, flip_first=False, in_place=False):
    def crop_and_flip(images, offsets, flips, size):
        crops = []
        for i in range(len(images)):
            top, left = (offsets[0] if shared else offsets[i]).tolist()
            top, left = (left, top) if swap else (top, left)
            image = images[i].flip(-1) if flip_first and flips[i] else images[i]
            crop = image[:, top:top + size, left:left + size]
            if flips[i] and not flip_first:
                if in_place:
                    crop[:] = crop.flip(-1).clone()     # writes into images
                else:
                    crop = crop.flip(rows_dim)
            crops.append(crop.clone())
        return torch.stack(crops)
    return crop_and_flip


def _crop_flip_vectorised(images, offsets, flips, size):
    """Right: one advanced-indexing gather, the columns read backwards where flipped."""
    n = len(images)
    rows = offsets[:, :1] + torch.arange(size)
    cols = offsets[:, 1:] + torch.arange(size)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    out = images.permute(0, 2, 3, 1)[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)


WRONG = [
    Wrong("check_alexnet_layer", _alexnet(groups=False), "groups ignored"),
    Wrong("check_crop_and_flip", _crop_flip(rows_dim=-2), "mirrors left-right"),
    Wrong("check_crop_and_flip", _crop_flip(swap=True), "the first number picks the rows"),
    Wrong("check_crop_and_flip", _crop_flip(shared=True), "each image has its own offset"),
    Wrong("check_crop_and_flip", _crop_flip(flip_first=True), "crop first, then mirror"),
    Wrong("check_crop_and_flip", _crop_flip(in_place=True), "leave `images` as it is"),
    Wrong("check_alexnet_layer", _alexnet(pool=(2, 2)), "pooling 2/2"),
    Wrong("check_alexnet_layer", _alexnet(default_lrn=True), "default k=1.0"),
    Wrong("check_alexnet_layer", _alexnet(lrn=(5, 1e-4, 0.5, 2.0)), "beta should be 0.75"),
    Wrong("check_alexnet_layer", _alexnet(lrn=(3, 1e-4, 0.75, 2.0)), "size n should be 5"),
    Wrong("check_alexnet_layer", _alexnet(lrn=(5, 1e-3, 0.75, 2.0)), "alpha should be 1e-4"),
    Wrong("check_alexnet_layer", _alexnet(lrn_first=True), "LRN comes after the ReLU"),
    Wrong("check_alexnet_layer", _alexnet(relu=False), "ReLU after the convolution is missing"),
    Wrong("check_alexnet_layer", _alexnet_pool_always, "pool=False: no max pooling", public_passes=True),
    Wrong("check_vgg_features", _vgg(skip_m=True), "'M' is skipped"),
    Wrong("check_vgg_features", _vgg(pool=(3, 2)), "not 3/2"),
    Wrong("check_vgg_features", _vgg(relu=False), "ReLU after each convolution is missing"),
    Wrong("check_vgg_features", _vgg(padding=0), "padding=1"),
    Wrong("check_vgg_features", _vgg(bn_after_relu=True), "BatchNorm goes between", public_passes=True),
    Wrong("check_vgg_features", _vgg(ignore_bn=True), "batch_norm= decides", public_passes=True),
    Wrong("check_inception", _inception(reduce=False), "1x1 reductions are missing"),
    Wrong("check_inception", _inception(k5=3), "5x5 convolution in the paper"),
    Wrong("check_inception", _inception(dim=0), "not the batch dim 0"),
    Wrong("check_inception", _inception(order=(0, 1, 3, 2)), "branch order"),
    Wrong("check_inception", _inception(pool_stride=2), "stride 1"),
    Wrong("check_inception", _inception(pool_proj=False), "pool proj"),
    Wrong("check_inception_aux", _aux(pool=(5, 5)), "stride 3"),
    Wrong("check_inception_aux", _aux(relu=False), "ReLUs after"),
    Wrong("check_inception_aux", _aux(p=0.5), "Dropout\\(p=0.7\\)"),
    Wrong("check_inception_aux", _aux(p=0.4), "not in train mode"),
    Wrong("check_googlenet_loss", _loss_averaged, "don't average the three losses"),
    Wrong("check_googlenet_loss", _loss_all_weighted, "the main loss keeps weight 1"),
    Wrong("check_googlenet_loss", _loss_main_only, "add the auxiliary losses"),
    Wrong("check_googlenet_loss", _loss_softmax_first, "don't apply softmax first"),
    Wrong("check_googlenet_loss", _loss_main_as_aux_in_eval, "no auxiliary outputs to add at evaluation"),
    Wrong("check_separable_conv", _sep(swapped=True), "swapped"),
    Wrong("check_separable_conv", _sep(groups_one=True), "groups=1 makes"),
    Wrong("check_separable_conv", _sep(bias=True), "no biases"),
    Wrong("check_separable_conv", _sep(relu=True), "no nonlinearity between"),
    Wrong("check_separable_conv", _sep(padding=0), "padding=1"),
    Wrong("check_separable_conv", _sep(wide_depthwise=True), "depthwise conv keeps c_in channels"),
    Wrong("check_middle_flow_block", _middle(skip=False), "residual connection is missing"),
    Wrong("check_middle_flow_block", _middle(relu_after=True), "ReLU comes first"),
    Wrong("check_middle_flow_block", _middle(bn=False), "BatchNorm2d follows"),
    Wrong("check_middle_flow_block", _middle(repeats=2), "three separable"),
    Wrong("check_basic_block", _block("basic", shortcut=False), "shortcut is missing"),
    Wrong("check_basic_block", _block("basic", proj_when="channels"), "when the stride is not 1 too",
          public_passes=True),
    Wrong("check_basic_block", _block("basic", proj_when="always"), "an identity shortcut"),
    Wrong("check_basic_block", _block("basic", bias=True), "no bias"),
    Wrong("check_basic_block", _ExtraInLastStages, "ResNet-18 built from your BasicBlock", public_passes=True),
    Wrong("check_basic_block", _block("basic", relu_before_add=True), "last ReLU comes after the addition"),
    Wrong("check_basic_block", _block("basic", bn_after_relu=True), "BatchNorm goes right after"),
    Wrong("check_bottleneck", _block("bottleneck", shortcut=False), "shortcut is missing"),
    Wrong("check_bottleneck", _block("bottleneck", proj_when="always"), "an identity shortcut"),
    Wrong("check_bottleneck", _block("bottleneck", relu_before_add=True), "last ReLU comes after the addition"),
    Wrong("check_bottleneck", _block("bottleneck", bn_after_relu=True), "BatchNorm goes right after"),
    Wrong("check_bottleneck", _block("bottleneck", expansion=1), "expands to 4 \\* width"),
    Wrong("check_bottleneck", _block("bottleneck", bias=True), "no bias"),
    Wrong("check_vgg_features", _vgg_from_helpers, "uses helpers.models"),
    Wrong("check_separable_conv", _SepFromHelpers, "built on helpers.models.xception.SeparableConv2d"),
    Wrong("check_basic_block", _BasicFromTorchvision, "built on torchvision.models.resnet.BasicBlock"),
    Wrong("check_alexnet_layer", _alexnet_dropout, "not in train mode"),
    Wrong("check_basic_block", _BasicEvalInside, "not in train mode"),
    Wrong("check_basic_block", _BasicAddsInPlace, "changes its input tensor in place"),
    Wrong("check_middle_flow_block", _middle_keras_momentum, "momentum=0.1"),
]

# ---------------------------------------------------------------- 11 ResNet: option A shortcut
def _pad_avg(x, c_out, stride):
    sub = F.avg_pool2d(x, stride, stride, ceil_mode=True)
    return F.pad(sub, (0, 0, 0, 0, 0, c_out - x.shape[1]))


def _pad_spatial(x, c_out, stride):
    return F.pad(x[:, :, ::stride, ::stride], (0, c_out - x.shape[1], 0, c_out - x.shape[1]))


def _pad_offset(x, c_out, stride):
    return F.pad(x[:, :, 1::stride, 1::stride], (0, 0, 0, 0, 0, c_out - x.shape[1]))


def _pad_both_sides(x, c_out, stride):
    extra = c_out - x.shape[1]
    return F.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, extra // 2, extra - extra // 2))


def _pad_before(x, c_out, stride):
    sub = x[:, :, ::stride, ::stride]
    return torch.cat([sub.new_zeros(sub.shape[0], c_out - sub.shape[1], *sub.shape[2:]), sub], 1)


def _pad_no_subsample(x, c_out, stride):
    return F.pad(x, (0, 0, 0, 0, 0, c_out - x.shape[1]))


def _pad_from_helpers(x, c_out, stride):
    from helpers.models.resnet import PadShortcut
    return PadShortcut(x.shape[1], c_out, stride)(x)


def _pad_with_fpad(x, c_out, stride):
    return F.pad(x[..., ::stride, ::stride], [0] * 4 + [0, c_out - x.size(1)])


def _pad_by_index(x, c_out, stride):
    n, c, h, w = x.shape
    out = torch.zeros(n, c_out, -(-h // stride), -(-w // stride), dtype=x.dtype)
    out[:, :c] = x[:, :, torch.arange(0, h, stride)][..., torch.arange(0, w, stride)]
    return out


def test_zero_pad_reference_is_the_models_option_a_shortcut():
    from helpers.models.resnet import PadShortcut
    for x, c_out, stride in checks.EXERCISES[0].cases(True):
        assert torch.equal(checks.EXERCISES[0].reference(x, c_out, stride), PadShortcut(x.shape[1], c_out, stride)(x))


WRONG += [
    Wrong("check_zero_pad_shortcut", _pad_avg, "subsample, don't pool"),
    Wrong("check_zero_pad_shortcut", _pad_spatial, "new CHANNELS"),
    Wrong("check_zero_pad_shortcut", _pad_offset, "start the subsampling at pixel 0"),
    Wrong("check_zero_pad_shortcut", _pad_both_sides, "not half before and half after"),
    Wrong("check_zero_pad_shortcut", _pad_before, "AFTER x's channels"),
    Wrong("check_zero_pad_shortcut", _pad_no_subsample, "subsample H and W by the stride"),
    Wrong("check_zero_pad_shortcut", _pad_from_helpers, "helpers.models"),
]

RIGHT = [
    Right("check_zero_pad_shortcut", _pad_with_fpad, "F.pad on the channel dim"),
    Right("check_zero_pad_shortcut", _pad_by_index, "index tensors into a zero tensor"),
    Right("check_inception", _InceptionPreallocated, "a float32 output"),
    Right("check_inception_aux", _AuxFunctional, "F.dropout in forward, another registration order"),
    Right("check_googlenet_loss", _loss_log_softmax, "log-softmax + NLL, heads unpacked by name"),
    Right("check_separable_conv", _SepRawParameters, "raw parameters, pointwise registered first"),
    Right("check_middle_flow_block", _MiddleBatchNormsFirst, "BatchNorms registered before the convolutions"),
    Right("check_vgg_features", _VggSequential, "an nn.Sequential subclass"),
    Right("check_alexnet_layer", _alexnet_functional, "the same layers in forward"),
    Right("check_crop_and_flip", _crop_flip(), "a loop over the images"),
    Right("check_crop_and_flip", _crop_flip_vectorised, "one gather for the whole batch"),
    Right("check_inception", _InceptionListed, "the module wrapped in another"),
    Right("check_bottleneck", _block("bottleneck", stride_on_1x1=True), "the paper's stride on the first 1x1"),
    Right("check_basic_block", _block("basic", shortcut_first=True), "shortcut registered before the convolutions"),
    Right("check_bottleneck", _block("bottleneck", shortcut_first=True), "shortcut registered before the convolutions"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


# ---------------------------------------------------------------- the paper numbers the checks hold

def _n(module):
    return sum(p.numel() for p in module.parameters())


def test_paper_numbers_agree_with_helpers_models():
    with torch.device("meta"):
        vgg16 = models.vgg16()
        assert _n(vgg16) - sum(_n(getattr(vgg16, f)) for f in ("fc6", "fc7", "fc8")) == checks.VGG16_CONV_PARAMS
        assert _n(checks._vgg16_reference()) == checks.VGG16_CONV_PARAMS
        goog = models.googlenet(paper=True)
        assert _n(goog.inception_3a) == checks.INCEPTION_3A_PARAMS
        xc = models.xception()
        assert _n(xc.middle_flow.block1) == checks.MIDDLE_728_PARAMS
        assert _n(models.resnet50()) == checks.RESNET50_PARAMS
        assert _n(models.resnet18()) == checks.RESNET18_PARAMS
        assert _n(models.alexnet(two_gpu=True).conv2) == 307_456


def test_auxiliary_head_matches_helpers_with_the_papers_widths():
    ours = checks._Aux(512, 1000)
    theirs = models.googlenet(paper=True).aux1
    assert _n(ours) == _n(theirs) == checks.AUX_4A_PARAMS


def test_a_module_that_is_not_a_module_is_named():
    with pytest.raises(AssertionError, match="should be an nn.Module"):
        checks.check_separable_conv(lambda c_in, c_out: "conv")


def test_checks_leave_the_random_state_alone():
    state = torch.random.get_rng_state()
    WEEK.run("check_separable_conv")
    assert torch.equal(torch.random.get_rng_state(), state)


def test_the_model_zoos_blocks_compute_what_the_checks_ask():
    """The records' references are written in helpers/checks/papers.py; the blocks the course's networks are built
    from (helpers.models) must pass the same cases, hidden ones included (the rule against helpers.models lifted)."""
    import dataclasses

    from helpers.checks.records import checks_of
    googlenet, resnet, xception = (importlib.import_module(f"helpers.models.{m}") for m in ("googlenet", "resnet", "xception"))

    zoo = {
        "inception": lambda *w: googlenet.Inception(*w, batch_norm=False, k5=5),
        "separable_conv": xception.SeparableConv2d,
        "middle_flow_block": lambda c: xception.XceptionBlock(c, [c] * 3, downsample=False),
        "basic_block": lambda c_in, width, stride=1: resnet.BasicBlock(c_in, width, stride),
        "bottleneck": lambda c_in, width, stride=1: resnet.Bottleneck(c_in, width, stride),
    }
    records = {ex.name: ex for ex in checks.EXERCISES}
    for name, block in zoo.items():
        ex = dataclasses.replace(records[name], forbidden={})
        checks_of([ex])[f"check_{name}"](block, hidden=True)
