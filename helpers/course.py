"""The course's weeks, found in one place: the ``week*`` folders of the repository.

    weeks()       ['week1', 'week2', 'week3', 'week4', 'week5_6']   (syllabus order)
    notebooks()   every week's *.ipynb, week by week, sorted by name within a week

A week folder is named ``week<N>`` or ``week<N>_<M>`` (a block over several weeks, such as
``week5_6``); they sort by their numbers, so ``week10`` comes after ``week5_6``. Adding a
week is adding its folder: the runner, the notebook tests and the grader pick it up.

Every notebook ends with a navigation cell (:func:`navigation`): the previous and the next notebook
of the course and the week's index (its README). ``python -m helpers.course nav`` writes or updates
those cells; tests/test_course.py checks that each notebook has its own and that every link resolves.

``python -m helpers.course`` prints the weeks on one line (for the Makefile).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEEK_FOLDER = re.compile(r"week(\d+)(?:_(\d+))*")


def week_key(name: str) -> tuple[int, ...]:
    """Sort key of a week folder name: ``week5_6`` -> (5, 6), ``week10`` -> (10,)."""
    if not WEEK_FOLDER.fullmatch(name):
        raise ValueError(f"expected a week folder name like 'week3' or 'week5_6', got {name!r}")
    return tuple(int(n) for n in name.removeprefix("week").split("_"))


def weeks(root: Path | str = REPO, with_notebooks: bool = False) -> list[str]:
    """Names of the week folders under ``root``, in syllabus order; with ``with_notebooks``
    only those that hold at least one notebook."""
    found = [p.name for p in Path(root).iterdir()
             if p.is_dir() and WEEK_FOLDER.fullmatch(p.name)
             and (not with_notebooks or any(p.glob("*.ipynb")))]
    return sorted(found, key=week_key)


def notebooks(root: Path | str = REPO, week_names: list[str] | None = None) -> list[Path]:
    """The notebooks of ``week_names`` (default: every week under ``root``), in order."""
    return [nb for week in (weeks(root) if week_names is None else week_names)
            for nb in sorted((Path(root) / week).glob("*.ipynb"))]


NAV_TAG = "navigation"


def title(path: Path) -> tuple[str, str]:
    """A notebook's week and short title from its first heading: ``# Week 1 · 03 — Binary classification: …``
    gives ``("Week 1", "03 · Binary classification")``."""
    import json

    first = "".join(json.loads(Path(path).read_text())["cells"][0]["source"]).splitlines()[0]
    week = first.lstrip("# ").split(" \u00b7 ")[0]
    name = first.split("\u2014", 1)[-1].split(":")[0].strip()
    return week, f"{Path(path).name[:2]} \u00b7 {name}"


def navigation(path: Path, root: Path | str = REPO) -> str:
    """The markdown of ``path``'s navigation cell: previous notebook, the week's index, next notebook
    (across weeks too: week 1's last notebook leads to week 2's first)."""
    path, root = Path(path).resolve(), Path(root).resolve()
    order = [nb.resolve() for nb in notebooks(root)]
    i = order.index(path)

    def link(other: Path) -> str:
        week, name = title(other)
        if other.parent == path.parent:
            return f"[{name}]({other.name})"
        return f"[{week} \u00b7 {name}](../{other.parent.name}/{other.name})"

    parts = [f"\u2190 {link(order[i - 1])}" if i else "the start of the course",
             f"[{title(path)[0]}: all notebooks](README.md)",
             f"{link(order[i + 1])} \u2192" if i + 1 < len(order) else "the end of the course"]
    return " \u00b7 ".join(parts)


def write_navigation(root: Path | str = REPO) -> list[Path]:
    """Add or update the navigation cell at the end of every notebook; returns the notebooks changed."""
    import nbformat

    changed = []
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        text = navigation(path, root)
        last = nb.cells[-1] if nb.cells else None
        if last is not None and NAV_TAG in last.get("metadata", {}).get("tags", []):
            if last.source == text:
                continue
            last.source = text
        else:
            cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [NAV_TAG]})
            cell["id"] = NAV_TAG
            nb.cells.append(cell)
        nbformat.write(nb, path)
        changed.append(path)
    return changed


if __name__ == "__main__":   # python -m helpers.course [root] | nav
    if sys.argv[1:2] == ["nav"]:
        for path in write_navigation():
            print(f"navigation cell written: {path.relative_to(REPO)}")
    else:
        print(" ".join(weeks(*sys.argv[1:2])))
