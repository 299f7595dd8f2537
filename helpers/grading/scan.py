"""Static scan of the code a student wrote: what a mentor should look at. It never changes a score.

Verdicts are computed in the grader's process (``helpers.grading.probe``), so patching NumPy,
torch, builtins or the checks inside the kernel cannot change them, and the scan no longer
looks for it. What is left worth a mentor's eye:

``flag``  an answer built on the course's reference implementation *of the same exercise*
          (``def relu`` that calls ``scratch.relu_forward``: the names match, or one extends the other), code that reaches for the grader
          (imports nbgrader or ``helpers.grading``; opens a gradebook or course file), or code whose target
          a static reading cannot see (``getattr`` or an import with a name computed at run time,
          ``sys.modules``): a forbidden call could hide there. The scores
          stand; the notebook is marked "needs manual grade" in the gradebook and listed in the
          report.
``note``  unusual but possibly innocent: other uses of ``helpers.scratch`` / ``models`` /
          ``checks`` (an exercise may build on an earlier week's helper), ``exec``, ``os._exit``,
          subprocesses, shell commands. Reported only.
"""
from __future__ import annotations

import ast

REFERENCE_TREES = ("helpers.scratch", "helpers.models", "helpers.checks")
GRADER_MODULES = ("helpers.grading", "nbgrader")
# the names of grader files: only inside calls that open or list files, never in prose
GRADER_FILES = ("gradebook", "nbgrader_config", "/source/", "/autograded/", "/release/", "template.db")
FILE_CALLS = {"open", "io.open", "os.open", "os.listdir", "os.scandir", "os.walk", "os.stat", "os.remove",
              "os.unlink", "os.rename", "os.replace", "shutil.copy", "shutil.copyfile", "shutil.rmtree",
              "shutil.move", "glob.glob", "Path", "pathlib.Path", "sqlite3.connect"}
NOTE_CALLS = {"exec", "eval", "compile", "__import__", "os._exit", "os.kill", "os.killpg", "os.fork", "os.system",
              "os.popen", "sys.exit", "signal.signal", "importlib.import_module"}
NOTE_MODULES = ("subprocess", "socket", "multiprocessing", "ctypes")
# calls whose target is a name: flagged when that name is computed (``getattr(torch, "soft" + "max")``)
DYNAMIC_CALLS = {"getattr", "__import__", "importlib.import_module"}
DEFAULT_ALIASES = {"np": "numpy", "torch": "torch", "sys": "sys", "os": "os", "helpers": "helpers",
                   "checks": "helpers.checks", "scratch": "helpers.scratch", "models": "helpers.models"}


def _ipython_to_python(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the raw text
        return source


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _strings(node) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


class _Scanner(ast.NodeVisitor):
    def __init__(self, aliases: dict[str, str]):
        self.aliases = dict(aliases)
        self.found: list[tuple[str, str]] = []
        self.defined: set[str] = set()      # the exercise's own functions and classes (this cell)

    def _flag(self, level: str, what: str) -> None:
        if (level, what) not in self.found:
            self.found.append((level, what))

    def _resolve(self, dotted: str | None) -> str | None:
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head)
        return (base + ("." + rest if rest else "")) if base else dotted

    def _reference(self, name: str | None) -> None:
        for tree in REFERENCE_TREES:
            if name and (name == tree or name.startswith(tree + ".")):
                leaf = name.rsplit(".", 1)[-1]
                same = sorted(d for d in self.defined if leaf == d or leaf.startswith(d + "_") or d.startswith(leaf + "_"))
                if same:
                    self._flag("flag", f"answers {same[0]} with the reference implementation {name}")
                else:
                    self._flag("note", f"uses the reference implementation ({tree})")

    def _module(self, name: str) -> None:
        self._reference(name)
        if any(name == m or name.startswith(m + ".") for m in GRADER_MODULES):
            self._flag("flag", f"imports {name}")
        elif any(name == m or name.startswith(m + ".") for m in NOTE_MODULES):
            self._flag("note", f"imports {name}")

    def visit_Import(self, node):
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            self.aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
            self._module(alias.name)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            self._reference(f"{module}.{alias.name}")
        self._module(module)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):   # a local of that name is the student's own, not a module
            self.aliases.pop(node.id, None)
        elif isinstance(node.ctx, ast.Load) and node.id in self.aliases:
            self._reference(self.aliases[node.id])

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        if self._resolve(dotted) == "sys.modules":
            self._flag("flag", "reaches modules through sys.modules (a reference implementation, the grader's own?)")
        if dotted is None:
            self.generic_visit(node)
            return
        self._reference(self._resolve(dotted))

    def visit_Call(self, node):
        name = self._resolve(_dotted(node.func))
        if name in NOTE_CALLS:
            self._flag("note", f"calls {name}")
        if name in FILE_CALLS or (name or "").endswith((".read_text", ".read_bytes", ".open")):
            texts = [s for arg in [*node.args, *[k.value for k in node.keywords]] for s in _strings(arg)]
            if any(marker in text for text in texts for marker in GRADER_FILES):
                self._flag("flag", f"reaches for grader files ({name})")
        target = node.args[1 if name == "getattr" else 0] if name in DYNAMIC_CALLS and len(node.args) > (name == "getattr") \
            else None
        if target is not None and not isinstance(target, ast.Constant):
            self._flag("flag", f"{name} with a name built at run time: the grader cannot tell what it reaches")
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("system", "getoutput") and \
                isinstance(func.value, ast.Call) and _dotted(func.value.func) == "get_ipython":
            self._flag("note", "runs a shell command")
        self.generic_visit(node)


def scan(sources: list[str]) -> list[tuple[str, str]]:
    """``[(level, description), ...]`` for the student-written code cells of one notebook."""
    scanner = _Scanner(DEFAULT_ALIASES)
    for source in sources:
        code = _ipython_to_python(source)
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            continue  # it will fail when run; nothing to judge statically
        scanner.defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                      ast.ClassDef))}
        scanner.visit(tree)
    return scanner.found
