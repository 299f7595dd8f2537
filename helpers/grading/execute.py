"""nbgrader's Execute step, hardened for untrusted notebooks (runs in the root-owned grader process).

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in the sandbox's autograde pipeline:

* every graded cell first runs the integrity prologue (``helpers.grading.guard``): checks
  modules are reloaded fresh, the trusted imports of the locked cells are replayed, and a
  marker with a per-run nonce is printed; afterwards the prologue and marker are removed
  again, and a graded cell whose marker is missing gets an error (score 0);
* a cell that outlives the timeout is interrupted; if the kernel ignores the interrupt
  (``signal.signal(SIGINT, SIG_IGN)``) or dies (``os._exit``, memory limit) it is killed, and
  the remaining cells are marked "not executed" instead of failing the whole notebook --
  nbgrader alone would drop every grade of the student's assignment;
* output is capped per cell while it arrives (a notebook printing gigabytes cannot exhaust
  the grader's memory); what the student wrote is made safe to render for mentors
  (``helpers.grading.sanitize``: nh3 cleans HTML and markdown, scripts and SVG are dropped);
* the kernel's working directory belongs to the sandbox user only while the notebook runs
  (the notebooks nbgrader keeps there, hidden tests restored, are made unreadable to it);
  then every process of that user is killed and whatever the notebook created there
  (files, symlinks aimed at the gradebook) is removed before nbgrader writes its results.
"""
from __future__ import annotations

import ast
import os
import shutil
import signal
import time
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from . import guard
from .sanitize import sanitize_cell

GUARD_ERROR = "GradingGuardError"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def trusted_imports(source: str) -> list[str]:
    """Top-level import statements of a (locked, trusted) cell, one line each."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def user_processes(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real or effective uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uids = fields.get("Uid", "").split()
        if uids[:2] and str(uid) in uids[:2] and not fields.get("State", "").strip().startswith("Z"):
            found.append(int(entry))
    return found


def kill_user(uid: int, rounds: int = 50) -> int:
    """SIGKILL every process of the sandbox user (a uid reserved for this one student)."""
    killed = 0
    for _ in range(rounds):
        pids = user_processes(uid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return killed


def listing(folder: str) -> dict[str, str]:
    """Relative path -> kind ('dir' | 'file') of what nbgrader put in the working folder."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            kind = "link" if os.path.islink(path) else "dir" if os.path.isdir(path) else "file"
            found[os.path.relpath(path, folder)] = kind
    return found


def quarantine(folder: str, before: dict[str, str]) -> list[str]:
    """Remove whatever appeared in ``folder`` during execution (and any link); return what went."""
    removed = []
    now = listing(folder)
    for rel in sorted(now, key=lambda p: -p.count(os.sep)):
        if before.get(rel) == now[rel] and now[rel] != "link":
            continue
        path = os.path.join(folder, rel)
        if now[rel] == "dir":
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        removed.append(rel)
    return removed


class GuardedExecute(Execute):
    """nbgrader ``Execute`` with the integrity prologue, kill-on-hang, output caps and cleanup."""

    guard_nonce = Unicode("", help="per-run secret printed by each graded cell's prologue").tag(config=True)
    sandbox_uid = Integer(-1, help="uid the kernel runs as (-1: same user as the grader)").tag(config=True)
    sandbox_gid = Integer(-1).tag(config=True)
    max_output_bytes = Integer(1_000_000, help="output kept per cell; the rest is dropped").tag(config=True)
    stop_after_last_test = Bool(False, help="do not execute cells after the last graded cell").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if not self.guard_nonce:
            raise ValueError("GuardedExecute.guard_nonce must be set")
        folder = resources["metadata"]["path"]
        originals = self._add_prologues(nb)
        grade_indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and utils.is_grade(c)]
        self._last_index = max(grade_indices) if (grade_indices and self.stop_after_last_test) else len(nb.cells)
        self._dead: str | None = None
        self._output_used: dict[int, int] = {}
        before = listing(folder)
        if self.sandbox_uid >= 0:
            # nbgrader keeps the notebooks it is grading here, hidden tests restored: not for the kernel
            for name in os.listdir(folder):
                if name.endswith(".ipynb") and os.path.isfile(os.path.join(folder, name)):
                    os.chmod(os.path.join(folder, name), 0o600)
            os.chown(folder, self.sandbox_uid, self.sandbox_gid if self.sandbox_gid >= 0 else self.sandbox_uid)
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            if self.sandbox_uid >= 0:
                kill_user(self.sandbox_uid)
                os.chown(folder, os.getuid(), os.getgid())
            removed = quarantine(folder, before)
            if removed:
                self.log.warning("removed what the notebook created in %s: %s", folder, ", ".join(removed[:20]))
        for cell in nb.cells:
            sanitize_cell(cell)
        self._check_markers(nb, originals)
        return nb, resources

    # -- graded cells -------------------------------------------------------------------
    def _add_prologues(self, nb) -> dict[str, str]:
        originals, imports = {}, []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if utils.is_grade(cell):
                grade_id = cell.metadata.nbgrader["grade_id"]
                originals[grade_id] = cell.source
                cell.source = guard.prologue(self.guard_nonce, grade_id, list(imports)) + cell.source
            elif utils.is_locked(cell):
                imports += trusted_imports(cell.source)
        return originals

    def _check_markers(self, nb, originals: dict[str, str]) -> None:
        for cell in nb.cells:
            if cell.cell_type != "code" or not utils.is_grade(cell):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            cell.source = originals.get(grade_id, cell.source)
            marker = guard.MARKER.format(nonce=self.guard_nonce, grade_id=grade_id)
            seen, kept = False, []
            for out in cell.outputs:
                if out.output_type == "stream" and marker in out.text:
                    seen = True
                    out.text = "\n".join(line for line in out.text.split("\n") if marker not in line)
                    if not out.text.strip():
                        continue
                kept.append(out)
            cell.outputs = kept
            if not seen and not any(o.output_type == "error" for o in kept):
                cell.outputs.append(error_output(
                    GUARD_ERROR, "this test cell did not run as written (its code was changed before it "
                                 "ran); scored 0 and held for review"))

    # -- execution ----------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if index > self._last_index:
            return cell, resources
        if self._dead:
            cell.outputs = [error_output("NotExecuted", f"not run: {self._dead}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead = "the kernel died in an earlier cell"
            cell.outputs.append(error_output(
                "DeadKernelError", "the kernel died while running this cell (os._exit, a crash or the memory limit)"))
        except CellTimeoutError:
            self._kill_kernel()
            self._dead = "the kernel was stopped in an earlier cell"
            cell.outputs.append(error_output(
                "CellTimeoutError", f"this cell ran longer than {self.timeout}s and ignored the interrupt; "
                                    "the kernel was stopped"))
        return cell, self.resources

    def _kill_kernel(self) -> None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()
        if self.sandbox_uid >= 0:
            kill_user(self.sandbox_uid)

    def output(self, outs, msg, display_id, cell_index):
        size = _message_size(msg)
        used = self._output_used.get(cell_index, 0) + size
        self._output_used[cell_index] = used
        if used > self.max_output_bytes and msg["msg_type"] != "error":
            if used - size <= self.max_output_bytes:
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=f"\n[grader: output beyond {self.max_output_bytes} bytes dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def handle_comm_msg(self, outs, msg, cell_index):
        used = self._output_used.get(cell_index, 0) + _message_size(msg)
        self._output_used[cell_index] = used
        if used > self.max_output_bytes:
            return None
        return super().handle_comm_msg(outs, msg, cell_index)


def _message_size(msg) -> int:
    content = msg.get("content", {})
    size = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, (str, bytes)) else len(str(value))
    return size + sum(len(b) for b in msg.get("buffers", []) or [])


class RefuseUnsandboxed(NbGraderPreprocessor):
    """Stops ``nbgrader autograde`` outside the grader's sandbox (formgrader's "Autograde" button).

    The repository's ``nbgrader_config.py`` puts this first in ``Autograde.sanitize_preprocessors``:
    autograding there would run student notebooks as the mentor, with the main gradebook and
    the hidden tests in reach. ``make grade`` sets ``DIC_GRADING_SANDBOX=1`` inside its sandboxes.
    """

    def preprocess(self, nb, resources):
        if os.environ.get("DIC_GRADING_SANDBOX") != "1":
            raise RuntimeError("autograding runs untrusted student code: use `make grade SUBMISSIONS=...` "
                               "(python -m helpers.grading grade), which sandboxes every student; see MENTORS.md")
        return nb, resources
