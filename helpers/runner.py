"""Execute the course notebooks headless: ``python -m helpers.runner [--inplace] [--jobs N] [PATH ...]``.

Writes executed notebooks and HTML into ``build/`` (or back into the sources with
``--inplace``, to refresh the committed outputs) and prints a table: notebook, seconds,
profile, key metrics (from ``config.report``), how many outputs differ from the committed
ones (quick profile, reproducible mode: ``helpers.outputs``), ok/failed. Exits 1 if any
notebook fails. Kernels start with the reproducible CPU mode's environment
(``helpers/reproducible.env``) unless ``DIC_FAST=1``.
"""
from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import config, course, outputs
from .metrics import MIME, changed, parse_lines

REPO = course.REPO


def notebooks(paths: list[str] | None = None) -> list[Path]:
    """The notebooks named by ``paths`` (files, or folders of notebooks); by default every
    week's notebooks in syllabus order (``helpers.course``)."""
    if paths:
        found = []
        for p in map(Path, paths):
            found += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
        return found
    return course.notebooks()


def metrics_of(nb) -> dict:
    """The metrics ``config.report`` left in a notebook's outputs: printed lines, or the MIME output of a
    notebook run with a person watching (saved from JupyterLab)."""
    outs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    found = parse_lines("\n".join(outputs._text(out.get("text", "")) for out in outs if out.get("output_type") == "stream"))
    for out in outs:
        found.update(out.get("data", {}).get(MIME, {}))
    return found


def kernel_env() -> dict[str, str]:
    """The environment kernels start with: the reproducible mode's variables added, unless switched off."""
    env = dict(os.environ)
    if not config.fast() and not config.mode_unavailable():
        env.update(config.reproducible_env())
    return env


def compared() -> str | None:
    """Why outputs are not compared with the committed ones in this run, or None when they are."""
    if config.profile() != "quick":
        return f"the {config.profile()} profile runs (the committed outputs are the quick profile's)"
    if config.fast():
        return "DIC_FAST=1 (the committed outputs are the reproducible mode's)"
    return config.mode_unavailable()


def execute(path: Path, timeout: int = 600, inplace: bool = False, out_dir: Path | None = None) -> dict:
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    committed = copy.deepcopy(nb)
    os.environ.update(kernel_env())      # a kernel inherits this process's environment
    start = time.perf_counter()
    error = None
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
    except Exception as err:  # CellExecutionError, timeout, dead kernel
        error = str(err).strip().splitlines()[-1][:200] if str(err).strip() else type(err).__name__
    seconds = time.perf_counter() - start
    for cell in nb.cells:                # timestamps of earlier runs: not outputs, only noise in a diff
        cell.get("metadata", {}).pop("execution", None)
    if inplace and error is None:
        nbformat.write(nb, path)
    if out_dir is not None:
        from nbconvert import HTMLExporter

        target = out_dir / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / path.name)
        html, _ = HTMLExporter().from_notebook_node(nb)
        (target / path.with_suffix(".html").name).write_text(html)
    values = metrics_of(nb)
    check = error is None and compared() is None
    return {"notebook": f"{path.parent.name}/{path.name}", "seconds": seconds, "metrics": values, "error": error,
            "outputs": outputs.count(nb),
            "differs": outputs.differences(committed, nb) if check else None,
            "drift": changed(metrics_of(committed), values) if check else []}


def _execute(args):
    return execute(*args)


def run(todo: list[Path], timeout: int = 600, inplace: bool = False, out_dir: Path | None = None, jobs: int = 1,
        echo=print) -> list[dict]:
    """Execute ``todo`` (``jobs`` kernels at a time, one process each); rows in syllabus order."""
    work = [(p, timeout, inplace, out_dir) for p in todo]
    rows = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        for row in pool.map(_execute, work):
            rows[row["notebook"]] = row
            status = "ok" if row["error"] is None else f"FAILED: {row['error']}"
            diff = "" if row["differs"] is None else f"  {len(row['differs'])}/{row['outputs']} outputs differ"
            echo(f"  {row['notebook']:45s} {row['seconds']:6.1f}s  {status}{diff}")
            for line in (row["differs"] or [])[:5]:
                echo(f"      {line}")
    return [rows[f"{p.parent.name}/{p.name}"] for p in todo]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.runner", description=__doc__)
    parser.add_argument("paths", nargs="*", help="notebooks or week folders (default: every week*/ notebook)")
    parser.add_argument("--inplace", action="store_true", help="write outputs back into the source notebooks")
    parser.add_argument("--build", default=str(REPO / "build"), help="folder for executed copies and HTML")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed at a time (one thread each)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DIC_QUIET", "1")
    todo = notebooks(args.paths)
    if not todo:
        print("no notebooks found")
        return 1
    prof, total = config.profile(), time.perf_counter()
    why = compared()
    print(f"executing {len(todo)} notebooks, profile {prof}, {args.jobs} at a time; "
          + ("outputs compared with the committed ones" if why is None else f"outputs not compared: {why}"))
    rows = run(todo, args.timeout, args.inplace, None if args.inplace else Path(args.build), args.jobs)
    print()
    print("| notebook | seconds | profile | key metrics | outputs differing | status |")
    print("|---|---:|---|---|---:|---|")
    for r in rows:
        metrics = ", ".join(f"{k}={v}" for k, v in r["metrics"].items()) or "-"
        diff = "-" if r["differs"] is None else f"{len(r['differs'])}/{r['outputs']}"
        print(f"| {r['notebook']} | {r['seconds']:.1f} | {prof} | {metrics} | {diff} | "
              f"{'ok' if r['error'] is None else 'failed'} |")
    failed = sum(r["error"] is not None for r in rows)
    differing = sum(len(r["differs"] or []) for r in rows)
    print(f"\n{len(rows) - failed} ok, {failed} failed, {time.perf_counter() - total:.0f}s in all "
          f"({sum(r['seconds'] for r in rows):.0f}s of notebook time, {args.jobs} at a time)"
          + ("" if why else f"; {differing} of {sum(r['outputs'] for r in rows)} outputs differ from the committed ones"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
