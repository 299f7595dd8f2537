"""Feedback HTML that works offline: maths through a local MathJax, tables styled like Jupyter's.

nbgrader's ``generate_feedback`` renders each autograded notebook with nbconvert's HTMLExporter and
its ``feedback`` template. Two things in that page need more than the page itself:

* **Maths.** The template calls nbconvert's ``mathjax()`` macro without an argument, so the page
  loads MathJax 2.7.7 from cdnjs whatever ``HTMLExporter.mathjax_url`` says; offline, every formula
  stays raw TeX. :class:`FeedbackExporter` puts its own ``mathjax.html.j2`` (``templates/``) in front
  of nbconvert's: the same macro, reading ``mathjax_url``, which points *relatively* at a copy
  written beside each feedback page (``feedback/<student>/<week>/mathjax/``), so a student who opens
  the HTML from a zip still gets the maths.
* **Tables.** The feedback template replaces nbconvert's page head, and Jupyter's table style with
  it: a pandas DataFrame comes out as a bare grid. :data:`TABLE_CSS` goes inline into the page.

Which MathJax: npm's ``mathjax@3.2.2``, two files of it. ``es5/tex-svg-full.js`` (2.2 MB) is one
self-contained file: TeX input with every TeX extension built in (nothing autoloaded at run time)
and SVG output, whose glyphs are inside the script (no font files, which browsers refuse to load
from ``file://`` pages anyway). ``es5/ui/safe.js`` (11 kB) is MathJax 3's equivalent of the
``Safe`` extension nbgrader's CDN URL asks for: it filters what student TeX may do (``\\href``
to ``javascript:``, ``\\style``). Debian's ``libjs-mathjax`` (MathJax 2.7.9, apt) was the other
candidate: MathJax 2 loads its configuration, input and output jax, extensions and fonts as
separate files at run time, so a page needs the whole tree (thousands of files) beside it, and its
HTML-CSS/CHTML fonts do not load from ``file://`` in Firefox.

Provisioning is :mod:`helpers.vendor`'s (the book uses the same copy): ``npm pack`` once, both files checked
against their SHA-256, kept in ``build/vendor/mathjax-3.2.2/``; ``make release`` and ``make grade`` fill it
while a registry is in reach. When it cannot be provisioned, feedback is still written, as nbgrader writes it
(MathJax from the CDN), after one warning line.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import FileSystemLoader
from nbconvert.exporters import HTMLExporter
from traitlets import Unicode, default

from ..vendor import MATHJAX_FILES, MathJaxUnavailable, cached_mathjax, provision_mathjax
from .course import Course, run_nbgrader

MATHJAX_BESIDE = "mathjax"          # the folder next to each feedback page
TEMPLATES = Path(__file__).resolve().parent / "templates"

# Jupyter's look for pandas tables (nbconvert's classic style, which the feedback template drops):
# a rule under the header, right-aligned cells, striped rows, a highlight under the pointer.
TABLE_CSS = """\
table.dataframe { border: none; border-collapse: collapse; border-spacing: 0; margin: 0 0 1em 0;
                  font-size: 12px; color: black; table-layout: fixed; }
table.dataframe thead { border-bottom: 1px solid black; vertical-align: bottom; }
table.dataframe th, table.dataframe td { text-align: right; vertical-align: middle; padding: 0.5em;
                  line-height: normal; white-space: normal; max-width: none; border: none; }
table.dataframe th { font-weight: bold; }
table.dataframe tbody tr:nth-child(odd) { background: #f5f5f5; }
table.dataframe tbody tr:hover { background: rgba(66, 165, 245, 0.2); }
"""


def mathjax_for_feedback(log=print) -> Path | None:
    """:func:`provision_mathjax`, or None after one warning line (feedback then loads MathJax from the CDN)."""
    try:
        return provision_mathjax()
    except (MathJaxUnavailable, OSError) as err:
        log(f"WARNING: no local MathJax ({err}): feedback HTML loads it from a CDN, so offline its maths "
            "shows as raw TeX")
        return None


def generate_feedback(course: Course, week: str, mathjax: Path | None) -> None:
    """``nbgrader generate_feedback`` for ``week`` with :class:`FeedbackExporter` (local ``mathjax``, or the CDN)."""
    run_nbgrader(course, "generate_feedback", week, "--force",
                 f"--GenerateFeedback.exporter_class={__name__}.FeedbackExporter",
                 f"--FeedbackExporter.mathjax_dir={mathjax or ''}")


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback HTML with :data:`TABLE_CSS` inline and, given ``mathjax_dir``, MathJax 3 from
    a copy beside the page (``mathjax/``, written through nbconvert's ``resources['outputs']``, which
    nbgrader's writer puts next to the HTML). Used by ``make grade`` and by formgrader's *Generate
    Feedback* (``nbgrader_config.py``)."""

    mathjax_dir = Unicode(help="folder holding MATHJAX_FILES; empty: MathJax from nbgrader's CDN URL").tag(config=True)

    @default("mathjax_dir")
    def _mathjax_dir_default(self):
        return str(cached_mathjax() or "")

    @default("mathjax_url")
    def _mathjax_url_default(self):
        return f"{MATHJAX_BESIDE}/tex-svg-full.js" if self.mathjax_dir else HTMLExporter.mathjax_url.default_value

    @default("extra_loaders")
    def _extra_loaders_default(self):  # our mathjax.html.j2 before nbconvert's (MathJax 2 from the CDN)
        return [FileSystemLoader(str(TEMPLATES))] if self.mathjax_dir else []

    def _create_environment(self):
        environment = super()._create_environment()
        environment.globals["mathjax_url"] = self.mathjax_url   # macros are imported without the page's context
        return environment

    def _preprocess(self, nb, resources):
        nb, resources = super()._preprocess(nb, resources)   # nbgrader's CSSHTMLHeaderPreprocessor sets inlining
        resources.setdefault("inlining", {}).setdefault("css", []).append(TABLE_CSS)
        return nb, resources

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources, **kw)
        if self.mathjax_dir:
            outputs = resources.setdefault("outputs", {})
            for name in MATHJAX_FILES:
                outputs[f"{MATHJAX_BESIDE}/{name}"] = (Path(self.mathjax_dir) / name).read_bytes()
        return html, resources
