"""The book's markdown pages: the landing page from the top-level README, one index page per week
from the week's README, each ending with the table of contents below it.

Links are rewritten for the book: a week folder (``week1/``) or its README points to the week's
page, a notebook link to the notebook's page, and a link to anything the book does not hold
(MENTORS.md, helpers/...) keeps its text without the link. In a week's table, the notebook names of
the first column (``01_linear_regression``) become links to their pages.
"""
from __future__ import annotations

import posixpath
import re

LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
TABLE_NAME = re.compile(r"^\|\s*`([\w.-]+)`\s*\|", re.MULTILINE)
EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|#)", re.IGNORECASE)

NOTES = {
    False: "This book shows every notebook of the course as its committed quick-profile run left it "
           "(CPU, small subsets; the full profile's numbers are stated as targets). Exercise solutions "
           "are replaced by the stub your notebook has (`# YOUR CODE HERE`); the hidden tests are left out.",
    True: "**Mentors' edition**: the exercise solutions are shown (the hidden tests are not). "
          "Do not hand this book to mentees: `make book` builds theirs.",
}


def relink(markdown: str, where: str, documents: set[str], weeks: set[str]) -> str:
    """``markdown`` of a page at ``where`` (its folder in the repository, '' for the top) with every
    relative link pointing into the book (``documents``: paths of its notebooks) or unlinked."""
    def target(match: re.Match) -> str:
        text, href = match.groups()
        if EXTERNAL.match(href):
            return match.group(0)
        path, _, anchor = href.partition("#")
        resolved = posixpath.normpath(posixpath.join(where, path)).strip("/")
        if resolved in weeks or (resolved.endswith("/README.md") and resolved.split("/")[0] in weeks):
            page = f"{resolved.split('/')[0]}/index.md"
        elif resolved in documents:
            page = resolved
        else:
            return text                     # not in the book: the text stays, the link goes
        link = posixpath.relpath(page, where or ".")
        return f"[{text}]({link}{'#' + anchor if anchor else ''})"
    return LINK.sub(target, markdown)


def link_notebook_names(markdown: str, names: set[str]) -> str:
    """A week table's ``| `01_linear_regression` |`` cells become links to the notebook's page."""
    return TABLE_NAME.sub(lambda m: f"| [`{m.group(1)}`]({m.group(1)}.ipynb) |" if m.group(1) in names else m.group(0),
                          markdown)


def toctree(entries: list[str], hidden: bool = False, caption: str | None = None) -> str:
    options = [":maxdepth: 1", *([":hidden:"] if hidden else []), *([f":caption: {caption}"] if caption else [])]
    return "\n\n```{toctree}\n" + "\n".join(options) + "\n\n" + "\n".join(entries) + "\n```\n"


def landing(readme: str, weeks: list[str], documents: set[str], solutions: bool) -> str:
    """The top-level README as the book's first page: a note on what the book shows after its title,
    the weeks in the table of contents."""
    text = relink(readme, "", documents, set(weeks))
    title, _, rest = text.partition("\n")
    note = "\n```{note}\n" + NOTES[solutions] + "\n```\n"
    return f"{title}\n{note}{rest.rstrip()}\n" + toctree([f"{week}/index" for week in weeks], hidden=True,
                                                        caption="Weeks")


def week_index(readme: str, week: str, notebooks: list[str], documents: set[str], weeks: list[str]) -> str:
    """A week's README as its page, the week's notebooks below it."""
    text = relink(link_notebook_names(readme, set(notebooks)), week, documents, set(weeks))
    return text.rstrip() + "\n\n## Notebooks\n" + toctree(notebooks)
