"""Execute the course notebooks headless: ``python -m helpers.runner [--inplace] [PATH ...]``.

Writes executed notebooks and HTML into ``build/`` (or back into the sources with
``--inplace``, to refresh the committed outputs) and prints a table: notebook, seconds,
profile, key metrics (from ``config.report``), ok/failed. Exits 1 if any notebook fails.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from . import course
from .config import profile
from .metrics import compare, parse_lines

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


def metrics_of(nb) -> tuple[dict, dict]:
    """(metrics, tolerance specs) printed by ``config.report`` in a notebook's outputs."""
    text = "\n".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
                     if out.get("output_type") == "stream")
    return parse_lines(text)


def execute(path: Path, timeout: int = 600, inplace: bool = False, out_dir: Path | None = None) -> dict:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    committed, _ = metrics_of(nb)
    start = time.perf_counter()
    error = None
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
    except Exception as err:  # CellExecutionError, timeout, dead kernel
        error = str(err).strip().splitlines()[-1][:200] if str(err).strip() else type(err).__name__
    seconds = time.perf_counter() - start
    if inplace and error is None:
        nbformat.write(nb, path)
    if out_dir is not None:
        from nbconvert import HTMLExporter

        target = out_dir / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / path.name)
        html, _ = HTMLExporter().from_notebook_node(nb)
        (target / path.with_suffix(".html").name).write_text(html)
    values, specs = metrics_of(nb)
    drift = compare(committed, values, specs) if committed and error is None and profile() == "quick" else []
    return {"notebook": f"{path.parent.name}/{path.name}", "seconds": seconds, "metrics": values, "error": error,
            "drift": drift}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.runner", description=__doc__)
    parser.add_argument("paths", nargs="*", help="notebooks or week folders (default: every week*/ notebook)")
    parser.add_argument("--inplace", action="store_true", help="write outputs back into the source notebooks")
    parser.add_argument("--build", default=str(REPO / "build"), help="folder for executed copies and HTML")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ.setdefault("DIC_QUIET", "1")
    todo = notebooks(args.paths)
    if not todo:
        print("no notebooks found")
        return 1
    prof, rows, total = profile(), [], time.perf_counter()
    print(f"executing {len(todo)} notebooks, profile {prof}")
    for path in todo:
        row = execute(path, args.timeout, args.inplace, None if args.inplace else Path(args.build))
        rows.append(row)
        status = "ok" if row["error"] is None else f"FAILED: {row['error']}"
        print(f"  {row['notebook']:45s} {row['seconds']:6.1f}s  {status}", flush=True)
        for line in row["drift"]:  # quick profile: the committed outputs are quick-profile ones
            print(f"      differs from the committed outputs beyond tolerance: {line}")
    print()
    print("| notebook | seconds | profile | key metrics | status |")
    print("|---|---:|---|---|---|")
    for r in rows:
        metrics = ", ".join(f"{k}={v}" for k, v in r["metrics"].items()) or "-"
        print(f"| {r['notebook']} | {r['seconds']:.1f} | {prof} | {metrics} | {'ok' if r['error'] is None else 'failed'} |")
    failed = sum(r["error"] is not None for r in rows)
    print(f"\n{len(rows) - failed} ok, {failed} failed, {time.perf_counter() - total:.0f}s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
