"""Trusted verdicts: a graded test cell runs in the grader's process, the student's code in its kernel.

During autograde, :class:`helpers.grading.execute.TrustedExecute` never sends a graded test cell
to the student's kernel. It runs the cell here, in nbgrader's own process, with

* the trusted imports of the notebook's locked cells replayed here (``checks``, ``np``,
  ``torch``, ``scratch``: the grader's own, unpatched modules, with the hidden cases), and
* every other name the cell uses fetched from the kernel: plain values (numbers, strings,
  arrays, tensors, lists, tuples, dicts) by value, everything else -- the student's functions,
  classes and models -- as a :class:`Handle`.

Calling a handle sends the arguments to the kernel (``helpers.grading.agent``), which calls the
student's function and hands back its result; the comparison with the expected values and the
hints run here. Random states (NumPy's, Python's, torch's), ``np.errstate`` and torch's grad mode
travel with each call, and arguments the student's code changes in place (arrays, tensors, dicts,
lists, NumPy generators, the course's plain objects such as ``scratch.TwoLayerNet``) are copied
back, so a check behaves as it does in the notebook.

Nothing the kernel sends is executed or unpickled here: replies are JSON, arrays are raw bytes of
a numeric dtype, and a handle only names an object that stays in the kernel. A value the grader
cannot send (a grader-side ``nn.Module``, a closure) raises :class:`NotRemotable`; such a cell is
then run in the kernel (see ``execute``) and reported as such.
"""
from __future__ import annotations

import base64
import builtins
import importlib
import io
import json
import pickle
import random
import sys
from pathlib import Path

import numpy as np

from . import probe
from .probe import run_cell

AGENT_SOURCE = (Path(__file__).with_name("agent.py")).read_text()
MAX_REPLY = 512 << 20
MAX_DEPTH = 12
MAX_ITEMS = 100_000
PANDAS_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
                 "bool", "object", "category", "string", "str", "boolean", "Int64", "Float64"}
FN_MODULES = ("numpy", "math", "torch", "scipy")        # functions sent by name ("numpy:sin")
OBJ_MODULES = ("helpers.",)                            # plain objects sent as class path + __dict__
# grader-side objects the checks build (a model, an optimiser, a dataset, a loader, an image) go to the kernel
# pickled -- grader to kernel only: nothing the kernel sends back is ever unpickled
PICKLE_MODULES = ("torch", "torchvision", "helpers", "PIL", "collections")
CLASS_MODULES = ("torch", "numpy", "collections")      # classes a handle may claim for isinstance
BIT_GENERATORS = {"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}
TORCH_DTYPES = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128", "uint8", "int8",
                "int16", "int32", "int64", "bool"}
BUILTIN_ERRORS = {name: getattr(builtins, name) for name in dir(builtins)
                  if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), Exception)}


class NotRemotable(BaseException):
    """A grader-side value that cannot be handed to the student's kernel.

    A BaseException, so that the checks' own ``except Exception`` (which turns a student's crash
    into a hint) lets it through to :func:`run_test_cell`'s caller.
    """


class RemoteError(Exception):
    """The student's code raised an exception of a type the grader does not recreate."""


KernelGone = probe.KernelGone     # the kernel died or stopped answering during a call


# --------------------------------------------------------------------------------------------
# values: grader -> kernel
# --------------------------------------------------------------------------------------------

def _array(kind, a) -> dict:
    a = np.array(a, order="C", copy=True)  # keeps 0-d arrays 0-d (ascontiguousarray would not)
    return {kind: a.dtype.str, "shape": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode()}


def _qualified(obj) -> str | None:
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or "<" in name:
        return None
    try:
        found = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{name}" if found is obj else None


def encode(value, depth: int = 0, pickled: list | None = None):
    """A grader-side value as JSON-ready data for the kernel (NotRemotable if it cannot go).

    pickled: where objects that travel pickled are collected (one pickle per call keeps a model and
    the optimiser holding its parameters together); None: such objects cannot go.
    """
    if depth > MAX_DEPTH:
        raise NotRemotable("nested too deeply")
    t = type(value)
    if value is None or t in (bool, int, str):
        return value
    if t is float:
        return value if np.isfinite(value) else {"$f": repr(value)}
    if t is tuple:
        return {"$tu": [encode(v, depth + 1, pickled) for v in value]}
    if t is list:
        return [encode(v, depth + 1, pickled) for v in value]
    if t is dict:
        return {"$d": [[encode(k, depth + 1, pickled), encode(v, depth + 1, pickled)] for k, v in value.items()]}
    if isinstance(value, Handle):
        return {"$h": value._id}
    if t is np.ndarray and value.dtype.kind in "biufc":
        return _array("$nd", value)
    if t is np.ndarray and value.dtype.kind in "OUS" and value.size <= MAX_ITEMS:
        return {"$no": list(value.shape), "dtype": value.dtype.str if value.dtype.kind in "US" else "|O",
                "items": [encode(v, depth + 1) for v in value.ravel().tolist()]}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return _array("$ns", np.asarray(value))
    pd = sys.modules.get("pandas")
    if pd is not None and t in (pd.DataFrame, pd.Series):
        index = encode(value.index.tolist(), depth + 1)
        if t is pd.Series:
            return {"$ps": {"name": encode(value.name, depth + 1), "index": index, "dtype": str(value.dtype),
                            "values": encode(value.to_numpy(), depth + 1)}}
        return {"$pd": {"columns": encode(list(value.columns), depth + 1), "index": index,
                        "dtypes": [str(d) for d in value.dtypes],
                        "cols": [encode(value[c].to_numpy(), depth + 1) for c in value.columns]}}
    if t is np.random.Generator:
        return {"$rng": encode(value.bit_generator.state, depth + 1)}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor) and value.layout == torch.strided \
            and type(value) in (torch.Tensor, torch.nn.Parameter):
        v = value.detach().cpu()
        dtype = str(v.dtype).replace("torch.", "")
        out = _array("$t", (v.float() if v.dtype == torch.bfloat16 else v).resolve_conj().numpy())
        out.update(dtype=dtype, grad=bool(value.requires_grad and value.is_leaf))
        if value.is_leaf and value.grad is not None:
            out["g"] = encode(value.grad, depth + 1)
        return out
    if torch is not None and isinstance(value, torch.dtype):
        return {"$dt": str(value)}
    if torch is not None and isinstance(value, torch.Generator) and value.device.type == "cpu":
        return {"$tg": encode(value.get_state(), depth + 1)}
    if pickled is not None and t.__module__.split(".")[0] in PICKLE_MODULES and not isinstance(value, type):
        for i, seen in enumerate(pickled):
            if seen is value:
                return {"$pk": i}
        pickled.append(value)
        return {"$pk": len(pickled) - 1}
    if callable(value) and not isinstance(value, type):
        name = _qualified(value)
        if name and name.split(":")[0].split(".")[0] in FN_MODULES:
            return {"$fn": name}
        raise NotRemotable(f"the function {getattr(value, '__qualname__', value)!r} stays in the grader")
    if t.__module__.startswith(OBJ_MODULES) and hasattr(value, "__dict__") and _qualified(t):
        return {"$obj": _qualified(t), "state": encode(vars(value), depth + 1)}
    raise NotRemotable(f"a {t.__module__}.{t.__qualname__} cannot be handed to the student's kernel")


# --------------------------------------------------------------------------------------------
# values: kernel -> grader (untrusted input: strict, bounded, no code)
# --------------------------------------------------------------------------------------------

def _decode_array(d: dict, key: str) -> np.ndarray:
    dtype = np.dtype(str(d[key]))
    if dtype.kind not in "biufc" or dtype.fields or dtype.subdtype or dtype.itemsize > 16:
        raise ValueError(f"the kernel sent an array of dtype {dtype}")
    shape = [int(n) for n in d["shape"]]
    if any(n < 0 for n in shape) or len(shape) > 32:
        raise ValueError("the kernel sent a malformed array shape")
    raw = base64.b64decode(d["b64"], validate=True)
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ValueError("the kernel sent an array whose bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(d, remote: "Remote", depth: int = 0):
    if depth > MAX_DEPTH + 2:
        raise ValueError("the kernel sent a value nested too deeply")
    if d is None or type(d) in (bool, int, float, str):
        return d
    if type(d) is list:
        return [decode(v, remote, depth + 1) for v in d]
    if type(d) is not dict or len(d) == 0:
        raise ValueError("the kernel sent a malformed value")
    if "$f" in d:
        text = str(d["$f"])
        if text not in ("nan", "inf", "-inf"):
            raise ValueError("the kernel sent a malformed float")
        return float(text)
    if "$tu" in d:
        return tuple(decode(v, remote, depth + 1) for v in d["$tu"])
    if "$d" in d:
        out = {}
        for k, v in d["$d"]:
            key = decode(k, remote, depth + 1)
            if isinstance(key, (list, dict)):
                raise ValueError("the kernel sent an unhashable key")
            out[key] = decode(v, remote, depth + 1)
        return out
    if "$nd" in d:
        return _decode_array(d, "$nd")
    if "$ns" in d:
        return _decode_array(d, "$ns")[()]
    if "$no" in d:
        shape, items = [int(n) for n in d["$no"]], d.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS or int(np.prod(shape, dtype=np.int64)) != len(items):
            raise ValueError("the kernel sent a malformed object array")
        dtype = np.dtype(str(d.get("dtype")))
        if dtype.kind not in "OUS":
            raise ValueError("the kernel sent a malformed object array")
        out = np.empty(len(items), dtype=object)
        out[:] = [_plain(decode(v, remote, depth + 1)) for v in items]
        out = out.reshape(shape)
        return out if dtype.kind == "O" else out.astype(dtype)
    if "$ps" in d or "$pd" in d:
        return _frame(d, remote, depth)
    if "$t" in d:
        import torch

        if d.get("dtype") not in TORCH_DTYPES:
            raise ValueError("the kernel sent a tensor of an unknown dtype")
        t = torch.from_numpy(_decode_array(d, "$t")).to(getattr(torch, d["dtype"]))
        if d.get("grad") is True and (t.is_floating_point() or t.is_complex()):
            t.requires_grad_(True)
        if "g" in d:
            g = decode(d["g"], remote, depth + 1)
            if isinstance(g, torch.Tensor) and g.shape == t.shape:
                t.grad = g.to(t.dtype)
        if "bw" in d and remote._call is not None and (t.is_floating_point() or t.is_complex()):
            # a result computed with autograd in the kernel: backpropagating through it here continues there
            t.requires_grad_(True)
            t.register_hook(remote._backward_hook(int(d["bw"]), remote._call))
        return t
    if "$dt" in d:
        import torch

        name = str(d["$dt"]).replace("torch.", "")
        if name not in TORCH_DTYPES:
            raise ValueError("the kernel sent an unknown dtype")
        return getattr(torch, name)
    if "$tg" in d:
        import torch

        state = decode(d["$tg"], remote, depth + 1)
        if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8:
            raise ValueError("the kernel sent a malformed torch generator")
        g = torch.Generator()
        g.set_state(state)
        return g
    if "$rng" in d:
        state = decode(d["$rng"], remote, depth + 1)
        if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
            raise ValueError("the kernel sent an unknown random generator")
        bitgen = getattr(np.random, state["bit_generator"])()
        bitgen.state = state
        return np.random.Generator(bitgen)
    if "$h" in d:
        mro = [str(m) for m in d.get("mro", [])][:64]
        handle = Handle(remote, int(d["$h"]), mro, bool(d.get("call")))
        if isinstance(d.get("cls_mro"), list):
            object.__setattr__(handle, "_cls_mro", [str(m) for m in d["cls_mro"]][:64])
        return handle
    if "$missing" in d:
        return _MISSING
    raise ValueError(f"the kernel sent a value the grader does not read ({sorted(d)[:2]})")


_MISSING = object()


def _plain(value):
    if value is not None and type(value) not in (bool, int, float, str, tuple, list, dict):
        raise ValueError("the kernel sent an object array holding something other than plain values")
    return value


def _frame(d: dict, remote, depth: int):
    import pandas as pd

    f = d.get("$ps") if "$ps" in d else d.get("$pd")
    if not isinstance(f, dict):
        raise ValueError("the kernel sent a malformed table")
    index = decode(f.get("index"), remote, depth + 1)
    if not isinstance(index, list) or not all(type(i) in (int, float, str) for i in index):
        raise ValueError("the kernel sent a malformed table index")
    if "$ps" in d:
        values, dtype = decode(f.get("values"), remote, depth + 1), str(f.get("dtype"))
        if not isinstance(values, np.ndarray) or len(values) != len(index) or dtype not in PANDAS_DTYPES:
            raise ValueError("the kernel sent a malformed series")
        name = decode(f.get("name"), remote, depth + 1)
        return pd.Series(values, index=index, name=_plain(name)).astype(dtype)
    columns, dtypes = decode(f.get("columns"), remote, depth + 1), [str(x) for x in f.get("dtypes", [])]
    cols = [decode(c, remote, depth + 1) for c in f.get("cols", [])]
    if not isinstance(columns, list) or not (len(columns) == len(dtypes) == len(cols)) or \
            not all(type(c) in (int, float, str) for c in columns) or not all(t in PANDAS_DTYPES for t in dtypes) or \
            not all(isinstance(c, np.ndarray) and c.ndim == 1 and len(c) == len(index) for c in cols):
        raise ValueError("the kernel sent a malformed table")
    frame = pd.DataFrame({i: c for i, c in enumerate(cols)}, index=index)
    frame.columns = columns
    return frame.astype(dict(zip(columns, dtypes)))


def copy_back(original, new) -> None:
    """Apply the post-call state of an argument to the grader's original, in place where it can."""
    torch = sys.modules.get("torch")
    if isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if new.shape == original.shape and original.flags.writeable:
            np.copyto(original, new, casting="unsafe")
    elif torch is not None and isinstance(original, torch.Tensor) and isinstance(new, torch.Tensor):
        with torch.no_grad():
            if new.shape == original.shape:
                original.copy_(new.to(original.dtype))
        if new.grad is not None and new.grad.shape == original.shape:
            original.grad = new.grad.to(original.dtype)
    elif isinstance(original, dict) and isinstance(new, dict):
        for key in [k for k in original if k not in new]:
            del original[key]
        for key, value in new.items():
            if key in original and _mutable(original[key]):
                copy_back(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, list) and isinstance(new, list):
        if len(original) == len(new):
            for i, value in enumerate(new):
                if _mutable(original[i]):
                    copy_back(original[i], value)
                else:
                    original[i] = value
        else:
            original[:] = new
    elif _is_frame(original) and type(new) is type(original):
        if original.shape == new.shape:
            if original.ndim == 1:
                original[:] = new.to_numpy()
            else:
                for column in original.columns:
                    if column in new.columns:
                        original[column] = new[column].to_numpy()
    elif isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state
    elif torch is not None and isinstance(original, torch.Generator) and isinstance(new, torch.Generator):
        original.set_state(new.get_state())
    elif torch is not None and isinstance(original, torch.nn.Module) and isinstance(new, dict) and "$mod" in new:
        state = original.state_dict(keep_vars=True)
        for name, value in new["$mod"].items():
            if name in state and isinstance(value, torch.Tensor) and value.shape == state[name].shape:
                with torch.no_grad():
                    state[name].copy_(value.to(state[name].dtype))
        for name, grad in new.get("grads", {}).items():
            if name in state and isinstance(grad, torch.Tensor) and grad.shape == state[name].shape:
                state[name].grad = grad.to(state[name].dtype)
        original.train(bool(new.get("training", original.training)))
        _copy_attrs(original, new.get("attrs", {}))
    elif torch is not None and isinstance(original, torch.optim.Optimizer) and isinstance(new, dict) and "$opt" in new:
        original.load_state_dict(new["$opt"])
    elif hasattr(original, "__dict__") and isinstance(new, dict) and "$attrs" in new:
        _copy_attrs(original, new["$attrs"])


def _copy_attrs(original, attrs) -> None:
    """Attributes the student's code changed on one of the grader's objects (a probe's call counter):
    plain values and arrays only, and only attributes the object already has."""
    if not isinstance(attrs, dict):
        return
    own = vars(original)
    for key, value in attrs.items():
        if not isinstance(key, str) or key not in own or isinstance(value, Handle):
            continue
        if _mutable(own[key]) and not isinstance(own[key], (dict, list)):
            copy_back(own[key], value)
        elif value is None or type(value) in (bool, int, float, str, list, tuple, dict):
            own[key] = value


def _is_frame(value) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and type(value) in (pd.DataFrame, pd.Series)


def _mutable(value) -> bool:
    if type(value) is Handle:   # the student's own object: it changed where it lives, in the kernel
        return False
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, (torch.nn.Module, torch.optim.Optimizer, torch.Generator)):
        return True
    return isinstance(value, (np.ndarray, dict, list, np.random.Generator)) or _is_frame(value) or \
        (torch is not None and isinstance(value, torch.Tensor)) or \
        (type(value).__module__.startswith(OBJ_MODULES) and hasattr(value, "__dict__"))


# --------------------------------------------------------------------------------------------
# the channel and handles
# --------------------------------------------------------------------------------------------

class Remote:
    """Requests to the agent in one student kernel; ``send(text) -> text`` is the transport."""

    def __init__(self, send):
        self._send = send
        self.calls = 0
        self._call = None       # while decoding a call's result: (call id, args, kwargs)

    def request(self, **req):
        text = self._send(json.dumps(req))
        if not isinstance(text, str) or len(text) > MAX_REPLY:
            raise ValueError("the kernel's reply is missing or too large")
        reply = json.loads(text)
        if not isinstance(reply, dict):
            raise ValueError("the kernel sent a malformed reply")
        if "error" in reply:
            name, message = (list(reply["error"]) + ["", ""])[:2]
            raise _exception(str(name), str(message))
        return reply.get("ok")

    def value(self, **req):
        return decode(self.request(**req), self)

    def fetch(self, names: list[str]) -> dict:
        found = self.request(op="fetch", names=names)
        if not isinstance(found, dict):
            raise ValueError("the kernel sent a malformed namespace")
        return {n: v for n in names if n in found and (v := decode(found[n], self)) is not _MISSING}

    def call(self, handle: "Handle", args: tuple, kwargs: dict):
        self.calls += 1
        torch = sys.modules.get("torch")
        pickled: list = []
        req = {"op": "call", "h": handle._id, "args": encode(list(args), 0, pickled),
               "kwargs": {"$d": [[k, encode(v, 0, pickled)] for k, v in kwargs.items()]},
               "rng": _rng_states(), "errstate": {k: v for k, v in np.geterr().items()},
               "grad": bool(torch.is_grad_enabled()) if torch is not None else True}
        if pickled:
            try:
                req["pickled"] = base64.b64encode(_pickle(pickled)).decode()
            except Exception as err:  # noqa: BLE001 - a lambda inside, say
                raise NotRemotable(f"a {type(pickled[-1]).__qualname__} cannot be handed to the student's kernel "
                                   f"({type(err).__name__}: {err})") from None
        reply = self.request(**req)
        if not isinstance(reply, dict):
            raise ValueError("the kernel sent a malformed reply")
        self._apply_post(reply.get("post") or {}, args, kwargs)
        probe._advance_random()     # never the kernel's random state: the student's code could have set it
        value = reply.get("value")
        call = value.get("call") if isinstance(value, dict) else None
        self._call = (call, args, kwargs)
        try:
            return decode(value, self)
        finally:
            self._call = None

    def _apply_post(self, post: dict, args, kwargs) -> None:
        """Arguments the student's code changed in place (and their gradients): onto the grader's originals."""
        try:
            for original, state in zip(args, post.get("args", [])):
                if _mutable(original):
                    copy_back(original, _post_value(state, self))
            for key, state in (post.get("kwargs") or {}).items():
                if key in kwargs and _mutable(kwargs[key]):
                    copy_back(kwargs[key], _post_value(state, self))
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"the kernel sent a malformed argument state ({err})") from err

    def _backward_hook(self, handle: int, call: tuple):
        """A hook for a result tensor: the gradient arriving here is backpropagated in the kernel, and the
        gradients of that call's arguments come back onto the grader's tensors."""
        _, args, kwargs = call
        call_id = call[0]

        def hook(grad):
            reply = self.request(op="backward", h=handle, call=call_id, grad=encode(grad.detach()))
            self._apply_post((reply or {}).get("post") or {}, args, kwargs)
            return None

        return hook


class _Pickler(pickle.Pickler):
    """Pickles the grader's objects for the kernel; a handle inside one (the student's block wrapped in a
    grader-side model) goes as a reference to the kernel's own object."""

    def persistent_id(self, obj):
        return ("h", obj._id) if type(obj) is Handle else None


def _pickle(objects: list) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(objects)
    return buffer.getvalue()


def _post_value(state, remote):
    if isinstance(state, dict) and "$obj" in state:
        got = decode(state.get("state"), remote)
        return {"$attrs": got} if isinstance(got, dict) else None
    if isinstance(state, dict) and "$mod" in state:
        got = decode(state["$mod"], remote)
        if not isinstance(got, dict):
            raise ValueError("the kernel sent a malformed module state")
        return {"$mod": got.get("state", {}), "grads": got.get("grads", {}), "training": got.get("training") is True,
                "attrs": got.get("attrs", {})}
    if isinstance(state, dict) and "$opt" in state:
        return {"$opt": decode(state["$opt"], remote)}
    return decode(state, remote)


def _exception(name: str, message: str) -> BaseException:
    kind = BUILTIN_ERRORS.get(name)
    if kind is not None and kind.__module__ == "builtins":
        try:
            return kind(message)
        except Exception:  # noqa: BLE001 - exceptions with odd constructors
            pass
    return RemoteError(f"{name}: {message}")


def _rng_states() -> dict:
    out = {"np": encode(np.random.get_state()), "py": encode(random.getstate())}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = encode(torch.get_rng_state())
    return out


def _claimed_class(mro: list[str]):
    """The first class of the remote object's MRO the grader already has from a library (for isinstance)."""
    for dotted in mro:
        module, _, name = dotted.rpartition(".")
        if module.split(".")[0] not in CLASS_MODULES or module not in sys.modules:
            continue
        obj = sys.modules[module]
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type) and obj is not object:
            return obj
    return Handle


class Handle:
    """An object that lives in the student's kernel; operations on it are requests to the agent."""

    __slots__ = ("_remote", "_id", "_mro", "_callable", "_cls_mro", "_static")

    def __init__(self, remote: Remote, ident: int, mro: list[str], is_callable: bool):
        object.__setattr__(self, "_remote", remote)
        object.__setattr__(self, "_id", ident)
        object.__setattr__(self, "_mro", mro)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_cls_mro", None)
        object.__setattr__(self, "_static", [])

    @property
    def _class_mro(self):
        """For a class of the student's: the qualified names of its MRO (``checks.core.is_subclass``)."""
        return self._cls_mro

    @property
    def _grading_local_only(self):
        """For ``checks.core.local_only``: a check that needs this object in its own process."""
        def refuse(why: str):
            raise NotRemotable(why)
        return refuse

    @property
    def _grading_functions(self) -> list:
        """The answer's source as the grader read it (set by the caller; ``checks.core.forbidden_uses``)."""
        return object.__getattribute__(self, "_static")

    def __deepcopy__(self, memo):
        """A deep copy made in the kernel (the paper checks load weights into a copy of the student's block)."""
        return self._remote.value(op="deepcopy", h=self._id)

    # a shallow copy or a pickle would need the student's object in this process: judged in the kernel
    def __copy__(self):
        raise NotRemotable("copying the student's object needs it in the grader's process")

    def __reduce_ex__(self, protocol):
        raise NotRemotable("pickling the student's object needs it in the grader's process")

    @property
    def __class__(self):  # isinstance(handle, nn.Module) holds for a student's module
        return _claimed_class(self._mro)

    @property
    def __name__(self):
        return self._remote.value(op="getattr", h=self._id, name="__name__")

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._remote.value(op="getattr", h=self._id, name=name)

    def __setattr__(self, name, value):
        self._remote.request(op="setattr", h=self._id, name=name, value=encode(value))

    def __call__(self, *args, **kwargs):
        return self._remote.call(self, args, kwargs)

    def __iter__(self):
        return iter(self._remote.value(op="iter", h=self._id))

    def __len__(self):
        n = self._remote.value(op="len", h=self._id)
        if type(n) is not int:
            raise TypeError("len() of the student's object is not an int")
        return n

    def __getitem__(self, key):
        return self._remote.value(op="getitem", h=self._id, key=encode(key))

    def __setitem__(self, key, value):
        self._remote.request(op="setitem", h=self._id, key=encode(key), value=encode(value))

    def __bool__(self):
        return self._remote.value(op="bool", h=self._id) is True

    def __repr__(self):
        text = self._remote.value(op="repr", h=self._id)
        return str(text)[:2000]

    def __str__(self):
        return str(self._remote.value(op="str", h=self._id))[:2000]


# --------------------------------------------------------------------------------------------
# running a graded test cell here: probe.run_cell, with handles
# --------------------------------------------------------------------------------------------

def run_test_cell(source: str, imports: list[str], remote: Remote, carry: dict | None = None) -> tuple[list[dict], dict | None]:
    """:func:`helpers.grading.probe.run_cell` with the names fetched through ``remote`` (handles for objects);
    a :class:`NotRemotable` propagates (the caller then runs the cell in the kernel instead)."""
    return run_cell(source, imports, remote.fetch, carry)
