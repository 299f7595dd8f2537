"""A two-notebook NumPy assignment ("week0", 4 points) that the grading tests release and grade.

It mirrors the course's nbgrader anatomy (locked cells, solution cells, locked test cells with
hidden tests calling ``helpers.checks``) but runs in well under a second per notebook.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

WEEK = "week0"
HIDDEN_SENTINEL = "HIDDEN-CASE-7f3e"
POINTS = {("01_arrays.ipynb", "test_mse"): 1, ("01_arrays.ipynb", "test_relu"): 2, ("02_more.ipynb", "test_scale"): 1}


def _meta(grade_id, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(grade_id, text):
    return new_markdown_cell(text, metadata=_meta(grade_id, locked=True))


def code(grade_id, src):
    return new_code_cell(src, metadata=_meta(grade_id, locked=True))


def solution(grade_id, src):
    return new_code_cell(src, metadata=_meta(grade_id, solution=True))


def tests(grade_id, src, points):
    return new_code_cell(src, metadata=_meta(grade_id, grade=True, locked=True, points=points))


SOLUTIONS = {
    "mse": "def mse(pred, y):\n    \"\"\"Mean squared error of two arrays of the same shape -> float.\"\"\"\n"
           "    ### BEGIN SOLUTION\n    return float(((np.asarray(pred) - np.asarray(y)) ** 2).mean())\n"
           "    ### END SOLUTION",
    "relu": "def relu(x):\n    \"\"\"max(x, 0) elementwise; same shape as x.\"\"\"\n"
            "    ### BEGIN SOLUTION\n    return np.maximum(x, 0.0)\n    ### END SOLUTION",
    "scale": "def scale(x, s):\n    \"\"\"x multiplied by the scalar s.\"\"\"\n"
             "    ### BEGIN SOLUTION\n    return np.asarray(x) * s\n    ### END SOLUTION",
}

TESTS = {
    "test_mse": (
        "close(not_implemented_guard(mse, np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])), 4 / 3,\n"
        "      hint=\"average the squared differences\", what=\"mse([1, 2, 3], [1, 0, 3])\")\n"
        "### BEGIN HIDDEN TESTS\n"
        f"# {HIDDEN_SENTINEL}\n"
        "rng = np.random.default_rng(7)\n"
        "a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))\n"
        "close(mse(a, b), ((a - b) ** 2).mean(), hint=\"average over every entry\", what=\"mse on a 4x3 batch\")\n"
        "### END HIDDEN TESTS"),
    "test_relu": (
        "close(not_implemented_guard(relu, np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0],\n"
        "      hint=\"negative inputs become 0\", what=\"relu([-2, 0, 3])\")\n"
        "### BEGIN HIDDEN TESTS\n"
        "x = np.linspace(-3, 3, 13).reshape(13, 1)\n"
        "close(relu(x), np.maximum(x, 0), hint=\"keep the input's shape\", what=\"relu of a column\")\n"
        "### END HIDDEN TESTS"),
    "test_scale": (
        "close(not_implemented_guard(scale, np.array([1.0, -2.0]), 3.0), [3.0, -6.0], hint=\"multiply by s\",\n"
        "      what=\"scale([1, -2], 3)\")\n"
        "### BEGIN HIDDEN TESTS\n"
        "close(scale(np.eye(2), -0.5), -0.5 * np.eye(2), hint=\"works for matrices\", what=\"scale(eye(2), -0.5)\")\n"
        "### END HIDDEN TESTS"),
}

SETUP = "import numpy as np\nfrom helpers.checks import close, not_implemented_guard"


def notebooks() -> dict[str, object]:
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}
    first = new_notebook(metadata=meta, cells=[
        md("intro", "# Fixture: arrays\nTwo small exercises."),
        code("setup", SETUP),
        solution("mse", SOLUTIONS["mse"]),
        tests("test_mse", TESTS["test_mse"], 1),
        solution("relu", SOLUTIONS["relu"]),
        tests("test_relu", TESTS["test_relu"], 2),
        code("use_relu", "print(\"relu of [-1, 2]:\", relu(np.array([-1.0, 2.0])))"),
    ])
    second = new_notebook(metadata=meta, cells=[
        md("intro2", "# Fixture: more"),
        code("setup2", SETUP),
        solution("scale", SOLUTIONS["scale"]),
        tests("test_scale", TESTS["test_scale"], 1),
    ])
    return {"01_arrays.ipynb": first, "02_more.ipynb": second}


def write_week(weeks_root: Path) -> Path:
    """Write the fixture's source notebooks to ``weeks_root/week0/``."""
    folder = Path(weeks_root) / WEEK
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks().items():
        nbformat.validate(nb)
        nbformat.write(nb, folder / name)
    return folder


def released_course(base: Path):
    """A grading Course under ``base`` with this fixture week written and released."""
    from helpers.grading.course import Course, release

    course = Course(root=base / "grading", weeks_root=base / "weeks")
    write_week(course.weeks_root)
    release(course, [WEEK], log=lambda *a: None)
    return course
