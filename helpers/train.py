"""The training engine: ``fit`` runs a *step* over batches with small callbacks; ``evaluate``,
``predict``; ``fit_adversarial`` for two models and two optimizers (GANs).

    history = fit(model, train_loader, val_loader, epochs=5)            # classification (default step)
    history = fit(autoencoder, loader, val_loader, step=reconstruction_step)
    history = fit(googlenet, loader, val_loader, step=aux_classification_step,
                  callbacks=[Checkpoint("best.pt", "val_loss"), EarlyStopping("val_loss", patience=3)])
    history["val_loss"], history.best("val_loss"), viz.plot_history(history)

Steps live in ``helpers.steps``, callbacks in ``helpers.callbacks``, ``History`` in
``helpers.history``, ``TensorLoader`` and ``random_crop_flip`` (resident batches, augmented
on the device) in ``helpers.loaders``; all are importable from here.

Per training batch the engine does what a hand-written loop does, in the same order: the
step (forward, loss); the step's numbers fetched as floats (one transfer off an accelerator)
and a check that the loss is finite, before backward, so a diverging run stops with its
weights intact; zero_grad, backward, optimizer step. The fast paths (bf16, channels_last,
torch.compile, ``augment``) are off unless asked for.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .callbacks import (BestWeights, Checkpoint, EarlyStopping, GradClip, GradNorms, LRSchedule, Run, call,
                        load_checkpoint, save_checkpoint)
from .config import quiet
from .history import History
from .loaders import TensorLoader, random_crop_flip
from .steps import (aux_classification_step, classification_step, gan_discriminator_step, gan_generator_step,
                    loss_step, psnr, reconstruction_step)

__all__ = [
    "fit", "evaluate", "predict", "fit_adversarial", "History", "TensorLoader", "random_crop_flip",
    "classification_step", "aux_classification_step", "reconstruction_step", "loss_step", "psnr",
    "gan_discriminator_step", "gan_generator_step",
    "Checkpoint", "BestWeights", "EarlyStopping", "LRSchedule", "GradClip", "GradNorms", "Run",
    "save_checkpoint", "load_checkpoint",
]


# --- the engine ------------------------------------------------------------------------------

def _device_of(model: nn.Module):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _progress(iterable, desc: str):
    if quiet():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=len(iterable) if hasattr(iterable, "__len__") else None, leave=False)


def _to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return tuple(_to_device(item, device) for item in batch)
    return batch


def _batch_size(batch) -> int:
    return len(batch[0] if isinstance(batch, tuple) else batch)


def _loss_of(numbers) -> torch.Tensor:
    if not isinstance(numbers, dict) or "loss" not in numbers:
        got = sorted(numbers) if isinstance(numbers, dict) else type(numbers).__name__
        raise TypeError(f"a step must return a dict with a 'loss' entry, got {got}")
    loss = numbers["loss"]
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise ValueError(f"a step's 'loss' must be a 0-d tensor (the batch mean), got {getattr(loss, 'shape', loss)}")
    return loss


def _check_finite(values: dict[str, float], where: str) -> None:
    if not math.isfinite(values["loss"]):
        raise FloatingPointError(f"loss became {values['loss']} at {where}, before backward and the optimizer step "
                                 "(the weights are those after the last good batch) — lower the learning rate "
                                 "or check the inputs")


def _floats(numbers: dict) -> dict[str, float]:
    """A step's numbers as floats, per-example tensors summed; off an accelerator in one transfer."""
    tensors = {name: (value.sum() if value.ndim else value).detach()
               for name, value in numbers.items() if isinstance(value, torch.Tensor)}
    if any(t.device.type != "cpu" for t in tensors.values()):
        fetched = dict(zip(tensors, torch.stack(list(tensors.values())).tolist()))  # one device sync
    else:
        fetched = {name: t.item() for name, t in tensors.items()}
    return {name: fetched[name] if name in fetched else float(value) for name, value in numbers.items()}


class _Meter:
    """Epoch means of a step's numbers: a batch mean (0-d tensor or float) is weighted by the
    batch size, a per-example tensor is averaged over all examples. Python floats, summed in
    the order the batches came."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, numbers: dict, n: int) -> dict[str, float]:
        """Add one batch of ``n`` examples; return its numbers as floats (per-example ones summed)."""
        values = _floats(numbers)
        for name, value in values.items():
            per_example = isinstance(numbers[name], torch.Tensor) and numbers[name].ndim > 0
            total, count = (value, numbers[name].numel()) if per_example else (value * n, n)
            self.sums[name] = self.sums.get(name, 0.0) + total
            self.counts[name] = self.counts.get(name, 0) + count
        return values

    def means(self) -> dict[str, float]:
        return {name: total / self.counts[name] for name, total in self.sums.items()}


@dataclass
class _Engine:
    """How a batch is prepared and stepped: device, the step and its options, the fast paths."""
    device: torch.device
    step: Callable
    options: dict
    bf16: bool = False
    channels_last: bool = False

    def prepare(self, batch, augment=None):
        batch = _to_device(batch, self.device)
        if augment is None and not self.channels_last:
            return batch
        x, *rest = batch if isinstance(batch, tuple) else (batch,)
        if augment is not None:
            x = augment(x)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return (x, *rest) if isinstance(batch, tuple) else x

    def run_step(self, model, batch) -> dict:
        if not self.bf16:
            return self.step(model, batch, **self.options)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return self.step(model, batch, **self.options)


def _engine(step, loss_fn, device, bf16=False, channels_last=False) -> _Engine:
    return _Engine(torch.device(device), step or classification_step,
                   {} if loss_fn is None else {"loss_fn": loss_fn}, bf16, channels_last)


def _run_epoch(model, loader, engine: _Engine, optimizer=None, augment=None, run: Run | None = None,
               callbacks=(), where: str = "evaluation") -> dict[str, float]:
    """One pass over ``loader``: training when ``optimizer`` is given (augment, callbacks), else
    evaluation (eval mode, no gradients). Returns the epoch means of the step's numbers."""
    training = optimizer is not None
    model.train(training)
    meter = _Meter()
    batches = _progress(loader, where if training else "eval")
    with torch.set_grad_enabled(training):
        for i, batch in enumerate(batches, 1):
            batch = engine.prepare(batch, augment if training else None)
            numbers = engine.run_step(model, batch)
            loss = _loss_of(numbers)
            _check_finite(meter.add(numbers, _batch_size(batch)), f"{where}, batch {i}")
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                run.batch = i
                call(callbacks, "on_after_backward", run)
                optimizer.step()
                call(callbacks, "on_batch_end", run)
            if (i == 1 or i % 20 == 0) and hasattr(batches, "set_postfix"):
                batches.set_postfix({k: f"{v:.4g}" for k, v in meter.means().items()}, refresh=False)
    if not meter.counts:
        raise ValueError("the loader yielded no batches")
    return meter.means()


def _epoch_part(history: History, part: str, metrics: dict[str, float]) -> str:
    """Record ``metrics`` as ``<part>_<name>`` and describe them: 'train loss 0.1234 acc 0.950'."""
    history.log_all(part, metrics)
    shown = (f"{name.replace('_', ' ')} {value:.3f}" if name.endswith("acc") else
             f"{name.replace('_', ' ')} {value:.4f}" for name, value in metrics.items())
    return f"{part} " + " ".join(shown)


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn=None, device=None, *, step=None, bf16: bool = False,
             channels_last: bool = False):
    """Run ``step`` over ``loader`` in eval mode without gradients. Default (classification):
    returns (mean loss, accuracy); with ``step=`` the dict of the step's epoch means."""
    means = _run_epoch(model, loader, _engine(step, loss_fn, device or _device_of(model), bf16, channels_last))
    return means if step is not None else (means["loss"], means["acc"])


@torch.no_grad()
def predict(model: nn.Module, loader, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted class, true class) for every example, on the CPU."""
    device = device or _device_of(model)
    model.eval()
    preds, targets = [], []
    for xb, yb in loader:
        preds.append(model(xb.to(device)).argmax(1).cpu())
        targets.append(yb.cpu())
    return torch.cat(preds), torch.cat(targets)


def fit(model: nn.Module, train_loader, val_loader=None, epochs: int = 1, optimizer=None, loss_fn=None,
        scheduler=None, device=None, checkpoint=None, verbose: bool = True, history: History | None = None, *,
        step: Callable | None = None, callbacks=(), augment: Callable | None = None, bf16: bool = False,
        channels_last: bool = False, compile_model: bool = False) -> History:
    """Train for ``epochs``, evaluating on ``val_loader`` after each; return the ``History``.

    step: what one batch does, ``step(model, batch, **options) -> {"loss": ..., other numbers}``
        (helpers.steps); default ``classification_step`` (loss, acc). ``loss_fn`` goes to the step.
    optimizer: default Adam(lr=1e-3). history: continue an earlier run's history.
    callbacks: ``Checkpoint``, ``BestWeights``, ``EarlyStopping``, ``LRSchedule``, ``GradClip``, ``GradNorms``.
    scheduler: a torch LR scheduler stepped once per epoch (``LRSchedule(s, per="batch")``
        steps per batch). checkpoint: a path, short for ``Checkpoint(path, "val_acc")``.
    Fast paths, off by default: augment (applied to each training input batch on the device,
    e.g. ``random_crop_flip()``), bf16 (autocast to bfloat16: for CUDA), channels_last (NHWC
    layout for the model and 4-D inputs), compile_model (``torch.compile``).
    verbose prints one line per epoch: ``epoch  1  train loss 0.4123 acc 0.871  |  val loss 0.3871 acc 0.880  (0.3s)``.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device) if device is not None else _device_of(model)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=1e-3)
    history = History() if history is None else history
    callbacks = [*([Checkpoint(checkpoint, "val_acc")] if checkpoint is not None else []),
                 *([LRSchedule(scheduler)] if scheduler is not None else []), *callbacks]
    engine = _engine(step, loss_fn, device, bf16, channels_last)
    if compile_model:   # the compiler's half of the deterministic switch (config.reproducible_mode sets the eager one)
        torch.use_deterministic_algorithms(torch.are_deterministic_algorithms_enabled(),
                                           warn_only=torch.is_deterministic_algorithms_warn_only_enabled())
    net = torch.compile(model) if compile_model else model
    run = Run(model, optimizer, history)
    call(callbacks, "on_fit_start", run)
    for _ in range(epochs):
        run.epoch = len(history) + 1
        start = time.perf_counter()
        train = _run_epoch(net, train_loader, engine, optimizer, augment, run, callbacks, f"epoch {run.epoch}")
        line = f"epoch {run.epoch:2d}  " + _epoch_part(history, "train", train)
        if val_loader is not None:
            with torch.no_grad():
                val = _run_epoch(net, val_loader, engine, where=f"epoch {run.epoch} (validation)")
            line += "  |  " + _epoch_part(history, "val", val)
        call(callbacks, "on_epoch_end", run)
        history.log("seconds", time.perf_counter() - start)
        if verbose:
            print(line + _clock(history))
        if run.stop:
            if verbose and run.stop_reason:
                print(run.stop_reason)
            break
    call(callbacks, "on_fit_end", run)
    return history


def _clock(history: History) -> str:
    """The epoch's wall-clock seconds for the epoch line, where a person watches (not in quiet runs, whose
    outputs are committed and compared exactly: seconds never repeat; ``history["seconds"]`` keeps them)."""
    return "" if quiet() else f"  ({history['seconds'][-1]:.1f}s)"


def fit_adversarial(generator: nn.Module, discriminator: nn.Module, loader, g_optimizer, d_optimizer, *,
                    d_step: Callable = gan_discriminator_step, g_step: Callable = gan_generator_step,
                    epochs: int = 1, device=None, verbose: bool = True, history: History | None = None) -> History:
    """Train a generator and a discriminator in turns (a GAN). Per batch: one discriminator
    update (``d_step``'s "loss" -> ``d_optimizer``), then one generator update (``g_step``'s
    "loss" -> ``g_optimizer``). A step is ``f(generator, discriminator, batch) -> dict`` of
    named numbers (helpers.steps: ``gan_discriminator_step``, ``gan_generator_step``).

    The History gets per epoch ``d_loss``, ``g_loss``, ``d_<name>`` / ``g_<name>`` for the
    steps' other numbers, and ``seconds``. A non-finite loss stops the run before its update.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device) if device is not None else _device_of(generator)
    generator.to(device)
    discriminator.to(device)
    history = History() if history is None else history
    turns = (("d", d_step, d_optimizer), ("g", g_step, g_optimizer))
    for _ in range(epochs):
        epoch, start = len(history) + 1, time.perf_counter()
        generator.train()
        discriminator.train()
        meters = {"d": _Meter(), "g": _Meter()}
        for i, batch in enumerate(_progress(loader, f"epoch {epoch}"), 1):
            batch = _to_device(batch, device)
            for part, step, optimizer in turns:
                numbers = step(generator, discriminator, batch)
                loss = _loss_of(numbers)
                _check_finite(meters[part].add(numbers, _batch_size(batch)), f"epoch {epoch}, batch {i} ({part}_step)")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        if not meters["d"].counts:
            raise ValueError("the loader yielded no batches")
        line = "  |  ".join(_epoch_part(history, part, meter.means()) for part, meter in meters.items())
        history.log("seconds", time.perf_counter() - start)
        if verbose:
            print(f"epoch {epoch:2d}  {line}" + _clock(history))
    return history
