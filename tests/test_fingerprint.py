"""benchmarks/kernel_fingerprint.py: the same bytes twice on one machine, and a probe that differs is named."""
import json
import subprocess
import sys
from pathlib import Path

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
