"""Mentor tooling: release student notebooks, autograde submissions in sandboxes, export grades.

``python -m helpers.grading release|grade|export|sandbox`` (``make release``, ``make grade``,
``make formgrader``); the workflow and the threat model are in MENTORS.md.

Modules (one job each):
    course       the nbgrader course root under build/grading, staging weeks, releasing
    submissions  finding submissions (folders or zips) and normalizing untrusted notebooks
    scan         static scan of student code for tampering
    sandbox      one student's autograde: private course root, limits, its own uid
    supervise    runs a command so that nothing it starts outlives it
    kernel       the sandboxed kernel launcher (namespaces, privilege drop, snapshot)
    guard        in-kernel integrity checks run before every graded cell
    execute      nbgrader's Execute step hardened (prologues, kill-on-hang, output caps)
    results      re-checking scores, the main gradebook, grades.csv
    pipeline     ``grade()``: all of the above for a folder of submissions
"""
from .course import Course, check_release, release

__all__ = ["Course", "check_release", "release"]
