"""pytest plugin (``-p tests.nbval_timing``): seconds per notebook under nbval, printed at the end."""
from collections import defaultdict

_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    if ".ipynb::" in report.nodeid:
        _seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    tr = terminalreporter
    tr.section("seconds per notebook (nbval, quick profile)")
    for notebook, secs in sorted(_seconds.items()):
        tr.write_line(f"{secs:7.1f}s  {notebook}")
    tr.write_line(f"{sum(_seconds.values()):7.1f}s  in all ({len(_seconds)} notebooks)")
