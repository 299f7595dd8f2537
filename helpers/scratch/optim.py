"""Optimisers on NumPy arrays.

``sgd_step(params, grads, lr)`` is week 1's stateless step over a dict of parameters (in place).

The stateful rules keep CS231n's shape, one parameter array at a time, with the state inside
``config``:

    config = {"learning_rate": 1e-3}                 # or None: every default
    for step in range(100):
        w, config = adam(w, grad_of(w), config)      # config now also holds "m", "v", "t"

``config`` is updated in place and returned; keep one config per parameter array (the state has
the array's shape). ``w`` itself is not modified: the next value is returned. The update rules are
torch.optim's, written out (lr may change between calls, as a schedule does, and the result still
matches torch):

    rule           hyperparameters (default)                            state          torch.optim
    sgd            learning_rate (1e-2), weight_decay (0)                -              SGD
    sgd_momentum   + momentum (0.9)                                      velocity       SGD(momentum=)
    nesterov       + momentum (0.9)                                      velocity       SGD(nesterov=True)
    rmsprop        learning_rate (1e-2), decay_rate (0.99), epsilon      cache          RMSprop
                   (1e-8), weight_decay (0), momentum (0), centered      (+ velocity,
                   (False)                                               grad_avg)
    adam           learning_rate (1e-3), beta1 (0.9), beta2 (0.999),     m, v, t        Adam
                   epsilon (1e-8), weight_decay (0: L2 added to dw)
    adamw          as adam, weight_decay (1e-2: decoupled, w shrinks     m, v, t        AdamW
                   by learning_rate * weight_decay * w)

Names map to torch's as learning_rate = lr, decay_rate = alpha, epsilon = eps,
(beta1, beta2) = betas. A key that is not listed (say "lr") is an error, not silently ignored.
"""
from __future__ import annotations

import numpy as np


def sgd_step(params: dict, grads: dict, lr: float) -> dict:
    """Update every parameter in place, ``params[k] -= lr * grads[k]``, and return ``params``.

    params, grads: dicts with the same keys and matching array shapes.
    """
    if set(params) != set(grads):
        raise ValueError(f"params and grads must have the same keys, got {sorted(params)} and {sorted(grads)}")
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr}")
    for k, p in params.items():
        g = np.asarray(grads[k])
        if g.shape != np.shape(p):
            raise ValueError(f"grads[{k!r}] has shape {g.shape}, expected {np.shape(p)} like params[{k!r}]")
        p -= lr * g
    return params


# --- config handling ------------------------------------------------------------------------------

_TORCH_NAMES = {"lr": "learning_rate", "eps": "epsilon", "alpha": "decay_rate", "betas": "beta1 and beta2",
                "velocity_buffer": "velocity", "momentum_buffer": "velocity", "exp_avg": "m", "exp_avg_sq": "v",
                "square_avg": "cache", "step": "t"}


def _setup(rule: str, w, dw, config, defaults: dict, state: tuple):
    """Check w, dw and config; fill in the defaults; return (w, dw, config)."""
    w = np.asarray(w)
    if w.dtype.kind != "f":
        raise ValueError(f"{rule}: expected w to be a float array, got dtype {w.dtype}")
    dw = np.asarray(dw)
    if dw.shape != w.shape:
        raise ValueError(f"{rule}: expected dw of the same shape as w {w.shape}, got {dw.shape}")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError(f"{rule}: config must be a dict (or None for the defaults), got {type(config).__name__}")
    unknown = set(config) - set(defaults) - set(state)
    if unknown:
        key = sorted(unknown)[0]
        hint = (f" (torch's {key!r} is called {_TORCH_NAMES[key]!r} here)" if key in _TORCH_NAMES
                else " (momentum is a rule of its own: use sgd_momentum or nesterov)" if key in ("momentum", "nesterov")
                else "")
        raise ValueError(f"{rule}: unknown config key {key!r}{hint}; "
                         f"expected hyperparameters {sorted(defaults)} and state {list(state)}")
    for k, v in defaults.items():
        config.setdefault(k, v)
    for k in state:
        if k in config and k != "t" and np.shape(config[k]) != w.shape:
            raise ValueError(f"{rule}: config[{k!r}] is state for an array of shape {np.shape(config[k])}, "
                             f"but w has shape {w.shape}; keep one config per parameter array")
    _check_range(rule, config)
    return w, dw, config


def _check_range(rule: str, config: dict):
    def bad(key, want):
        raise ValueError(f"{rule}: config[{key!r}] must be {want}, got {config[key]!r}")

    if not config["learning_rate"] >= 0:
        bad("learning_rate", ">= 0")
    if not config["weight_decay"] >= 0:
        bad("weight_decay", ">= 0")
    if "momentum" in config and not config["momentum"] >= 0:
        bad("momentum", ">= 0")
    if "epsilon" in config and not config["epsilon"] > 0:
        bad("epsilon", "> 0")
    for key in ("beta1", "beta2", "decay_rate"):
        if key in config and not 0 <= config[key] < 1:
            bad(key, "in [0, 1)")


def _zeros(config: dict, key: str, w: np.ndarray) -> np.ndarray:
    return config[key] if key in config else np.zeros_like(w)


# --- stochastic gradient descent ------------------------------------------------------------------

def sgd(w, dw, config=None):
    """Vanilla SGD: ``next_w = w - learning_rate * (dw + weight_decay * w)``.

    config: learning_rate (1e-2), weight_decay (0). w, dw: arrays of one shape -> (next_w, config).
    """
    w, dw, config = _setup("sgd", w, dw, config, {"learning_rate": 1e-2, "weight_decay": 0.0}, ())
    g = dw + config["weight_decay"] * w
    return w - config["learning_rate"] * g, config


def _momentum(rule, w, dw, config, nesterov: bool):
    w, dw, config = _setup(rule, w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9, "weight_decay": 0.0},
                           ("velocity",))
    mu = config["momentum"]
    if nesterov and not mu > 0:
        raise ValueError(f"{rule}: Nesterov momentum needs config['momentum'] > 0, got {mu!r} (use sgd for none)")
    g = dw + config["weight_decay"] * w
    v = mu * _zeros(config, "velocity", w) + g
    config["velocity"] = v
    step = g + mu * v if nesterov else v
    return w - config["learning_rate"] * step, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum as torch.optim.SGD(momentum=mu) has it:

        g = dw + weight_decay * w;  velocity = mu * velocity + g;  next_w = w - learning_rate * velocity

    config: learning_rate (1e-2), momentum (0.9), weight_decay (0); state: velocity (zeros, w's
    shape). CS231n's v = mu * v - lr * dw; w += v is the same walk while the learning rate is
    constant; this form stays equal to torch when it changes.
    """
    return _momentum("sgd_momentum", w, dw, config, nesterov=False)


def nesterov(w, dw, config=None):
    """Nesterov momentum as torch.optim.SGD(momentum=mu, nesterov=True) has it:

        g = dw + weight_decay * w;  velocity = mu * velocity + g;  next_w = w - learning_rate * (g + mu * velocity)

    i.e. the step looks ahead along the updated velocity. Same config and state as ``sgd_momentum``.
    """
    return _momentum("nesterov", w, dw, config, nesterov=True)


# --- adaptive rules -------------------------------------------------------------------------------

def rmsprop(w, dw, config=None):
    """RMSProp as torch.optim.RMSprop has it (epsilon is added after the square root):

        g = dw + weight_decay * w;  cache = decay_rate * cache + (1 - decay_rate) * g**2
        denom = sqrt(cache) + epsilon                  (centered: sqrt(cache - grad_avg**2) + epsilon,
                                                        grad_avg = decay_rate * grad_avg + (1 - decay_rate) * g)
        next_w = w - learning_rate * g / denom         (momentum > 0: velocity = momentum * velocity + g / denom,
                                                        next_w = w - learning_rate * velocity)

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), weight_decay (0), momentum (0),
    centered (False); state: cache, and velocity / grad_avg when used.
    """
    defaults = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, "weight_decay": 0.0,
                "momentum": 0.0, "centered": False}
    w, dw, config = _setup("rmsprop", w, dw, config, defaults, ("cache", "velocity", "grad_avg"))
    g = dw + config["weight_decay"] * w
    rho = config["decay_rate"]
    cache = rho * _zeros(config, "cache", w) + (1 - rho) * g * g
    config["cache"] = cache
    if config["centered"]:
        grad_avg = rho * _zeros(config, "grad_avg", w) + (1 - rho) * g
        config["grad_avg"] = grad_avg
        denom = np.sqrt(cache - grad_avg * grad_avg) + config["epsilon"]
    else:
        denom = np.sqrt(cache) + config["epsilon"]
    step = g / denom
    if config["momentum"] > 0:
        step = config["momentum"] * _zeros(config, "velocity", w) + step
        config["velocity"] = step
    return w - config["learning_rate"] * step, config


def _adam(rule, w, dw, config, decoupled: bool):
    defaults = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                "weight_decay": 1e-2 if decoupled else 0.0}
    w, dw, config = _setup(rule, w, dw, config, defaults, ("m", "v", "t"))
    lr, wd, b1, b2 = config["learning_rate"], config["weight_decay"], config["beta1"], config["beta2"]
    t = int(config.get("t", 0))
    if t < 0:
        raise ValueError(f"{rule}: config['t'] counts the steps taken and must be >= 0, got {t}")
    if decoupled:
        w, g = w * (1 - lr * wd), dw    # AdamW: shrink w directly, the moments never see the decay
    else:
        g = dw + wd * w                 # Adam: L2 in the gradient, so it is rescaled like the rest
    t += 1
    m = b1 * _zeros(config, "m", w) + (1 - b1) * g
    v = b2 * _zeros(config, "v", w) + (1 - b2) * g * g
    config.update(m=m, v=v, t=t)
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)   # bias correction: the moments start at 0
    return w - lr * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam with bias correction, as torch.optim.Adam has it:

        g = dw + weight_decay * w;  t += 1
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
        next_w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), weight_decay (0,
    an L2 penalty folded into the gradient); state: m, v (zeros, w's shape) and t (0).
    """
    return _adam("adam", w, dw, config, decoupled=False)


def adamw(w, dw, config=None):
    """AdamW, as torch.optim.AdamW has it: Adam on dw alone, with the decay applied to w itself first,
    ``w = w * (1 - learning_rate * weight_decay)``, so it is not rescaled by the moments.

    Same config and state as ``adam``, except weight_decay defaults to 1e-2 (torch's default).
    """
    return _adam("adamw", w, dw, config, decoupled=True)
