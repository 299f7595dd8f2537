"""pytest plugin (``-p tests.time_table``): where ``make test``'s time went.

At the end of the run it prints seconds per notebook (nbval, one kernel per notebook),
then per test module, summed over the xdist workers (setup + call + teardown), and the
wall time. The budget is in the README: ``make test`` <= 15 min on a 2-core machine.
"""
import time
from collections import defaultdict

_notebooks: dict[str, float] = defaultdict(float)
_modules: dict[str, float] = defaultdict(float)
_start = time.perf_counter()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    (_notebooks if path.endswith(".ipynb") else _modules)[path] += report.duration


def _table(tr, title, rows):
    tr.section(title)
    for name, secs in sorted(rows.items(), key=lambda kv: -kv[1]):
        tr.write_line(f"{secs:7.1f}s  {name}")
    tr.write_line(f"{sum(rows.values()):7.1f}s  in all ({len(rows)})")


def pytest_terminal_summary(terminalreporter):
    if _notebooks:
        _table(terminalreporter, "seconds per notebook (nbval, quick profile)", _notebooks)
    if _modules:
        _table(terminalreporter, "seconds per test module", _modules)
    if _notebooks or _modules:
        busy = sum(_notebooks.values()) + sum(_modules.values())
        terminalreporter.write_line(f"wall {time.perf_counter() - _start:.0f}s for {busy:.0f}s of test time")
