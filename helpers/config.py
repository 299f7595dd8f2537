"""Execution profile, seeding and device choice.

Every notebook starts with::

    from helpers import config
    cfg = config.setup()          # seeds everything, picks a device, prints the profile

``DIC_PROFILE=quick`` runs CPU-sized subsets (each notebook <= 60 s on a 2-core CPU);
``DIC_PROFILE=full`` runs the real experiment. Without the variable, ``full`` is chosen
when CUDA or MPS is available and ``quick`` otherwise.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np

from .metrics import within  # noqa: F401  (config.within(x, rel=...) in a report call)

PROFILES = ("quick", "full")
DEFAULT_SEED = 0


def _accelerator() -> str | None:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return None


def profile() -> str:
    """The active profile: ``DIC_PROFILE`` if set, else full on an accelerator, else quick."""
    value = os.environ.get("DIC_PROFILE", "").strip().lower()
    if not value:
        return "full" if _accelerator() else "quick"
    if value not in PROFILES:
        raise ValueError(f"DIC_PROFILE must be one of {PROFILES}, got {value!r}")
    return value


def is_quick() -> bool:
    return profile() == "quick"


def pick(quick, full):
    """Return ``quick`` or ``full`` depending on the profile: ``epochs = pick(2, 15)``."""
    return quick if is_quick() else full


def pick_device(prefer: str | None = None):
    """cuda -> mps -> cpu, or ``prefer`` (``DIC_DEVICE`` also overrides)."""
    import torch

    name = prefer or os.environ.get("DIC_DEVICE") or _accelerator() or "cpu"
    return torch.device(name)


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA) so reruns print the same numbers."""
    import torch

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.benchmark = False
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


def quiet() -> bool:
    """True under CI / automated runs, where progress bars would only add noise."""
    return any(os.environ.get(k) for k in ("CI", "DIC_QUIET")) or os.environ.get("DIC_PROGRESS") == "0"


@dataclass(frozen=True)
class Setup:
    profile: str
    device: object
    seed: int

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def pick(self, quick, full):
        return quick if self.quick else full


def setup(seed: int = DEFAULT_SEED, verbose: bool = True) -> Setup:
    """Seed, pick the device, and print one line saying what runs where."""
    import torch

    s = Setup(profile=profile(), device=pick_device(), seed=seed_everything(seed))
    threads = os.environ.get("DIC_THREADS")
    if threads:  # make run/test fix this, so reruns on one machine print the same numbers
        torch.set_num_threads(int(threads))
    if verbose:
        print(f"profile: {s.profile} | device: {s.device.type} | seed: {s.seed} | torch {torch.__version__}")
    return s


def report(**metrics) -> dict:
    """Print a notebook's key metrics, with the tolerance each is regression-tested within.

    Two lines: ``[metrics] {...}`` (``make run`` collects it into its table) and
    ``[tolerances] {...}``. A metric's tolerance comes from its kind, read from its name
    (``*_acc`` ±0.02, ``*_loss`` 5 %, ``*_err`` one order of magnitude, ints exact; the table
    is in ``helpers.metrics``), or is declared here: ``report(speedup=within(r, rel=0.3))``.
    """
    from .metrics import format_report

    clean, lines = format_report(metrics)
    print("\n".join(lines))
    return clean
