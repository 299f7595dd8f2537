"""pytest plugin (``-p tests.portable_nbval``): nbval compares what every machine prints alike.

nbval re-executes each notebook and compares every cell's outputs with the committed ones.
Floating-point results depend on the CPU's kernels (oneDNN, MKL, OpenBLAS choose code paths
by instruction set), so a notebook refreshed on one machine prints other last digits on the
next. This plugin changes what nbval compares, and nothing else:

1. The ``[metrics]`` line (``config.report``) is compared value by value, each within the
   tolerance printed with it on the ``[tolerances]`` line (helpers/metrics.py has the table).
   A failure names the notebook, the metric, both values and the tolerance.
2. Everything else is compared *exactly* after two masks: every decimal number (``0.8305``,
   ``-0.000``, ``5.6e-17``, ``tensor([1., 0.])``'s ``1.``) becomes ``<F>`` and runs of
   spaces become one (column widths follow the digits). Text, integers (shapes, counts,
   parameter numbers), dtypes, exceptions, table and figure structure stay exact.
   Numbers a notebook's prose relies on are asserted in its own cells, with tolerances.
3. A cell tagged ``numbers-vary`` (cell metadata tags: invisible in the notebook's text)
   prints integers that come out of training, such as the epoch with the lowest validation
   loss: there every number is masked, integers too, and the text around them stays exact.

Images are not compared (nbval's default). The summary counts how many cells were compared
exactly, with masked decimals, and by metrics, and lists the metrics that used at least half
of their tolerance: the ones another CPU may push over.
"""
from __future__ import annotations

import re
from collections import Counter

from helpers import metrics

VARY_TAG = "numbers-vary"
NEAR = 0.5   # the summary lists metrics that moved by at least this share of their tolerance
INTEGER = re.compile(r"(?<![\w.<])[-+]?\d[\d,]*(?![\w])")
DECIMAL = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE][-+]?\d))(?:[eE][-+]?\d+)?(?![\d.])"
                     r"|(?<![\w.])[-+]?(?:nan|inf)(?![\w.])")
SPACES = re.compile(r"[ \t]+")
_counts: Counter = Counter()
_spent: list = []   # (share of its tolerance a metric used, message), for the summary


def mask(text: str, integers: bool = False) -> str:
    """Decimals -> ``<F>`` (with ``integers``, whole numbers -> ``<N>`` too), runs of spaces -> one."""
    text = DECIMAL.sub("<F>", text)
    return SPACES.sub(" ", INTEGER.sub("<N>", text) if integers else text)


def _texts(outputs) -> list[str]:
    found = []
    for out in outputs:
        if "text" in out:
            found.append(out["text"] if isinstance(out["text"], str) else "".join(out["text"]))
        for mime, value in out.get("data", {}).items():
            if isinstance(value, str) and not mime.startswith("image/"):
                found.append(value)
    return found


def _metrics(outputs) -> tuple[dict, dict]:
    return metrics.parse_lines("\n".join(t for t in _texts(outputs) if "[metrics] " in t or "[tolerances] " in t))


def _kind(ref_outputs) -> str:
    texts = _texts(ref_outputs)
    if not texts:
        return "images only" if ref_outputs else "no output"
    if any("[metrics] " in t for t in texts):
        return "metrics"
    if any(DECIMAL.search(t) for t in texts):
        return "decimals masked"
    return "exact"


def pytest_configure(config):
    if not (config.option.nbval or getattr(config.option, "nbval_lax", False)):
        return
    from nbval.plugin import IPyNbCell

    if getattr(IPyNbCell, "_portable", False):
        return
    original_compare, original_sanitize = IPyNbCell.compare_outputs, IPyNbCell.sanitize

    def sanitize(self, s):
        s = original_sanitize(self, s)
        vary = VARY_TAG in self.cell.get("metadata", {}).get("tags", [])
        return mask(s, integers=vary) if isinstance(s, str) else s

    def compare_outputs(self, test, ref, skip_compare=None):
        kind = "numbers masked" if VARY_TAG in self.cell.get("metadata", {}).get("tags", []) else _kind(ref)
        self.user_properties.append(("nbval_compare", kind))
        if kind == "metrics":
            (old, _), (new, specs) = _metrics(ref), _metrics(test)
            where = self.fspath.relto(self.config.rootdir) or str(self.fspath)
            try:
                spent = []
                problems = metrics.compare(old, new, specs, where=f"{where} cell {self.cell_num}", spent=spent)
                self.user_properties.extend(("nbval_spent", item) for item in spent)
            except ValueError as err:
                problems = [str(err)]
            if problems:
                self.comparison_traceback = ["metrics moved beyond their tolerances:", *problems]
                return False
        return original_compare(self, test, ref, skip_compare)

    IPyNbCell.compare_outputs, IPyNbCell.sanitize, IPyNbCell._portable = compare_outputs, sanitize, True


def pytest_runtest_logreport(report):
    if report.when == "call":
        for key, value in report.user_properties:
            if key == "nbval_compare":
                _counts[value] += 1
            elif key == "nbval_spent":
                _spent.append(tuple(value))


def pytest_terminal_summary(terminalreporter):
    if _counts:
        total = sum(_counts.values())
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(_counts.items()))
        terminalreporter.section("nbval comparisons (code cells)")
        terminalreporter.write_line(f"{total} cells compared: {parts}")
    close = sorted((s for s in _spent if s[0] >= NEAR), reverse=True)
    if close:
        terminalreporter.section(f"metrics that used >= {NEAR:.0%} of their tolerance")
        for share, message in close[:20]:
            terminalreporter.write_line(f"{share:6.0%}  {message}")

