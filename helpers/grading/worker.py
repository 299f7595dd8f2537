"""A warm nbgrader for one grading job slot: ``python -m helpers.grading.worker`` (trusted).

Importing nbgrader costs about a second of CPU (2.4 s with the grammars jsonschema would build:
helpers/grading/__init__.py leaves them out), as much as grading a small notebook. The grader therefore starts one worker
per job slot; each imports nbgrader, the trusted Execute step and the libraries the checks use
once, then, for each request (one JSON line on stdin: argv, cwd, env, log, timeout), forks a child
that runs ``nbgrader autograde`` in a session of its own with that environment. The worker waits
at most ``timeout`` seconds, then kills the child's process group (the kernels go with it:
bubblewrap's ``--die-with-parent``), and answers one JSON line: ``{"rc": exit status}`` (124 when
the wall-clock limit stopped it).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time

TIMED_OUT = 124
# and what the graded test cells import, judged in the grader (probe.trusted_namespace runs the notebooks' import lines
# there): each child would import them again otherwise, ~3 s per notebook (torchvision and pandas the most; nothing
# in them reads the environment at import)
PRELOAD = ("nbgrader.apps.autogradeapp", "nbgrader.converters.autograde", "helpers.grading.execute",
           "numpy", "torch", "torch.nn.functional", "torchvision", "torchvision.transforms", "pandas", "PIL.Image",
           "matplotlib.pyplot", "helpers.config", "helpers.data", "helpers.viz", "helpers.scratch", "helpers.models",
           "helpers.train", "helpers.steps", "helpers.loaders", "helpers.gans", "helpers.callbacks",
           *(f"helpers.checks.{m}" for m in ("week1", "week2", "week3", "week4", "week4_training", "week5_6", "papers",
                                             "gans", "hackathon")))


def _child(job: dict) -> None:
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)   # not the grader's pipe
    os.dup2(null, 0)
    os.close(null)
    fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(job["env"])
    tempfile.tempdir = None          # the job's TMPDIR, not the worker's
    os.chdir(job["cwd"])
    _cap_memory(int(job.get("memory") or 0))
    code = 1
    try:
        from nbgrader.apps.autogradeapp import AutogradeApp

        app = AutogradeApp.instance()
        app.initialize(job["argv"])
        app.start()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) and 0 <= exit_.code < 256 else 1
    except BaseException:  # noqa: BLE001 - report and fail
        import traceback

        traceback.print_exc()
    finally:
        peak = _status_kib("VmHWM")
        if peak:
            print(f"[grading] grader peak memory {peak >> 10} MiB", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB (0 where there is none)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cap_memory(allowance: int) -> None:
    """The grader's own memory for one student: what the warm worker already holds plus ``allowance`` bytes of
    data (a reply, the student's arrays the checks hold); beyond it an allocation fails with MemoryError, which
    fails that student's autograde, not the run."""
    if allowance <= 0:
        return
    import resource

    now = _status_kib("VmData") << 10
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = now + allowance
    resource.setrlimit(resource.RLIMIT_DATA, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def run(job: dict) -> int:
    pid = os.fork()
    if pid == 0:
        _child(job)
    deadline = time.monotonic() + float(job["timeout"])
    status = None
    while time.monotonic() < deadline:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw)
            break
        time.sleep(0.02)
    try:  # whatever the autograde left running in its session goes, finished or not
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if status is None:
        os.waitpid(pid, 0)
        with open(job["log"], "a") as log:
            log.write(f"\n[grading] wall-clock limit of {float(job['timeout']):.0f}s reached: stopped\n")
        return TIMED_OUT
    return status if status >= 0 else 128 - status


def main() -> None:
    import importlib

    os.environ["MPLBACKEND"] = "Agg"     # no display; each child gets its job's environment anyway
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps({"rc": run(json.loads(line))}), flush=True)


if __name__ == "__main__":
    main()
