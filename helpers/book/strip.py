"""A source notebook made fit for the book: what a reader may see of the mentors' copy.

    for_book(nb, solutions=False)   a stripped copy (the notebook passed in is not changed)

Always removed (the solutions build too): hidden tests (``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN
TESTS``) and output lines that report them (ending "hidden cases too"). In the mentee book also:
solutions, replaced by the stub the release hands out (``# YOUR CODE HERE`` / ``raise
NotImplementedError()``; a written answer by ``YOUR ANSWER HERE``), the outputs of solution cells
(they came from the solution), and mark schemes (``=== BEGIN MARK SCHEME ===``). These are nbgrader's
own preprocessors, the ones ``nbgrader generate_assignment`` (``make release``) runs, so the book
shows exactly the stubs a mentee's notebook has. Every other output stays as the committed
quick-profile run left it: the book is not executed.
"""
from __future__ import annotations

import copy
import re

from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

# what a graded check prints once its hidden cases have passed ("... and 12 hidden cases too")
HIDDEN_REPORT = re.compile(r"hidden cases too\W*$")


def for_book(nb, solutions: bool = False):
    """A copy of ``nb`` for the book: hidden tests gone; without ``solutions``, the release's stubs too."""
    nb = copy.deepcopy(nb)
    resources = {}
    steps = [ClearHiddenTests()] if solutions else [ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()]
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if not solutions and _nbgrader(cell).get("solution"):
            cell.outputs = []
        cell.outputs = [out for out in map(_without_hidden_report, cell.outputs) if out is not None]
    nb.metadata.pop("widgets", None)   # no widget state: myst-nb would load the widget JS from a CDN
    return nb


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _without_hidden_report(out):
    """``out`` without the lines that report hidden cases; None when nothing else was in it."""
    if out.get("output_type") == "stream":
        text = _drop_lines(out.get("text", ""))
        if not text.strip():
            return None
        out["text"] = text
    elif "text/plain" in out.get("data", {}):
        text = _drop_lines(out["data"]["text/plain"])
        if not text.strip() and len(out["data"]) == 1:
            return None
        out["data"]["text/plain"] = text
    return out


def _drop_lines(text) -> str:
    text = "".join(text) if isinstance(text, list) else text
    return "".join(line for line in text.splitlines(keepends=True) if not HIDDEN_REPORT.search(line.rstrip()))
