"""The tamper suite, graded for real: one sandboxed autograde per cheating, broken or innocent submission.

One grading run (module fixture: every case of ``grading_fixtures.tamper``, two at a time) and a
second run over a few of them from LMS-style zips. For each case: the score it deserves, every
other student still graded, the submission folders untouched, re-grading gives the same
grades.csv, and the sandbox held: nothing leaked, no gradebook written, no process, file or
shared-memory segment left, the repository, the datasets and the venv unchanged.

``.ci/run`` runs this module twice: as root and as an unprivileged user it creates.
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
from helpers.grading.pipeline import grade
from helpers.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(cell_timeout=5, timeout=120, memory=4 << 30)
# graded a second time from zips: one of each outcome (full marks, a dead kernel, tampering, nothing handed in, an
# answer flagged for review: the second report must still name it);
# the slow ones (an infinite loop, a sleeping reader) are graded once, in the first run
RERUN = ["correct", "os_exit", "monkeypatch_checks", "empty_folder", "reference_answer"]


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir",
                                         p.lstat().st_mode)
            for p in sorted(folder.rglob("*")) if not p.is_symlink()}


def listing(folder: Path) -> dict:
    """Names, sizes and modification times under a folder (the venv, the datasets): cheap and enough."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames + dirnames:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns) if p.is_file() else "dir"
    return out


def host_state() -> dict:
    import subprocess
    import sys

    from helpers.data import data_root

    status = subprocess.run(["git", "-c", "safe.directory=*", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    return {"git": status, "data": listing(data_root()), "venv": listing(Path(sys.prefix))}


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
        "channel_token": "dic-channel-" + secrets.token_hex(6), "sysv_key": 0x5EED0000 + secrets.randbelow(1 << 16),
    }
    submissions = base / "submissions"
    tamper.build_all(submissions, rel, src, ctx)
    before = digest(submissions)
    host = host_state()
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
            "host_before": host, "host_after": host_state(),
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
    assert o.missing == list(case.missing), o.missing


def test_grades_csv_has_every_student_and_exercise(graded):
    rows = list(csv.DictReader(graded["first_csv"].splitlines()))
    assert [r["student"] for r in rows] == sorted(c.student for c in tamper.CASES)
    by = {r["student"]: r for r in rows}
    for case in tamper.CASES:
        row = by[case.student]
        assert float(row["score"]) == sum(case.expected.values()) and row["max_score"] == "4"
        assert float(row[f"{WEEK}/01_arrays/test_relu"]) == case.expected[tamper.RELU]
        assert ("REVIEW" in row["flags"]) == case.held


def test_regrading_from_zips_is_idempotent(graded):
    assert (graded["course"].root / "grades.csv").read_text() == graded["first_csv"]
    for student in RERUN:
        first, second = outcome(graded, student), outcome(graded, student, "report2")
        assert [(c.grade_id, c.score) for c in first.cells] == [(c.grade_id, c.score) for c in second.cells]


def test_submission_folders_are_never_modified(graded):
    assert graded["after"] == graded["before"]


def test_flagged_answers_keep_their_score_and_wait_for_review(graded):
    from nbgrader.api import Gradebook

    o = outcome(graded, "reference_answer")
    assert o.score == 4 and any("reference implementation helpers.scratch.relu_forward" in f for f in o.flags)
    with Gradebook(graded["course"].db_url) as gb:
        held = gb.find_submission(WEEK, "reference_answer")
        assert held.score == 4 and all(g.needs_manual_grade for nb in held.notebooks for g in nb.grades)
        clean = gb.find_submission(WEEK, "correct")
        assert not any(g.needs_manual_grade for nb in clean.notebooks for g in nb.grades)
        assert clean.score == 4


def test_verdicts_come_from_the_grader_whatever_the_kernel_patched(graded):
    """Patched checks, NumPy, hooks, tracers, import machinery, builtins, sys.modules, the session:
    the grader's own checks still ran (their hints are in the feedback), and nothing was judged in a kernel."""
    for student in ("monkeypatch_checks", "monkeypatch_hidden", "patch_numpy_hidden", "blank_tests_hidden",
                    "swallow_errors_hidden", "patch_during_test", "tracer", "import_machinery", "builtins_import",
                    "fake_sys_modules", "startup_file", "gradebook_sabotage"):
        whys = [c.why for c in outcome(graded, student).cells]
        # the tracer can also break the grader's first request to that kernel: then that cell scores 0 as "could
        # not talk to the kernel" -- never a pass
        assert all("off by" in w or w.startswith("DeadKernelError: the grader could not talk") for w in whys), \
            (student, whys)
    whys = [c.why for c in outcome(graded, "session_patch").cells]
    assert all("not answered yet" in w for w in whys), whys
    assert all(how in ("probes", "grader") or how.startswith("review: ")         # never in a kernel
               for o in graded["report"].outcomes for how in o.judged.values())
    assert any("not judged from data" in f for f in outcome(graded, "not_data").flags)
    assert not outcome(graded, "sigint_ignored").error
    assert "ran longer than" in outcome(graded, "sigint_ignored").cells[1].why
    assert "kernel died" in outcome(graded, "os_exit").cells[0].why


def test_innocent_code_is_neither_flagged_nor_marked_down(graded):
    o = outcome(graded, "innocent")
    assert o.score == 4 and not o.flags, (o.flags, [c.why for c in o.cells])


def test_kill_all_reaches_no_one_else(graded):
    """kill(-1) from a kernel: its PID namespace holds only itself, so every other student is graded as usual."""
    o = outcome(graded, "kill_all")
    assert o.score == 4 and o.error is None
    assert all(o.error is None for o in graded["report"].outcomes)


def test_no_channel_between_students_and_nothing_left_on_the_host(graded):
    token = graded["ctx"]["channel_token"]
    text = autograded_text(graded, "channel_reader")
    assert "channels seen: [] sysv: -1" in text, text
    for folder in ("/run/lock", "/dev/shm", "/tmp", "/var/tmp"):
        assert not list(Path(folder).glob(token + "*")), folder
    key = f"{graded['ctx']['sysv_key']:d}"
    shm = Path("/proc/sysvipc/shm")
    if shm.exists():
        assert not any(line.split()[0] == key for line in shm.read_text().splitlines()[1:] if line.split())


def test_nothing_planted_and_the_host_unchanged(graded):
    text = autograded_text(graded, "pth_planting")
    assert "PLANTED" not in text and "denied" in text, text
    assert "SABOTAGED" not in autograded_text(graded, "gradebook_sabotage")
    before, after = graded["host_before"], graded["host_after"]
    assert after["git"] == before["git"]
    assert after["data"] == before["data"]
    assert after["venv"] == before["venv"]


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
    assert "reference_answer" in text and "REVIEW" in text


@pytest.fixture
def isolated(graded):
    plan = graded["report"].plan
    assert plan.sandboxed, plan.describe()
    return plan


def test_student_cannot_read_hidden_tests(graded, isolated):
    text = autograded_text(graded, "reads_hidden_tests")
    assert "LEAKED" not in text
    for path in graded["ctx"]["secret_files"] + ["01_arrays.ipynb", "../../../gradebook.db", "../../../nbgrader_config.py"]:
        assert f"denied {path} " in text, (path, text)
    line = next(line for line in text.splitlines() if line.startswith("tmp holds"))
    entries = set(ast.literal_eval(line[len("tmp holds "):]))
    # its home, the way to its own folder, and the (empty) mount points of what is hidden under /tmp
    hidden = {Path(h).relative_to("/tmp").parts[0] for h in isolated.hide if h.startswith("/tmp/")}
    assert all(e == "home" or e.startswith("dic-grading-") or e in hidden for e in entries), line


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
