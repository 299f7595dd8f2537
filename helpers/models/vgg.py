"""VGG (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale
Image Recognition").

``CONFIGS`` is the paper's Table 1 as data: one list per stage, in the paper's notation
("conv3-64" = 3x3 convolution with 64 channels, "conv1-256" = 1x1, "LRN" = local
response normalization). Every stage ends in a 2x2/2 max pool (Section 2.1). All
convolutions have stride 1 and "same" padding, each followed by ReLU (2.1). The
classifier is FC-4096, FC-4096, FC-num_classes with dropout 0.5 after the first two
(Sections 2.1 and 3.1).

Layer names follow the authors' released Caffe models: conv1_1 .. conv5_3 grouped in
stages conv1 .. conv5, pools pool1 .. pool5, then fc6, fc7, fc8.

Deviations, both from torchvision so parameter counts match it (VGG-16: 138,357,544, the
"138M" of Table 2):
- ``*_bn`` variants put BatchNorm after every convolution (Ioffe & Szegedy 2015, after
  the paper);
- an adaptive 7x7 average pool before fc6 lets inputs larger than 224x224 reach the
  fully connected layers (the paper converts them to convolutions instead, 3.2).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .validation import check_images

CONFIGS = {
    "A":     [["conv3-64"], ["conv3-128"], ["conv3-256"] * 2, ["conv3-512"] * 2, ["conv3-512"] * 2],
    "A-LRN": [["conv3-64", "LRN"], ["conv3-128"], ["conv3-256"] * 2, ["conv3-512"] * 2,
              ["conv3-512"] * 2],
    "B":     [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 2, ["conv3-512"] * 2,
              ["conv3-512"] * 2],
    "C":     [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 2 + ["conv1-256"],
              ["conv3-512"] * 2 + ["conv1-512"], ["conv3-512"] * 2 + ["conv1-512"]],
    "D":     [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 3, ["conv3-512"] * 3,
              ["conv3-512"] * 3],
    "E":     [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 4, ["conv3-512"] * 4,
              ["conv3-512"] * 4],
}
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}   # weight layers -> Table 1 column


def make_stage(index: int, layers: list[str], c_in: int, batch_norm: bool,
               width_divisor: int = 1) -> tuple[nn.Sequential, int]:
    """One column block of Table 1 (without its max pool). Returns (stage, channels out)."""
    modules, n = OrderedDict(), 0
    for spec in layers:
        if spec == "LRN":
            modules["lrn"] = nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)
            continue
        kernel, width = (int(s) for s in spec.removeprefix("conv").split("-"))
        width //= width_divisor
        n += 1
        block = [nn.Conv2d(c_in, width, kernel, padding=kernel // 2)]
        if batch_norm:
            block.append(nn.BatchNorm2d(width))
        block.append(nn.ReLU())
        modules[f"conv{index}_{n}"] = nn.Sequential(*block)
        c_in = width
    return nn.Sequential(modules), c_in


def _fc(c_in, c_out):
    return nn.Sequential(nn.Linear(c_in, c_out), nn.ReLU(), nn.Dropout(0.5))


class VGG(nn.Sequential):
    """VGG net for one column of Table 1. Input (N, in_channels, H, W), H, W >= 32
    (16 when ``small``); output (N, num_classes).

    small: pool5 becomes a global max pool (so 28x28 inputs fit) and the 7x7 average
    pool is dropped; combine with ``width_divisor`` to shrink every layer.
    """

    def __init__(self, config: str = "D", *, batch_norm: bool = False, num_classes: int = 1000,
                 in_channels: int = 3, width_divisor: int = 1, small: bool = False,
                 arch: str = "vgg"):
        stages, c = OrderedDict(), in_channels
        for i, layers in enumerate(CONFIGS[config], start=1):
            stages[f"conv{i}"], c = make_stage(i, layers, c, batch_norm, width_divisor)
            stages[f"pool{i}"] = nn.MaxPool2d(2)
        if small:
            stages["pool5"] = nn.AdaptiveMaxPool2d(1)
        else:
            stages["avgpool"] = nn.AdaptiveAvgPool2d(7)
        grid = 1 if small else 7
        fc_width = 4096 // width_divisor
        super().__init__(OrderedDict(
            **stages,
            flatten=nn.Flatten(),
            fc6=_fc(c * grid * grid, fc_width),
            fc7=_fc(fc_width, fc_width),
            fc8=nn.Linear(fc_width, num_classes),
        ))
        self.arch, self.in_channels = arch, in_channels
        self.min_size = 16 if small else 32      # four / five unpadded 2x2 pools

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.arch, self.in_channels, self.min_size)
        return super().forward(x)


def _vgg(depth: int, batch_norm: bool, num_classes: int, in_channels: int) -> VGG:
    arch = f"vgg{depth}" + ("_bn" if batch_norm else "")
    return VGG(DEPTHS[depth], batch_norm=batch_norm, num_classes=num_classes,
               in_channels=in_channels, arch=arch)


def vgg11(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-11, Table 1 configuration A."""
    return _vgg(11, False, num_classes, in_channels)


def vgg11_bn(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-11, Table 1 configuration A, BatchNorm after every conv."""
    return _vgg(11, True, num_classes, in_channels)


def vgg13(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-13, Table 1 configuration B."""
    return _vgg(13, False, num_classes, in_channels)


def vgg13_bn(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-13, Table 1 configuration B, BatchNorm after every conv."""
    return _vgg(13, True, num_classes, in_channels)


def vgg16(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-16, Table 1 configuration D."""
    return _vgg(16, False, num_classes, in_channels)


def vgg16_bn(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-16, Table 1 configuration D, BatchNorm after every conv."""
    return _vgg(16, True, num_classes, in_channels)


def vgg19(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-19, Table 1 configuration E."""
    return _vgg(19, False, num_classes, in_channels)


def vgg19_bn(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
    """VGG-19, Table 1 configuration E, BatchNorm after every conv."""
    return _vgg(19, True, num_classes, in_channels)


def vgg_small(config: str = "A", *, in_channels: int = 3, num_classes: int = 10,
              batch_norm: bool = True, width_divisor: int = 8) -> VGG:
    """A Table 1 column shrunk for 28x28 / 32x32 images (an adaptation, not in the
    paper): every width divided by ``width_divisor`` (configuration A: 64 -> 8 ... 512 ->
    64 channels, fc6/fc7 with 512 units, about 0.45M parameters), pool5 a global max
    pool, BatchNorm on by default so it trains in a few CPU epochs."""
    return VGG(config, batch_norm=batch_norm, num_classes=num_classes, in_channels=in_channels,
               width_divisor=width_divisor, small=True, arch="vgg_small")
