"""After a sandboxed autograde: re-check the scores, record them, export grades (trusted side).

Nothing the student's process could have influenced is taken at face value. For every graded
cell the grader re-derives the score from the autograded notebook nbgrader wrote (after the
sandbox user's processes were killed): the cell must be there once, hold exactly the test
code of the gradebook (hidden tests included), have run, and show no error and no stderr
(nbgrader's rule). The score kept is the lower of this re-check and nbgrader's own; a
notebook the static scan flags keeps its score and is marked for manual grading.
Scores then go into the main gradebook (so formgrader shows them), and ``grades.csv`` is
rewritten from that gradebook, deterministically (re-running a grading gives the same file).
"""
from __future__ import annotations

import csv
import json
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import get_partial_grade

from .course import CHOOSE_ONE, Course, nbgrader_meta, week_total



@contextmanager
def gradebook(url: str):
    """nbgrader's Gradebook, minus the SQLAlchemy 2 autoflush warnings its 0.9 API trips (noise)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        with Gradebook(url) as gb:
            yield gb


@dataclass
class CellScore:
    notebook: str
    grade_id: str
    max_score: float
    score: float = 0.0
    nbgrader: float | None = None
    why: str = ""


@dataclass
class Outcome:
    """One student's week: scores per graded cell plus everything worth a mentor's attention."""

    student: str
    week: str
    cells: list[CellScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)      # for a mentor's review (manual grade)
    missing: list[str] = field(default_factory=list)    # expected notebooks not submitted (submissions.missing)
    error: str | None = None                              # the grading itself failed
    notebooks: dict[str, Path] = field(default_factory=dict)  # autograded notebooks to keep
    submitted: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None
    judged: dict[str, str] = field(default_factory=dict)  # "notebook/grade_id" -> how (probes, review: why)
    grader_peak_mib: int | None = None                    # the grader's process while judging this week

    def _by_notebook(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, list[float]] = {}
        for c in self.cells:
            t = totals.setdefault(c.notebook, [0.0, 0.0])
            t[0] += c.score
            t[1] += c.max_score
        return {nb: (s, m) for nb, (s, m) in totals.items()}

    @property
    def score(self) -> float:
        """The week's score: every notebook, but only the best of a choose-one group (course.CHOOSE_ONE)."""
        return week_total(self.week, self._by_notebook())[0]

    @property
    def max_score(self) -> float:
        return week_total(self.week, self._by_notebook())[1]

    @property
    def counted(self) -> dict[str, str]:
        """Choose-one group -> the notebook that counted toward the week."""
        return week_total(self.week, self._by_notebook())[2]


@dataclass
class TrustedCell:
    notebook: str
    grade_id: str
    max_score: float
    source: str


def trusted_cells(course: Course, week: str) -> list[TrustedCell]:
    """Graded cells of a released week, from the main gradebook (test code with hidden tests)."""
    cells = []
    with gradebook(course.db_url) as gb:
        assignment = gb.find_assignment(week)
        for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
            order = {c.name: i for i, c in enumerate(notebook.source_cells)}
            answers = {c.name for c in notebook.solution_cells}
            for grade_cell in sorted(notebook.grade_cells, key=lambda c: order.get(c.name, 0)):
                if grade_cell.cell_type != "code" or grade_cell.name in answers:
                    continue  # written / manually graded answers: left to formgrader
                source = gb.find_source_cell(grade_cell.name, notebook.name, week).source
                cells.append(TrustedCell(f"{notebook.name}.ipynb", grade_cell.name, float(grade_cell.max_score), source))
    return cells


def template_gradebook(course: Course, target: Path) -> Path:
    """A copy of the main gradebook without any student (what each sandbox starts from)."""
    shutil.copyfile(course.gradebook, target)
    with gradebook(f"sqlite:///{target}") as gb:
        for student in list(gb.students):
            gb.remove_student(student.id)
    return target


def _recheck(cell, trusted: TrustedCell) -> tuple[float, str]:
    if cell is None:
        return 0.0, "test cell missing from the graded notebook"
    if cell.cell_type != "code" or cell.source != trusted.source:
        return 0.0, "test code differs from the gradebook's"
    outputs = cell.get("outputs", [])
    for out in outputs:
        if out.get("output_type") == "error":
            return 0.0, f"{out.get('ename', 'error')}: {str(out.get('evalue', ''))[:160]}"
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return 0.0, "wrote to stderr"
    if cell.get("execution_count") is None:
        return 0.0, "did not run"
    for out in outputs:
        if out.get("output_type") == "execute_result":
            try:
                partial = float(get_partial_grade(out, trusted.max_score))
            except Exception:  # noqa: BLE001 - not a number: full marks, as nbgrader does
                return trusted.max_score, ""
            return min(max(partial, 0.0), trusted.max_score), "partial credit"
    return trusted.max_score, ""


def collect(outcome: Outcome, course_dir: Path, trusted: list[TrustedCell], flagged: set[str]) -> Outcome:
    """Fill ``outcome.cells`` from a finished sandbox (its private gradebook and notebooks)."""
    student, week = outcome.student, outcome.week
    auto: dict[tuple[str, str], float | None] = {}
    try:
        with gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
            submission = gb.find_submission(week, student)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    auto[(f"{nb.name}.ipynb", grade.name)] = grade.auto_score
    except Exception as err:  # noqa: BLE001 - a broken private gradebook scores 0
        if not isinstance(err, MissingEntry):
            outcome.error = outcome.error or f"private gradebook unreadable: {type(err).__name__}"
    graded_dir = course_dir / "autograded" / student / week
    notebooks = {}
    for name in {t.notebook for t in trusted}:
        path = graded_dir / name
        if path.is_file() and not path.is_symlink():
            try:
                notebooks[name] = nbformat.read(path, as_version=4)
                outcome.notebooks[name] = path
            except Exception:  # noqa: BLE001
                outcome.notes.append(f"{name}: autograded notebook unreadable")
    for t in trusted:
        nb = notebooks.get(t.notebook)
        cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == t.grade_id] if nb else []
        recheck, why = _recheck(cells[-1] if cells else None, t)
        if nb is None:
            recheck, why = 0.0, "notebook not graded"
        theirs = auto.get((t.notebook, t.grade_id))
        score = min(recheck, theirs if theirs is not None else 0.0)
        if theirs is not None and theirs > recheck:
            outcome.notes.append(f"{t.notebook}/{t.grade_id}: nbgrader gave {theirs:g}, re-check {recheck:g} ({why})")
        if t.notebook in flagged:
            why = "; ".join(x for x in (why, "flagged for review (score kept)") if x)
        outcome.cells.append(CellScore(t.notebook, t.grade_id, t.max_score, score, theirs, why))
    return outcome


# -- main gradebook, feedback, CSV ----------------------------------------------------------
def record(course: Course, outcome: Outcome) -> None:
    """Write one outcome into the main course root (gradebook, submitted/, autograded/)."""
    student, week = outcome.student, outcome.week
    submitted = course.course / "submitted" / student / week
    graded = course.course / "autograded" / student / week
    for folder in (submitted, graded):
        if folder.exists():
            shutil.rmtree(folder)
    submitted.mkdir(parents=True)
    for name, data in outcome.submitted.items():
        (submitted / name).write_bytes(data)
    if outcome.timestamp:
        (submitted / "timestamp.txt").write_text(outcome.timestamp + "\n")
    if outcome.notebooks:
        graded.mkdir(parents=True)
        for name, path in outcome.notebooks.items():
            shutil.copyfile(path, graded / name)
    with gradebook(course.db_url) as gb:
        known = gb.update_or_create_student(student)
        if known.first_name is None and known.last_name is None:   # formgrader would list "None, None"
            known.last_name, known.first_name = student, ""
        extra = {"timestamp": outcome.timestamp} if outcome.timestamp else {}
        gb.update_or_create_submission(week, student, **extra)
        held = bool(outcome.flags) or outcome.error is not None
        for cell in outcome.cells:
            grade = gb.find_grade(cell.grade_id, cell.notebook[:-len(".ipynb")], week, student)
            grade.auto_score = cell.score
            grade.needs_manual_grade = held
        gb.db.commit()


def student_names(course: Course) -> dict[str, str]:
    """Student id -> "First Last" for the students the gradebook has a real name for (not just the id
    :func:`record` fills in), so a report can say ``Ann Lee (ann)`` and otherwise the id alone."""
    if not course.gradebook.exists():
        return {}
    with gradebook(course.db_url) as gb:
        names = {s.id: " ".join(n for n in (s.first_name, s.last_name) if n) for s in gb.students}
    return {sid: name for sid, name in names.items() if name and name != sid}


def save_flags(course: Course, outcomes: list[Outcome]) -> None:
    path = course.root / "flags.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    for o in outcomes:
        key = f"{o.week}/{o.student}"
        issues = [f"REVIEW {f}" for f in o.flags] + ([f"ERROR {o.error}"] if o.error else [])
        data[key] = issues
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")


def export(course: Course, path: Path | None = None) -> Path:
    """``grades.csv``: one row per student and week; total, maximum, one column per exercise, flags.

    The total counts only the best notebook of each choose-one group (``course.CHOOSE_ONE``); when the
    gradebook holds such a week, a ``counted`` column after ``max_score`` names it
    (``papers: 11_resnet``). Every exercise keeps its own column.
    """
    path = path or course.root / "grades.csv"
    flags = json.loads((course.root / "flags.json").read_text()) if (course.root / "flags.json").exists() else {}
    rows, columns = [], []
    with gradebook(course.db_url) as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            week = assignment.name
            cells = []
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                order = {c.name: i for i, c in enumerate(notebook.source_cells)}
                cells += [(notebook.name, c.name) for c in sorted(notebook.grade_cells, key=lambda c: order.get(c.name, 0))]
            columns += [f"{week}/{nb}/{gid}" for nb, gid in cells if f"{week}/{nb}/{gid}" not in columns]
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                student = submission.student.id
                total, maximum, counted = week_total(
                    week, {nb.name: (nb.score, nb.max_score) for nb in submission.notebooks})
                row = {"student": student, "week": week, "score": _fmt(total), "max_score": _fmt(maximum),
                       "counted": "; ".join(f"{g}: {nb}" for g, nb in counted.items())}
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        row[f"{week}/{nb.name}/{grade.name}"] = _fmt(grade.score)
                row["flags"] = " | ".join(flags.get(f"{week}/{student}", []))
                rows.append(row)
    rows.sort(key=lambda r: (r["week"], r["student"]))
    with gradebook(course.db_url) as gb:
        choose_one = any(CHOOSE_ONE.get(a.name) for a in gb.assignments)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        head = ["student", "week", "score", "max_score", *(["counted"] if choose_one else [])]
        writer = csv.DictWriter(f, [*head, *columns, "flags"], restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _fmt(value) -> str:
    return f"{float(value or 0):g}"
