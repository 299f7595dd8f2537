"""The notebook regression tests bite: a deliberately broken helper makes nbval fail.

`make test` runs nbval over every notebook (outputs compared with the committed ones). Here
the getting-started notebook runs under nbval with a helper broken on purpose — the
in-memory loader pairs images with the wrong labels — and the run must fail, at the cells
that show the training result.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "week1" / "00_getting_started.ipynb"

BREAK_LOADER = textwrap.dedent("""
    import torch
    import helpers.train as t

    _iter = t.TensorLoader.__iter__
    def broken_iter(self):  # labels rolled by one place: the model learns nothing useful
        for xb, yb in _iter(self):
            yield xb, torch.roll(yb, 1)
    t.TensorLoader.__iter__ = broken_iter
""")


def run_nbval(notebook: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIC_PROFILE="quick", DIC_QUIET="1", DIC_THREADS="1")
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-current-env",
           "--sanitize-with", str(ROOT / "tests/nbval_sanitize.cfg"), "-c", os.devnull, str(notebook)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_nbval_fails_when_a_helper_breaks(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BREAK_LOADER)
    result = run_nbval(NOTEBOOK, tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode != 0, "nbval passed although the loader was broken:\n" + report[-2000:]
    assert "failed" in report
    # the failure is the training result, not some unrelated set-up problem
    assert "mlp_test_acc" in report or "should beat 80%" in report, report[-3000:]
