"""Paper models for weeks 3-4, one module per paper, plain ``torch.nn``.

Full-size constructors (torchvision's names):
    lenet5, alexnet, vgg11 .. vgg19_bn, googlenet, xception, resnet18 .. resnet152
Small variants for 28x28 / 32x32 images (MNIST, Fashion-MNIST, CIFAR-10), documented
adaptations that train on a CPU in seconds:
    lenet5 (natively small), alexnet_small, vgg_small, googlenet_small,
    xception_small, resnet_small (the CIFAR ResNet of He et al. Section 4.2)
Every constructor takes ``num_classes=`` and ``in_channels=`` as keyword-only arguments
(``alexnet_small(in_channels=1, num_classes=10)``): two ints that are easy to swap.
Only the architecture choice may come first: ``resnet(50)``, ``resnet_small(20)``,
``vgg_small("A")``.
``summary(model, input_size)`` tabulates output shapes, parameters and MACs per stage.
"""
from .alexnet import AlexNet, alexnet, alexnet_small
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet, googlenet_small
from .lenet import LeNet5, lenet5
from .resnet import (ResNet, resnet, resnet18, resnet34, resnet50, resnet101, resnet152,
                     resnet_small)
from .summary import summary
from .vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn,
                  vgg_small)
from .xception import Xception, xception, xception_small
from .autoencoders import ConvAutoencoder, DenoisingAutoencoder, MLPAutoencoder, check_unit_images
from .gan import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

__all__ = [
    "AlexNet", "alexnet", "alexnet_small",
    "GoogLeNet", "GoogLeNetOutputs", "googlenet", "googlenet_small",
    "LeNet5", "lenet5",
    "ResNet", "resnet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnet_small",
    "summary",
    "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "vgg_small",
    "Xception", "xception", "xception_small",
    "MLPAutoencoder", "ConvAutoencoder", "DenoisingAutoencoder", "check_unit_images",
    "MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator",
]
