"""nbgrader's Execute step for untrusted notebooks (runs in the grader's own nbgrader process).

:class:`TrustedExecute` replaces nbgrader's ``Execute`` in each student's autograde pipeline:

* a graded test cell is never sent to the student's kernel: it runs here, in the grader's
  process, on the grader's own modules, asking the kernel for data only
  (:mod:`helpers.grading.probe`); its outputs (the check's hint on failure) are what nbgrader
  scores. Patching NumPy, torch, builtins, the import system, the kernel's session or the checks
  inside the kernel can then only change what the student's functions return. A cell whose answer
  data cannot carry (:class:`~helpers.grading.probe.NotProbe`: no reference answer of the course gets
  there) scores 0 with a line saying why, and goes to the mentor's review list; nothing is ever judged
  in the kernel. ``verdict_log`` records how each cell was judged;
* a cell that outlives the timeout is interrupted; if the kernel ignores the interrupt or dies,
  it is killed, and the remaining cells are marked "not executed" instead of failing the whole
  notebook (nbgrader alone would drop every grade of the student's assignment);
* output is capped per cell while it arrives; what the student wrote is made safe to render for
  mentors (``helpers.grading.sanitize``: nh3 cleans HTML and markdown, scripts and SVG dropped);
* as root, the notebook's folder belongs to the kernel's uid only while the notebook runs; then
  every process of that uid is killed and whatever the notebook created there is removed before
  nbgrader writes its results.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import signal
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from . import probe
from .sanitize import sanitize_cell


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def trusted_imports(source: str) -> list[str]:
    """Top-level import statements of a (locked, trusted) cell, one line each."""
    from .scan import _ipython_to_python

    try:
        tree = ast.parse(_ipython_to_python(source))
    except (SyntaxError, ValueError):
        return []
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def release_imports(folder: Path) -> dict[str, list[str]]:
    """For each released notebook in ``folder``: the import lines of its cells that are not the student's
    (every code cell but the solution cells)."""
    import nbformat

    found = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable release notebook gives no trusted imports
            continue
        found[path.name] = [line for cell in nb.cells if cell.cell_type == "code" and not utils.is_solution(cell)
                            for line in trusted_imports(cell.source)]
    return found


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


class TrustedExecute(Execute):
    """nbgrader ``Execute``: graded cells judged in the grader's process, kill-on-hang, output caps, cleanup."""

    sandbox_uid = Integer(-1, help="uid the kernel runs as (-1: not switched)").tag(config=True)
    max_output_bytes = Integer(1_000_000, help="output kept per cell; the rest is dropped").tag(config=True)
    stop_after_last_test = Bool(False, help="do not execute cells after the last graded cell").tag(config=True)
    verdict_log = Unicode("", help="JSON file recording where each graded cell was judged").tag(config=True)
    release_imports = Unicode("", help="JSON file: notebook -> the import lines of its released (course-written) "
                                       "cells, the names its test cells may use").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        folder = resources["metadata"]["path"]
        self._notebook = resources["metadata"].get("name", "notebook") + ".ipynb"
        grade_indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and utils.is_grade(c)]
        self._last_index = max(grade_indices) if (grade_indices and self.stop_after_last_test) else len(nb.cells)
        self._dead: str | None = None
        self._output_used: dict[int, int] = {}
        self._imports: list[str] = self._course_imports()
        self._carry: dict = {}
        self._probe = None
        self._sources: list[str] = []     # the code cells the kernel ran: what forbidden-call policies read
        self._verdicts: dict[str, str] = {}
        self._count = 0
        before = listing(folder)
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            if self.sandbox_uid >= 0:
                from .sandbox import kill_uid

                kill_uid(self.sandbox_uid)
                os.chown(folder, os.getuid(), os.getgid())
            removed = quarantine(folder, before)
            if removed:
                self.log.warning("removed what the notebook created in %s: %s", folder, ", ".join(removed[:20]))
            self._save_verdicts()
        for cell in nb.cells:
            sanitize_cell(cell)
        return nb, resources

    def _course_imports(self) -> list[str]:
        """The imports of the released notebook's own cells: a test cell's ``checks``, ``papers``, ``np`` are the
        grader's whatever the submission did to the cells that import them (an unlocked setup cell too)."""
        if not self.release_imports:
            return []
        try:
            found = json.loads(Path(self.release_imports).read_text()).get(self._notebook, [])
        except (OSError, ValueError):
            return []
        return [line for line in found if isinstance(line, str)]

    def _save_verdicts(self) -> None:
        if not self.verdict_log:
            return
        path = Path(self.verdict_log)
        data = json.loads(path.read_text()) if path.is_file() else {}
        data[self._notebook] = self._verdicts
        path.write_text(json.dumps(data, indent=1))

    # -- execution ----------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if index > self._last_index:
            return cell, resources
        if self._dead:
            cell.outputs = [error_output("NotExecuted", f"not run: {self._dead}")]
            return cell, resources
        if utils.is_grade(cell):
            return self._judge(cell, resources, index)
        if utils.is_locked(cell):
            self._imports += trusted_imports(cell.source)
        return self._in_kernel(cell, resources, index)

    def _in_kernel(self, cell, resources, index):
        if not utils.is_grade(cell):
            self._sources.append(cell.source)
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

    def _judge(self, cell, resources, index):
        """Run a graded test cell here, asking the kernel for data (probes). A cell whose answer data cannot
        carry scores 0 and is flagged for the mentor's review (``review: why`` in the verdict log)."""
        grade_id = cell.metadata.nbgrader["grade_id"]
        try:
            outputs, error = probe.run_cell(cell.source, self._imports, self._probes().fetch, self._carry)
            self._verdicts[grade_id] = "probes"
        except probe.NotProbe as why:
            outputs, error = [], error_output("NotJudged", f"this cell could not be judged from data ({why}): "
                                                           "0 points until a mentor reviews it")
            self._verdicts[grade_id] = f"review: {why}"
        except probe.KernelGone as why:
            outputs, error = [], error_output("DeadKernelError", str(why))
            self._verdicts[grade_id] = "grader"
        self._imports += trusted_imports(cell.source)   # test cells are trusted too (restored by nbgrader)
        self._count += 1
        cell.outputs = [from_dict(o) for o in outputs] + ([from_dict(error)] if error else [])
        cell.execution_count = self._count
        return cell, resources

    # -- the channel to the kernel: probes (data) ------------------------------------------------
    def _install(self, name: str, source: str) -> None:
        """Run ``source`` in the kernel as the module ``name`` (the kernel's side of a channel)."""
        install = (f"import sys as _s, types as _t\n_m = _t.ModuleType({name!r})\n"
                   f"exec(compile({source!r}, '<grader {name}>', 'exec'), _m.__dict__)\n"
                   f"_s.modules[{name!r}] = _m\ndel _s, _t, _m\n")
        if self._execute(install, {})["content"].get("status") != "ok":
            raise probe.KernelGone("the grader could not talk to the kernel")

    def _probes(self) -> probe.Probe:
        if self._probe is None:
            self._install("_dic_wire", probe.WIRE_SOURCE)
            self._probe = probe.Probe(self._probe_send, self._sources)
        return self._probe

    def _probe_send(self, text: str) -> str:
        """One probe through the Jupyter channel: base64 text both ways, nothing parsed as Python."""
        if self._dead:
            raise probe.KernelGone(f"not run: {self._dead}")
        reply = self._execute("", {"r": f"__import__('sys').modules['_dic_wire'].serve({text!r})"})
        found = reply.get("content", {}).get("user_expressions", {}).get("r", {})
        if found.get("status") != "ok":
            raise probe.KernelGone(f"the grader could not talk to the kernel ({found.get('ename', 'no reply')})")
        data = found.get("data", {}).get("text/plain", "")
        if not isinstance(data, str) or len(data) < 2 or data[0] != data[-1] or data[0] not in "'\"":
            raise probe.KernelGone("the grader could not talk to the kernel: its answer is malformed")
        return data[1:-1]

    def _execute(self, code: str, expressions: dict) -> dict:
        try:
            return run_sync(self.kc.execute_interactive)(
                code, silent=True, store_history=False, user_expressions=expressions, allow_stdin=False,
                timeout=self.timeout, output_hook=lambda msg: None)
        except TimeoutError:
            self._stop_call()
            raise probe.KernelGone(f"the student's code ran longer than {self.timeout}s") from None
        except (DeadKernelError, RuntimeError) as err:
            self._dead = "the kernel died in an earlier cell"
            raise probe.KernelGone(f"the kernel died while the grader called the student's code ({err})") from None

    def _stop_call(self) -> None:
        """Interrupt a call that ran too long; a kernel that ignores it is killed."""
        try:
            run_sync(self.km.interrupt_kernel)()
            run_sync(self.kc.get_shell_msg)(timeout=5)
        except Exception:  # noqa: BLE001 - ignored the interrupt or died: stop it
            self._kill_kernel()
            self._dead = "the kernel was stopped in an earlier cell"

    def _kill_kernel(self) -> None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()
        if self.sandbox_uid >= 0:
            from .sandbox import kill_uid

            kill_uid(self.sandbox_uid)

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


REFUSAL = ("autograding runs untrusted student code, so it runs in the grader's sandbox: one student and one week "
           "(formgrader's Autograde button, `nbgrader autograde WEEK --student NAME`) or `make grade "
           "SUBMISSIONS=...` for everyone; see MENTORS.md. Nothing was changed.")


def _one(name) -> bool:
    return bool(name) and not any(c in str(name) for c in "*?[]/")


def sandboxed_autograde() -> None:
    """Route ``nbgrader autograde`` outside the grader's sandbox -- formgrader's Autograde button, or the
    command for one student -- through the sandboxed pipeline ``make grade`` runs
    (:func:`helpers.grading.pipeline.regrade`); refuse anything else (every student at once, a course root
    that ``helpers.grading`` did not lay out) *before* nbgrader touches anything: nbgrader removes a
    student's autograded folder before converting it, and again when the conversion fails, so a refusal
    inside the conversion (:class:`RefuseUnsandboxed`) would cost the mentor that student's graded
    notebooks. Inside a sandbox (``DIC_GRADING_SANDBOX=1``) nbgrader's own autograde runs. The
    repository's ``nbgrader_config.py`` calls this."""
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException

    if getattr(Autograde, "_dic_guarded", False):
        return
    start = Autograde.start

    def guarded_start(self):
        if os.environ.get("DIC_GRADING_SANDBOX") == "1":
            return start(self)
        week, student, root = self.coursedir.assignment_id, self.coursedir.student_id, Path(self.coursedir.root)
        if not (_one(week) and _one(student)) or root.name != "course":
            self.log.error(REFUSAL)
            raise NbGraderException(REFUSAL)
        from .course import Course
        from .pipeline import regrade

        self.log.info("grading %s's %s in the grader's sandbox (helpers.grading.pipeline.regrade)", student, week)
        try:
            outcome = regrade(Course(root=root.parent), week, student, log=self.log.info)
        except Exception as err:  # noqa: BLE001 - the button shows the message
            self.log.error("%s: %s", type(err).__name__, err)
            raise NbGraderException(str(err)) from err
        if outcome.error:
            self.log.error(outcome.error)
            raise NbGraderException(outcome.error)
        self.log.info("%s %s: %g / %g%s", student, week, outcome.score, outcome.max_score,
                      "".join(f"; REVIEW {flag}" for flag in outcome.flags))

    Autograde.start, Autograde._dic_guarded = guarded_start, True


class RefuseUnsandboxed(NbGraderPreprocessor):
    """Stops ``nbgrader autograde`` outside the grader's sandbox (formgrader's "Autograde" button).

    The repository's ``nbgrader_config.py`` puts this first in ``Autograde.sanitize_preprocessors``:
    autograding there would run student notebooks as the mentor, with the main gradebook and
    the hidden tests in reach. ``make grade`` sets ``DIC_GRADING_SANDBOX=1`` inside its sandboxes.
    """

    def preprocess(self, nb, resources):
        if os.environ.get("DIC_GRADING_SANDBOX") != "1":
            raise RuntimeError(REFUSAL)
        return nb, resources
