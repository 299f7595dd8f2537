"""Kernel launcher for sandboxed grading: ``python -m helpers.grading.kernel [options] -- IPKERNEL ARGS``.

The grader's kernel spec starts this instead of ``ipykernel_launcher``. Running as root (it is
started by the root-run nbgrader process), it

1. optionally enters a private mount namespace: empty read-only tmpfs over the paths the
   grader names with ``--hide`` (the course's source notebooks with their hidden tests, the
   repository's ``.git`` and ``tests``, the main course root, the submissions), a private
   /tmp holding only this student's sandbox folder (``--keep``); and a private network
   namespace without any interface but a downed loopback (``--isolate-net``);
2. gives the connection file to the sandbox user, sets per-user limits (process count) and
   drops to that user (``--uid``/``--gid``) with no supplementary groups and
   ``no_new_privs``, so the notebook cannot read the private gradebook, write the course
   files, signal other students' kernels or regain root;
3. preloads NumPy (and torch with ``--preload torch``) and records the integrity snapshot
   (``helpers.grading.guard``) before any notebook code runs;
4. starts an IPython kernel that never puts the working directory on ``sys.path``.

Without ``--uid`` (grader not running as root) steps 1-2 are skipped: see MENTORS.md.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib
import os
import resource
import sys

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
PR_SET_NO_NEW_PRIVS = 38


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _blocker(path: str) -> str | None:
    """The highest ancestor of ``path`` that other users cannot traverse (e.g. /root, mode 700)."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    for i in range(1, len(parts)):
        ancestor = os.sep + os.path.join(*parts[:i])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _cover(libc, point: str, keep: list[tuple[str, bool]], writable: bool) -> None:
    """Mount a fresh tmpfs on ``point`` that holds only bind mounts of ``keep`` ((path, read_only) pairs)."""
    sealed = MS_NOSUID | MS_NODEV
    handles = [(path, read_only, os.open(path, os.O_PATH)) for path, read_only in keep]
    options = "size=256m,mode=1777" if writable else "size=64k,mode=0755"
    _mount(libc, "tmpfs", point, "tmpfs", sealed, options)
    for path, read_only, fd in handles:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            open(path, "a").close()
        _mount(libc, f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        if read_only:
            _mount(libc, "none", path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | sealed)
        os.close(fd)
    if not writable:
        _mount(libc, "none", point, None, MS_REMOUNT | MS_RDONLY | sealed, options)


def enter_mount_namespace(hide: list[str], expose: list[str], keep: list[str] = ()) -> None:
    """A private mount namespace: ``hide`` paths empty, ``expose`` paths reachable, a private /tmp.

    * /tmp and /var/tmp become fresh writable tmpfs (256 MB) holding only bind mounts of
      ``keep`` (this student's sandbox folder) and of the exposed paths below them, so nothing
      of other students or other users under /tmp is visible; /dev/shm is private too.
    * Exposed: when a path (say the Python installation under /root/.pyenv) sits below a
      directory other users cannot enter (/root, mode 700), that directory is covered by a
      read-only tmpfs holding nothing but read-only bind mounts of the exposed paths.
    * Hidden: an empty read-only tmpfs is mounted over each directory.
    """
    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    # never let the mounts below propagate back to the host's namespace
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    expose = [os.path.abspath(p) for p in expose if os.path.exists(p)]
    keep = [os.path.abspath(p) for p in keep if os.path.exists(p)]
    for point in ("/tmp", "/var/tmp"):
        if os.path.isdir(point) and not os.path.islink(point):
            below = [(p, False) for p in keep if _under(p, point)] + [(p, True) for p in expose if _under(p, point)]
            _cover(libc, point, below, writable=True)
    if os.path.isdir("/dev/shm"):
        _mount(libc, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
    groups: dict[str, list[tuple[str, bool]]] = {}
    for path in expose:
        if blocker := _blocker(path):
            groups.setdefault(blocker, []).append((path, True))
    for blocker, targets in groups.items():
        _cover(libc, blocker, targets, writable=False)
    for path in hide:
        if os.path.isdir(path) and not os.path.islink(path):
            _mount(libc, "tmpfs", path, "tmpfs", MS_RDONLY | MS_NOEXEC | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")


def private_locks(data_root: str, folder: str, uid: int) -> None:
    """Give this kernel its own copies of the dataset lock files (``<data>/.<name>.lock``).

    ``helpers.data`` takes an exclusive ``flock`` on them even to read a provisioned dataset;
    the shared files are root's, and sharing them would let one student hold a lock forever
    and stall everyone else. A private empty file is bind-mounted over each.
    """
    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for name in sorted(os.listdir(data_root)) if os.path.isdir(data_root) else []:
        shared = os.path.join(data_root, name)
        if name.startswith(".") and name.endswith(".lock") and os.path.isfile(shared) and not os.path.islink(shared):
            own = os.path.join(folder, name)
            open(own, "a").close()
            if uid >= 0:
                os.chown(own, uid, uid)
            _mount(libc, own, shared, None, MS_BIND)
    if uid >= 0:
        os.chown(folder, uid, uid)


def drop_privileges(uid: int, gid: int, connection_file: str | None, nproc: int) -> None:
    if connection_file:
        os.chown(connection_file, uid, gid)
    if nproc > 0:  # counted per user: also bounds fork bombs and thread explosions
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    libc = _libc()
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:  # pragma: no cover - would mean the drop did not happen
        raise SystemExit("helpers.grading.kernel: could not drop root privileges")


def _connection_file(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--f=") or arg.startswith("--IPKernelApp.connection_file="):
            return arg.split("=", 1)[1]
    return None


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m helpers.grading.kernel")
    parser.add_argument("--uid", type=int, default=-1)
    parser.add_argument("--gid", type=int, default=-1)
    parser.add_argument("--nproc", type=int, default=0, help="RLIMIT_NPROC for the sandbox user")
    parser.add_argument("--hide", action="append", default=[], help="directory to hide (needs root)")
    parser.add_argument("--expose", action="append", default=[], help="path the sandbox user must reach (needs root)")
    parser.add_argument("--keep", action="append", default=[], help="writable path kept in the private /tmp")
    parser.add_argument("--isolate-net", action="store_true", help="private network namespace (ipc transport only)")
    parser.add_argument("--private-locks", action="store_true", help="own copies of $DIC_DATA/.*.lock (needs --hide/--expose)")
    parser.add_argument("--probe", action="store_true", help="enter the sandbox, try the imports, print a report, exit")
    parser.add_argument("--preload", action="append", default=[], help="module to import before the snapshot")
    args = parser.parse_args(own)

    # the working directory holds student files: never import from it
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    if args.hide or args.expose or args.keep:
        enter_mount_namespace(args.hide, args.expose, args.keep)
    if args.private_locks and os.environ.get("DIC_DATA"):
        private_locks(os.environ["DIC_DATA"], os.path.join(os.environ.get("HOME", "/tmp"), ".data-locks"), args.uid)
    if args.isolate_net:  # no network at all; the kernel talks to nbgrader over Unix sockets
        _check(_libc().unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    if args.uid >= 0:
        drop_privileges(args.uid, args.gid if args.gid >= 0 else args.uid, _connection_file(rest), args.nproc)
    if args.probe:
        return probe(args.preload, args.hide)

    from . import guard

    for name in ["numpy", *args.preload]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(rest + ["--IPKernelApp.ignore_cwd=True", "--HistoryManager.hist_file=:memory:"])
    guard.snapshot(app.shell, app.kernel)
    app.start()


def probe(preload: list[str], hidden: list[str]) -> None:
    """Report, as JSON on stdout, what the sandbox user can do; the grader decides from it."""
    import json

    report = {"uid": os.getuid(), "imports": {}, "hidden": {}}
    for name in ["json", "numpy", "helpers.checks", "ipykernel.kernelapp", *preload]:
        try:
            importlib.import_module(name)
            report["imports"][name] = "ok"
        except Exception as err:  # noqa: BLE001 - reported, not raised
            report["imports"][name] = f"{type(err).__name__}: {err}"
    locks = []
    data = os.environ.get("DIC_DATA", "")
    for name in sorted(os.listdir(data)) if os.path.isdir(data) else []:
        if name.startswith(".") and name.endswith(".lock"):
            try:
                with open(os.path.join(data, name), "w"):
                    pass
            except OSError as err:
                locks.append(f"{name}: {err.strerror}")
    report["locks"] = locks
    try:
        from helpers.data import data_root

        root = data_root()
        entries = sorted(os.listdir(root)) if root.is_dir() else []
        unreadable = [e for e in entries if not e.startswith(".") and not os.access(root / e, os.R_OK | os.X_OK)]
        report["data"] = {"root": str(root), "unreadable": unreadable}
    except Exception as err:  # noqa: BLE001
        report["data"] = {"error": f"{type(err).__name__}: {err}"}
    for path in hidden:
        try:
            report["hidden"][path] = "empty" if not os.listdir(path) else "visible"
        except OSError as err:
            report["hidden"][path] = f"denied ({err.strerror})"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
