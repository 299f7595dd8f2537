"""One student's autograde in its own sandbox: private course root, limits, its own user.

For each student and week the grader builds a throw-away nbgrader course root that holds
only what that autograde needs -- the student's (normalized) notebooks, the release's support
files and a root-only copy of the gradebook without any other student in it -- and runs
``nbgrader autograde`` there in a process of its own (``helpers.grading.supervise``) with

* resource limits (``setrlimit``): address space, CPU seconds, file size, no core dumps; its
  own session; a wall-clock limit, after which everything it started is killed;
* a clean environment: quick profile, one thread, a private HOME/TMPDIR, ``helpers`` pinned
  to this checkout (``PYTHONPATH``), the working directory never on ``sys.path``;
* the kernel started through ``helpers.grading.kernel`` (see there), which -- when the grader
  runs as root -- enters a private mount and network namespace that hides the course's source
  notebooks, the repository's tests and ``.git``, the main course root and the submissions,
  and drops to a uid reserved for this student alone (so it cannot read the private
  gradebook, write course files, or signal another student's kernel).

:func:`plan` probes once per grading run what this machine allows and falls back (and says
so) where it cannot isolate: not root, no mount namespaces, an interpreter the sandbox user
cannot read.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import supervise
from .execute import user_processes

REPO = Path(__file__).resolve().parents[2]
HELPERS = REPO / "helpers"
KERNEL_NAME = "dic-sandbox"
UID_RANGE = range(62000, 63000)
LOCK_DIR = Path(tempfile.gettempdir()) / "dic-grading-uids"
GiB = 1 << 30


@dataclass
class Limits:
    cell_timeout: int = 120          # seconds per cell (nbgrader interrupts, then kills)
    timeout: int = 1800              # wall-clock seconds per student and week
    memory: int = 8 * GiB            # address space per process (nbgrader, kernel)
    file_size: int = 512 << 20       # largest file a process may write
    nproc: int = 256                 # processes + threads of the sandbox user (root only)
    output: int = 1_000_000          # output bytes kept per cell


@dataclass
class Plan:
    """What isolation this machine allows, decided once per grading run."""

    root: bool
    switch_user: bool = False
    namespaces: bool = False
    hide: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.switch_user:
            who = "a separate uid per student" + (" in a private mount+network namespace" if self.namespaces else "")
        else:
            who = "the grader's own user (NOT isolated: see MENTORS.md)"
        return f"kernels run as {who}" + ("; " + "; ".join(self.notes) if self.notes else "")


def _env(private: Path, home: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home), "TMPDIR": str(home / "tmp"), "MPLCONFIGDIR": str(home / ".mpl"),
        "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PATH": str(private / "jupyter"), "JUPYTER_CONFIG_DIR": str(private / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(private / "jupyter"), "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": str(private / "pypath"), "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "DIC_PROFILE": "quick", "DIC_QUIET": "1", "DIC_THREADS": "1", "DIC_GRADING_SANDBOX": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    }
    from helpers.data import data_root

    env["DIC_DATA"] = str(data_root())
    return env


# -- uids ------------------------------------------------------------------------------
@contextmanager
def lease_uid():
    """Reserve an unused uid for one student's run (file lock; released on exit)."""
    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    for uid in UID_RANGE:
        try:
            pwd.getpwuid(uid)
            continue  # a real account
        except KeyError:
            pass
        handle = open(LOCK_DIR / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        if user_processes(uid):
            handle.close()
            continue
        try:
            yield uid
        finally:
            handle.close()
        return
    raise RuntimeError(f"no free sandbox uid in {UID_RANGE.start}-{UID_RANGE.stop - 1}")


# -- probing ---------------------------------------------------------------------------
def _default_hides(course) -> list[Path]:
    """Where hidden tests and other students' work live: source weeks, tests, git, the course root."""
    hides = sorted(REPO.glob("week*")) + sorted(Path(course.weeks_root).glob("week*"))
    hides += [REPO / "tests", REPO / ".git", REPO / "build", Path(course.root)]
    return [p for p in hides if p.is_dir()]


def open_data_permissions(log=print) -> int:
    """Let other users read the (public) datasets: provisioning may leave folders mode 700."""
    from helpers.data import data_root

    root, changed = data_root(), 0
    if not root.is_dir():
        return 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name, bits in [(dirpath, 0o005)] + [(os.path.join(dirpath, f), 0o004) for f in filenames]:
            st = os.lstat(name)
            if not os.path.islink(name) and st.st_mode & bits != bits and st.st_uid == os.getuid():
                os.chmod(name, st.st_mode | bits)
                changed += 1
    if changed:
        log(f"made {changed} dataset paths under {root} readable for the sandbox user")
    return changed


def plan(course, work: Path, extra_hide: list[Path] = (), isolate: bool = True, log=print) -> Plan:
    """Decide how to isolate kernels on this machine (probes a sandboxed interpreter once)."""
    p = Plan(root=os.geteuid() == 0)
    if not isolate:
        p.notes.append("isolation switched off (--no-isolation)")
        return p
    if not p.root:
        p.notes.append("grader is not root: no per-student user, no hidden paths")
        return p
    from helpers.data import data_root

    private_hint = work.resolve()
    expose = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), HELPERS.resolve(), data_root()}
    hides = [h.resolve() for h in [*_default_hides(course), *extra_hide] if Path(h).is_dir()]
    # never hide anything the kernel needs, or the folder it works in
    keep = [*expose, private_hint]
    hides = [h for h in hides if not any(k == h or h in k.parents for k in keep)]
    open_data_permissions(log)
    for namespaces in (True, False):
        ok, detail = _probe(work, namespaces, [str(h) for h in hides], [str(e) for e in expose])
        if ok:
            p.switch_user, p.namespaces = True, namespaces
            if namespaces:
                p.hide, p.expose = [str(h) for h in hides], [str(e) for e in expose]
            else:
                p.notes.append(f"mount namespaces unavailable ({detail}): course files readable by path")
            return p
        p.notes.append(f"{'namespaced ' if namespaces else ''}sandbox user unusable: {detail}")
    return p


def _probe(work: Path, namespaces: bool, hide: list[str], expose: list[str]) -> tuple[bool, str]:
    private = Path(tempfile.mkdtemp(prefix="probe-", dir=work))
    try:
        with lease_uid() as uid:
            home = _make_home(private, uid)
            _pin_helpers(private)
            cmd = [sys.executable, "-m", "helpers.grading.kernel", "--uid", str(uid), "--gid", str(uid), "--probe"]
            if namespaces:
                cmd += [f"--hide={h}" for h in hide] + [f"--expose={e}" for e in expose]
                cmd += [f"--keep={private}", "--isolate-net", "--private-locks"]
            try:
                out = subprocess.run(cmd, env=_env(private, home), cwd=home, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                return False, "probe timed out"
            if out.returncode != 0:
                return False, (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1]
            report = json.loads(out.stdout.strip().splitlines()[-1])
            failed = {k: v for k, v in report["imports"].items() if v != "ok"}
            if failed:
                return False, f"imports fail as uid {uid}: {failed}"
            if report.get("data", {}).get("unreadable"):
                return False, f"datasets unreadable: {report['data']['unreadable']}"
            if report.get("locks"):
                return False, f"dataset lock files not usable: {report['locks'][:3]}"
            visible = [k for k, v in report["hidden"].items() if v == "visible"]
            if visible:
                return False, f"paths not hidden: {visible}"
            return True, "ok"
    finally:
        shutil.rmtree(private, ignore_errors=True)


# -- one student's private course root -------------------------------------------------
def _make_home(private: Path, uid: int | None) -> Path:
    home = private / "home"
    for sub in ("", "tmp", ".mpl", ".ipython", "runtime"):
        (home / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        if uid is not None:
            os.chown(home / sub, uid, uid)
    return home


def _pin_helpers(private: Path) -> None:
    """``helpers`` imports from this checkout, whatever the venv's editable install points at."""
    (private / "pypath").mkdir(exist_ok=True)
    link = private / "pypath" / "helpers"
    if not link.exists():
        link.symlink_to(HELPERS.resolve(), target_is_directory=True)


def kernel_argv(p: Plan, uid: int | None, limits: Limits, preload: list[str], private: Path) -> list[str]:
    argv = [sys.executable, "-m", "helpers.grading.kernel"]
    if uid is not None:
        argv += ["--uid", str(uid), "--gid", str(uid), "--nproc", str(limits.nproc)]
    if p.namespaces:
        argv += [f"--hide={h}" for h in p.hide] + [f"--expose={e}" for e in p.expose]
        argv += [f"--keep={private}", "--isolate-net", "--private-locks"]
    for name in preload:
        argv += ["--preload", name]
    return argv + ["--", "-f", "{connection_file}"]


CONFIG = """\
# written by helpers.grading.sandbox for one student's autograde; do not edit
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor
from helpers.grading.execute import GuardedExecute

c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.Autograde.create_student = True
c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.OverwriteCells.add_missing_cells = False  # the grader restores deleted test cells itself, before nbgrader
c.GuardedExecute.kernel_name = {kernel!r}
c.GuardedExecute.timeout = {cell_timeout}
c.GuardedExecute.startup_timeout = 120
c.GuardedExecute.iopub_timeout = 4
c.GuardedExecute.guard_nonce = {nonce!r}
c.GuardedExecute.sandbox_uid = {uid}
c.GuardedExecute.sandbox_gid = {uid}
c.GuardedExecute.max_output_bytes = {output}
c.GuardedExecute.stop_after_last_test = {stop}
c.KernelManager.transport = {transport!r}
if {transport!r} == "ipc":  # Unix sockets in the sandbox user's runtime folder (absolute: cwd differs)
    c.KernelManager.ip = {ipc!r}
c.LimitOutput.max_lines = 1000
"""


@dataclass
class Run:
    """What one sandboxed autograde left behind (read by the trusted grader afterwards)."""

    private: Path
    course: Path
    returncode: int
    log: str
    nonce: str
    timed_out: bool


def run_autograde(p: Plan, work: Path, student: str, week: str, gradebook: Path, notebooks: dict[str, bytes],
                  support: Path | None, timestamp: str | None, limits: Limits, preload: list[str],
                  stop_after_last_test: bool = False) -> Run:
    """Stage one student's notebooks in a private course root and autograde them there."""
    private = Path(tempfile.mkdtemp(prefix="s-", dir=work))
    os.chmod(private, 0o711)
    course = private / "course"
    course.mkdir(mode=0o711)
    with (lease_uid() if p.switch_user else _no_uid()) as uid:
        home = _make_home(private, uid)
        _pin_helpers(private)
        shutil.copyfile(gradebook, course / "gradebook.db")
        os.chmod(course / "gradebook.db", 0o600)
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
        spec = private / "jupyter" / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": kernel_argv(p, uid, limits, preload, private), "display_name": "grading sandbox", "language": "python"}))
        nonce = secrets.token_hex(12)
        config = course / "nbgrader_config.py"
        config.write_text(CONFIG.format(
            root=str(course), db_url=f"sqlite:///{course / 'gradebook.db'}", kernel=KERNEL_NAME,
            cell_timeout=limits.cell_timeout, nonce=nonce, uid=-1 if uid is None else uid, output=limits.output,
            stop=stop_after_last_test, transport="ipc" if p.namespaces else "tcp",
            ipc=str(home / "runtime" / "kernel")))
        os.chmod(config, 0o600)
        argv = [week, "--student", student, "--force", f"--CourseDirectory.root={course}"]
        rc = supervise.run(argv, course, _env(private, home), private / "log.txt", limits.timeout, uid,
                           limits.memory, limits.file_size)
        timed_out = rc == supervise.TIMED_OUT
    return Run(private=private, course=course, returncode=rc, nonce=nonce, timed_out=timed_out,
               log=_tail(private / "log.txt"))


def _tail(path: Path, size: int = 64 << 10) -> str:
    """The end of a log a notebook may have flooded (its kernel's stderr lands there too)."""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode(errors="replace")


@contextmanager
def _no_uid():
    yield None
