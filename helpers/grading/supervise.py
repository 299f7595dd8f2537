"""Run one student's autograde in a fresh, limited process that nothing it starts outlives.

:func:`start` forks the worker from a *fork server* that imported nbgrader once (so a
student's autograde costs no 2-second import), then in the child:

* a new session, resource limits (address space, CPU seconds, file size, no core dumps),
  the sandbox environment, the private course root as working directory, output to a log;
* it becomes a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``) and runs
  ``nbgrader autograde`` in a grandchild; any process started below -- the kernel, whatever
  student code forks or daemonizes with ``setsid`` -- is re-parented to it rather than to init;
* when the autograde ends or the wall-clock limit passes, every remaining descendant (and,
  with a sandbox uid, every process of that uid) is killed and reaped.

Exit status of the child: nbgrader's, or 124 when the wall-clock limit stopped it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
PRELOAD = ["nbgrader.apps.autogradeapp", "nbgrader.converters.autograde", "nbclient", "nbconvert",
           "jupyter_client", "helpers.grading.execute"]
TIMED_OUT = 124


def descendants(root: int) -> list[int]:
    """Pids below ``root`` in the process tree (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def reap_all(uid: int | None) -> None:
    """Kill and reap every descendant (and every process of ``uid``) until none is left."""
    from .execute import kill_user

    for _ in range(200):
        pids = descendants(os.getpid())
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if uid is not None:
            kill_user(uid)
        while True:  # reap whatever has died, re-parented orphans included
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not pids:
            return
        time.sleep(0.02)


def _limit(memory: int, cpu: int, file_size: int) -> None:
    def cap(kind, value):
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_AS, memory)
    cap(resource.RLIMIT_CPU, cpu)
    cap(resource.RLIMIT_FSIZE, file_size)
    cap(resource.RLIMIT_CORE, 0)


def _child(argv: list[str], cwd: str, env: dict, log: str, timeout: float, uid: int | None,
           memory: int, file_size: int) -> None:
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    _limit(memory, int(timeout) + 30, file_size)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    worker = os.fork()
    if worker == 0:
        code = 1
        try:
            from nbgrader.apps.autogradeapp import AutogradeApp

            app = AutogradeApp.instance()
            app.initialize(argv)
            app.start()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: BLE001 - report and fail
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        pid, raw = os.waitpid(worker, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(raw)
            break
        time.sleep(0.05)
    if status is None:
        print(f"[grading] wall-clock limit of {timeout:.0f}s reached: stopping", flush=True)
        os.kill(worker, signal.SIGKILL)
        status = TIMED_OUT
    reap_all(uid)
    os._exit(status if status >= 0 else 1)


_context = None


def _server():
    """The fork server (started once per grader process, nbgrader preloaded)."""
    global _context
    if _context is None:
        from multiprocessing import forkserver

        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
        forkserver.ensure_running()
    return _context


_start_lock = threading.Lock()


def _start(process) -> None:
    """``process.start()`` without the child re-importing the caller's main script (``__mp_main__``).

    The children need nothing from it, and a script without an ``if __name__ == "__main__"``
    guard would run again in every child.
    """
    with _start_lock:
        main = sys.modules.get("__main__")
        saved = {k: main.__dict__.pop(k) for k in ("__file__",) if main is not None and k in main.__dict__}
        spec = getattr(main, "__spec__", None)
        if main is not None:
            main.__spec__ = None
        try:
            process.start()
        finally:
            if main is not None:
                main.__dict__.update(saved)
                main.__spec__ = spec


def run(argv: list[str], cwd, env: dict, log, timeout: float, uid: int | None, memory: int, file_size: int) -> int:
    """Autograde with ``argv`` (nbgrader's, without the program name); return its exit status."""
    process = _server().Process(target=_child, args=(argv, str(cwd), env, str(log), timeout, uid, memory, file_size),
                                daemon=False)
    _start(process)
    process.join(timeout + 60)
    if process.is_alive():  # the supervisor itself is stuck: stop it; the uid sweep catches the rest
        process.kill()
        process.join()
    if uid is not None:
        from .execute import kill_user

        kill_user(uid)
    code = process.exitcode
    return TIMED_OUT if code == TIMED_OUT else (code if code is not None else 1)
