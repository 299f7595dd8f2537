"""Student content is made safe before mentors' browsers render it (helpers/grading/sanitize.py).

The payloads are those of the red-team pass: an ``<img/onerror>``, ``text/markdown`` outputs, entity-encoded
``javascript:`` links, ``<script>`` in markdown cells, SVG with handlers. Each is checked on the cell and
in the feedback page nbgrader renders from it (its own feedback template, through nbconvert).
"""
import re
from html.parser import HTMLParser

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import course
from helpers.grading.sanitize import clean_html, clean_markdown, sanitize_cell

class _Active(HTMLParser):
    """Parses HTML as a browser would and collects what could run: script-like elements, event-handler
    attributes, URLs with a javascript:/vbscript:/data: scheme (entities decoded, control characters
    dropped, as browsers do), CSS with url(javascript:...). Escaped text is text and does not count."""

    ELEMENTS = {"script", "iframe", "object", "embed", "svg", "math", "form", "base", "meta", "link", "style"}
    URLS = {"href", "src", "action", "formaction", "xlink:href", "data", "srcset", "poster", "background"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in self.ELEMENTS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            inert_image = tag == "img" and name == "src" and re.match(r"data:image/(png|jpeg|gif);base64,[a-z0-9+/=]*$", value)
            if name in self.URLS and re.match(r"(javascript|vbscript|data):", value) and not inert_image:
                self.found.append(f"{tag} {name}={value[:20]}")
            if name == "style" and "javascript:" in value:
                self.found.append(f"{tag} style")

    handle_startendtag = handle_starttag


def active(html: str) -> list:
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found


MARKDOWN = [
    "<script>alert(1)</script> hi",
    "<img/src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>',
    "<iframe src=https://example.org></iframe>",
    "<svg><g onload=alert(1)></g></svg>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<details open ontoggle=alert(1)>x</details>",
    "<script>alert(5)</script><img/src=x onerror=alert(6)> [x](javascript:alert(7)) <a href='jav&#x09;ascript:alert(8)'>y</a>",
]
HTML = MARKDOWN + ['<form action="javascript:alert(1)"><input type=submit></form>', "<math><mi xlink:href=javascript:alert(1)>x</mi></math>"]


def rendered(source: str) -> str:
    from nbconvert.filters import markdown2html

    return markdown2html(source)


@pytest.mark.parametrize("payload", MARKDOWN)
def test_markdown_cells_lose_what_could_run(payload):
    cell = new_markdown_cell(payload)
    sanitize_cell(cell)
    assert not active(rendered(cell.source)), rendered(cell.source)


@pytest.mark.parametrize("payload", HTML)
def test_html_outputs_lose_what_could_run(payload):
    assert not active(clean_html(payload)), clean_html(payload)


def test_outputs_markdown_svg_and_javascript():
    cell = new_code_cell("x", outputs=[
        new_output("display_data", data={"text/html": "<img/src=x onerror=alert(1)><b>ok</b>", "text/plain": "ok"}),
        new_output("display_data", data={"text/markdown": "**bold** [a](javascript:alert(3)) <img src=x onerror=alert(4)>"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload=alert(1)></svg>"}),
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "js"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
        new_output("execute_result", execution_count=1, data={
            "text/html": '<div><style scoped>.x{}</style><table class="dataframe"><tr><td>1</td></tr></table></div>'}),
    ])
    sanitize_cell(cell)
    kinds = [sorted(o.get("data", {})) for o in cell.outputs]
    assert kinds == [["text/html", "text/plain"], ["text/html"], ["text/plain"], ["text/html"]]
    html = [o["data"].get("text/html", "") for o in cell.outputs]
    assert html[0] == "<img src=\"x\"><b>ok</b>"                      # the harmless part stays
    assert "<strong>bold</strong>" in html[1] and not active(html[1])
    assert '<table class="dataframe">' in html[3] and "<style" not in html[3]


def test_the_course_markdown_passes_unchanged():
    for path in course.notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert clean_markdown(cell.source) == cell.source, f"{path.name}: {cell.source[:80]!r}"


def test_ordinary_student_markdown_keeps_its_markdown():
    answer = "The loss falls because $\\eta < 2 / L$: see [the notes](https://cs231n.github.io/).\n\n* one\n* two"
    assert clean_markdown(answer) == answer


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
# an image output's metadata and data go into the template's <img> attributes: they must not break out
IMAGE_TRICKS = [
    new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
               metadata={"image/png": {"width": '1" onerror="alert(1)', "height": "2><script>alert(2)</script>"}}),
    new_output("display_data", data={"image/png": PNG + '" onerror="alert(3)'}),
    new_output("display_data", data={"image/jpeg": "x\"><script>alert(4)</script>"}),
    new_output("display_data", data={"image/png": PNG}, metadata={"unconfined": True, "image/png": {"width": 300}}),
]


def test_image_outputs_keep_numeric_sizes_and_real_base64_only():
    cell = new_code_cell("x", outputs=[nbformat.from_dict(o) for o in IMAGE_TRICKS])
    sanitize_cell(cell)
    first, kept = cell.outputs[0], cell.outputs[-1]
    assert first.metadata == {} and first.data["image/png"] == PNG          # the size that was a script: gone
    assert len(cell.outputs) == 2        # the two whose "base64" carried markup: gone (they had nothing else)
    assert kept.metadata == {"image/png": {"width": 300}} and kept.data["image/png"] == PNG


def test_feedback_page_rendered_by_nbgrader_holds_no_student_script(tmp_path):
    """The page a mentor opens: nbgrader's feedback template over a sanitised notebook."""
    import nbgrader
    from nbconvert import HTMLExporter

    nb = new_notebook(cells=[new_markdown_cell(p) for p in MARKDOWN] + [new_code_cell("x", outputs=[
        new_output("display_data", data={"text/html": p}) for p in HTML] + [
        new_output("display_data", data={"text/markdown": p}) for p in MARKDOWN] + IMAGE_TRICKS)])
    formgrader = f"{nbgrader.__path__[0]}/server_extensions/formgrader"   # as nbgrader's GenerateFeedback sets it up
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[f"{formgrader}/templates"],
                            extra_template_paths=[f"{formgrader}/static/node_modules/bootstrap/dist/css"])
    grades = {"notebook": "04_tampered", "score": 0.0, "max_score": 5.0, "late_penalty": 0.0}

    def students_part_of_page():
        page, _ = exporter.from_notebook_node(nb, resources={"nbgrader": grades})
        body = page[page.index("<body"):]
        # the template's own scripts (MathJax, require.js) and styles are not the student's: none says alert
        return re.sub(r"<(script|style)[^>]*>(?:(?!</\1>).)*</\1>",
                      lambda m: m.group(0) if "alert" in m.group(0) else "", body, flags=re.S)

    assert len(active(students_part_of_page())) > 10       # unsanitised, the page would run the student's code
    for cell in nb.cells:
        sanitize_cell(cell)
    assert not active(students_part_of_page()), active(students_part_of_page())
    assert active('<p>ok</p><img src=x onerror=alert(1)><a href="&#106;avascript:x">y</a>') == \
        ["img onerror=", "a href=javascript:x"]              # the detector itself sees both
