"""The mentee bundle: what ``make release`` hands out -- release notebooks and what they need to run.

``build_bundle(course, weeks)`` writes ``<grading root>/bundle/``:

* ``week*/``: the release notebooks (no solutions, no hidden tests, no outputs) and the week's
  support files;
* ``helpers/``: the course package without ``helpers/grading`` and ``helpers/book`` (mentor tooling), with every
  hidden case taken out of ``helpers/checks``: the body of each ``if hidden:`` becomes
  ``raise PermissionError(...)``, ``x if hidden else y`` becomes ``y if hidden else y``, and
  module-level constants named ``*HIDDEN*`` become empty. The visible checks run unchanged, so the
  mentee sees the same hints in the notebook; the hidden cases exist only on the mentor's side;
* ``pyproject.toml``, ``requirements.lock``, ``environment.yml`` and a README saying how to
  install and start;
* ``week*/solutions/``, only for the weeks the mentor says are closed (``make release CLOSED=week1``,
  after the deadline): the source notebooks with their solutions and outputs, hidden tests taken out.

A checks module written as exercise records (``EXERCISES``, :mod:`helpers.checks.records`) ships without
them: its visible cases, expected results and known mistakes' results are written at release time to
``helpers/checks/fixtures/<module>.pkl`` and its checks judge against those (``records.replay``); the
records, and every function only they used (the reference formulas), are left out of the module.
A graded function or class of a week that is not closed is **sealed** where nothing shipped needs it
(:func:`seal_answers`): the course's own version in ``helpers/`` (``scratch``, ``models``, ``viz``, ``steps``) becomes a
stub that says which notebook asks for it and raises, and the private helpers only it used go with it. Where a
notebook cell or another shipped module still calls it (week1/05 gradient-checks week1/03's layers, GoogLeNet is
built from ``Inception``), it stays and the release says so; ``benchmarks/answers_in_bundle.py`` counts what is left.
An answer that calls the reference of its own exercise is flagged for the mentor by the grader's scan
(``helpers.grading.scan``), never silently accepted.
"""
from __future__ import annotations

import ast
import importlib
import pickle
import re
import shutil
from pathlib import Path

from ..checks.records import fixtures
from .course import REPO, Course

HIDDEN_MESSAGE = "hidden cases are graded by your mentor; they are not part of the mentee bundle"
README = """\
# Deep into CNNs: the mentee bundle

    python3.11 -m venv .venv && .venv/bin/pip install -r requirements.lock && .venv/bin/pip install --no-deps -e .
    .venv/bin/python -m helpers.data prepare      # the datasets
    .venv/bin/python -m helpers.config install-kernel   # the course's kernel, in the reproducible CPU mode
    .venv/bin/jupyter lab                          # then open week1/00_getting_started.ipynb

The course's kernel prints the same numbers as your mentor's notebooks on an x86-64 Linux machine with AVX2
(measured: an AMD EPYC and an emulated Intel CPU); on ARM or macOS the last digits differ. For speed, `DIC_FAST=1 .venv/bin/python -m helpers.config install-kernel` installs one without it.

Each exercise has a test cell: run it to check your answer (the hints say what to fix). Your
mentor grades your notebooks with further cases of their own.
"""


class _StripHidden(ast.NodeTransformer):
    def visit_If(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Name) and node.test.id == "hidden":
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("PermissionError", ast.Load()),
                                                args=[ast.Constant(HIDDEN_MESSAGE)], keywords=[]), cause=None)]
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Name) and node.test.id == "hidden":
            node.body = node.orelse
        return node


def strip_hidden(source: str) -> str:
    """A checks module's source without its hidden cases (see the module docstring)."""
    tree = ast.parse(source)
    for i, node in enumerate(tree.body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and "HIDDEN" in t.id for t in targets):
            tree.body[i] = ast.Assign(targets=targets, value=ast.List(elts=[], ctx=ast.Load()), lineno=node.lineno)
    tree = ast.fix_missing_locations(_StripHidden().visit(tree))
    return "# mentee bundle copy: hidden cases removed (helpers.grading.bundle)\n" + ast.unparse(tree) + "\n"


def without_records(source: str, module: str) -> str:
    """A checks module's source with its ``EXERCISES`` records replaced by the release's fixtures, and every
    top-level function or constant nothing else uses any more (what only the records used) removed."""
    tree = ast.parse(source)

    def defines(node):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return {node.name}
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        return {t.id for t in targets if isinstance(t, ast.Name)}

    body = [n for n in tree.body if "EXERCISES" not in defines(n)]
    for node in body:
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "checks_of":
                call.func.id, call.args[0] = "replay", ast.parse(f"load_fixtures({module!r})", mode="eval").body
    while True:
        used = {n.id for node in body for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        used |= {a.value for node in body if "__all__" in defines(node) for a in ast.walk(node) if isinstance(a, ast.Constant)}
        dead = [n for n in body if defines(n) and not defines(n) & used and not defines(n) & {"__all__"}
                and not any(name.startswith("check_") for name in defines(n))]
        if not dead:
            break
        body = [n for n in body if n not in dead]
    at = next((i + 1 for i, n in enumerate(body) if isinstance(n, ast.ImportFrom) and n.module == "__future__"), 0)
    tree.body = body[:at] + [ast.parse("from .records import load_fixtures, replay").body[0]] + body[at:]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


GENERIC = {"forward", "__init__", "__call__", "extra_repr", "reset_parameters"}
DEFINITION = re.compile(r"^\s*(?:def|class)\s+([A-Za-z_]\w*)", re.M)
SEALED = "sealed in the mentee edition"       # every stub's message says it (benchmarks/answers_in_bundle.py skips them)


def graded_names(root: Path = REPO) -> dict[str, str]:
    """Name -> the first notebook (``weekN/NN_name.ipynb``) whose solution cells define a function or class of it:
    the whole cell counts, since the ``def`` line sits above ``### BEGIN SOLUTION``."""
    import nbformat

    from .. import course

    names: dict[str, str] = {}
    for path in course.notebooks(root):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                for name in DEFINITION.findall(cell.source):
                    if name not in GENERIC and not name.startswith("__"):
                        names.setdefault(name, path.relative_to(root).as_posix())
    return names


def _defines(node) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _uses(nodes, local=frozenset()) -> set[str]:
    """Names the nodes load or read as attributes (imports and ``__all__`` entries are not uses, nor a function's
    parameter that has the name: ``check_sigmoid(sigmoid)`` judges the learner's ``sigmoid``, not the course's)."""
    found = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs} | {x.arg for x in (a.vararg, a.kwarg) if x}
            inner = node.body if isinstance(node.body, list) else [node.body]
            found |= _uses(inner + list(a.defaults) + [d for d in a.kw_defaults if d], local | params)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        found |= _uses(ast.iter_child_nodes(node), local)
    return found


def _stub(node, notebook: str, on: str | None = None):
    """``node``'s function or class with nothing of the answer left: same name and parameters, a raise. ``on``: the
    answer an ungraded companion is built on (``adamw`` on ``adam``)."""
    what = f"built on {on}, your exercise in {notebook}" if on else f"your exercise in {notebook}"
    message = (f"{node.name} is {what}: write {on or 'it'} there. The course's version is {SEALED} "
               f"until your mentor closes {notebook.split('/')[0]}.")
    raise_ = ast.Raise(exc=ast.Call(func=ast.Name("NotImplementedError", ast.Load()), args=[ast.Constant(message)],
                                    keywords=[]), cause=None)
    doc = ast.Expr(ast.Constant(f"{what[0].upper() + what[1:]} ({SEALED})."))
    if isinstance(node, ast.ClassDef):
        init = ast.parse("def __init__(self, *args, **kwargs):\n    pass").body[0]
        init.body = [raise_]
        return ast.ClassDef(name=node.name, bases=[], keywords=[], body=[doc, init], decorator_list=[])
    args = ast.arguments(posonlyargs=[], args=[], vararg=ast.arg("args"), kwonlyargs=[], kw_defaults=[],
                         kwarg=ast.arg("kwargs"), defaults=[])
    return ast.FunctionDef(name=node.name, args=args, body=[doc, raise_], decorator_list=[], returns=None)


def seal_answers(helpers: Path, notebooks: list[Path], closed=(), root: Path = REPO,
                 graders: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Seal (see the module docstring) every graded name of a week not in ``closed`` that the edition at ``helpers``
    defines at a module's top level outside ``checks/``, unless a code cell of ``notebooks`` calls it as an
    attribute (``scratch.sigmoid``) or imports it (``from helpers.train import psnr``), or another module of the
    edition uses it; repeated until nothing changes (sealing
    ``spatial_batchnorm_forward`` frees ``batchnorm_forward``). The names of one module are sealed together, and the
    private helpers only they used go with them. One whose helper computes (:func:`_computes`: ``_adam``,
    ``_momentum``) and is still used by shipped code stays unsealed, since the answer would stay readable there;
    argument checks (``_setup``, ``_mode``) may stay. ``graders``: ``{label: source}`` of the mentor's procedural checks,
    hidden cases included, whose names count as uses too: the grader sends a function it uses by name, and the
    sandboxed kernel looks it up in this edition (``check_scratch_optimizer``'s hidden cases run ``scratch.sgd``).
    Returns ``{"sealed": [...], "kept": ["name (notebook; why)"]}``."""
    import nbformat

    open_names = {n: nb for n, nb in graded_names(root).items() if nb.split("/")[0] not in closed}
    cells = "\n".join(c.source for p in notebooks for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
    files = {p: ast.parse(p.read_text()) for p in sorted(helpers.rglob("*.py"))}
    grading = {label: _uses(ast.parse(source).body) for label, source in (graders or {}).items()}
    sealed, why, touched, also = set(), {}, set(), {}
    memo = {}

    def users_of(node) -> list[str]:
        """Who calls ``node`` (a top-level function or class): another module, the grader, a notebook cell."""
        name = node.name
        users = [p.relative_to(helpers.parent).as_posix() for p, t in files.items()
                 if any(name in _uses_of(n, memo) for n in t.body if n is not node)]
        users += [f"the grader's {label}" for label, used in grading.items() if name in used]
        users += ["a notebook"] if re.search(rf"\.\s*{name}\b|^\s*from\s+helpers[\w.]*\s+import\b[^\n]*\b{name}\b",
                                             cells, re.M) else []
        return sorted(set(users))

    changed = True
    while changed:
        changed = False
        for path, tree in files.items():
            if "checks" in path.relative_to(helpers).parts:
                continue
            candidates, on = [], {}          # on: a companion -> the answer it is built on
            for node in tree.body:
                name = node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None
                if name not in open_names or name in sealed:
                    continue
                users = users_of(node)
                if users:
                    why[name] = f"used by {', '.join(users)}"
                else:
                    candidates.append(node)
            while candidates:
                stubs = {n: _stub(n, open_names[on.get(n.name, n.name)], on.get(n.name)) for n in candidates}
                body = _drop_private([stubs.get(n, n) for n in tree.body], files, path, memo)
                left = {d: n for n in body for d in _defines(n)}
                blocked, companions = {}, []
                for node in candidates:
                    computing = sorted(d for d in _uses_of(node, memo) if d.startswith("_") and not d.startswith("__")
                                       and d in left and _computes(left[d]))
                    if not computing:
                        continue
                    # an ungraded function nothing uses, built on the same arithmetic (adamw on adam's _adam), goes too
                    near = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                            and not n.name.startswith("_") and n.name not in open_names and n not in candidates
                            and set(computing) & _uses_of(n, memo)]
                    if near and not any(users_of(n) for n in near):
                        companions += near
                        on.update({n.name: node.name for n in near})
                    else:
                        blocked[node.name] = f"its {', '.join(computing)} still used"
                if companions and not blocked:
                    candidates += [n for n in dict.fromkeys(companions)]
                    continue
                if not blocked:
                    tree.body = body
                    touched.add(path)
                    sealed |= {n.name for n in candidates if n.name not in on}
                    also.update({n.name: on[n.name] for n in candidates if n.name in on})
                    for n in candidates:
                        why.pop(n.name, None)
                    changed = True
                    break
                why.update(blocked)
                candidates = [n for n in candidates if n.name not in blocked and on.get(n.name) not in blocked]
    for path in touched:                         # the rest keep their comments
        tree = files[path]
        doc = ast.get_docstring(tree, clean=False)
        gone = sorted(n for n in sealed if doc and re.search(rf"\b{n}\b", doc))
        if gone:                                 # a module docstring that shows a sealed answer's formula or use
            tree.body[0] = ast.Expr(ast.Constant(f"Part of the course's own library; {', '.join(gone)}: your "
                                                 f"exercises, {SEALED} while their week is open."))
        path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n")
    return {"sealed": sorted(sealed), "kept": sorted(f"{n} ({open_names[n]}; {w})" for n, w in why.items()),
            "with": sorted(f"{n} (built on {b})" for n, b in also.items())}


def _computes(node) -> bool:
    """Whether a definition does arithmetic (where an answer's formula would live): ``+ - * / ** @ //`` other than
    on ``set(...)`` (a difference of key sets is bookkeeping) or on a string (formatting)."""
    ops = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.FloorDiv)

    def bookkeeping(x):
        return (isinstance(x, ast.Call) and getattr(x.func, "id", "") == "set") or \
            (isinstance(x, ast.Constant) and isinstance(x.value, str)) or isinstance(x, ast.JoinedStr)

    return any(isinstance(b, ast.BinOp) and isinstance(b.op, ops) and not (bookkeeping(b.left) or bookkeeping(b.right))
               for b in ast.walk(node))


def _uses_of(node, memo: dict) -> set[str]:
    """``_uses([node])`` of a top-level node, computed once: ``memo`` maps id(node) -> (node, uses), the node kept
    so that its id is never another's (sealing replaces nodes, it never changes one)."""
    hit = memo.get(id(node))
    if hit is None or hit[0] is not node:
        hit = memo[id(node)] = (node, _uses([node]))
    return hit[1]


def _drop_private(body, files, path, memo):
    """``body`` without its private top-level definitions (``_name``) that nothing uses any more."""
    elsewhere = set().union(*(_uses_of(n, memo) for p, t in files.items() if p != path for n in t.body))
    while True:
        used = set().union(elsewhere, *(_uses_of(n, memo) for n in body))
        dead = [n for n in body if _defines(n) and all(d.startswith("_") and not d.startswith("__") and d not in used
                                                       for d in _defines(n))]
        if not dead:
            return body
        body = [n for n in body if n not in dead]


_EDITIONS: dict = {}     # (closed weeks, sources' stamp) -> (an edition built in this process, its log line)


def _stamp(closed) -> tuple:
    """What an edition is built from: the closed weeks, and the path, size and modification time of every file under
    helpers/ and of every notebook (the references, the records, the notebooks whose cells decide what is sealed)."""
    from .. import course

    files = [p for p in sorted((REPO / "helpers").rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    return tuple(sorted(closed)), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                                        for p in files + course.notebooks())


def mentee_helpers(out: Path, closed=(), log=None) -> Path:
    """The mentee edition of the ``helpers`` package at ``out``: no ``helpers/grading`` or ``helpers/book``, no hidden case, records
    as fixtures, the answers of weeks not in ``closed`` sealed where nothing needs them (see the module docstring).
    The bundle holds it, and grading binds it into every sandboxed kernel in place of the real one. Built once per
    process and sources (about 10 s: the fixtures run every record's reference), then copied."""
    import atexit
    import tempfile

    key = _stamp(closed)
    if key not in _EDITIONS or not _EDITIONS[key][0].is_dir():
        built = Path(tempfile.mkdtemp(prefix="dic-edition-"))
        atexit.register(shutil.rmtree, built, True)
        _EDITIONS[key] = _build_edition(built / "helpers", closed)
    edition, line = _EDITIONS[key]
    shutil.copytree(edition, out)
    if log:
        log(line)
    return out


def _build_edition(out: Path, closed) -> tuple[Path, str]:
    from .. import course

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "grading", "book")
    shutil.copytree(REPO / "helpers", out, ignore=ignore)
    graders = {}                                  # the procedural checks as the grader runs them, hidden cases in
    for path in sorted((out / "checks").glob("*.py")):
        module = importlib.import_module(f"helpers.checks.{path.stem}")
        if getattr(module, "EXERCISES", None):
            (out / "checks" / "fixtures").mkdir(exist_ok=True)
            with open(out / "checks" / "fixtures" / f"{path.stem}.pkl", "wb") as f:
                pickle.dump(fixtures(module.EXERCISES), f)
            path.write_text(without_records(path.read_text(), path.stem))
        graders[f"helpers/checks/{path.name}"] = path.read_text()
        path.write_text(strip_hidden(path.read_text()))
    seals = seal_answers(out, course.notebooks(), closed, graders=graders)
    return out, (f"mentee edition: {len(seals['sealed'])} answers sealed ({', '.join(seals['sealed'])})"
                 + (f", and with them {', '.join(seals['with'])}" if seals["with"] else "")
                 + f"; {len(seals['kept'])} still readable because shipped code uses them: {'; '.join(seals['kept'])}")


def solutions(source: Path, out: Path) -> list[Path]:
    """A closed week's worked solutions for mentees: its source notebooks with the solutions and the committed
    outputs, without hidden tests (each ``### BEGIN HIDDEN TESTS`` block goes, and the outputs of the test
    cells that held one, which show them ran) and without the navigation cell (its links lead from the week's
    folder, not from ``solutions/``)."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(source).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if "navigation" not in c.get("metadata", {}).get("tags", [])]  # links from the week
        for cell in nb.cells:
            if cell.cell_type != "code" or "### BEGIN HIDDEN TESTS" not in cell.source:
                continue
            kept, hiding = [], False
            for line in cell.source.splitlines():
                if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                    hiding = line.strip().startswith("### BEGIN")
                elif not hiding:
                    kept.append(line)
            cell.source, cell.outputs, cell.execution_count = "\n".join(kept).rstrip() + "\n", [], None
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written


def build_bundle(course: Course, weeks: list[str], out: Path | None = None, log=print,
                 closed: list[str] = ()) -> Path:
    """The mentee bundle of ``weeks`` (see the module docstring); each week in ``closed`` (its deadline has
    passed: the mentor's switch, ``make release CLOSED=week1``) also gets ``<week>/solutions/``."""
    out = Path(out or course.root / "bundle")
    unknown = sorted(set(closed) - set(weeks))
    if unknown:
        raise ValueError(f"closed week(s) {', '.join(unknown)} not among the released ones ({', '.join(weeks)})")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for week in weeks:
        shutil.copytree(course.release(week), out / week)
    for week in closed:
        n = len(solutions(course.weeks_root / week, out / week / "solutions"))
        log(f"{week} is closed: {n} solution notebooks in {out / week / 'solutions'}")
    mentee_helpers(out / "helpers", closed=closed, log=log)
    for name in ("pyproject.toml", "requirements.lock", "environment.yml"):
        if (REPO / name).is_file():
            shutil.copy(REPO / name, out / name)
    (out / "README.md").write_text(README)
    log(f"mentee bundle: {out} ({', '.join(weeks)})")
    return out
