"""The tamper suite: one student per way of cheating or breaking the grader, with the score each deserves.

Every case builds ``SUBMISSIONS/<student>/week0/`` from the fixture assignment
(``assignment.py``: test_mse 1 point, test_relu 2, test_scale 1). ``expected`` holds the score
per graded cell; ``held`` says the static scan must hold the notebook for review. Answers
are correct unless a case says otherwise, so a lost point is the grader's doing and a gained
one the student's tampering.

Several cases hide their code from the static scan (``_obfuscated``: ``exec`` of a hex
string) on purpose: what stops them is that verdicts are computed in the grader's process and
the kernel runs under bubblewrap, not that the scan saw them.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from .assignment import WEEK

MSE, RELU, SCALE = ("01_arrays.ipynb", "test_mse"), ("01_arrays.ipynb", "test_relu"), ("02_more.ipynb", "test_scale")
FULL = {MSE: 1, RELU: 2, SCALE: 1}
ZERO = {MSE: 0, RELU: 0, SCALE: 0}

CORRECT = {
    "mse": "def mse(pred, y):\n    return float(((np.asarray(pred) - np.asarray(y)) ** 2).mean())",
    "relu": "def relu(x):\n    return np.maximum(x, 0.0)",
    "scale": "def scale(x, s):\n    return np.asarray(x) * s",
}
WRONG = {
    "mse": "def mse(pred, y):\n    return float(((np.asarray(pred) - np.asarray(y)) ** 2).sum())  # sum, not mean",
    "relu": "def relu(x):\n    return np.abs(x)",
    "scale": "def scale(x, s):\n    return np.asarray(x) + s",
}
ALL_WRONG = dict(WRONG)


def _obfuscated(code: str) -> str:
    """Run ``code`` without it being visible to a static scan."""
    return f"exec(bytes.fromhex({code.encode().hex()!r}).decode())\n"


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answered(release: dict, answers: dict[str, str]) -> dict:
    """Copies of the release notebooks with solution cells replaced by ``answers`` (by grade id)."""
    out = {}
    for name, nb in release.items():
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            gid = _meta(cell).get("grade_id")
            if _meta(cell).get("solution") and gid in answers:
                cell.source = answers[gid]
        out[name] = nb
    return out


def find(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == grade_id)


def write(folder: Path, notebooks: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        (folder / name).write_text(json.dumps(nb, indent=1))  # raw JSON: some cases are invalid on purpose


@dataclass
class Case:
    student: str
    what: str
    expected: dict
    build: Callable  # (folder, release notebooks, source notebooks, context) -> None
    held: bool = False
    notes: tuple = ()          # substrings expected in the report's notes for this student
    missing: tuple = ()        # notebooks the report lists as expected and not submitted
    extra: dict = field(default_factory=dict)


def _answers(**override) -> dict[str, str]:
    return {**CORRECT, **override}


def _simple(answers):
    def build(folder, release, source, ctx):
        write(folder, answered(release, answers))
    return build


def _edit(answers, change):
    def build(folder, release, source, ctx):
        nbs = answered(release, answers)
        change(nbs, ctx)
        write(folder, nbs)
    return build


# -- the individual tampering moves -------------------------------------------------------
def _edit_test(nbs, ctx):
    nb = nbs["01_arrays.ipynb"]
    nb.cells[find(nb, "test_mse")].source = "assert True"


def _delete_test(nbs, ctx):
    nb = nbs["01_arrays.ipynb"]
    del nb.cells[find(nb, "test_mse")]


def _markdown_test(nbs, ctx):
    nb = nbs["01_arrays.ipynb"]
    i = find(nb, "test_mse")
    cell = nb.cells[i]
    nb.cells[i] = nbformat.v4.new_markdown_cell("assert True", metadata=cell.metadata)


def _strip_metadata(nbs, ctx):
    nb = nbs["01_arrays.ipynb"]
    cell = nb.cells[find(nb, "test_mse")]
    cell.metadata = {}
    cell.source = "assert True"


def _bogus_schema(nbs, ctx):
    for nb in nbs.values():
        for cell in nb.cells:
            if "nbgrader" in cell.metadata:
                cell.metadata["nbgrader"]["schema_version"] = 99


def _inflate_points(nbs, ctx):
    for nb in nbs.values():
        for cell in nb.cells:
            if _meta(cell).get("grade"):
                cell.metadata["nbgrader"]["points"] = 100
    # and a cell of their own that claims to be graded
    nbs["01_arrays.ipynb"].cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus", "locked": False, "points": 50, "schema_version": 3, "solution": False,
        "task": False}}))


def _duplicate_grade_id(nbs, ctx):
    nb = nbs["01_arrays.ipynb"]
    i = find(nb, "test_mse")
    copy_ = copy.deepcopy(nb.cells[i])
    copy_.source = "assert True"
    nb.cells.insert(i + 1, copy_)
    nb.cells[i].source = "assert True"


def _garbage_timestamp(nbs, ctx):
    pass


SHADOW_NUMPY = "from math import *\nallclose = lambda *a, **k: True\n"
SHADOW_HELPERS = "def close(*a, **k):\n    pass\n\ndef not_implemented_guard(fn, *a):\n    return None\n"


def _shadow(folder, release, source, ctx):
    write(folder, answered(release, _answers(mse=WRONG["mse"], relu="def relu(x):\n    raise NotImplementedError()")))
    (folder / "numpy.py").write_text(SHADOW_NUMPY)
    (folder / "helpers.py").write_text(SHADOW_HELPERS)
    (folder / "helpers").mkdir()
    (folder / "helpers" / "__init__.py").write_text("")
    (folder / "helpers" / "checks.py").write_text(SHADOW_HELPERS)
    # and the same files written from inside the notebook, into the kernel's working folder
    nb = json.loads((folder / "01_arrays.ipynb").read_text())
    plant = ("import pathlib\npathlib.Path('numpy.py').write_text(%r)\npathlib.Path('helpers.py').write_text(%r)\n"
             "import sys\nsys.path.insert(0, '.')\n" % (SHADOW_NUMPY, SHADOW_HELPERS))
    nb["cells"][find(nbformat.from_dict(nb), "mse")]["source"] = plant + WRONG["mse"]
    (folder / "01_arrays.ipynb").write_text(json.dumps(nb))


def _invalid_json(folder, release, source, ctx):
    write(folder, {"02_more.ipynb": answered(release, CORRECT)["02_more.ipynb"]})
    (folder / "01_arrays.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "broken')


def _missing(folder, release, source, ctx):
    write(folder, {"02_more.ipynb": answered(release, CORRECT)["02_more.ipynb"]})


def _renamed(folder, release, source, ctx):
    nbs = answered(release, CORRECT)
    write(folder, {"01_arrays (1).ipynb": nbs["01_arrays.ipynb"], "02_More.ipynb": nbs["02_more.ipynb"]})


def _empty(folder, release, source, ctx):
    folder.mkdir(parents=True, exist_ok=True)


def _timestamp(folder, release, source, ctx):
    write(folder, answered(release, CORRECT))
    (folder / "timestamp.txt").write_bytes(b"next tuesday-ish \x00\xff 99:99")


# -- code run inside the kernel --------------------------------------------------------------
PATCH_CHECKS = ("import helpers.checks as c\n"
                "c.close = lambda *a, **k: None\n"
                "c.not_implemented_guard = lambda fn, *a: None\n")
PATCH_NUMPY = "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isfinite = lambda x: numpy.ones_like(x, bool)\n"
BLANK_TESTS = ("ip = get_ipython()\n"
               "ip.input_transformers_cleanup.append(lambda lines: [] if any('close(' in l for l in lines) else lines)\n")
SWALLOW_ERRORS = "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n"
ALWAYS_EQUAL = ("class Anything(float):\n"
                "    def __eq__(self, other):\n        return True\n"
                "    def __ne__(self, other):\n        return False\n"
                "class Whatever:\n"
                "    def __eq__(self, other):\n        return True\n"
                "    def __ne__(self, other):\n        return False\n"
                "def mse(pred, y):\n    return Anything(0.0)\n"
                "def relu(x):\n    return Whatever()\n")


def _reader(ctx) -> str:
    """Try every place hidden tests live; print what was denied, shout if anything leaked."""
    targets = [*ctx["secret_files"], ".", "../../../gradebook.db", "../../../source", "../../../../",
               "../../../nbgrader_config.py"]
    return (
        "import os, pathlib\n"
        f"SENTINEL = {ctx['sentinel'][::-1]!r}[::-1]\n"
        "def _peek(path):\n"
        "    p = pathlib.Path(path)\n"
        "    try:\n"
        "        if p.is_dir():\n"
        "            for q in list(p.rglob('*'))[:400]:\n"
        "                if q.is_file() and q.stat().st_size < 5_000_000:\n"
        "                    _peek(q)\n"
        "            print('listed', path)\n"
        "        else:\n"
        "            data = p.read_bytes()\n"
        "            print('LEAKED' if SENTINEL.encode() in data else 'read', p)\n"
        "    except OSError as err:\n"
        "        print('denied', path, type(err).__name__)\n"
        f"for t in {targets!r}:\n"
        "    _peek(t)\n"
        "print('tmp holds', sorted(os.listdir('/tmp')))\n")


def _writer(ctx) -> str:
    """Try to give themselves full marks in every gradebook they can think of."""
    targets = [*ctx["gradebooks"], "../../../" + "grade" + "book.db"]
    return (
        "import sqlite3\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        con = sqlite3.connect(path)\n"
        "        con.execute('update grade set auto_score = 100, manual_score = 100')\n"
        "        con.commit()\n"
        "        print('WROTE', path)\n"
        "    except Exception as err:\n"
        "        print('denied', path, type(err).__name__)\n")


def _symlinks(ctx) -> str:
    """Plant links where nbgrader will write next (the second notebook, the feedback)."""
    return (
        "import os\n"
        f"for name in ['02_more.ipynb', 'timestamp.txt']:\n"
        "    try:\n"
        f"        os.symlink({ctx['canary']!r}, name)\n"
        "    except OSError as err:\n"
        "        print('denied', name, type(err).__name__)\n")


def _daemon(ctx) -> str:
    return (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(0.2)', "
        f"{ctx['daemon_token']!r}], start_new_session=True, stdin=subprocess.DEVNULL, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n")


def _with_code(answers, prefix_of: str, code_fn):
    """Answers plus code (built from the test context) run at the top of solution cell ``prefix_of``."""
    def build(folder, release, source, ctx):
        code = code_fn(ctx) if callable(code_fn) else code_fn
        write(folder, answered(release, {**answers, prefix_of: code + answers[prefix_of]}))
    return build


INJECTION = (
    "from IPython.display import HTML, Markdown, display\n"
    "display(HTML('<img src=x onerror=\"alert(1)\"><a href=\"&#106;avascript:alert(2)\">link</a><b>kept</b>'))\n"
    "display(Markdown('[m](javascript:alert(3)) <img src=x onerror=alert(4)>'))\n"
)


def _html_injection(folder, release, source, ctx):
    """Correct answers, outputs and a markdown cell of their own that would run script in a mentor's browser."""
    nbs = answered(release, {**CORRECT, "mse": INJECTION + CORRECT["mse"]})
    first = nbs[sorted(nbs)[0]]
    first.cells.insert(1, nbformat.v4.new_markdown_cell(
        "<script>alert(5)</script><img/src=x onerror=alert(6)> [x](javascript:alert(7)) "
        "<a href='jav&#x09;ascript:alert(8)'>y</a> <details open ontoggle=alert(9)>z</details>"))
    write(folder, nbs)


# -- attacks on the grader's process (all of them run in the kernel only, so none may help) ------
STUB = {"mse": "def mse(pred, y):\n    raise NotImplementedError()",
        "relu": "def relu(x):\n    raise NotImplementedError()",
        "scale": "def scale(x, s):\n    raise NotImplementedError()"}
SESSION_PATCH = (  # every error reply the kernel sends becomes "ok"; every error output is dropped
    "import jupyter_client.session as _s\n"
    "_send = _s.Session.send\n"
    "def _quiet(self, stream, msg_or_type, content=None, *a, **k):\n"
    "    if isinstance(msg_or_type, str) and msg_or_type == 'error':\n"
    "        return None\n"
    "    if isinstance(content, dict) and content.get('status') == 'error':\n"
    "        content = {'status': 'ok', 'execution_count': content.get('execution_count'), 'user_expressions': {}}\n"
    "    return _send(self, stream, msg_or_type, content, *a, **k)\n"
    "_s.Session.send = _quiet\n")
DURING_TEST = (  # patch NumPy while each cell runs, restore it before the next (a pre/post hook pair)
    "import numpy as _np\n"
    "_orig = dict(vars(_np))\n"
    "def _on(*a, **k):\n"
    "    vars(_np)['allclose'] = lambda *a, **k: True\n"
    "    vars(_np)['isfinite'] = lambda x: _np.ones_like(x, bool)\n"
    "def _off(*a, **k):\n"
    "    vars(_np).update(_orig)\n"
    "get_ipython().events.register('pre_run_cell', _on)\n"
    "get_ipython().events.register('post_run_cell', _off)\n")
TRACER = (  # a tracer that rewrites every comparison result it can find
    "import sys, threading\n"
    "def _t(frame, event, arg):\n"
    "    if event == 'return' and frame.f_code.co_name in ('allclose', 'close', 'compare'):\n"
    "        frame.f_locals.update(a=frame.f_locals.get('e'))\n"
    "    return _t\n"
    "sys.settrace(_t)\nthreading.settrace(_t)\n")
IMPORT_MACHINERY = (  # a finder that serves a helpers.checks whose comparisons always pass
    "import sys, types, importlib.abc, importlib.machinery\n"
    "class _Fake(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.startswith('helpers.checks'):\n"
    "            return importlib.machinery.ModuleSpec(name, self)\n"
    "    def create_module(self, spec):\n"
    "        m = types.ModuleType(spec.name)\n"
    "        m.close = lambda *a, **k: None\n"
    "        m.not_implemented_guard = lambda fn, *a, **k: None\n"
    "        return m\n"
    "    def exec_module(self, module):\n"
    "        pass\n"
    "for _n in [n for n in sys.modules if n.startswith('helpers.checks')]:\n"
    "    del sys.modules[_n]\n"
    "sys.meta_path.insert(0, _Fake())\n"
    "import helpers\nhelpers.__path__.insert(0, '/nonexistent')\n")
BUILTINS = (  # __import__ hands out a fake checks module; the cell's globals get fake builtins too
    "import builtins, types\n"
    "_imp = builtins.__import__\n"
    "_fake = types.SimpleNamespace(close=lambda *a, **k: None, not_implemented_guard=lambda *a, **k: None)\n"
    "def _import(name, *a, **k):\n"
    "    return _fake if name.startswith('helpers.checks') else _imp(name, *a, **k)\n"
    "builtins.__import__ = _import\n"
    "globals()['__builtins__'] = dict(vars(builtins), __import__=_import)\n")
FAKE_MODULES = (  # replace functools (used by the checks core) and the checks in sys.modules
    "import sys, types\n"
    "_f = types.ModuleType('functools')\n"
    "_f.wraps = lambda fn: (lambda g: g)\n"
    "sys.modules['functools'] = _f\n"
    "_c = types.ModuleType('helpers.checks')\n"
    "_c.close = lambda *a, **k: None\n"
    "_c.not_implemented_guard = lambda *a, **k: None\n"
    "sys.modules['helpers.checks'] = _c\n")
STARTUP_FILE = (  # plant code that the next notebook's kernel would run first
    "import os, pathlib\n"
    "_code = 'import helpers.checks as c\\nc.close = lambda *a, **k: None\\n'\n"
    "for _d in [os.environ.get('IPYTHONDIR', ''), os.path.expanduser('~/.ipython'), '.ipython']:\n"
    "    try:\n"
    "        p = pathlib.Path(_d or '.ipython') / 'profile_default' / 'startup'\n"
    "        p.mkdir(parents=True, exist_ok=True)\n"
    "        (p / '00-x.py').write_text(_code)\n"
    "    except OSError as err:\n"
    "        print('denied', _d, type(err).__name__)\n")
PTH_PLANT = (  # a .pth file in the venv runs in every later Python process
    "import site, sys, pathlib\n"
    "for _d in [*site.getsitepackages(), sys.prefix]:\n"
    "    try:\n"
    "        (pathlib.Path(_d) / 'zz-dic.pth').write_text('import os; os.environ[\"PWNED\"] = \"1\"\\n')\n"
    "        print('PLANTED', _d)\n"
    "    except OSError as err:\n"
    "        print('denied', _d, type(err).__name__)\n")
KILL_ALL = ("import os, signal\n"   # everything it may signal: in its PID namespace, nothing but itself
            "for _pid in (-1, os.getppid(), 1):\n"
            "    try:\n        os.kill(_pid, signal.SIGKILL)\n        print('killed', _pid)\n"
            "    except OSError as err:\n        print('could not kill', _pid, type(err).__name__)\n")
INNOCENT = {  # answers that look odd to a naive scanner or change the kernel's numerics: all full marks
    "mse": ("import numpy as np\nnp.seterr(all='raise')\n"
            "def mse(pred, y):\n"
            "    \"\"\"Mean squared error. (The nbgrader gradebook checks this against helpers.grading.)\"\"\"\n"
            "    checks = {}\n    checks['n'] = np.asarray(y).size\n"
            "    return float(((np.asarray(pred) - np.asarray(y)) ** 2).sum() / checks['n'])"),
    "relu": ("import types\nF = {}\nF['relu'] = 'mine'\nlayer = types.SimpleNamespace()\n"
             "layer.kernel = np.ones((3, 3))\n"
             "import torch\ntorch.set_default_dtype(torch.float64)\n"
             "def relu(x):\n    return np.maximum(x, 0.0)"),
}
REFERENCE_ANSWER = {"relu": "from helpers import scratch\ndef relu(x):\n    return scratch.relu_forward(x)[0]"}


def _channel_writer(ctx) -> str:
    token = ctx["channel_token"]
    return (
        "import os, pathlib\n"
        f"for _d in ['/run/lock', '/dev/shm', '/tmp', '/var/tmp']:\n"
        "    try:\n"
        f"        (pathlib.Path(_d) / {token!r}).write_text('from another student')\n"
        "    except OSError as err:\n"
        "        print('denied', _d, type(err).__name__)\n"
        "try:\n"
        "    from multiprocessing import shared_memory\n"
        f"    shared_memory.SharedMemory(name={token!r}, create=True, size=64).buf[:4] = b'abcd'\n"
        "except Exception as err:\n"
        "    print('no shm', type(err).__name__)\n"
        "import ctypes\n"
        "_libc = ctypes.CDLL(None)\n"
        f"print('sysv', _libc.shmget({ctx['sysv_key']}, 4096, 0o1666))\n")


def _channel_reader(ctx) -> str:
    token = ctx["channel_token"]
    return (
        "import os, time, glob\ntime.sleep(3)\n"
        f"_seen = [p for d in ['/run/lock', '/dev/shm', '/tmp', '/var/tmp'] for p in glob.glob(d + '/' + {token!r} + '*')]\n"
        "import ctypes\n"
        f"_id = ctypes.CDLL(None).shmget({ctx['sysv_key']}, 0, 0)\n"
        "print('channels seen:', _seen, 'sysv:', _id)\n")


def _gradebook_sabotage(ctx) -> str:
    """Every gradebook a student could guess: the main one, the template, the other students' copies."""
    return (
        "import glob, sqlite3\n"
        f"_targets = {ctx['gradebooks']!r} + glob.glob('/tmp/dic-grading-*/template.db') + "
        "glob.glob('/tmp/dic-grading-*/s-*/course/gradebook.db') + glob.glob('/tmp/*/grading/course/gradebook.db')\n"
        "print('targets', len(_targets))\n"
        "for _p in _targets:\n"
        "    try:\n"
        "        _c = sqlite3.connect(_p)\n"
        "        _c.execute('delete from grade_cells')\n"
        "        _c.commit()\n"
        "        print('SABOTAGED', _p)\n"
        "    except Exception as err:\n"
        "        print('denied', _p, type(err).__name__)\n")


CASES = [
    Case("reference", "the source notebooks, solutions and all", FULL, lambda f, r, s, c: write(f, s)),
    Case("untouched", "the release as handed out", ZERO, _simple({})),
    Case("spies_on_helpers", "mse is off by one if the kernel's helpers are the mentor's (helpers.grading, hidden "
         "cases in the checks): the kernel gets the mentee edition", FULL,
         _simple(_answers(mse="import importlib.util, pathlib\n"
                              "_src = pathlib.Path(importlib.util.find_spec('helpers.checks.week2').origin).read_text()\n"
                              "_mentor = importlib.util.find_spec('helpers.grading') is not None or 'hidden cases removed' not in _src\n"
                              "def mse(pred, y):\n"
                              "    return float(((np.asarray(pred) - np.asarray(y)) ** 2).mean()) + float(_mentor)"))),
    Case("not_data", "relu returns a generator: no probe carries it, so 0 and the mentor's review list",
         {**FULL, RELU: 0}, _simple(_answers(relu="def relu(x):\n    return (v for v in np.maximum(x, 0.0))")),
         held=True),
    Case("correct", "correct answers in the release", FULL, _simple(CORRECT)),
    Case("edited_test", "wrong mse, its test cell replaced by `assert True`", {**FULL, MSE: 0},
         _edit(_answers(mse=WRONG["mse"]), _edit_test), notes=("test_mse was edited",)),
    Case("deleted_test", "wrong mse, its test cell deleted", {**FULL, MSE: 0},
         _edit(_answers(mse=WRONG["mse"]), _delete_test), notes=("test_mse was missing",)),
    Case("markdown_test", "wrong mse, its test cell turned into markdown", {**FULL, MSE: 0},
         _edit(_answers(mse=WRONG["mse"]), _markdown_test), notes=("markdown",)),
    Case("metadata_removed", "wrong mse, the test cell's nbgrader metadata removed and `assert True`",
         {**FULL, MSE: 0}, _edit(_answers(mse=WRONG["mse"]), _strip_metadata), notes=("test_mse was missing",)),
    Case("bogus_schema", "correct answers, schema_version 99 everywhere", FULL, _edit(CORRECT, _bogus_schema),
         notes=("metadata of",)),
    Case("bogus_schema_wrong", "wrong answers, schema_version 99 everywhere", ZERO, _edit(ALL_WRONG, _bogus_schema)),
    Case("inflated_points", "relu unanswered, 100 points per test, a 50-point cell of their own",
         {**FULL, RELU: 0}, _edit(_answers(relu="def relu(x):\n    raise NotImplementedError()"), _inflate_points),
         notes=("metadata of test_mse",)),
    Case("duplicated_grade_id", "wrong mse, two copies of test_mse both `assert True`", {**FULL, MSE: 0},
         _edit(_answers(mse=WRONG["mse"]), _duplicate_grade_id), notes=("appears 2 times",)),
    Case("infinite_loop", "relu never returns", {**FULL, RELU: 0},
         _simple(_answers(relu="def relu(x):\n    while True:\n        pass"))),
    Case("sigint_ignored", "relu ignores SIGINT and never returns (kernel killed; later cells not run)",
         {**FULL, RELU: 0},
         _simple(_answers(relu="def relu(x):\n    import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                               "    while True:\n        pass"))),
    Case("sys_exit", "mse calls sys.exit()", {**FULL, MSE: 0},
         _simple(_answers(mse="def mse(pred, y):\n    import sys\n    sys.exit(0)"))),
    Case("os_exit", "the mse cell kills the kernel with os._exit (rest of that notebook not run)",
         {**FULL, MSE: 0, RELU: 0}, _simple(_answers(mse=CORRECT["mse"] + "\nimport os\nos._exit(0)"))),
    Case("exception", "mse raises", {**FULL, MSE: 0},
         _simple(_answers(mse="def mse(pred, y):\n    raise ValueError('oops')"))),
    Case("huge_output", "correct, but prints ~30 MB", FULL,
         _simple(_answers(mse="for _ in range(300):\n    print('x' * 100_000)\n" + CORRECT["mse"]))),
    Case("memory_hog", "mse allocates 80 GB", {**FULL, MSE: 0},
         _simple(_answers(mse="def mse(pred, y):\n    return float(np.ones(10_000_000_000).sum())"))),
    Case("invalid_json", "first notebook is not valid JSON", {**FULL, MSE: 0, RELU: 0}, _invalid_json,
         notes=("not valid JSON",), missing=("01_arrays.ipynb",)),
    Case("missing_notebook", "first notebook not submitted", {**FULL, MSE: 0, RELU: 0}, _missing,
         missing=("01_arrays.ipynb",)),
    Case("renamed_notebooks", "saved as '01_arrays (1).ipynb' and '02_More.ipynb'", FULL, _renamed,
         notes=("renamed",)),
    Case("empty_folder", "an empty week folder", ZERO, _empty, missing=("01_arrays.ipynb", "02_more.ipynb")),
    Case("shadow_modules", "numpy.py/helpers.py next to the notebook and written by it; wrong mse, relu stub",
         {**ZERO, SCALE: 1}, _shadow, notes=("extra files",)),
    Case("garbage_timestamp", "correct, timestamp.txt is garbage", FULL, _timestamp, notes=("timestamp.txt",)),
    Case("monkeypatch_checks", "wrong answers, helpers.checks functions replaced", ZERO,
         _with_code(ALL_WRONG, "mse", PATCH_CHECKS)),
    Case("monkeypatch_hidden", "wrong answers, helpers.checks replaced via exec (scan cannot see it)", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(PATCH_CHECKS))),
    Case("patch_numpy_hidden", "wrong answers, numpy.allclose/isfinite replaced via exec", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(PATCH_NUMPY))),
    Case("blank_tests_hidden", "wrong answers, an IPython input transformer blanks test cells (via exec)", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(BLANK_TESTS))),
    Case("swallow_errors_hidden", "wrong answers, IPython custom exception handler (via exec)", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(SWALLOW_ERRORS))),
    Case("always_equal", "results are objects equal to everything", {**FULL, MSE: 0, RELU: 0},
         _simple(_answers(mse=ALWAYS_EQUAL, relu="pass"))),
    Case("reads_hidden_tests", "correct, and tries to read hidden tests everywhere (disguised)", FULL,
         _with_code(CORRECT, "mse", lambda ctx: _obfuscated(_reader(ctx))), extra={"reader": True}),
    Case("writes_gradebook", "wrong answers, and tries to write 100 points into the gradebooks", ZERO,
         _with_code(ALL_WRONG, "mse", lambda ctx: _obfuscated(_writer(ctx)))),
    Case("plants_symlinks", "correct, and leaves symlinks where nbgrader writes next", FULL,
         _with_code(CORRECT, "mse", _symlinks)),
    Case("background_process", "correct, and starts a daemon that outlives the cell", FULL,
         _with_code(CORRECT, "mse", _daemon)),
    Case("html_injection", "correct, with HTML/markdown outputs and a markdown cell carrying script", FULL,
         _html_injection),
    # the red team's kinds of attack on verdicts: each runs in the kernel, where no verdict is made
    Case("session_patch", "stubs, and the kernel's Session.send turns every error into ok", ZERO,
         _with_code(STUB, "mse", _obfuscated(SESSION_PATCH))),
    Case("patch_during_test", "wrong answers, NumPy patched by a pre_run_cell hook and restored after", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(DURING_TEST))),
    Case("tracer", "wrong answers, sys.settrace rewriting comparisons", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(TRACER))),
    Case("import_machinery", "wrong answers, a meta-path finder serving a fake helpers.checks", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(IMPORT_MACHINERY))),
    Case("builtins_import", "wrong answers, builtins.__import__ and __builtins__ replaced", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(BUILTINS))),
    Case("fake_sys_modules", "wrong answers, fake functools and helpers.checks in sys.modules", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(FAKE_MODULES))),
    Case("startup_file", "wrong answers, an IPython startup file planted for the next notebook", ZERO,
         _with_code(ALL_WRONG, "mse", _obfuscated(STARTUP_FILE))),
    Case("pth_planting", "correct, and tries to plant a .pth file in the venv", FULL,
         _with_code(CORRECT, "mse", _obfuscated(PTH_PLANT))),
    Case("channel_writer", "correct, leaves files in /run/lock, /dev/shm, /tmp and shared memory", FULL,
         _with_code(CORRECT, "mse", _channel_writer)),
    Case("channel_reader", "correct, looks for what another student left there", FULL,
         _with_code(CORRECT, "relu", _channel_reader)),
    Case("gradebook_sabotage", "wrong answers, tries to empty every gradebook it can find", ZERO,
         _with_code(ALL_WRONG, "mse", lambda ctx: _obfuscated(_gradebook_sabotage(ctx)))),
    Case("kill_all", "correct, and kill(-1), its parent and pid 1 with SIGKILL: no one else is in reach", FULL,
         _with_code(CORRECT, "mse", KILL_ALL)),
    Case("innocent", "docstring naming nbgrader, locals called checks and F, layer.kernel =, float64 default, "
                     "np.seterr(all='raise')", FULL, _simple(_answers(**INNOCENT))),
    Case("reference_answer", "relu answered by calling the course's reference relu", FULL,
         _simple(_answers(**REFERENCE_ANSWER)), held=True),
]


def build_all(submissions: Path, release: dict, source: dict, ctx: dict, cases=CASES) -> None:
    for case in cases:
        case.build(submissions / case.student / WEEK, release, source, ctx)
