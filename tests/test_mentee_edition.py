"""The mentee edition: what the released notebooks import is in it, and a closed week's solutions."""
import ast
import json

import nbformat
import pytest

from helpers import course
from helpers.grading.bundle import build_bundle, mentee_helpers, solutions


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


def test_every_notebook_imports_only_what_the_mentee_edition_holds(tmp_path):
    """A mentee's notebook (a release: the source without solutions) runs on the edition: every ``helpers``
    module any code cell imports is in it, none of ``helpers.grading`` (mentor tooling)."""
    edition = mentee_helpers(tmp_path / "helpers")
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
