"""In-kernel integrity guard: what a graded test cell runs before the test itself.

Student code and test code share one Python interpreter, so a notebook can try to make
tests pass by changing what they call: ``checks.check_mse = lambda *a: None``,
``np.allclose = lambda *a, **k: True``, an IPython input transformer that blanks cells,
``builtins.__import__`` wrappers, a fake module in ``sys.modules``.

The sandboxed kernel (``helpers.grading.kernel``) calls :func:`snapshot` after start-up and
before any notebook code runs. The grader rewrites every graded cell so that it first calls
:func:`before_test`, which

1. compares the protected objects with the snapshot (builtins, import machinery, NumPy and,
   when preloaded, torch; IPython's execution hooks and the kernel's methods) and fails the
   test with an ``AssertionError`` naming what changed;
2. restores ``sys.path`` (the working directory is never on it, so a student's
   ``numpy.py`` or ``helpers.py`` cannot shadow the real modules);
3. drops every ``helpers.checks*`` module from ``sys.modules``, so the test's own
   ``from helpers.checks import ...`` loads fresh copies from disk (files the kernel's user
   cannot write when grading runs as root);
4. prints a marker line with a per-run nonce; the grader fails any graded cell whose marker
   is missing (its code was altered before it ran).

This raises the bar; it is not a proof. Code that studies this module can still defeat it
from inside the interpreter (see MENTORS.md, "What remains open"), which is why the grader
also scans student cells statically (``helpers.grading.scan``) and holds such notebooks for
review.
"""
from __future__ import annotations

import builtins
import sys

MARKER = "[dic-guard {nonce} {grade_id}]"
FRESH_PREFIXES = ("helpers.checks",)
# modules whose attributes must keep their identity; "pkg.*" means every loaded submodule
MODULES = ("builtins", "math", "numpy", "numpy.*", "helpers", "torch", "torch.nn", "torch.nn.functional",
           "torch.testing", "torch.linalg")
CLASSES = ("torch.Tensor", "torch.nn.Module")
# builtins that IPython / ipykernel swap in and out around every cell
_VOLATILE_BUILTINS = {"exit", "quit", "get_ipython", "display", "input", "_", "__", "___", "__IPYTHON__"}
_SHELL_ENTRY_POINTS = ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "showtraceback",
                       "_showtraceback", "transform_cell", "should_run_async")

_state: dict = {}


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _module_names(patterns) -> list[str]:
    names = []
    for pattern in patterns:
        if pattern.endswith(".*"):
            prefix = pattern[:-1]
            names += sorted(n for n in list(sys.modules) if n.startswith(prefix))
        elif pattern in sys.modules:
            names.append(pattern)
    return [n for n in names if not _fresh(n)]


def _fresh(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in FRESH_PREFIXES)


def _attrs(namespace: dict, skip=()) -> dict:
    """Attributes to pin, minus the ``helpers.checks`` submodules that are reloaded on purpose."""
    def reloaded(value) -> bool:
        return isinstance(value, type(sys)) and _fresh(value.__name__)

    return {k: v for k, v in namespace.items() if not _is_dunder(k) and k not in skip and not reloaded(v)}


def _resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    mod = sys.modules.get(module)
    return getattr(mod, attr, None) if mod is not None else None


def _methods(obj) -> dict:
    """Identity map of the functions an object or its classes define (not data attributes)."""
    found = {}
    for klass in type(obj).__mro__:
        for name, value in vars(klass).items():
            if callable(value) or isinstance(value, (staticmethod, classmethod, property)):
                found[f"{klass.__qualname__}.{name}"] = (vars(klass), name, value)
    for name, value in vars(obj).items():
        if callable(value):
            found[f"instance.{name}"] = (vars(obj), name, value)
    return found


def snapshot(shell=None, kernel=None) -> None:
    """Record the objects graded cells rely on. Called once by the kernel launcher."""
    modules = {}
    for name in _module_names(MODULES):
        mod = sys.modules[name]
        try:
            namespace = vars(mod)
        except TypeError:
            continue
        skip = _VOLATILE_BUILTINS if name == "builtins" else ()
        modules[name] = (mod, _attrs(namespace, skip))
    classes = {}
    for dotted in CLASSES:
        klass = _resolve(dotted)
        if isinstance(klass, type):
            classes[dotted] = (klass, dict(vars(klass)))
    hooks = {}
    if shell is not None:
        hooks["input_transformers_cleanup"] = list(shell.input_transformers_cleanup)
        hooks["input_transformers_post"] = list(shell.input_transformers_post)
        hooks["ast_transformers"] = list(shell.ast_transformers)
    _state.clear()
    _state.update(
        modules=modules, classes=classes, hooks=hooks, shell=shell, kernel=kernel,
        shell_methods=_methods(shell) if shell is not None else {},
        kernel_methods=_methods(kernel) if kernel is not None else {},
        path=[p for p in sys.path if p not in ("", ".")],
        meta_path=list(sys.meta_path), path_hooks=list(sys.path_hooks),
        trace=sys.gettrace(), profile=sys.getprofile(),
    )


def _same_list(now, then) -> bool:
    return len(now) == len(then) and all(a is b for a, b in zip(now, then))


def verify() -> list[str]:
    """What differs from the snapshot, as short descriptions (empty list: intact)."""
    if not _state:
        return ["no integrity snapshot (the kernel was not started by the grader, or the guard was replaced)"]
    problems = []
    for name, (mod, attrs) in _state["modules"].items():
        if sys.modules.get(name) is not mod:
            problems.append(f"sys.modules[{name!r}] was replaced")
            continue
        namespace = vars(mod)
        missing = object()
        for key, value in attrs.items():
            if namespace.get(key, missing) is not value:
                problems.append(f"{name}.{key} was replaced")
    for dotted, (klass, attrs) in _state["classes"].items():
        namespace = vars(klass)
        for key, value in attrs.items():
            if namespace.get(key) is not value:
                problems.append(f"{dotted}.{key} was replaced")
    for label, (namespace, key, value) in {**_state["shell_methods"], **_state["kernel_methods"]}.items():
        if namespace.get(key) is not value:
            problems.append(f"IPython {label} was replaced")
    shell = _state["shell"]
    if shell is not None:
        for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
            if not _same_list(getattr(shell, name), _state["hooks"][name]):
                problems.append(f"IPython {name} were changed")
        if tuple(shell.custom_exceptions):
            problems.append("IPython custom exception handlers were installed")
        known = {label.split(".", 1)[1] for label in _state["shell_methods"] if label.startswith("instance.")}
        if shell_overrides := [k for k in _SHELL_ENTRY_POINTS if k in vars(shell) and k not in known]:
            problems.append(f"IPython shell methods were overridden: {', '.join(shell_overrides)}")
    if not _same_list(sys.meta_path, _state["meta_path"]):
        problems.append("sys.meta_path was changed")
    if not _same_list(sys.path_hooks, _state["path_hooks"]):
        problems.append("sys.path_hooks was changed")
    if sys.gettrace() is not _state["trace"] or sys.getprofile() is not _state["profile"]:
        problems.append("a trace/profile function was installed")
    return problems


def _purge_fresh_modules() -> None:
    for name in [n for n in sys.modules if _fresh(n)]:
        parent, _, child = name.rpartition(".")
        del sys.modules[name]
        if parent in sys.modules and vars(sys.modules[parent]).get(child) is not None:
            try:
                delattr(sys.modules[parent], child)
            except AttributeError:
                pass


def before_test(nonce: str, grade_id: str) -> None:
    """Run by the grader's prologue at the top of each graded cell."""
    problems = verify()
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise AssertionError(
            "grading integrity check failed: the notebook changed objects the tests rely on "
            f"({shown}). Graded answers must not modify the testing environment.")
    sys.path[:] = _state["path"]
    _purge_fresh_modules()
    builtins.print(MARKER.format(nonce=nonce, grade_id=grade_id), flush=True)


def prologue(nonce: str, grade_id: str, imports: list[str]) -> str:
    """The line the grader puts in front of a graded cell's source (one line: tracebacks stay readable)."""
    parts = [f"__import__('helpers.grading.guard', fromlist=['before_test']).before_test({nonce!r}, {grade_id!r})"]
    parts += imports
    return "; ".join(parts) + "  # added by the grader\n"
