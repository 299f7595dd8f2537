"""Kernel launcher for grading: ``python helpers/grading/launch.py CONFIG CONNECTION_FILE [OPTIONS]``.

The per-student kernel spec written by :mod:`helpers.grading.sandbox` starts this. It runs as the
grader (trusted), reads the sandbox description the grader wrote (CONFIG, JSON), and replaces
itself with bubblewrap running the IPython kernel:

* read-only root; tmpfs over every path the grader hides (the repository, the course roots,
  the submissions, the grading work folder, the mentor's home), with the installs the kernel
  needs (Python, the venv, ``helpers``, the datasets) bound back read-only;
* fresh tmpfs on ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run/lock``; the notebook's own folder
  and the socket folder writable, every notebook already in that folder (an earlier notebook's
  graded copy, hidden tests restored) covered by an empty file nobody may read;
* no network, own IPC, PID and UTS namespaces (``--unshare-all`` for a non-root mentor, whose
  uid is mapped into a user namespace), ``--die-with-parent``, ``--new-session``; limits set with
  ``prlimit``: address space, CPU seconds, file size, processes, no core dumps;
* as root, bubblewrap keeps the init user namespace and the kernel becomes this job's own
  unprivileged uid (``setpriv --no-new-privs``: every capability gone), which is given the
  connection file and the two writable folders;
* on x86-64, a seccomp filter refuses the kernel keyring's system calls (``add_key``,
  ``request_key``, ``keyctl``: EPERM): keyrings belong to a uid, not to a namespace, and uids are
  reused from one student to the next, so a key one student's kernel stored was readable by a later one.
"""
from __future__ import annotations

import json
import os
import platform
import struct
import sys

# classic BPF for seccomp: x86-64 only (a foreign or x32 system call is refused), and add_key (248),
# request_key (249), keyctl (250) answered with EPERM; everything else allowed
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _EPERM, _X86_64 = 0x7FFF0000, 0x00050001, 0xC000003E
KEYRING_FILTER = b"".join(struct.pack("=HBBI", *ins) for ins in (
    (_LD, 0, 0, 4),             # 0: the architecture
    (_JEQ, 1, 0, _X86_64),      # 1: x86-64 -> 3
    (_RET, 0, 0, _EPERM),       # 2: anything else: refused
    (_LD, 0, 0, 0),             # 3: the system call's number
    (_JGE, 4, 0, 0x40000000),   # 4: x32 ABI -> 9
    (_JEQ, 3, 0, 248),          # 5: add_key -> 9
    (_JEQ, 2, 0, 249),          # 6: request_key -> 9
    (_JEQ, 1, 0, 250),          # 7: keyctl -> 9
    (_RET, 0, 0, _ALLOW),       # 8
    (_RET, 0, 0, _EPERM),       # 9
))


def keyring_filter_fd() -> int | None:
    """An inheritable pipe holding :data:`KEYRING_FILTER` for ``bwrap --seccomp FD``; None off x86-64."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    read, write = os.pipe()
    os.write(write, KEYRING_FILTER)
    os.close(write)
    os.set_inheritable(read, True)
    return read


def bwrap_argv(config: dict, cwd: str, connection_file: str, extra: list[str] = ()) -> list[str]:
    uid = config.get("uid")
    # as root: every namespace but the user one, so that the kernel can become a real unprivileged uid
    # (setpriv below); as anyone else: all of them, the mentor's uid mapped into a user namespace
    unshare = ["--unshare-all"] if uid is None else ["--unshare-ipc", "--unshare-pid", "--unshare-net",
                                                      "--unshare-uts", "--unshare-cgroup-try"]
    argv = [config["bwrap"], *unshare, "--die-with-parent", "--new-session",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if config.get("seccomp_fd") is not None:
        argv += ["--seccomp", str(config["seccomp_fd"])]
    tmpfs = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", *config["hide"]]
    for path in tmpfs:
        if os.path.isdir(path) and not os.path.islink(path):
            argv += ["--size", str(config["tmpfs_bytes"]), "--tmpfs", path]
    binds = [("--ro-bind", p, p) for p in config["expose"] if os.path.exists(p)]
    binds += [("--bind", p, p) for p in config["writable"] if os.path.isdir(p)]
    binds += [("--bind", cwd, cwd)]
    if config.get("helpers"):       # the mentee edition of helpers where the kernel imports helpers from
        binds += [("--ro-bind", *config["helpers"])]
    # the folders bubblewrap creates on a tmpfs to mount onto are 0700: open the way to each bind
    covered = [p for p in tmpfs if os.path.isdir(p) and not os.path.islink(p)]
    parents = set()
    for *_, path in binds:
        parent = os.path.dirname(path)
        while parent not in ("/", "") and parent not in covered:
            if any(parent.startswith(c.rstrip("/") + "/") for c in covered):
                parents.add(parent)
            parent = os.path.dirname(parent)
    for parent in sorted(parents, key=lambda p: (p.count("/"), p)):
        argv += ["--perms", "0755", "--dir", parent]
    for flag, source, path in sorted(set(binds), key=lambda b: (b[2].count("/"), b[2])):
        argv += [flag, source, path]
    for private, shared in config.get("locks", []):
        if os.path.isfile(private) and os.path.isfile(shared):
            argv += ["--bind", private, shared]
    for name in sorted(os.listdir(cwd)):
        path = os.path.join(cwd, name)
        if name.endswith(".ipynb") and os.path.isfile(path) and not os.path.islink(path):
            argv += ["--ro-bind", config["blank"], path]
    home = "/tmp/home"
    argv += ["--unsetenv", "JPY_PARENT_PID",  # pid 1 of its namespace is its parent: --die-with-parent instead
             "--perms", "0777", "--dir", home, "--setenv", "HOME", home, "--setenv", "TMPDIR", "/tmp",
             "--setenv", "IPYTHONDIR", f"{home}/.ipython", "--setenv", "MPLCONFIGDIR", f"{home}/.mpl",
             "--setenv", "JUPYTER_RUNTIME_DIR", f"{home}/runtime", "--chdir", cwd]
    limits = config["limits"]
    argv.append("--")
    if uid is not None:  # drops every capability with root: the kernel is an ordinary user from here on
        argv += [config["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    argv += [config["prlimit"], f"--as={limits['memory']}", f"--cpu={limits['cpu']}",
             f"--fsize={limits['file_size']}", "--core=0"]
    if config.get("uid") is not None:
        argv.append(f"--nproc={limits['nproc']}")
    argv += ["--", config["python"], "-m", "ipykernel_launcher", "-f", connection_file,
             "--IPKernelApp.ignore_cwd=True", "--HistoryManager.hist_file=:memory:",
             *[a for a in extra if a.startswith("--") and "=" in a]]
    return argv


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2:
        raise SystemExit("usage: python -m helpers.grading.launch CONFIG CONNECTION_FILE [--Kernel.option=value ...]")
    with open(argv[0]) as f:
        config = json.load(f)
    connection_file, cwd = os.path.abspath(argv[1]), os.getcwd()
    uid = config.get("uid")
    if uid is not None:  # the kernel's own uid may read its connection file and write its folders
        os.chown(connection_file, uid, uid)
        for folder in [*config["writable"], cwd]:
            os.chown(folder, uid, uid)
        for private, _ in config.get("locks", []):
            os.chown(private, uid, uid)
    config["seccomp_fd"] = keyring_filter_fd()
    command = bwrap_argv(config, cwd, connection_file, argv[2:])
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
