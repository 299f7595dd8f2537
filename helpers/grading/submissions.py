"""Finding submissions and turning each into clean notebooks for nbgrader (trusted side).

Layout: ``SUBMISSIONS/<student>/<week>/*.ipynb`` (optionally ``timestamp.txt``), or a folder of
LMS-style zips ``SUBMISSIONS/<student>[_<week>].zip``. The submission folders are only ever
read: nothing here writes below them, and symlinks in them are not followed.

Before nbgrader sees a notebook it is rebuilt from its cells (:func:`normalize`): only cell
type, source and the nbgrader metadata of cells the release knows survive; that metadata is
replaced by the release's (points, locks, schema version), unknown or malformed nbgrader
metadata is dropped, and deleted test cells are put back after the cell they followed.
nbgrader then restores the test code itself (hidden tests included) from its gradebook. Every
repair becomes a note in the report, so mentors see who edited what. Notebooks that are not
valid JSON, not notebooks, or too large count as missing; a notebook saved under another name
is matched to the release by the grade ids it contains; extra files (``numpy.py``,
``helpers.py``, data) are never copied into the grading folder.
"""
from __future__ import annotations

import copy
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from .course import CHOOSE_ONE, nbgrader_meta

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
MAX_NOTEBOOK_BYTES = 20 << 20
MAX_ZIP_BYTES = 200 << 20
MAX_ZIP_FILES = 2000


@dataclass
class Found:
    """One student's folder for one week (``folder`` None: nothing submitted)."""

    student: str
    week: str
    folder: Path | None
    notes: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    notebooks: dict[str, bytes] = field(default_factory=dict)   # release name -> normalized notebook
    student_cells: dict[str, list[str]] = field(default_factory=dict)  # name -> student-written code
    notes: list[str] = field(default_factory=list)
    timestamp: str | None = None
    missing: list[str] = field(default_factory=list)   # expected and not submitted (see ``missing``)


# -- zips ------------------------------------------------------------------------------
def _safe_id(raw: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@+-]+", "_", raw).strip("_.") or "student"


def expand_zips(folder: Path, target: Path, weeks: list[str], log=print) -> Path:
    """Extract ``folder/*.zip`` into ``target/<student>/<week>/`` (flattened, safely); return target."""
    for archive in sorted(folder.glob("*.zip")):
        stem = archive.stem
        week_hint = None
        for week in weeks:
            m = re.fullmatch(rf"(.+?)[ _-]+{re.escape(week)}", stem)
            if m:
                stem, week_hint = m.group(1), week
        student = _safe_id(stem)
        if student != archive.stem:
            log(f"{archive.name}: graded as student {student!r}")
        try:
            with zipfile.ZipFile(archive) as zf:
                members = [m for m in zf.infolist() if not m.is_dir()]
                if len(members) > MAX_ZIP_FILES or sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                    log(f"{archive.name}: too large, skipped")
                    continue
                (target / student).mkdir(parents=True, exist_ok=True)  # an empty zip: "nothing submitted"
                for member in members:
                    parts = Path(member.filename.replace("\\", "/")).parts
                    if not parts or member.filename.startswith("/") or ".." in parts or "__MACOSX" in parts:
                        continue
                    if stat.S_ISLNK(member.external_attr >> 16):
                        continue
                    week = next((p for p in parts[:-1] if p in weeks), week_hint or (weeks[0] if len(weeks) == 1 else None))
                    if week is None:
                        continue
                    dest = target / student / week / parts[-1]
                    if dest.exists():
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src:
                        dest.write_bytes(src.read(MAX_NOTEBOOK_BYTES + 1))
        except (zipfile.BadZipFile, OSError) as err:
            log(f"{archive.name}: unreadable zip ({err}), skipped")
    return target


# -- discovery ---------------------------------------------------------------------------
def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def discover(folder: Path, weeks: list[str]) -> tuple[list[Found], list[str]]:
    """Student folders x weeks. Returns what to grade and what was skipped (with reasons)."""
    found, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not _real_dir(entry):
            continue
        if not STUDENT_ID.fullmatch(entry.name):
            skipped.append(f"{entry.name!r}: not a usable student id (letters, digits, _ . @ + -)")
            continue
        loose = [p for p in entry.glob("*.ipynb") if p.is_file()]
        for week in weeks:
            week_dir = entry / week
            if _real_dir(week_dir):
                found.append(Found(entry.name, week, week_dir))
            elif loose and len(weeks) == 1:
                found.append(Found(entry.name, week, entry, [f"notebooks found directly in {entry.name}/"]))
            else:
                found.append(Found(entry.name, week, None, ["nothing submitted"]))
    return found, skipped


# -- one submission -----------------------------------------------------------------------
def _grade_ids(nb) -> set[str]:
    return {nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")}


def _load(data: bytes):
    """A notebook from untrusted bytes, or a reason it is not one."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        return None, f"not valid JSON ({type(err).__name__})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, "not a notebook (no cell list)"
    return raw, None


def _text(source) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


_MAKERS = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}


def normalize(raw: dict, release_nb, name: str) -> tuple[object, list[str], list[str]]:
    """Rebuild a submitted notebook on the release's terms.

    Returns the clean notebook, notes about what was repaired, and the code the student
    wrote (solution cells and cells the release does not know), for the static scan.
    """
    trusted = {nbgrader_meta(c)["grade_id"]: c for c in release_nb.cells if nbgrader_meta(c).get("grade_id")}
    order = [nbgrader_meta(c)["grade_id"] for c in release_nb.cells if nbgrader_meta(c).get("grade_id")]
    notes, student_code, cells, seen = [], [], [], {}
    for index, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in _MAKERS:
            notes.append(f"{name}: cell {index} is not a code/markdown/raw cell, dropped")
            continue
        source = _text(cell.get("source", ""))
        if source is None:
            notes.append(f"{name}: cell {index} has no readable source, dropped")
            continue
        kind = cell["cell_type"]
        meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell.get("metadata"), dict) else None
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        new = _MAKERS[kind](source)
        if isinstance(grade_id, str) and grade_id in trusted:
            ref = trusted[grade_id]
            new.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
            for key in ("editable", "deletable"):
                if key in ref.metadata:
                    new.metadata[key] = ref.metadata[key]
            seen[grade_id] = seen.get(grade_id, 0) + 1
            if meta != ref.metadata["nbgrader"] and _meta_tampered(meta, ref.metadata["nbgrader"]):
                notes.append(f"{name}: nbgrader metadata of {grade_id} was changed (release values used)")
            if kind != ref.cell_type:
                notes.append(f"{name}: {grade_id} was turned into a {kind} cell (restored)")
            ref_meta = ref.metadata["nbgrader"]
            if ref_meta.get("solution"):
                if kind == "code":
                    student_code.append(source)
            elif ref_meta.get("locked") and source != ref.source:
                notes.append(f"{name}: locked cell {grade_id} was edited (restored)")
        else:
            if meta is not None:
                notes.append(f"{name}: cell {index} carries unknown or malformed nbgrader metadata (ignored)")
            if kind == "code":
                student_code.append(source)
        cells.append(new)
    for grade_id, count in seen.items():
        if count > 1:  # like nbgrader: the last copy keeps the id, earlier ones become plain cells
            notes.append(f"{name}: grade id {grade_id} appears {count} times (only the last copy counts)")
            copies = [c for c in cells if nbgrader_meta(c).get("grade_id") == grade_id]
            for cell in copies[:-1]:
                for key in ("nbgrader", "editable", "deletable"):
                    cell.metadata.pop(key, None)
    cells = _restore_missing_tests(cells, release_nb, trusted, order, seen, name, notes)
    for i, cell in enumerate(cells):  # deterministic ids: the same submission normalizes the same way
        cell["id"] = f"cell-{i}"
    nb = new_notebook(cells=cells, metadata=copy.deepcopy(release_nb.metadata))
    nbformat.validate(nb)
    return nb, notes, student_code


def _meta_tampered(meta, ref: dict) -> bool:
    if not isinstance(meta, dict):
        return True
    keys = ("grade", "solution", "locked", "points", "schema_version", "task")
    return any(meta.get(k) != ref.get(k) for k in keys if k in ref or k in meta)


def _restore_missing_tests(cells, release_nb, trusted, order, seen, name, notes):
    """Put deleted test cells back after the nearest earlier cell the release knows."""
    for pos, grade_id in enumerate(order):
        ref = trusted[grade_id]
        if grade_id in seen or not nbgrader_meta(ref).get("grade"):
            continue
        anchor = next((order[j] for j in range(pos - 1, -1, -1) if order[j] in seen), None)
        index = 0
        if anchor is not None:
            index = max(i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == anchor) + 1
        restored = copy.deepcopy(ref)
        cells.insert(index, restored)
        seen[grade_id] = 1
        notes.append(f"{name}: test cell {grade_id} was missing (restored)")
    return cells


def _timestamp(path: Path, notes: list[str]) -> str | None:
    from nbgrader.utils import parse_utc

    if not path.is_file() or path.is_symlink():
        return None
    try:
        text = path.read_bytes()[:200].decode("utf-8").strip()
        value = parse_utc(text)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    except Exception:  # noqa: BLE001 - any garbage: ignore the timestamp
        notes.append("timestamp.txt is unreadable (ignored)")
        return None


def prepare(found: Found, release: dict[str, object]) -> Prepared:
    """Read one submission folder (never writing to it) and normalize what the release expects."""
    out = Prepared(notes=list(found.notes))
    if found.folder is None:
        out.missing = missing(found.week, release, set())
        return out
    files = sorted(p for p in found.folder.iterdir() if not p.name.startswith("."))
    links = [p.name for p in files if p.is_symlink()]
    if links:
        out.notes.append(f"symlinks ignored: {', '.join(links[:5])}")
    files = [p for p in files if p.is_file() and not p.is_symlink()]
    out.timestamp = _timestamp(found.folder / "timestamp.txt", out.notes)
    candidates = {}
    for path in files:
        if path.suffix != ".ipynb":
            continue
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            out.notes.append(f"{path.name}: larger than {MAX_NOTEBOOK_BYTES >> 20} MB, not graded")
            continue
        raw, problem = _load(path.read_bytes())
        if problem:
            out.notes.append(f"{path.name}: {problem}, not graded")
            continue
        candidates[path.name] = raw
    extra = [p.name for p in files if p.suffix != ".ipynb" and p.name != "timestamp.txt"]
    if extra:
        out.notes.append(f"extra files not used for grading: {', '.join(extra[:8])}")
    matched = _match(candidates, release, out.notes)
    for name, release_nb in release.items():
        if name not in matched:
            continue
        source_name, raw = matched[name]
        try:
            nb, notes, code = normalize(raw, release_nb, name)
        except Exception as err:  # noqa: BLE001 - a broken notebook must not stop the others
            out.notes.append(f"{source_name}: could not be read as a notebook ({type(err).__name__}), not graded")
            continue
        out.notes += notes
        out.student_cells[name] = code
        out.notebooks[name] = nbformat.writes(nb).encode()
    out.missing = missing(found.week, release, set(out.notebooks))
    return out


def missing(week: str, release: dict[str, object], submitted: set[str]) -> list[str]:
    """The notebooks a student was expected to submit and did not: those with graded cells (a notebook
    without any, like week 1's getting-started, is not expected), and of a choose-one group
    (``course.CHOOSE_ONE``) only the group, when none of it came ("papers: one of 07_alexnet, ...")."""
    expected = [name for name, nb in release.items() if any(nbgrader_meta(c).get("grade") for c in nb.cells)]
    out = []
    for group, members in CHOOSE_ONE.get(week, {}).items():
        names = [n for n in expected if n.removesuffix(".ipynb") in members]
        expected = [n for n in expected if n not in names]
        if names and not submitted & set(names):
            out.append(f"{group}: one of {', '.join(n.removesuffix('.ipynb') for n in names)}")
    return [n for n in expected if n not in submitted] + out


def _match(candidates: dict, release: dict, notes: list[str]) -> dict[str, tuple[str, dict]]:
    """Release notebook name -> (submitted file name, raw notebook); renamed files matched by grade ids."""
    matched, free = {}, dict(candidates)
    for name in release:
        if name in free:
            matched[name] = (name, free.pop(name))
    lower = {k.lower(): k for k in free}
    for name in release:
        if name not in matched and name.lower() in lower:
            key = lower.pop(name.lower())
            matched[name] = (key, free.pop(key))
    for name, release_nb in release.items():
        wanted = _grade_ids(release_nb)
        if name in matched or not wanted:
            continue
        scored = sorted(((len(wanted & _raw_ids(raw)), key) for key, raw in free.items()), reverse=True)
        if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            key = scored[0][1]
            matched[name] = (key, free.pop(key))
            notes.append(f"{key}: graded as {name} (renamed)")
    if free:
        notes.append(f"notebooks not in the release, ignored: {', '.join(sorted(free)[:5])}")
    return matched


def _raw_ids(raw: dict) -> set[str]:
    ids = set()
    for cell in raw.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) and isinstance(cell.get("metadata"), dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            ids.add(meta["grade_id"])
    return ids
