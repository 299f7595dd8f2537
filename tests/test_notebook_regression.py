"""The notebook regression tests bite: helpers broken on purpose make nbval fail.

`make test` runs nbval over every notebook (tests/exact_nbval.py: every output compared
exactly, in the reproducible CPU mode). Here single notebooks run under nbval with a
helper broken on purpose, the way a careless edit would break it, and each run must fail
where the broken result shows. Four breakages:

- the in-memory loader pairs images with the wrong labels (a sitecustomize patch);
- `fit` no longer calls `optimizer.zero_grad()` (gradients pile up across batches);
- `scratch.relu_backward` lets the gradient through where the input is negative;
- the MNIST loader returns the training labels shifted by one (shifting train and test
  alike would leave accuracy unchanged: the model just learns the shifted names).

The last three are source mutations of a copy of `helpers/` put first on the path. Each
names the exact text it replaces, so a refactor that moves that text fails here loudly
instead of silently testing nothing.
"""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.data import data_root

ROOT = Path(__file__).resolve().parents[1]

BREAK_LOADER = textwrap.dedent("""
    import torch
    import helpers.train as t

    _iter = t.TensorLoader.__iter__
    def broken_iter(self):  # labels rolled by one place: the model learns nothing useful
        for xb, yb in _iter(self):
            yield xb, torch.roll(yb, 1)
    t.TensorLoader.__iter__ = broken_iter
""")

# name -> (file in helpers/, text replaced, replacement, notebook that must fail, what its failure shows)
MUTATIONS = {
    "fit_without_zero_grad": (
        "train.py", "            if training:\n                optimizer.zero_grad(set_to_none=True)",
        "            if training:\n                pass  # mutation: no zero_grad",
        "week1/00_getting_started.ipynb", "mlp_test_acc"),
    "relu_backward_passes_negative_inputs": (
        "scratch/layers.py", "return _dout_like(dout, x) * (x > 0)", "return _dout_like(dout, x)",
        "week1/03_binary_classification.ipynb", "relu_backward"),
    "labels_shifted_by_one": (
        "data/idx.py",
        "return cls(folder, train=train, transform=transform, target_transform=target_transform, download=False)",
        "ds = cls(folder, train=train, transform=transform, target_transform=target_transform, download=False)\n"
        "    if train:  # mutation: the training labels shifted by one (test labels stay right)\n"
        "        ds.targets = (ds.targets + 1) % 10\n"
        "    return ds",
        "week1/00_getting_started.ipynb", "mlp_test_acc"),
}


def run_nbval(notebook: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIC_PROFILE="quick", DIC_QUIET="1", DIC_THREADS="1", DIC_DATA=str(data_root()))
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.exact_nbval", "-q",
           "--nbval", "--nbval-current-env",
           "-c", os.devnull, "--rootdir", str(ROOT), str(notebook)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def mutated_helpers(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    """A copy of helpers/ under ``tmp_path`` with ``old`` replaced by ``new`` (exactly once) in one file."""
    shutil.copytree(ROOT / "helpers", tmp_path / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "helpers" / relative
    source = target.read_text()
    assert source.count(old) == 1, f"helpers/{relative} no longer contains {old!r} exactly once: update MUTATIONS"
    target.write_text(source.replace(old, new))
    return tmp_path


def assert_fails_at(result: subprocess.CompletedProcess, shows: str) -> None:
    report = result.stdout + result.stderr
    assert result.returncode != 0, "nbval passed although a helper was broken:\n" + report[-2000:]
    assert "failed" in report
    assert shows in report, f"nbval failed, but not where the broken result shows ({shows!r}):\n" + report[-3000:]


def test_nbval_fails_when_the_loader_mixes_up_labels(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BREAK_LOADER)
    assert_fails_at(run_nbval(ROOT / "week1/00_getting_started.ipynb", tmp_path), "mlp_test_acc")


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_nbval_fails_under_a_mutation(tmp_path, name):
    relative, old, new, notebook, shows = MUTATIONS[name]
    path = mutated_helpers(tmp_path, relative, old, new)
    assert_fails_at(run_nbval(ROOT / notebook, path), shows)


def test_the_unmutated_copy_passes(tmp_path):
    """The harness itself is sound: the same copy with nothing changed passes nbval."""
    relative, old, _, notebook, _ = MUTATIONS["labels_shifted_by_one"]
    assert_passes = run_nbval(ROOT / notebook, mutated_helpers(tmp_path, relative, old, old))
    assert assert_passes.returncode == 0, (assert_passes.stdout + assert_passes.stderr)[-3000:]
