"""ResNet (He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image Recognition").

ImageNet networks from Table 1: conv1 (7x7/2, 64), then stages conv2_x .. conv5_x of
residual blocks (conv2_x starts with a 3x3/2 max pool), global average pool and a
1000-way fc. Blocks (Section 3.3, Figure 5) are "basic" (two 3x3 convolutions;
ResNet-18/34) or "bottleneck" (1x1 reduce, 3x3, 1x1 expand x4; ResNet-50/101/152).
BatchNorm follows every convolution, before the ReLU (Section 3.4). Shortcuts are
identities, or 1x1 projections where the shape changes (option B, Section 3.3). The
first block of conv3_x, conv4_x, conv5_x downsamples with stride 2; blocks are named
conv3_1, conv3_2, ... as in the paper's text. Weights are initialized as in He et al.
2015b (Kaiming normal), as Section 3.4 says.

Deviation (torchvision's "ResNet v1.5", same parameter count): a bottleneck block puts
its stride on the 3x3 convolution; the paper's released models put it on the first 1x1,
``resnet50(paper=True)`` does that.

``resnet_small`` is the CIFAR-10 network of Section 4.2: a 3x3 conv with 16 filters,
three stages of n basic blocks on 32x32, 16x16, 8x8 maps with 16, 32, 64 filters,
global average pool, fc; depth = 6n + 2 (ResNet-20, 32, 44, 56, 110) and parameter-free
shortcuts (option A: subsample and pad the new channels with zeros).

``residual=False`` builds the paper's "plain" baselines (Section 4.1, Figure 4; Section 4.2,
Figure 6): the same convolutions and BatchNorms, no shortcut and no addition. With option A
shortcuts (parameter-free) a plain net has exactly its residual twin's parameters.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .validation import check_feature_map, check_images


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Convolution without bias (BatchNorm supplies the shift) + BatchNorm."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class PadShortcut(nn.Module):
    """Option A shortcut (Section 3.3): identity that subsamples by ``stride`` (keeps pixels
    0, stride, 2 stride, ...) and appends the extra ``c_out - c_in`` channels as zeros after
    the input's channels; no parameters. (N, c_in, H, W) -> (N, c_out, ceil(H / s), ceil(W / s))."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.extra, self.stride = c_out - c_in, stride

    def forward(self, x):
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra))


def shortcut(c_in: int, c_out: int, stride: int, option: str) -> nn.Module:
    if c_in == c_out and stride == 1:
        return nn.Identity()
    return conv_bn(c_in, c_out, 1, stride) if option == "B" else PadShortcut(c_in, c_out, stride)


class BasicBlock(nn.Module):
    """Figure 5 left: relu(x + bn(conv3x3(relu(bn(conv3x3(x)))))).
    (N, c_in, H, W) -> (N, width, H / stride, W / stride)."""
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1, option: str = "B",
                 stride_on_1x1: bool = False, residual: bool = True):
        super().__init__()   # stride_on_1x1: no 1x1 conv here; kept so both blocks share a signature
        self.c_in, self.residual = c_in, residual   # residual=False: the plain block, relu(F(x))
        self.conv1 = conv_bn(c_in, width, 3, stride)
        self.conv2 = conv_bn(width, width, 3)
        self.shortcut = shortcut(c_in, width, stride, option) if residual else None

    def forward(self, x):
        check_feature_map(x, "BasicBlock", self.c_in)
        out = self.conv2(F.relu(self.conv1(x)))
        return F.relu(out + self.shortcut(x)) if self.residual else F.relu(out)


class Bottleneck(nn.Module):
    """Figure 5 right: 1x1 (width) -> 3x3 (width) -> 1x1 (4 * width), plus shortcut.
    (N, c_in, H, W) -> (N, 4 * width, H / stride, W / stride)."""
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1, option: str = "B",
                 stride_on_1x1: bool = False, residual: bool = True):
        super().__init__()
        s1, s3 = (stride, 1) if stride_on_1x1 else (1, stride)
        self.c_in, self.residual = c_in, residual
        self.conv1 = conv_bn(c_in, width, 1, s1)
        self.conv2 = conv_bn(width, width, 3, s3)
        self.conv3 = conv_bn(width, width * 4, 1)
        self.shortcut = shortcut(c_in, width * 4, stride, option) if residual else None

    def forward(self, x):
        check_feature_map(x, "Bottleneck", self.c_in)
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return F.relu(out + self.shortcut(x)) if self.residual else F.relu(out)


class ResNet(nn.Module):
    """ResNet. Input (N, in_channels, H, W), output (N, num_classes) logits.

    block: BasicBlock or Bottleneck; counts: blocks per stage (Table 1 column);
    widths: filters per stage; small: the CIFAR stem of Section 4.2 (3x3 conv, no max
    pool); option: "B" projection or "A" zero-padding shortcuts; residual=False: the plain
    network of the same depth (no shortcuts; the block must accept ``residual``).
    """

    def __init__(self, block, counts, *, num_classes=1000, in_channels=3,
                 widths=(64, 128, 256, 512), small=False, option="B", stride_on_1x1=False,
                 arch="resnet", residual=True):
        super().__init__()
        if small:
            self.conv1 = nn.Sequential(*conv_bn(in_channels, widths[0], 3), nn.ReLU())
        else:
            self.conv1 = nn.Sequential(*conv_bn(in_channels, widths[0], 7, 2), nn.ReLU())
        c = widths[0]
        for i, (n, width) in enumerate(zip(counts, widths)):
            stage = OrderedDict() if small or i > 0 else OrderedDict(maxpool=nn.MaxPool2d(3, 2, 1))
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                plain = {} if residual else {"residual": False}   # a block without the switch stays usable
                stage[f"conv{i + 2}_{j + 1}"] = block(c, width, stride, option=option,
                                                      stride_on_1x1=stride_on_1x1, **plain)
                c = width * block.expansion
            setattr(self, f"conv{i + 2}_x", nn.Sequential(stage))
        self.stages = len(counts)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        self.arch, self.in_channels = arch, in_channels
        self.min_size = 2 ** (len(counts) - 1) if small else 32    # overall stride
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.arch, self.in_channels, self.min_size)
        x = self.conv1(x)
        for i in range(self.stages):
            x = getattr(self, f"conv{i + 2}_x")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


TABLE1 = {  # depth: (block, blocks in conv2_x .. conv5_x)
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def resnet(depth: int, *, num_classes: int = 1000, in_channels: int = 3,
           paper: bool = False) -> ResNet:
    """ResNet-``depth`` from Table 1; ``paper=True`` strides the bottleneck's first 1x1."""
    if depth not in TABLE1:
        raise ValueError(f"ResNet depth must be one of {sorted(TABLE1)}, got {depth}")
    block, counts = TABLE1[depth]
    return ResNet(block, counts, num_classes=num_classes, in_channels=in_channels,
                  stride_on_1x1=paper, arch=f"resnet{depth}")


def resnet18(*, num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2]."""
    return resnet(18, num_classes=num_classes, in_channels=in_channels)


def resnet34(*, num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-34: basic blocks [3, 4, 6, 3]."""
    return resnet(34, num_classes=num_classes, in_channels=in_channels)


def resnet50(*, num_classes: int = 1000, in_channels: int = 3, paper: bool = False) -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3]."""
    return resnet(50, num_classes=num_classes, in_channels=in_channels, paper=paper)


def resnet101(*, num_classes: int = 1000, in_channels: int = 3, paper: bool = False) -> ResNet:
    """ResNet-101: bottleneck blocks [3, 4, 23, 3]."""
    return resnet(101, num_classes=num_classes, in_channels=in_channels, paper=paper)


def resnet152(*, num_classes: int = 1000, in_channels: int = 3, paper: bool = False) -> ResNet:
    """ResNet-152: bottleneck blocks [3, 8, 36, 3]."""
    return resnet(152, num_classes=num_classes, in_channels=in_channels, paper=paper)


def resnet_small(depth: int = 20, *, in_channels: int = 3, num_classes: int = 10,
                 widths: tuple = (16, 32, 64), residual: bool = True) -> ResNet:
    """The CIFAR-10 ResNet of Section 4.2 (depth = 6n + 2: 20, 32, 44, 56, 110), option A
    shortcuts; ResNet-20 has 0.27M parameters (Table 6). Takes square images of 4x4 or more (the course uses 16x16 to 32x32).
    ``residual=False``: the plain net of Figure 6 (same layers, same parameter count, no shortcuts);
    ``widths``: filters of the three stages (the paper's 16, 32, 64; narrower ones train faster on a CPU)."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n + 2 (20, 32, 44, 56, 110), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, (n, n, n), num_classes=num_classes, in_channels=in_channels,
                  widths=tuple(widths), small=True, option="A", residual=residual,
                  arch=f"resnet{depth}" if residual else f"plain{depth}")
