"""The course's weeks, found in one place: the ``week*`` folders of the repository.

    weeks()       ['week1', 'week2', 'week3', 'week4', 'week5_6']   (syllabus order)
    notebooks()   every week's *.ipynb, week by week, sorted by name within a week

A week folder is named ``week<N>`` or ``week<N>_<M>`` (a block over several weeks, such as
``week5_6``); they sort by their numbers, so ``week10`` comes after ``week5_6``. Adding a
week is adding its folder: the runner, the notebook tests and the grader pick it up.

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


if __name__ == "__main__":
    print(" ".join(weeks(*sys.argv[1:2])))
