"""One student's autograde: a private course root, nbgrader in its own process, kernels under bubblewrap.

For each student and week the grader builds a throw-away nbgrader course root holding only what
that autograde needs -- the student's (normalized) notebooks, the release's support files and a
copy of the gradebook without any other student -- and runs ``nbgrader autograde`` there as a
process of its own, in its own session, with a wall-clock limit after which its whole process
group is killed (and with it every kernel: bubblewrap's ``--die-with-parent``).

nbgrader runs in a child of a warm worker process (:mod:`helpers.grading.worker`), its data capped per student
(``Limits.grader_memory``). It is trusted: it runs the graded test cells in its own process, asking the kernel for
data (:mod:`helpers.grading.probe`). Only the student's kernel is untrusted, and it starts under
bubblewrap from the kernel spec (:mod:`helpers.grading.launch`): read-only root, private tmpfs
folders, nothing of the course, the other students or the mentor in view, no network, limits;
its ``helpers`` is the mentee edition (:func:`helpers.grading.bundle.mentee_helpers`). As root the kernel gets this job's own uid; as another mentor, a user namespace.

:func:`plan` checks once per grading run that bubblewrap is installed and works here; if it does
not, grading refuses and says how to fix it, unless ``--unsafe-no-sandbox`` was given.
"""
from __future__ import annotations

import compileall
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HELPERS = REPO / "helpers"
KERNEL_NAME = "dic-sandbox"
UID_BASE = 62000            # as root: each job slot's kernels run as a uid of their own from here (no account needed)
UID_COUNT = 1000
LEASES = Path("/run/lock/dic-grading-uids")
TIMED_OUT = 124
GiB = 1 << 30
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; `make grading-sandbox` "
                "does it as root) and allow user namespaces, or pass --unsafe-no-sandbox for trusted notebooks only")


class SandboxUnavailable(RuntimeError):
    pass


@dataclass
class Limits:
    cell_timeout: int = 120          # seconds per cell (the kernel is interrupted, then killed)
    timeout: int = 1800              # wall-clock seconds per student and week
    memory: int = 8 * GiB            # address space of the kernel
    cpu: int = 1800                  # CPU seconds per kernel (one notebook)
    file_size: int = 512 << 20       # largest file the kernel may write
    nproc: int = 256                 # processes + threads of the kernel's uid (root mentors)
    output: int = 1_000_000          # output bytes kept per cell
    tmpfs: int = 512 << 20           # each private tmpfs (/tmp, /dev/shm, ...)
    grader_memory: int = 2 * GiB     # data the grader's own process may add while judging one student


@dataclass
class Plan:
    """How kernels are isolated in this grading run."""

    sandboxed: bool
    root: bool = False
    bwrap: str = ""
    hide: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    helpers: str = ""                # the mentee edition of helpers, bound in place of the real one
    notes: list[str] = field(default_factory=list)

    @property
    def switch_user(self) -> bool:
        return self.sandboxed and self.root

    def describe(self) -> str:
        if not self.sandboxed:
            who = "kernels run unsandboxed as the grader's own user (--unsafe-no-sandbox)"
        else:
            user = "its own uid per job" if self.root else "the mentor's uid in a user namespace"
            who = f"kernels run under bubblewrap ({user}; read-only root, private /tmp, no network)"
        return who + ("; " + "; ".join(self.notes) if self.notes else "")


def _env(home: Path, runtime: Path | None = None) -> dict[str, str]:
    """The environment of nbgrader (and, through it, of the kernel): quick profile, one thread."""
    from helpers.data import MANIFEST, data_root

    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home), "TMPDIR": str(runtime or home), "MPLCONFIGDIR": str(home / ".mpl"),
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_RUNTIME_DIR": str(runtime or home / "runtime"),
        "JUPYTER_PATH": str(home / "jupyter"), "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter"), "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": str(REPO), "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "DIC_PROFILE": "quick", "DIC_QUIET": "1", "DIC_THREADS": "1", "DIC_GRADING_SANDBOX": "1",
        "DIC_DATA": str(data_root()),
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    }


# -- the plan ---------------------------------------------------------------------------
def _hides(course, work: Path, extra: list[Path]) -> list[str]:
    """Where hidden tests, gradebooks and other people's files live."""
    paths = [REPO, Path(course.root), Path(course.weeks_root), work, *extra, Path.home(), Path("/root")]
    return sorted({str(Path(p).resolve()) for p in paths if Path(p).is_dir()})


def _exposes() -> list[str]:
    from helpers.data import MANIFEST, data_root

    paths = [Path(sys.base_prefix), Path(sys.prefix), HELPERS, data_root()]
    return sorted({str(p.resolve()) for p in paths if p.exists()})


def open_data_permissions(log=print) -> int:
    """Let other uids read the (public) datasets: provisioning may leave folders mode 700.

    Only folders are checked one by one (tens of thousands of image files would take seconds);
    the files of a folder that had to be opened are opened too.
    """
    from helpers.data import MANIFEST, data_root

    root, changed = data_root(), 0
    if not root.is_dir():
        return 0
    def open_file(path: str) -> int:
        fst = os.lstat(path)
        if stat.S_ISREG(fst.st_mode) and fst.st_mode & 0o004 == 0 and fst.st_uid == os.getuid():
            os.chmod(path, fst.st_mode | 0o004)
            return 1
        return 0

    for dirpath, _, filenames in os.walk(root):
        st = os.lstat(dirpath)
        if st.st_mode & 0o005 == 0o005 or st.st_uid != os.getuid():
            if MANIFEST in filenames:   # written by an older atomic write (mode 0600): every dataset reads it
                changed += open_file(os.path.join(dirpath, MANIFEST))
            continue
        os.chmod(dirpath, st.st_mode | 0o005)
        changed += 1
        changed += sum(open_file(os.path.join(dirpath, name)) for name in filenames)
    if changed:
        log(f"made {changed} dataset paths under {root} readable for the sandboxed kernels")
    return changed


def plan(course, work: Path, extra_hide: list[Path] = (), sandbox: bool = True, log=print) -> Plan:
    """Check that bubblewrap works here (once per run); refuse with a clear reason when it does not."""
    if not sandbox:
        return Plan(sandboxed=False, notes=["NOT isolated: the notebooks can read and change what you can"])
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(f"{tool} (util-linux) is not installed")
    from .bundle import mentee_helpers

    p = Plan(sandboxed=True, root=os.geteuid() == 0, bwrap=bwrap, hide=_hides(course, work, list(extra_hide)),
             expose=[e for e in _exposes() if e != str(HELPERS.resolve())],
             helpers=str(mentee_helpers(Path(tempfile.mkdtemp(prefix="kernel-", dir=work)) / "helpers")))
    # its bytecode, named as the kernels see it (bound at helpers/): a read-only edition otherwise compiles in every
    # kernel, ~1 s of each notebook's first cell
    compileall.compile_dir(p.helpers, ddir=str(HELPERS), quiet=1)
    for folder, _, files in os.walk(p.helpers):      # readable by the kernels' own uids (root mentors)
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    if p.root:
        open_data_permissions(log)
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=work))
    try:
        with lease_uids(1 if p.root else 0) as leased:
            uid = leased[0] if leased else None
            config = _config(p, Limits(), probe, uid)
            out = _probe(p, config, probe, uid)
    except subprocess.TimeoutExpired as err:
        raise SandboxUnavailable(f"bubblewrap did not start a kernel within 120 s: {INSTALL_HINT}") from err
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if out.returncode != 0:
        detail = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
        raise SandboxUnavailable(f"bubblewrap does not work here ({detail}): {INSTALL_HINT}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    inside = [*p.expose, str(HELPERS.resolve()), str(probe)]   # what must show: the installs, helpers, its folder
    seen = [h for h in report["seen"] if not any(e == h or e.startswith(h + "/") for e in inside)]
    if p.root and report["uid"] == 0:
        raise SandboxUnavailable("the kernel did not drop root")
    if seen:
        raise SandboxUnavailable(f"the sandbox still shows {seen}")
    if not report["mentee_helpers"]:
        raise SandboxUnavailable("the kernel sees the mentor's helpers (helpers.grading), not the mentee edition")
    if report["keyring"] and platform.machine() in ("x86_64", "AMD64"):
        raise SandboxUnavailable("the kernel could store a key in its uid's keyring (the seccomp filter did not hold)")
    return p


def _probe(p: Plan, config: dict, probe: Path, uid: int | None):
    """Start Python the way a kernel starts, in ``probe``; it reports its uid and what of the hidden it sees."""
    code = ("import numpy, ipykernel.kernelapp, importlib.util, os, json, ctypes; "
            "assert importlib.util.find_spec('helpers.checks'); libc = ctypes.CDLL(None, use_errno=True); "
            "key = libc.syscall(248, b'user', b'dic-probe', b'x', 1, ctypes.c_int(-4)); "   # add_key to @u
            "print(json.dumps({'uid': os.getuid(), 'seen': [h for h in %r if os.listdir(h)], 'keyring': key >= 0, "
            "'mentee_helpers': importlib.util.find_spec('helpers.grading') is None}))"
            % (p.hide,))
    from .launch import bwrap_argv, keyring_filter_fd

    fd = keyring_filter_fd()
    argv = bwrap_argv({**config, "seccomp_fd": fd}, str(probe), "/dev/null")
    argv = argv[:argv.index("ipykernel_launcher") - 1] + ["-c", code]
    if uid is not None:
        for path in [*config["writable"], str(probe)]:
            os.chown(path, uid, uid)
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=probe, env=_env(probe),
                              pass_fds=() if fd is None else (fd,))
    finally:
        if fd is not None:
            os.close(fd)


def _config(p: Plan, limits: Limits, private: Path, uid: int | None) -> dict:
    from helpers.data import MANIFEST, data_root

    locks = []
    root = data_root()
    for name in sorted(os.listdir(root)) if root.is_dir() else []:
        shared = root / name
        if name.startswith(".") and name.endswith(".lock") and shared.is_file() and not shared.is_symlink():
            own = private / "locks" / name
            own.parent.mkdir(exist_ok=True)
            own.touch()
            locks.append([str(own), str(shared)])
    runtime = private / "runtime"
    runtime.mkdir(exist_ok=True)
    blank = private / "blank"   # laid over the notebooks in the kernel's folder: unreadable, empty
    blank.touch()
    os.chmod(blank, 0)
    return {"blank": str(blank), "bwrap": p.bwrap, "prlimit": shutil.which("prlimit"), "setpriv": shutil.which("setpriv"),
            "python": sys.executable, "hide": p.hide, "expose": p.expose, "writable": [str(runtime)],
            "helpers": [p.helpers, str(HELPERS.resolve())] if p.helpers else None,
            "locks": locks, "uid": uid, "tmpfs_bytes": limits.tmpfs,
            "limits": {"memory": limits.memory, "cpu": limits.cpu, "file_size": limits.file_size,
                       "nproc": limits.nproc}}


CONFIG = """\
# written by helpers.grading.sandbox for one student's autograde; do not edit
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor
from helpers.grading.execute import TrustedExecute

c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.Autograde.create_student = True
c.Autograde.autograde_preprocessors = [TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.OverwriteCells.add_missing_cells = False  # the grader restores deleted test cells itself, before nbgrader
c.TrustedExecute.kernel_name = {kernel!r}
c.TrustedExecute.timeout = {cell_timeout}
c.TrustedExecute.startup_timeout = 120
c.TrustedExecute.iopub_timeout = 4
c.TrustedExecute.sandbox_uid = {uid}
c.TrustedExecute.max_output_bytes = {output}
c.TrustedExecute.stop_after_last_test = {stop}
c.TrustedExecute.verdict_log = {verdicts!r}
c.TrustedExecute.release_imports = {imports!r}
c.KernelManager.transport = {transport!r}
if {transport!r} == "ipc":  # Unix sockets in the folder the sandbox shares (absolute: cwd differs)
    c.KernelManager.ip = {ipc!r}
c.LimitOutput.max_lines = 1000
"""


@dataclass
class Run:
    """What one autograde left behind (read by the grader afterwards)."""

    private: Path
    course: Path
    returncode: int
    log: str
    timed_out: bool
    verdicts: dict = field(default_factory=dict)
    grader_peak_mib: int | None = None      # the grader's own process (nbgrader judging the cells), at its peak


def run_autograde(p: Plan, work: Path, student: str, week: str, gradebook: Path, notebooks: dict[str, bytes],
                  support: Path | None, timestamp: str | None, limits: Limits, uid: int | None,
                  worker: Worker, stop_after_last_test: bool = False) -> Run:
    """Stage one student's notebooks in a private course root and autograde them there."""
    private = Path(tempfile.mkdtemp(prefix="s-", dir=work))
    os.chmod(private, 0o711)
    course = private / "course"
    course.mkdir(mode=0o700)
    home = private / "home"
    home.mkdir(mode=0o700)
    shutil.copyfile(gradebook, course / "gradebook.db")
    submitted = course / "submitted" / student / week
    submitted.mkdir(parents=True)
    for name, data in notebooks.items():
        (submitted / name).write_bytes(data)
    if timestamp:
        (submitted / "timestamp.txt").write_text(timestamp + "\n")
    source = course / "source" / week
    source.mkdir(parents=True)
    if support is not None and support.is_dir():
        shutil.copytree(support, source, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.ipynb"))
    # the autograded folder is where kernels work: reachable through course/ (0700) only for root,
    # so let the job's uid traverse the path to it (nothing else in course/ is readable to it)
    for folder in (course, course / "autograded", course / "autograded" / student):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o711)
    uid = uid if p.switch_user else None
    spec = home / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    if p.sandboxed:
        config = private / "sandbox.json"
        config.write_text(json.dumps(_config(p, limits, private, uid)))
        os.chmod(config, 0o600)
        # the file itself, not -m: importing the helpers.grading package would load nbgrader (seconds)
        argv = [sys.executable, str(Path(__file__).with_name("launch.py")), str(config), "{connection_file}"]
    else:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.ignore_cwd=True"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "grading sandbox",
                                                  "language": "python"}))
    verdicts = private / "verdicts.json"
    imports = private / "release_imports.json"
    if support is not None and support.is_dir():
        from .execute import release_imports

        imports.write_text(json.dumps(release_imports(support)))
    cfg = course / "nbgrader_config.py"
    cfg.write_text(CONFIG.format(
        root=str(course), db_url=f"sqlite:///{course / 'gradebook.db'}", kernel=KERNEL_NAME,
        cell_timeout=limits.cell_timeout, uid=-1 if uid is None else uid, output=limits.output,
        stop=stop_after_last_test, transport="ipc" if p.sandboxed else "tcp",
        ipc=str(private / "runtime" / "kernel"), verdicts=str(verdicts), imports=str(imports)))
    argv = [week, "--student", student, "--force", f"--CourseDirectory.root={course}"]
    runtime = private / "runtime"   # connection files and sockets: the folder the sandbox shares
    runtime.mkdir(exist_ok=True)
    rc = worker.run(argv, course, _env(home, runtime), private / "log.txt", limits.timeout, limits.grader_memory)
    found = {}
    if verdicts.is_file():
        try:
            found = json.loads(verdicts.read_text())
        except ValueError:
            found = {}
    log = _tail(private / "log.txt")
    peak = re.findall(r"\[grading\] grader peak memory (\d+) MiB", log)
    return Run(private=private, course=course, returncode=rc, timed_out=rc == TIMED_OUT, log=log, verdicts=found,
               grader_peak_mib=int(peak[-1]) if peak else None)


class Worker:
    """A warm nbgrader process (:mod:`helpers.grading.worker`) serving one job slot's autogrades."""

    def __init__(self, spawn: bool = False):
        """spawn: start it now (its imports, ~4 s, then overlap the plan's work), not at the first ``run``."""
        self.process = None
        self.ready = False
        if spawn:
            self._spawn()

    def _spawn(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "DIC_QUIET": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "helpers.grading.worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                        cwd=REPO, start_new_session=True)
        self.ready = False

    def run(self, argv: list[str], cwd: Path, env: dict, log: Path, timeout: float, memory: int = 0) -> int:
        if self.process is None or self.process.poll() is not None:
            self._spawn()
        if not self.ready:
            if json.loads(self.process.stdout.readline() or "{}").get("ready") is not True:
                self.close()
                raise RuntimeError("the grading worker did not start")
            self.ready = True
        job = {"argv": argv, "cwd": str(cwd), "env": env, "log": str(log), "timeout": timeout, "memory": memory}
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            self.close()
            raise RuntimeError("the grading worker died")
        return int(json.loads(reply)["rc"])

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextmanager
def lease_uids(count: int):
    """Reserve ``count`` kernel uids for this grading run, exclusive among every grading run on the machine
    (a file lock per uid, held until the run ends; a uid with live processes is skipped)."""
    if count <= 0:
        yield []
        return
    LEASES.mkdir(mode=0o700, parents=True, exist_ok=True)
    held = []
    try:
        for uid in range(UID_BASE, UID_BASE + UID_COUNT):
            if len(held) == count:
                break
            handle = open(LEASES / f"{uid}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            if _pids_of(uid):
                handle.close()
                continue
            held.append((uid, handle))
        if len(held) < count:
            raise RuntimeError(f"no free kernel uid in {UID_BASE}-{UID_BASE + UID_COUNT - 1}")
        yield [uid for uid, _ in held]
    finally:
        for _, handle in held:
            handle.close()


def _pids_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def kill_uid(uid: int, rounds: int = 50) -> int:
    """SIGKILL every process running as ``uid`` (a job's own kernel uid; root only)."""
    killed = 0
    for _ in range(rounds):
        pids = _pids_of(uid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
    return killed


def _tail(path: Path, size: int = 64 << 10) -> str:
    """The end of a log a notebook may have flooded."""
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode(errors="replace")


__all__ = ["Limits", "Plan", "Run", "SandboxUnavailable", "plan", "run_autograde", "kill_uid", "lease_uids",
           "open_data_permissions"]
