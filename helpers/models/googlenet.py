"""GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going Deeper with Convolutions").

``INCEPTION_TABLE`` is the paper's Table 1 as data: for each inception module the
columns #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj. An inception module
(Section 4, Figure 2b) runs four branches on the same input and concatenates them:
1x1 conv; 1x1 reduce -> 3x3; 1x1 reduce -> 5x5; 3x3/1 max pool -> 1x1 projection.
The trunk (Table 1, Figure 3): conv1 7x7/2, pool1, conv2_reduce 1x1, conv2 3x3, pool2,
inception_3a-3b, pool3, inception_4a-4e, pool4, inception_5a-5b, 7x7 average pool,
dropout 40 %, linear. Two auxiliary classifiers (Section 5) sit on inception_4a (aux1)
and inception_4d (aux2): 5x5/3 average pool, 1x1 conv with 128 filters, FC-1024,
dropout 70 %, linear. They are used in training only; the paper adds their losses
with weight 0.3.

Outputs: in train mode with ``aux_logits=True`` the model returns
``GoogLeNetOutputs(logits, aux2, aux1)`` (the order torchvision uses, so
``logits, aux2, aux1 = model(x)`` works); otherwise a plain logits tensor.

Deviations of the default ``googlenet()``, the choices torchvision made, so the
parameter count matches its ``googlenet`` (6,624,904 without the auxiliary heads,
13,004,888 with them):
- every convolution is conv (no bias) + BatchNorm + ReLU (BatchNorm came after the
  paper) and there is no local response normalization;
- the "5x5" branch uses a 3x3 convolution;
- the average pools are adaptive (4x4 for the auxiliary heads, 1x1 at the end), so
  inputs other than 224x224 work.
``googlenet(paper=True)`` restores biases + ReLU without BatchNorm, the 5x5 kernels and
the two LRN layers of Figure 3 (6,998,552 parameters without auxiliary heads).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import torch
from torch import nn

from .validation import check_feature_map, check_images

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux2", "aux1"])

#                  #1x1 #3x3red #3x3 #5x5red #5x5 pool proj      (Table 1)
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def conv_block(c_in, c_out, kernel, stride=1, padding=0, batch_norm=True):
    """conv + ReLU (paper) or conv without bias + BatchNorm + ReLU (torchvision)."""
    if batch_norm:
        return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                             nn.BatchNorm2d(c_out), nn.ReLU())
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding), nn.ReLU())


class Inception(nn.Module):
    """Inception module with dimension reductions (Figure 2b).
    (N, c_in, H, W) -> (N, n1x1 + n3x3 + n5x5 + pool_proj, H, W)."""

    def __init__(self, c_in, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj,
                 batch_norm=True, k5=3):
        super().__init__()
        self.c_in = c_in
        self.branch1x1 = conv_block(c_in, n1x1, 1, batch_norm=batch_norm)
        self.branch3x3 = nn.Sequential(conv_block(c_in, n3x3red, 1, batch_norm=batch_norm),
                                       conv_block(n3x3red, n3x3, 3, 1, 1, batch_norm))
        self.branch5x5 = nn.Sequential(conv_block(c_in, n5x5red, 1, batch_norm=batch_norm),
                                       conv_block(n5x5red, n5x5, k5, 1, k5 // 2, batch_norm))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1),
                                         conv_block(c_in, pool_proj, 1, batch_norm=batch_norm))
        self.out_channels = n1x1 + n3x3 + n5x5 + pool_proj

    def forward(self, x):
        check_feature_map(x, "Inception", self.c_in)
        branches = (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class InceptionAux(nn.Sequential):
    """Auxiliary classifier (Section 5): (N, c_in, 14, 14) -> (N, num_classes)."""

    def __init__(self, c_in, num_classes, width_divisor=1, batch_norm=True):
        conv, fc = 128 // width_divisor, 1024 // width_divisor
        super().__init__(OrderedDict(
            avgpool=nn.AdaptiveAvgPool2d(4),       # paper: 5x5/3 average pool, 14x14 -> 4x4
            conv=conv_block(c_in, conv, 1, batch_norm=batch_norm),
            flatten=nn.Flatten(),
            fc1=nn.Sequential(nn.Linear(conv * 16, fc), nn.ReLU(), nn.Dropout(0.7)),
            fc2=nn.Linear(fc, num_classes),
        ))
        self.c_in = c_in

    def forward(self, x):
        check_feature_map(x, "InceptionAux", self.c_in)
        return super().forward(x)


class GoogLeNet(nn.Module):
    """GoogLeNet. Input (N, in_channels, H, W), output (N, num_classes) logits, or
    ``GoogLeNetOutputs`` in train mode with auxiliary classifiers (see module docstring).

    paper: biases instead of BatchNorm, true 5x5 kernels, LRN (module docstring).
    small: a 3x3 stride-1 conv1 and no pool1 for 28x28 / 32x32 inputs
    (see ``googlenet_small``); width_divisor divides every width of Table 1.
    """

    def __init__(self, *, num_classes=1000, in_channels=3, aux_logits=True, paper=False,
                 width_divisor=1, small=False, arch="googlenet"):
        super().__init__()
        bn, d = not paper, width_divisor

        def lrn():   # Figure 3's LocalRespNorm after pool1 and after conv2 (paper only)
            return [nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)] if paper else []

        if small:
            self.conv1 = conv_block(in_channels, 64 // d, 3, 1, 1, bn)
            self.pool1 = nn.Identity()
        else:
            self.conv1 = conv_block(in_channels, 64 // d, 7, 2, 3, bn)
            self.pool1 = nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), *lrn())
        self.conv2_reduce = conv_block(64 // d, 64 // d, 1, batch_norm=bn)
        self.conv2 = nn.Sequential(*conv_block(64 // d, 192 // d, 3, 1, 1, bn), *lrn())
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        c = 192 // d
        for name, widths in INCEPTION_TABLE.items():
            module = Inception(c, *(w // d for w in widths), batch_norm=bn, k5=5 if paper else 3)
            setattr(self, f"inception_{name}", module)
            c = module.out_channels
            if name == "3b":
                self.pool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
            if name == "4a" and aux_logits:
                self.aux1 = InceptionAux(c, num_classes, d, bn)
            if name == "4d" and aux_logits:
                self.aux2 = InceptionAux(c, num_classes, d, bn)
            if name == "4e":
                self.pool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)      # paper: 7x7/1 average pool
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(c, num_classes)
        self.aux_logits, self.arch, self.in_channels = aux_logits, arch, in_channels
        self.min_size = 8 if small else 32          # overall stride of the trunk

    def forward(self, x: torch.Tensor):
        check_images(x, self.arch, self.in_channels, self.min_size)
        aux = self.aux_logits and self.training
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(self.conv2_reduce(x)))
        x = self.pool3(self.inception_3b(self.inception_3a(x)))
        x = self.inception_4a(x)
        aux1 = self.aux1(x) if aux else None
        x = self.inception_4d(self.inception_4c(self.inception_4b(x)))
        aux2 = self.aux2(x) if aux else None
        x = self.pool4(self.inception_4e(x))
        x = self.inception_5b(self.inception_5a(x))
        logits = self.fc(torch.flatten(self.dropout(self.avgpool(x)), 1))
        return GoogLeNetOutputs(logits, aux2, aux1) if aux else logits


def googlenet(*, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True,
              paper: bool = False) -> GoogLeNet:
    """GoogLeNet for 224x224 images; torchvision's choices unless ``paper=True``."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits,
                     paper=paper)


def googlenet_small(*, in_channels: int = 3, num_classes: int = 10, aux_logits: bool = False,
                    width_divisor: int = 4) -> GoogLeNet:
    """GoogLeNet adapted to 28x28 / 32x32 images (an adaptation, not in the paper):
    conv1 is 3x3 with stride 1 and pool1 is dropped (32 -> 16 -> 8 -> 4 through pool2,
    pool3, pool4), and every width of Table 1 is divided by ``width_divisor``
    (0.36M parameters without auxiliary heads)."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits,
                     width_divisor=width_divisor, small=True, arch="googlenet_small")
