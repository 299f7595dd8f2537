"""Neural-network pieces in NumPy, CS231n style: what week 1 builds by hand, as reference code.

    layers     linear / relu / sigmoid / softmax / log_softmax: forward -> (out, cache), backward -> grads
    losses     mse, bce (probabilities or logits), nll, softmax cross-entropy: -> (loss, dinput)
    optim      sgd_step(params, grads, lr)
    gradcheck  numeric_gradient(f, x, h), rel_error(a, b)
    net        TwoLayerNet: Linear -> ReLU -> Linear with softmax or binary cross-entropy
"""
from .gradcheck import numeric_gradient, rel_error
from .layers import (linear_backward, linear_forward, log_softmax, log_softmax_backward, log_softmax_forward,
                     relu_backward, relu_forward, sigmoid, sigmoid_backward, sigmoid_forward, softmax,
                     softmax_backward, softmax_forward)
from .losses import bce_loss, bce_with_logits_loss, mse_loss, nll_loss, softmax_cross_entropy
from .net import TwoLayerNet
from .optim import sgd_step

__all__ = [
    "linear_forward", "linear_backward", "relu_forward", "relu_backward", "sigmoid", "sigmoid_forward",
    "sigmoid_backward", "softmax", "softmax_forward", "softmax_backward", "log_softmax", "log_softmax_forward",
    "log_softmax_backward", "mse_loss", "bce_loss", "bce_with_logits_loss", "nll_loss", "softmax_cross_entropy",
    "sgd_step", "numeric_gradient", "rel_error", "TwoLayerNet",
]
