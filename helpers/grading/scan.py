"""Static scan of the code a student wrote, for what has no place in an exercise answer.

Two levels:

``tamper``  code that reaches for the grading machinery: rebinding attributes of ``helpers``,
            NumPy, torch, ``builtins`` or the import system; IPython's execution hooks
            (input/AST transformers, custom exception handlers, ``run_cell``); frame, ``gc``
            and ``ctypes`` tricks; any mention of the grader (``helpers.grading``, nbgrader).
            The notebook's scores are held at 0 and flagged "needs manual grade", so a mentor
            looks before anything counts (formgrader can override).
``note``    unusual but possibly innocent (``exec``, ``os._exit``, ``signal``, subprocesses), or an
            answer that uses the course's reference implementations (``helpers.scratch``,
            ``helpers.models``, ``helpers.checks``) instead of writing its own: reported only, for
            the mentor to judge (an exercise may legitimately build on an earlier week's helper).

The scan complements the runtime guard (``helpers.grading.guard``): the guard catches what
actually changed, the scan catches attempts aimed at the guard itself. Obfuscated code
(``exec`` of an encoded string) is only seen as a ``note`` here; the guard still applies.
"""
from __future__ import annotations

import ast

# objects whose attributes a graded answer has no business rebinding: these exactly, and anything
# inside helpers or NumPy
PROTECTED = ("builtins", "math", "torch", "torch.nn", "torch.nn.functional", "torch.testing", "torch.linalg",
             "torch.Tensor", "torch.nn.Module", "sys", "sys.modules", "sys.meta_path", "sys.path_hooks", "importlib")
PROTECTED_TREES = ("helpers", "numpy")
DEFAULT_ALIASES = {"np": "numpy", "torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn", "sys": "sys",
                   "math": "math", "builtins": "builtins", "helpers": "helpers", "checks": "helpers.checks"}
HOOK_ATTRS = {"input_transformers_cleanup", "input_transformers_post", "ast_transformers", "set_custom_exc",
              "custom_exceptions", "CustomTB", "InteractiveTB", "showtraceback", "_showtraceback", "run_cell",
              "run_cell_async", "run_code", "run_ast_nodes", "transform_cell", "display_pub", "displayhook",
              "kernel", "register_magic_function"}
TAMPER_CALLS = {"sys.settrace", "sys.setprofile", "threading.settrace", "sys._getframe", "inspect.currentframe",
                "inspect.stack", "inspect.getouterframes", "gc.get_objects", "gc.get_referrers", "gc.get_referents"}
NOTE_CALLS = {"exec", "eval", "compile", "__import__", "os._exit", "os.kill", "os.killpg", "os.fork", "os.system",
              "os.popen", "sys.exit", "exit", "quit", "signal.signal", "signal.alarm", "setattr", "delattr",
              "globals", "importlib.reload", "importlib.import_module"}
TAMPER_MODULES = ("ctypes", "helpers.grading", "nbgrader", "gc")
NOTE_MODULES = ("subprocess", "socket", "multiprocessing", "signal", "importlib", "builtins")
REFERENCE_TREES = ("helpers.scratch", "helpers.models", "helpers.checks")
GRADER_WORDS = ("helpers.grading", "nbgrader", "dic-guard", "gradebook")


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
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
        parts.append("get_ipython()")
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, aliases: dict[str, str]):
        self.aliases = dict(aliases)
        self.found: list[tuple[str, str]] = []

    def _resolve(self, dotted: str | None) -> str | None:
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head)
        return (base + ("." + rest if rest else "")) if base else dotted

    def _flag(self, level: str, what: str) -> None:
        if (level, what) not in self.found:
            self.found.append((level, what))

    def _protected(self, owner: str | None) -> bool:
        """Is ``owner`` (the object whose attribute or item is set) one of the grader's?"""
        return bool(owner) and (owner in PROTECTED or any(owner == p or owner.startswith(p + ".")
                                                          for p in PROTECTED_TREES))

    # imports --------------------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            self._module(alias.name)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            self._reference(f"{module}.{alias.name}")
        self._module(module)

    def _reference(self, name: str | None) -> None:
        for tree in REFERENCE_TREES:
            if name and (name == tree or name.startswith(tree + ".")):
                self._flag("note", f"uses the reference implementation ({tree})")

    def _module(self, name: str) -> None:
        self._reference(name)
        if any(name == m or name.startswith(m + ".") for m in TAMPER_MODULES):
            self._flag("tamper", f"imports {name}")
        elif any(name == m or name.startswith(m + ".") for m in NOTE_MODULES):
            self._flag("note", f"imports {name}")

    # rebinding -----------------------------------------------------------------------
    def _target(self, target) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._target(t)
            return
        if isinstance(target, ast.Attribute):
            name = self._resolve(_dotted(target))
            if self._protected(self._resolve(_dotted(target.value))):
                self._flag("tamper", f"rebinds {name}")
            elif target.attr in HOOK_ATTRS:
                self._flag("tamper", f"rebinds IPython's {target.attr}")
        elif isinstance(target, ast.Subscript):
            base = target.value
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "vars" and base.args:
                base = base.args[0]
            if isinstance(base, ast.Attribute) and base.attr == "__dict__":
                base = base.value
            name = self._resolve(_dotted(base))
            if self._protected(name):
                self._flag("tamper", f"writes into {name}")

    def visit_Assign(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    # calls and attributes ----------------------------------------------------------------
    def visit_Call(self, node):
        name = self._resolve(_dotted(node.func))
        if name in TAMPER_CALLS:
            self._flag("tamper", f"calls {name}")
        elif name in ("setattr", "delattr") and node.args:
            target = self._resolve(_dotted(node.args[0]))
            self._flag("tamper" if self._protected(target) else "note", f"calls {name} on {target or 'an object'}")
        elif name in NOTE_CALLS:
            self._flag("note", f"calls {name}")
        elif name and name.endswith(".system") and name.startswith("get_ipython()"):
            self._flag("note", "runs a shell command")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        self._reference(self._resolve(_dotted(node)))
        if node.attr in HOOK_ATTRS and (_dotted(node) or "").startswith("get_ipython()"):
            self._flag("tamper", f"uses IPython's {node.attr}")
        elif node.attr in {"input_transformers_cleanup", "input_transformers_post", "ast_transformers",
                           "set_custom_exc", "custom_exceptions"}:
            self._flag("tamper", f"uses IPython's {node.attr}")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == "__builtins__":
            self._flag("tamper", "uses __builtins__")

    def visit_Constant(self, node):
        if isinstance(node.value, str) and any(w in node.value for w in GRADER_WORDS):
            self._flag("tamper", "mentions the grader")


def scan(sources: list[str]) -> list[tuple[str, str]]:
    """``[(level, description), ...]`` for the student-written code cells of one notebook."""
    scanner = _Scanner(DEFAULT_ALIASES)
    for source in sources:
        code = _ipython_to_python(source)
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            continue  # it will fail when run; nothing to judge statically
        scanner.visit(tree)
    return scanner.found
