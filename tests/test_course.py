"""helpers.course: the one place that knows the course's weeks."""
import subprocess
import sys

import pytest

from helpers import course, runner
from helpers.grading.course import Course


def make_weeks(root, names, notebooks=True):
    for name in names:
        (root / name).mkdir()
        if notebooks:
            (root / name / "01_a.ipynb").write_text("{}")
            (root / name / "00_b.ipynb").write_text("{}")


def test_the_repository_weeks_in_syllabus_order():
    found = course.weeks()
    assert found[:2] == ["week1", "week2"] and "week5_6" in found
    assert found == sorted(found, key=course.week_key)
    assert course.notebooks()[0].relative_to(course.REPO).as_posix() == "week1/00_getting_started.ipynb"


def test_weeks_sort_by_number_and_skip_other_folders(tmp_path):
    make_weeks(tmp_path, ["week10", "week5_6", "week2", "week1"])
    make_weeks(tmp_path, ["week3"], notebooks=False)
    for other in ("weekly", "week3_old", "notes"):
        (tmp_path / other).mkdir()
    (tmp_path / "week4").write_text("a file, not a folder")
    assert course.weeks(tmp_path) == ["week1", "week2", "week3", "week5_6", "week10"]
    assert course.weeks(tmp_path, with_notebooks=True) == ["week1", "week2", "week5_6", "week10"]
    names = [p.relative_to(tmp_path).as_posix() for p in course.notebooks(tmp_path)]
    assert names[:3] == ["week1/00_b.ipynb", "week1/01_a.ipynb", "week2/00_b.ipynb"]
    assert names[-1] == "week10/01_a.ipynb" and len(names) == 8
    assert course.notebooks(tmp_path, ["week2"]) == [tmp_path / "week2/00_b.ipynb", tmp_path / "week2/01_a.ipynb"]


def test_week_key_rejects_other_names():
    assert course.week_key("week5_6") == (5, 6) and course.week_key("week10") == (10,)
    with pytest.raises(ValueError, match="expected a week folder name like 'week3' or 'week5_6', got 'weekly'"):
        course.week_key("weekly")


def test_runner_and_grader_use_the_same_list(tmp_path):
    assert runner.notebooks() == course.notebooks()
    make_weeks(tmp_path, ["week5_6", "week1"])
    make_weeks(tmp_path, ["week3"], notebooks=False)
    assert Course(root=tmp_path / "g", weeks_root=tmp_path).weeks() == course.weeks(tmp_path, with_notebooks=True)


def test_command_line_prints_the_weeks(tmp_path):
    make_weeks(tmp_path, ["week2", "week1", "week5_6"])
    out = subprocess.run([sys.executable, "-m", "helpers.course", str(tmp_path)], capture_output=True,
                         text=True, check=True, cwd=course.REPO).stdout
    assert out == "week1 week2 week5_6\n"


# -- every notebook ends with links to the previous and next notebook and to its week's index --------------

@pytest.mark.parametrize("path", course.notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_notebook_ends_with_its_navigation_cell(path):
    import json
    import re

    last = json.loads(path.read_text())["cells"][-1]
    assert course.NAV_TAG in last["metadata"].get("tags", []), "no navigation cell: run `python -m helpers.course nav`"
    text = "".join(last["source"])
    assert text == course.navigation(path), "stale navigation cell: run `python -m helpers.course nav`"
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert "README.md" in links and all((path.parent / link).is_file() for link in links), links
    order = course.notebooks()
    i = order.index(path)
    neighbours = [order[j] for j in (i - 1, i + 1) if 0 <= j < len(order)]
    assert {(path.parent / link).resolve() for link in links if link.endswith(".ipynb")} == \
        {nb.resolve() for nb in neighbours}


def test_navigation_crosses_weeks_and_writing_it_twice_changes_nothing(tmp_path):
    import nbformat

    for week, names in {"week1": ["00_a", "01_b"], "week2": ["01_c"]}.items():
        (tmp_path / week).mkdir()
        (tmp_path / week / "README.md").write_text("index")
        for name in names:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Week {week[-1]} · {name[:2]} — Title {name}: more")])
            nbformat.write(nb, tmp_path / week / f"{name}.ipynb")
    assert len(course.write_navigation(tmp_path)) == 3 and course.write_navigation(tmp_path) == []
    text = course.navigation(tmp_path / "week1" / "01_b.ipynb", tmp_path)
    assert text == ("\u2190 [00 \u00b7 Title 00_a](00_a.ipynb) \u00b7 [Week 1: all notebooks](README.md) \u00b7 "
                    "[Week 2 \u00b7 01 \u00b7 Title 01_c](../week2/01_c.ipynb) \u2192")
    assert course.navigation(tmp_path / "week1" / "00_a.ipynb", tmp_path).startswith("the start of the course")
    assert course.navigation(tmp_path / "week2" / "01_c.ipynb", tmp_path).endswith("the end of the course")

