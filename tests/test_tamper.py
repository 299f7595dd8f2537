"""The tamper suite, graded for real: one sandboxed autograde per cheating or broken submission.

One grading run (module fixture: 35 students of the fixture assignment, two at a time) and a
second run over a few of them from LMS-style zips. For each case: the score it deserves,
every other student still graded, the submission folders untouched, re-grading gives the
same grades.csv, and the sandbox held (nothing leaked, no gradebook written, no process
left, no file clobbered).
"""
import ast
import re
import csv
import hashlib
import os
import secrets
import zipfile
from pathlib import Path

import nbformat
import pytest

from grading_fixtures import tamper
from grading_fixtures.assignment import HIDDEN_SENTINEL, WEEK, released_course
from helpers.grading.execute import GUARD_ERROR
from helpers.grading.pipeline import grade
from helpers.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(cell_timeout=5, timeout=120, memory=2 << 30)
RERUN = ["correct", "infinite_loop", "os_exit", "monkeypatch_checks", "reads_hidden_tests", "empty_folder"]


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir",
                                         p.lstat().st_mode)
            for p in sorted(folder.rglob("*")) if not p.is_symlink()}


def processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if token.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("tamper")
    course = released_course(base)
    rel = {p.name: nbformat.read(p, as_version=4) for p in sorted(course.release(WEEK).glob("*.ipynb"))}
    src = {p.name: nbformat.read(p, as_version=4) for p in sorted(course.source(WEEK).glob("*.ipynb"))}
    canary = base / "canary.txt"
    canary.write_text("canary")
    ctx = {
        # where hidden tests live; the reader must be denied every one
        "secret_files": [str(course.gradebook), str(course.source(WEEK) / "01_arrays.ipynb"),
                         str(course.weeks_root / WEEK / "01_arrays.ipynb"),
                         str(ROOT / "tests" / "grading_fixtures" / "assignment.py")],
        "sentinel": HIDDEN_SENTINEL, "gradebooks": [str(course.gradebook)], "canary": str(canary),
        "daemon_token": "dic-daemon-" + secrets.token_hex(6),
    }
    submissions = base / "submissions"
    tamper.build_all(submissions, rel, src, ctx)
    before = digest(submissions)
    log = []
    report = grade(course, submissions, [WEEK], jobs=2, limits=LIMITS, log=log.append)
    first_csv = (course.root / "grades.csv").read_text()
    # grade a few of them again, this time from LMS-style zips: same results, same grades.csv
    again = base / "again"
    again.mkdir()
    for student in RERUN:
        with zipfile.ZipFile(again / f"{student}.zip", "w") as zf:
            for path in sorted((submissions / student).rglob("*")):
                if path.is_file():
                    zf.write(path, str(path.relative_to(submissions)))
    report2 = grade(course, again, [WEEK], jobs=2, limits=LIMITS, feedback=False, log=log.append)
    return {"course": course, "report": report, "report2": report2, "before": before, "after": digest(submissions),
            "submissions": submissions, "first_csv": first_csv, "ctx": ctx, "canary": canary, "log": log}


def outcome(graded, student, report="report"):
    return next(o for o in graded[report].outcomes if o.student == student)


def autograded_text(graded, student, name="01_arrays.ipynb") -> str:
    nb = nbformat.read(graded["course"].course / "autograded" / student / WEEK / name, as_version=4)
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("case", tamper.CASES, ids=[c.student for c in tamper.CASES])
def test_each_submission_gets_the_score_it_deserves(graded, case):
    o = outcome(graded, case.student)
    got = {(c.notebook, c.grade_id): c.score for c in o.cells}
    assert got == {k: float(v) for k, v in case.expected.items()}, f"{case.what}: {[(c.grade_id, c.why) for c in o.cells]}"
    assert o.max_score == 4
    assert bool(o.flags) == case.held, o.flags
    assert o.error is None, o.error
    for note in case.notes:
        assert any(note in n for n in o.notes), (note, o.notes)


def test_grades_csv_has_every_student_and_exercise(graded):
    rows = list(csv.DictReader(graded["first_csv"].splitlines()))
    assert [r["student"] for r in rows] == sorted(c.student for c in tamper.CASES)
    by = {r["student"]: r for r in rows}
    for case in tamper.CASES:
        row = by[case.student]
        assert float(row["score"]) == sum(case.expected.values()) and row["max_score"] == "4"
        assert float(row[f"{WEEK}/01_arrays/test_relu"]) == case.expected[tamper.RELU]
        assert ("TAMPER" in row["flags"]) == case.held


def test_regrading_from_zips_is_idempotent(graded):
    assert (graded["course"].root / "grades.csv").read_text() == graded["first_csv"]
    for student in RERUN:
        first, second = outcome(graded, student), outcome(graded, student, "report2")
        assert [(c.grade_id, c.score) for c in first.cells] == [(c.grade_id, c.score) for c in second.cells]


def test_submission_folders_are_never_modified(graded):
    assert graded["after"] == graded["before"]


def test_tampered_scores_are_held_for_review_in_the_gradebook(graded):
    from nbgrader.api import Gradebook

    with Gradebook(graded["course"].db_url) as gb:
        held = gb.find_submission(WEEK, "monkeypatch_checks")
        assert all(g.needs_manual_grade for nb in held.notebooks for g in nb.grades)
        clean = gb.find_submission(WEEK, "correct")
        assert not any(g.needs_manual_grade for nb in clean.notebooks for g in nb.grades)
        assert clean.score == 4


def test_runtime_defences_are_what_stopped_the_hidden_attacks(graded):
    """The exec-hidden cases got past the static scan; the guard and the re-check caught them."""
    why = {s: [c.why for c in outcome(graded, s).cells] for s in
           ("patch_numpy_hidden", "blank_tests_hidden", "monkeypatch_hidden", "swallow_errors_hidden")}
    assert all("integrity check failed" in w and "numpy.allclose" in w for w in why["patch_numpy_hidden"][:2])
    assert all(w.startswith(GUARD_ERROR) for w in why["blank_tests_hidden"][:2])
    assert all("off by" in w for w in why["monkeypatch_hidden"])  # the real checks ran
    assert all("integrity check failed" in w and "custom exception" in w for w in why["swallow_errors_hidden"][:2])
    assert not outcome(graded, "sigint_ignored").error
    assert "ignored the interrupt" in outcome(graded, "sigint_ignored").cells[1].why
    assert "kernel died" in outcome(graded, "os_exit").cells[0].why


def test_huge_output_is_capped(graded):
    path = graded["course"].course / "autograded" / "huge_output" / WEEK / "01_arrays.ipynb"
    assert path.stat().st_size < 2_000_000
    assert "output beyond" in autograded_text(graded, "huge_output")


def test_nothing_outlives_grading_and_nothing_is_clobbered(graded):
    assert processes_with(graded["ctx"]["daemon_token"]) == []
    assert graded["canary"].read_text() == "canary"
    folder = graded["course"].course / "autograded" / "plants_symlinks" / WEEK
    assert sorted(p.name for p in folder.iterdir()) == ["01_arrays.ipynb", "02_more.ipynb"]
    assert not any(p.is_symlink() for p in folder.iterdir())


def test_feedback_and_report_for_every_graded_student(graded):
    course = graded["course"]
    for case in tamper.CASES:
        html = course.course / "feedback" / case.student / WEEK
        if case.student == "empty_folder":
            assert not html.exists()
        else:
            assert any(html.glob("*.html")), case.student
    text = (course.root / "report.md").read_text()
    assert "monkeypatch_checks" in text and "TAMPER" in text


@pytest.fixture
def isolated(graded):
    plan = graded["report"].plan
    if not plan.switch_user:
        pytest.skip(f"kernels are not isolated on this machine ({plan.describe()}): reading hidden tests and "
                    "writing the gradebook stay possible, see MENTORS.md")
    return plan


def test_student_cannot_read_hidden_tests(graded, isolated):
    text = autograded_text(graded, "reads_hidden_tests")
    assert "LEAKED" not in text
    for path in graded["ctx"]["secret_files"] + ["01_arrays.ipynb", "../../../gradebook.db", "../../../nbgrader_config.py"]:
        assert f"denied {path} " in text, (path, text)
    assert not [line for line in text.splitlines() if line.startswith("read ")], text
    if isolated.namespaces:  # a private /tmp: this student's sandbox folder (and exposed installs) only
        line = next(line for line in text.splitlines() if line.startswith("tmp holds"))
        entries = set(ast.literal_eval(line[len("tmp holds "):]))
        installs = {Path(p).relative_to("/tmp").parts[0] for p in isolated.expose if p.startswith("/tmp/")}
        assert len([e for e in entries - installs if e.startswith("dic-grading-")]) == 1 and \
            len(entries - installs) == 1, line


def test_student_cannot_write_the_gradebook(graded, isolated):
    text = autograded_text(graded, "writes_gradebook")
    assert "WROTE" not in text and text.count("denied") == 2, text


def test_feedback_runs_no_student_script(graded):
    """HTML, markdown outputs and markdown cells are cleaned before nbgrader renders the feedback."""
    from test_sanitize import active

    pages = sorted((graded["course"].course / "feedback" / "html_injection" / WEEK).glob("*.html"))
    assert pages
    text = ""
    for page in pages:
        body = page.read_text()
        body = body[body.index("<body"):]
        # the template's own scripts and styles (MathJax, require.js) never say alert; the student's did

        text += re.sub(r"<(script|style)[^>]*>(?:(?!</\\1>).)*</\\1>",
                       lambda m: m.group(0) if "alert" in m.group(0) else "", body, flags=re.S)
    assert not active(text), active(text)
    assert "<b>kept</b>" in text                          # the harmless part of the output is still shown
    autograded = graded["course"].course / "autograded" / "html_injection" / WEEK
    for path in autograded.glob("*.ipynb"):               # formgrader renders these
        for cell in nbformat.read(path, as_version=4).cells:
            html = [o.get("data", {}).get("text/html", "") for o in cell.get("outputs", [])]
            assert not any(active(h if isinstance(h, str) else "".join(h)) for h in html)
