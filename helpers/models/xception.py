"""Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable
Convolutions").

Architecture from Section 3 and Figure 5: an entry flow (two 3x3 convolutions, then
three residual blocks that downsample), a middle flow (eight identical residual blocks
at 19x19x728) and an exit flow (one downsampling residual block, then separable
convolutions with 1536 and 2048 channels), global average pooling and a linear
classifier. Every separable convolution is a 3x3 depthwise convolution followed by a
1x1 pointwise convolution with no nonlinearity in between (Section 4.7), and every
convolution is followed by BatchNorm (Figure 5 caption). Residual branches of the
downsampling blocks are 1x1 convolutions with stride 2.

Parameter count convention: Table 3 gives 22,855,952 parameters. That figure counts
convolution weights without biases, the BatchNorm scale and shift (gamma, beta), and
the 2048 -> 1000 classifier, but not BatchNorm's moving mean and variance: Keras reports
the same network as 22,910,480 "total" = 22,855,952 trainable + 54,528 moving
statistics. In PyTorch the moving statistics are buffers, not parameters, so
``xception()`` has exactly 22,855,952 parameters.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .validation import check_feature_map, check_images


class SeparableConv2d(nn.Sequential):
    """Depthwise 3x3 conv (one filter per channel) then pointwise 1x1 conv, no bias.
    (N, c_in, H, W) -> (N, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(OrderedDict(
            depthwise=nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False),
            pointwise=nn.Conv2d(c_in, c_out, 1, bias=False),
        ))
        self.c_in = c_in

    def forward(self, x):
        check_feature_map(x, "SeparableConv2d", self.c_in)
        return super().forward(x)


def sepconv_bn(c_in: int, c_out: int, relu_before: bool = True) -> nn.Sequential:
    """[ReLU] -> SeparableConv -> BatchNorm, the unit Figure 5 repeats."""
    layers = [nn.ReLU()] if relu_before else []
    return nn.Sequential(*layers, SeparableConv2d(c_in, c_out), nn.BatchNorm2d(c_out))


class XceptionBlock(nn.Module):
    """Residual block of Figure 5: separable convolutions with the given output
    ``widths``, plus a 3x3/2 max pool and a strided 1x1 projection shortcut when
    ``downsample``, or an identity shortcut otherwise."""

    def __init__(self, c_in: int, widths: list[int], downsample: bool, relu_first: bool = True):
        super().__init__()
        self.c_in = c_in
        layers, c = [], c_in
        for i, width in enumerate(widths):
            layers.append(sepconv_bn(c, width, relu_before=relu_first or i > 0))
            c = width
        if downsample:
            layers.append(nn.MaxPool2d(3, 2, padding=1))
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c, 1, stride=2, bias=False),
                                          nn.BatchNorm2d(c))
        else:
            self.shortcut = nn.Identity()
        self.residual = nn.Sequential(*layers)

    def forward(self, x):
        check_feature_map(x, "XceptionBlock", self.c_in)
        return self.residual(x) + self.shortcut(x)


def _conv_bn_relu(c_in, c_out, stride, padding):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class Xception(nn.Module):
    """Xception. Input (N, in_channels, H, W), output (N, num_classes) logits.

    width_divisor divides every channel count of Figure 5; middle_blocks is the number
    of middle-flow repetitions (8 in the paper); small: stride-1, padded stem
    convolutions for 28x28 / 32x32 inputs (see ``xception_small``).
    """

    def __init__(self, *, num_classes=1000, in_channels=3, width_divisor=1, middle_blocks=8,
                 small=False, arch="xception"):
        super().__init__()
        w = [c // width_divisor for c in (32, 64, 128, 256, 728, 1024, 1536, 2048)]
        stride, padding = (1, 1) if small else (2, 0)
        self.entry_flow = nn.Sequential(OrderedDict(
            conv1=_conv_bn_relu(in_channels, w[0], stride, padding),   # 299 -> 149
            conv2=_conv_bn_relu(w[0], w[1], 1, padding),               # 149 -> 147
            block1=XceptionBlock(w[1], [w[2], w[2]], True, relu_first=False),  # -> 74
            block2=XceptionBlock(w[2], [w[3], w[3]], True),                    # -> 37
            block3=XceptionBlock(w[3], [w[4], w[4]], True),                    # -> 19
        ))
        self.middle_flow = nn.Sequential(OrderedDict(
            (f"block{i}", XceptionBlock(w[4], [w[4]] * 3, False))
            for i in range(1, middle_blocks + 1)))
        self.exit_flow = nn.Sequential(OrderedDict(
            block=XceptionBlock(w[4], [w[4], w[5]], True),                     # -> 10
            sepconv1=nn.Sequential(*sepconv_bn(w[5], w[6], False), nn.ReLU()),
            sepconv2=nn.Sequential(*sepconv_bn(w[6], w[7], False), nn.ReLU()),
        ))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w[7], num_classes)
        self.arch, self.in_channels = arch, in_channels
        self.min_size = 16 if small else 32     # overall stride: 16 (small) or 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.arch, self.in_channels, self.min_size)
        x = self.exit_flow(self.middle_flow(self.entry_flow(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def xception(*, num_classes: int = 1000, in_channels: int = 3) -> Xception:
    """Xception for 299x299 images (Figure 5): 22,855,952 parameters, as Table 3."""
    return Xception(num_classes=num_classes, in_channels=in_channels)


def xception_small(*, in_channels: int = 3, num_classes: int = 10, width_divisor: int = 4,
                   middle_blocks: int = 2) -> Xception:
    """Xception adapted to 28x28 / 32x32 images (an adaptation, not in the paper):
    stride-1, padded stem convolutions (32 -> 16 -> 8 -> 4 -> 2 through the four
    downsampling blocks), every width of Figure 5 divided by ``width_divisor``
    and ``middle_blocks`` middle-flow blocks instead of 8 (0.72M parameters)."""
    return Xception(num_classes=num_classes, in_channels=in_channels, width_divisor=width_divisor,
                    middle_blocks=middle_blocks, small=True, arch="xception_small")
