"""The executed course as a static website, offline: ``python -m helpers.book [--solutions]`` (``make book``).

The committed notebooks already hold a quick-profile run's outputs (figures, tables, printed numbers),
so the book renders them as they are: Sphinx with myst-nb, execution off, no kernel. ::

    build/book/                     the mentee book (build/book-solutions/ with --solutions)
      src/                          what Sphinx reads: stripped copies, never the committed notebooks
        index.md                    the top-level README, links pointing into the book
        <week>/index.md             the week's README, its notebooks below it
        <week>/*.ipynb              for_book(nb): hidden tests gone; solutions replaced by the release's stub
        conf.py, _static/mathjax/   helpers/book/conf.py; MathJax 3 (helpers.vendor, one npm fetch, cached)
      html/                         the site: open html/index.html
      doctrees/, warnings.txt

Modules (one job each):
    strip   a source notebook made fit for the book (nbgrader's own preprocessors)
    pages   the landing page and the week pages from the READMEs, links rewritten
    check   what is wrong with a built book: leaks, missing pages or images, anything from the network
    conf    Sphinx's configuration (copied into src/)
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import course, vendor
from . import pages
from .check import check_book
from .strip import for_book

REPO = course.REPO
CONF = Path(__file__).resolve().parent / "conf.py"


@dataclass
class Book:
    root: Path
    notebooks: int
    pages: int
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def html(self) -> Path:
        return self.root / "html"

    def summary(self) -> str:
        size = sum(f.stat().st_size for f in self.html.rglob("*") if f.is_file())
        return (f"book: {self.pages} pages ({self.notebooks} notebooks), {size / 2**20:.1f} MB, built in "
                f"{self.seconds:.0f} s, {len(self.warnings)} Sphinx warnings -> {self.html / 'index.html'}")


def default_root(solutions: bool) -> Path:
    return REPO / "build" / ("book-solutions" if solutions else "book")


def prepare(src: Path, solutions: bool = False, weeks: list[str] | None = None, root: Path = REPO) -> dict:
    """Write the book's source into ``src`` (emptied first); returns {page name: source notebook}."""
    if src.exists():
        shutil.rmtree(src)
    weeks = weeks or course.weeks(root, with_notebooks=True)
    paths = {week: course.notebooks(root, [week]) for week in weeks}
    documents = {f"{week}/{nb.name}" for week, nbs in paths.items() for nb in nbs}
    sources = {}
    for week, nbs in paths.items():
        (src / week).mkdir(parents=True)
        for path in nbs:
            nb = nbformat.read(path, as_version=4)
            try:
                page = for_book(nb, solutions)
            except RuntimeError as err:    # nbgrader's: a region without its end marker, outside a graded cell
                raise RuntimeError(f"{week}/{path.name}: {err}") from err
            for cell in page.cells:        # "Week 1: all notebooks" (README.md) -> the week's page, and so on
                if cell.cell_type == "markdown":
                    cell.source = pages.relink(cell.source, week, documents, set(weeks))
            nbformat.write(page, src / week / path.name)
            sources[f"{week}/{path.stem}"] = nb
        readme = Path(root) / week / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.exists() else f"# {week}\n"
        (src / week / "index.md").write_text(
            pages.week_index(text, week, [p.stem for p in nbs], documents, weeks), encoding="utf-8")
    top = (Path(root) / "README.md").read_text(encoding="utf-8")
    (src / "index.md").write_text(pages.landing(top, weeks, documents, solutions), encoding="utf-8")
    shutil.copy2(CONF, src / "conf.py")
    mathjax = vendor.provision_mathjax()
    (src / "_static" / "mathjax").mkdir(parents=True)
    shutil.copy2(mathjax / "tex-svg-full.js", src / "_static" / "mathjax" / "tex-svg-full.js")
    return sources


def build(solutions: bool = False, weeks: list[str] | None = None, root: Path | None = None, jobs: int = 1) -> Book:
    """Prepare the source, run Sphinx, check the site; raises RuntimeError naming what is wrong (a site that
    fails its check is moved to ``html-rejected/``, so ``html/`` never holds one)."""
    start = time.perf_counter()
    root = Path(root) if root else default_root(solutions)
    for part in ("src", "html", "html-rejected", "doctrees"):
        shutil.rmtree(root / part, ignore_errors=True)   # never a page left from another edition or week
    sources = prepare(root / "src", solutions, weeks)
    warnings_file = root / "warnings.txt"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", str(jobs), "-d", str(root / "doctrees"),
           "-w", str(warnings_file), *(["-t", "solutions"] if solutions else []), str(root / "src"), str(root / "html")]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"sphinx-build failed ({run.returncode}):\n{run.stderr[-3000:]}")
    problems = check_book(root / "html", sources, solutions)
    if problems:
        (root / "html").rename(root / "html-rejected")
        raise RuntimeError(f"the book (moved to {root / 'html-rejected'}) is not fit to publish:\n  "
                           + "\n  ".join(problems[:20]))
    warnings = [line for line in warnings_file.read_text().splitlines() if "WARNING" in line or "ERROR" in line]
    documents = [p for p in (root / "html").rglob("*.html") if p.name not in {"genindex.html", "search.html"}]
    return Book(root, len(sources), len(documents), time.perf_counter() - start, warnings)
