"""helpers.scratch.norm against torch in float64.

BatchNorm: outputs, running statistics over several batches, then test mode, and gradients,
against nn.BatchNorm1d/2d and autograd (relative error <= 1e-8) and against numeric gradients.
Dropout: train/test behaviour, the 1/(1 - p) scale torch uses, the drop rate, seeded masks.
"""
import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import scratch
from helpers.scratch import numeric_gradient, rel_error

TORCH_TOL = 1e-8
NUM_TOL = 1e-7
rng = np.random.default_rng(5)


# --- batch normalisation --------------------------------------------------------------------------

def torch_bn(shape, gamma, beta, eps, momentum):
    cls = nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d
    bn = cls(shape[1], eps=eps, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
    return bn


def torch_step(bn, x, dout):
    xt = torch.tensor(x, requires_grad=True)
    bn.weight.grad = bn.bias.grad = None
    out = bn(xt)
    (out * torch.from_numpy(dout)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), bn.weight.grad.numpy(), bn.bias.grad.numpy()


BN_CASES = [
    ((7, 5), 1e-5, 0.1),         # odd batch
    ((2, 3), 1e-3, 0.3),         # the smallest batch train mode allows
    ((16, 1), 1e-5, 1.0),        # one feature; momentum 1 keeps only the last batch
    ((3, 4, 5, 7), 1e-5, 0.1),   # images: non-square, several channels
    ((2, 1, 3, 3), 1e-4, 0.2),   # one channel
    ((1, 6, 4, 5), 1e-5, 0.1),   # one image: each channel still has 20 values
]


@pytest.mark.parametrize("shape, eps, momentum", BN_CASES, ids=[str(c[0]) for c in BN_CASES])
def test_batchnorm_matches_torch_over_batches_then_test_mode(shape, eps, momentum):
    forward, backward = ((scratch.batchnorm_forward, scratch.batchnorm_backward) if len(shape) == 2 else
                         (scratch.spatial_batchnorm_forward, scratch.spatial_batchnorm_backward))
    c = shape[1]
    gamma, beta = rng.uniform(0.5, 2.0, size=c), rng.normal(size=c)
    bn = torch_bn(shape, gamma, beta, eps, momentum)
    bn_param = {"mode": "train", "eps": eps, "momentum": momentum}
    for batch in range(3):
        x = rng.normal(loc=2.0, scale=3.0, size=shape)
        dout = rng.normal(size=shape)
        out, cache = forward(x, gamma, beta, bn_param)
        t_out, t_dx, t_dgamma, t_dbeta = torch_step(bn.train(), x, dout)
        assert out.shape == shape
        assert rel_error(out, t_out) <= TORCH_TOL, batch
        assert rel_error(bn_param["running_mean"], bn.running_mean.numpy()) <= TORCH_TOL, batch
        assert rel_error(bn_param["running_var"], bn.running_var.numpy()) <= TORCH_TOL, batch
        for name, ours, theirs in zip(("dx", "dgamma", "dbeta"), backward(dout, cache), (t_dx, t_dgamma, t_dbeta)):
            assert ours.shape == theirs.shape and rel_error(ours, theirs) <= TORCH_TOL, (batch, name)

    bn_param["mode"] = "test"
    x, dout = rng.normal(size=shape), rng.normal(size=shape)
    before = bn_param["running_mean"].copy(), bn_param["running_var"].copy()
    out, cache = forward(x, gamma, beta, bn_param)
    t_out, t_dx, t_dgamma, t_dbeta = torch_step(bn.eval(), x, dout)
    assert rel_error(out, t_out) <= TORCH_TOL
    np.testing.assert_array_equal(bn_param["running_mean"], before[0])   # test mode changes nothing
    np.testing.assert_array_equal(bn_param["running_var"], before[1])
    for name, ours, theirs in zip(("dx", "dgamma", "dbeta"), backward(dout, cache), (t_dx, t_dgamma, t_dbeta)):
        assert rel_error(ours, theirs) <= TORCH_TOL, ("test", name)


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 3, 5)])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_backward_matches_numeric(shape, mode):
    forward, backward = ((scratch.batchnorm_forward, scratch.batchnorm_backward) if len(shape) == 2 else
                         (scratch.spatial_batchnorm_forward, scratch.spatial_batchnorm_backward))
    c = shape[1]
    x, gamma, beta = rng.normal(size=shape), rng.uniform(0.5, 2.0, size=c), rng.normal(size=c)
    stats = {"running_mean": rng.normal(size=c), "running_var": rng.uniform(0.5, 2.0, size=c)}

    def param():  # a fresh dict each call: train mode updates it in place
        return {"mode": mode, **{k: v.copy() for k, v in stats.items()}}

    dout = rng.normal(size=shape)
    _, cache = forward(x, gamma, beta, param())
    dx, dgamma, dbeta = backward(dout, cache)
    for name, ours, probe, arg in (("dx", dx, lambda v: forward(v, gamma, beta, param())[0], x),
                                   ("dgamma", dgamma, lambda v: forward(x, v, beta, param())[0], gamma),
                                   ("dbeta", dbeta, lambda v: forward(x, gamma, v, param())[0], beta)):
        assert rel_error(ours, numeric_gradient(probe, arg.copy(), dout=dout)) <= NUM_TOL, name


def test_batchnorm_defaults_are_torchs():
    bn_param = {"mode": "train"}
    x = rng.normal(size=(5, 3))
    scratch.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    assert bn_param["eps"] == 1e-5 and bn_param["momentum"] == 0.1
    # running stats started at 0 and 1, then moved 10 % of the way to the batch's (unbiased var)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-12)


def test_train_mode_normalises_each_feature():
    x = rng.normal(loc=5.0, scale=4.0, size=(50, 3))
    out, _ = scratch.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(0), 1.0, rtol=1e-5)


# --- dropout --------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_train_drops_p_and_scales_like_torch(p):
    x = rng.uniform(1.0, 2.0, size=(200, 500))
    out, cache = scratch.dropout_forward(x, {"p": p, "mode": "train", "seed": 0})
    dropped = np.mean(out == 0)
    assert abs(dropped - p) <= 5 * math.sqrt(p * (1 - p) / x.size)   # five standard errors
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
    t_out = nn.Dropout(p)(torch.ones(1000, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(np.unique(t_out[t_out != 0]), 1 / (1 - p), rtol=1e-12)   # torch's scale too
    assert abs(out.mean() / x.mean() - 1) < 0.02   # inverted dropout keeps the expectation
    dout = rng.normal(size=x.shape)
    np.testing.assert_array_equal(scratch.dropout_backward(dout, cache), dout * (kept / (1 - p)))


def test_dropout_test_mode_is_identity_like_eval():
    x = rng.normal(size=(4, 3, 2))
    out, cache = scratch.dropout_forward(x, {"p": 0.5, "mode": "test"})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(out, nn.Dropout(0.5).eval()(torch.from_numpy(x)).numpy())
    dout = rng.normal(size=x.shape)
    np.testing.assert_array_equal(scratch.dropout_backward(dout, cache), dout)


def test_dropout_edge_probabilities_and_seeds():
    x = rng.normal(size=(10, 10))
    np.testing.assert_array_equal(scratch.dropout_forward(x, {"p": 0.0, "mode": "train"})[0], x)
    out, _ = scratch.dropout_forward(x, {"p": 1.0, "mode": "train"})
    np.testing.assert_array_equal(out, np.zeros_like(x))
    np.testing.assert_array_equal(out, nn.Dropout(1.0)(torch.from_numpy(x)).numpy())
    a = scratch.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 1})[0]
    b = scratch.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 1})[0]
    c = scratch.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 2})[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_backward_matches_numeric():
    x, dout = rng.normal(size=(6, 7)), rng.normal(size=(6, 7))
    param = {"p": 0.3, "mode": "train", "seed": 4}
    _, cache = scratch.dropout_forward(x, param)
    dx = scratch.dropout_backward(dout, cache)
    num = numeric_gradient(lambda v: scratch.dropout_forward(v, param)[0], x.copy(), dout=dout)
    assert rel_error(dx, num) <= NUM_TOL


# --- errors ------------------------------------------------------------------------------------------

def bn(x, c=3, **param):
    return scratch.batchnorm_forward(x, np.ones(c), np.zeros(c), {"mode": "train", **param})


@pytest.mark.parametrize("call, message", [
    (lambda: bn(np.zeros((4, 2))), r"expected gamma of shape \(D,\) with D = 2, got \(3,\)"),
    (lambda: bn(np.zeros(3)), r"expected x of shape \(N, D\), got \(3,\)"),
    (lambda: bn(np.zeros((1, 3))), r"needs at least 2 values per feature, got x of shape \(1, 3\)"),
    (lambda: bn(np.zeros((4, 3)), mode="eval"), r"bn_param\['mode'\] must be 'train' or 'test', got 'eval' \(torch's model\.eval\(\) is mode 'test' here\)"),
    (lambda: scratch.batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), {}), r"bn_param\['mode'\] must be 'train' or 'test', got None"),
    (lambda: bn(np.zeros((4, 3)), eps=0), r"bn_param\['eps'\] must be > 0, got 0"),
    (lambda: bn(np.zeros((4, 3)), momentum=1.5), r"bn_param\['momentum'\] must be in \[0, 1\]"),
    (lambda: bn(np.zeros((4, 3)), running_mean=np.zeros(2)), r"expected bn_param\['running_mean'\] of shape \(D,\) with D = 3, got \(2,\)"),
    (lambda: scratch.spatial_batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), {"mode": "train"}),
     r"expected x of shape \(N, C, H, W\), got \(4, 3\)"),
    (lambda: scratch.spatial_batchnorm_forward(np.zeros((2, 4, 3, 3)), np.ones(3), np.zeros(3), {"mode": "train"}),
     r"expected gamma of shape \(D,\) with D = 4, got \(3,\)"),
    (lambda: scratch.batchnorm_backward(np.zeros((4, 2)), bn(np.ones((4, 3)))[1]),
     r"expected dout of the same shape as the layer's output \(4, 3\), got \(4, 2\)"),
    (lambda: scratch.spatial_batchnorm_backward(np.zeros((2, 3, 3, 2)), scratch.spatial_batchnorm_forward(
        np.zeros((2, 3, 2, 3)), np.ones(3), np.zeros(3), {"mode": "train"})[1]),
     r"expected dout of the layer's output shape \(2, 3, 2, 3\), got \(2, 3, 3, 2\)"),
    (lambda: scratch.dropout_forward(np.zeros(3), {"p": 1.5, "mode": "train"}),
     r"dropout_param\['p'\] is the drop probability and must be a number in \[0, 1\], got 1\.5"),
    (lambda: scratch.dropout_forward(np.zeros(3), {"mode": "train"}), r"dropout_param\['p'\] .* got None"),
    (lambda: scratch.dropout_forward(np.zeros(3), {"p": 0.5, "mode": "training"}), r"dropout_param\['mode'\] must be 'train' or 'test'"),
    (lambda: scratch.dropout_forward(np.zeros(3), None), r"dropout_param must be a dict with a 'mode' key"),
    (lambda: scratch.dropout_backward(np.zeros(4), scratch.dropout_forward(np.zeros(3), {"p": 0.5, "mode": "test"})[1]),
     r"expected dout of the layer's output shape \(3,\), got \(4,\)"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
