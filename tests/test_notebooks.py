"""Static checks of the committed notebooks (nbval, in `make test`, re-executes them).

Every notebook under week*/ is an nbgrader source notebook committed with the outputs of
a quick-profile run.
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest

from helpers import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = course.notebooks(ROOT)
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


@pytest.fixture(params=NOTEBOOKS, ids=IDS)
def nb(request):
    return nbformat.read(request.param, as_version=4)


def test_there_are_notebooks():
    assert any(p.name == "00_getting_started.ipynb" for p in NOTEBOOKS)


def test_valid_and_uses_the_course_kernel(nb):
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"


def test_committed_with_outputs_and_no_errors(nb):
    for i, cell in enumerate(code_cells(nb)):
        assert cell.execution_count is not None, f"code cell {i} was never executed: run `make refresh`"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"code cell {i} is committed with an error: {errors[0].get('ename')}"
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == sorted(counts), "cells were executed out of order: re-run the whole notebook"


def test_starts_with_setup_and_reports_metrics(nb):
    sources = [c.source for c in code_cells(nb)]
    assert any("config.setup(" in s for s in sources[:3]), "the first cells must call config.setup()"
    assert any("config.report(" in s for s in sources), "call config.report(...) with the key metric(s)"


def test_no_trailing_semicolon_to_hide_values(nb):
    """nbval executes cells without history, so IPython ignores a trailing ';' there."""
    for i, cell in enumerate(code_cells(nb)):
        tree = ast.parse("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
        if tree.body and isinstance(tree.body[-1], ast.Expr) and cell.source.rstrip().endswith(";"):
            pytest.fail(f"code cell {i} ends with `...;`: assign the value instead (`fig = ...`)")


def test_nbgrader_metadata(nb):
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        ids.append(meta["grade_id"])
        assert meta.get("schema_version") == 3
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, meta["grade_id"]
        if meta.get("grade") and cell.cell_type == "code":
            assert meta.get("locked") and meta.get("points", 0) > 0, f"{meta['grade_id']}: graded cells are locked, with points"
            assert "### BEGIN SOLUTION" not in cell.source
    assert len(ids) == len(set(ids)), f"duplicate grade_id: {sorted(i for i in ids if ids.count(i) > 1)}"


def test_hidden_tests_are_marked_in_pairs(nb):
    for cell in nb.cells:
        begins = len(re.findall(r"### BEGIN HIDDEN TESTS", cell.source))
        ends = len(re.findall(r"### END HIDDEN TESTS", cell.source))
        assert begins == ends, f"unbalanced hidden-test markers in {cell.metadata.get('nbgrader', {}).get('grade_id')}"


def test_reports_its_metrics_in_the_reproducible_mode(nb):
    """Committed from a quick-profile run in the reproducible CPU mode, with a [metrics] line."""
    from helpers.metrics import parse_lines

    stream = lambda c: "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
    assert parse_lines("\n".join(stream(c) for c in code_cells(nb))), "no [metrics] line: run `make refresh`"
    first = next(stream(c) for c in code_cells(nb) if "config.setup(" in c.source)
    assert "| reproducible CPU mode" in first, "recorded outside the reproducible CPU mode: run `make refresh`"


def test_timing_cells_are_few():
    """Outputs that cannot repeat stay under 5 % of the course's outputs (the reproducibility issue's bound)."""
    from helpers import outputs

    census = {"exact": 0, "timing": 0, "machine": 0}
    for path in NOTEBOOKS:
        for kind, n in outputs.census(nbformat.read(path, as_version=4)).items():
            census[kind] += n
    assert (census["timing"] + census["machine"]) / sum(census.values()) < 0.05, census


def test_a_timing_tag_masks_something(nb):
    """A `timing` tag is no blanket: the cell's committed outputs must hold a duration (or a figure of them)."""
    from helpers import outputs

    for i, cell in enumerate(code_cells(nb)):
        if outputs.is_timing(cell):
            untagged = {**cell, "metadata": {}}
            assert outputs.comparable(cell) != outputs.comparable(untagged), \
                f"code cell {i} is tagged `timing` but prints no duration: remove the tag"
