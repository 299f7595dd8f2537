"""Mentor tooling: ``python -m helpers.grading release|grade|export|sandbox`` (see MENTORS.md).

    python -m helpers.grading release [--week week1 ...] [--closed week1 ...]
    python -m helpers.grading grade --submissions PATH [--week week1 ...] [--jobs 2]
    python -m helpers.grading export            # rewrite grades.csv from the gradebook
    python -m helpers.grading sandbox           # what isolation this machine gives kernels
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .course import REPO, Course, release
from .sandbox import Limits, SandboxUnavailable, plan

GiB = 1 << 30


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(REPO / "build" / "grading"),
                        help="grading folder (nbgrader course root is ROOT/course)")
    parser.add_argument("--weeks-root", default=str(REPO), help="folder holding week1/ ... (default: the repo)")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="stage week folders and generate student notebooks")
    rel.add_argument("--week", action="append", help="week folder (repeatable; default: all with notebooks)")
    rel.add_argument("--closed", action="append", default=[],
                     help="a released week whose deadline has passed: the bundle gets its solutions (repeatable)")
    gr = sub.add_parser("grade", help="autograde SUBMISSIONS/<student>/<week>/*.ipynb (or a folder of zips)")
    gr.add_argument("--submissions", required=True)
    gr.add_argument("--week", action="append", help="week to grade (repeatable; default: every week found)")
    gr.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="students graded in parallel")
    gr.add_argument("--cell-timeout", type=int, default=Limits.cell_timeout, help="seconds per cell")
    gr.add_argument("--timeout", type=int, default=Limits.timeout, help="seconds per student and week")
    gr.add_argument("--memory-gb", type=float, default=Limits.memory / GiB, help="address space per process")
    gr.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    gr.add_argument("--stop-after-last-test", action="store_true",
                    help="do not run cells after each notebook's last graded cell (faster)")
    gr.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="run kernels without bubblewrap, as yourself: trusted notebooks only")
    gr.add_argument("--keep-work", action="store_true", help="keep the per-student sandboxes for inspection")
    sub.add_parser("export", help="rewrite grades.csv from the gradebook")
    sub.add_parser("sandbox", help="report what isolation grading gets on this machine")
    args = parser.parse_args(argv)
    course = Course(root=Path(args.root).resolve(), weeks_root=Path(args.weeks_root).resolve())

    if args.command == "release":
        from .bundle import build_bundle

        from .feedback import mathjax_for_feedback

        done = release(course, args.week)
        build_bundle(course, sorted(done), closed=args.closed)
        if mathjax := mathjax_for_feedback():   # kept for grading's feedback pages, which may run offline
            print(f"MathJax for feedback pages: {mathjax}")
        return 0
    if args.command == "export":
        from .results import export

        print(export(course))
        return 0
    if args.command == "sandbox":
        with tempfile.TemporaryDirectory(prefix="dic-grading-") as work:
            os.chmod(work, 0o711)
            try:
                print(plan(course, Path(work)).describe())
            except SandboxUnavailable as err:
                print(f"no sandbox: {err}", file=sys.stderr)
                return 2
        return 0

    from .pipeline import GradingAborted, grade

    limits = Limits(cell_timeout=args.cell_timeout, timeout=args.timeout, memory=int(args.memory_gb * GiB))
    try:
        report = grade(course, Path(args.submissions), args.week, jobs=args.jobs, limits=limits,
                       feedback=not args.no_feedback, stop_after_last_test=args.stop_after_last_test,
                       sandbox_kernels=not args.unsafe_no_sandbox, keep_work=args.keep_work)
    except SandboxUnavailable as err:
        print(f"grading refused: {err}", file=sys.stderr)
        return 2
    except GradingAborted as err:
        print(f"grading aborted: {err}", file=sys.stderr)
        return 2
    print(report.table())
    print(f"grades: {report.csv}\nreport: {course.root / 'report.md'}\nfeedback: {course.course / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
