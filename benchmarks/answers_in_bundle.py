"""What the mentee edition still gives away: ``python benchmarks/answers_in_bundle.py [--bundle DIR]``

Issue 22's goal is a mentee edition that holds no answer for a week that is still open. This measures how
far off that is. It reads the name of every function and class a solution cell of the source notebooks
defines (the whole cell: the ``def`` line sits above ``### BEGIN SOLUTION``) and looks for a definition of
the same name in the bundle's ``helpers/`` (a sealed stub, helpers.grading.bundle.seal_answers, does not count) (``make release`` writes the bundle to
``build/grading/bundle``; run it first). Prints each hit with the notebook that asks for it and the module
that answers it, then ``N of M graded names are defined in the bundle``. A hit is an answer a mentee can open
and read; a miss is not proof of safety (the same formula under another name, e.g. ``conv_forward_fast`` for
``conv_forward_naive``, is not counted). Only the bundle's top-level functions and classes count, and methods
every module has (``forward``, ``__len__``) are not looked for.

``--checks-at REV`` adds what the count cannot see, a procedural check's own reference under another name: the
lines of each checks module as the mentee edition ships it (hidden cases and records taken out, as ``make release``
does: ``bundle.strip_hidden``, ``bundle.without_records``), at commit REV and in the working tree.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from helpers.grading.bundle import SEALED, graded_names, strip_hidden, without_records  # noqa: E402

SHARED = {"__init__", "core", "records", "modules"}     # the checks' machinery, not one week's checks


def shipped_lines(rev: str | None) -> dict[str, int]:
    """Lines of each week's checks module as the mentee edition ships it, at commit ``rev`` (None: the working tree)."""
    import subprocess

    if rev is None:
        sources = {p.stem: p.read_text() for p in (ROOT / "helpers" / "checks").glob("*.py")}
    else:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "helpers/checks/"],
                                capture_output=True, text=True, check=True).stdout.split()
        sources = {Path(f).stem: subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{f}"], capture_output=True,
                                                text=True, check=True).stdout for f in listed if f.endswith(".py")}
    out = {}
    for name, src in sorted(sources.items()):
        if name not in SHARED:
            src = strip_hidden(src)
            out[name] = len((without_records(src, name) if "EXERCISES" in src else src).splitlines())
    return out


def defined_in(helpers: Path) -> dict[str, list[str]]:
    where = defaultdict(list)
    for path in sorted(helpers.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in tree.body:          # what a module offers: its top-level functions and classes, not a sealed stub
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and SEALED not in ast.unparse(node):
                where[node.name].append(str(path.relative_to(helpers.parent)))
    return where


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", default=str(ROOT / "build" / "grading" / "bundle"),
                        help="the mentee bundle (make release writes it)")
    parser.add_argument("--checks-at", metavar="REV", help="also compare the shipped checks modules' lines with commit REV")
    args = parser.parse_args(argv)
    if args.checks_at:
        before, after = shipped_lines(args.checks_at), shipped_lines(None)
        for name in sorted(set(before) | set(after)):
            print(f"helpers/checks/{name}.py as shipped: {before.get(name, 0):5d} -> {after.get(name, 0):5d}")
        print(f"all checks modules as shipped: {sum(before.values()):,} ({args.checks_at}) -> {sum(after.values()):,}")
    helpers = Path(args.bundle) / "helpers"
    if not helpers.is_dir():
        print(f"no bundle at {args.bundle}: run `make release` first")
        return 2
    names, where = graded_names(), defined_in(helpers)
    hits = {n: nb for n, nb in names.items() if n in where}
    for name, nb in sorted(hits.items(), key=lambda kv: (kv[1], kv[0])):
        print(f"{nb:45s} {name:28s} {', '.join(sorted(set(where[name])))}")
    by_module = defaultdict(int)
    for name in hits:
        for module in set(where[name]):
            by_module[module] += 1
    print("by module: " + ", ".join(f"{m} {n}" for m, n in sorted(by_module.items(), key=lambda kv: -kv[1])))
    print(f"{len(hits)} of {len(names)} graded names are defined in the bundle's helpers ({args.bundle})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
