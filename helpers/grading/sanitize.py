"""What a student wrote, made safe to show a mentor: feedback HTML and formgrader render it.

Graded notebooks hold content the student controls: markdown cells and every output (HTML,
markdown, SVG, JavaScript). nbgrader's feedback and formgrader pages render them as they are, so
``<img src=x onerror=...>``, an entity-encoded ``javascript:`` link or a ``<script>`` in a markdown
cell would run in the mentor's browser. Before nbgrader stores a graded notebook, every cell goes
through :func:`sanitize_cell`:

* HTML outputs are cleaned by nh3 (the Rust sanitiser Ammonia): only harmless tags and attributes
  stay, URLs only with safe schemes (entities are decoded before the scheme is judged);
* markdown outputs and markdown cells are rendered to HTML first (nbconvert's own renderer, math
  kept for MathJax), then cleaned; a cell whose HTML is already clean keeps its markdown;
* SVG, JavaScript and widget outputs are dropped (an SVG can carry scripts); a plain-text or PNG
  version of the same output, if any, stays;
* image data and output metadata are written into the template's ``<img>`` attributes: an image
  stays only if its data is base64, and of the metadata only numeric image widths and heights stay.
"""
from __future__ import annotations

import re
from html import escape, unescape

import nh3
from nbconvert.filters import markdown2html
from nbformat import NotebookNode

DROPPED = ("application/javascript", "text/javascript", "image/svg+xml")
# pandas tables, code listings and images keep their look; ids and classes are inert without scripts
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag in ("div", "span", "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "img", "p",
             "h1", "h2", "h3", "h4", "h5", "h6", "a"):
    ATTRIBUTES.setdefault(_tag, set()).update({"class", "title", "id"})
ATTRIBUTES.setdefault("img", set()).update({"src", "alt", "width", "height"})
SCHEMES = {"http", "https", "mailto"}
IMAGES = ("image/png", "image/jpeg", "image/gif")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def clean_html(html: str) -> str:
    """``html`` with everything that could run removed (nh3 / Ammonia)."""
    return nh3.clean(html, attributes=ATTRIBUTES, url_schemes=SCHEMES, link_rel=None)


def clean_markdown(source: str) -> str:
    """Markdown a browser can show safely once rendered: the markdown itself if its HTML needs no
    cleaning, else cleaned HTML that stays clean when the template renders it as markdown again
    (cleaning can leave text such as ``[x](javascript:...)`` that only the next rendering makes a link)."""
    for _ in range(5):
        html = markdown2html(source)
        cleaned = clean_html(html)
        # nh3 re-serialises entities (&#183; -> ·); anything else it changed was removed as unsafe
        if unescape(cleaned) == unescape(html):
            return source
        source = cleaned
    return escape(source)   # still changing: show it as text


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def _image_sizes(metadata) -> dict:
    """Of an output's metadata, only what the template needs and cannot misuse: numeric image sizes."""
    kept = {}
    for mime, value in (metadata.items() if isinstance(metadata, dict) else ()):
        if mime in IMAGES and isinstance(value, dict):
            sizes = {k: v for k, v in value.items() if k in ("width", "height")
                     and isinstance(v, (int, float)) and not isinstance(v, bool)}
            if sizes:
                kept[mime] = sizes
    return kept


def sanitize_cell(cell: NotebookNode) -> None:
    """Make one cell safe to render, in place (see the module docstring)."""
    if cell.cell_type == "markdown":
        cell.source = clean_markdown(_text(cell.source))
        return
    if cell.cell_type != "code":
        return
    kept = []
    for out in cell.get("outputs", []):
        data = out.get("data")
        if data is not None:
            for mime in [m for m in data if m in DROPPED or m.startswith("application/vnd.jupyter.widget")]:
                del data[mime]
            if "text/markdown" in data:  # rendered here, so that only cleaned HTML reaches the browser
                data["text/html"] = clean_html(markdown2html(_text(data.pop("text/markdown"))))
            if "text/html" in data:
                data["text/html"] = clean_html(_text(data["text/html"]))
            for mime in [m for m in IMAGES if m in data and not BASE64.fullmatch(_text(data[m]))]:
                del data[mime]
            if not data:
                continue
        if "metadata" in out:
            out["metadata"] = _image_sizes(out["metadata"])
        kept.append(out)
    cell.outputs = kept
