"""Mentor tooling, the fast parts: release checks, normalizing submissions, the static scan, the guard.

The sandboxed autograde itself is exercised by test_tamper.py (fixture assignment) and
test_grading_roundtrip.py (the course's weeks).
"""
import copy
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grading_fixtures.assignment import HIDDEN_SENTINEL, POINTS, WEEK, notebooks, released_course
from helpers.grading import guard, scan
from helpers.grading.course import Course, check_release
from helpers.grading.execute import quarantine, listing, trusted_imports
from helpers.grading.kernel import _blocker
from helpers.grading.results import export, trusted_cells
from helpers.grading.submissions import Found, discover, expand_zips, normalize, prepare

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("grading"))


@pytest.fixture(scope="module")
def release_nbs(course):
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(course.release(WEEK).glob("*.ipynb"))}


# -- release ----------------------------------------------------------------------------
def test_release_has_no_solutions_no_hidden_tests_no_outputs(course, release_nbs):
    assert sorted(release_nbs) == ["01_arrays.ipynb", "02_more.ipynb"]
    for name, nb in release_nbs.items():
        nbformat.validate(nb)
        text = json.dumps(nb)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert HIDDEN_SENTINEL not in text
        assert "np.maximum(x, 0.0)" not in text and "np.asarray(x) * s" not in text  # the solutions
        assert check_release(course.source(WEEK) / name, course.release(WEEK) / name) == []
        for cell in nb.cells:
            meta = cell.metadata["nbgrader"]
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            if meta["locked"]:
                assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
            if meta["solution"]:
                assert "raise NotImplementedError()" in cell.source


def test_release_keeps_points_and_gradebook_knows_hidden_tests(course, release_nbs):
    points = {(name, c.metadata.nbgrader["grade_id"]): c.metadata.nbgrader["points"]
              for name, nb in release_nbs.items() for c in nb.cells if c.metadata.nbgrader["grade"]}
    assert points == POINTS
    cells = trusted_cells(course, WEEK)
    assert [(c.notebook, c.grade_id, c.max_score) for c in cells] == [(n, g, float(p)) for (n, g), p in POINTS.items()]
    assert HIDDEN_SENTINEL in cells[0].source  # what autograde restores


def test_check_release_catches_leaks(course, tmp_path):
    src = course.source(WEEK) / "01_arrays.ipynb"
    bad = nbformat.read(src, as_version=4)  # the source itself, handed out by mistake
    bad.cells[2].outputs = [nbformat.v4.new_output("stream", text="x")]
    nbformat.write(bad, tmp_path / "bad.ipynb")
    problems = " | ".join(check_release(src, tmp_path / "bad.ipynb"))
    assert "### BEGIN SOLUTION" in problems and "### BEGIN HIDDEN TESTS" in problems
    assert "leaked" in problems and "has outputs" in problems and "not marked read-only" in problems
    assert check_release(src, tmp_path / "absent.ipynb") == ["missing from the release"]


def test_weeks_found_in_syllabus_order(tmp_path):
    for week in ("week5_6", "week2", "week10", "week1"):
        (tmp_path / week).mkdir()
        (tmp_path / week / "a.ipynb").write_text("{}")
    (tmp_path / "week3").mkdir()  # no notebooks: not a week to release
    assert Course(root=tmp_path / "g", weeks_root=tmp_path).weeks() == ["week1", "week2", "week5_6", "week10"]


# -- normalizing untrusted notebooks ----------------------------------------------------------
def _raw(nb):
    return json.loads(json.dumps(nb))


def test_normalize_restores_trusted_metadata_and_deleted_tests(release_nbs):
    rel = release_nbs["01_arrays.ipynb"]
    raw = _raw(rel)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in raw["cells"]]
    test = raw["cells"].pop(ids.index("test_mse"))
    raw["cells"][ids.index("test_relu") - 1]["metadata"]["nbgrader"].update(points=99, schema_version=99)
    raw["cells"].append({"cell_type": "code", "source": "x = 1", "metadata": {"nbgrader": {"grade": True,
                         "grade_id": "bonus", "points": 10}}, "outputs": [], "execution_count": 3})
    raw["cells"].append({"cell_type": "widget", "source": "", "metadata": {}})
    nb, notes, student = normalize(raw, rel, "01_arrays.ipynb")
    got = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert got[:len(ids)] == ids, "the deleted test must come back right after its exercise"
    relu = nb.cells[ids.index("test_relu")]
    assert relu.metadata.nbgrader["points"] == 2 and relu.metadata.nbgrader["schema_version"] == 3
    assert nb.cells[len(ids)].metadata == {} and nb.cells[len(ids)].outputs == []  # the 'bonus' cell: plain code
    assert nb.cells[ids.index("test_mse")].source == test["source"]
    joined = " | ".join(notes)
    assert "test_mse was missing" in joined and "metadata of test_relu" in joined
    assert "unknown or malformed" in joined and "not a code/markdown/raw cell" in joined
    assert "x = 1" in student  # the student's own cell is scanned


def test_normalize_duplicates_keep_the_last_copy(release_nbs):
    rel = release_nbs["01_arrays.ipynb"]
    raw = _raw(rel)
    i = [c["metadata"]["nbgrader"]["grade_id"] for c in raw["cells"]].index("test_mse")
    raw["cells"].insert(i + 1, copy.deepcopy(raw["cells"][i]))
    raw["cells"][i]["source"] = "print('first copy')"
    nb, notes, _ = normalize(raw, rel, "01_arrays.ipynb")
    assert "nbgrader" not in nb.cells[i].metadata  # the earlier copy is a plain cell now
    assert nb.cells[i + 1].metadata.nbgrader["grade_id"] == "test_mse"
    assert any("appears 2 times" in n for n in notes)


def test_prepare_matches_renamed_ignores_extras_and_never_writes(tmp_path, release_nbs):
    folder = tmp_path / "alice" / WEEK
    folder.mkdir(parents=True)
    (folder / "my copy.ipynb").write_text(json.dumps(release_nbs["01_arrays.ipynb"]))
    (folder / "02_more.ipynb").write_text("{not json")
    (folder / "numpy.py").write_text("raise SystemExit")
    (folder / "timestamp.txt").write_text("2026-02-30 99:99")
    (folder / "link.ipynb").symlink_to("/etc/hostname")
    before = {p.name: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in folder.iterdir()}
    prepared = prepare(Found("alice", WEEK, folder), release_nbs)
    assert sorted(prepared.notebooks) == ["01_arrays.ipynb"]
    joined = " | ".join(prepared.notes)
    for expected in ("my copy.ipynb: graded as 01_arrays.ipynb", "02_more.ipynb: not valid JSON",
                     "numpy.py", "timestamp.txt is unreadable", "symlinks ignored: link.ipynb"):
        assert expected in joined
    assert prepared.timestamp is None
    assert before == {p.name: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in folder.iterdir()}


def test_discover_layouts(tmp_path):
    (tmp_path / "bob" / WEEK).mkdir(parents=True)
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "01_arrays.ipynb").write_text("{}")
    (tmp_path / "bad name!").mkdir()
    (tmp_path / "dave").mkdir()
    found, skipped = discover(tmp_path, [WEEK])
    by = {f.student: f for f in found}
    assert by["bob"].folder == tmp_path / "bob" / WEEK
    assert by["carol"].folder == tmp_path / "carol"  # loose notebooks, one week asked for
    assert by["dave"].folder is None
    assert len(skipped) == 1 and "bad name!" in skipped[0]


def test_zips_are_extracted_safely(tmp_path):
    zips = tmp_path / "zips"
    zips.mkdir()
    with zipfile.ZipFile(zips / f"Ann Lee_{WEEK}.zip", "w") as zf:
        zf.writestr(f"stuff/{WEEK}/01_arrays.ipynb", "{}")
        zf.writestr("../../escape.ipynb", "{}")
        zf.writestr("__MACOSX/._01_arrays.ipynb", "junk")
        link = zipfile.ZipInfo("evil.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    (zips / "broken.zip").write_bytes(b"not a zip")
    out = expand_zips(zips, tmp_path / "out", [WEEK], log=lambda *a: None)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [f"Ann_Lee/{WEEK}/01_arrays.ipynb"]
    assert not (tmp_path / "escape.ipynb").exists()


# -- static scan ------------------------------------------------------------------------------
@pytest.mark.parametrize("code, finding", [
    ("import helpers.checks.week1 as c\nc.check_mse = lambda *a, **k: None", ("tamper", "rebinds helpers.checks.week1.check_mse")),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", ("tamper", "rebinds numpy.allclose")),
    ("from helpers import checks\nsetattr(checks, 'close', print)", ("tamper", "calls setattr on helpers.checks")),
    ("import torch\ntorch.Tensor.__eq__ = lambda s, o: True", ("tamper", "rebinds torch.Tensor.__eq__")),
    ("import sys\nsys.modules['helpers.checks'] = object()", ("tamper", "writes into sys.modules")),
    ("import sys\nsys.excepthook = print", ("tamper", "rebinds sys.excepthook")),
    ("get_ipython().input_transformers_cleanup.append(f)", ("tamper", "uses IPython's input_transformers_cleanup")),
    ("ip = get_ipython()\nip.set_custom_exc((Exception,), h)", ("tamper", "uses IPython's set_custom_exc")),
    ("__builtins__['len'] = lambda x: 0", ("tamper", "uses __builtins__")),
    ("import gc\ngc.get_referrers(x)", ("tamper", "imports gc")),
    ("open('../../../grade' 'book.db')", ("tamper", "mentions the grader")),
    ("exec('x = 1')", ("note", "calls exec")),
    ("import os\nos._exit(0)", ("note", "calls os._exit")),
    ("!ls", ("note", "runs a shell command")),
    ("from helpers.scratch import conv_forward", ("note", "uses the reference implementation (helpers.scratch)")),
    ("from helpers import models\nBlock = models.resnet.BasicBlock", ("note", "uses the reference implementation (helpers.models)")),
    ("import helpers.scratch.optim as o\nadam = o.adam", ("note", "uses the reference implementation (helpers.scratch)")),
    ("def f(x):\n    return checks._reference(x)", ("note", "uses the reference implementation (helpers.checks)")),
])
def test_scan_flags(code, finding):
    assert finding in scan.scan([code])


def test_scan_leaves_ordinary_answers_alone():
    answer = ("import numpy as np\nimport torch\nfrom torch import nn\n"
              "def mse(p, y):\n    d = np.asarray(p) - y\n    return float((d ** 2).mean())\n"
              "model = nn.Linear(2, 1)\nmodel.weight.data[:] = 0\ntorch.backends.cudnn.benchmark = False\n"
              "%matplotlib inline\nresults = {}\nresults['x'] = 1\n")
    assert scan.scan([answer, "this is not python ("]) == []


# -- the in-kernel guard ----------------------------------------------------------------------
@pytest.fixture
def snapshot():
    """A guard snapshot of this process; afterwards the original helpers.checks modules come back."""
    import helpers
    import helpers.checks  # noqa: F401 - loaded before the snapshot, as in a kernel

    saved = {k: v for k, v in sys.modules.items() if k == "helpers.checks" or k.startswith("helpers.checks.")}
    guard.snapshot()
    yield
    guard._state.clear()
    guard._purge_fresh_modules()
    sys.modules.update(saved)
    helpers.checks = saved["helpers.checks"]


def test_guard_detects_replaced_numpy_and_import_hooks(snapshot, monkeypatch):
    assert guard.verify() == []
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, object()])
    problems = guard.verify()
    assert "numpy.allclose was replaced" in problems and "sys.meta_path was changed" in problems
    with pytest.raises(AssertionError, match="integrity check failed.*numpy.allclose"):
        guard.before_test("nonce", "test_x")


def test_guard_reloads_checks_so_monkeypatching_them_does_not_help(snapshot, capsys, monkeypatch):
    import helpers.checks as checks

    monkeypatch.setattr(checks, "close", lambda *a, **k: None)  # what a student does; it "passes" now
    checks.close(1.0, 2.0, hint="")
    guard.before_test("n0nce", "test_mse")
    from helpers.checks import close  # the test cell's own import: a fresh module

    assert close is not checks.close
    with pytest.raises(AssertionError, match="off by"):
        close(1.0, 2.0, hint="")
    assert "[dic-guard n0nce test_mse]" in capsys.readouterr().out


def test_guard_without_snapshot_fails_closed():
    guard._state.clear()
    with pytest.raises(AssertionError, match="no integrity snapshot"):
        guard.before_test("n", "g")


def test_prologue_is_one_line_and_replays_trusted_imports():
    line = guard.prologue("abc", "test_mse", trusted_imports("import numpy as np\nx = 1\nfrom helpers.checks import (\n  close)"))
    assert line.count("\n") == 1
    assert "before_test('abc', 'test_mse'); import numpy as np; from helpers.checks import close" in line


# -- sandbox pieces ----------------------------------------------------------------------------
def test_blocker_finds_untraversable_ancestor():
    with tempfile.TemporaryDirectory(dir="/tmp") as base:  # below /tmp: every ancestor is traversable
        os.chmod(base, 0o755)
        locked = Path(base) / "home"
        (locked / "lib" / "python").mkdir(parents=True)
        os.chmod(locked, 0o700)
        assert _blocker(str(locked / "lib" / "python")) == str(locked)
        os.chmod(locked, 0o755)
        assert _blocker(str(locked / "lib" / "python")) is None


def test_quarantine_removes_what_the_notebook_left(tmp_path):
    (tmp_path / "keep.csv").write_text("data")
    before = listing(str(tmp_path))
    (tmp_path / "planted.py").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text("x")
    (tmp_path / "02_more.ipynb").symlink_to("/etc/hostname")
    removed = quarantine(str(tmp_path), before)
    assert sorted(os.listdir(tmp_path)) == ["keep.csv"]
    assert {"planted.py", "sub", "02_more.ipynb"} <= set(removed)


def test_export_with_no_submissions_is_a_header(course, tmp_path):
    path = export(course, tmp_path / "grades.csv")
    header = path.read_text().splitlines()[0]
    assert header == ("student,week,score,max_score,week0/01_arrays/test_mse,week0/01_arrays/test_relu,"
                      "week0/02_more/test_scale,flags")


def test_cli_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "helpers.grading", "--help"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    for command in ("release", "grade", "export", "sandbox"):
        assert command in out


def test_fixture_notebooks_are_the_course_anatomy():
    nbs = notebooks()
    for nb in nbs.values():
        nbformat.validate(nb)
        assert any(c.metadata["nbgrader"]["solution"] for c in nb.cells)
        assert any("### BEGIN HIDDEN TESTS" in c.source for c in nb.cells)


def test_grading_progress_keeps_the_order_and_counts_notebooks(monkeypatch, capsys):
    import time
    from types import SimpleNamespace

    from helpers.grading.pipeline import _run_with_progress

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DIC_QUIET", raising=False)
    found = [SimpleNamespace(student=f"s{i}", week="week1", delay=0.05 * (3 - i)) for i in range(3)]
    done = _run_with_progress(lambda f: (time.sleep(f.delay), f.student)[1], found, [6, 6, 6], jobs=3)
    assert done == ["s0", "s1", "s2"]                    # finished in the other order, returned in this one
    assert "18/18" in capsys.readouterr().err            # the bar counts student x notebook
    monkeypatch.setenv("DIC_QUIET", "1")
    assert _run_with_progress(lambda f: f.student, found, [6, 6, 6], jobs=2) == ["s0", "s1", "s2"]
    assert "notebook" not in capsys.readouterr().err     # quiet under CI
