"""The mentee edition: what the released notebooks import is in it, and a closed week's solutions."""
import ast
import subprocess
import sys
import json

import nbformat
import pytest

from helpers import course
from helpers.grading.bundle import SEALED, build_bundle, mentee_helpers, seal_answers, solutions


def _helpers_imports(source: str) -> set[str]:
    """``helpers.x.y`` modules a cell imports (``from helpers import x`` counts ``helpers.x`` when x is a module)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _present(edition, module: str) -> bool:
    """``helpers.a.b`` is in the edition: a module or package file there, or a name that its parent module (a
    ``.py`` file, or a package's ``__init__.py``) defines or imports."""
    parts = module.split(".")[1:]
    here = edition.joinpath(*parts)
    if here.with_suffix(".py").is_file() or (here / "__init__.py").is_file():
        return True
    parent = edition.joinpath(*parts[:-1])
    source = parent.with_suffix(".py") if parent.with_suffix(".py").is_file() else parent / "__init__.py"
    if not parts[:-1] or not source.is_file():
        return False
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return parts[-1] in names


def test_what_the_edition_holds_is_told_from_what_it_lacks(tmp_path):
    (tmp_path / "train.py").write_text("from .loaders import TensorLoader\ndef fit():\n    pass\nLIMIT = 3\n")
    (tmp_path / "__init__.py").write_text("")
    for module in ("helpers.train", "helpers.train.fit", "helpers.train.TensorLoader", "helpers.train.LIMIT"):
        assert _present(tmp_path, module), module
    for module in ("helpers.book", "helpers.grading", "helpers.train.evaluate", "helpers.models.resnet"):
        assert not _present(tmp_path, module), module


@pytest.fixture(scope="module")
def course_edition(tmp_path_factory):
    """The mentee edition of this course (every week open) and what building it logged: built once (~10 s)."""
    logged = []
    root = tmp_path_factory.mktemp("edition")
    return mentee_helpers(root / "helpers", log=logged.append), logged


def test_every_notebook_imports_only_what_the_mentee_edition_holds(course_edition):
    """A mentee's notebook (a release: the source without solutions) runs on the edition: every ``helpers``
    module any code cell imports is in it, none of ``helpers.grading`` (mentor tooling)."""
    edition, _ = course_edition
    wanted = {}
    for path in course.notebooks():
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                for module in _helpers_imports("".join(cell["source"])):
                    wanted.setdefault(module, path.relative_to(course.REPO).as_posix())
    assert "helpers.checks.week1" in wanted and "helpers.train" in wanted
    missing = []
    for module, where in sorted(wanted.items()):
        assert not module.startswith("helpers.grading"), f"{where} imports mentor tooling: {module}"
        if not _present(edition, module):
            missing.append(f"{where}: {module}")
    assert not missing, missing


def _notebook(cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    return nb


def test_a_closed_week_ships_its_solutions_without_hidden_tests_and_an_open_one_none(tmp_path):
    from types import SimpleNamespace

    week = tmp_path / "weeks" / "week1"
    week.mkdir(parents=True)
    answer = nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n")
    test = nbformat.v4.new_code_cell("check(f)\n### BEGIN HIDDEN TESTS\ncheck(f, hidden=True)\n### END HIDDEN TESTS\n",
                                     outputs=[nbformat.v4.new_output("stream", text="\u2713 f \u2014 passed, hidden cases too\n")])
    plot = nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output("stream", text="a figure\n")])
    nav = nbformat.v4.new_markdown_cell("[Week 1: all notebooks](README.md)", metadata={"tags": ["navigation"]})
    nbformat.write(_notebook([answer, test, plot, nav]), week / "01_a.ipynb")
    (written,) = solutions(week, tmp_path / "out")
    cells = nbformat.read(written, as_version=4).cells
    assert len(cells) == 3, "the navigation cell's links lead from the week's folder: not in solutions/"
    assert "return 2 * x" in cells[0].source
    assert cells[1].source == "check(f)\n" and cells[1].outputs == []
    assert cells[2].outputs[0]["text"] == "a figure\n"

    release = tmp_path / "release"
    for w in ("week1", "week2"):
        (release / w).mkdir(parents=True)
        nbformat.write(_notebook([]), release / w / "01_a.ipynb")
    fake = SimpleNamespace(root=tmp_path, weeks_root=tmp_path / "weeks", release=lambda w: release / w)
    (tmp_path / "weeks" / "week2").mkdir()
    out = build_bundle(fake, ["week1", "week2"], tmp_path / "bundle", log=lambda *a: None, closed=["week1"])
    assert (out / "week1" / "solutions" / "01_a.ipynb").is_file() and not (out / "week2" / "solutions").exists()
    assert "BEGIN HIDDEN TESTS" not in (out / "week1" / "solutions" / "01_a.ipynb").read_text()
    with pytest.raises(ValueError, match="week3 not among the released ones"):
        build_bundle(fake, ["week1"], tmp_path / "bundle2", log=lambda *a: None, closed=["week3"])


def test_the_answers_in_bundle_measure_finds_an_answer_and_skips_methods(tmp_path):
    """benchmarks/answers_in_bundle.py (issue 22's measure): a graded name defined at a module's top level in the
    bundle's helpers is a hit; the same name as a method, or a dunder, is not."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "answers_in_bundle", Path(__file__).resolve().parents[1] / "benchmarks" / "answers_in_bundle.py")
    measure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure)
    names = measure.graded_names()
    assert names["mse"].startswith("week1/") and "sigmoid" in names and not any(n.startswith("__") for n in names)
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "answers.py").write_text("def sigmoid(z):\n    return z\n\nclass Net:\n    def mse(self):\n        pass\n")
    where = measure.defined_in(helpers)
    assert where["sigmoid"] == ["helpers/answers.py"] and "mse" not in where


def _solution(source):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade": False}})


MODULE = '''# a comment
def alone(x):
    """2 x"""
    return x * 2 + _SECRET
_SECRET = 0
def called(x):
    return x
def _formula(x):
    return x ** 2 + 1
def shared(x):
    return _formula(x)
def kept_tool(x):
    return _formula(x)
def _check(x):
    if x is None:
        raise ValueError("x")
def checked(x):
    _check(x)
    return -x
def tool(x):
    _check(x)
    return x
def by_cell(x):
    return x - 1
def _core(x):
    return x / 3
def base(x):
    return _core(x)
def variant(x):
    return _core(x) + 1
'''


def test_an_open_weeks_answer_is_sealed_unless_shipped_code_needs_it(tmp_path):
    """seal_answers: an answer nothing calls becomes a stub that names its notebook; one a notebook cell or another
    module calls stays (a parameter of the same name is not a call), and so does one whose arithmetic lives in a
    private helper something else still uses; an argument check may stay behind; a closed week's answers ship."""
    root = tmp_path / "course"
    (root / "week1").mkdir(parents=True)
    defs = "def alone(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    nb = _notebook([_solution(defs + "def called(x): ...\ndef shared(x): ...\ndef checked(x): ...\ndef by_cell(x): ...\n"
                              "def kept_tool(x): ...\ndef base(x): ..."),
                    nbformat.v4.new_code_cell("scratch.by_cell(3)"),
                    nbformat.v4.new_code_cell("from helpers.scratch.mod import (tool,\n    imported)\nfrom helpers.scratch.mod import kept_tool")])
    nbformat.write(nb, root / "week1" / "01_a.ipynb")

    def edition(name):
        helpers = tmp_path / name / "helpers"
        (helpers / "scratch").mkdir(parents=True)
        (helpers / "scratch" / "mod.py").write_text(MODULE)
        (helpers / "other.py").write_text("from .scratch import mod\n\ndef use(alone):\n    return mod.called(alone)\n")
        return helpers

    helpers = edition("open")
    grader = "def check_other(fn, hidden=False):\n    if hidden:\n        fn(mod.checked)\n"
    assert seal_answers(edition("graded"), course.notebooks(root), root=root, graders={"checks/x.py": grader})["sealed"] \
        == ["alone", "base"], "a name the grader's hidden cases send to the kernel stays"
    out = seal_answers(helpers, course.notebooks(root), root=root)
    assert out["sealed"] == ["alone", "base", "checked"], out
    assert out["with"] == ["variant (built on base)"], "an unused function built on an answer's arithmetic goes with it"
    kept = "\n".join(out["kept"])
    assert "called (week1/01_a.ipynb; used by helpers/other.py)" in kept
    assert "shared (week1/01_a.ipynb; its _formula still used)" in kept and "by_cell (week1/01_a.ipynb; used by a notebook)" in kept
    assert "kept_tool (week1/01_a.ipynb; used by a notebook)" in kept, "imported by a cell: a use"
    text = (helpers / "scratch" / "mod.py").read_text()
    assert "x * 2" not in text and "_SECRET" not in text and "_check" in text and "-x" not in text and "x / 3" not in text
    namespace = {}
    exec(compile(text, "mod.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"alone is your exercise in week1/01_a.ipynb.*closes week1"):
        namespace["alone"](1)
    assert namespace["called"](4) == 4 and namespace["tool"](2) == 2
    assert (helpers / "other.py").read_text().startswith("from .scratch import mod\n\ndef"), "untouched files keep their form"
    helpers = edition("closed")
    assert seal_answers(helpers, course.notebooks(root), closed=["week1"], root=root)["sealed"] == []
    assert (helpers / "scratch" / "mod.py").read_text() == MODULE


def test_the_mentee_edition_seals_the_answers_nothing_shipped_needs(course_edition):
    """On the course itself: the answers no shipped code calls are sealed (week 4's update rules, AdamW with Adam,
    batch normalisation, dropout and initialisers; week 3's pooling): each raises
    naming its notebook, its formula is gone, module docstrings included; what is still readable is told, with
    what keeps it."""
    edition, logged = course_edition
    sealed = logged[0].split("answers sealed (")[1].split(")")[0].split(", ")
    expected = {"sgd", "sgd_momentum", "nesterov", "rmsprop", "adam", "batchnorm_forward", "batchnorm_backward",
                "spatial_batchnorm_forward", "spatial_batchnorm_backward", "dropout_forward", "dropout_backward",
                "xavier_uniform", "xavier_normal", "he_normal", "max_pool_forward", "max_pool_backward",
                "avg_pool_forward", "avg_pool_backward"}
    assert expected <= set(sealed), expected - set(sealed)
    assert "and with them adamw (built on adam)" in logged[0], "adamw would show adam's arithmetic"
    optim = (edition / "scratch" / "optim.py").read_text()
    assert "m_hat" not in optim and "def _momentum" not in optim and "def sgd_step" in optim
    norm, init = (edition / "scratch" / "norm.py").read_text(), (edition / "scratch" / "init.py").read_text()
    assert "momentum * var" not in norm and "fan_in + fan_out" not in init and "sqrt(2" not in init and SEALED in norm
    code = ("import numpy as np\nfrom helpers import scratch\nfor f in (scratch.xavier_uniform, scratch.max_pool_forward):\n"
            "    try:\n        f((2, 3), np.random.default_rng(0))\n    except NotImplementedError as e:\n        print(e)\n"
            "print(scratch.relu_forward(np.array([-1.0, 2.0]))[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=edition.parent,
                         env={"PYTHONPATH": str(edition.parent), "PATH": "/usr/bin:/bin"})
    assert "xavier_uniform is your exercise in week4/04_initialisation.ipynb" in out.stdout, out.stderr[-800:]
    assert "max_pool_forward is your exercise in week3/01_convolution_from_scratch.ipynb" in out.stdout
    assert "[0. 2.]" in out.stdout, "what stays, works"
