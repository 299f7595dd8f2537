"""A warm nbgrader for one grading job slot: ``python -m helpers.grading.worker`` (trusted).

Importing nbgrader costs about five seconds of CPU (nbformat's schema validator compiles an
RFC 3987 grammar), more than grading a small notebook. The grader therefore starts one worker
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
PRELOAD = ("nbgrader.apps.autogradeapp", "nbgrader.converters.autograde", "helpers.grading.execute",
           "helpers.grading.remote", "numpy", "torch")


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
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


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
