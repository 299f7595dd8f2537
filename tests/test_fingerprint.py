"""benchmarks/kernel_fingerprint.py: the same bytes twice on one machine, and a probe that differs is named."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kernel_fingerprint.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_fingerprint_is_deterministic_and_names_what_differs(tmp_path):
    first = run("--json", str(tmp_path / "a.json"))
    assert first.returncode == 0, first.stderr
    record = json.loads((tmp_path / "a.json").read_text())
    assert len(record["probes"]) > 50 and record["cpu"]
    again = run("--compare", str(tmp_path / "a.json"))
    assert again.returncode == 0 and "0 of" in again.stdout, again.stdout[-500:]
    name = "elementwise: softmax"
    record["probes"][name] = "000000000000"
    steps = record["probes"]["training: train cnn: per-step"]
    record["probes"]["training: train cnn: per-step"] = steps[:5] + ["x"] + steps[6:]
    (tmp_path / "b.json").write_text(json.dumps(record))
    other = run("--compare", str(tmp_path / "b.json"))
    assert other.returncode == 1
    assert f"{name}: 000000000000 there" in other.stdout and "first differing step 6" in other.stdout


EXACT = """
import numpy as np, torch
from helpers import config
config.setup(verbose=False)
x = torch.rand(100_000, generator=torch.Generator().manual_seed(0)) * 50
u = x / 50
def exact(f, t):
    return torch.from_numpy(f(t.double().numpy())).to(t.dtype)
checks = {
    "sqrt": (torch.sqrt(x), exact(np.sqrt, x)), "Tensor.sqrt_": (x.clone().sqrt_(), exact(np.sqrt, x)),
    "sqrt out=": (torch.sqrt(x, out=torch.empty(0)), exact(np.sqrt, x)),
    "sqrt float64": (torch.sqrt(x.double()), exact(np.sqrt, x.double())),
    "sqrt of ints": (torch.sqrt(torch.arange(10)), exact(np.sqrt, torch.arange(10.0))),
    "sqrt of a view": (x.view(100, 1000)[:, ::7].sqrt(), exact(np.sqrt, x.view(100, 1000)[:, ::7].contiguous())),
    "log2": (x.log2(), exact(np.log2, x)), "asin": (u.asin(), exact(np.arcsin, u)),
    "acos": (u.acos(), exact(np.arccos, u)), "atan": (x.atan(), exact(np.arctan, x)),
}
for name, (got, want) in checks.items():
    assert got.dtype == want.dtype and torch.equal(got, want), name
w = x[:5].clone().requires_grad_()
w.sqrt().sum().backward()
assert torch.allclose(w.grad, 0.5 / exact(np.sqrt, x[:5])), "sqrt's gradient"
print("ok", len(checks))
"""


def test_maker_dependent_functions_are_correctly_rounded_in_the_mode():
    """MKL's sqrt, log2, asin, acos, atan are not correctly rounded (their last bit depends on the CPU's estimate
    instructions, so on its maker); in the mode each returns the float64 result rounded, in every form."""
    run_ = subprocess.run([sys.executable, "-c", EXACT], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run_.returncode == 0 and run_.stdout.startswith("ok 10"), run_.stderr[-1500:]


@pytest.mark.portability     # ~70 s: `make portability`, which .ci/run runs after make test
@pytest.mark.skipif(shutil.which("qemu-x86_64") is None,
                    reason="needs qemu-x86_64 (Debian: qemu-user; .ci/run installs it)")
def test_an_emulated_intel_cpu_prints_the_same_bytes():
    """Every probe under qemu's Intel Haswell, whose estimate instructions differ from any real CPU's, gives the
    bytes this machine gives: no kernel in the mode depends on the CPU's maker (those that did are replaced)."""
    emulated = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kernel_fingerprint.py"),
                               "--emulate", "Haswell"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert emulated.returncode == 0 and " 0 of " in emulated.stdout, emulated.stdout[-1500:] + emulated.stderr[-500:]
