"""helpers.scratch against torch autograd (float64) and against numeric gradients.

Every forward is compared with the torch function; every backward with torch's gradient of
sum(out * dout) (a vector-Jacobian product, exactly what backward computes) and with the
central-difference gradient. Extreme logits must stay finite; bad shapes must raise
ValueErrors that say what was expected.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import scratch
from helpers.scratch import numeric_gradient, rel_error

TOL = 1e-7  # relative error, float64
rng = np.random.default_rng(0)


def torch_vjp(fn, inputs, dout):
    """Output of fn(*inputs) and the gradients of sum(fn(*inputs) * dout) w.r.t. each input."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in inputs]
    out = fn(*ts)
    (out * torch.as_tensor(dout, dtype=torch.float64)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def away_from_zero(shape, margin=0.05):
    """Random values with |x| >= margin, so ReLU's kink never sits inside a finite-difference step."""
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin, x)


# --- layers: forward and backward vs torch, backward vs numeric ----------------------------

ELEMENTWISE = [
    ("relu", scratch.relu_forward, scratch.relu_backward, torch.relu),
    ("sigmoid", scratch.sigmoid_forward, scratch.sigmoid_backward, torch.sigmoid),
    ("softmax", scratch.softmax_forward, scratch.softmax_backward, lambda s: torch.softmax(s, dim=1)),
    ("log_softmax", scratch.log_softmax_forward, scratch.log_softmax_backward, lambda s: torch.log_softmax(s, dim=1)),
]


@pytest.mark.parametrize("name, forward, backward, torch_fn", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_activation_matches_torch_and_numeric(name, forward, backward, torch_fn):
    x = away_from_zero((5, 7))
    dout = rng.normal(size=(5, 7))
    out, cache = forward(x)
    dx = backward(dout, cache)
    t_out, (t_dx,) = torch_vjp(torch_fn, [x], dout)
    assert out.shape == x.shape and dx.shape == x.shape
    assert rel_error(out, t_out) <= TOL
    assert rel_error(dx, t_dx) <= TOL
    num = numeric_gradient(lambda v: forward(v)[0], x.copy(), dout=dout)
    assert rel_error(dx, num) <= TOL


def test_linear_matches_torch_and_numeric():
    x, w, b = rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    dout = rng.normal(size=(6, 3))
    out, cache = scratch.linear_forward(x, w, b)
    dx, dw, db = scratch.linear_backward(dout, cache)
    t_out, (t_dx, t_dw, t_db) = torch_vjp(lambda x, w, b: x @ w + b, [x, w, b], dout)
    assert out.shape == (6, 3)
    for ours, theirs in ((out, t_out), (dx, t_dx), (dw, t_dw), (db, t_db)):
        assert ours.shape == theirs.shape
        assert rel_error(ours, theirs) <= TOL
    assert rel_error(dx, numeric_gradient(lambda v: scratch.linear_forward(v, w, b)[0], x.copy(), dout=dout)) <= TOL
    assert rel_error(dw, numeric_gradient(lambda v: scratch.linear_forward(x, v, b)[0], w.copy(), dout=dout)) <= TOL
    assert rel_error(db, numeric_gradient(lambda v: scratch.linear_forward(x, w, v)[0], b.copy(), dout=dout)) <= TOL


def test_linear_matches_torch_nn_linear():
    """Our (D, M) weight is the transpose of nn.Linear's (M, D) weight."""
    layer = torch.nn.Linear(4, 3).double()
    x = rng.normal(size=(2, 4))
    out, _ = scratch.linear_forward(x, layer.weight.detach().numpy().T, layer.bias.detach().numpy())
    assert rel_error(out, layer(torch.from_numpy(x)).detach().numpy()) <= TOL


def test_relu_gradient_at_zero_is_zero_like_torch():
    x = np.array([[-1.0, 0.0, 2.0]])
    dx = scratch.relu_backward(np.ones((1, 3)), scratch.relu_forward(x)[1])
    _, (t_dx,) = torch_vjp(torch.relu, [x], np.ones((1, 3)))
    np.testing.assert_array_equal(dx, t_dx)


# --- losses ------------------------------------------------------------------------------

def _labels(n, c):
    return rng.integers(0, c, size=n)


def test_mse_matches_torch_and_numeric():
    pred, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 2))
    loss, dpred = scratch.mse_loss(pred, y)
    t_loss, (t_d, _) = torch_vjp(lambda p, t: F.mse_loss(p, t), [pred, y], 1.0)
    assert rel_error(loss, t_loss) <= TOL and rel_error(dpred, t_d) <= TOL
    assert rel_error(dpred, numeric_gradient(lambda v: scratch.mse_loss(v, y)[0], pred.copy())) <= TOL


def test_bce_from_probabilities_matches_torch_and_numeric():
    p, y = rng.uniform(0.05, 0.95, size=10), rng.integers(0, 2, size=10).astype(float)
    loss, dp = scratch.bce_loss(p, y)
    t_loss, (t_dp, _) = torch_vjp(lambda p, t: F.binary_cross_entropy(p, t), [p, y], 1.0)
    assert rel_error(loss, t_loss) <= TOL and rel_error(dp, t_dp) <= TOL
    assert rel_error(dp, numeric_gradient(lambda v: scratch.bce_loss(v, y)[0], p.copy())) <= TOL


def test_bce_with_logits_matches_torch_and_numeric():
    z, y = rng.normal(scale=3, size=10), rng.integers(0, 2, size=10).astype(float)
    loss, dz = scratch.bce_with_logits_loss(z, y)
    t_loss, (t_dz, _) = torch_vjp(lambda z, t: F.binary_cross_entropy_with_logits(z, t), [z, y], 1.0)
    assert rel_error(loss, t_loss) <= TOL and rel_error(dz, t_dz) <= TOL
    assert rel_error(dz, numeric_gradient(lambda v: scratch.bce_with_logits_loss(v, y)[0], z.copy())) <= TOL


def test_nll_matches_torch_and_numeric():
    lp, y = np.log(scratch.softmax(rng.normal(size=(6, 4)))), _labels(6, 4)
    loss, dlp = scratch.nll_loss(lp, y)
    ts = torch.tensor(lp, requires_grad=True)
    t_loss = F.nll_loss(ts, torch.from_numpy(y))
    t_loss.backward()
    assert rel_error(loss, t_loss.item()) <= TOL and rel_error(dlp, ts.grad.numpy()) <= TOL
    assert rel_error(dlp, numeric_gradient(lambda v: scratch.nll_loss(v, y)[0], lp.copy())) <= TOL


def test_softmax_cross_entropy_matches_torch_and_numeric():
    s, y = rng.normal(scale=2, size=(7, 5)), _labels(7, 5)
    loss, ds = scratch.softmax_cross_entropy(s, y)
    ts = torch.tensor(s, requires_grad=True)
    t_loss = F.cross_entropy(ts, torch.from_numpy(y))
    t_loss.backward()
    assert rel_error(loss, t_loss.item()) <= TOL and rel_error(ds, ts.grad.numpy()) <= TOL
    assert rel_error(ds, numeric_gradient(lambda v: scratch.softmax_cross_entropy(v, y)[0], s.copy())) <= TOL


# --- extreme inputs: finite, and still equal to torch ------------------------------------

BIG = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, 1000.0]])


def test_sigmoid_extremes_finite_without_overflow():
    with np.errstate(over="raise", invalid="raise"):
        s = scratch.sigmoid(BIG)
        out, cache = scratch.sigmoid_forward(BIG)
        dx = scratch.sigmoid_backward(np.ones_like(BIG), cache)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(s, torch.sigmoid(torch.from_numpy(BIG)).numpy(), rtol=0, atol=1e-300)


def test_softmax_and_log_softmax_extremes():
    with np.errstate(over="raise", invalid="raise"):
        p = scratch.softmax(BIG)
        lp = scratch.log_softmax(BIG)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(lp, torch.log_softmax(torch.from_numpy(BIG), 1).numpy(), rtol=1e-12)


def test_losses_on_extreme_logits_are_finite_and_match_torch():
    y = np.array([0, 1])
    loss, ds = scratch.softmax_cross_entropy(BIG, y)
    assert np.isfinite(loss) and np.all(np.isfinite(ds))
    assert loss == pytest.approx(F.cross_entropy(torch.from_numpy(BIG), torch.from_numpy(y)).item(), rel=1e-12)
    z, t = np.array([1000.0, -1000.0, 1000.0, -1000.0]), np.array([1.0, 0.0, 0.0, 1.0])
    with np.errstate(over="raise", invalid="raise"):
        loss, dz = scratch.bce_with_logits_loss(z, t)
    assert loss == pytest.approx(500.0) and np.all(np.isfinite(dz))  # two perfect (0), two wrong by 1000 each
    assert loss == pytest.approx(F.binary_cross_entropy_with_logits(torch.from_numpy(z), torch.from_numpy(t)).item())
    loss, dp = scratch.bce_loss(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0]))
    assert np.isfinite(loss) and np.all(np.isfinite(dp))


# --- network, optimiser, gradient checker ------------------------------------------------

@pytest.mark.parametrize("num_classes", [1, 4])
def test_two_layer_net_matches_torch_and_numeric(num_classes):
    net = scratch.TwoLayerNet(5, 6, num_classes, seed=1)
    x = rng.normal(size=(9, 5))
    y = rng.integers(0, max(num_classes, 2), size=9)
    loss, grads = net.loss(x, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    scores = torch.relu(torch.from_numpy(x) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    if num_classes == 1:
        t_loss = F.binary_cross_entropy_with_logits(scores[:, 0], torch.from_numpy(y).double())
    else:
        t_loss = F.cross_entropy(scores, torch.from_numpy(y))
    t_loss.backward()
    assert rel_error(loss, t_loss.item()) <= TOL
    for k, p in net.params.items():
        assert grads[k].shape == p.shape
        assert rel_error(grads[k], t[k].grad.numpy()) <= TOL, k
        num = numeric_gradient(lambda v: net.loss(x, y)[0], p)  # p is perturbed in place
        assert rel_error(grads[k], num) <= 1e-6, k  # a ReLU kink may sit near a probe
    assert net.predict(x).shape == (9,)


def test_two_layer_net_is_seeded_and_learns():
    a, b = scratch.TwoLayerNet(3, 8, 2, seed=3), scratch.TwoLayerNet(3, 8, 2, seed=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    x = rng.normal(size=(64, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    first = a.loss(x, y)[0]
    for _ in range(200):
        scratch.sgd_step(a.params, a.loss(x, y)[1], lr=0.2)
    assert a.loss(x, y)[0] < 0.5 * first
    assert a.accuracy(x, y) > 0.9


def test_sgd_step_updates_in_place():
    params = {"w": np.array([1.0, 2.0])}
    same = params["w"]
    out = scratch.sgd_step(params, {"w": np.array([0.5, -1.0])}, lr=0.1)
    assert out is params and params["w"] is same
    np.testing.assert_allclose(same, [0.95, 2.1])


def test_numeric_gradient_is_central_and_restores_x():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    before = x.copy()
    num = numeric_gradient(lambda v: np.sum(v ** 3), x, h=1e-3)
    np.testing.assert_array_equal(x, before)
    # central difference of a cubic: 3x^2 + h^2, exactly (up to rounding)
    np.testing.assert_allclose(num, 3 * before ** 2 + 1e-6, rtol=1e-7)


def test_rel_error_values():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0


# --- errors a learner can act on --------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: scratch.linear_forward(np.zeros((4, 2)), np.zeros((3, 5)), np.zeros(5)),
     r"expected x of shape \(N, D\) with D = 3, got \(4, 2\)"),
    (lambda: scratch.linear_forward(np.zeros(3), np.zeros((3, 5)), np.zeros(5)),
     r"expected x of shape \(N, D\) with D = 3, got \(3,\)"),
    (lambda: scratch.linear_forward(np.zeros((4, 3)), np.zeros((3, 5)), np.zeros(4)),
     r"expected b of shape \(M,\) with M = 5, got \(4,\)"),
    (lambda: scratch.linear_forward(np.zeros((4, 3)), np.zeros(3), np.zeros(4)),
     r"expected w of shape \(D, M\), got \(3,\)"),
    (lambda: scratch.linear_backward(np.zeros((4, 4)), scratch.linear_forward(np.zeros((4, 3)), np.zeros((3, 5)), np.zeros(5))[1]),
     r"expected dout of shape \(N, M\) = \(4, 5\), got \(4, 4\)"),
    (lambda: scratch.relu_backward(np.zeros((2, 3)), scratch.relu_forward(np.zeros((3, 2)))[1]),
     r"expected dout of the same shape as the layer's output \(3, 2\), got \(2, 3\)"),
    (lambda: scratch.softmax(np.zeros(5)), r"expected scores of shape \(N, C\), got \(5,\)"),
    (lambda: scratch.mse_loss(np.zeros((4, 1)), np.zeros(4)), r"expected y of the same shape as pred \(4, 1\), got \(4,\)"),
    (lambda: scratch.bce_with_logits_loss(np.zeros(4), np.zeros((4, 1))), r"same shape as logits"),
    (lambda: scratch.bce_loss(np.array([1.5]), np.array([1.0])), r"probs must lie in \[0, 1\]"),
    (lambda: scratch.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 1])), r"expected labels y of shape \(N,\) with N = 3, got \(2,\)"),
    (lambda: scratch.softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 4])), r"labels must lie in \[0, 4\)"),
    (lambda: scratch.nll_loss(np.zeros((2, 4)), np.array([0.5, 1.0])), r"expected integer class labels"),
    (lambda: scratch.sgd_step({"w": np.zeros(2)}, {"w": np.zeros(3)}, 0.1), r"grads\['w'\] has shape \(3,\), expected \(2,\)"),
    (lambda: scratch.sgd_step({"w": np.zeros(2)}, {"v": np.zeros(2)}, 0.1), r"same keys"),
    (lambda: numeric_gradient(lambda v: v * 2, np.zeros(3)), r"pass dout"),
    (lambda: numeric_gradient(lambda v: 0.0, np.zeros(3, dtype=int)), r"float NumPy array"),
    (lambda: rel_error(np.zeros(2), np.zeros(3)), r"shapes \(2,\) and \(3,\)"),
    (lambda: scratch.TwoLayerNet(4, 0, 3), r"hidden_dim must be a positive integer"),
    (lambda: scratch.TwoLayerNet(4, 5, 1).loss(np.zeros((3, 4)), np.zeros((3, 1))), r"expected y of shape \(N,\) with N = 3"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
