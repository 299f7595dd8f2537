"""One harness for "graded exercises are tested three ways", for any week.

A week's test file declares

- ``Week(folder, module, checks={check name: (notebook prefix, [function names it takes])}, base=...)``:
  the notebooks of ``folder`` that import ``module`` as ``checks`` are its notebooks; references come from the notebooks' own solution cells, stubs are made as nbgrader makes them
  (every ``### BEGIN SOLUTION … ### END SOLUTION`` region becomes ``raise NotImplementedError()``);
- ``WRONG``: ``Wrong(check, answer, hint)`` rows, a typical wrong answer (a small function replacing
  the graded one, or ``{function name: function}``) and the regex its failure message must match;
- ``RIGHT``: ``Right(check, answer)`` rows, other correct answers that must pass (public and hidden),

and calls ``globals().update(make_tests(WEEK, WRONG, RIGHT))``. The generated tests: the reference
passes (public and hidden, and from other random numbers: :func:`starting_elsewhere`); each released stub fails with "not answered yet"; each wrong answer
fails with its hint (and, where marked, passes the public cases: the hidden ones catch it); each
right variant passes; every check of the module is in the table, has a wrong answer, and is called
by a notebook's graded cell, publicly and inside the hidden-tests block.
"""
from __future__ import annotations

import functools
import inspect
import linecache
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Wrong:
    check: str
    answer: Callable | dict
    hint: str
    hidden: bool = False
    public_passes: bool = False  # caught only by the hidden cases: the public ones must accept it

    def __str__(self) -> str:  # a readable test id
        return f"{self.check}-{getattr(self.answer, '__name__', 'answer')}"


@dataclass(frozen=True)
class Right:
    check: str
    answer: Callable | dict
    why: str = ""


@dataclass
class Week:
    folder: str
    module: object
    checks: dict
    base: dict = field(default_factory=dict)
    pattern: str = "[0-9][0-9]_*.ipynb"
    alias: str = "checks"  # the name the notebooks import the checks module as (``from helpers.checks import week3 as checks``)
    own_generator: tuple = ()  # checks whose lesson is not touching the global random state (skip the shifted run)

    def __post_init__(self):
        # the week's notebooks graded by this module (a week may have several checks modules)
        name = self.module.__name__.rsplit(".", 1)[-1]
        imports = re.compile(rf"from helpers\.checks import {name}" + (rf" as {self.alias}\b" if self.alias != name else r"\b(?! as)"))
        self.notebooks = [nb for nb in sorted((ROOT / self.folder).glob(self.pattern)) if imports.search(nb.read_text())]
        assert self.notebooks, f"no notebook matching {self.folder}/{self.pattern} imports {self.module.__name__} as {self.alias}"
        self.reference = {nb.name[:2]: namespace(nb, self.base) for nb in self.notebooks if solution_cells(nb)}
        self.release = {nb.name[:2]: namespace(nb, self.base, release=True) for nb in self.notebooks if solution_cells(nb)}

    def args(self, name, replace=None, release_of=None):
        """The functions ``name`` takes: the notebook's references, some replaced (a dict, or one
        callable for the graded last one), or one of them as released (a stub)."""
        nb, fns = self.checks[name]
        if replace is not None and not isinstance(replace, dict):
            replace = {fns[-1]: replace}
        replace = dict(replace or {})
        if release_of is not None:
            replace[release_of] = self.release[nb][release_of]
        return [replace.get(f, self.reference[nb][f]) for f in fns]

    def run(self, name, replace=None, hidden=False, release_of=None):
        getattr(self.module, name)(*self.args(name, replace, release_of), hidden=hidden)

    def defined_checks(self) -> set:
        mod = self.module
        return {n for n, o in vars(mod).items()
                if n.startswith("check_") and inspect.isfunction(o) and o.__module__ == mod.__name__}


def starting_elsewhere(answer, draws: int):
    """The answer as a student's code that draws other random numbers first (builds its layers in another order,
    or is judged from outside the kernel, where the grader's random state moves on by its own draws): a function
    that draws from torch's and NumPy's global generators before it runs, a module class that does so in
    ``__init__``. Anything else unchanged."""
    def shift():
        torch.rand(draws)
        np.random.rand(draws)

    if isinstance(answer, types.FunctionType):
        @functools.wraps(answer)
        def shifted(*args, **kwargs):
            shift()
            return answer(*args, **kwargs)
        return shifted
    if isinstance(answer, type) and issubclass(answer, torch.nn.Module):
        init = answer.__init__

        def __init__(self, *args, **kwargs):
            shift()
            init(self, *args, **kwargs)
        return type(answer.__name__, (answer,), {"__init__": __init__, "__module__": answer.__module__,
                                                 "__qualname__": answer.__qualname__})
    return answer


def solution_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def graded_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def release_source(source: str) -> str:
    """A solution cell as nbgrader releases it: each solution region becomes the stub."""
    return SOLUTION.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()", source)


def namespace(path, base, release=False) -> dict:
    """Execute a notebook's solution cells (or their released stubs) in a fresh namespace."""
    ns = dict(base)
    for cell in solution_cells(path):
        src = release_source(cell.source) if release else cell.source
        filename = f"{path.name}:{cell.metadata.nbgrader.grade_id}"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)  # as IPython does: the
        exec(compile(src, filename, "exec"), ns)                                     # checks can read the source
    return ns


def make_tests(week: Week, wrong: list, right: list = ()) -> dict:
    names = sorted(week.checks)
    stubs = [(n, f) for n in names for f in week.checks[n][1]]

    @pytest.mark.parametrize("name", names)
    @pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
    def test_reference_solution_passes(name, hidden):
        week.run(name, hidden=hidden)

    @pytest.mark.parametrize("name", [n for n in names if n not in week.own_generator])
    def test_reference_passes_from_other_random_numbers(name):
        """A verdict must not lean on the random numbers the answer starts from (initial weights, its own draws)."""
        nb, fns = week.checks[name]
        week.run(name, {f: starting_elsewhere(week.reference[nb][f], 17) for f in fns}, hidden=True)

    @pytest.mark.parametrize("name, fn", stubs, ids=[f"{n}-{f}" for n, f in stubs])
    def test_released_stub_fails(name, fn):
        with pytest.raises(AssertionError, match="not answered yet"):
            week.run(name, release_of=fn)

    @pytest.mark.parametrize("row", wrong, ids=[f"{w}-{i}" for i, w in enumerate(wrong)])
    def test_typical_wrong_answer_fails_with_hint(row):
        if row.public_passes:
            week.run(row.check, row.answer)
        with pytest.raises(AssertionError, match=row.hint):
            week.run(row.check, row.answer, hidden=row.hidden or row.public_passes)

    @pytest.mark.parametrize("row", list(right) or [None], ids=[f"{r.check}-{i}" for i, r in enumerate(right)] or ["none"])
    @pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
    def test_other_right_answers_pass(row, hidden):
        if row is not None:
            week.run(row.check, row.answer, hidden=hidden)

    def test_every_check_is_in_the_table():   # __all__ may also export a helper a notebook uses (week4_training.torch_lrs)
        exported = [n for n in week.module.__all__ if n.startswith("check_")]
        assert sorted(week.checks) == sorted(exported) == sorted(week.defined_checks())

    def test_every_check_has_a_wrong_answer():
        assert {w.check for w in wrong} == set(week.checks)
        assert {r.check for r in right} <= set(week.checks)

    def test_every_check_is_used_by_a_notebook():
        used = set()
        for path in week.notebooks:
            for cell in graded_cells(path):
                src = cell.source
                public = src.split("### BEGIN HIDDEN TESTS")[0]
                hidden = src.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0] \
                    if "### BEGIN HIDDEN TESTS" in src else ""
                for name in re.findall(rf"\b{week.alias}\.(check_\w+)\(", public):
                    assert re.search(rf"\b{week.alias}\.{name}\([^\n]*hidden=True", hidden), \
                        f"{path.name}: {name} must also run its hidden cases inside the hidden-tests block"
                    used.add(name)
        assert used == set(week.checks)

    return {k: v for k, v in locals().items() if k.startswith("test_")}
