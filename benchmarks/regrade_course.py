"""Grade every source notebook of the course as one student: full marks expected, and where each cell is judged.

    python benchmarks/regrade_course.py                    # every week with graded notebooks
    python benchmarks/regrade_course.py week2 week3        # some weeks
    python benchmarks/regrade_course.py --round-trip week1 # and the release (zero) and the known mistakes

The week's source notebooks (solutions in place) are released and submitted as the student
``source``, then graded with ``helpers.grading.pipeline.grade`` (bubblewrap, verdicts in the
grader's process). The reference answers must get every point; a lost point is a bug in judging
from outside the kernel. Prints points per week, every lost cell with its reason, how each cell was
judged (probes: data only; review: an answer data cannot carry, 0 points and the mentor's review list)
and the seconds; exits 1 if a point was lost (2 for a week that does not exist). Its figures are recorded by hand
in ``benchmarks/results/grading_speed.md`` (the script writes nothing there).
``--round-trip`` grades two more students: the untouched release (every graded cell must score 0) and the sources
with the known mistakes of tests/grading_fixtures/mistakes.py (one per listed notebook; each must cost exactly the
test cells it names, and every other cell of that notebook keep its points). ``make test``'s round trip does the
same for the notebooks of tests/test_grading_roundtrip.py's SAMPLE only.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))   # grading_fixtures.mistakes

import nbformat  # noqa: E402
from grading_fixtures.mistakes import costs, with_mistake  # noqa: E402
from helpers.grading.course import Course, release  # noqa: E402
from helpers.grading.pipeline import grade  # noqa: E402
from helpers.grading.sandbox import Limits  # noqa: E402


def main(argv: list[str]) -> int:
    import argparse

    known = Course(weeks_root=ROOT).weeks()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weeks", nargs="*", metavar="WEEK", help=f"weeks to grade (default: all of {', '.join(known)})")
    parser.add_argument("--round-trip", action="store_true",
                        help="also grade the untouched release and the sources with their known mistakes")
    args = parser.parse_args(argv)
    weeks = args.weeks or known
    unknown = sorted(set(weeks) - set(known))
    if unknown:
        parser.error(f"no such week: {', '.join(unknown)} (the weeks: {', '.join(known)})")
    with tempfile.TemporaryDirectory(prefix="dic-regrade-") as tmp:
        base = Path(tmp)
        course = Course(root=base / "grading", weeks_root=base / "weeks")
        for week in weeks:
            (course.weeks_root / week).mkdir(parents=True)
            for notebook in sorted((ROOT / week).glob("*.ipynb")):
                shutil.copy(notebook, course.weeks_root / week)
        release(course, weeks, log=lambda *a: None)
        submissions = base / "submissions"
        for week in weeks:
            shutil.copytree(course.source(week), submissions / "source" / week,
                            ignore=lambda _, names: [n for n in names if not n.endswith(".ipynb")])
            if args.round_trip:
                shutil.copytree(course.release(week), submissions / "release" / week,
                                ignore=lambda _, names: [n for n in names if not n.endswith(".ipynb")])
                (submissions / "mistake" / week).mkdir(parents=True)
                for name in costs(week):
                    slipped = with_mistake(course.source(week) / name, week)
                    nbformat.write(slipped, submissions / "mistake" / week / name)
        start = time.time()
        report = grade(course, submissions, weeks, jobs=2, limits=Limits(cell_timeout=300, timeout=3600),
                       feedback=False, stop_after_last_test=True, log=lambda *a: None)
        seconds = time.time() - start
    lost_any = False
    for o in report.outcomes:
        if o.student != "source":
            lost_any |= round_trip_wrong(o)
            continue
        got, most = sum(c.score for c in o.cells), sum(c.max_score for c in o.cells)
        print(f"{o.week}: {got:g}/{most:g}" + (f"  error: {o.error}" if o.error else "") +
              (f"  flags: {o.flags}" if o.flags else ""))
        for c in o.cells:
            if c.score != c.max_score:
                lost_any = True
                print(f"  LOST {c.notebook} {c.grade_id} {c.score:g}/{c.max_score:g}: {c.why[:300]}")
        kinds = {}
        for cell, how in sorted(o.judged.items()):
            kind = how.split(":")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind != "probes":
                print(f"  {kind}: {cell}: {how}")
        print(f"  judged: {kinds}; the grader's own process peaked at {o.grader_peak_mib} MiB")
        lost_any |= o.error is not None or got != most
    print(f"{seconds:.0f} s for {len(weeks)} week(s)")
    return 1 if lost_any else 0


def round_trip_wrong(o) -> bool:
    """Print the release's or the mistakes' result for one week; True where a cell did not score as it should."""
    if o.student == "release":
        wrong = [c for c in o.cells if c.score != 0]
        print(f"{o.week} release: {len(o.cells) - len(wrong)} of {len(o.cells)} graded cells score 0 (all must)")
    else:
        expected = {(nb, t) for nb, tests in costs(o.week).items() for t in tests}
        cells = [c for c in o.cells if c.notebook in costs(o.week)]
        wrong = [c for c in cells if (c.score == 0) != ((c.notebook, c.grade_id) in expected)
                 or 0 < c.score < c.max_score]
        print(f"{o.week} mistakes: {len(costs(o.week))} notebooks, {len(expected)} cells to lose, "
              f"{len(cells) - len(wrong)} of {len(cells)} graded cells scored as they should")
    for c in wrong:
        print(f"  WRONG {o.student} {c.notebook} {c.grade_id} {c.score:g}/{c.max_score:g}: {(c.why or '')[:300]}")
    return bool(wrong) or o.error is not None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
