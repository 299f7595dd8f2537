"""The one checks core every week's checks are written with.

A check runs the student's function on fixed inputs through :func:`call` (the release stub's
``NotImplementedError`` becomes "not answered yet"; any crash becomes an ``AssertionError`` naming
the function, the exception and the hint), then compares the result with :func:`compare`: right
answers pass, an answer equal to a known mistake fails with that mistake's hint, anything else
fails with the general hint and how far off it is. Models are checked with
:func:`check_param_count` and :func:`check_output_shape`. Every check is wrapped in
:func:`isolated`, so running it never shifts the random numbers the rest of a notebook prints.

Comparisons convert the student's result to a float NumPy array first, so an object that claims
to equal everything (``__eq__`` returning True) cannot pass.
"""
from __future__ import annotations

import contextlib
import functools
import numbers
import tempfile
from pathlib import Path
from tokenize import TokenError

import numpy as np

__all__ = [
    "CheckFailure", "as_array", "as_scalar", "expect", "close", "same", "compare", "unchanged",
    "call", "class_names", "not_implemented_guard", "returns_tuple", "forbidden", "forbid", "forbidden_uses", "isolated", "is_subclass", "drive", "scratch_folder", "file_bytes",
    "check_param_count", "check_output_shape",
]


class CheckFailure(AssertionError):
    """Raised by the check machinery itself (not by the student's code): passed on unchanged.

    In Jupyter a learner sees only the hint, a few lines (IPython shows what ``_render_traceback_``
    returns instead of the traceback): no frame of helpers' source, which would show the reference.
    """

    MAX_LINES = 12
    WIDTH = 100

    def _render_traceback_(self) -> list[str]:
        import textwrap

        body = [piece for line in str(self).splitlines() for piece in (textwrap.wrap(line, self.WIDTH) or [""])]
        if len(body) > self.MAX_LINES - 1:
            body = body[:self.MAX_LINES - 2] + ["..."]
        return ["\x1b[0;31mcheck failed\x1b[0m"] + body


NOT_ANSWERED = "this exercise is not answered yet: replace `raise NotImplementedError()`"


def _name(fn) -> str:
    return getattr(fn, "__name__", None) or "your function"


# --------------------------------------------------------------------------------------------
# converting and comparing results
# --------------------------------------------------------------------------------------------

def as_array(value, what: str) -> np.ndarray:
    """The student's result as a float64 array, or an AssertionError saying what it was."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if type(value) not in (np.ndarray, float, int, np.float64, np.float32, np.int64, list, tuple) and not np.isscalar(value):
        raise CheckFailure(f"{what} should be a number or a NumPy array, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CheckFailure(f"{what} should be a number or a NumPy array of numbers, got {type(value).__name__}") from err
    return arr


def as_scalar(value, what: str, *, integer: bool = False) -> float:
    """One number from the student's result (a float, a 0-d/1-element array or tensor).

    integer: the answer is a count or a size, so it must be an int (Python or NumPy integer, or an
    integer tensor), not a float that happens to be whole.
    """
    if integer:
        is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        dtype = getattr(value, "dtype", None)
        if dtype is not None and getattr(value, "ndim", 1) == 0:
            is_int = is_int or str(dtype).replace("torch.", "").startswith(("int", "uint"))
        if not is_int:
            raise CheckFailure(f"{what} should be an int, got {type(value).__name__} {value!r}: "
                               "a size or a count is a whole number (use // and int, not /)")
    arr = as_array(value, what)
    if arr.size != 1:
        raise CheckFailure(f"{what} should be one number, got an array of shape {arr.shape}")
    return float(arr.reshape(-1)[0])


def expect(condition: bool, hint: str) -> None:
    """Fail with ``hint`` unless ``condition`` holds."""
    if not bool(condition):
        raise CheckFailure(hint)


def close(actual, expected, hint: str, what: str = "the result", *, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Assert ``actual`` has ``expected``'s shape, is finite and matches it; else fail with ``hint``."""
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise CheckFailure(f"{what} has shape {a.shape}, expected {e.shape}. {hint}")
    if not np.all(np.isfinite(a)) and np.all(np.isfinite(e)):
        raise CheckFailure(f"{what} contains NaN or inf. {hint}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        worst = np.nanmax(np.abs(a - e)) if np.any(np.isfinite(a - e)) else np.inf
        bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()
        first = f" (first at index {list(where)}: yours {a[where]:.6g})" if where else ""
        raise CheckFailure(f"{what} is off by up to {worst:.3g}{first}. {hint}")


def same(a, b, *, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """Whether two results agree in shape and value (NaN equals NaN): for matching known mistakes."""
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def compare(actual, expected, what: str, hint: str, mistakes=(), *, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Like :func:`close`, but an answer equal to a known mistake fails with that mistake's hint.

    mistakes: ``(wrong_value, why)`` pairs, tried in order; ``wrong_value`` None is skipped. A
    mistake that equals the right answer for this input (e.g. the mean of one number) never fires.
    """
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape == e.shape and np.all(np.isfinite(a) == np.isfinite(e)) and np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return
    for wrong, why in mistakes:
        if wrong is not None and not same(wrong, e, rtol=rtol, atol=atol) and same(a, wrong, rtol=rtol, atol=atol):
            raise CheckFailure(f"{what} is wrong: {why}")
    close(a, e, hint, what, rtol=rtol, atol=atol)


def unchanged(before, after, hint: str) -> None:
    """Fail with ``hint`` if the student's function changed an input in place."""
    if hasattr(before, "detach"):
        before, after = before.detach().cpu().numpy(), after.detach().cpu().numpy()
    before, after = np.asarray(before), np.asarray(after)
    expect(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"), hint)   # NaN equals NaN; strings too


# --------------------------------------------------------------------------------------------
# calling the student's function
# --------------------------------------------------------------------------------------------

def not_implemented_guard(fn, *args, **kwargs):
    """Call ``fn``; turn the release stub's NotImplementedError into a clear failure (nothing else)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise CheckFailure(NOT_ANSWERED) from err


def call(fn, *args, hint: str = "", fp_traps: bool = False, errors=(), **kwargs):
    """Call the student's ``fn(*args, **kwargs)`` and return its result.

    - the release stub (``NotImplementedError``) fails as "not answered yet";
    - a crash fails with "<fn> raised <Type>: <message>. <hint>";
    - errors: ``(exception type, text in the message, why)`` triples: a crash that matches one fails
      with that ``why`` instead (a known mistake recognised by how it crashes);
    - fp_traps: run under ``np.errstate(over/invalid/divide="raise")``, so an overflowing exp, a
      log(0) or a 0/0 is caught where it happens.
    Failures raised by the check machinery (:class:`CheckFailure`) pass through unchanged.
    """
    try:
        if fp_traps:
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    except CheckFailure:
        raise
    except NotImplementedError as err:
        raise CheckFailure(NOT_ANSWERED) from err
    except FloatingPointError as err:
        raise CheckFailure(f"{_name(fn)} hit a floating-point error (NumPy: {err}): an overflowing exp, "
                           f"a log(0) or a 0/0. {hint}") from err
    except Exception as err:  # noqa: BLE001 - the student's code crashed: say where to look
        for kind, text, why in errors:
            if isinstance(err, kind) and text in str(err):
                raise CheckFailure(f"{_name(fn)} raised {type(err).__name__}: {why} ({str(err)[:200]})") from err
        raise CheckFailure(f"{_name(fn)} raised {type(err).__name__}: {str(err)[:300]}. {hint}") from err


def is_subclass(cls, base) -> bool:
    """``isinstance(cls, type) and issubclass(cls, base)``, also for the student's class judged from outside their
    kernel (:mod:`helpers.grading.probe`: the kernel reported its class names)."""
    names = getattr(cls, "_class_mro", None)
    if isinstance(names, list):
        return f"{base.__module__}.{base.__qualname__}" in names
    return isinstance(cls, type) and issubclass(cls, base)


def class_names(cls) -> list[str]:
    """Dotted names along a class's MRO; for the student's class judged from outside their kernel (a class
    answer or a module's mirror, :mod:`helpers.grading.probe`), the names the kernel reported."""
    names = getattr(cls, "_class_mro", None)
    if isinstance(names, list):
        return [str(n) for n in names]
    return [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__] if isinstance(cls, type) else []


def drive(answer, driver, *args):
    """``driver(answer, *args)`` where the answer lives: here, or, for the student's class or function judged from
    outside their kernel, in the kernel, ``driver``'s own source sent with the probe and its result back as data.
    For a check that works with the answer's objects step after step (an optimizer stepping parameters): the
    driver is self-contained (it imports what it uses, reads no module global) and returns data."""
    run = getattr(answer, "_grading_drive", None)
    if callable(run):
        import inspect
        import textwrap

        return run(textwrap.dedent(inspect.getsource(driver)), driver.__name__, list(args))
    return driver(answer, *args)


@contextlib.contextmanager
def scratch_folder(answer):
    """A fresh folder for the answer's code to write in: a temporary one here, or one the student's kernel makes
    when the answer is judged from outside it (read what was written with :func:`file_bytes`)."""
    make = getattr(answer, "_grading_folder", None)
    if callable(make):
        yield make()
        return
    with tempfile.TemporaryDirectory() as folder:
        yield folder


def file_bytes(answer, path: str) -> bytes | None:
    """What the answer's code wrote at ``path`` (None if there is no such file), read where the answer runs."""
    read = getattr(answer, "_grading_read", None)
    if callable(read):
        return read(path)
    return Path(path).read_bytes() if Path(path).is_file() else None


def returns_tuple(value, n: int, names: str, fn) -> tuple:
    """The student's result as a tuple of ``n`` items, or a failure saying what came back."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        got = f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list)) else type(value).__name__
        raise CheckFailure(f"{_name(fn)} should return a tuple {names}, got {got}")
    return tuple(value)


@contextlib.contextmanager
def forbidden(targets, hint: str):
    """Temporarily replace library functions (``(owner, name)`` pairs) by ones that fail with ``hint``
    (the exercise is to write them; the library version is what the check compares against)."""

    def blocked(*args, **kwargs):
        raise CheckFailure(hint)

    saved = [(owner, name, owner.__dict__.get(name)) for owner, name in targets]
    for owner, name, _ in saved:
        setattr(owner, name, blocked)
    try:
        yield
    finally:
        for owner, name, original in saved:
            if original is None:  # inherited (torch.Tensor's methods live on its C base class)
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def _source_tree(fn):
    """The syntax tree of a function's source, or None. Read through linecache, where IPython keeps its cells
    (``inspect.getsource`` would first scan every loaded module, a second on a first call)."""
    import ast
    import inspect
    import linecache
    import textwrap

    code = getattr(fn, "__code__", None)
    lines = linecache.getlines(code.co_filename) if code is not None else []
    if not lines:
        return None
    try:
        return ast.parse(textwrap.dedent("".join(inspect.getblock(lines[code.co_firstlineno - 1:]))))
    except (SyntaxError, IndentationError, IndexError, TokenError):
        return None


def _functions_of(obj) -> list:
    """The Python functions an answer consists of: the function itself, or a class's methods."""
    import inspect

    if hasattr(obj, "_grading_tree"):           # read from the notebook's source by the grader (grading.probe)
        return [obj]
    if hasattr(obj, "_grading_functions"):      # the student's function, judged from outside their kernel
        return list(obj._grading_functions)
    if inspect.isfunction(obj):
        return [inspect.unwrap(obj)]
    if isinstance(obj, type):
        return [f for v in vars(obj).values() for f in ([v.__func__] if isinstance(v, (staticmethod, classmethod)) else [v])
                if inspect.isfunction(f)]
    return []


def _resolve(chain: list[str], scope: dict):
    """Follow ``a.b.c`` from ``scope`` through modules and classes only (never a student's object's
    ``__getattr__``); the object reached, or None where the chain leaves modules and classes."""
    import builtins
    import types

    obj = scope.get(chain[0], getattr(builtins, chain[0], None))
    for name in chain[1:]:
        if not isinstance(obj, (types.ModuleType, type)):
            return None
        obj = _static_getattr(obj, name)
    return obj


def _static_getattr(owner, name):
    """``getattr`` that never runs an object's own code (properties, ``__getattr__``)."""
    import inspect

    try:
        return inspect.getattr_static(owner, name)
    except AttributeError:
        return None


def _dotted(node) -> list[str] | None:
    import ast

    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id] + chain[::-1]
    return None


def _origin(obj) -> str:
    """A dotted name for a module, a function or a class ('' if it has none)."""
    import types

    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else ""


def forbidden_uses(answer, rules: dict[str, str]) -> list[tuple[str, str]]:
    """What an answer (a function or a class) uses that its exercise forbids, read from its source.

    rules: ``{dotted name: why}``. A dotted name forbids that object and, for a module, everything in it
    (``"helpers.scratch"``, ``"torch.nn.functional.conv2d"``, ``"torch.autograd"``); ``".backward"``
    forbids a method of that name on anything. Names are resolved through the answer's globals and the
    imports in its body, aliases included, and the answer's own helper functions (defined where it is)
    are read too. Returns ``(what it used, why)`` pairs; an answer whose source cannot be read gives [].
    """
    import ast
    import importlib

    targets, methods = [], {}
    for name, why in rules.items():
        if name.startswith("."):
            methods[name[1:]] = why
            continue
        parts, obj = name.split("."), None
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = _static_getattr(obj, attr)
            break
        targets.append((name, obj, why))

    def verdict(obj, shown):
        origin = _origin(obj) if obj is not None else ""
        for name, target, why in targets:
            if (target is not None and obj is target) or (origin and (origin == name or origin.startswith(name + "."))):
                return (shown, why)
        return None

    found, seen, todo = [], set(), list(_functions_of(answer))
    home = getattr(answer, "__module__", None)
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        tree = fn._grading_tree if hasattr(fn, "_grading_tree") else _source_tree(fn)
        if tree is None:
            continue
        scope = dict(fn._grading_scope if hasattr(fn, "_grading_scope") else fn.__globals__)
        for name in _local_names(tree):        # parameters and local variables hide globals of the same name
            scope[name] = None
        for node in ast.walk(tree):            # imports inside the function body
            if isinstance(node, ast.Import):
                for a in node.names:
                    scope[(a.asname or a.name).split(".")[0]] = importlib.import_module(a.name if a.asname else a.name.split(".")[0]) \
                        if _importable(a.name) else None
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level and _importable(node.module):
                module = importlib.import_module(node.module)
                for a in node.names:
                    scope[a.asname or a.name] = _static_getattr(module, a.name) if a.name != "*" else None
                    hit = verdict(module, node.module)
                    if hit:
                        found.append(hit)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                found.append((f".{node.attr}", methods[node.attr]))
            chain = _dotted(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
            if not chain:
                continue
            obj = _resolve(chain, scope)
            hit = verdict(obj, ".".join(chain)) if obj is not None else None
            if hit:
                found.append(hit)
            elif obj is not None and getattr(obj, "__module__", None) == home and (_functions_of(obj)):
                todo.extend(_functions_of(obj))            # the answer's own helpers
    return list(dict.fromkeys(found))


def _local_names(tree) -> set[str]:
    """Names a function's source binds itself: parameters (its own, its lambdas' and nested functions'),
    assignments, loop and ``with`` targets; not those it declares ``global``."""
    import ast

    names, declared = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            names |= {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if x is not None}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared |= set(node.names)
    return names - declared


def _importable(name: str) -> bool:
    """Whether ``name`` can be imported, for a package already loaded here (an answer's own ``import`` never
    loads a new package into the process that reads it)."""
    import importlib.util
    import sys

    if name.split(".")[0] not in sys.modules:
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def forbid(answer, rules: dict[str, str], what: str | None = None) -> None:
    """Fail if ``answer`` uses what its exercise forbids (:func:`forbidden_uses`), naming the first use."""
    uses = forbidden_uses(answer, rules)
    if uses:
        shown, why = uses[0]
        raise CheckFailure(f"{what or _name(answer)} uses {shown}: {why}")


_running = 0   # checks running now: a check another check calls does not print its own line


def passed_line(name: str, hidden: bool = False) -> str:
    """What a check that passed prints, one line: ``✓ mse — passed`` (``… hidden cases too``)."""
    return f"\u2713 {name.removeprefix('check_')} \u2014 " + ("passed, hidden cases too" if hidden else "passed")


def isolated(check):
    """Run ``check`` with its own seeded random state (NumPy's global one and torch's) and restore
    the caller's afterwards, so running a test cell never changes the numbers the rest of the
    notebook prints. A check (``check_*``) that passes prints one line (:func:`passed_line`), so a
    learner sees that it ran; a failing one raises with its hint."""
    import inspect

    signature = inspect.signature(check)

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        import torch

        global _running
        np_state = np.random.get_state()
        _running += 1
        try:
            np.random.seed(0)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                result = check(*args, **kwargs)
        finally:
            _running -= 1
            np.random.set_state(np_state)
        if not _running and check.__name__.startswith("check_"):   # a check, not a helper drawing under its seeds
            hidden = signature.bind_partial(*args, **kwargs).arguments.get("hidden", False)
            print(passed_line(check.__name__, hidden=bool(hidden)))
        return result

    return wrapper


# --------------------------------------------------------------------------------------------
# models: exact parameter counts, output shapes
# --------------------------------------------------------------------------------------------

def _count(module, trainable_only: bool) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def check_param_count(model, expected: int, hint: str = "", *, trainable_only: bool = False) -> None:
    """Fail unless ``model`` has exactly ``expected`` parameters (numbers, not tensors).

    The message gives the count per top-level child, so the layer that differs is easy to find.
    trainable_only: count only parameters with ``requires_grad`` (a frozen backbone is left out).
    """
    from torch import nn

    expect(isinstance(model, nn.Module), f"expected an nn.Module, got {type(model).__name__}")
    got = _count(model, trainable_only)
    if got != expected:
        parts = ", ".join(f"{name}: {_count(child, trainable_only):,}" for name, child in model.named_children())
        kind = "trainable parameters" if trainable_only else "parameters"
        raise CheckFailure(f"{type(model).__name__} has {got:,} {kind}, expected {expected:,} "
                           f"({got - expected:+,}){f'; per layer: {parts}' if parts else ''}. {hint}".rstrip())


def check_output_shape(model, input_shape, expected, hint: str = "", *, dtype=None) -> None:
    """Run ``model`` (eval mode, no gradients) on a random batch of ``input_shape`` and fail unless its
    output has shape ``expected``; a crash names the input shape. The model's mode is restored."""
    import torch

    input_shape, expected = tuple(input_shape), tuple(expected)
    x = torch.randn(*input_shape, dtype=dtype or torch.get_default_dtype())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = call(model, x, hint=f"for an input of shape {input_shape}. {hint}".strip())
    finally:
        model.train(was_training)
    got = tuple(getattr(out, "shape", ()))
    if not hasattr(out, "shape"):
        raise CheckFailure(f"the model returned a {type(out).__name__} for an input of shape {input_shape}, "
                           f"expected a tensor of shape {expected}. {hint}".rstrip())
    expect(got == expected, f"for an input of shape {input_shape} the output has shape {got}, "
                            f"expected {expected}. {hint}".rstrip())
