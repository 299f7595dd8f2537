"""What of a notebook's outputs is compared with the committed ones, and how.

In the reproducible CPU mode (``helpers.config``) every CPU measured prints the same bytes (the AMD
EPYC they are recorded on, an emulated Intel CPU: ``benchmarks/results/reproducibility.md``), so outputs are compared **exactly**: text, numbers, tables and figures (PNG bytes).
Only what is not a result is sanitised first: memory addresses, the data root and checkout
paths, torch's build suffix. Wall-clock seconds are the one kind of result that cannot repeat:
a cell that prints them carries the ``timing`` tag (cell metadata, invisible in the notebook),
and only there durations and rates are masked (and its figures, which plot them, are not compared).
A cell whose output depends on what the machine has cached rather than on what it computes
(ImageNet weights present or not) carries the ``machine`` tag and is not compared. Used by ``make run`` (helpers.runner), by
``make test`` (tests/exact_nbval.py) and by benchmarks/reproducibility.py.
"""
from __future__ import annotations

import re

TIMING_TAG = "timing"
MACHINE_TAG = "machine"

SANITIZE = (  # (pattern, replacement): things that differ between checkouts, never results
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "<ADDR>"),
    (re.compile(r"/[^\s'\"]*/data(?=[/\s'\"])"), "<DATA>"),
    (re.compile(r"/[^\s'\"]*/(week\d+(?:_\d+)*)/"), r"<REPO>/\1/"),
    (re.compile(r"(\d+\.\d+\.\d+)\+(?:cu\d+|cpu|rocm[\d.]+)\b"), r"\1"),   # torch 2.14.1+cu130 = +cpu
)
TIMING = (  # masked in `timing` cells only
    (re.compile(r" *\b\d+(?:\.\d+)?\s?(?:s|ms|sec|seconds|min)\b"), " <TIME>"),    # with the padding before it:
    (re.compile(r" *\b\d+(?:\.\d+)? ?(?:s/epoch|s/it|it/s|ms/batch|×|x)(?!\w)"), " <RATE>"),  # widths follow digits
    (re.compile(r'("\w*(?:seconds|speedup)\w*": )(?:[-+\d.eE]+|null)'), r"\1<TIME>"),   # in a [metrics] line
)
IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
SKIP = ("application/vnd.jupyter.widget-view+json",)   # widget model ids are random


def is_timing(cell) -> bool:
    return TIMING_TAG in cell.get("metadata", {}).get("tags", [])


def is_machine(cell) -> bool:
    return MACHINE_TAG in cell.get("metadata", {}).get("tags", [])


def sanitize(text: str, timing: bool = False) -> str:
    for pattern, replacement in SANITIZE + (TIMING if timing else ()):
        text = pattern.sub(replacement, text)
    return text


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def comparable(cell) -> list[tuple[str, str]]:
    """The cell's outputs as (kind, content) pairs, in order: consecutive stream outputs of one
    stream joined (how they arrive in chunks is not a result), images as their base64 text."""
    found: list[tuple[str, str]] = []
    timing = is_timing(cell)
    if is_machine(cell):
        return []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            name = f"stream:{out.get('name')}"
            if found and found[-1][0] == name:
                found[-1] = (name, found[-1][1] + _text(out.get("text", "")))
            else:
                found.append((name, _text(out.get("text", ""))))
        elif kind == "error":
            found.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
        else:
            for mime, value in sorted(out.get("data", {}).items()):
                if mime not in SKIP and not (timing and mime in IMAGES):
                    found.append((mime, value if isinstance(value, str) and mime in IMAGES else _text(value)
                                  if isinstance(value, (str, list)) else repr(value)))
    return [(kind, value if kind in IMAGES else sanitize(value, timing)) for kind, value in found]


def differences(committed, new) -> list[str]:
    """One line per output of ``new`` (a notebook) that differs from ``committed``'s, cell by cell."""
    lines = []
    code = lambda nb: [c for c in nb["cells"] if c["cell_type"] == "code"]
    old_cells, new_cells = code(committed), code(new)
    if len(old_cells) != len(new_cells):
        return [f"{len(old_cells)} code cells committed, {len(new_cells)} now: the notebook itself changed"]
    for i, (a, b) in enumerate(zip(old_cells, new_cells)):
        old, now = comparable(a), comparable(b)
        for j in range(max(len(old), len(now))):
            if j >= len(old) or j >= len(now) or old[j] != now[j]:
                kind = (old[j] if j < len(old) else now[j])[0]
                first = _first_difference(old[j][1] if j < len(old) else "", now[j][1] if j < len(now) else "")
                lines.append(f"code cell {i} output {j} ({kind}){first}")
    return lines


def _first_difference(a: str, b: str) -> str:
    if a.startswith("iVBOR") or b.startswith("iVBOR"):
        return ": the figure's pixels differ"
    for line_a, line_b in zip(a.splitlines(), b.splitlines()):
        if line_a != line_b:
            return f": committed {line_a.strip()[:80]!r}, now {line_b.strip()[:80]!r}"
    return f": {len(a.splitlines())} lines committed, {len(b.splitlines())} now"


def count(nb) -> int:
    """How many outputs of a notebook are compared (the unit of ``differences``)."""
    return sum(len(comparable(c)) for c in nb["cells"] if c["cell_type"] == "code")


def census(nb) -> dict[str, int]:
    """Outputs by how they are compared: exact, in ``timing`` cells (durations masked), in ``machine`` cells."""
    found = {"exact": 0, "timing": 0, "machine": 0}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        n = len(comparable({**cell, "metadata": {}}))
        found["machine" if is_machine(cell) else "timing" if is_timing(cell) else "exact"] += n
    return found
