"""The full profile, notebook by notebook: ``python benchmarks/full_profile.py [--dry-run] [NOTEBOOK ...]``

Without ``--dry-run`` it executes every notebook (or those named) with ``DIC_PROFILE=full`` into
``build/full/`` (the committed notebooks are never touched) and writes a results record: one row
per notebook with its seconds and key metrics (the ``[metrics]`` line), headed by the machine, the
date and the command, to ``benchmarks/results/full_profile_<device>.md`` (``--out`` to choose).
It is meant for a GPU: on a CPU it refuses unless ``--allow-cpu`` (the full profile takes hours there).

``--dry-run`` (CI runs it on the CPU) executes nothing: it checks that the full profile is accepted
(``config.profile()``), that every notebook calls ``config.setup()`` in its first cells, and lists
what the full profile changes in each notebook: every ``cfg.pick(quick, full)`` with its two values.
A notebook with no ``pick`` runs the same on both profiles, and says so.
"""
from __future__ import annotations

import argparse
import ast
import datetime as dt
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from helpers import config, course  # noqa: E402


def picks(nb) -> list[tuple[str, str]]:
    """(quick, full) source text of every ``<x>.pick(quick, full)`` call in a notebook's code cells."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "pick" \
                    and len(node.args) == 2:
                found.append(tuple(ast.get_source_segment(source, a) for a in node.args))
    return found


def dry_run(paths: list[Path]) -> int:
    import nbformat

    saved = os.environ.get("DIC_PROFILE")
    os.environ["DIC_PROFILE"] = "full"
    try:
        assert config.profile() == "full" and config.pick("quick", "full") == "full"
    finally:
        os.environ.pop("DIC_PROFILE") if saved is None else os.environ.__setitem__("DIC_PROFILE", saved)
    problems = 0
    print(f"dry run: {len(paths)} notebooks would run with DIC_PROFILE=full (nothing executed)")
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        name = f"{path.parent.name}/{path.stem}"
        if not any("config.setup(" in s for s in code[:3]):
            print(f"  {name}: PROBLEM: no config.setup() in its first cells, so no profile is chosen")
            problems += 1
            continue
        changes = picks(nb)
        if not changes:
            print(f"  {name}: the same on both profiles")
        else:
            print(f"  {name}: {len(changes)} setting(s): " + ", ".join(f"{q} -> {f}" for q, f in changes))
    print(f"{len(paths) - problems} of {len(paths)} notebooks accept the full profile")
    return 1 if problems else 0


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return f"Apple MPS, torch {torch.__version__}"
    return f"CPU {os.cpu_count()} cores, torch {torch.__version__}"


def run(paths: list[Path], out: Path | None, timeout: int, jobs: int) -> int:
    from helpers import runner

    os.environ.update(DIC_PROFILE="full", DIC_FAST="1")   # a GPU run needs no reproducible CPU mode
    os.environ.setdefault("DIC_QUIET", "1")
    started, rows = dt.datetime.now(dt.timezone.utc), []
    print(f"executing {len(paths)} notebooks with DIC_PROFILE=full on {machine()}", flush=True)
    start = time.perf_counter()
    rows = runner.run(paths, timeout=timeout, out_dir=REPO / "build" / "full", jobs=jobs)
    total = time.perf_counter() - start
    lines = [f"# Full-profile run: {machine()}", "",
             f"- **Date:** {started:%Y-%m-%d %H:%M} UTC; {total / 60:.1f} min in all",
             f"- **Command:** `python benchmarks/full_profile.py {' '.join(sys.argv[1:])}`".rstrip(),
             "- **Data:** what `make data` provisioned on that machine (offline copies unless the official "
             "downloads were reachable; `helpers.data` says which in each notebook)", "",
             "| notebook | seconds | key metrics | status |", "|---|---:|---|---|"]
    for r in rows:
        metrics = ", ".join(f"{k}={v}" for k, v in r["metrics"].items()) or "-"
        lines.append(f"| {r['notebook']} | {r['seconds']:.1f} | {metrics} | "
                     f"{'ok' if r['error'] is None else 'failed: ' + r['error']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        out.write_text(text)
        print(f"written: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return 1 if any(r["error"] for r in rows) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="notebooks or week folders (default: the whole course)")
    parser.add_argument("--dry-run", action="store_true", help="check and list, execute nothing (CI)")
    parser.add_argument("--allow-cpu", action="store_true", help="run on a CPU anyway (hours)")
    parser.add_argument("--out", help="results file (default benchmarks/results/full_profile_<device>.md)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks at a time (one GPU: 1)")
    args = parser.parse_args(argv)
    from helpers import runner

    paths = runner.notebooks(args.paths) if args.paths else course.notebooks()
    if args.dry_run:
        return dry_run(paths)
    device = config.pick_device().type
    if device == "cpu" and not args.allow_cpu:
        print("no GPU here: the full profile is meant for one (hours on a CPU). Use --dry-run to check the "
              "notebooks, or --allow-cpu to run anyway.")
        return 2
    if args.out:
        out = Path(args.out)
    else:
        import torch

        gpu = torch.cuda.get_device_name(0).split()[-1].lower() if device == "cuda" else device
        out = REPO / "benchmarks" / "results" / f"full_profile_{''.join(c for c in gpu if c.isalnum())}.md"
    return run(paths, out, args.timeout, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
