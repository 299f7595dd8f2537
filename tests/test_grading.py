"""Mentor tooling, the fast parts: release checks, normalizing submissions, the static scan, the sandbox's argv.

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
from nbgrader.api import Gradebook as gradebook

from grading_fixtures.assignment import HIDDEN_SENTINEL, POINTS, WEEK, notebooks, released_course
from helpers.grading import scan
from helpers.grading.course import Course, check_release
from helpers.grading.execute import quarantine, listing, trusted_imports
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
    ("from helpers import scratch\ndef relu(x):\n    return scratch.relu_forward(x)[0]",
     ("flag", "answers relu with the reference implementation helpers.scratch.relu_forward")),
    ("from helpers.scratch import softmax\ndef softmax_rows(s):\n    return softmax(s)",
     ("flag", "answers softmax_rows with the reference implementation helpers.scratch.softmax")),
    ("import helpers.scratch.optim as o\ndef adam(w, dw, config):\n    return o.adam(w, dw, config)",
     ("flag", "answers adam with the reference implementation helpers.scratch.optim.adam")),
    ("import nbgrader.api", ("flag", "imports nbgrader.api")),
    ("from helpers.grading import execute", ("flag", "imports helpers.grading")),
    ("open('../../../grade' 'book.db')", ("flag", "reaches for grader files (open)")),
    ("import pathlib\npathlib.Path('/srv/course/source/week1').read_text()",
     ("flag", "reaches for grader files (pathlib.Path)")),
    ("exec('x = 1')", ("note", "calls exec")),
    ("import os\nos._exit(0)", ("note", "calls os._exit")),
    ("!ls", ("note", "runs a shell command")),
    ("from helpers.scratch import conv_forward_naive\ndef train(x):\n    return conv_forward_naive(x)",
     ("note", "uses the reference implementation (helpers.scratch)")),
    ("from helpers import models\nBlock = models.resnet.BasicBlock",
     ("note", "uses the reference implementation (helpers.models)")),
    ("def f(x):\n    return checks._reference(x)", ("note", "uses the reference implementation (helpers.checks)")),
    ("import torch\ndef softmax(x):\n    return getattr(torch, 'soft' + 'max')(x, 1)",
     ("flag", "getattr with a name built at run time: the grader cannot tell what it reaches")),
    ("import importlib\nname = 'torch'\nm = importlib.import_module(name)",
     ("flag", "importlib.import_module with a name built at run time: the grader cannot tell what it reaches")),
    ("import sys\ndef relu(x):\n    return sys.modules['helpers.scratch'].relu_forward(x)[0]",
     ("flag", "reaches modules through sys.modules (a reference implementation, the grader's own?)")),
])
def test_scan_flags(code, finding):
    assert finding in scan.scan([code])


@pytest.mark.parametrize("code", [
    'def mse(p, y):\n    """Checked by nbgrader against the gradebook (helpers.grading)."""\n    return 0.0',
    "checks = {}\nchecks['a'] = 1\nF = {}\nF['relu'] = 2",
    "import types\nlayer = types.SimpleNamespace()\nlayer.kernel = [[1, 0], [0, 1]]",
    "import torch\ntorch.set_default_dtype(torch.float64)",
    "import numpy as np\nnp.seterr(all='raise')\nnp.seterr(all='warn')",
    "import numpy as np\nnp.allclose = lambda *a, **k: True",        # cannot change a verdict any more
    "print('my gradebook: 10/10')",
    "import torch\nopt = getattr(torch.optim, 'Adam')\nx = getattr(opt, 'defaults', None)",
])
def test_scan_never_flags_what_cannot_change_a_verdict(code):
    assert [f for f in scan.scan([code]) if f[0] == "flag"] == []


def test_scan_leaves_ordinary_answers_alone():
    answer = ("import numpy as np\nimport torch\nfrom torch import nn\n"
              "def mse(p, y):\n    d = np.asarray(p) - y\n    return float((d ** 2).mean())\n"
              "model = nn.Linear(2, 1)\nmodel.weight.data[:] = 0\ntorch.backends.cudnn.benchmark = False\n"
              "%matplotlib inline\nresults = {}\nresults['x'] = 1\n")
    assert scan.scan([answer, "this is not python ("]) == []


# -- sandbox pieces ----------------------------------------------------------------------------
def _config(uid):
    return {"bwrap": "/usr/bin/bwrap", "prlimit": "/usr/bin/prlimit", "setpriv": "/usr/bin/setpriv",
            "python": sys.executable, "hide": [str(ROOT), "/root"], "expose": [sys.prefix, str(ROOT / "helpers")],
            "writable": [], "locks": [], "uid": uid, "tmpfs_bytes": 1 << 20, "blank": "/dev/null",
            "limits": {"memory": 1 << 30, "cpu": 60, "file_size": 1 << 20, "nproc": 64}}


def test_kernel_argv_hides_first_then_binds_back(tmp_path):
    from helpers.grading.launch import bwrap_argv

    (tmp_path / "01_arrays.ipynb").write_text("{}")
    argv = bwrap_argv(_config(62000), str(tmp_path), "/tmp/k.json", ["--HistoryManager.hist_file=:memory:"])
    text = " ".join(argv)
    assert argv[0] == "/usr/bin/bwrap" and "--unshare-net" in argv and "--die-with-parent" in argv
    assert "--new-session" in argv and "--unshare-ipc" in argv and "--unshare-pid" in argv
    for hidden in ("/tmp", "/dev/shm", "/run/lock", str(ROOT)):
        assert f"--tmpfs {hidden} " in text, hidden
    assert text.index(f"--tmpfs {ROOT} ") < text.index(f"--ro-bind {ROOT / 'helpers'} ")
    assert f"--ro-bind /dev/null {tmp_path / '01_arrays.ipynb'}" in text       # earlier graded copies: covered
    assert "/usr/bin/setpriv --reuid=62000" in text and "--no-new-privs" in argv
    assert "--nproc=64" in text and "--as=1073741824" in text and "--cpu=60" in text
    assert argv[-1] == "--HistoryManager.hist_file=:memory:"
    mentor = bwrap_argv(_config(None), str(tmp_path), "/tmp/k.json")
    assert "--unshare-all" in mentor and "/usr/bin/setpriv" not in mentor


def test_grading_refuses_without_bubblewrap(course, tmp_path, monkeypatch):
    import helpers.grading.sandbox as sandbox

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*--unsafe-no-sandbox"):
        sandbox.plan(course, tmp_path)
    assert not sandbox.plan(course, tmp_path, sandbox=False).sandboxed


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


def test_mentee_bundle_holds_no_hidden_case(course, tmp_path):
    """make release's bundle: release notebooks, helpers without grading/ and without hidden cases;
    the visible checks still pass a right answer, the hidden ones refuse to run."""
    from helpers.grading.bundle import build_bundle, strip_hidden

    out = build_bundle(course, [WEEK], tmp_path / "bundle", log=lambda *a: None)
    assert (out / WEEK / "01_arrays.ipynb").is_file() and not (out / "helpers" / "grading").exists()
    assert not (out / "helpers" / "book").exists(), "the book builder is mentor tooling"
    assert HIDDEN_SENTINEL not in "".join(p.read_text() for p in (out / WEEK).glob("*.ipynb"))
    source = (ROOT / "helpers" / "checks" / "week2.py").read_text()
    stripped = (out / "helpers" / "checks" / "week2.py").read_text()
    assert "(224, 7, 2, 3, 1)" in source and "(224, 7, 2, 3, 1)" not in stripped   # _CONV_HIDDEN's cases
    hack = (out / "helpers" / "checks" / "hackathon.py").read_text()
    assert "(9, 3, 7, 11, 1)" not in hack and "(16, 3, 12, 12, 0)" in hack          # x if hidden else y
    w1 = (out / "helpers" / "checks" / "week1.py").read_text()       # records: fixtures, not references
    assert (out / "helpers" / "checks" / "fixtures" / "week1.pkl").is_file()
    for reference in ("np.mean((pred - y) ** 2)", "def _mse_grad", "EXERCISES = [", "1 - _ss(", "def _minmax"):
        assert reference in (ROOT / "helpers" / "checks" / "week1.py").read_text() and reference not in w1
    probe = ("import numpy as np, sys\nfrom helpers.checks import week1\n"
             "assert week1.__file__.startswith(sys.argv[1])\n"
             "mse = lambda p, y: float(((np.asarray(p) - np.asarray(y)) ** 2).mean())\n"
             "week1.check_mse(mse)\n"
             "try:\n    week1.check_mse(lambda p, y: float(((p - y) ** 2).sum()))\n"
             "except AssertionError as err:\n    print('wrong:', err)\n"
             "try:\n    week1.check_mse(mse, hidden=True)\nexcept PermissionError as err:\n    print('refused:', err)\n")
    env = {**os.environ, "PYTHONPATH": str(out), "PYTHONSAFEPATH": "1"}
    run = subprocess.run([sys.executable, "-c", probe, str(out)], cwd=out, env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "refused: hidden cases are graded by your mentor" in run.stdout, run.stderr[-2000:]
    assert "wrong: mse on 4 points is wrong: MSE must average over the batch (np.mean), not sum" in run.stdout
    assert "[1, 2]" not in strip_hidden("def f(hidden):\n    if hidden:\n        return [1, 2]\n")


_MENTEE_PROBES = {   # module: (right answer, a known mistake and its hint, a record's reference that must be gone)
    "week4_training": ("assert checks.torch_lrs  # notebook 05 uses it\ndef right(t, *, base_lr, step_size, gamma=0.1):\n    return base_lr * gamma ** (t // step_size)\n"
                       "def wrong(t, *, base_lr, step_size, gamma=0.1):\n    return base_lr * gamma ** (t / step_size)\n",
                       "step_lr", "use whole periods, t // step_size", ("def _one_cycle", "def _warmup_cosine", "EXERCISES = [")),
    "week4": ("def right(w, lam):\n    return lam * np.sum(np.abs(w)), lam * np.sign(w)\n"
              "def wrong(w, lam):\n    return lam * np.sum(np.abs(w)), lam * np.where(w >= 0, 1.0, -1.0)\n",
              "l1_penalty", "the gradient is lam at w == 0", ("def _penalty_cases", "np.sign(w)", "EXERCISES = [")),
    "week1": ("def right(x):\n    return np.maximum(x, 0), x\n" "def wrong(x):\n    return np.abs(x), x\n",
              "relu_forward", "not their absolute value", ("np.maximum(x, 0), None)", "EXERCISES = [")),
}


@pytest.mark.parametrize("module", sorted(_MENTEE_PROBES))
def test_mentee_edition_of_a_records_module_judges_from_fixtures(module, tmp_path):
    """The mentee edition of a module of records (helpers.grading.bundle.mentee_helpers): a right answer passes, a
    known mistake fails with its hint, hidden cases refuse to run, and the records' references are not in the copy."""
    from helpers.grading.bundle import mentee_helpers

    out = tmp_path / "helpers"
    mentee_helpers(out)
    answers, name, hint, references = _MENTEE_PROBES[module]
    copy_ = (out / "checks" / f"{module}.py").read_text()
    for reference in references:
        assert reference in (ROOT / "helpers" / "checks" / f"{module}.py").read_text() and reference not in copy_, reference
    probe = (f"import numpy as np, sys\nfrom helpers.checks import {module} as checks\n"
             "assert checks.__file__.startswith(sys.argv[1])\n" + answers +
             f"checks.check_{name}(right)\n"
             f"try:\n    checks.check_{name}(wrong)\nexcept AssertionError as err:\n    print('wrong:', err)\n"
             f"try:\n    checks.check_{name}(right, hidden=True)\nexcept PermissionError as err:\n    print('refused:', err)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONSAFEPATH": "1"}
    run = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "refused: hidden cases are graded by your mentor" in run.stdout, run.stderr[-2000:]
    assert "wrong:" in run.stdout and hint in run.stdout, run.stdout


def test_dataset_files_are_readable_by_the_sandboxed_kernels(tmp_path, monkeypatch):
    """The kernels run as another uid: a manifest left 0600 by an atomic write hid MNIST from them."""
    from helpers.data._files import MANIFEST, atomic_write_text
    from helpers.grading.sandbox import open_data_permissions

    monkeypatch.setenv("DIC_DATA", str(tmp_path))
    tmp_path.chmod(0o755)
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "mnist" / MANIFEST, "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "mnist" / MANIFEST).stat().st_mode) == 0o644
    (tmp_path / "mnist" / MANIFEST).chmod(0o600)          # as an older provisioning left it
    (tmp_path / "fashion").mkdir(mode=0o700)
    (tmp_path / "fashion" / "x.npy").write_bytes(b"")
    (tmp_path / "fashion" / "x.npy").chmod(0o600)
    assert open_data_permissions(log=lambda *a: None) == 3
    for path in ("mnist/" + MANIFEST, "fashion/x.npy"):
        assert (tmp_path / path).stat().st_mode & 0o004, path
    assert (tmp_path / "fashion").stat().st_mode & 0o005 == 0o005
    assert open_data_permissions(log=lambda *a: None) == 0


def _nbgrader_autograde(course, *args):
    """`nbgrader autograde` from the checkout, with its nbgrader_config.py: what formgrader's button runs."""
    from helpers.grading.course import nbgrader_env

    env = {k: v for k, v in nbgrader_env().items() if k != "DIC_GRADING_SANDBOX"}
    return subprocess.run([sys.executable, "-m", "nbgrader", "autograde", WEEK, *args, "--force",
                           f"--CourseDirectory.root={course.course}", f"--CourseDirectory.db_url={course.db_url}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _submit(course, student, answers):
    from grading_fixtures.tamper import answered

    released = {p.name: nbformat.read(p, as_version=4) for p in sorted(course.release(WEEK).glob("*.ipynb"))}
    sub = course.course / "submitted" / student / WEEK
    sub.mkdir(parents=True)
    for name, nb in answered(released, answers).items():
        nbformat.write(nb, sub / name)
    return sub


def test_autograde_for_every_student_at_once_refuses_before_removing_anything(course):
    """`nbgrader autograde WEEK` (every student, outside the sandbox) refuses, and the student's earlier
    autograded notebooks are still there (nbgrader deletes them before it converts)."""
    import shutil

    _submit(course, "formgrader-student", {})
    graded = course.course / "autograded" / "formgrader-student" / WEEK
    graded.mkdir(parents=True)
    (graded / "01_arrays.ipynb").write_text('{"graded": "earlier"}')
    run = _nbgrader_autograde(course)
    assert run.returncode != 0 and "one student and one week" in run.stdout + run.stderr, run.stderr[-2000:]
    assert (graded / "01_arrays.ipynb").read_text() == '{"graded": "earlier"}'
    shutil.rmtree(course.course / "autograded" / "formgrader-student")
    shutil.rmtree(course.course / "submitted" / "formgrader-student")


def test_autograde_for_one_student_runs_in_the_grader_sandbox(tmp_path):
    """formgrader's Autograde button (`nbgrader autograde WEEK --student NAME`) grades the submission already in
    the course by the sandboxed pipeline: full marks for right answers, in the gradebook, the autograded notebook
    rewritten, and the answers still in the submission."""
    from grading_fixtures.tamper import CORRECT
    from helpers.grading.sandbox import SandboxUnavailable, plan

    course = released_course(tmp_path)
    try:
        plan(course, tmp_path, [], True, lambda *a: None)
    except SandboxUnavailable as err:
        pytest.skip(f"grading needs its sandbox: {err}")
    sub = _submit(course, "bea", CORRECT)
    before = {p.name: p.read_bytes() for p in sub.glob("*.ipynb")}
    run = _nbgrader_autograde(course, "--student", "bea")
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "in the grader's sandbox" in run.stdout + run.stderr
    with gradebook(course.db_url) as gb:
        assert gb.find_submission(WEEK, "bea").score == sum(POINTS.values())
    assert sorted(p.name for p in (course.course / "autograded" / "bea" / WEEK).glob("*.ipynb")) == sorted(before)
    kept = "".join(p.read_text() for p in sub.glob("*.ipynb"))     # rebuilt on the release's terms, answers kept
    assert sorted(p.name for p in sub.glob("*.ipynb")) == sorted(before)
    assert all(line in kept for answer in CORRECT.values() for line in json.dumps(answer)[1:-1].split("\\n")), kept


@pytest.mark.skipif(not __import__("shutil").which("bwrap"), reason="bubblewrap is not installed")
def test_sandboxed_kernels_cannot_reach_their_uids_keyring():
    """Keyrings belong to a uid, and uids are reused between students: under the launcher's seccomp filter,
    add_key / keyctl are refused (EPERM), while the same call outside the filter reaches the keyring."""
    import platform
    import shutil

    from helpers.grading.launch import keyring_filter_fd

    if platform.machine() != "x86_64":
        pytest.skip("the filter is written for x86-64")
    code = ("import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
            "r = libc.syscall(248, b'user', b'dic-test', b'secret', 6, ctypes.c_int(-4)); "
            "k = libc.syscall(250, 1, ctypes.c_int(-4), 0, 0, 0); print(r >= 0, k >= 0, ctypes.get_errno())")
    base = [shutil.which("bwrap"), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid"]
    if os.geteuid() != 0:
        base.insert(1, "--unshare-user")
    plain = subprocess.run(base + ["--", sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    fd = keyring_filter_fd()
    try:
        filtered = subprocess.run(base + ["--seccomp", str(fd), "--", sys.executable, "-c", code],
                                  capture_output=True, text=True, timeout=60, pass_fds=(fd,))
    finally:
        os.close(fd)
    assert filtered.returncode == 0, filtered.stderr
    assert filtered.stdout.split() == ["False", "False", "1"], filtered.stdout   # both refused, EPERM
    if plain.returncode == 0 and plain.stdout.startswith("True"):             # the host allows keyrings
        assert filtered.stdout != plain.stdout


def test_the_graders_own_memory_for_one_student_is_capped():
    code = ("import numpy as np\nfrom helpers.grading.worker import _cap_memory, _status_kib\n"
            "np.ones(300 << 20, dtype=np.uint8)\n"          # before the cap: fine
            "_cap_memory(200 << 20)\n"
            "try:\n    np.ones(400 << 20, dtype=np.uint8)\nexcept MemoryError:\n    print('capped')\n"
            "small = np.ones(50 << 20, dtype=np.uint8)\nprint('peak', _status_kib('VmHWM') > 0)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["capped", "peak", "True"], out.stderr[-2000:]
