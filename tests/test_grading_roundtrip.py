"""Round trip over the course itself: release every week, grade a real notebook of each.

Every week folder with graded notebooks is released and every released notebook is
checked (no solutions, no hidden tests, no outputs). Then one graded notebook of
each week (``SAMPLE``) goes through the whole pipeline for real: the source (solutions in place) gets
full marks, the untouched release zero on every graded cell, the source with one known mistake
(``MISTAKES``) loses the cells that mistake breaks and keeps every other point, and grades.csv lists all three.
One notebook per week keeps the budget: nbval already executes every source notebook, and
the tamper suite grades a small fixture course, so each notebook runs about once per
`make test`. Marked ``slow`` for selection (``-m "not slow"``); CI runs it.
"""
import csv
import shutil
from pathlib import Path

import nbformat
import pytest

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


# the notebook graded end to end per week: the first graded one, except where a later one has more graded cells for
# less running time (week1/03: 7 cells in ~6 s against 01's 4 in ~7 s; week5_6/03: 2 cells in ~12 s against 01's 3 in
# ~31 s, tests/durations.json), so the round trip covers 27 graded cells in about the time 25 took
SAMPLE = {"week1": "03_binary_classification.ipynb", "week5_6": "03_denoising_autoencoder.ipynb"}


# one known mistake per sampled notebook, graded as the student ``mistake`` (the source with one slip): the answer
# cell's grade_id, the solution's text and the slip that replaces it (a refactor that moves the text fails here
# loudly), and the test cells it must cost, all their points; every other graded cell keeps all of its
MISTAKES = {
    "week1": ("two_layer_loss", "dh = relu_backward(da, cache_relu)", "dh = da", {"test_two_layer_loss"}),
    "week2": ("softmax", "e = (z - z.max(dim=1, keepdim=True).values).exp()", "e = z.exp()", {"test_softmax"}),
    "week3": ("convnet_loss", "loss += 0.5 * reg * sum(", "loss += reg * sum(", {"test_convnet_loss"}),
    "week4": ("nesterov", 'next_w = w - config["learning_rate"] * (g + config["momentum"] * v)',
              'next_w = w - config["learning_rate"] * v', {"test_nesterov"}),
    "week5_6": ("denoising_step", "F.mse_loss(out, clean)", "F.mse_loss(out, noisy)", {"test_denoising_step"}),
}


def with_mistake(source: Path, week: str):
    """The sampled source notebook with the week's slip (``MISTAKES``) in its answer cell."""
    grade_id, text, slip, _ = MISTAKES[week]
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    assert cell.source.count(text) == 1, f"{source.name}: {grade_id}'s cell no longer holds {text!r} once"
    cell.source = cell.source.replace(text, slip)
    return nb


def sampled(week: str) -> Path:
    """The week's sampled notebook (``SAMPLE``), else its first graded one."""
    if week in SAMPLE and (ROOT / week / SAMPLE[week]).is_file():
        return ROOT / week / SAMPLE[week]
    return next(p for p in sorted((ROOT / week).glob("*.ipynb")) if graded_cells(nbformat.read(p, as_version=4)))


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
        shutil.copy(sampled(week), sample.weeks_root / week)
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
    assert {c.notebook for c in o.cells} == {sampled(week).name}, o.cells
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
    lost = {c.grade_id: c for c in o.cells if c.score != c.max_score}
    assert set(lost) == MISTAKES[week][3], [(c.grade_id, c.score, c.why) for c in o.cells]
    assert all(c.score == 0 and c.why for c in lost.values()), [(c.grade_id, c.score, c.why) for c in lost.values()]
    assert o.error is None and not o.flags, (o.error, o.flags)


def test_grades_are_exported(roundtrip):
    course, _, report = roundtrip
    rows = list(csv.DictReader(report.csv.read_text().splitlines()))
    students = ("mistake", "release", "source")
    assert sorted((r["student"], r["week"]) for r in rows) == sorted((s, w) for s in students for w in WEEKS)
    deserved = {("source", w): 0.0 for w in WEEKS}
    deserved.update({("mistake", o.week): sum(c.max_score for c in o.cells if c.grade_id in MISTAKES[o.week][3])
                     for o in report.outcomes if o.student == "mistake"})
    for row in rows:
        lost = deserved.get((row["student"], row["week"]), float(row["max_score"]))   # release: every point
        assert float(row["score"]) == float(row["max_score"]) - lost, row
