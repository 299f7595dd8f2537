"""``python -m helpers.book [--solutions] [--week WEEK ...] [--root DIR] [--jobs N]`` (``make book``)."""
from __future__ import annotations

import argparse
import sys

from . import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.book", description=__doc__)
    parser.add_argument("--solutions", action="store_true",
                        help="the mentors' edition: exercise solutions shown (hidden tests never are)")
    parser.add_argument("--week", action="append", dest="weeks", help="only this week (repeatable)")
    parser.add_argument("--root", help="output folder (default build/book, or build/book-solutions)")
    parser.add_argument("--jobs", type=int, default=1, help="Sphinx processes (default 1)")
    args = parser.parse_args(argv)
    try:
        book = build(args.solutions, args.weeks, args.root, args.jobs)
    except RuntimeError as err:
        print(f"make book: {err}", file=sys.stderr)
        return 1
    for line in book.warnings[:10]:
        print(line)
    print(book.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
