"""helpers.scratch.conv against torch.nn.functional in float64, numeric gradients, and the naive loops.

Shapes the notebooks do not show: odd and non-square images, non-square kernels, stride 2 and
3 with padding, one channel and many. Each case: forward equals F.conv2d / F.max_pool2d /
F.avg_pool2d, backward equals autograd's vector-Jacobian product (relative error <= 1e-8) and
the central-difference gradient; the fast convolution equals the naive one.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_scratch import torch_vjp

from helpers import scratch
from helpers.scratch import numeric_gradient, rel_error

TORCH_TOL = 1e-8   # vs torch, float64
NUM_TOL = 1e-7     # vs central differences (test_scratch's tolerance)
# Convolution and average pooling are linear in each input, max pooling is linear between ties
# (the inputs below are 0.1 apart), so the central difference has no truncation error: a step of
# 1e-3 instead of the default 1e-5 only cuts its rounding error (eps * |f| / h) a hundredfold.
H = 1e-3
FAST_TOL = 1e-10   # fast vs naive: the same sums in another order, so equal up to rounding
rng = np.random.default_rng(3)

# (x shape, w shape, stride, pad): output sizes worked out in the comments
CONV_CASES = [
    ((2, 3, 7, 5), (4, 3, 3, 3), 2, 1),    # odd, non-square: H' = (7+2-3)/2+1 = 4, W' = (5+2-3)/2+1 = 3
    ((1, 1, 6, 9), (2, 1, 3, 2), 1, 0),    # one channel, non-square kernel: 4 x 8
    ((3, 5, 9, 7), (6, 5, 5, 3), 2, 2),    # many channels, 5x3 kernel: 5 x 5
    ((2, 2, 8, 8), (3, 2, 1, 1), 3, 1),    # 1x1 kernel, stride 3 with padding: 4 x 4
    ((1, 4, 5, 11), (1, 4, 5, 5), 2, 2),   # one filter, kernel as tall as the image: 3 x 6
]
CONV_IDS = [f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}" for c in CONV_CASES]


def conv_inputs(x_shape, w_shape):
    return rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch_numeric_and_fast(x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape)
    param = {"stride": stride, "pad": pad}
    out, cache = scratch.conv_forward_naive(x, w, b, param)
    dout = rng.normal(size=out.shape)
    t_out, t_grads = torch_vjp(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad), [x, w, b], dout)
    assert out.shape == t_out.shape
    assert rel_error(out, t_out) <= TORCH_TOL
    grads = scratch.conv_backward_naive(dout, cache)
    for name, ours, theirs, inp in zip("x w b".split(), grads, t_grads, (x, w, b)):
        assert ours.shape == inp.shape, name
        assert rel_error(ours, theirs) <= TORCH_TOL, name

    fast_out, fast_cache = scratch.conv_forward_fast(x, w, b, param)
    assert rel_error(fast_out, out) <= FAST_TOL
    for name, fast, naive in zip("x w b".split(), scratch.conv_backward_fast(dout, fast_cache), grads):
        assert fast.shape == naive.shape and rel_error(fast, naive) <= FAST_TOL, name

    def f(which):
        return lambda v: scratch.conv_forward_fast(*[v if k == which else a for k, a in enumerate((x, w, b))],
                                                   param)[0]
    for k, (name, inp) in enumerate(zip("x w b".split(), (x, w, b))):
        assert rel_error(grads[k], numeric_gradient(f(k), inp.copy(), h=H, dout=dout)) <= NUM_TOL, name


def test_conv_is_cross_correlation_with_known_values():
    """A hand-checked case: the kernel is not flipped, zero padding adds zeros, the bias is added once."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])   # top-left minus bottom-right (flipped, it would be +4)
    for forward in (scratch.conv_forward_naive, scratch.conv_forward_fast):
        out, _ = forward(x, w, np.array([0.5]), {"stride": 1, "pad": 0})
        np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -4.0 + 0.5))
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    expected = [[0, -2, 0], [-8, 5 - 10, 7], [0, 13, 15]]   # padded 6x6, windows at rows/cols 0, 2, 4
    for forward in (scratch.conv_forward_naive, scratch.conv_forward_fast):
        out, _ = forward(x, w, np.array([0.0]), {"stride": 2, "pad": 1})
        np.testing.assert_array_equal(out[0, 0], expected)


def test_fast_conv_equals_naive_on_a_batch():
    x, w, b = conv_inputs((4, 3, 16, 12), (8, 3, 3, 3))
    param = {"stride": 1, "pad": 1}
    (naive, cn), (fast, cf) = scratch.conv_forward_naive(x, w, b, param), scratch.conv_forward_fast(x, w, b, param)
    assert fast.shape == (4, 8, 16, 12) and rel_error(fast, naive) <= FAST_TOL
    dout = rng.normal(size=fast.shape)
    for a, c in zip(scratch.conv_backward_naive(dout, cn), scratch.conv_backward_fast(dout, cf)):
        assert rel_error(a, c) <= FAST_TOL


def test_conv_keeps_float32():
    x, w, b = (a.astype(np.float32) for a in conv_inputs((1, 2, 5, 5), (3, 2, 3, 3)))
    for forward in (scratch.conv_forward_naive, scratch.conv_forward_fast):
        assert forward(x, w, b, {"stride": 1, "pad": 1})[0].dtype == np.float32


# --- pooling --------------------------------------------------------------------------------------

# (x shape, pool height, pool width, stride)
POOL_CASES = [
    ((2, 3, 8, 6), 2, 2, 2),     # the usual halving, non-square image
    ((1, 1, 7, 9), 3, 3, 2),     # one channel, odd sizes, overlapping windows (stride < pool)
    ((3, 6, 5, 7), 2, 3, 1),     # many channels, non-square window, stride 1
    ((2, 2, 9, 7), 3, 1, 3),     # tall thin window, stride 3: 3 x 3
]
POOL_IDS = [f"x{c[0]}-{c[1]}x{c[2]}-s{c[3]}" for c in POOL_CASES]


def distinct_values(shape):
    """A shuffled grid 0.1 apart: no ties for max pooling, and no probe of size 1e-5 changes a window's max."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.1 - 5.0).reshape(shape)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, ph, pw, stride", POOL_CASES, ids=POOL_IDS)
def test_pool_matches_torch_and_numeric(kind, x_shape, ph, pw, stride):
    forward, backward, torch_fn = {
        "max": (scratch.max_pool_forward, scratch.max_pool_backward, F.max_pool2d),
        "avg": (scratch.avg_pool_forward, scratch.avg_pool_backward, F.avg_pool2d),
    }[kind]
    x = distinct_values(x_shape)
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = forward(x, param)
    dout = rng.normal(size=out.shape)
    t_out, (t_dx,) = torch_vjp(lambda t: torch_fn(t, (ph, pw), stride=stride), [x], dout)
    assert out.shape == t_out.shape
    assert rel_error(out, t_out) <= TORCH_TOL
    dx = backward(dout, cache)
    assert dx.shape == x.shape and rel_error(dx, t_dx) <= TORCH_TOL
    assert rel_error(dx, numeric_gradient(lambda v: forward(v, param)[0], x.copy(), h=H, dout=dout)) <= NUM_TOL


def test_max_pool_ties_go_to_the_first_maximum_like_torch():
    x = np.ones((1, 1, 4, 4))
    out, cache = scratch.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = scratch.max_pool_backward(np.ones((1, 1, 2, 2)), cache)
    _, (t_dx,) = torch_vjp(lambda t: F.max_pool2d(t, 2), [x], np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx, t_dx)
    assert dx.sum() == 4.0


# --- errors a learner can act on --------------------------------------------------------------------

X, W, B = np.zeros((2, 3, 32, 32)), np.zeros((16, 3, 3, 3)), np.zeros(16)
P1 = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.mark.parametrize("forward", [scratch.conv_forward_naive, scratch.conv_forward_fast], ids=["naive", "fast"])
@pytest.mark.parametrize("args, message", [
    ((np.zeros((3, 32, 32)), W, B, P1), r"expected x of shape \(N, C, H, W\), got \(3, 32, 32\)"),
    ((X, np.zeros((16, 3, 3)), B, P1), r"expected w of shape \(F, C, HH, WW\), got \(16, 3, 3\)"),
    ((np.zeros((2, 1, 32, 32)), W, B, P1),
     r"expected x with C = 3 channels to match w of shape \(F, C, HH, WW\) = \(16, 3, 3, 3\), got x of shape \(2, 1, 32, 32\)"),
    ((X, W, np.zeros(3), P1), r"expected b of shape \(F,\) with F = 16, got \(3,\)"),
    ((X, W, B, {"stride": 2, "pad": 1}),
     r"output height is not an integer: \(H \+ 2\*pad - HH\) / stride \+ 1 = \(32 \+ 2\*1 - 3\) / 2 \+ 1 = 16\.5"),
    ((np.zeros((1, 3, 33, 32)), W, B, {"stride": 2, "pad": 0}),
     r"output width is not an integer: \(W \+ 2\*pad - WW\) / stride \+ 1 = \(32 \+ 2\*0 - 3\) / 2 \+ 1 = 15\.5"),
    ((np.zeros((1, 3, 2, 2)), W, B, {"stride": 1, "pad": 0}), r"window is larger than the input: HH = 3 > height 2"),
    ((X, W, B, {"stride": 0, "pad": 1}), r"conv_param\['stride'\] must be a positive integer, got 0"),
    ((X, W, B, {"stride": 1, "pad": -1}), r"conv_param\['pad'\] must be a non-negative integer, got -1"),
    ((X, W, B, {"stride": 1.5, "pad": 1}), r"conv_param\['stride'\] must be a positive integer, got 1\.5"),
    ((X, W, B, {"stride": 1}), r"conv_param must be a dict with the key 'pad'"),
])
def test_conv_bad_inputs_raise_clear_errors(forward, args, message):
    with pytest.raises(ValueError, match=message):
        forward(*args)


@pytest.mark.parametrize("backward, forward", [(scratch.conv_backward_naive, scratch.conv_forward_naive),
                                               (scratch.conv_backward_fast, scratch.conv_forward_fast)])
def test_conv_backward_checks_dout(backward, forward):
    _, cache = forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)), np.zeros(4), P1)
    with pytest.raises(ValueError, match=r"expected dout of the layer's output shape \(2, 4, 8, 8\), got \(2, 4, 6, 6\)"):
        backward(np.zeros((2, 4, 6, 6)), cache)


@pytest.mark.parametrize("forward", [scratch.max_pool_forward, scratch.avg_pool_forward], ids=["max", "avg"])
@pytest.mark.parametrize("args, message", [
    ((np.zeros((32, 32)), POOL), r"expected x of shape \(N, C, H, W\), got \(32, 32\)"),
    ((np.zeros((1, 3, 7, 8)), POOL),
     r"output height is not an integer: \(H - pool_height\) / stride \+ 1 = \(7 - 2\) / 2 \+ 1 = 3\.5; change the stride"),
    ((np.zeros((1, 3, 8, 8)), {"pool_height": 2, "stride": 2}), r"pool_param must be a dict with the key 'pool_width'"),
    ((np.zeros((1, 3, 8, 8)), {"pool_height": 0, "pool_width": 2, "stride": 2}),
     r"pool_param\['pool_height'\] must be a positive integer, got 0"),
    ((np.zeros((1, 3, 1, 8)), POOL), r"window is larger than the input: pool_height = 2 > height 1"),
])
def test_pool_bad_inputs_raise_clear_errors(forward, args, message):
    with pytest.raises(ValueError, match=message):
        forward(*args)


@pytest.mark.parametrize("forward, backward", [(scratch.max_pool_forward, scratch.max_pool_backward),
                                               (scratch.avg_pool_forward, scratch.avg_pool_backward)])
def test_pool_backward_checks_dout(forward, backward):
    _, cache = forward(np.zeros((2, 3, 8, 6)), POOL)
    with pytest.raises(ValueError, match=r"expected dout of the layer's output shape \(2, 3, 4, 3\), got \(2, 3, 3, 4\)"):
        backward(np.zeros((2, 3, 3, 4)), cache)
