"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to
document recognition", Section II.B and Fig. 2), in the modified form week 3 builds.

Paper layer names: C1 (conv) -> S2 (subsampling) -> C3 (conv) -> S4 (subsampling)
-> C5 (conv) -> F6 (fully connected) -> output.

Modifications (the usual modern reading of the paper):
- max pooling in S2/S4 instead of the trainable average subsampling;
- ReLU instead of the scaled tanh squashing function;
- C3 sees all six S2 maps (the paper's Table I connects each C3 map to a subset);
- the output layer is fully connected (84 -> num_classes logits) instead of the
  Gaussian RBF units (paper eq. 7).

The paper feeds 32x32 images (MNIST's 28x28 digits padded). ``image_size=28`` pads C1
by 2 pixels instead, which gives the same 28x28 C1 maps.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .validation import check_images


class LeNet5(nn.Sequential):
    """Modified LeNet-5. Input (N, in_channels, image_size, image_size), output
    (N, num_classes) logits. 61,706 parameters for 1 channel and 10 classes."""

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10, image_size: int = 28):
        if image_size not in (28, 32):
            raise ValueError(f"LeNet-5 takes 28x28 or 32x32 images, got image_size={image_size}")
        pad = (32 - image_size) // 2
        super().__init__(OrderedDict(
            c1=nn.Sequential(nn.Conv2d(in_channels, 6, 5, padding=pad), nn.ReLU()),  # 6@28x28
            s2=nn.MaxPool2d(2),                                                      # 6@14x14
            c3=nn.Sequential(nn.Conv2d(6, 16, 5), nn.ReLU()),                        # 16@10x10
            s4=nn.MaxPool2d(2),                                                      # 16@5x5
            c5=nn.Sequential(nn.Conv2d(16, 120, 5), nn.ReLU()),                      # 120@1x1
            flatten=nn.Flatten(),
            f6=nn.Sequential(nn.Linear(120, 84), nn.ReLU()),
            output=nn.Linear(84, num_classes),
        ))
        self.in_channels, self.image_size = in_channels, image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "lenet5", self.in_channels, size=self.image_size)
        return super().forward(x)

    def __getitem__(self, idx):
        """``net[:-1]`` is a plain ``nn.Sequential`` of the same layers (nn.Sequential would rebuild a LeNet5
        from them, which its constructor cannot take); ``net[i]`` is one layer."""
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self.named_children())[idx]))
        return super().__getitem__(idx)


def lenet5(*, in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> LeNet5:
    """Modified LeNet-5 for ``image_size`` x ``image_size`` images (28: MNIST,
    Fashion-MNIST; 32: the paper's input size, CIFAR-10 with ``in_channels=3``)."""
    return LeNet5(in_channels=in_channels, num_classes=num_classes, image_size=image_size)
