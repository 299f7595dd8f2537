"""The static book (``make book``, helpers/book): week 1 built as the mentee book and as the mentors'
edition, from the committed notebooks, with nothing executed. The whole course is built and checked
by ``make book`` itself (``helpers.book.check``), which .ci/run calls.

What the mentee book must not show is checked against the source notebook, so these tests fail when a
solution or a hidden test reaches a page: a known line of a solution (``mse_grad``'s), every line of
every solution and hidden-test region (``check.secret_lines``), the markers themselves."""
import hashlib
import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers import course
from helpers.book import pages
from helpers.book.check import Page, check_book, secret_lines
from helpers.book.strip import for_book

WEEK = "week1"
NOTEBOOK = "01_linear_regression"
SOLUTION_LINE = "dw = 2.0 / n * X.T @ residual"            # mse_grad's solution
HIDDEN_LINE = "checks.check_mse(mse, hidden=True)"          # test_mse's hidden tests
FORMULA = r"L(w, b) = \frac{1}{N} \sum_{i=1}^N (\hat y_i - y_i)^2"

BOOK_PACKAGES = importlib.util.find_spec("sphinx") and importlib.util.find_spec("myst_nb")
needs_sphinx = pytest.mark.skipif(not BOOK_PACKAGES, reason="the book's packages (sphinx, myst-nb: pyproject's dev "
                                  "extra) are not installed in this environment; `make lock` + `make setup` add them")


def _sources() -> dict:
    return {f"{WEEK}/{p.stem}": nbformat.read(p, as_version=4) for p in course.notebooks(week_names=[WEEK])}


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    from helpers import vendor
    from helpers.book import build

    try:
        vendor.provision_mathjax()
    except vendor.MathJaxUnavailable as err:
        pytest.skip(f"MathJax for the book cannot be provisioned here: {err}")
    root = tmp_path_factory.mktemp("book")
    return {edition: build(edition == "solutions", [WEEK], root / edition)
            for edition in ("mentee", "solutions")}


def _lines(html: Path) -> set[str]:
    return {line for page in html.rglob("*.html") for line in Page(page.read_text()).lines}


@needs_sphinx
def test_every_notebook_of_the_week_is_a_page_linked_from_the_week(books):
    for book in books.values():
        html = book.html
        stems = [p.stem for p in course.notebooks(week_names=[WEEK])]
        assert len(stems) == 7 and book.notebooks == 7
        assert book.pages == len(stems) + 2, "the notebooks, the week's page and the landing page"
        week_page = (html / WEEK / "index.html").read_text()
        for stem in stems:
            assert (html / WEEK / f"{stem}.html").is_file(), f"{stem} has no page"
            assert f'href="{stem}.html"' in week_page
        assert 'href="week1/index.html"' in (html / "index.html").read_text()
        assert not list(html.rglob("*.ipynb")), "the site carries no notebook (a download would show everything)"


@needs_sphinx
def test_the_mentee_book_has_no_solution_and_the_mentors_edition_has(books):
    source = _sources()[f"{WEEK}/{NOTEBOOK}"]
    assert SOLUTION_LINE in "\n".join(c.source for c in source.cells), "the known solution line moved: update the test"
    mentee, mentors = _lines(books["mentee"].html), _lines(books["solutions"].html)
    assert SOLUTION_LINE not in mentee
    assert SOLUTION_LINE in mentors
    page = Page((books["mentee"].html / WEEK / f"{NOTEBOOK}.html").read_text())
    text = "\n".join(page.lines)
    assert "# YOUR CODE HERE\nraise NotImplementedError()" in text, "the stub the release hands out"
    assert "### BEGIN SOLUTION" not in text and "### END SOLUTION" not in text
    for name, nb in _sources().items():
        lines = Page((books["mentee"].html / f"{name}.html").read_text()).lines
        assert not secret_lines(nb, solutions=False) & set(lines), f"{name} shows a solution line"


@needs_sphinx
def test_no_edition_shows_hidden_tests(books):
    source = "\n".join(c.source for c in _sources()[f"{WEEK}/{NOTEBOOK}"].cells)
    assert HIDDEN_LINE in source, "the known hidden-test line moved: update the test"
    for book in books.values():
        lines = _lines(book.html)
        assert HIDDEN_LINE not in lines
        assert not any("HIDDEN TESTS" in line for line in lines)
        for name, nb in _sources().items():
            page = Page((book.html / f"{name}.html").read_text())
            assert not secret_lines(nb, solutions=True) & set(page.lines), f"{name} shows a hidden-test line"


@needs_sphinx
def test_every_image_is_in_the_site_one_per_figure(books):
    html = books["mentee"].html
    for name, nb in _sources().items():
        page = html / f"{name}.html"
        images = [ref for kind, ref in Page(page.read_text()).refs if kind == "img.src"]
        figures = sum("image/png" in out.get("data", {}) for c in nb.cells if c.cell_type == "code" for out in c.outputs)
        assert len(images) == figures, f"{name}: {len(images)} images for {figures} figures"
        for ref in images:
            assert (page.parent / ref).resolve().is_file(), f"{name}: {ref} is missing"
    assert sum(1 for _ in (html / "_images").glob("*.png")) >= 20


@needs_sphinx
def test_nothing_loads_from_the_network(books):
    for book in books.values():
        for page in book.html.rglob("*.html"):
            refs = Page(page.read_text()).refs
            assert refs, f"{page.name}: no scripts or stylesheets found: the parser is broken"
            remote = [(kind, ref) for kind, ref in refs if re.match(r"(https?:)?//", ref)]
            assert not remote, f"{page.relative_to(book.html)} loads {remote}"
        for css in book.html.rglob("*.css"):
            assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", css.read_text()), css.name


@needs_sphinx
def test_maths_is_mathjax_input_typeset_by_the_local_copy(books):
    from helpers import vendor

    html = books["mentee"].html
    page = html / WEEK / f"{NOTEBOOK}.html"
    parsed = Page(page.read_text())
    assert parsed.maths >= 10
    assert any(FORMULA in line for line in parsed.lines), "the MSE formula as TeX, for MathJax"
    scripts = [ref for kind, ref in parsed.refs if kind == "script.src"]
    assert "../_static/mathjax/tex-svg-full.js" in [ref.split("?")[0] for ref in scripts]
    local = (html / "_static" / "mathjax" / "tex-svg-full.js").read_bytes()
    assert hashlib.sha256(local).hexdigest() == vendor.MATHJAX_FILES["tex-svg-full.js"]


@needs_sphinx
def test_check_book_finds_what_must_not_be_published(books, tmp_path):
    html = tmp_path / "html"
    shutil.copytree(books["mentee"].html, html)
    assert check_book(html, _sources()) == []
    page = html / WEEK / f"{NOTEBOOK}.html"
    text = page.read_text()
    page.write_text(text.replace("</body>", f"<pre>{SOLUTION_LINE}</pre>"
                                 '<script src="https://cdn.example.org/x.js"></script>'
                                 '<img src="../_images/nowhere.png"></body>'))
    (html / WEEK / "02_data_handling.html").unlink()
    problems = "\n".join(check_book(html, _sources()))
    assert SOLUTION_LINE in problems
    assert "https://cdn.example.org/x.js" in problems and "from the network" in problems
    assert "nowhere.png" in problems
    assert "02_data_handling: no page" in problems
    assert check_book(books["solutions"].html, _sources(), solutions=True) == []
    assert "### BEGIN SOLUTION" in "\n".join(check_book(books["solutions"].html, _sources(), solutions=False))


@needs_sphinx
def test_a_book_that_fails_its_check_is_not_left_as_the_site(books, tmp_path, monkeypatch):
    import helpers.book as book

    monkeypatch.setattr(book, "for_book", lambda nb, solutions=False: nb)     # a strip that strips nothing
    with pytest.raises(RuntimeError, match="not fit to publish") as err:
        book.build(weeks=[WEEK], root=tmp_path)
    assert SOLUTION_LINE in str(err.value) or "### BEGIN SOLUTION" in str(err.value)
    assert not (tmp_path / "html").exists() and (tmp_path / "html-rejected" / "index.html").is_file()


# -- the parts that need no Sphinx ------------------------------------------------------------------------
def _cell(kind, source, outputs=(), **nbgrader):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if kind == "code":
        cell.outputs = [nbformat.v4.new_output("stream", text=text) for text in outputs]
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, "task": False, "schema_version": 3,
                                 "grade_id": nbgrader.pop("grade_id", f"c{id(cell)}"), **nbgrader}
    return cell


def test_for_book_strips_like_the_release():
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    nb.cells = [
        _cell("code", "def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION",
              outputs=["printed by the solution\n"], solution=True),
        _cell("code", "answer = 42", solution=True),                      # a whole cell is the solution
        _cell("markdown", "Because the gradient vanishes.", solution=True),
        _cell("code", "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(3) == 6\n### END HIDDEN TESTS",
              outputs=["f passed\n", "f: 4 hidden cases too\n"], grade=True, points=1),
        _cell("markdown", "Describe it.\n=== BEGIN MARK SCHEME ===\nfull marks for 'vanishes'\n=== END MARK SCHEME ===",
              task=True, points=1),
    ]
    original = nbformat.writes(nb)
    mentee, mentors = for_book(nb), for_book(nb, solutions=True)
    assert nbformat.writes(nb) == original, "the source notebook is not changed"

    assert mentee.cells[0].source == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert mentee.cells[0].outputs == []
    assert mentee.cells[1].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert mentee.cells[2].source == "YOUR ANSWER HERE"
    assert mentee.cells[3].source == "assert f(1) == 2"
    assert [o.text for o in mentee.cells[3].outputs] == ["f passed\n"]
    assert mentee.cells[4].source == "Describe it."

    assert mentors.cells[0].source == nb.cells[0].source and mentors.cells[0].outputs[0].text == "printed by the solution\n"
    assert mentors.cells[1].source == "answer = 42"
    assert mentors.cells[3].source == "assert f(1) == 2", "hidden tests are gone from the mentors' edition too"
    assert [o.text for o in mentors.cells[3].outputs] == ["f passed\n"]
    assert "MARK SCHEME" in mentors.cells[4].source


def test_every_committed_notebook_strips_to_the_release_stubs():
    for path in course.notebooks():
        nb = nbformat.read(path, as_version=4)
        mentee = for_book(nb)
        text = "\n".join(c.source for c in mentee.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME"):
            assert marker not in text, f"{path.name}: {marker}"
        secrets = secret_lines(nb, solutions=False)
        shown = {line.strip() for line in text.splitlines()}
        assert not secrets & shown, f"{path.name}: {sorted(secrets & shown)[:3]}"
        solutions = sum(bool(c.metadata.get("nbgrader", {}).get("solution")) for c in nb.cells)
        assert text.count("raise NotImplementedError()") >= solutions - text.count("YOUR ANSWER HERE")


def test_links_point_into_the_book_or_go():
    documents = {"week1/01_linear_regression.ipynb"}
    text = ("[week1](week1/) [nb](week1/01_linear_regression.ipynb) [mentors](MENTORS.md) "
            "[env](helpers/reproducible.env) [web](https://pytorch.org) [week2](week2/)")
    assert pages.relink(text, "", documents, {"week1"}) == (
        "[week1](week1/index.md) [nb](week1/01_linear_regression.ipynb) mentors env [web](https://pytorch.org) week2")
    table = "| `01_linear_regression` | MSE |\n| `99_missing` | - |"
    assert pages.link_notebook_names(table, {"01_linear_regression"}) == (
        "| [`01_linear_regression`](01_linear_regression.ipynb) | MSE |\n| `99_missing` | - |")


@needs_sphinx
def test_each_page_ends_with_links_to_its_neighbours_and_its_week(books):
    """The notebooks' navigation cells (helpers.course) point at the book's pages, not at README.md."""
    html = (books["mentee"].html / WEEK / f"{NOTEBOOK}.html").read_text()
    (paragraph,) = [p for p in re.findall(r"<p>.*?</p>", html, re.S) if "all notebooks" in p]
    assert re.findall(r'href="([^"]+)"', paragraph) == ["00_getting_started.html", "index.html", "02_data_handling.html"]
