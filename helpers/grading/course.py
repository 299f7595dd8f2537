"""The nbgrader course root, staging of the week folders, and releasing student notebooks.

The week folders (``week1/`` ...) stay where notebooks are written. The grader copies a
week's notebooks (and small support files) into a gitignored nbgrader course root,
``build/grading/course/source/<week>/``, and runs ``nbgrader generate_assignment`` there::

    build/grading/
      course/                  nbgrader course root (mode 700 when run as root)
        source/<week>/         staged copies of weekN/*.ipynb (solutions + hidden tests)
        release/<week>/        student notebooks: no solutions, no hidden tests, no outputs
        submitted/ autograded/ feedback/   filled by ``grade`` (feedback pages with mathjax/ beside them)
        gradebook.db           nbgrader's gradebook (source cells incl. hidden tests, scores)
      bundle/                  what mentees get (``bundle.py``): release notebooks, helpers without hidden cases
      grades.csv               per student and week: total and one column per exercise
      report.md                what the last grading run found (flags, problems)
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from helpers import course as syllabus

REPO = syllabus.REPO
SUPPORT_SUFFIXES = {".md", ".txt", ".csv", ".json", ".png", ".jpg", ".jpeg", ".gif", ".svg"}
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


@dataclass(frozen=True)
class Course:
    """Where grading reads weeks from (``weeks_root``) and writes everything (``root``)."""

    root: Path = REPO / "build" / "grading"
    weeks_root: Path = REPO

    @property
    def course(self) -> Path:
        return self.root / "course"

    @property
    def gradebook(self) -> Path:
        return self.course / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    def source(self, week: str) -> Path:
        return self.course / "source" / week

    def release(self, week: str) -> Path:
        return self.course / "release" / week

    def week_dir(self, week: str) -> Path:
        return self.weeks_root / week

    def notebooks(self, week: str) -> list[Path]:
        return sorted(self.week_dir(week).glob("*.ipynb"))

    def weeks(self) -> list[str]:
        """Week folders that contain notebooks, in syllabus order (``helpers.course``)."""
        return syllabus.weeks(self.weeks_root, with_notebooks=True)


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # nbgrader runs alembic
    # this checkout's helpers (generate_feedback imports helpers.grading.feedback), as nbgrader_config.py does
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


# ``python -m nbgrader`` without jsonschema's "iri" grammars (helpers/grading/__init__.py says why)
NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; main()")


def run_nbgrader(course: Course, *args: str) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` on the main course root (trusted commands only: nothing executes notebooks)."""
    cmd = [sys.executable, "-c", NBGRADER, *args, f"--CourseDirectory.root={course.course}",
           f"--CourseDirectory.db_url={course.db_url}"]
    out = subprocess.run(cmd, cwd=course.course, env=nbgrader_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def ensure_course(course: Course) -> None:
    course.course.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # sandboxed kernels run as other users: keep them out of the main course
        os.chmod(course.course, 0o700)


def stage(course: Course, week: str) -> list[Path]:
    """Copy ``<week>/`` notebooks and support files into ``source/<week>/`` (replacing what was there)."""
    target = course.source(week)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    staged = []
    for path in sorted(course.week_dir(week).iterdir()):
        if path.is_file() and not path.name.startswith(".") and (
                path.suffix == ".ipynb" or path.suffix.lower() in SUPPORT_SUFFIXES):
            shutil.copy2(path, target / path.name)
            staged.append(target / path.name)
    return staged


def release(course: Course, weeks: list[str] | None = None, log=print) -> dict[str, list[Path]]:
    """Stage and release ``weeks`` (default: every week with notebooks); check what came out."""
    ensure_course(course)
    done = {}
    for week in weeks or course.weeks():
        if not course.notebooks(week):
            log(f"{week}: no notebooks, nothing to release")
            continue
        stage(course, week)
        run_nbgrader(course, "generate_assignment", week, "--force")
        problems = []
        for src in sorted(course.source(week).glob("*.ipynb")):
            problems += [f"{week}/{src.name}: {p}" for p in check_release(src, course.release(week) / src.name)]
        if problems:
            raise RuntimeError("release check failed:\n  " + "\n  ".join(problems))
        done[week] = sorted(course.release(week).glob("*.ipynb"))
        graded = sum(len(graded_cells(nbformat.read(p, as_version=4))) for p in done[week])
        log(f"{week}: released {len(done[week])} notebooks ({graded} graded cells) -> {course.release(week)}")
    return done


# -- reading nbgrader metadata -------------------------------------------------------
def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def graded_cells(nb) -> list:
    return [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]


def _region_lines(source: str, begin: str, end: str) -> list[str]:
    """Substantive lines between ``begin`` and ``end`` markers (what a release must not contain)."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and len(line.strip()) > 3 and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def check_release(source_path: Path, release_path: Path) -> list[str]:
    """What is wrong with a released notebook (empty list: fit to hand out)."""
    if not release_path.exists():
        return ["missing from the release"]
    try:
        rel = nbformat.read(release_path, as_version=4)
        nbformat.validate(rel)
    except Exception as err:  # noqa: BLE001 - reported as a problem
        return [f"does not open: {err}"]
    src = nbformat.read(source_path, as_version=4)
    problems = []
    text = "\n".join(c.source for c in rel.cells)
    for marker in MARKERS:
        if marker in text:
            problems.append(f"still contains {marker!r}")
    released = {nbgrader_meta(c).get("grade_id"): c for c in rel.cells if nbgrader_meta(c).get("grade_id")}
    for cell in src.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        secret = (_region_lines(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                  + _region_lines(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
        if not secret or grade_id not in released:
            continue
        public = {line.strip() for line in _outside_regions(cell.source)}
        shown = {line.strip() for line in released[grade_id].source.splitlines()}
        leaked = [line for line in secret if line in shown and line not in public and not _boilerplate(line)]
        if leaked:
            problems.append(f"cell {grade_id}: solution or hidden-test lines leaked: {leaked[:3]}")
    for cell in rel.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            problems.append(f"cell {meta.get('grade_id', '?')} has outputs")
        if meta.get("locked") and (cell.metadata.get("editable", True) or cell.metadata.get("deletable", True)):
            problems.append(f"locked cell {meta.get('grade_id')} is not marked read-only")
        if (meta.get("grade") or meta.get("solution")) and cell.metadata.get("deletable", True):
            problems.append(f"graded cell {meta.get('grade_id')} can be deleted")
    src_ids = {nbgrader_meta(c).get("grade_id"): nbgrader_meta(c).get("points") for c in graded_cells(src)}
    rel_ids = {nbgrader_meta(c).get("grade_id"): nbgrader_meta(c).get("points") for c in graded_cells(rel)}
    if src_ids != rel_ids:
        problems.append(f"graded cells differ from the source: {src_ids} vs {rel_ids}")
    for cell in rel.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code" and "raise NotImplementedError" not in cell.source:
            problems.append(f"solution cell {nbgrader_meta(cell).get('grade_id')} has no stub")
    return problems


def _outside_regions(source: str) -> list[str]:
    kept, inside = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            kept.append(line)
    return kept


def _boilerplate(line: str) -> bool:
    """Lines a stub may legitimately share with its solution (``return x``, ``pass``)."""
    return bool(re.fullmatch(r"(return|pass|break|continue|else:|\)|\]|\})\s*\w{0,12}", line))


# -- choose-one groups: notebooks of which a mentee does one -------------------------------
# week -> {group name: notebooks (names without .ipynb)}. In a group only the best notebook counts
# toward the week: week 3's five paper notebooks are a choice (the syllabus: "choose one paper"), so
# a mentee who submits one is not marked down for the other four. grades.csv and report.md name it.
CHOOSE_ONE = {
    "week3": {"papers": ("07_alexnet", "08_vgg", "09_googlenet", "10_xception", "11_resnet")},
}


def week_total(week: str, notebooks: dict[str, tuple[float, float]],
               groups: dict | None = None) -> tuple[float, float, dict[str, str]]:
    """A week's ``(score, max_score, counted)`` from ``{notebook: (score, max_score)}`` (names with or
    without ``.ipynb``). Notebooks outside a choose-one group all count; of a group's notebooks only
    the best does: the highest share of its points, then the highest score, then the first in the
    group's order. ``counted`` maps each group present to the notebook that counted.
    groups: ``CHOOSE_ONE[week]`` unless given."""
    groups = CHOOSE_ONE.get(week, {}) if groups is None else groups
    scores = {name.removesuffix(".ipynb"): (float(s or 0), float(m or 0)) for name, (s, m) in notebooks.items()}
    in_group = {nb for members in groups.values() for nb in members}
    score = sum(s for nb, (s, _) in scores.items() if nb not in in_group)
    max_score = sum(m for nb, (_, m) in scores.items() if nb not in in_group)
    counted = {}
    for group, members in groups.items():
        present = [nb for nb in members if nb in scores]
        if not present:
            continue
        best = max(present, key=lambda nb: (scores[nb][0] / scores[nb][1] if scores[nb][1] else 0.0,
                                            scores[nb][0], -members.index(nb)))
        counted[group] = best
        score += scores[best][0]
        max_score += scores[best][1]
    return score, max_score, counted
