"""pytest plugin (``-p tests.time_table``): where ``make test``'s time went.

At the end of the run it prints seconds per notebook (nbval, one kernel per notebook),
then per test module, summed over the xdist workers (setup + call + teardown), and the
wall time. The budget is in the README: ``make test`` <= 15 min on a 2-core machine.

It also orders the run, longest first: with ``--dist loadscope --no-loadscope-reorder`` (the Makefile's)
xdist hands out one file (a notebook, a test module) at a time in collection order, so a long notebook
collected last would run alone at the end. The seconds per file come from ``tests/durations.json``
(a past run's table; every run writes its own to ``build/test_durations.json``, copy it over when the
order drifts). Only whole files move: the order inside each file is kept (nbval's cells share a kernel).
"""
import json
import time
from collections import defaultdict
from pathlib import Path

DURATIONS = Path(__file__).with_name("durations.json")
MEASURED = Path(__file__).resolve().parents[1] / "build" / "test_durations.json"

_notebooks: dict[str, float] = defaultdict(float)
_modules: dict[str, float] = defaultdict(float)
_start = time.perf_counter()


def pytest_collection_modifyitems(session, config, items):
    try:
        known = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return
    items.sort(key=lambda item: -known.get(item.nodeid.split("::")[0], 0.0))   # stable: files stay whole


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
        try:
            MEASURED.parent.mkdir(exist_ok=True)
            MEASURED.write_text(json.dumps({k: round(v) for k, v in sorted({**_notebooks, **_modules}.items(),
                                                                           key=lambda kv: -kv[1])}, indent=0) + "\n")
        except OSError:
            pass
        busy = sum(_notebooks.values()) + sum(_modules.values())
        terminalreporter.write_line(f"wall {time.perf_counter() - _start:.0f}s for {busy:.0f}s of test time")
