"""Execution profile, seeding and device choice.

Every notebook starts with::

    from helpers import config
    cfg = config.setup()          # seeds everything, picks a device, prints the profile

``DIC_PROFILE=quick`` runs CPU-sized subsets (each notebook <= 60 s on a 2-core CPU);
``DIC_PROFILE=full`` runs the real experiment. Without the variable, ``full`` is chosen
when CUDA or MPS is available and ``quick`` otherwise.

The **reproducible CPU mode** makes every x86-64 CPU with AVX2 print the same bytes (measured: run to run on
the AMD EPYC the outputs are recorded on, and its kernels under an emulated Intel CPU, ``make fingerprint
ARGS="--emulate Haswell"``: ``benchmarks/results/reproducibility.md``): one kernel path for torch (ATen's AVX2
kernels, MKL's conditional numerical reproducibility, oneDNN and NNPACK off, ``MAKER_DEPENDENT``'s five
functions computed by NumPy), NumPy (OpenBLAS's Haswell kernels, NumPy's loops at AVX2) and one thread. Its
load-time half is the environment in ``helpers/reproducible.env`` (the Makefile and the course's
Jupyter kernel set it before Python starts); ``setup()`` adds the run-time half and prints which
mode it found. ``DIC_FAST=1`` switches it off.
"""
from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


ENV_FILE = Path(__file__).with_name("reproducible.env")


def reproducible_env() -> dict[str, str]:
    """The load-time settings of the reproducible CPU mode, from ``helpers/reproducible.env``."""
    env = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


# another CPU emulated on this one: oneDNN and MKL held to AVX2 at most (CI's `make test`,
# benchmarks/reproducibility.py --avx2); the committed outputs must not change
AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def fast() -> bool:
    """``DIC_FAST=1``: the reproducible CPU mode is switched off (faster; last digits differ by CPU)."""
    return os.environ.get("DIC_FAST", "").strip() not in ("", "0")


def mode_unavailable() -> str | None:
    """Why the reproducible mode cannot hold on this machine, or None where it can (x86-64 Linux with AVX2)."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"this is {sys.platform} {machine}: exact outputs are recorded on x86-64 with AVX2"
    if sys.platform != "linux":
        return f"this is {sys.platform}: exact outputs are recorded on Linux x86-64"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx2" not in flags or " fma" not in flags:
        return "this CPU has no AVX2/FMA: exact outputs are recorded on CPUs that have them"
    return None


def _openblas_coretypes() -> set[str]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return set()
    return {i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"}


def mode_problems() -> list[str]:
    """What keeps this process from the reproducible mode's kernels (empty when it is in force)."""
    import torch

    problems = [f"{name} is not {value!r}" for name, value in reproducible_env().items()
                if os.environ.get(name) != value]
    if torch.backends.cpu.get_cpu_capability() != "AVX2":
        problems.append(f"ATen runs its {torch.backends.cpu.get_cpu_capability()} kernels, not AVX2")
    if torch.backends.mkldnn.enabled or torch.backends.nnpack.enabled:
        problems.append("oneDNN/NNPACK are on for CPU tensors")
    if torch.get_num_threads() != 1:
        problems.append(f"torch runs {torch.get_num_threads()} threads")
    from numpy._core._multiarray_umath import __cpu_features__

    if __cpu_features__.get("X86_V4"):
        problems.append("NumPy dispatches its AVX-512 loops")
    if _openblas_coretypes() - {"Haswell"}:
        problems.append(f"OpenBLAS runs its {'/'.join(sorted(_openblas_coretypes()))} kernels, not Haswell")
    return problems


# torch's CPU sqrt, log2, asin, acos and atan call MKL's vector maths, which builds these five from the CPU's
# reciprocal(-square-root) estimate instructions; Intel and AMD make those estimates differently, so the
# results' last bits depend on who made the CPU, whatever MKL_CBWR says (found by running the same kernels on
# an emulated CPU: benchmarks/results/reproducibility.md, 2026-12-07). Adam, AdamW, RMSprop and Adagrad
# take a square root every step, so one bit there becomes a different trained network. In the mode NumPy
# computes them: the square root in the tensor's own precision (IEEE's root is correctly rounded), the other
# four in float64 with the C library's functions, rounded back.
MAKER_DEPENDENT = {"sqrt": np.sqrt, "log2": np.log2, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan}
_exact_kernels = []                       # the torch.library registrations, kept alive for the process


def _exact(ufunc):
    import torch

    def compute(x):
        x = x.detach().resolve_conj().resolve_neg()
        if ufunc is np.sqrt and x.dtype in (torch.float32, torch.float64):
            # IEEE's square root is correctly rounded in every precision: NumPy's needs no float64 detour
            result = torch.empty_like(x, memory_format=torch.contiguous_format)
            np.sqrt(x.numpy(), out=result.numpy())
            return result
        wide = torch.complex128 if x.is_complex() else torch.float64
        dtype = x.dtype if x.is_floating_point() or x.is_complex() else torch.get_default_dtype()
        return torch.from_numpy(np.asarray(ufunc(x.to(wide).numpy()))).to(dtype)

    def in_place(x):
        if ufunc is np.sqrt and x.dtype in (torch.float32, torch.float64) and x.is_contiguous() \
                and not x.is_conj() and not x.is_neg():
            np.sqrt(x.detach().numpy(), out=x.detach().numpy())
            return x
        return x.copy_(compute(x))

    def out(x, *, out):
        result = compute(x)
        return out.resize_(result.shape).copy_(result)

    return compute, in_place, out


def exact_maths() -> None:
    """Replace torch's CPU kernels for ``MAKER_DEPENDENT`` with NumPy's (once a process; autograd unchanged)."""
    import torch

    if _exact_kernels:
        return
    lib = torch.library.Library("aten", "IMPL")
    for name, ufunc in MAKER_DEPENDENT.items():
        compute, in_place, out = _exact(ufunc)
        lib.impl(name, compute, "CPU")
        lib.impl(f"{name}_", in_place, "CPU")
        lib.impl(f"{name}.out", out, "CPU")
    _exact_kernels.append(lib)


def reproducible_mode(device=None) -> str:
    """Switch on the run-time half of the reproducible CPU mode; return one line saying which mode runs.

    The load-time half (``helpers/reproducible.env``) must already be in the environment: a library
    reads it when it loads, so setting it here would be too late. Nothing is changed on a GPU run, or
    with ``DIC_FAST=1``.
    """
    import torch

    if device is not None and torch.device(device).type != "cpu":
        return f"{torch.device(device).type}: outputs differ from the committed CPU outputs"
    if fast():
        return "fast CPU mode (DIC_FAST=1): last digits differ from the committed outputs"
    if reason := mode_unavailable():
        return f"CPU outputs not reproducible here ({reason})"
    torch.backends.mkldnn.enabled = False      # oneDNN picks kernels and blockings by CPU
    torch.backends.nnpack.enabled = False      # so does NNPACK (by cache size)
    # the eager half of torch.use_deterministic_algorithms(True, warn_only=True): the whole call also sets the
    # compiler's flag, importing torch._inductor and torch._dynamo (~1.6 s of every kernel's start); train.fit
    # sets that one before it compiles (compile_model=True), the only place the course compiles
    torch._C._set_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)
    exact_maths()                              # sqrt & co. without the CPU's estimate instructions
    if problems := mode_problems():
        return ("CPU mode incomplete: " + "; ".join(problems[:3]) +
                " (start Jupyter with `make lab`, or set helpers/reproducible.env before Python starts)")
    return "reproducible CPU mode"


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
    """Seed, pick the device, switch on the reproducible CPU mode, and print one line saying what runs where."""
    import torch

    s = Setup(profile=profile(), device=pick_device(), seed=seed_everything(seed))
    threads = os.environ.get("DIC_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    mode = reproducible_mode(s.device)
    if verbose:
        print(f"profile: {s.profile} | device: {s.device.type} | seed: {s.seed} | torch {torch.__version__} | {mode}")
    return s


def report(**metrics) -> dict:
    """A notebook's key metrics, for machines. Recorded or tested (``quiet()``: ``make run``, ``make test``,
    ``make refresh``, CI) it prints one line, ``[metrics] {...}``: ``make run`` collects it into its
    table, and nbval compares it exactly, like every other output (floats rounded to 4 places). With a
    person watching (``make lab``, any Jupyter front end) the same JSON goes out under its own MIME type
    (``metrics.MIME``), which JupyterLab has no renderer for: the learner's notebook shows nothing."""
    from .metrics import MIME, format_report

    clean, line = format_report(metrics)
    if quiet():
        print(line)
    else:
        from IPython.display import display

        display({MIME: clean}, raw=True)
    return clean


def install_kernel(fast_mode: bool = False) -> dict:
    """Install the course's Jupyter kernel spec into this environment, with the mode's environment in it
    (unless ``fast_mode``): a kernel started by JupyterLab gets the variables before Python starts."""
    from ipykernel.kernelspec import install

    env = {} if fast_mode or mode_unavailable() else reproducible_env()
    install(prefix=sys.prefix, kernel_name="python3", display_name="Python 3 (Deep into CNNs)", env=env)
    return env


if __name__ == "__main__":   # python -m helpers.config install-kernel | env
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "install-kernel":
        installed = install_kernel(fast_mode=fast())
        print("kernel 'python3' installed:", "reproducible CPU mode" if installed else "fast CPU mode (no environment)")
    elif command == "env":
        print("\n".join(f"{k}={v}" for k, v in reproducible_env().items()))
    else:
        sys.exit("usage: python -m helpers.config install-kernel | env")
