"""CPU time per graded notebook: ``make grade``'s pipeline against plain ``nbgrader autograde``.

    python benchmarks/grading_speed.py                     # week1, 3 students, --jobs 1 and 2
    python benchmarks/grading_speed.py --week week1 --students 3 --jobs 1 2

Both grade the same submissions (the week's source notebooks, solutions in place, one copy per
student) from the same release:

* ``pipeline``: ``helpers.grading.pipeline.grade`` -- graded cells judged in the grader's process,
  kernels under bubblewrap, warm nbgrader workers, feedback off;
* ``plain``: ``nbgrader autograde WEEK`` once over every student, in a plain course folder (stock
  Execute, no sandbox), which is what a course without this grader would run.

CPU seconds are the whole machine's (``/proc/stat``), so kernels, workers and nbgrader are all
counted: run it on an otherwise quiet machine. Prints one line per run and the ratio pipeline / plain,
ready for ``benchmarks/results/grading_speed.md``. The goal: a ratio of at most 1.3.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cpu() -> float:
    """CPU seconds the whole machine spent (user + nice + system, /proc/stat): run on a quiet machine.

    Not getrusage(RUSAGE_CHILDREN): a kernel under bubblewrap is reaped inside its own PID namespace and
    its CPU time never reaches this process's accounting (a first version measured 1.5 CPU-s per week-1
    notebook that way, which is the grader's share alone)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system = (int(x) for x in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def submissions(course, week: str, students: int, target: Path) -> int:
    notebooks = sorted(course.source(week).glob("*.ipynb"))
    for i in range(students):
        folder = target / f"student{i + 1}" / week
        folder.mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(nb, folder / nb.name)
    return len(notebooks) * students


def pipeline(course, subs: Path, week: str, jobs: int) -> tuple[float, float]:
    from helpers.grading.pipeline import grade
    from helpers.grading.sandbox import Limits

    wall, used = time.perf_counter(), cpu()
    grade(course, subs, [week], jobs=jobs, limits=Limits(cell_timeout=600, timeout=3600), feedback=False,
          log=lambda *a: None)
    return time.perf_counter() - wall, cpu() - used


def plain(course, subs: Path, week: str, base: Path) -> tuple[float, float]:
    """Stock nbgrader in a folder of its own: the same gradebook, source and release, no sandbox."""
    root = base / "plain"
    shutil.copytree(course.course / "source", root / "source")
    shutil.copytree(course.course / "release", root / "release")
    shutil.copy(course.gradebook, root / "gradebook.db")
    shutil.copytree(subs, root / "submitted")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gradebook.db'}'\n"
        "c.Autograde.create_student = True\n"
        "c.ExecutePreprocessor.timeout = 600\n")
    env = {**os.environ, "DIC_PROFILE": "quick", "DIC_QUIET": "1", "DIC_THREADS": "1", "PYTHONPATH": str(REPO),
           "DIC_GRADING_SANDBOX": "1", "JUPYTER_CONFIG_DIR": str(root / "jupyter-config")}
    wall, used = time.perf_counter(), cpu()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", week, "--force"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - wall, cpu() - used


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--week", default="week1")
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    from helpers.grading.course import Course, release

    os.environ.update(DIC_QUIET="1", DIC_PROFILE="quick", DIC_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="dic-grading-bench-") as tmp:
        base = Path(tmp)
        os.chmod(base, 0o711)
        course = Course(root=base / "grading", weeks_root=REPO)
        release(course, [args.week], log=lambda *a: None)
        subs = base / "subs"
        n = submissions(course, args.week, args.students, subs)
        print(f"# {args.week}: {args.students} students x {n // args.students} notebooks = {n} graded notebooks")
        print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.platform()}; "
              f"python {platform.python_version()}; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
        print(f"# command: python benchmarks/grading_speed.py --week {args.week} --students {args.students} "
              f"--jobs {' '.join(map(str, args.jobs))}")
        wall, used = plain(course, subs, args.week, base)
        base_cpu = used / n
        print(f"plain nbgrader autograde   wall {wall:7.1f} s   CPU {used:7.1f} s   {base_cpu:5.2f} CPU-s/notebook")
        for jobs in args.jobs:
            wall, used = pipeline(course, subs, args.week, jobs)
            print(f"pipeline --jobs {jobs}          wall {wall:7.1f} s   CPU {used:7.1f} s   {used / n:5.2f} CPU-s/notebook"
                  f"   ratio {used / n / base_cpu:4.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
