"""Do the committed outputs come back byte for byte? ``python benchmarks/reproducibility.py [--avx2] [--runs N]``

Executes every notebook of the course in the reproducible CPU mode (``helpers/config.py``) and
counts the outputs that differ from the committed ones, compared as ``make test`` compares them
(``helpers/outputs.py``: exact, durations masked only in cells tagged ``timing``). ``--avx2``
emulates a CPU without AVX-512 on this one (oneDNN and MKL told to use AVX2 at most), the nearest
thing to another vendor's CPU that one machine has; ``--runs 2`` runs the course twice; ``--cost``
adds a run with ``DIC_FAST=1`` (the mode off) and prints what the mode costs in seconds.
Prints the CPU, one row per run and the share of outputs that are timings; exits 1 if any output
outside a timing cell differs (CI runs it with ``--avx2``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from helpers import config, course, outputs, runner  # noqa: E402

AVX2_ONLY = config.AVX2_ONLY


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name"))
        vendor = next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Vendor ID"))
        flags = Path("/proc/cpuinfo").read_text()
        isa = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
        return f"{vendor} {name} ({isa}{', AMX' if ' amx_tile' in flags else ''}), {os.cpu_count()} cores"
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def one_run(label: str, env: dict, jobs: int) -> dict:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        start = time.perf_counter()
        rows = runner.run(course.notebooks(), jobs=jobs, echo=lambda line: None)
        seconds = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    failed = [r["notebook"] for r in rows if r["error"]]
    differs = [(r["notebook"], line) for r in rows for line in (r["differs"] or [])]
    return {"label": label, "seconds": seconds, "notebook_seconds": sum(r["seconds"] for r in rows),
            "per_notebook": {r["notebook"]: r["seconds"] for r in rows},
            "failed": failed, "differs": differs, "outputs": sum(r["outputs"] for r in rows),
            "compared": all(r["differs"] is not None for r in rows if not r["error"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--avx2", action="store_true", help="emulate an AVX2-only CPU (oneDNN, MKL at AVX2)")
    parser.add_argument("--runs", type=int, default=1, help="runs in the reproducible mode (default 1)")
    parser.add_argument("--cost", action="store_true", help="also run with DIC_FAST=1 and print the mode's cost")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks at a time (one thread each)")
    args = parser.parse_args(argv)
    os.environ["DIC_PROFILE"] = "quick"
    os.environ.setdefault("DIC_QUIET", "1")
    if why := config.mode_unavailable():
        print(f"outputs cannot be compared here: {why}")
        return 0
    census = {"exact": 0, "timing": 0, "machine": 0}
    for path in course.notebooks():
        import nbformat
        for kind, n in outputs.census(nbformat.read(path, as_version=4)).items():
            census[kind] += n
    total = sum(census.values())
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {cpu_model()} · torch "
          f"{__import__('torch').__version__} · {len(course.notebooks())} notebooks, {total} committed outputs: "
          f"{census['timing']} in timing cells ({census['timing'] / total:.1%}), {census['machine']} machine-dependent")
    plan = [(f"reproducible mode, run {i + 1}", {"DIC_FAST": "0"}) for i in range(args.runs)]
    if args.avx2:
        plan.append(("reproducible mode, AVX2-only kernels emulated", {"DIC_FAST": "0", **AVX2_ONLY}))
    if args.cost:
        plan.append(("fast mode (DIC_FAST=1), not compared", {"DIC_FAST": "1"}))
    results = []
    for label, env in plan:
        r = one_run(label, env, args.jobs)
        results.append(r)
        verdict = (f"{len(r['differs'])} of {r['outputs']} outputs differ" if r["compared"] else "outputs not compared")
        print(f"- {label}: {verdict}; {len(r['failed'])} notebooks failed; {r['seconds']:.0f} s wall, "
              f"{r['notebook_seconds']:.0f} s of notebook time ({args.jobs} at a time)", flush=True)
        for notebook, line in r["differs"][:20]:
            print(f"    {notebook}: {line}")
        for notebook in r["failed"]:
            print(f"    {notebook}: FAILED")
    if args.cost:
        mode, fast = results[0], results[-1]
        print("\n| notebook | fast mode (s) | reproducible mode (s) | ratio |\n|---|---:|---:|---:|")
        for name, secs in mode["per_notebook"].items():
            f = fast["per_notebook"][name]
            print(f"| {name.removesuffix('.ipynb')} | {f:.1f} | {secs:.1f} | {secs / f:.2f} |")
        a, b = fast["notebook_seconds"], mode["notebook_seconds"]
        print(f"| all {len(mode['per_notebook'])} | {a:.0f} | {b:.0f} | {b / a:.2f} |")
        print(f"cost of the reproducible mode: {a:.0f} s -> {b:.0f} s of notebook time ({b / a - 1:+.0%})")
    bad = any(r["differs"] or r["failed"] for r in results if r["compared"]) or any(r["failed"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
