"""Neural-network pieces in NumPy, CS231n style: what weeks 1, 3 and 4 build by hand, as reference code.

    layers     linear / relu / sigmoid / softmax / log_softmax: forward -> (out, cache), backward -> grads
    conv       conv_forward/backward_naive (loops) and _fast (stride tricks), max / avg pooling
    norm       batchnorm (N, D) and spatial_batchnorm (N, C, H, W) with bn_param; inverted dropout
    losses     mse, bce (probabilities or logits), nll, softmax cross-entropy: -> (loss, dinput)
    optim      sgd_step(params, grads, lr); update(w, dw, config) -> (next_w, config): sgd,
               sgd_momentum, nesterov, rmsprop, adam, adamw (torch.optim's rules)
    init       xavier_uniform, xavier_normal, he_normal(shape, rng) with torch.nn.init's fans
    gradcheck  numeric_gradient(f, x, h), rel_error(a, b)
    net        TwoLayerNet: Linear -> ReLU -> Linear with softmax or binary cross-entropy

Layers with modes take a param dict: bn_param {"mode", "eps", "momentum", "running_mean",
"running_var"}, dropout_param {"p" (drop probability), "mode", "seed"}.
"""
from .conv import (avg_pool_backward, avg_pool_forward, conv_backward_fast, conv_backward_naive, conv_forward_fast,
                   conv_forward_naive, max_pool_backward, max_pool_forward)
from .gradcheck import numeric_gradient, rel_error
from .init import fans, he_normal, xavier_normal, xavier_uniform
from .layers import (linear_backward, linear_forward, log_softmax, log_softmax_backward, log_softmax_forward,
                     relu_backward, relu_forward, sigmoid, sigmoid_backward, sigmoid_forward, softmax,
                     softmax_backward, softmax_forward)
from .losses import bce_loss, bce_with_logits_loss, mse_loss, nll_loss, softmax_cross_entropy
from .net import TwoLayerNet
from .norm import (batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward,
                   spatial_batchnorm_backward, spatial_batchnorm_forward)
from .optim import adam, adamw, nesterov, rmsprop, sgd, sgd_momentum, sgd_step

__all__ = [
    "linear_forward", "linear_backward", "relu_forward", "relu_backward", "sigmoid", "sigmoid_forward",
    "sigmoid_backward", "softmax", "softmax_forward", "softmax_backward", "log_softmax", "log_softmax_forward",
    "log_softmax_backward", "mse_loss", "bce_loss", "bce_with_logits_loss", "nll_loss", "softmax_cross_entropy",
    "conv_forward_naive", "conv_backward_naive", "conv_forward_fast", "conv_backward_fast",
    "max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
    "batchnorm_forward", "batchnorm_backward", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "dropout_forward", "dropout_backward",
    "sgd_step", "sgd", "sgd_momentum", "nesterov", "rmsprop", "adam", "adamw",
    "fans", "xavier_uniform", "xavier_normal", "he_normal",
    "numeric_gradient", "rel_error", "TwoLayerNet",
]
