"""The mentee bundle: what ``make release`` hands out -- release notebooks and what they need to run.

``build_bundle(course, weeks)`` writes ``<grading root>/bundle/``:

* ``week*/``: the release notebooks (no solutions, no hidden tests, no outputs) and the week's
  support files;
* ``helpers/``: the course package without ``helpers/grading`` and ``helpers/book`` (mentor tooling), with every
  hidden case taken out of ``helpers/checks``: the body of each ``if hidden:`` becomes
  ``raise PermissionError(...)``, ``x if hidden else y`` becomes ``y if hidden else y``, and
  module-level constants named ``*HIDDEN*`` become empty. The visible checks run unchanged, so the
  mentee sees the same hints in the notebook; the hidden cases exist only on the mentor's side;
* ``pyproject.toml``, ``requirements.lock``, ``environment.yml`` and a README saying how to
  install and start;
* ``week*/solutions/``, only for the weeks the mentor says are closed (``make release CLOSED=week1``,
  after the deadline): the source notebooks with their solutions and outputs, hidden tests taken out.

A checks module written as exercise records (``EXERCISES``, :mod:`helpers.checks.records`) ships without
them: its visible cases, expected results and known mistakes' results are written at release time to
``helpers/checks/fixtures/<module>.pkl`` and its checks judge against those (``records.replay``); the
records, and every function only they used (the reference formulas), are left out of the module.
The reference implementations procedural checks compare against (``helpers.scratch``, ``helpers.models``)
still stay in the bundle: those checks need them for their expected values. An answer that calls the
reference of its own exercise is flagged for the mentor by the grader's scan
(``helpers.grading.scan``), never silently accepted.
"""
from __future__ import annotations

import ast
import importlib
import pickle
import shutil
from pathlib import Path

from ..checks.records import fixtures
from .course import REPO, Course

HIDDEN_MESSAGE = "hidden cases are graded by your mentor; they are not part of the mentee bundle"
README = """\
# Deep into CNNs: the mentee bundle

    python3.11 -m venv .venv && .venv/bin/pip install -r requirements.lock && .venv/bin/pip install --no-deps -e .
    .venv/bin/python -m helpers.data prepare      # the datasets
    .venv/bin/python -m helpers.config install-kernel   # the course's kernel, in the reproducible CPU mode
    .venv/bin/jupyter lab                          # then open week1/00_getting_started.ipynb

The course's kernel prints the same numbers as your mentor's notebooks on an x86-64 Linux machine with AVX2
(measured: an AMD EPYC and an emulated Intel CPU); on ARM or macOS the last digits differ. For speed, `DIC_FAST=1 .venv/bin/python -m helpers.config install-kernel` installs one without it.

Each exercise has a test cell: run it to check your answer (the hints say what to fix). Your
mentor grades your notebooks with further cases of their own.
"""


class _StripHidden(ast.NodeTransformer):
    def visit_If(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Name) and node.test.id == "hidden":
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("PermissionError", ast.Load()),
                                                args=[ast.Constant(HIDDEN_MESSAGE)], keywords=[]), cause=None)]
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Name) and node.test.id == "hidden":
            node.body = node.orelse
        return node


def strip_hidden(source: str) -> str:
    """A checks module's source without its hidden cases (see the module docstring)."""
    tree = ast.parse(source)
    for i, node in enumerate(tree.body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and "HIDDEN" in t.id for t in targets):
            tree.body[i] = ast.Assign(targets=targets, value=ast.List(elts=[], ctx=ast.Load()), lineno=node.lineno)
    tree = ast.fix_missing_locations(_StripHidden().visit(tree))
    return "# mentee bundle copy: hidden cases removed (helpers.grading.bundle)\n" + ast.unparse(tree) + "\n"


def without_records(source: str, module: str) -> str:
    """A checks module's source with its ``EXERCISES`` records replaced by the release's fixtures, and every
    top-level function or constant nothing else uses any more (what only the records used) removed."""
    tree = ast.parse(source)

    def defines(node):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return {node.name}
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        return {t.id for t in targets if isinstance(t, ast.Name)}

    body = [n for n in tree.body if "EXERCISES" not in defines(n)]
    for node in body:
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "checks_of":
                call.func.id, call.args[0] = "replay", ast.parse(f"load_fixtures({module!r})", mode="eval").body
    while True:
        used = {n.id for node in body for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        used |= {a.value for node in body if "__all__" in defines(node) for a in ast.walk(node) if isinstance(a, ast.Constant)}
        dead = [n for n in body if defines(n) and not defines(n) & used and not defines(n) & {"__all__"}
                and not any(name.startswith("check_") for name in defines(n))]
        if not dead:
            break
        body = [n for n in body if n not in dead]
    at = next((i + 1 for i, n in enumerate(body) if isinstance(n, ast.ImportFrom) and n.module == "__future__"), 0)
    tree.body = body[:at] + [ast.parse("from .records import load_fixtures, replay").body[0]] + body[at:]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def mentee_helpers(out: Path) -> Path:
    """The mentee edition of the ``helpers`` package at ``out``: no ``helpers/grading`` or ``helpers/book``, no hidden case, records
    as fixtures (see the module docstring). The bundle holds it, and grading binds it into every sandboxed kernel
    in place of the real one."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "grading", "book")
    shutil.copytree(REPO / "helpers", out, ignore=ignore)
    for path in sorted((out / "checks").glob("*.py")):
        module = importlib.import_module(f"helpers.checks.{path.stem}")
        if getattr(module, "EXERCISES", None):
            (out / "checks" / "fixtures").mkdir(exist_ok=True)
            with open(out / "checks" / "fixtures" / f"{path.stem}.pkl", "wb") as f:
                pickle.dump(fixtures(module.EXERCISES), f)
            path.write_text(without_records(path.read_text(), path.stem))
        path.write_text(strip_hidden(path.read_text()))
    return out


def solutions(source: Path, out: Path) -> list[Path]:
    """A closed week's worked solutions for mentees: its source notebooks with the solutions and the committed
    outputs, without hidden tests (each ``### BEGIN HIDDEN TESTS`` block goes, and the outputs of the test
    cells that held one, which show them ran) and without the navigation cell (its links lead from the week's
    folder, not from ``solutions/``)."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(source).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if "navigation" not in c.get("metadata", {}).get("tags", [])]  # links from the week
        for cell in nb.cells:
            if cell.cell_type != "code" or "### BEGIN HIDDEN TESTS" not in cell.source:
                continue
            kept, hiding = [], False
            for line in cell.source.splitlines():
                if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                    hiding = line.strip().startswith("### BEGIN")
                elif not hiding:
                    kept.append(line)
            cell.source, cell.outputs, cell.execution_count = "\n".join(kept).rstrip() + "\n", [], None
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written


def build_bundle(course: Course, weeks: list[str], out: Path | None = None, log=print,
                 closed: list[str] = ()) -> Path:
    """The mentee bundle of ``weeks`` (see the module docstring); each week in ``closed`` (its deadline has
    passed: the mentor's switch, ``make release CLOSED=week1``) also gets ``<week>/solutions/``."""
    out = Path(out or course.root / "bundle")
    unknown = sorted(set(closed) - set(weeks))
    if unknown:
        raise ValueError(f"closed week(s) {', '.join(unknown)} not among the released ones ({', '.join(weeks)})")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for week in weeks:
        shutil.copytree(course.release(week), out / week)
    for week in closed:
        n = len(solutions(course.weeks_root / week, out / week / "solutions"))
        log(f"{week} is closed: {n} solution notebooks in {out / week / 'solutions'}")
    mentee_helpers(out / "helpers")
    for name in ("pyproject.toml", "requirements.lock", "environment.yml"):
        if (REPO / name).is_file():
            shutil.copy(REPO / name, out / name)
    (out / "README.md").write_text(README)
    log(f"mentee bundle: {out} ({', '.join(weeks)})")
    return out
