"""pytest plugin (``-p tests.exact_nbval``): nbval compares every output exactly.

nbval re-executes each notebook and compares each code cell's outputs with the committed ones.
The committed outputs were recorded in the reproducible CPU mode (``helpers/config.py``,
``helpers/reproducible.env``), where every CPU measured prints the same bytes (the AMD EPYC they are
recorded on, an emulated Intel CPU: ``benchmarks/results/reproducibility.md``), so this
plugin compares text, numbers, tables and figures (PNG bytes) exactly, after sanitising only what
is not a result (``helpers/outputs.py``: addresses, paths, torch's build suffix). Cells tagged
``timing`` have their durations masked (and their figures of timings skipped); cells tagged
``machine`` depend on what the machine has cached and are skipped. The summary says which kernels
ran: this CPU's own, or AVX2 at most where ``ONEDNN_MAX_CPU_ISA`` / ``MKL_ENABLE_INSTRUCTIONS`` say
so (``.ci/run`` sets them: CI compares the outputs recorded natively on another CPU's kernels).

The mode's environment is set here for the kernels nbval starts (they inherit it), so a plain
``pytest --nbval`` gets it too; ``DIC_FAST`` is ignored. Where the mode cannot hold (ARM, macOS,
a CPU without AVX2) every notebook still runs and must not raise, and one line says that outputs
were not compared and why.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from helpers import config as dic_config, outputs

_counts: Counter = Counter()
_state: dict = {}


def pytest_configure(config):
    if not config.option.nbval:
        return
    _state["unavailable"] = dic_config.mode_unavailable()
    _state["fast"] = dic_config.fast()
    if _state["unavailable"] is None:
        os.environ.update(dic_config.reproducible_env())
    os.environ.pop("DIC_FAST", None)
    from nbval.plugin import IPyNbCell

    if getattr(IPyNbCell, "_exact", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        meta = self.cell.get("metadata", {})
        kind = ("not compared" if _state["unavailable"] else "machine-dependent, skipped" if outputs.MACHINE_TAG in
                meta.get("tags", []) else "timings masked" if outputs.TIMING_TAG in meta.get("tags", []) else "exact")
        self.user_properties.append(("nbval_compare", kind))
        if _state["unavailable"]:
            return True
        committed, new = {"cell_type": "code", "metadata": meta, "outputs": ref}, \
                         {"cell_type": "code", "metadata": meta, "outputs": test}
        problems = outputs.differences({"cells": [committed]}, {"cells": [new]})
        if problems:
            self.comparison_traceback = [
                "outputs differ from the committed ones (compared exactly: the reproducible CPU mode prints the "
                "same bytes on every CPU measured, benchmarks/results/reproducibility.md; "
                "a changed result needs `make refresh`):",
                *[p.replace("code cell 0 ", "") for p in problems]]
            return False
        return True

    IPyNbCell.compare_outputs, IPyNbCell._exact = compare_outputs, True


def kernels() -> str:
    """Which kernels the notebooks ran on: this CPU's own, or AVX2 at most (another CPU emulated, as CI does)."""
    held = {name: os.environ[name] for name in dic_config.AVX2_ONLY if os.environ.get(name, "").upper() == "AVX2"}
    if held:
        return ("AVX2 at most, a CPU without AVX-512 emulated on this one ("
                + ", ".join(f"{k}={v}" for k, v in held.items()) + ")")
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    return "this CPU's own" + (" (AVX-512)" if " avx512f" in flags else " (AVX2)" if " avx2" in flags else "")


def pytest_runtest_logreport(report):
    if report.when == "call":
        for key, value in report.user_properties:
            if key == "nbval_compare":
                _counts[value] += 1


def pytest_terminal_summary(terminalreporter):
    if not _counts:
        return
    terminalreporter.section("nbval comparisons (code cells)")
    total = sum(_counts.values())
    terminalreporter.write_line(f"{total} cells: " + ", ".join(f"{n} {kind}" for kind, n in sorted(_counts.items())))
    if _state.get("unavailable"):
        terminalreporter.write_line(f"outputs were NOT compared: {_state['unavailable']}; every notebook ran "
                                    "without an error")
    else:
        terminalreporter.write_line(f"kernels: {kernels()}")
    if _state.get("fast"):
        terminalreporter.write_line("DIC_FAST was set: ignored here, the notebooks ran in the reproducible CPU mode")
