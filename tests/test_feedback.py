"""What a grading run hands back: feedback HTML that renders offline, and a report.md of real findings.

One small graded run (module fixture) of the fixture assignment (``grading_fixtures.assignment``) with
two additions: ``00_intro.ipynb``, a notebook without graded cells (like week 1's getting started),
and a DataFrame and some maths in ``01_arrays.ipynb``. Three students: ``ann`` answers everything,
``bob`` submits a wrong ``relu`` and no ``02_more``, ``carol`` an empty folder.
"""
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_notebook

from grading_fixtures.assignment import WEEK, code, md, write_week
from grading_fixtures.tamper import CORRECT, answered
from helpers import vendor
from helpers.grading import feedback
from helpers.grading.course import Course, release
from helpers.grading.pipeline import grade
from helpers.grading.results import gradebook
from helpers.grading.sandbox import Limits
from helpers.grading.submissions import missing

MATHS = r"$$\mathrm{mse}(p, y) = \frac{1}{n}\sum_i (p_i - y_i)^2$$"
TABLE = "import pandas as pd\npd.DataFrame({'x': [1.0, -2.0], 'relu': relu(np.array([1.0, -2.0]))})"


def _course(base: Path) -> Course:
    course = Course(root=base / "grading", weeks_root=base / "weeks")
    folder = write_week(course.weeks_root)
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}
    nbformat.write(new_notebook(metadata=meta, cells=[md("intro0", "# Getting started\nNothing graded here.")]),
                   folder / "00_intro.ipynb")
    first = nbformat.read(folder / "01_arrays.ipynb", as_version=4)
    first.cells[0].source += "\n\n" + MATHS
    first.cells.append(code("table", TABLE))
    nbformat.write(first, folder / "01_arrays.ipynb")
    release(course, [WEEK], log=lambda *a: None)
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("feedback")
    course = _course(base)
    rel = {p.name: nbformat.read(p, as_version=4) for p in sorted(course.release(WEEK).glob("*.ipynb"))}
    wrong = answered(rel, {**CORRECT, "relu": "def relu(x):\n    return np.abs(x)"})
    students = {"ann": answered(rel, CORRECT), "bob": {"01_arrays.ipynb": wrong["01_arrays.ipynb"]}, "carol": {}}
    for student, nbs in students.items():
        folder = base / "submissions" / student / WEEK
        folder.mkdir(parents=True)
        for name, nb in nbs.items():
            nbformat.write(nb, folder / name)
    log = []
    try:
        mathjax = feedback.provision_mathjax()
    except feedback.MathJaxUnavailable as err:
        mathjax, log = None, [f"MathJax: {err}"]
    report = grade(course, base / "submissions", [WEEK], jobs=2, limits=Limits(cell_timeout=30, timeout=300),
                   log=log.append)
    return {"course": course, "report": report, "mathjax": mathjax, "log": log,
            "text": (course.root / "report.md").read_text()}


def _html(graded, student="ann", name="01_arrays.html") -> str:
    return (graded["course"].course / "feedback" / student / WEEK / name).read_text()


def test_feedback_loads_mathjax_from_beside_the_page(graded):
    if graded["mathjax"] is None:
        pytest.skip(f"MathJax could not be provisioned offline ({graded['log'][0]}): feedback uses the CDN")
    page = _html(graded)
    assert MATHS in page                                             # the TeX is there for MathJax to typeset
    assert not re.search(r"<script[^>]*src=\"https?://", page), "a script still comes from the network"
    assert "cdnjs" not in page and 'src="mathjax/tex-svg-full.js"' in page
    assert '"ui/safe"' in page                                       # student TeX filtered, as nbgrader's Safe did
    folder = graded["course"].course / "feedback" / "ann" / WEEK
    for name, digest in feedback.MATHJAX_FILES.items():
        assert vendor._sha256(folder / "mathjax" / name) == digest, name


def test_feedback_styles_dataframes_like_jupyter(graded):
    page = _html(graded)
    assert '<table class="dataframe">' in page
    style = page[:page.index("</head>")]
    for rule in ("table.dataframe th, table.dataframe td { text-align: right;",
                 "table.dataframe tbody tr:nth-child(odd) { background: #f5f5f5; }",
                 "table.dataframe thead { border-bottom: 1px solid black;"):
        assert rule in style, rule


def test_feedback_without_mathjax_is_still_written(graded, tmp_path, monkeypatch):
    """No MathJax to be had: one warning line, and nbgrader's page (MathJax from the CDN) all the same."""
    def offline(*a, **k):
        raise feedback.MathJaxUnavailable("`npm pack mathjax@3.2.2` failed: network unreachable")

    monkeypatch.setattr(feedback, "provision_mathjax", offline)
    lines = []
    assert feedback.mathjax_for_feedback(lines.append) is None
    assert len(lines) == 1 and "raw TeX" in lines[0] and "network unreachable" in lines[0]
    course = Course(root=tmp_path / "grading")                      # a copy: the other tests keep their pages
    shutil.copytree(graded["course"].root, course.root)
    out = course.course / "feedback" / "bob" / WEEK
    feedback.generate_feedback(course, WEEK, None)
    page = (out / "01_arrays.html").read_text()
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" in page and "table.dataframe" in page
    assert not (out / "mathjax").exists()


def test_report_lists_only_real_findings_with_student_ids(graded):
    text = graded["text"]
    assert "None" not in text
    assert "00_intro" not in text                                   # no graded cells: never expected
    sections = {m.group(1): m.group(2) for m in re.finditer(r"^## (\S+) / week0: [^\n]*\n((?:- [^\n]*\n)*)", text, re.M)}
    assert "ann" not in sections, sections                            # full marks, nothing to act on
    assert "- missing: 02_more.ipynb\n" in sections["bob"]
    assert re.search(r"- 01_arrays.ipynb/test_relu: 0/2 \(.*negative inputs become 0", sections["bob"])
    assert sections["carol"] == "- missing: 01_arrays.ipynb, 02_more.ipynb\n"
    assert "not submitted" not in text and "notebook not graded" not in text   # said once, by "missing"


def test_students_without_names_are_their_ids_and_named_ones_are_named(graded):
    course = graded["course"]
    with gradebook(course.db_url) as gb:                               # formgrader lists "last, first"
        assert {(s.id, s.last_name, s.first_name) for s in gb.students} == {
            ("ann", "ann", ""), ("bob", "bob", ""), ("carol", "carol", "")}
        gb.update_or_create_student("bob", first_name="Bob", last_name="Lee")
    from helpers.grading.pipeline import write_report

    write_report(course, graded["report"])
    text = (course.root / "report.md").read_text()
    assert "## Bob Lee (bob) / week0" in text and "## carol / week0" in text


def test_missing_knows_choose_one_groups():
    graded_nb = new_notebook(cells=[code("t", "pass")])
    graded_nb.cells[0].metadata.nbgrader.update(grade=True, points=1)
    plain = new_notebook(cells=[md("m", "# no graded cells")])
    rel = {"00_getting_started.ipynb": plain, "06_cnn.ipynb": graded_nb,
           **{f"{p}.ipynb": graded_nb for p in ("07_alexnet", "08_vgg", "09_googlenet", "10_xception", "11_resnet")}}
    assert missing("week3", rel, {"11_resnet.ipynb"}) == ["06_cnn.ipynb"]
    assert missing("week3", rel, {"06_cnn.ipynb"}) == [
        "papers: one of 07_alexnet, 08_vgg, 09_googlenet, 10_xception, 11_resnet"]
    assert missing("week1", {"00_getting_started.ipynb": plain}, set()) == []
