"""Write requirements.lock: the exact versions `make setup` installs (`make lock` runs this).

pip resolves the project's dependencies (pyproject.toml, with the dev extra) without
installing anything (`pip install --dry-run --ignore-installed --report`), and every
resolved distribution is written as `name==version`, pip itself included. The lock is
for the platform it was made on (the header says which); the Makefile installs from it
there and says so where it falls back to pyproject.toml's ranges.
"""
import json
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PROJECT = "deep-into-cnns"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), "-e", f"{ROOT}[dev]"], check=True)
        resolved = json.loads(report.read_text())["install"]
    pins = {re.sub(r"[-_.]+", "-", item["metadata"]["name"].lower()): item["metadata"]["version"] for item in resolved}
    pins.pop(PROJECT, None)
    import pip

    pins["pip"] = pip.__version__
    tag = f"{sys.platform} {platform.machine()} cp{sys.version_info[0]}{sys.version_info[1]}"
    lines = [f"# Exact versions that `make setup` installs; written by `make lock` (.ci/lock.py) from",
             f"# pyproject.toml. tests/test_project.py checks that the two agree and that the venv holds",
             f"# exactly these. Regenerate after changing pyproject.toml's dependencies.",
             f"# platform: {tag}",
             *(f"{name}=={pins[name]}" for name in sorted(pins))]
    LOCK.write_text("\n".join(lines) + "\n")
    print(f"wrote {LOCK.name}: {len(pins)} packages for {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
