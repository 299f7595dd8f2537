"""What is wrong with a built book (an empty list: fit to publish). ``helpers.book.build`` runs it and
fails on any problem; tests/test_book.py runs it on tampered pages too.

* every notebook became a page, with one image per PNG output of the notebook;
* no hidden test, in any edition: no marker, no line of a hidden-test region; in the mentee book no
  solution either (no ``### BEGIN SOLUTION``, no line of a solution region that the notebook does not
  also show outside one);
* every ``<img src>`` resolves to a file of the site;
* offline: no ``<script src>``, ``<link href>``, ``<img src>`` or ``<iframe>`` on another host, no
  stylesheet ``url()``/``@import`` on one;
* maths: a notebook whose markdown has TeX shows MathJax input (``class="math"``) and loads the
  local MathJax, which exists.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from helpers.grading.course import _boilerplate, _outside_regions, _region_lines

HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)
CSS_REMOTE = re.compile(r"(url\(\s*['\"]?|@import\s+['\"])(https?:)?//", re.IGNORECASE)
TEX = re.compile(r"\$[^$\s][^$]*\$|\\begin\{")


class Page(HTMLParser):
    """A page's visible text (lines) and the references it loads."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.refs: list[tuple[str, str]] = []     # (tag.attribute, value)
        self.maths = 0
        self._skip = 0
        self.feed(html)
        self.lines = [line.strip() for line in "".join(self.text).splitlines()]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        for name in ("src", "href"):
            if attrs.get(name) and (tag, name) in {("script", "src"), ("link", "href"), ("img", "src"),
                                                   ("iframe", "src"), ("source", "src")}:
                self.refs.append((f"{tag}.{name}", attrs[name]))
        if tag == "iframe":
            self.refs.append(("iframe", attrs.get("src", "")))
        if "math" in (attrs.get("class") or "").split():
            self.maths += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def secret_lines(nb, solutions: bool) -> set[str]:
    """Lines of ``nb`` a page must not show: hidden tests, and (mentee book) solutions; a line the
    notebook also shows outside every region (a signature, ``return x``) is not secret."""
    public = {line.strip() for cell in nb.cells for line in _outside_regions(cell.source)}
    regions = [HIDDEN] if solutions else [HIDDEN, SOLUTION]
    return {line for cell in nb.cells for begin, end in regions for line in _region_lines(cell.source, begin, end)
            if line not in public and not _boilerplate(line)}


def check_book(html: Path, notebooks: dict[str, object], solutions: bool = False) -> list[str]:
    """Problems of the site in ``html``; ``notebooks`` maps each page (``week1/01_x``) to its source
    notebook (the committed one, solutions inside)."""
    html = Path(html)
    problems = []
    pages = {path: Page(path.read_text(encoding="utf-8")) for path in sorted(html.rglob("*.html"))}
    markers = HIDDEN if solutions else HIDDEN + SOLUTION
    for name, nb in notebooks.items():
        path = html / f"{name}.html"
        if path not in pages:
            problems.append(f"{name}: no page")
            continue
        page = pages[path]
        text = "\n".join(page.lines)
        problems += [f"{name}: shows {marker!r}" for marker in markers if marker in text]
        leaked = sorted(secret_lines(nb, solutions) & set(page.lines))
        if leaked:
            problems.append(f"{name}: shows {'hidden-test' if solutions else 'solution or hidden-test'} lines: {leaked[:3]}")
        pngs = sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))
        imgs = sum(kind == "img.src" for kind, _ in page.refs)
        if imgs < pngs:
            problems.append(f"{name}: {imgs} images for {pngs} PNG outputs")
        has_tex = any(TEX.search(cell.source) for cell in nb.cells if cell.cell_type == "markdown")
        if has_tex and not page.maths:
            problems.append(f"{name}: the markdown has TeX but the page no MathJax input (class=\"math\")")
    for path, page in pages.items():
        where = path.relative_to(html)
        for kind, ref in page.refs:
            if kind == "iframe" or REMOTE.match(ref):
                problems.append(f"{where}: loads {kind} {ref!r} from the network")
            elif not ref.startswith(("data:", "#")):
                file = (path.parent / unquote(urlsplit(ref).path)).resolve()
                if not file.is_file():
                    problems.append(f"{where}: {kind} {ref!r} is not in the site")
        if page.maths and not any(kind == "script.src" and urlsplit(ref).path.endswith("_static/mathjax/tex-svg-full.js")
                                  for kind, ref in page.refs):
            problems.append(f"{where}: maths without the local MathJax")
    for css in sorted(html.rglob("*.css")):
        if CSS_REMOTE.search(css.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{css.relative_to(html)}: a stylesheet loads from the network")
    if not (html / "_static" / "mathjax" / "tex-svg-full.js").is_file():
        problems.append("_static/mathjax/tex-svg-full.js is missing")
    return problems
