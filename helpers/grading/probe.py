"""Probes: the grader asks the student's kernel for data, and judges here.

A graded test cell runs in the grader's process (:class:`helpers.grading.execute.TrustedExecute`),
on the grader's own modules: the checks, NumPy, torch, with the hidden cases. Each name the cell
reads from the student's notebook is asked of the kernel once (:meth:`Probe.fetch`):

* data (numbers, strings, arrays, tensors, lists, dicts, tables: :mod:`helpers.grading.wire`)
  comes back by value;
* a function comes back as an :class:`Answer`: calling it sends the arguments, which the grader
  made, as data, together with the random states and NumPy's error handling the call starts
  from; the kernel runs the student's function and answers with the result, the arguments as
  they are afterwards (what the function changed in place is copied onto the grader's own) and
  which global generators it drew from, or with the exception's class names and message. Nothing
  comes back from the kernel but data: no object, no random state, no default dtype;
* what the forbidden-calls policy of a check (:func:`helpers.checks.core.forbid`) reads is the
  answer's source as the grader saw the notebook's cells, not the kernel's word.

A result the check backpropagates through comes with its derivatives with respect to the grader's
input tensors (a Jacobian, when small enough), so ``loss.backward()`` reaches the grader's tensors.

A class is a :class:`ClassAnswer` (its class names and data attributes known here). A module that
the student's class or function builds comes back as what it is made of (each layer's class names,
attributes that are data, parameters, buffers and children) and the grader holds it as a
:func:`mirror`: an ``nn.Module`` with the grader's own tensors. Calling the mirror (or one of its
layers) asks the kernel to build the module again from the same call, load the grader's tensors
and modes, and run it on the grader's inputs; the output, the buffers after the call and what changed
in the inputs come back, and backward asks for the gradients of the same call. The reference's
weights go into the student's module, never the reverse, and nothing of the kernel's object stays.

The check's own objects go to the student's code as data too: its torch.nn modules, optimizers,
loaders, datasets, course networks and named functions (classes and functions looked up by name in
:data:`helpers.grading.wire.KNOWN_ROOTS`); what the call did to them comes back onto them. An object
the student's code returns (a dataset, a transform) is an :class:`ObjectMirror`.

A check that works with the answer step after step sends a self-contained driver to run next to it
(:func:`helpers.checks.core.drive`), and one that reads a file the answer wrote gets its bytes
(:func:`helpers.checks.core.file_bytes`). A cell that needs more than that (a result data cannot
carry, a layer of the check's module replaced) raises :class:`NotProbe`: the cell scores 0 and goes
to the mentor's review list (no reference answer of the course gets there).
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import importlib
import io
import random
import sys
import traceback
from pathlib import Path

import numpy as np

from . import wire

WIRE_SOURCE = Path(__file__).with_name("wire.py").read_text()   # what the kernel runs to answer probes
# modules a static reading of the student's imports may load in the grader (what the course uses)
SAFE_ROOTS = {"numpy", "torch", "torchvision", "scipy", "sklearn", "pandas", "math", "helpers", "random",
              "functools", "itertools", "operator", "statistics", "collections", "PIL", "cmath"}


class NotProbe(BaseException):
    """The cell needs more than data from the kernel. A BaseException, so the checks' own ``except
    Exception`` (which turns a crash into a hint) lets it through to :func:`run_cell`'s caller."""


class KernelGone(BaseException):
    """The kernel died, stopped answering, or could not run the grader's probe (its Python broken by the
    student's code). A BaseException: a check's ``except Exception`` must not turn it into a wrong answer."""


class StudentError(Exception):
    """The student's code raised an exception that is not one of Python's own."""


class Probe:
    """Probes of one student's kernel; ``send(text) -> text`` is the channel, ``sources`` the code cells run so far."""

    def __init__(self, send, sources: list[str] | None = None):
        self._send = send
        self.sources = sources if sources is not None else []
        self.held: set[str] = set()     # the digests of the big arrays the kernel was sent (wire.HOLD_BYTES)

    def __deepcopy__(self, memo):      # a check's copy of a module mirror asks the same kernel
        return self

    def request(self, **req):
        reply = self._exchange(req, self.held)
        if isinstance(reply, dict) and "unheld" in reply:     # the kernel dropped what it held: all of it again
            self.held = set()
            reply = self._exchange(req, None)
        if not isinstance(reply, dict):
            raise KernelGone("the grader could not talk to the kernel: its answer is malformed")
        if "broken" in reply:
            raise KernelGone(f"the grader could not talk to the kernel: its probe failed there ({str(reply['broken'])[:300]})")
        if "error" in reply:
            raise student_exception(reply["error"])
        if "notdata" in reply:
            raise NotProbe(f"the student's function returned a {_short(reply['notdata'])}, not data")
        if "toolarge" in reply:
            raise NotProbe(f"the kernel's answer is too large for a probe ({reply['toolarge']})")
        if "graph" in reply:
            raise NotProbe("the student's function returned a tensor to backpropagate through")
        if "ok" not in reply:
            raise KernelGone("the grader could not talk to the kernel: its answer is malformed")
        return reply["ok"]

    def _exchange(self, req: dict, held: set[str] | None):
        try:
            text = wire.to_text(wire.pack(req, modules=True, held=held))
        except wire.NotData as err:
            raise NotProbe(f"an input cannot be sent as data ({err})") from None
        except ValueError as err:
            raise NotProbe(f"the inputs are more than a probe carries ({err})") from None
        try:
            return wire.unpack(wire.from_text(self._send(text)))
        except ValueError as err:
            raise KernelGone(f"the grader could not talk to the kernel: {err}") from None

    def fetch(self, names: list[str]) -> dict:
        """The student's names a cell reads: data by value, functions as :class:`Answer`."""
        found = self.request(op="fetch", names=list(names))
        if not isinstance(found, dict):
            raise KernelGone("the grader could not talk to the kernel: its answer is malformed")
        out = {}
        for name in names:
            d = found.get(name)
            if not isinstance(d, dict):
                continue
            if "value" in d:
                out[name] = d["value"]
            elif d.get("kind") == "function":
                out[name] = Answer(self, name)
            elif d.get("kind") == "class":
                out[name] = ClassAnswer(self, name, d.get("mro"), d.get("attrs"))
            elif d.get("kind") == "nn.Module":      # a module the notebook holds: run on a copy of it, built there
                out[name] = mirror(self, d.get("report"), {"fetch": name})
            elif d.get("kind") == "object":     # an object the notebook holds (its setup): its data; methods on a copy
                out[name] = object_mirror(self, d.get("report"), {"fetch": name})
            elif d.get("kind") == "module":     # the grader's own copy, whatever the kernel's holds
                if _module(str(d.get("name"))) is not None:
                    out[name] = _module(str(d["name"]))
            else:
                raise NotProbe(f"`{name}` is a {d.get('kind')} ({_short(d.get('mro'))})")
        return out

    def modules(self, names: list[str]) -> dict:
        """Of ``names``, those the kernel holds a module under: ``{name: the grader's own copy, or None}``."""
        found = self.request(op="fetch", names=list(names))
        return {name: _module(str(d.get("name"))) for name, d in (found.items() if isinstance(found, dict) else ())
                if isinstance(d, dict) and d.get("kind") == "module"}

    def source_of(self, name: str) -> list:
        """What the notebook's cells define under ``name``, as source (for forbidden-call policies)."""
        found = static_scope(self.sources).get(name)
        return [found] if isinstance(found, Defined) else []


def _short(mro) -> str:
    return str(mro[0]).rpartition(".")[2] if isinstance(mro, list) and mro else "value"


def student_exception(error) -> BaseException:
    """The grader-side exception for the student's: the first of Python's own classes along its bases, with
    its message (a ``ValueError`` subclass of theirs is a ValueError); else :class:`StudentError`."""
    mro = error.get("mro") if isinstance(error, dict) else None
    message = str(error.get("message", ""))[:4000] if isinstance(error, dict) else ""
    for name in mro if isinstance(mro, list) else []:
        module, _, qualname = str(name).rpartition(".")
        cls = getattr(builtins, qualname, None) if module == "builtins" else None
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except TypeError:       # a constructor with required arguments (UnicodeDecodeError)
                continue
    shown = _short(mro)
    return StudentError(f"{shown}: {message}" if shown != "value" else message)


def _random_state() -> dict:
    """The grader's global random states, as data. torch's goes as a NumPy array, not a tensor: decoding a tensor
    would import torch into a kernel that never did (about 3 s of CPU for each NumPy-only notebook)."""
    torch = sys.modules.get("torch")
    return {"numpy": np.random.get_state(), "python": random.getstate(),
            "torch": torch.get_rng_state().numpy() if torch is not None else None}


def _advance_random(drew=("numpy", "python", "torch")) -> None:
    """Move the grader's own global random states on where the student's call drew from the kernel's (never
    taking the kernel's): two calls in a row start from different states, as in the notebook, and a check
    that watches whether an answer used a global generator sees it."""
    if "numpy" in drew:
        np.random.random()
    if "python" in drew:
        random.random()
    torch = sys.modules.get("torch")
    if torch is not None and "torch" in drew:
        torch.rand(1)


def _ask(probe: "Probe", args: tuple, kwargs: dict, /, needs: dict | None = None, **req) -> dict:
    """One call of the student's code in the kernel, from the grader's random states, NumPy error handling and
    grad mode (unless ``req`` gives them): the reply checked for the lists and dicts it ``needs``, the grader's
    random states moved on where the call drew, and what it changed in ``args``/``kwargs`` copied back."""
    torch = sys.modules.get("torch")
    req.setdefault("random", _random_state())
    req.setdefault("errstate", dict(np.geterr()))
    req.setdefault("grad", bool(torch.is_grad_enabled()) if torch is not None else True)
    reply = probe.request(**req)
    needs = {"args": list, **(needs or {})}
    if not isinstance(reply, dict) or any(not isinstance(reply.get(k), kind) for k, kind in needs.items()):
        raise KernelGone("the grader could not talk to the kernel: its answer is malformed")
    _advance_random([str(name) for name in reply.get("drew") or []])
    _copy_back_call(args, kwargs, reply["args"], reply.get("kwargs"))
    return reply


def _copy_back_call(args, kwargs, args_after, kwargs_after) -> None:
    """What a call did to its positional and keyword arguments, copied back onto the grader's own."""
    for original, after in zip(args, args_after):
        _copy_back(original, after)
    for key, after in (kwargs_after or {}).items():
        if key in kwargs:
            _copy_back(kwargs[key], after)


def _copy_back(original, after) -> None:
    """What the student's function changed in an argument, onto the grader's own object."""
    torch = sys.modules.get("torch")
    if after is None:
        return
    if torch is not None and isinstance(original, torch.nn.Module):
        _copy_back_module(original, after.get("module") if isinstance(after, dict) else None)
        return
    if torch is not None and isinstance(original, torch.optim.Optimizer):
        try:
            original.load_state_dict(after["optimizer"])
        except Exception as err:  # noqa: BLE001 - what came back does not fit: not judged from data
            raise NotProbe(f"the optimizer's state after the student's call does not fit ({err})") from None
        return
    if isinstance(after, dict) and isinstance(after.get("object"), dict) and hasattr(original, "__dict__"):
        for key, value in after["object"].items():
            mine = original.__dict__.get(key)
            if _mutable(mine):
                _copy_back(mine, value)
            elif isinstance(key, str) and not hasattr(type(original), key):
                original.__dict__[key] = value
        return
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable and not np.array_equal(original, after, equal_nan=original.dtype.kind in "fc"):
            original[...] = after
    elif torch is not None and isinstance(original, torch.Tensor) and isinstance(after, torch.Tensor):
        with torch.no_grad():
            if original.shape == after.shape and not torch.equal(original, after.to(original.dtype)):
                original.copy_(after)
        if original.is_leaf and original.requires_grad:
            original.grad = None if after.grad is None else after.grad.to(original.dtype).clone()
    elif isinstance(original, np.random.Generator) and isinstance(after, np.random.Generator):
        original.bit_generator.state = after.bit_generator.state      # what the student's draws consumed
    elif torch is not None and isinstance(original, torch.Generator) and isinstance(after, torch.Generator):
        original.set_state(after.get_state())
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in [k for k in original if k not in after]:
            del original[key]
        for key, value in after.items():
            if key in original and _mutable(original[key]):
                _copy_back(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, list) and isinstance(after, list):
        if len(original) == len(after):
            for i, value in enumerate(after):
                if _mutable(original[i]):
                    _copy_back(original[i], value)
                else:
                    original[i] = value
        else:
            original[:] = after


def _left_by_the_student(module, inputs, output):
    """Stands for a hook the student's code registered on the grader's module and left there."""


def _copy_back_module(module, nodes) -> None:
    """What the student's function did to the grader's module (weights, gradients, buffers, modes, attributes that
    are data, hooks left behind), onto it; layers added or replaced are not judged from data."""
    import torch

    mods = dict(module.named_modules())
    if not isinstance(nodes, list) or [n.get("path") if isinstance(n, dict) else None for n in nodes] != list(mods):
        raise NotProbe("the student's code changed the layers of the grader's module")
    for node in nodes:
        m = mods[node["path"]]
        if str((node.get("mro") or [""])[0]) != f"{type(m).__module__}.{type(m).__qualname__}":
            raise NotProbe("the student's code changed the layers of the grader's module")
        for _ in range(max(0, int(node.get("hooks") or 0))):     # what it does stays there; that it is there shows
            m.register_forward_hook(_left_by_the_student)
        m.training = bool(node["training"])
        for key, value in dict(node["attrs"]).items():     # never one that would hide the class's own
            if isinstance(key, str) and not key.startswith("_") and not hasattr(type(m), key):
                m.__dict__[key] = value
        rows = [(m._parameters, row) for row in node["params"]] + [(m._buffers, row) for row in node["buffers"]]
        for own, (leaf, t, flag, *grad) in rows:
            mine = own.get(str(leaf))
            if mine is None or t is None or isinstance(t, dict):
                continue
            if not isinstance(t, torch.Tensor) or t.shape != mine.shape:
                raise NotProbe("the student's code changed the shape of a tensor of the grader's module")
            with torch.no_grad():
                if not torch.equal(mine, t.to(mine.dtype)):
                    mine.copy_(t)
            if own is m._parameters:
                mine.requires_grad_(bool(flag))
                g = grad[0] if grad else None
                mine.grad = g.to(mine.dtype) if isinstance(g, torch.Tensor) and g.shape == mine.shape else None


def _mutable(value) -> bool:
    torch = sys.modules.get("torch")
    return isinstance(value, (np.ndarray, dict, list, np.random.Generator)) or \
        (torch is not None and isinstance(value, (torch.Tensor, torch.Generator, torch.nn.Module)))


def _replayed(value, tensors: list, gradients):
    """``value`` (the student's result) as a tensor the grader can backpropagate through to ``tensors``:
    backward hands the upstream gradient to ``gradients``, which returns one gradient (or None) per tensor."""
    import torch

    class Replay(torch.autograd.Function):
        @staticmethod
        def forward(ctx, result, *inputs):
            return result.clone()

        @staticmethod
        def backward(ctx, upstream):
            return (None, *gradients(upstream))

    return Replay.apply(value.detach(), *tensors)


def _replay(value, jacobian, leaves):
    """The student's result, backpropagating through the derivatives the kernel sent with it (a Jacobian with
    respect to each of the grader's input tensors, ``leaves``)."""
    import torch

    if not isinstance(value, torch.Tensor) or not isinstance(jacobian, list) or len(jacobian) != len(leaves) or any(
            j is not None and (not isinstance(j, torch.Tensor) or tuple(j.shape) != tuple(value.shape) + tuple(leaf.shape))
            for j, leaf in zip(jacobian, leaves)):
        raise KernelGone("the grader could not talk to the kernel: its derivatives are malformed")
    return _replayed(value, leaves, lambda upstream: [
        None if j is None else torch.tensordot(upstream.to(j.dtype), j, dims=upstream.dim()) for j in jacobian])


class Answer:
    """The student's function as the grader sees it: data in, data out (see the module's docstring)."""

    def __init__(self, probe: Probe, name: str):
        self._probe, self._name = probe, name
        self.__name__ = self.__qualname__ = name
        self.__module__ = "__main__"
        self._functions = None

    def __call__(self, *args, **kwargs):
        random_state = _random_state()
        # every tensor that requires gradients (the kernel gets each as a leaf of its own), a result of the grader's
        # own graph too (the outputs of its model): backward goes on from them. Taken before the copy-back.
        leaves = wire._leaves([list(args), dict(kwargs)], [], leaves_only=False)
        reply = _ask(self._probe, args, kwargs, op="call", name=self._name, args=list(args), kwargs=dict(kwargs),
                     random=random_state)
        if "object" in reply:       # the recipe holds the grader's arguments themselves: their state is the object's
            recipe = {"name": self._name, "args": list(args), "kwargs": dict(kwargs), "random": random_state}
            return object_mirror(self._probe, reply["object"], recipe)
        if "module" in reply or "parts" in reply:
            recipe = {"name": self._name, "args": list(args), "kwargs": dict(kwargs), "random": random_state}
            recipe = copy.deepcopy(recipe)     # the arguments as the call was made (a mirror: its recipe and tensors)
            given = dict(wire.refs(sys.modules["torch"], args, kwargs))
            if "module" in reply:
                return mirror(self._probe, reply["module"], recipe, given)
            return _parts(self._probe, reply, recipe, given)
        if reply.get("jacobian") is not None and leaves:
            return _replay(reply.get("value"), reply["jacobian"], leaves)
        value, jacobians = reply.get("value"), reply.get("jacobians")
        if isinstance(jacobians, list) and leaves:      # a tuple of results, each to backpropagate through
            if not isinstance(value, (tuple, list)) or len(value) != len(jacobians):
                raise KernelGone("the grader could not talk to the kernel: its derivatives are malformed")
            out = [v if j is None else _replay(v, j, leaves) for v, j in zip(value, jacobians)]
            return tuple(out) if isinstance(value, tuple) else out
        return value

    def _grading_drive(self, source: str, entry: str, args: list):
        """:func:`helpers.checks.core.drive`: the check's driver (its source) run on the answer in the kernel."""
        return _ask(self._probe, args, {}, op="drive", name=self._name, source=source, entry=entry, args=list(args),
                    kwargs={}).get("value")

    def _grading_folder(self) -> str:
        """:func:`helpers.checks.core.scratch_folder`: a fresh folder the kernel makes for the answer to write in."""
        folder = _ask(self._probe, [], {}, op="folder").get("value")
        if not isinstance(folder, str):
            raise KernelGone("the grader could not talk to the kernel: its answer is malformed")
        return folder

    def _grading_read(self, path: str) -> bytes | None:
        """:func:`helpers.checks.core.file_bytes`: what the answer wrote at ``path`` in the kernel, as bytes."""
        found = _ask(self._probe, [], {}, op="read", path=str(path)).get("value")
        if found is not None and not (isinstance(found, np.ndarray) and found.dtype == np.uint8):
            raise KernelGone("the grader could not talk to the kernel: its answer is malformed")
        return None if found is None else found.tobytes()

    @property
    def _grading_functions(self) -> list:
        """The answer's source as the grader read it (:func:`helpers.checks.core.forbidden_uses`)."""
        if self._functions is None:
            self._functions = self._probe.source_of(self._name)
        return self._functions

    def __repr__(self) -> str:
        return f"<the student's {self._name}>"


class ClassAnswer(Answer):
    """The student's class: calling it builds an instance (a module comes back as a :func:`mirror`); its
    class names (``_class_mro``) and its public attributes that are data (``expansion``) are known here."""

    def __init__(self, probe: Probe, name: str, mro, attrs):
        super().__init__(probe, name)
        self._class_mro = [str(c) for c in mro] if isinstance(mro, list) else []
        self._attrs = dict(attrs) if isinstance(attrs, dict) else {}

    def __getattr__(self, key):
        attrs = self.__dict__.get("_attrs", {})
        if key in attrs:
            return attrs[key]
        raise AttributeError(f"the student's class {self.__dict__.get('_name')} has no data attribute {key!r}")


# --------------------------------------------------------------------------------------------
# modules: the student's module as the grader holds it (a mirror), run in the kernel
# --------------------------------------------------------------------------------------------

_MIRROR_CLASSES: dict = {}


def _mirror_base():
    import torch

    if "base" not in _MIRROR_CLASSES:
        class MirrorModule(torch.nn.Module):
            """A module of the student's, held here: its class names, attributes that are data, parameters and
            buffers (the grader's own tensors) and children as the kernel reported them. Calling it asks the
            kernel to build the module again from the same call, load these tensors and modes, and run the
            layer on the grader's inputs; the result, what changed in the inputs and the buffers (BatchNorm's
            running statistics) come back, and a backward pass asks for the gradients of the same call."""

            def forward(self, *args, **kwargs):
                return _mirror_forward(self.__dict__.get("_mirror_root"), self.__dict__.get("_mirror_path"), args, kwargs)

        _MIRROR_CLASSES["base"] = MirrorModule
    return _MIRROR_CLASSES["base"]


def _torch_class(name: str):
    """The torch.nn class of that dotted name (never importing anything), or None."""
    import torch

    found = wire._known(name) if name.startswith("torch.nn") else None
    return found if isinstance(found, type) and issubclass(found, torch.nn.Module) else None


def _mirror_class(mro: list):
    """A class named as the student's, carrying its class names; a torch.nn class along the way is a base
    (``isinstance(layer, nn.Linear)``, an ``nn.Sequential``'s indexing), its forward always the kernel's."""
    import torch

    key = tuple(mro)
    if key not in _MIRROR_CLASSES:
        base = next((c for c in map(_torch_class, mro) if c is not None), torch.nn.Module)
        module, _, qualname = str(mro[0]).rpartition(".")
        name = qualname.rpartition(".")[2] or "Module"
        mirror_base = _mirror_base()
        bases = (mirror_base,) if base is torch.nn.Module else (mirror_base, base)
        _MIRROR_CLASSES[key] = type(name, bases, {"__module__": module, "__qualname__": qualname,
                                                  "_class_mro": list(mro), "forward": mirror_base.forward})
    return _MIRROR_CLASSES[key]


def _parts(probe: Probe, reply: dict, recipe: dict, given: dict):
    """A tuple or list the student's function returned holding modules (``model, head_params``): each module a
    mirror, each tensor reported as a reference the grader's own (an argument's or a mirror's), the rest data."""
    import torch

    out = []
    try:
        for j, part in enumerate(reply["parts"]):
            if "module" in part:
                out.append(mirror(probe, part["module"], {**recipe, "part": j}, given))
                given.update(wire.refs(torch, [], {f"r{j}": out[-1]}))
            elif "refs" in part:
                out.append([given[str(ref)] for ref in part["refs"]])
            elif "ref" in part:
                out.append(given[str(part["ref"])])
            else:
                out.append(part.get("value"))
    except (KeyError, TypeError) as err:
        raise KernelGone(f"the grader could not talk to the kernel: its answer is malformed ({err})") from None
    return tuple(out) if reply.get("tuple") else out


def mirror(probe: Probe, nodes, recipe: dict, given: dict | None = None):
    """The grader's module for the kernel's report of one (:func:`helpers.grading.wire._module_report`); a tensor
    reported as one of the call's arguments' is the grader's own (``given``)."""
    import torch

    try:
        made = wire._assemble(torch, nodes, lambda _, mro: _mirror_class(mro or ["builtins.object"]), given)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise KernelGone(f"the grader could not talk to the kernel: its report of a module is malformed ({err})") from None
    root = made.get("")
    if root is None:
        raise KernelGone("the grader could not talk to the kernel: its report of a module is malformed")
    for path, m in made.items():
        m.__dict__.update(_mirror_root=root, _mirror_path=path)
    root.__dict__.update(_mirror_recipe=recipe, _mirror_probe=probe)
    return root


def _mirror_forward(root, path: str, args: tuple, kwargs: dict):
    import torch

    if root is None:
        raise NotProbe("a module made here from a part of the student's (a slice of an nn.Sequential)")
    layers = dict(root.named_modules())
    if any(m._forward_pre_hooks or m._forward_hooks_with_kwargs for m in layers.values()):
        raise NotProbe("the check changes what a layer of the student's module gets")
    watch = [name for name, m in layers.items() if name != path and m._forward_hooks]
    probe, recipe = root.__dict__["_mirror_probe"], root.__dict__["_mirror_recipe"]
    grad = torch.is_grad_enabled()
    req = dict(op="module", recipe=recipe, path=path, args=list(args), kwargs=dict(kwargs), **wire.state_of(root),
               random=_random_state(), errstate=dict(np.geterr()), grad=grad, watch=watch)
    wanted = wire._leaves([list(args), dict(kwargs)], [], leaves_only=False)
    reply = _ask(probe, args, kwargs, needs={"buffers": dict}, **req)
    buffers = dict(root.named_buffers())
    with torch.no_grad():
        for name, after in reply["buffers"].items():
            mine = buffers.get(name)
            if isinstance(after, torch.Tensor) and mine is not None and mine.shape == after.shape:
                mine.copy_(after.to(mine.dtype))
    for name, inputs, output in reply.get("seen") or []:      # the check's hooks see what the layers computed there
        layer = layers.get(name)
        for hook in list(getattr(layer, "_forward_hooks", {}).values()):
            if hook(layer, tuple(inputs), output) is not None:
                raise NotProbe("the check's hook changes a layer's output inside the student's module")
    value = reply.get("value")
    params = [p for _, p in root.named_parameters() if p.requires_grad]
    if grad and isinstance(value, torch.Tensor) and value.requires_grad and (wanted or params):
        return _module_replay(probe, req, value, wanted + params)
    return value


def _module_replay(probe: Probe, req: dict, value, tensors: list):
    """The module's output, backpropagating by asking the kernel for the gradients of the same call (same recipe,
    tensors, modes and random state) given the upstream gradient."""
    import torch

    def gradients(upstream):
        reply = probe.request(**req, upstream=upstream.detach())
        grads = reply.get("grads") if isinstance(reply, dict) else None
        if not isinstance(grads, list) or len(grads) != len(tensors) or any(
                g is not None and (not isinstance(g, torch.Tensor) or g.shape != t.shape) for g, t in zip(grads, tensors)):
            raise KernelGone("the grader could not talk to the kernel: its gradients are malformed")
        return [None if g is None else g.to(t.dtype) for g, t in zip(grads, tensors)]

    return _replayed(value, tensors, gradients)


class ObjectMirror:
    """An object the student's class or function built (a dataset, a transform), held here: its class names and
    the data it holds. Its methods (``len``, indexing, calling) ask the kernel to build it again from the same call
    (on the grader's arguments as they are now), give it back that data, and call the method; the data it holds
    afterwards, what changed in the arguments and the result come back."""

    def __getattr__(self, key):
        state = self.__dict__.get("_mirror_state", {})
        if key in state:
            return state[key]
        if key in type(self).__dict__.get("_class_others", ()):
            raise NotProbe(f"`{key}` of the student's {type(self).__name__} is more than data: the kernel is not asked to run it")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r} (or it is not data)")


def _not_asked(name: str):
    def method(self, *args, **kwargs):
        raise NotProbe(f"`{name}` of the student's {type(self).__name__} is more than data: the kernel is not asked to run it")

    method.__name__ = name
    return method


def _object_method(name: str):
    def method(self, *args, **kwargs):
        return _object_call(self, name, args, kwargs)

    method.__name__ = name
    return method


def object_mirror(probe: Probe, report, recipe: dict):
    if not isinstance(report, dict) or not isinstance(report.get("mro"), list) or not isinstance(report.get("state"), dict):
        raise KernelGone("the grader could not talk to the kernel: its report of an object is malformed")
    mro = [str(c) for c in report["mro"]]
    methods = tuple(m for m in report.get("methods") or [] if m in wire.METHODS)
    others = tuple(str(m) for m in report.get("others") or [] if isinstance(m, str))[:64]
    key = ("object", tuple(mro), methods, others)
    if key not in _MIRROR_CLASSES:
        known = [wire._known(n) for n in mro if n.startswith("torch.utils.data.")]
        bases = (ObjectMirror, *[c for c in known[:1] if isinstance(c, type)])
        module, _, qualname = mro[0].rpartition(".")
        _MIRROR_CLASSES[key] = type(qualname.rpartition(".")[2] or "object", bases, {
            "__module__": module, "__qualname__": qualname, "_class_mro": mro, "_class_others": others,
            **{m: _not_asked(m) for m in others if m in ("__iter__", "__next__", "__contains__")},
            **{m: _object_method(m) for m in methods}})
    made = object.__new__(_MIRROR_CLASSES[key])
    made.__dict__.update(_mirror_probe=probe, _mirror_recipe=recipe, _mirror_state=dict(report["state"]))
    return made


def _object_call(obj, method: str, args: tuple, kwargs: dict):
    probe, recipe = obj.__dict__["_mirror_probe"], obj.__dict__["_mirror_recipe"]
    reply = _ask(probe, args, kwargs, needs={"recipe_args": list, "state": dict}, op="object", recipe=recipe,
                 state=obj.__dict__["_mirror_state"], method=method, args=list(args), kwargs=dict(kwargs))
    _copy_back_call(recipe.get("args", []), recipe.get("kwargs", {}), reply["recipe_args"], reply.get("recipe_kwargs"))
    obj.__dict__["_mirror_state"] = dict(reply["state"])
    return reply.get("value")


# --------------------------------------------------------------------------------------------
# the notebook's source, read in the grader: what a forbidden-calls policy needs
# --------------------------------------------------------------------------------------------

class Defined:
    """A function or class the student defined, as source: its syntax tree and the names its cells bound."""

    def __init__(self, node, scope: dict):
        self._grading_tree = ast.Module(body=[node], type_ignores=[])
        self._grading_scope = scope
        self.__name__ = node.name
        self.__module__ = "__main__"


def _module(name: str):
    root = name.split(".")[0]
    if root not in SAFE_ROOTS and root not in sys.modules:
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - not importable here: unknown, so never a verdict
        return None


def static_scope(sources: list[str]) -> dict:
    """What the notebook's top-level statements bound, read without running them: imports (of modules
    the grader may load), functions and classes (as :class:`Defined`), aliases (``sm = torch.softmax``)."""
    from helpers.checks.core import _dotted, _resolve, _static_getattr

    from .scan import _ipython_to_python

    scope: dict = {}
    for source in sources:
        try:
            tree = ast.parse(_ipython_to_python(source))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        scope[a.asname] = _module(a.name)
                    else:
                        scope[a.name.split(".")[0]] = _module(a.name.split(".")[0]) if _module(a.name) else None
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                module = _module(node.module)
                for a in node.names:
                    if a.name != "*":
                        scope[a.asname or a.name] = _static_getattr(module, a.name) if module is not None else None
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                scope[node.name] = Defined(node, scope)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                chain = _dotted(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
                for target in targets:
                    for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                        scope[name] = _resolve(chain, scope) if chain and isinstance(target, ast.Name) else None
    return scope


# --------------------------------------------------------------------------------------------
# running a graded test cell here
# --------------------------------------------------------------------------------------------

def loaded_names(tree: ast.AST) -> list[str]:
    """Every name the cell reads (its own assignments included: fetching those finds nothing)."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return sorted(n for n in names if not hasattr(builtins, n))


def trusted_namespace(imports: list[str]) -> dict:
    """The grader's own modules under the names the notebook's locked cells import them as."""
    ns: dict = {"__name__": "__grader__", "__builtins__": builtins}
    for line in imports:
        try:
            exec(compile(line, "<course import>", "exec"), ns)  # noqa: S102 - the course's own cells
        except ImportError:     # a module only the notebook's environment has (Colab's): not one a test uses
            continue
    return ns


def run_cell(source: str, imports: list[str], fetch, carry: dict | None = None,
             passthrough: tuple = ()) -> tuple[list[dict], dict | None]:
    """Run one graded cell here; returns (stream outputs, error or None) as nbformat-ready dicts.

    ``fetch(names) -> {name: value}`` asks the kernel for what the cell reads. An exception (a failed
    check with its hint, the student's crash) becomes the error; one of ``passthrough`` or a
    BaseException that is not an Exception (:class:`NotProbe`, :class:`KernelGone`) propagates. carry: names earlier test
    cells of the notebook assigned (trusted values); updated in place.
    """
    tree = ast.parse(source)
    ns = trusted_namespace(imports)
    ns.update(carry or {})
    wanted = [n for n in loaded_names(tree) if n not in ns]
    body, last = tree.body, None
    if body and isinstance(body[-1], ast.Expr):
        body, last = body[:-1], ast.Expression(body[-1].value)
    out = io.StringIO()
    result = None
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        if wanted:
            ns.update({name: value for name, value in fetch(wanted).items() if name in wanted})
        with contextlib.redirect_stdout(out):
            exec(compile(ast.Module(body=body, type_ignores=[]), "<test cell>", "exec"), ns)  # noqa: S102
            if last is not None:
                result = eval(compile(last, "<test cell>", "eval"), ns)  # noqa: S307 - trusted test code
        error = None
    except passthrough:
        raise
    except Exception as err:  # noqa: BLE001 - a failing test is an answer, not a crash
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == "<test cell>"]
        where = [f"line {f.lineno} of the test cell" for f in frames[-1:]]
        name = type(err).__name__
        error = {"output_type": "error", "ename": name, "evalue": str(err)[:4000],
                 "traceback": [*where, f"{name}: {str(err)[:4000]}"]}
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    if carry is not None:
        stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        carry.update({name: ns[name] for name in stored if name in ns})
    outputs = []
    if out.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": out.getvalue()[:100_000]})
    if error is None and result is not None and isinstance(result, (int, float, np.number)) \
            and not isinstance(result, bool):
        outputs.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                        "data": {"text/plain": repr(float(result))}})
    return outputs, error

