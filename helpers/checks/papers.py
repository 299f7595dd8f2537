"""Checks for week 3's paper notebooks (07 AlexNet, 08 VGG, 09 GoogLeNet, 10 Xception, 11 ResNet).

Each graded exercise is a building block of one paper, written as ``torch.nn`` modules, and each is a record
(``EXERCISES``): a :class:`~helpers.checks.modules.Build` for a block, judged by what it computes against the block
the paper describes (written here; helpers.models' blocks, whose full networks reproduce the papers' and
torchvision's parameter counts, pass the same checks: tests/test_checks_papers.py): the exact parameter count (AlexNet's conv2 with two GPU groups, VGG-16's
14,714,688 convolution weights, Inception 3a, Xception's middle flow), the output shape, and with the reference's
weights loaded in, the outputs in eval and train mode (:mod:`helpers.checks.modules`). The answer may not use, be or
subclass the reference (``FORBIDDEN``: helpers.models, torchvision.models). Each record's mistakes are the typical
wrong blocks (pooling 2/2 instead of 3/2, LRN with PyTorch's default k=1, groups ignored, 'M' not pooling, no 1x1
reductions, concatenation on the wrong dim, depthwise and pointwise swapped, a shortcut that projects only when the
channels change): an answer that builds one fails with its hint. ``hidden=True`` adds other configurations (other
widths, strides, inputs); ResNet-18 and -50 assembled from the learner's blocks must have torchvision's counts.
Functions (option A's shortcut, the crop, GoogLeNet's loss) are :class:`~helpers.checks.records.Exercise` records.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

import importlib

_goog = importlib.import_module("helpers.models.googlenet")   # the modules (the package re-exports
_res = importlib.import_module("helpers.models.resnet")       # functions of the same names)
_vggmod = importlib.import_module("helpers.models.vgg")

from .core import CheckFailure, call, expect, isolated
from .modules import Build, case
from .records import Exercise, checks_of

__all__ = [
    "check_alexnet_layer", "check_vgg_features", "check_inception", "check_inception_aux",
    "check_separable_conv", "check_middle_flow_block", "check_basic_block", "check_bottleneck",
    "check_zero_pad_shortcut", "check_crop_and_flip", "check_googlenet_loss",
]


# an exercise is to write the block: the reference the check compares with (and torchvision's) is off limits
FORBIDDEN = {
    "helpers.models": "helpers.models holds the reference the check compares with: write the block yourself",
    "torchvision.models": "torchvision's blocks are what the exercise is about: write the block yourself",
}


def _n(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------------
# 07 · AlexNet: conv (+ groups) -> ReLU -> LRN -> overlapping max pool
# --------------------------------------------------------------------------------------------

ALEX_HINT = ("conv (groups=groups) -> ReLU -> [nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0) if lrn] "
             "-> [nn.MaxPool2d(kernel_size=3, stride=2) if pool] (Sections 3.1-3.4)")


def _alex(c_in, c_out, *, kernel, stride, padding, groups, lrn, pool, lrn_args=(5, 1e-4, 0.75, 2.0),
          pool_args=(3, 2), relu=True, lrn_first=False, use_groups=True):
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups if use_groups else 1)]
    norm = [nn.LocalResponseNorm(lrn_args[0], alpha=lrn_args[1], beta=lrn_args[2], k=lrn_args[3])] if lrn else []
    act = [nn.ReLU()] if relu else []
    layers += norm + act if lrn_first else act + norm
    if pool:
        layers.append(nn.MaxPool2d(*pool_args))
    return nn.Sequential(*layers)


def _alex_cases(hidden):
    #        c_in, c_out, kernel, stride, padding, groups, lrn, pool, input size
    rows = [(96, 256, 5, 1, 2, 2, True, True, 15),          # the paper's conv2 (on each GPU: 48 -> 128)
            (3, 96, 11, 4, 2, 1, True, True, 63)]           # conv1 (smaller input than 224)
    if hidden:
        rows += [(384, 256, 3, 1, 1, 2, False, True, 13),   # conv5
                 (256, 384, 3, 1, 1, 1, False, False, 13),  # conv3: crosses GPUs, no pooling
                 (8, 12, 3, 1, 1, 4, True, False, 9)]
    return [case(c_in, c_out, kernel=k, stride=s, padding=p, groups=g, lrn=lrn, pool=pool, x=(1, c_in, n, n), seed=i)
            for i, (c_in, c_out, k, s, p, g, lrn, pool, n) in enumerate(rows)]


def _alex_with(**change):
    return lambda c_in, c_out, **kw: _alex(c_in, c_out, **{**kw, **change})


# --------------------------------------------------------------------------------------------
# 08 · VGG: the configuration table as data -> the convolutional part of the network
# --------------------------------------------------------------------------------------------

VGG_HINT = ("for each entry: an int w -> nn.Conv2d(c, w, kernel_size=3, padding=1) [+ nn.BatchNorm2d(w)] + nn.ReLU(), "
            "then c = w; 'M' -> nn.MaxPool2d(kernel_size=2, stride=2) (Section 2.1)")


def _vgg(cfg, *, in_channels, batch_norm, relu=True, pool=(2, 2), skip_m=False, bn_after_relu=False, padding=1):
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            if not skip_m:
                layers.append(nn.MaxPool2d(*pool))
            continue
        layers.append(nn.Conv2d(c, v, 3, padding=padding))
        tail = ([nn.BatchNorm2d(v)] if batch_norm else [])
        act = [nn.ReLU()] if relu else []
        layers += act + tail if bn_after_relu else tail + act
        c = v
    return nn.Sequential(*layers)


# Table 1 column D (VGG-16) in torchvision's list notation: every int a 3x3 conv, "M" a max pool
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
VGG16_CONV_PARAMS = 14_714_688       # 138,357,544 (Table 2's "138M") minus the three FC layers


def _vgg_cases(hidden):
    cases = [case([8, "M", 16, 16, "M"], in_channels=3, batch_norm=False, x=(2, 3, 16, 16)),
             case(VGG16, in_channels=3, batch_norm=False, x=(1, 3, 32, 32), params=VGG16_CONV_PARAMS,
                  dtype=torch.float32, seed=1)]                                  # float64 convs are slow on CPU
    if hidden:
        cases += [case([4, "M", 8, "M", 8, 8, "M"], in_channels=1, batch_norm=True, x=(2, 1, 24, 24), seed=2),
                  case([6, 6, "M", 10], in_channels=2, batch_norm=True, x=(2, 2, 12, 12), seed=3)]
    return cases


def _vgg_with(**change):
    return lambda cfg, **kw: _vgg(cfg, **{**kw, **change})


def _vgg16_reference() -> nn.Sequential:
    """helpers.models' VGG-16 without its classifier (conv1 .. pool5), the paper's layer names."""
    full = _vggmod.VGG("D")
    return nn.Sequential(OrderedDict((n, m) for n, m in full.named_children() if n.startswith(("conv", "pool"))))


# --------------------------------------------------------------------------------------------
# 09 · GoogLeNet: the Inception module with 1x1 reductions, the auxiliary classifier
# --------------------------------------------------------------------------------------------

INCEPTION_HINT = ("four branches on the same input, concatenated on the channel dim (dim=1) in the order "
                  "1x1 | 1x1 reduce -> 3x3 (padding 1) | 1x1 reduce -> 5x5 (padding 2) | 3x3/1 max pool (padding 1) "
                  "-> 1x1 pool proj; every conv has a bias and is followed by a ReLU (Figure 2b)")


class _Inception(nn.Module):
    """The Inception module (Figure 2b) and, with a keyword changed, its mistakes."""

    def __init__(self, c_in, a, b_red, b, c_red, c, proj, *, reduce=True, dim=1, k5=5, order=(0, 1, 2, 3),
                 pool_proj=True, pool_stride=1):
        super().__init__()

        def conv(i, o, k):
            return nn.Sequential(nn.Conv2d(i, o, k, padding=k // 2), nn.ReLU())

        self.b1 = conv(c_in, a, 1)
        self.b2 = nn.Sequential(conv(c_in, b_red, 1), conv(b_red, b, 3)) if reduce else conv(c_in, b, 3)
        self.b3 = nn.Sequential(conv(c_in, c_red, 1), conv(c_red, c, k5)) if reduce else conv(c_in, c, k5)
        pool = nn.MaxPool2d(3, pool_stride, 1)
        self.b4 = nn.Sequential(pool, conv(c_in, proj, 1)) if pool_proj else pool
        self.dim, self.order = dim, order

    def forward(self, x):
        outs = [b(x) for b in (self.b1, self.b2, self.b3, self.b4)]
        return torch.cat([outs[i] for i in self.order], dim=self.dim)


INCEPTION_3A_PARAMS = 163_696   # Table 1 inception (3a), paper version: 163,328 weights + 368 biases


def _inception_cases(hidden):
    rows = [(192, _goog.INCEPTION_TABLE["3a"], 12)]                  # inception (3a), on a 12x12 map
    if hidden:
        rows += [(480, _goog.INCEPTION_TABLE["4a"], 14), (16, (4, 6, 8, 2, 3, 5), 7)]
    return [case(c_in, *w, x=(2, c_in, n, n), seed=i, params=INCEPTION_3A_PARAMS if c_in == 192 else None,
                 attrs={"out_channels": w[0] + w[2] + w[4] + w[5]}) for i, (c_in, w, n) in enumerate(rows)]


def _inception_with(**change):
    return lambda *widths: _Inception(*widths, **change)


AUX_HINT = ("5x5 average pool with stride 3 -> 1x1 conv with 128 filters + ReLU -> flatten -> FC 1024 + ReLU -> "
            "dropout 0.7 -> FC num_classes (Section 5; on 14x14 maps the pool leaves 4x4)")


class _Aux(nn.Module):
    def __init__(self, c_in, num_classes, *, pool=(5, 3), conv=128, relu=True, p=0.7):
        super().__init__()
        act = [nn.ReLU()] if relu else []
        self.pool = nn.AvgPool2d(*pool)
        self.conv = nn.Sequential(nn.Conv2d(c_in, conv, 1), *act)
        side = (14 - pool[0]) // pool[1] + 1
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(conv * side * side, 1024), *act, nn.Dropout(p),
                                nn.Linear(1024, num_classes))

    def forward(self, x):
        return self.fc(self.conv(self.pool(x)))


AUX_4A_PARAMS = 3_188_840       # aux1 on inception (4a): 512 -> 128 (1x1), 2048 -> 1024, 1024 -> 1000


def _aux_cases(hidden):
    rows = [(512, 1000)] + ([(528, 10), (64, 7)] if hidden else [])
    return [case(c_in, k, x=(2, c_in, 14, 14), seed=i, params=AUX_4A_PARAMS if (c_in, k) == (512, 1000) else None)
            for i, (c_in, k) in enumerate(rows)]


def _aux_with(**change):
    return lambda c_in, k: _Aux(c_in, k, **change)


# --------------------------------------------------------------------------------------------
# 10 · Xception: depthwise separable convolution, the middle flow's residual block
# --------------------------------------------------------------------------------------------

SEP_HINT = ("depthwise first: nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False) (one 3x3 filter per "
            "channel), then pointwise nn.Conv2d(c_in, c_out, 1, bias=False); nothing in between (Section 4.7)")


def _sep(c_in, c_out, *, swapped=False, groups=None, bias=False, relu=False, padding=1):
    if swapped:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=bias),
                             nn.Conv2d(c_out, c_out, 3, padding=padding, groups=c_out, bias=bias))
    mid = [nn.ReLU()] if relu else []
    return nn.Sequential(nn.Conv2d(c_in, c_in, 3, padding=padding, groups=c_in if groups is None else groups, bias=bias),
                         *mid, nn.Conv2d(c_in, c_out, 1, bias=bias))


def _sep_wide_depthwise(c_in, c_out):
    """Depthwise straight to c_out channels (groups=c_in), then a c_out -> c_out pointwise."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, groups=c_in, bias=False),
                         nn.Conv2d(c_out, c_out, 1, bias=False))


def _sep_with(**change):
    return lambda c_in, c_out: _sep(c_in, c_out, **change)


MIDDLE_HINT = ("three times [ReLU -> SeparableConv2d(c, c) -> BatchNorm2d(c)], then add the input: "
               "out = residual(x) + x (Figure 5, middle flow)")


class _Middle(nn.Module):
    def __init__(self, c, *, skip=True, relu_after=False, bn=True, repeats=3):
        super().__init__()
        layers = []
        for _ in range(repeats):
            unit = [_sep(c, c)] + ([nn.BatchNorm2d(c)] if bn else [])
            layers += unit + [nn.ReLU()] if relu_after else [nn.ReLU()] + unit
        self.residual = nn.Sequential(*layers)
        self.skip = skip

    def forward(self, x):
        return self.residual(x) + x if self.skip else self.residual(x)


MIDDLE_728_PARAMS = 1_613_976    # 3 x (728 * 9 + 728 * 728 + 2 * 728), one of Figure 5's eight middle blocks


def _middle_with(**change):
    return lambda c: _Middle(c, **change)


# --------------------------------------------------------------------------------------------
# 11 · ResNet: basic and bottleneck blocks with projection shortcuts
# --------------------------------------------------------------------------------------------

BLOCK_HINT = ("conv (bias=False) -> BN -> ReLU -> ... -> conv -> BN, then add the shortcut and apply the last ReLU: "
              "relu(F(x) + shortcut(x)); shortcut = 1x1 conv (stride) + BN whenever the stride is not 1 OR the "
              "channels change, identity otherwise (Section 3.3 option B, BN after every conv, Section 3.4)")


class _Block(nn.Module):
    """The residual blocks (Figure 2 and 5, option B) and, with a keyword changed, their mistakes."""

    def __init__(self, c_in, width, stride, kind, *, shortcut="B", proj_when="both", bias=False,
                 relu_before_add=False, bn_after_relu=False, expansion=None, stride_on_1x1=False,
                 shortcut_first=False):
        super().__init__()
        exp = expansion if expansion is not None else (1 if kind == "basic" else 4)
        c_out = width * exp
        need = {"both": stride != 1 or c_in != c_out, "channels": c_in != c_out, "always": True}[proj_when]
        if shortcut == "none":
            short = None
        elif need:
            short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=bias), nn.BatchNorm2d(c_out))
        else:
            short = nn.Identity()
        if shortcut_first:  # registered before the body (its parameters come first in the state dict)
            self.shortcut = short

        def cbr(i, o, k, s, last=False):
            conv = nn.Conv2d(i, o, k, s, k // 2, bias=bias)
            if last and not relu_before_add:
                return nn.Sequential(conv, nn.BatchNorm2d(o))
            return nn.Sequential(conv, nn.ReLU(), nn.BatchNorm2d(o)) if bn_after_relu else \
                nn.Sequential(conv, nn.BatchNorm2d(o), nn.ReLU())

        if kind == "basic":
            self.body = nn.Sequential(cbr(c_in, width, 3, stride), cbr(width, c_out, 3, 1, last=True))
        else:
            s1, s3 = (stride, 1) if stride_on_1x1 else (1, stride)
            self.body = nn.Sequential(cbr(c_in, width, 1, s1), cbr(width, width, 3, s3), cbr(width, c_out, 1, 1, last=True))
        if not shortcut_first:
            self.shortcut = short

    def forward(self, x):
        out = self.body(x)
        return F.relu(out) if self.shortcut is None else F.relu(out + self.shortcut(x))


def _block_with(kind, **change):
    return lambda c_in, width, stride=1: _Block(c_in, width, stride, kind, **change)


def _block_mistakes(kind):
    m = {
        "the projection is needed when the stride is not 1 too, not only when the channels change":
            _block_with(kind, proj_when="channels"),
        "the shortcut is missing: relu(F(x) + shortcut(x))": _block_with(kind, shortcut="none"),
        "an identity shortcut (no parameters) when stride is 1 and the channels stay: project only when the shape "
        "changes": _block_with(kind, proj_when="always"),
        "convolutions followed by BatchNorm have no bias (bias=False)": _block_with(kind, bias=True),
        "the last ReLU comes after the addition: relu(bn(conv(...)) + shortcut(x))": _block_with(kind, relu_before_add=True),
        "BatchNorm goes right after each convolution, before the ReLU (Section 3.4)": _block_with(kind, bn_after_relu=True),
    }
    if kind == "bottleneck":
        m["the last 1x1 convolution expands to 4 * width channels (Bottleneck.expansion = 4)"] = \
            _block_with(kind, expansion=1)
    return m


def _block_cases(rows):
    return [case(c_in, width, stride=stride, x=(2, c_in, n, n), seed=i) for i, (c_in, width, stride, n) in enumerate(rows)]


def _basic_cases(hidden):
    rows = [(64, 128, 2, 8), (64, 64, 1, 8)]                 # conv3_1 of ResNet-18, conv2_2
    if hidden:
        rows += [(16, 16, 2, 8), (8, 12, 1, 6)]               # same channels, stride 2: a projection all the same
    return _block_cases(rows)


def _bottleneck_cases(hidden):
    rows = [(256, 128, 2, 8), (512, 128, 1, 4)]              # conv3_1 of ResNet-50, conv3_2
    if hidden:
        rows += [(64, 16, 2, 8), (8, 2, 1, 6), (64, 64, 1, 4)]  # 64 -> 256: conv2_1 projects at stride 1
    return _block_cases(rows)


def _in_resnet(Block, depth, expected, what):
    """Plug the student's block class into helpers.models.ResNet (Table 1) and count its parameters:
    the network is laid out with stand-ins that record each block's (c_in, width, stride), and one
    block of the student's per distinct configuration is built and counted (so this works also when
    the class lives in the student's kernel and only its instances' tensors come back)."""
    expansion = getattr(Block, "expansion", None)
    expect(expansion == _res.TABLE1[depth][0].expansion,
           f"{what}.expansion should be {_res.TABLE1[depth][0].expansion} (output channels = expansion * width)")
    layout = []

    def stand_in(c_in, width, stride=1, **_):
        layout.append((c_in, width, stride))
        return nn.Identity()

    stand_in.expansion = expansion
    with torch.device("meta"):
        skeleton = _res.ResNet(stand_in, _res.TABLE1[depth][1])
    per_block = {}
    for c_in, width, stride in dict.fromkeys(layout):
        label = f"{what}({c_in}, {width}, stride={stride})"
        block = call(Block, c_in, width, stride=stride, hint=f"building ResNet-{depth} from {what}")
        expect(isinstance(block, nn.Module), f"{label} should be an nn.Module, got {type(block).__name__}")
        per_block[c_in, width, stride] = _n(block)
    stage_of = [i for i, n in enumerate(_res.TABLE1[depth][1]) for _ in range(n)]   # layout is in stage order
    stages: dict[str, int] = {}
    for config, i in zip(layout, stage_of):
        stages[f"conv{i + 2}_x"] = stages.get(f"conv{i + 2}_x", 0) + per_block[config]
    total = _n(skeleton) + sum(stages.values())
    if total != expected:
        parts = ", ".join(f"{name}: {n:,}" for name, n in stages.items())
        raise CheckFailure(f"ResNet-{depth} built from your {what} (Table 1) has {total:,} parameters, expected "
                           f"{expected:,} ({total - expected:+,}) as torchvision's; blocks per stage: {parts}")


RESNET18_PARAMS, RESNET50_PARAMS = 11_689_512, 25_557_032


# --------------------------------------------------------------------------------------------
# exercises written as records (helpers/checks/records.py): reference, cases, mistakes, hint
# --------------------------------------------------------------------------------------------

def _option_a(x, c_out, stride):
    """The reference, as helpers.models.resnet.PadShortcut computes it (tests/test_checks_papers.py
    compares the two): keep pixels 0, stride, 2 stride, ...; zero channels appended after x's."""
    return F.pad(x[:, :, ::stride, ::stride], (0, 0, 0, 0, 0, c_out - x.shape[1]))


def _pad_cases(hidden):
    g = torch.Generator().manual_seed(11)
    shapes = [((2, 4, 8, 8), 8, 2), ((1, 3, 7, 7), 5, 2), ((2, 4, 6, 6), 4, 1)]
    if hidden:
        shapes += [((1, 16, 9, 5), 32, 2), ((3, 2, 6, 6), 7, 3), ((1, 6, 5, 5), 6, 2), ((2, 3, 4, 4), 6, 1)]
    return [(torch.randn(*shape, generator=g, dtype=torch.float64), c_out, stride) for shape, c_out, stride in shapes]


def _pad_channels(sub, c_out, before=0):
    """Zero channels around ``sub``: ``before`` of them first, the rest after."""
    extra = c_out - sub.shape[1]
    return F.pad(sub, (0, 0, 0, 0, before, extra - before))


PAD_HINT = ("option A keeps the shortcut parameter-free: take every stride-th row and column of x starting with the "
            "first (no averaging), then append c_out - C channels of zeros after x's channels (channels only, never H or W)")


# 07 AlexNet, Section 4.1: data augmentation as a deterministic function (its randomness passed in)

def _crop_and_flip(images, offsets, flips, size):
    """Reference: image i cropped to size x size at (top, left) = offsets[i], mirrored left-right where flips[i]."""
    images, offsets, flips = torch.as_tensor(images), torch.as_tensor(offsets), torch.as_tensor(flips)
    crops = []
    for image, (top, left), flip in zip(images, offsets.tolist(), flips.tolist()):
        crop = image.narrow(-2, top, size).narrow(-1, left, size)
        crops.append(torch.flip(crop, dims=(-1,)) if flip else crop)
    return torch.stack(crops)


def _crop_cases(hidden):
    """(images, offsets, flips, size): float64 images, long (top, left) offsets, bool flips. The offsets differ
    from image to image and top != left, so a swapped or shared offset and a flip before the crop all show."""
    g = torch.Generator().manual_seed(7)
    cases = [(torch.randn(3, 2, 8, 8, dtype=torch.float64, generator=g),
              torch.tensor([[0, 2], [3, 1], [2, 0]]), torch.tensor([True, False, True]), 5)]
    if hidden:
        images = torch.randn(6, 3, 10, 12, dtype=torch.float64, generator=g)      # H != W
        offsets = torch.stack([torch.randint(0, 4, (6,), generator=g), torch.randint(0, 6, (6,), generator=g)], 1)
        offsets[0], offsets[1] = torch.tensor([1, 4]), torch.tensor([3, 0])
        cases += [(images, offsets, torch.tensor([True, True, False, True, False, False]), 7),
                  (torch.randn(2, 1, 4, 4, dtype=torch.float64, generator=g),       # size = H: only the flips act
                   torch.zeros(2, 2, dtype=torch.long), torch.tensor([False, True]), 4)]
    return cases


def _flip_first(images, offsets, flips, size):
    mirrored = torch.where(torch.as_tensor(flips)[:, None, None, None], torch.flip(images, dims=(-1,)), images)
    return _crop_and_flip(mirrored, offsets, torch.zeros_like(torch.as_tensor(flips)), size)


def _in_place(images, offsets, flips, size):
    out = _crop_and_flip(images, offsets, flips, size)
    images.zero_()
    return out


CROP_IN_PLACE = ("return new crops and leave `images` as it is: the training loop hands you a batch of the resident "
                 "data set, which an in-place change would overwrite for every later epoch")


# 09 GoogLeNet, Section 5: the training loss with the auxiliary classifiers

def _googlenet_loss(outputs, target, aux_weight=0.3):
    """Section 5: the main cross-entropy plus ``aux_weight`` times each auxiliary head's; eval mode
    (one logits tensor): the main cross-entropy alone."""
    if isinstance(outputs, (tuple, list)):
        logits, *aux = outputs
        return F.cross_entropy(logits, target) + aux_weight * sum(F.cross_entropy(a, target) for a in aux)
    return F.cross_entropy(outputs, target)


def _loss_parts(outputs, target, loss=F.cross_entropy):
    """The cross-entropy of each output (main first); one entry in eval mode."""
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [loss(o, target) for o in outputs]


def _on_probabilities(o, t):
    return F.cross_entropy(torch.softmax(o, dim=1), t)


def _googlenet_case(seed, n, classes, aux_weight, train=True):
    g = torch.Generator().manual_seed(seed)
    heads = [torch.randn(n, classes, generator=g, dtype=torch.float64) * 2 for _ in range(3 if train else 1)]
    target = torch.randint(0, classes, (n,), generator=g)
    return (tuple(heads) if train else heads[0], target, aux_weight)


def _googlenet_cases(hidden):
    cases = [_googlenet_case(0, 8, 10, 0.3), _googlenet_case(1, 8, 10, 0.3, train=False)]
    if hidden:
        cases += [_googlenet_case(2, 5, 4, 0.5), _googlenet_case(3, 16, 1000, 0.3), _googlenet_case(4, 3, 7, 1.0),
                  _googlenet_case(5, 6, 5, 0.3, train=False)]
    return cases


def _describe_googlenet(outputs, target, aux_weight):
    if isinstance(outputs, (tuple, list)):
        return (f"train mode: (logits, aux2, aux1), each {tuple(outputs[0].shape)}, aux_weight={aux_weight}")
    return f"eval mode: one logits tensor {tuple(outputs.shape)}, aux_weight={aux_weight}"


EXERCISES = [
    Exercise(
        "zero_pad_shortcut", reference=_option_a, cases=_pad_cases, hint=PAD_HINT, rtol=1e-6, atol=1e-7,
        describe=lambda x, c_out, stride: f"zero_pad_shortcut(x of shape {tuple(x.shape)}, c_out={c_out}, stride={stride})",
        mistakes={
            "subsample, don't pool: option A keeps one pixel out of each stride x stride window (the first), it does not average":
                lambda x, c, s: _pad_channels(F.avg_pool2d(x, s, s, ceil_mode=True), c),
            "the zeros are new CHANNELS (dim 1): padding H or W adds pixels, not feature maps":
                lambda x, c, s: F.pad(x[:, :, ::s, ::s], (0, c - x.shape[1], 0, c - x.shape[1])),
            "start the subsampling at pixel 0 (x[..., ::stride]), as a stride-2 convolution with padding 1 centres its "
            "first window there": lambda x, c, s: _pad_channels(x[:, :, s - 1::s, s - 1::s], c),
            "append the zero channels AFTER x's channels (as the course's ResNet does), not before them":
                lambda x, c, s: _pad_channels(x[:, :, ::s, ::s], c, before=c - x.shape[1]),
            "all the zero channels go after x's channels, not half before and half after":
                lambda x, c, s: _pad_channels(x[:, :, ::s, ::s], c, before=(c - x.shape[1]) // 2),
            "the new channels are zeros, not copies of x": lambda x, c, s: torch.cat([x, x], 1)[:, :c, ::s, ::s],
            "subsample H and W by the stride too (the block's convolutions halve them)": lambda x, c, s: _pad_channels(x, c),
        },
        forbidden={"helpers.models": "write the shortcut yourself from slicing and zeros"}),
    Exercise(
        "crop_and_flip", reference=_crop_and_flip, cases=_crop_cases, in_place=CROP_IN_PLACE,
        hint="for each image i: take rows top .. top + size - 1 and columns left .. left + size - 1, (top, left) = "
             "offsets[i], then, where flips[i] is True, reverse the order of the crop's columns (the last dimension)",
        describe=lambda images, offsets, flips, size:
            f"crop_and_flip of {len(images)} images of {tuple(images.shape[1:])} to {size}x{size}",
        mistakes={
            "a horizontal reflection mirrors left-right: reverse the columns (the last dimension), not the rows":
                lambda im, o, f, s: torch.stack([c.flip(-2) if b else c for c, b in
                                                 zip(_crop_and_flip(im, o, torch.zeros_like(f), s), f.tolist())]),
            "offsets[i] is (top, left): the first number picks the rows, the second the columns":
                lambda im, o, f, s: _crop_and_flip(im, o[:, [1, 0]], f, s),
            "each image has its own offset, offsets[i]: one offset for the whole batch crops every image alike":
                lambda im, o, f, s: _crop_and_flip(im, o[:1].expand_as(o), f, s),
            "crop first, then mirror the crop: mirroring the whole image first moves the window to the other side":
                _flip_first,
            CROP_IN_PLACE: _in_place,
        },
        forbidden={"torchvision.transforms": "index the tensor yourself: the exercise is what RandomCrop and "
                                             "RandomHorizontalFlip do inside"}),
    Exercise(
        "googlenet_loss", reference=_googlenet_loss, cases=_googlenet_cases, rtol=1e-5, atol=1e-7,
        hint="Section 5: in train mode the model returns (logits, aux2, aux1); the loss is the main head's cross-entropy "
             "(weight 1) plus aux_weight times the cross-entropy of each auxiliary head; in eval mode it returns one "
             "logits tensor and the loss is its cross-entropy alone. F.cross_entropy takes raw logits",
        describe=_describe_googlenet,
        mistakes={
            "don't average the three losses: the main loss keeps weight 1 and only the auxiliary ones are scaled by "
            "aux_weight": lambda o, t, w: sum(_loss_parts(o, t)) / len(_loss_parts(o, t)),
            "only the auxiliary losses are weighted by aux_weight: the main loss keeps weight 1":
            lambda o, t, w: w * sum(_loss_parts(o, t)),
            "add the auxiliary losses: in train mode the model returns (logits, aux2, aux1), and Section 5 adds both "
            "heads' losses (weighted)": lambda o, t, w: _loss_parts(o, t)[0],
            "add BOTH auxiliary heads' losses (aux2 on 4d and aux1 on 4a)":
            lambda o, t, w: _loss_parts(o, t)[0] + w * _loss_parts(o, t)[1],
            "F.cross_entropy expects raw logits (it applies log-softmax itself): don't apply softmax first":
            lambda o, t, w: (lambda p: p[0] + w * sum(p[1:]))(_loss_parts(o, t, _on_probabilities)),
            "in eval mode the model returns the main logits alone: there are no auxiliary outputs to add at evaluation "
            "time, the loss is the main cross-entropy":
            lambda o, t, w: _googlenet_loss(o, t, w) if isinstance(o, (tuple, list)) else (1 + 2 * w) * F.cross_entropy(o, t)}),
]

_ref = {"forbidden": FORBIDDEN}
EXERCISES += [
    Build("alexnet_layer", reference=_alex, cases=_alex_cases, hint=ALEX_HINT, **_ref, mistakes={
        "groups ignored: with groups=2 each half of the kernels sees only half of the input channels (the two GPUs), "
        "pass groups= to nn.Conv2d": _alex_with(use_groups=False),
        "pooling 2/2 instead of the paper's overlapping 3x3 windows with stride 2 (Section 3.4)": _alex_with(pool_args=(2, 2)),
        "nn.LocalResponseNorm's default k=1.0: the paper uses k=2 (Section 3.3)": _alex_with(lrn_args=(5, 1e-4, 0.75, 1.0)),
        "LRN beta should be 0.75 (Section 3.3: k=2, n=5, alpha=1e-4, beta=0.75)": _alex_with(lrn_args=(5, 1e-4, 0.5, 2.0)),
        "LRN size n should be 5 neighbouring channels (Section 3.3)": _alex_with(lrn_args=(3, 1e-4, 0.75, 2.0)),
        "LRN alpha should be 1e-4 (Section 3.3)": _alex_with(lrn_args=(5, 1e-3, 0.75, 2.0)),
        "LRN comes after the ReLU: it normalises the rectified responses (Section 3.3)": _alex_with(lrn_first=True),
        "the ReLU after the convolution is missing": _alex_with(relu=False),
        "lrn=False: no LocalResponseNorm in this layer": _alex_with(lrn=True),
        "pool=False: no max pooling in this layer": _alex_with(pool=True)}),
    Build("vgg_features", reference=_vgg, cases=_vgg_cases, hint=VGG_HINT, **_ref,
          describe=lambda cfg, **kw: f"vgg_features({'VGG16' if cfg == VGG16 else cfg}, "
                                     f"in_channels={kw['in_channels']}, batch_norm={kw['batch_norm']})",
          mistakes={
        "'M' is skipped: every 'M' is a 2x2 max pool with stride 2": _vgg_with(skip_m=True),
        "'M' is a 2x2 window with stride 2 (Section 2.1), not 3/2": _vgg_with(pool=(3, 2)),
        "the ReLU after each convolution is missing": _vgg_with(relu=False),
        "padding=1 keeps the size of a 3x3 convolution's input": _vgg_with(padding=0),
        "batch_norm= decides whether a BatchNorm2d follows each convolution":
            lambda cfg, **kw: _vgg(cfg, **{**kw, "batch_norm": not kw["batch_norm"]}),
        "BatchNorm goes between the convolution and its ReLU (conv -> BN -> ReLU)": _vgg_with(bn_after_relu=True)}),
    Build("inception", answer="Inception", cases=_inception_cases, hint=INCEPTION_HINT, **_ref,
          reference=_Inception, mistakes={
        "the 1x1 reductions are missing: the 3x3 and 5x5 branches first reduce the channels with a 1x1 conv (that is "
        "what keeps the module cheap)": _inception_with(reduce=False),
        "the third branch is a 5x5 convolution in the paper (padding 2)": _inception_with(k5=3),
        "concatenate on the channel dim, dim=1, not the batch dim 0": _inception_with(dim=0),
        "concatenate on the channel dim, dim=1": _inception_with(dim=2),
        "the pool branch needs its 1x1 'pool proj' convolution": _inception_with(pool_proj=False),
        "the pool branch's max pool has stride 1 (3x3/1, padding 1) so all four branches keep H x W":
            _inception_with(pool_stride=2),
        "branch order: 1x1, 3x3, 5x5, pool proj": _inception_with(order=(0, 1, 3, 2)),
        "branch order: 1x1, 3x3, 5x5, pool proj (not reversed)": _inception_with(order=(3, 2, 1, 0))}),
    Build("inception_aux", answer="InceptionAux", reference=_Aux, cases=_aux_cases, hint=AUX_HINT, **_ref, mistakes={
        "the average pool has stride 3 (5x5/3: 14x14 -> 4x4)": _aux_with(pool=(5, 5)),
        "the 1x1 convolution reduces to 128 filters": lambda c_in, k: _Aux(c_in, k, conv=c_in),
        "ReLUs after the 1x1 convolution and after FC 1024 are missing": _aux_with(relu=False),
        "nn.Dropout(p=0.7) (Section 5: 70 % dropped), not the default p=0.5": _aux_with(p=0.5)}),
    Build("separable_conv", answer="SeparableConv2d", reference=_sep,
          hint=SEP_HINT, **_ref,
          cases=lambda hidden: [case(c_in, c_out, x=(2, c_in, n, n), seed=i) for i, (c_in, c_out, n) in
                                enumerate([(32, 64, 9)] + ([(728, 728, 5), (6, 4, 7), (16, 16, 3)] if hidden else []))],
          mistakes={
        "depthwise and pointwise are swapped: the 3x3 depthwise conv comes first, on the c_in input channels":
            _sep_with(swapped=True),
        "groups=1 makes the 3x3 conv a full convolution: depthwise means groups=c_in": _sep_with(groups=1),
        "no biases (bias=False): BatchNorm follows every separable conv in Xception": _sep_with(bias=True),
        "no nonlinearity between depthwise and pointwise (Section 4.7: it hurts)": _sep_with(relu=True),
        "padding=1 keeps the 3x3 depthwise conv's size": _sep_with(padding=0),
        "the depthwise conv keeps c_in channels (groups=c_in, out_channels=c_in); the pointwise 1x1 conv changes them":
            _sep_wide_depthwise}),
    Build("middle_flow_block", answer="MiddleFlowBlock", reference=_Middle,
          hint=MIDDLE_HINT, **_ref,
          cases=lambda hidden: [case(c, x=(2, c, n, n), seed=i, params=MIDDLE_728_PARAMS if c == 728 else None)
                                for i, (c, n) in enumerate([(728, 5)] + ([(16, 7), (24, 4)] if hidden else []))],
          mistakes={
        "the residual connection is missing: return residual(x) + x": _middle_with(skip=False),
        "each unit is ReLU -> SeparableConv -> BatchNorm (the ReLU comes first)": _middle_with(relu_after=True),
        "a BatchNorm2d follows every separable convolution": _middle_with(bn=False),
        "the middle-flow block has three separable convolutions": _middle_with(repeats=2)}),
    Build("basic_block", answer="BasicBlock", reference=_block_with("basic"),
          cases=_basic_cases, hint=BLOCK_HINT, **_ref, mistakes=_block_mistakes("basic")),
    Build("bottleneck", answer="Bottleneck", reference=_block_with("bottleneck"),
          also_right=(_block_with("bottleneck", stride_on_1x1=True),),
          cases=_bottleneck_cases, hint=BLOCK_HINT, **_ref, mistakes=_block_mistakes("bottleneck")),
]

CHECKS = checks_of(EXERCISES, __name__)
globals().update(CHECKS)


@isolated
def check_basic_block(BasicBlock, hidden: bool = False) -> None:
    """``BasicBlock(c_in, width, stride=1)``: (N, c_in, H, W) -> (N, width, H / stride, W / stride): the record
    basic_block's cases; with the hidden ones, ResNet-18 built from it has torchvision's parameter count."""
    CHECKS["check_basic_block"](BasicBlock, hidden=hidden)
    if hidden:
        _in_resnet(BasicBlock, 18, RESNET18_PARAMS, "BasicBlock")


@isolated
def check_bottleneck(Bottleneck, hidden: bool = False) -> None:
    """``Bottleneck(c_in, width, stride=1)``: (N, c_in, H, W) -> (N, 4 * width, H / stride, W / stride), the stride on
    the 3x3 (torchvision) or the first 1x1 (the paper): the record bottleneck's cases, then ResNet-50 built from it
    has torchvision's parameter count."""
    CHECKS["check_bottleneck"](Bottleneck, hidden=hidden)
    _in_resnet(Bottleneck, 50, RESNET50_PARAMS, "Bottleneck")   # check_zero_pad_shortcut (11), check_crop_and_flip (07), check_googlenet_loss (09)
