"""Round trip over the course itself: release every week, grade real notebooks of each.

Every week folder with graded notebooks is released and every released notebook is
checked (no solutions, no hidden tests, no outputs). Then the notebooks of ``SAMPLE`` (44 of the course's
107 graded cells) go through the whole pipeline for real, each week's as one submission: the source (solutions in
place) gets full marks, the untouched release zero on every graded cell, the source with one known mistake per
notebook (``grading_fixtures.mistakes``) loses the cells those mistakes break and keeps every other point, and
grades.csv lists all three. The sample is the graded notebooks that cost least per graded cell up to their last test
cell (grading stops there); ``benchmarks/regrade_course.py --round-trip`` grades every notebook so, by hand (about 9
minutes). nbval already executes every source notebook, and the tamper suite grades a small fixture course. Marked
``slow`` for selection (``-m "not slow"``); CI runs it.
"""
import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from grading_fixtures.mistakes import MISTAKES, costs as all_costs, with_mistake
from helpers.grading.course import Course, check_release, graded_cells, release
from helpers.grading.pipeline import grade
from helpers.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def graded_weeks() -> list[str]:
    weeks = Course(weeks_root=ROOT).weeks()
    return [w for w in weeks if any(graded_cells(nbformat.read(p, as_version=4))
                                    for p in sorted((ROOT / w).glob("*.ipynb")))]


WEEKS = graded_weeks()


# the notebooks graded end to end, per week: the cheapest per graded cell (benchmarks/results/grading_speed.md,
# 2026-12-07 21:55-23:40), 44 cells in about the time the 27 of the first five took before that day's faster start.
# Every notebook added costs ~10 s of make test's 15 minutes (three students); regrade_course.py --round-trip grades
# them all
SAMPLE = {
    "week1": ["01_linear_regression", "02_data_handling", "03_binary_classification"],
    "week2": ["02_networks_in_pytorch"],
    "week3": ["01_convolution_from_scratch", "02_filters"],
    "week4": ["01_optimizers_from_scratch", "05_lr_schedules"],
    "week5_6": ["03_denoising_autoencoder"],
}


def sampled(week: str) -> list[Path]:
    """The week's sampled notebooks (``SAMPLE``)."""
    return [ROOT / week / f"{name}.ipynb" for name in SAMPLE[week]]


def costs(week: str) -> dict[str, set[str]]:
    """The week's sampled notebooks and the test cells their mistakes (grading_fixtures.mistakes) must cost."""
    return all_costs(week, SAMPLE[week])


def test_the_sample_is_the_course_and_every_notebook_has_its_mistake():
    assert set(SAMPLE) == set(WEEKS), "a week with graded notebooks and no sample (or the reverse)"
    for week, names in SAMPLE.items():
        for path in sampled(week):
            assert path.is_file() and graded_cells(nbformat.read(path, as_version=4)), f"{path}: not a graded notebook"
        assert set(costs(week)) == {f"{n}.ipynb" for n in names}, f"{week}: a sampled notebook without its mistake"


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_every_known_mistake_still_fits_its_notebook(key):
    """Also those of the notebooks ``make test`` does not grade (``regrade_course.py --round-trip`` does): the slip's
    text is in its answer cell once, and what it must cost are test cells of that notebook."""
    week, stem = key.split("/")
    nb = with_mistake(ROOT / week / f"{stem}.ipynb", week)
    tests = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert MISTAKES[key][3] and MISTAKES[key][3] <= tests, (key, MISTAKES[key][3], tests)


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    if not WEEKS:
        pytest.skip("no week folder has graded notebooks yet")
    base = tmp_path_factory.mktemp("roundtrip")
    course = Course(root=base / "grading", weeks_root=ROOT)
    released = release(course, WEEKS, log=lambda *a: None)
    sample = Course(root=base / "sample", weeks_root=base / "weeks")   # one real notebook per week
    for week in WEEKS:
        (sample.weeks_root / week).mkdir(parents=True)
        for path in sampled(week):
            shutil.copy(path, sample.weeks_root / week)
    release(sample, WEEKS, log=lambda *a: None)
    submissions = base / "submissions"
    for week in WEEKS:
        for student, folder in (("source", sample.source(week)), ("release", sample.release(week))):
            target = submissions / student / week
            target.mkdir(parents=True)
            for nb in folder.glob("*.ipynb"):
                shutil.copy(nb, target / nb.name)
        (submissions / "mistake" / week).mkdir(parents=True)
        for nb in sample.source(week).glob("*.ipynb"):
            nbformat.write(with_mistake(nb, week), submissions / "mistake" / week / nb.name)
    report = grade(sample, submissions, WEEKS, jobs=2, limits=Limits(cell_timeout=180, timeout=1800),
                   feedback=False, stop_after_last_test=True, log=lambda *a: None)
    return course, released, report


@pytest.mark.parametrize("week", WEEKS)
def test_release_is_fit_to_hand_out(roundtrip, week):
    course, released, _ = roundtrip
    assert len(released[week]) == len(list((ROOT / week).glob("*.ipynb"))), f"{week}: not every notebook released"
    for path in released[week]:
        assert check_release(course.source(week) / path.name, path) == []


@pytest.mark.parametrize("week", WEEKS)
def test_source_gets_full_marks(roundtrip, week):
    _, _, report = roundtrip
    o = next(o for o in report.outcomes if o.student == "source" and o.week == week)
    assert {c.notebook for c in o.cells} == {p.name for p in sampled(week)}, o.cells
    lost = [(c.notebook, c.grade_id, c.why) for c in o.cells if c.score != c.max_score]
    assert not lost and o.error is None and not o.flags, (lost, o.error, o.flags)
    assert o.max_score > 0


@pytest.mark.parametrize("week", WEEKS)
def test_untouched_release_gets_zero_on_every_graded_cell(roundtrip, week):
    _, _, report = roundtrip
    o = next(o for o in report.outcomes if o.student == "release" and o.week == week)
    scored = [(c.notebook, c.grade_id) for c in o.cells if c.score != 0]
    assert not scored, f"graded cells that pass without an answer: {scored}"
    assert o.error is None


@pytest.mark.parametrize("week", WEEKS)
def test_a_known_mistake_costs_the_cells_it_breaks_and_no_other(roundtrip, week):
    _, _, report = roundtrip
    o = next(o for o in report.outcomes if o.student == "mistake" and o.week == week)
    lost = {(c.notebook, c.grade_id): c for c in o.cells if c.score != c.max_score}
    assert set(lost) == {(nb, t) for nb, tests in costs(week).items() for t in tests}, \
        [(c.notebook, c.grade_id, c.score, c.why) for c in o.cells]
    assert all(c.score == 0 and c.why for c in lost.values()), [(c.grade_id, c.score, c.why) for c in lost.values()]
    assert o.error is None and not o.flags, (o.error, o.flags)


def test_grades_are_exported(roundtrip):
    course, _, report = roundtrip
    rows = list(csv.DictReader(report.csv.read_text().splitlines()))
    students = ("mistake", "release", "source")
    assert sorted((r["student"], r["week"]) for r in rows) == sorted((s, w) for s in students for w in WEEKS)
    deserved = {("source", w): 0.0 for w in WEEKS}
    deserved.update({("mistake", o.week): sum(c.max_score for c in o.cells
                                              if c.grade_id in costs(o.week).get(c.notebook, ()))
                     for o in report.outcomes if o.student == "mistake"})
    for row in rows:
        lost = deserved.get((row["student"], row["week"]), float(row["max_score"]))   # release: every point
        assert float(row["score"]) == float(row["max_score"]) - lost, row
