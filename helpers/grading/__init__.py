"""Mentor tooling: release student notebooks, autograde submissions in sandboxes, export grades.

``python -m helpers.grading release|grade|export|sandbox`` (``make release``, ``make grade``,
``make formgrader``); the workflow and the threat model are in MENTORS.md.

Modules (one job each):
    course       the nbgrader course root under build/grading, staging weeks, releasing
    bundle       the mentee bundle: release notebooks and helpers without hidden cases
    submissions  finding submissions (folders or zips) and normalizing untrusted notebooks
    scan         static scan of student code: what a mentor should look at
    sandbox      one student's autograde: private course root, nbgrader in its own process
    launch       the kernel spec's launcher: the kernel under bubblewrap with limits
    execute      nbgrader's Execute step: graded cells judged in the grader, kill-on-hang, output caps
    probe        running a graded cell in the grader, asking the student's kernel for data only (module and
                 object answers as mirrors run in the kernel on the grader's tensors)
    wire         the data format both ways, and the kernel's side of a probe (runs inside the kernel)
    results      re-checking scores, the main gradebook, grades.csv
    feedback     feedback HTML that works offline: a local MathJax beside each page, Jupyter's table style
    pipeline     ``grade()``: all of the above for a folder of submissions
"""
import sys

# nbformat imports jsonschema, which at import builds the grammars of its optional "iri" format checker
# (rfc3987_syntax: 38 Lark grammars, about 1.2 s of CPU in every process that reads a notebook). No schema that
# nbformat or nbgrader validates uses that format, so the grader's processes go without it (the nbgrader commands
# too: course.NBGRADER).
sys.modules.setdefault("rfc3987_syntax", None)

from .course import Course, check_release, release  # noqa: E402

__all__ = ["Course", "check_release", "release"]
