"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
Convolutional Neural Networks").

Architecture from Section 3.5 and Figure 2: five convolutional layers conv1..conv5 and
three fully connected layers fc6..fc8, with
- ReLU after every layer but the last (Section 3.1);
- local response normalization after conv1 and conv2 (Section 3.3, k=2, n=5,
  alpha=1e-4, beta=0.75);
- overlapping max pooling, 3x3 windows with stride 2, after conv1, conv2, conv5 (3.4);
- dropout 0.5 on the outputs of fc6 and fc7 (Section 4.2).
conv1 pads by 2 pixels, so a 224x224 image gives the paper's 55x55 conv1 maps (without
padding the paper's arithmetic needs 227x227).

The paper splits the network over two GPUs (Section 3.2): conv1..conv5 have
96, 256, 384, 384, 256 kernels, half on each GPU, and conv2, conv4, conv5 only see the
maps on their own GPU. ``alexnet(two_gpu=True)`` reproduces this with grouped
convolutions (``groups=2``) and LRN: 60,965,224 parameters ("60 million", Section 1).

The default ``alexnet()`` is the one-GPU variant torchvision ships (Krizhevsky 2014,
"One weird trick for parallelizing convolutional neural networks"): 64, 192, 384, 256,
256 kernels, no grouping, no LRN, and an adaptive 6x6 average pool before fc6 so inputs
other than 224x224 work. It has 61,100,840 parameters, as torchvision's ``alexnet``.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .validation import check_images

ONE_GPU_WIDTHS = (64, 192, 384, 256, 256)   # Krizhevsky 2014 / torchvision
TWO_GPU_WIDTHS = (96, 256, 384, 384, 256)   # the 2012 paper, Figure 2 (two halves each)
TWO_GPU_GROUPS = (1, 2, 1, 2, 2)            # conv3 is the only conv that crosses GPUs


def _conv(c_in, c_out, kernel, stride=1, padding=0, groups=1, lrn=False, batch_norm=False):
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups)]
    layers += [nn.BatchNorm2d(c_out), nn.ReLU()] if batch_norm else [nn.ReLU()]
    if lrn:
        layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
    return nn.Sequential(*layers)


def _fc(c_in, c_out, dropout):
    return nn.Sequential(nn.Linear(c_in, c_out), nn.ReLU(), nn.Dropout(dropout))


class AlexNet(nn.Sequential):
    """AlexNet as a sequence of the paper's layers.

    widths: kernels in conv1..conv5; groups: conv groups per layer (2 = two-GPU split);
    lrn: response normalization after conv1/conv2; batch_norm: BatchNorm before every
    conv's ReLU; small: 5x5 stride-1 conv1 and padded pooling for 28x28 / 32x32 inputs
    (see ``alexnet_small``); dropout: the probability of dropping a unit of fc6 and fc7 in
    training (the paper's 0.5, Section 4.2; 0 keeps every unit, the layers stay in place).
    Input (N, in_channels, H, W), output (N, num_classes).
    """

    def __init__(self, *, num_classes=1000, in_channels=3, widths=ONE_GPU_WIDTHS,
                 groups=(1, 1, 1, 1, 1), lrn=False, batch_norm=False, fc_width=4096, small=False,
                 dropout=0.5, arch="alexnet"):
        w1, w2, w3, w4, w5 = widths
        g1, g2, g3, g4, g5 = groups
        pad, grid = (1, 4) if small else (0, 6)
        conv1 = (5, 1, 2) if small else (11, 4, 2)   # kernel, stride, padding
        bn = batch_norm
        super().__init__(OrderedDict(
            conv1=_conv(in_channels, w1, *conv1, groups=g1, lrn=lrn, batch_norm=bn),
            pool1=nn.MaxPool2d(3, 2, pad),
            conv2=_conv(w1, w2, 5, padding=2, groups=g2, lrn=lrn, batch_norm=bn),
            pool2=nn.MaxPool2d(3, 2, pad),
            conv3=_conv(w2, w3, 3, padding=1, groups=g3, batch_norm=bn),
            conv4=_conv(w3, w4, 3, padding=1, groups=g4, batch_norm=bn),
            conv5=_conv(w4, w5, 3, padding=1, groups=g5, batch_norm=bn),
            pool5=nn.MaxPool2d(3, 2, pad),
            avgpool=nn.AdaptiveAvgPool2d(grid),
            flatten=nn.Flatten(),
            fc6=_fc(w5 * grid * grid, fc_width, dropout),
            fc7=_fc(fc_width, fc_width, dropout),
            fc8=nn.Linear(fc_width, num_classes),
        ))
        self.arch, self.in_channels = arch, in_channels
        # 63 is the smallest input that survives conv1 and the three unpadded 3x3 pools;
        # the padded pools of the small variant only need 8 (three halvings).
        self.min_size = 8 if small else 63

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.arch, self.in_channels, self.min_size)
        return super().forward(x)


def alexnet(*, num_classes: int = 1000, in_channels: int = 3, two_gpu: bool = False) -> AlexNet:
    """AlexNet for 224x224 images. ``two_gpu=False``: torchvision's one-GPU variant
    (61,100,840 parameters); ``two_gpu=True``: the 2012 paper's grouped layers and LRN
    (60,965,224 parameters)."""
    if two_gpu:
        return AlexNet(num_classes=num_classes, in_channels=in_channels, widths=TWO_GPU_WIDTHS,
                       groups=TWO_GPU_GROUPS, lrn=True)
    return AlexNet(num_classes=num_classes, in_channels=in_channels)


def alexnet_small(*, in_channels: int = 3, num_classes: int = 10, width_divisor: int = 4,
                  fc_width: int = 256, batch_norm: bool = True, dropout: float = 0.5) -> AlexNet:
    """AlexNet adapted to 28x28 / 32x32 images (an adaptation, not in the paper):
    conv1 is 5x5 with stride 1 instead of 11x11 with stride 4, the 3x3/2 pools are
    padded so 28 and 32 both end on a 4x4 grid, kernels are the one-GPU widths divided by
    ``width_divisor`` and fc6/fc7 have ``fc_width`` units (0.49M parameters).
    BatchNorm after every convolution is on by default (a later invention than the paper, in
    place of LRN); ``batch_norm=False`` gives the plain 8-layer net, which learns too, more slowly.
    ``dropout`` is the paper's 0.5 on fc6 and fc7 (Section 4.2); ``dropout=0`` switches it off
    (same layers, same parameters) to see what it does against overfitting."""
    widths = tuple(w // width_divisor for w in ONE_GPU_WIDTHS)
    return AlexNet(num_classes=num_classes, in_channels=in_channels, widths=widths,
                   batch_norm=batch_norm, fc_width=fc_width, small=True, dropout=dropout, arch="alexnet_small")
