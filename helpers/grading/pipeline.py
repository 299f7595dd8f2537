"""``grade``: every student's submission through its own sandbox, then one set of results.

Order of work for ``grade(course, submissions, weeks)``:

1. release the weeks that are not released yet (the gradebook must know their tests);
2. find ``SUBMISSIONS/<student>/<week>/`` folders (or expand LMS zips into a scratch folder);
3. check once that bubblewrap works here (:func:`helpers.grading.sandbox.plan`; refuses otherwise);
4. read and normalize every submission (before any student code runs);
5. per student and week, in parallel (``jobs``): scan the student's code, autograde in a
   private course root (:func:`helpers.grading.sandbox.run_autograde`: nbgrader judges the
   graded cells in its own process, the kernel runs under bubblewrap), re-check the scores
   (:func:`helpers.grading.results.collect`);
6. sequentially: record every outcome in the main gradebook and course folders, generate
   feedback HTML (:mod:`helpers.grading.feedback`: maths and tables that render offline), rewrite
   ``grades.csv`` and ``report.md`` (:func:`write_report`: what a mentor has to act on).

A failure in one student's job becomes that student's error (scored 0, marked for manual
grading), never the run's -- except when the course's own code changed during the run, which
aborts it (only possible with ``--unsafe-no-sandbox``).
"""
from __future__ import annotations

import hashlib
import os
import queue
import shutil
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..config import quiet
from . import feedback as feedback_html
from . import results, sandbox
from .course import CHOOSE_ONE, Course, ensure_course, release
from .results import CellScore, Outcome
from .scan import scan
from .submissions import Found, discover, expand_zips, prepare


class GradingAborted(RuntimeError):
    pass


@dataclass
class Report:
    outcomes: list[Outcome]
    skipped: list[str]
    plan: sandbox.Plan
    csv: Path
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"{'student':<20} {'week':<8} {'score':>9}  issues"]
        for o in self.outcomes:
            issues = [f"REVIEW {f}" for f in o.flags] + ([f"ERROR {o.error}"] if o.error else [])
            issues = [f"counted {g}: {nb}" for g, nb in o.counted.items()] + issues
            lines.append(f"{o.student:<20} {o.week:<8} {o.score:>4g}/{o.max_score:<4g}  {'; '.join(issues)[:100]}")
        return "\n".join(lines)


def tree_digest(folder: Path) -> str:
    """Content hash of a tree (bytecode caches included: a poisoned .pyc counts); links not followed."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            h.update(str(path.relative_to(folder)).encode())
            if path.is_symlink():
                h.update(b"->" + os.readlink(path).encode())
            elif path.is_file():
                h.update(path.read_bytes())
    return h.hexdigest()


def released_weeks(course: Course) -> set[str]:
    if not course.gradebook.exists():
        return set()
    with results.gradebook(course.db_url) as gb:
        return {a.name for a in gb.assignments}


def _weeks_in(folder: Path, candidates: list[str]) -> list[str]:
    present = {p.name for student in folder.iterdir() if student.is_dir() for p in student.iterdir() if p.is_dir()}
    return [w for w in candidates if w in present]


def grade(course: Course, submissions: Path, weeks: list[str] | None = None, jobs: int = 2,
          limits: sandbox.Limits | None = None, feedback: bool = True, stop_after_last_test: bool = False,
          sandbox_kernels: bool = True, extra_hide: list[Path] = (), keep_work: bool = False, log=print) -> Report:
    limits = limits or sandbox.Limits()
    submissions = Path(submissions).resolve()
    if not submissions.is_dir():
        raise FileNotFoundError(f"no submissions folder {submissions}")
    ensure_course(course)
    known = sorted(set(course.weeks()) | released_weeks(course))
    work = Path(tempfile.mkdtemp(prefix="dic-grading-"))
    os.chmod(work, 0o711)
    workers: list[sandbox.Worker] = []
    try:
        folder = submissions
        if any(submissions.glob("*.zip")):
            unzipped = work / "unzipped"
            unzipped.mkdir(mode=0o700)
            folder = expand_zips(submissions, unzipped, weeks or known, log)
        weeks = weeks or _weeks_in(folder, known)
        if not weeks:
            raise ValueError(f"no week folders ({', '.join(known) or 'none released'}) found under {submissions}")
        missing = [w for w in weeks if w not in released_weeks(course)]
        if missing:
            release(course, missing, log)
        found, skipped = discover(folder, weeks)
        for line in skipped:
            log(f"skipped {line}")
        jobs = max(1, jobs)
        workers += [sandbox.Worker(spawn=True) for _ in range(jobs)]   # warm nbgrader workers, importing meanwhile
        plan = sandbox.plan(course, work, [submissions, *extra_hide], sandbox_kernels, log)
        log(f"sandbox: {plan.describe()}")
        template = results.template_gradebook(course, work / "template.db")
        os.chmod(template, 0o600)
        trusted = {w: results.trusted_cells(course, w) for w in weeks}
        release_nbs = {w: {p.name: nbformat.read(p, as_version=4) for p in sorted(course.release(w).glob("*.ipynb"))}
                       for w in weeks}
        # read every submission before any student code runs (nothing can change them under us)
        prepared = {(f.student, f.week): prepare(f, release_nbs[f.week]) for f in found}
        helpers_digest = tree_digest(sandbox.HELPERS) if not plan.sandboxed else None
        leases = sandbox.lease_uids(jobs if plan.switch_user else 0)
        uids = leases.__enter__() or [None] * jobs
        slots = queue.Queue()   # per job slot: a warm nbgrader worker, and (as root) the kernels' own uid
        for uid, worker in zip(uids, workers):
            slots.put((uid, worker))
        gradebook_before = course.gradebook.read_bytes()
        submissions_before = tree_digest(submissions)

        def job(f: Found) -> Outcome:
            uid, worker = slots.get()
            try:
                return _grade_one(f, prepared[(f.student, f.week)], plan, work, template, trusted[f.week], course,
                                  limits, uid, worker, stop_after_last_test)
            except Exception as err:  # noqa: BLE001 - one student's failure stays theirs
                outcome = Outcome(f.student, f.week, error=f"grader failed: {type(err).__name__}: {err}")
                outcome.cells = [CellScore(t.notebook, t.grade_id, t.max_score, 0.0) for t in trusted[f.week]]
                outcome.notes.append(traceback.format_exc(limit=3))
                return outcome
            finally:
                if uid is not None:
                    sandbox.kill_uid(uid)
                slots.put((uid, worker))
                if helpers_digest is not None and tree_digest(sandbox.HELPERS) != helpers_digest:
                    raise GradingAborted(f"helpers/ changed while grading {f.student} ({f.week}); restore it "
                                         "(git checkout helpers) and grade without --unsafe-no-sandbox")

        try:
            outcomes = _run_with_progress(job, found, [len(release_nbs[f.week]) for f in found], jobs)
        finally:
            for worker in workers:
                worker.close()
            leases.__exit__(None, None, None)
        notes = []
        if course.gradebook.read_bytes() != gradebook_before:  # only a kernel running as us could do that
            course.gradebook.write_bytes(gradebook_before)
            notes.append("the main gradebook was modified while student code ran; it was restored")
        if tree_digest(submissions) != submissions_before:
            notes.append(f"files under {submissions} changed while student code ran (grading used the "
                         "versions read before); check the folder")
        for line in notes:
            log(f"WARNING: {line}")
        for outcome in outcomes:
            results.record(course, outcome)
        results.save_flags(course, outcomes)
        if feedback:
            graded_weeks = [w for w in weeks if any((course.course / "autograded").glob(f"*/{w}/*.ipynb"))]
            mathjax = feedback_html.mathjax_for_feedback(log) if graded_weeks else None
            for week in graded_weeks:
                feedback_html.generate_feedback(course, week, mathjax)
        csv_path = results.export(course)
        report = Report(outcomes, skipped, plan, csv_path, notes)
        write_report(course, report)
        return report
    finally:
        for worker in workers:
            worker.close()
        if keep_work:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def regrade(course: Course, week: str, student: str, log=print) -> Outcome:
    """One submission already in the course (``submitted/<student>/<week>``: put there by ``grade`` or by
    nbgrader's collect) graded again by :func:`grade`, sandbox and all: formgrader's Autograde button
    (:func:`helpers.grading.execute.sandboxed_autograde`). It is copied out first, since grading rewrites
    that folder; the feedback and ``report.md`` are this run's."""
    source = course.course / "submitted" / student / week
    if not any(source.glob("*.ipynb")):
        raise FileNotFoundError(f"no submitted notebooks in {source}")
    with tempfile.TemporaryDirectory(prefix="dic-regrade-") as tmp:
        shutil.copytree(source, Path(tmp) / student / week)
        report = grade(course, Path(tmp), [week], jobs=1, log=log)
    return next(o for o in report.outcomes if o.student == student)


def _run_with_progress(job, found: list, notebooks: list[int], jobs: int) -> list:
    """``[job(f) for f in found]`` on ``jobs`` threads, with a progress bar over student x notebook and its
    ETA (quiet under CI / DIC_QUIET); the results keep the order of ``found``."""
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max(1, jobs)) as pool, \
            tqdm(total=sum(notebooks), unit="notebook", desc="grading", disable=quiet()) as bar:
        futures = {pool.submit(job, f): i for i, f in enumerate(found)}
        for future in as_completed(futures):
            i = futures[future]
            bar.set_postfix_str(f"{found[i].student} {found[i].week}", refresh=False)
            bar.update(notebooks[i])
        return [future.result() for future in futures]


def _grade_one(f: Found, prepared, plan, work, template, trusted, course, limits, uid, worker, stop) -> Outcome:
    outcome = Outcome(f.student, f.week, notes=prepared.notes, submitted=prepared.notebooks,
                      timestamp=prepared.timestamp, missing=prepared.missing)
    flagged = set()
    for name, code in prepared.student_cells.items():
        for level, what in scan(code):
            if level == "flag":
                outcome.flags.append(f"{name}: {what}")
                flagged.add(name)
            else:
                outcome.notes.append(f"{name}: {what}")
    if not prepared.notebooks:
        outcome.cells = [CellScore(t.notebook, t.grade_id, t.max_score, 0.0, None, "not submitted") for t in trusted]
        return outcome
    run = sandbox.run_autograde(plan, work, f.student, f.week, template, prepared.notebooks, course.release(f.week),
                                prepared.timestamp, limits, uid, worker, stop)
    if run.timed_out:
        outcome.error = f"grading stopped after {limits.timeout}s"
    elif run.returncode != 0:
        tail = [line for line in run.log.splitlines() if "ERROR" in line][-3:]
        outcome.error = "nbgrader failed: " + (" / ".join(tail)[:300] or f"exit {run.returncode}")
    outcome.grader_peak_mib = run.grader_peak_mib
    for notebook, verdicts in sorted(run.verdicts.items()):
        for grade_id, where in sorted(verdicts.items()) if isinstance(verdicts, dict) else []:
            outcome.judged[f"{notebook}/{grade_id}"] = str(where)
            if str(where).startswith("review: "):       # scored 0: the answer is not something data carries
                outcome.flags.append(f"{notebook}/{grade_id}: not judged from data ({where[8:]}); 0 points until "
                                     "a mentor reviews it")
                flagged.add(notebook)
    return results.collect(outcome, run.course, trusted, flagged)


NOT_GRADED = ("not submitted", "notebook not graded")   # CellScore.why of cells whose notebook never ran


def write_report(course: Course, report: Report) -> Path:
    """``report.md``: the table, then per student and week only what a mentor has to act on -- flags,
    errors, notebooks expected and missing (``Outcome.missing``: none for a notebook without graded
    cells or for the other notebooks of a choose-one group), repairs and notes, points lost -- with
    the notebooks not graded for another reason on one line. Students are named as the gradebook
    knows them (``Ann Lee (ann)``), by their id where it has no name."""
    names = results.student_names(course)

    def who(student: str) -> str:
        return f"{names[student]} ({student})" if student in names else student

    lines = ["# Grading report", "", f"Sandbox: {report.plan.describe()}", ""]
    lines += [f"**Warning:** {n}" for n in report.notes] + ([""] if report.notes else [])
    lines += ["```", report.table(), "```", ""]
    chosen = [o for o in report.outcomes if o.counted]
    if chosen:
        lines += ["## Choose-one notebooks", "Only the best notebook of each group counts toward the week:"]
        lines += [f"- {who(o.student)} / {o.week}: {g} -> {nb}" for o in chosen for g, nb in o.counted.items()]
        lines.append("")
    for o in report.outcomes:
        findings = _findings(o)
        if findings:
            lines += [f"## {who(o.student)} / {o.week}: {o.score:g} of {o.max_score:g}", *findings, ""]
    if report.skipped:
        lines += ["## Skipped", *[f"- {s}" for s in report.skipped]]
    path = course.root / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _findings(o: Outcome) -> list[str]:
    """The report's lines for one student and week (empty: nothing to act on)."""
    lines = [f"- REVIEW: {x}" for x in o.flags] + ([f"- ERROR: {o.error}"] if o.error else [])
    if o.missing:
        lines.append(f"- missing: {', '.join(o.missing)}")
    lines += [f"- {x.strip()}" for x in o.notes]
    lines += [f"- {c.notebook}/{c.grade_id}: {c.score:g}/{c.max_score:g} ({c.why})" for c in o.cells
              if c.why and c.why not in NOT_GRADED]
    in_groups = {nb for members in CHOOSE_ONE.get(o.week, {}).values() for nb in members}  # the choose-one
    unrun: dict[str, float] = {}                                  # section and the missing line say it
    for c in o.cells:
        if c.why in NOT_GRADED and c.notebook not in o.missing and c.notebook.removesuffix(".ipynb") not in in_groups:
            unrun[c.notebook] = unrun.get(c.notebook, 0.0) + c.max_score
    if unrun:
        lines.append("- not graded: " + ", ".join(f"{nb} (0/{m:g})" for nb, m in unrun.items()))
    return lines
