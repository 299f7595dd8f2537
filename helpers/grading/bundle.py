"""The mentee bundle: what ``make release`` hands out -- release notebooks and what they need to run.

``build_bundle(course, weeks)`` writes ``<grading root>/bundle/``:

* ``week*/``: the release notebooks (no solutions, no hidden tests, no outputs) and the week's
  support files;
* ``helpers/``: the course package without ``helpers/grading`` (mentor tooling), with every
  hidden case taken out of ``helpers/checks``: the body of each ``if hidden:`` becomes
  ``raise PermissionError(...)``, ``x if hidden else y`` becomes ``y if hidden else y``, and
  module-level constants named ``*HIDDEN*`` become empty. The visible checks run unchanged, so the
  mentee sees the same hints in the notebook; the hidden cases exist only on the mentor's side;
* ``pyproject.toml``, ``requirements.lock``, ``environment.yml`` and a README saying how to
  install and start.

The reference implementations the checks compare against (``helpers.scratch``, ``helpers.models``)
stay in the bundle: the checks need them for their expected values. An answer that calls the
reference of its own exercise is flagged for the mentor by the grader's scan
(``helpers.grading.scan``), never silently accepted.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

from .course import REPO, Course

HIDDEN_MESSAGE = "hidden cases are graded by your mentor; they are not part of the mentee bundle"
README = """\
# Deep into CNNs: the mentee bundle

    python3.11 -m venv .venv && .venv/bin/pip install -r requirements.lock && .venv/bin/pip install --no-deps -e .
    .venv/bin/python -m helpers.data prepare      # the datasets
    .venv/bin/python -m helpers.config install-kernel   # the course's kernel, in the reproducible CPU mode
    .venv/bin/jupyter lab                          # then open week1/00_getting_started.ipynb

The course's kernel prints the same numbers as your mentor's notebooks on any x86-64 CPU; for
speed, `DIC_FAST=1 .venv/bin/python -m helpers.config install-kernel` installs one without it.

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


def build_bundle(course: Course, weeks: list[str], out: Path | None = None, log=print) -> Path:
    out = Path(out or course.root / "bundle")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for week in weeks:
        shutil.copytree(course.release(week), out / week)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "grading")
    shutil.copytree(REPO / "helpers", out / "helpers", ignore=ignore)
    for path in sorted((out / "helpers" / "checks").glob("*.py")):
        path.write_text(strip_hidden(path.read_text()))
    for name in ("pyproject.toml", "requirements.lock", "environment.yml"):
        if (REPO / name).is_file():
            shutil.copy(REPO / name, out / name)
    (out / "README.md").write_text(README)
    log(f"mentee bundle: {out} ({', '.join(weeks)})")
    return out
