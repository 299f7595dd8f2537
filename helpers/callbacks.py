"""Small callbacks for ``train.fit``, and the checkpoint files they write.

A callback is an object with any of these methods, each called with the ``Run``:

    on_fit_start(run)        before the first epoch
    on_after_backward(run)   gradients ready, before ``optimizer.step()`` (run.batch: 1, 2, ...)
    on_batch_end(run)        after ``optimizer.step()``
    on_epoch_end(run)        after validation; run.history holds this epoch; ``run.stop = True`` stops
    on_fit_end(run)          after the last epoch, also after an early stop

"Best" means min for metric names ending in "loss" and max otherwise, unless ``mode=`` says.
Checkpoint and BestWeights keep the later epoch when a value ties the best so far;
EarlyStopping counts only a strict improvement (by more than ``min_delta``) as progress.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .history import History


@dataclass
class Run:
    """The state callbacks see: the model (not a compiled wrapper), optimizer, history,
    the current epoch (from 1) and batch (from 1), and ``stop`` / ``stop_reason``."""
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    epoch: int = 0
    batch: int = 0
    stop: bool = False
    stop_reason: str = ""


def call(callbacks, hook: str, run: Run) -> None:
    """Call ``hook`` on every callback that has it, in order."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(run)


class _Monitor:
    """Tracks the best value of one history series."""

    def __init__(self, name: str, mode: str | None = None, min_delta: float = 0.0, strict: bool = False):
        self.name, self.min_delta, self.strict = name, min_delta, strict
        self.mode = mode or ("min" if name.endswith("loss") else "max")
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.best = math.inf if self.mode == "min" else -math.inf

    def latest(self, history: History) -> float:
        values = history.get(self.name)
        if not values:
            raise ValueError(f"cannot monitor {self.name!r}: the history has {history.keys()} "
                             "(is a validation loader given? is the name spelt as in the epoch line?)")
        return values[-1]

    def improved(self, value: float) -> bool:
        """Is ``value`` a new best? Records it if so."""
        gain = (self.best - value) if self.mode == "min" else (value - self.best)
        better = gain > self.min_delta if self.strict else gain >= self.min_delta
        if better:
            self.best = value
        return better


class Checkpoint:
    """Save ``{"model", "optimizer", "epoch", "monitor", <every metric of that epoch>}`` to
    ``path`` (atomically) after each epoch whose ``monitor`` value is the best so far."""

    def __init__(self, path, monitor: str, mode: str | None = None):
        self.path, self.monitor = Path(path), _Monitor(monitor, mode)
        self.epoch: int | None = None   # epoch of the file on disk

    def on_epoch_end(self, run: Run) -> None:
        if self.monitor.improved(self.monitor.latest(run.history)):
            metrics = {name: values[-1] for name, values in run.history.series().items()
                       if values and len(values) == run.epoch and name != "seconds"}
            save_checkpoint(self.path, run.model, run.optimizer, run.epoch, monitor=self.monitor.name, **metrics)
            self.epoch = run.epoch


class BestWeights:
    """Keep an in-memory copy of the weights of the best epoch by ``monitor``.
    After ``fit``: ``best.epoch``, ``best.value``, and ``best.restore(model)`` loads them."""

    def __init__(self, monitor: str, mode: str | None = None):
        self.monitor = _Monitor(monitor, mode)
        self.state: dict | None = None
        self.epoch: int | None = None
        self.value: float | None = None

    def on_epoch_end(self, run: Run) -> None:
        value = self.monitor.latest(run.history)
        if self.monitor.improved(value):
            self.state, self.epoch, self.value = copy.deepcopy(run.model.state_dict()), run.epoch, value

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is None:
            raise RuntimeError("BestWeights has no weights yet: it keeps them at the end of each epoch of fit")
        model.load_state_dict(self.state)


class EarlyStopping:
    """Stop when ``monitor`` has not improved (by more than ``min_delta``) for ``patience``
    epochs in a row. ``restore_best=True`` loads the best epoch's weights when fit ends."""

    def __init__(self, monitor: str, patience: int = 5, mode: str | None = None, min_delta: float = 0.0,
                 restore_best: bool = False):
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.monitor = _Monitor(monitor, mode, min_delta, strict=True)
        self.patience, self.wait = patience, 0
        self.best = BestWeights(monitor, mode) if restore_best else None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, run: Run) -> None:
        if self.best is not None:
            self.best.on_epoch_end(run)
        if self.monitor.improved(self.monitor.latest(run.history)):
            self.wait, self.best_epoch = 0, run.epoch
            return
        self.wait += 1
        if self.wait >= self.patience:
            run.stop, self.stopped_epoch = True, run.epoch
            run.stop_reason = (f"early stop: {self.monitor.name} has not improved for {self.patience} epochs "
                               f"(best {self.monitor.best:.4f} at epoch {self.best_epoch})")

    def on_fit_end(self, run: Run) -> None:
        if self.best is not None and self.best.state is not None:
            self.best.restore(run.model)


class LRSchedule:
    """Step a ``torch.optim.lr_scheduler`` after every batch (``per="batch"``: OneCycleLR,
    warm-up) or every epoch (``per="epoch"``; ``monitor=`` passes that metric, for
    ReduceLROnPlateau). Records the learning rate each batch used in ``history.steps["lr"]``."""

    def __init__(self, scheduler, per: str = "epoch", monitor: str | None = None):
        if per not in ("batch", "epoch"):
            raise ValueError(f"per must be 'batch' or 'epoch', got {per!r}")
        if monitor is not None and per == "batch":
            raise ValueError("a monitored schedule (ReduceLROnPlateau) steps per epoch: use per='epoch'")
        self.scheduler, self.per, self.monitor = scheduler, per, monitor

    def on_batch_end(self, run: Run) -> None:
        run.history.log_step("lr", self.scheduler.optimizer.param_groups[0]["lr"])
        if self.per == "batch":
            self.scheduler.step()

    def on_epoch_end(self, run: Run) -> None:
        if self.per == "epoch":
            if self.monitor is None:
                self.scheduler.step()
            else:
                self.scheduler.step(_Monitor(self.monitor).latest(run.history))


class GradClip:
    """Clip the gradients' total norm to ``max_norm`` before every optimizer step
    (``torch.nn.utils.clip_grad_norm_``); the norm before clipping goes to ``history.steps["grad_norm"]``."""

    def __init__(self, max_norm: float, norm_type: float = 2.0):
        if not max_norm > 0:
            raise ValueError(f"max_norm must be > 0, got {max_norm}")
        self.max_norm, self.norm_type = max_norm, norm_type

    def on_after_backward(self, run: Run) -> None:
        norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), self.max_norm, self.norm_type)
        run.history.log_step("grad_norm", norm)


class GradNorms:
    """Record the gradient norm of some modules' parameters at every optimizer step, before the
    update: ``GradNorms(stem=model.conv1)`` logs ``history.steps["grad_norm_stem"]`` (the 2-norm over
    all of the module's parameters that have a gradient)."""

    def __init__(self, **modules: torch.nn.Module):
        if not modules:
            raise ValueError("name at least one module, e.g. GradNorms(stem=model.conv1)")
        self.modules = modules

    def on_after_backward(self, run: Run) -> None:
        for name, module in self.modules.items():
            grads = [p.grad.detach().flatten() for p in module.parameters() if p.grad is not None]
            norm = torch.cat(grads).norm() if grads else torch.zeros(())
            run.history.log_step(f"grad_norm_{name}", norm)


# --- checkpoint files -----------------------------------------------------------------------

def save_checkpoint(path, model, optimizer=None, epoch: int | None = None, val_acc: float | None = None,
                    **metrics) -> Path:
    """Write ``{"model", "optimizer", "epoch", "val_acc", **metrics}`` to ``path`` atomically
    (a temporary file renamed into place, so a crash never leaves half a checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "epoch": epoch, "val_acc": val_acc, **metrics}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path, model, optimizer=None, map_location="cpu") -> dict:
    """Restore model (and optimizer) state saved by ``save_checkpoint``; return the whole dict."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    return state
