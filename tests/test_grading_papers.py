"""Choose-one notebook groups (week 3's five papers): the week counts only the best notebook of the
group, and grades.csv and report.md name it. Unit tests on synthetic scores, then one export through a
real (fixture) gradebook with the group declared for the fixture week."""
import csv

import pytest

from grading_fixtures.assignment import POINTS, WEEK, released_course
from helpers.grading import course as course_mod
from helpers.grading import results
from helpers.grading.course import CHOOSE_ONE, week_total
from helpers.grading.pipeline import Report, write_report
from helpers.grading.results import CellScore, Outcome

PAPERS = CHOOSE_ONE["week3"]["papers"]


def test_week3_declares_the_five_paper_notebooks(tmp_path):
    assert PAPERS == ("07_alexnet", "08_vgg", "09_googlenet", "10_xception", "11_resnet")
    from pathlib import Path
    week3 = Path(__file__).resolve().parents[1] / "week3"
    assert all((week3 / f"{nb}.ipynb").exists() for nb in PAPERS), "every notebook of the group exists"


def test_every_notebook_of_a_choose_one_group_is_worth_the_same_points():
    """Only the best notebook of a group counts, so a mentee's week total must not depend on which one they chose."""
    import nbformat
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for week, groups in CHOOSE_ONE.items():
        for group, members in groups.items():
            totals = {nb: sum(course_mod.nbgrader_meta(c).get("points", 0)
                              for c in course_mod.graded_cells(nbformat.read(root / week / f"{nb}.ipynb", 4)))
                      for nb in members}
            assert len(set(totals.values())) == 1, f"{week} {group}: points differ between the notebooks: {totals}"


def test_only_the_best_paper_counts():
    scores = {"01_convolution_from_scratch.ipynb": (10, 12), "07_alexnet.ipynb": (0, 4), "08_vgg.ipynb": (0, 4),
              "09_googlenet.ipynb": (3, 4), "10_xception.ipynb": (1, 4), "11_resnet.ipynb": (0, 4)}
    assert week_total("week3", scores) == (13.0, 16.0, {"papers": "09_googlenet"})


def test_one_submitted_paper_is_not_marked_down_for_the_other_four():
    only_resnet = {"07_alexnet": (0, 4), "08_vgg": (0, 4), "09_googlenet": (0, 4), "10_xception": (0, 4),
                   "11_resnet": (4, 4)}
    assert week_total("week3", only_resnet) == (4.0, 4.0, {"papers": "11_resnet"})


def test_best_is_the_highest_share_then_score_then_the_first():
    groups = {"g": ("a", "b", "c")}
    assert week_total("w", {"a": (2, 4), "b": (3, 3), "c": (3, 6)}, groups)[2] == {"g": "b"}   # 100 % beats 3/6
    assert week_total("w", {"a": (2, 4), "b": (4, 8)}, groups)[2] == {"g": "b"}                 # same share: more points
    assert week_total("w", {"a": (0, 4), "b": (0, 4), "c": (0, 4)}, groups) == (0.0, 4.0, {"g": "a"})
    assert week_total("w", {"x": (1, 2)}, groups) == (1.0, 2.0, {})                             # group absent


def test_weeks_without_a_group_add_everything():
    assert week_total("week1", {"01_a": (1, 2), "02_b": (2, 3)}) == (3.0, 5.0, {})


def _outcome(scores):
    return Outcome("ana", "week3", cells=[CellScore(f"{nb}.ipynb", f"test_{nb}", m, s) for nb, (s, m) in scores.items()])


def test_outcome_score_and_report_name_the_counted_notebook(tmp_path):
    o = _outcome({"03_visualising_conv_layers": (2, 2), "08_vgg": (4, 4), "11_resnet": (1, 4)})
    assert (o.score, o.max_score, o.counted) == (6.0, 6.0, {"papers": "08_vgg"})

    class Plan:
        def describe(self):
            return "test"

    course = course_mod.Course(root=tmp_path)
    report = Report([o], [], Plan(), tmp_path / "grades.csv")
    assert "counted papers: 08_vgg" in report.table() and "6/6" in report.table()
    text = write_report(course, report).read_text()
    assert "## Choose-one notebooks" in text and "ana / week3: papers -> 08_vgg" in text


@pytest.fixture(scope="module")
def fixture_course(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("choose_one"))


def _record(course, student, scores):
    cells = [CellScore(nb, gid, float(points), float(scores.get(nb, 0)) * float(points))
             for (nb, gid), points in POINTS.items()]
    results.record(course, Outcome(student, WEEK, cells=cells))


def test_export_counts_the_best_notebook_and_names_it(fixture_course, monkeypatch):
    plain = results.export(fixture_course, fixture_course.root / "plain.csv")
    assert "counted" not in plain.read_text().splitlines()[0], "no group declared: the header stays as it was"
    monkeypatch.setitem(CHOOSE_ONE, WEEK, {"pick": ("01_arrays", "02_more")})
    _record(fixture_course, "ana", {"01_arrays.ipynb": 1})      # 3 of 3 in 01_arrays, 0 of 1 in 02_more
    _record(fixture_course, "ben", {"02_more.ipynb": 1})        # 0 of 3, 1 of 1: the full share counts
    path = results.export(fixture_course, fixture_course.root / "grades.csv")
    with open(path) as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert list(rows["ana"])[:5] == ["student", "week", "score", "max_score", "counted"]
    assert (rows["ana"]["score"], rows["ana"]["max_score"], rows["ana"]["counted"]) == ("3", "3", "pick: 01_arrays")
    assert (rows["ben"]["score"], rows["ben"]["max_score"], rows["ben"]["counted"]) == ("1", "1", "pick: 02_more")
    assert rows["ben"][f"{WEEK}/01_arrays/test_mse"] == "0", "every exercise keeps its column"
