"""The grader's agent inside a student's kernel: call what the student wrote, hand back what it returns.

The grader (``helpers.grading.remote``) sends this file's source to the kernel once, then one
JSON request per operation through the ordinary Jupyter channel. The agent is *not trusted*: the
student's code shares its interpreter and may change anything here. That is fine, because the
agent only ever produces the student's outputs; the expected values, the hidden cases and the
comparison live in the grader's process, which nothing here can reach.

Values cross as JSON without pickle: numbers, strings, None, lists, tuples, dicts, NumPy arrays
and scalars and torch tensors (raw bytes in base64), NumPy generators (their bit-generator
state), and objects of the course's own plain classes (class path + ``__dict__``). Anything else
stays in the kernel and crosses as a handle: the grader calls it, reads its attributes and
iterates it through further requests.

This module must run on its own (the standard library, NumPy, and torch if present).
"""
import base64
import importlib
import json
import sys

try:
    import numpy as _np
except ImportError:  # pragma: no cover - the course always has NumPy
    _np = None

_objects = {}
_next = [1]
_calls = {}          # call id -> (args, kwargs): what a later backward() reports on
MAX_DEPTH = 12
MAX_ITEMS = 100_000  # object arrays sent item by item, up to this many


def _torch():
    return sys.modules.get("torch")


def _array(kind, a):
    a = _np.array(a, order="C", copy=True)
    return {kind: a.dtype.str, "shape": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode()}


def _handle(value):
    key = next((k for k, v in _objects.items() if v is value), None)
    if key is None:
        key = _next[0]
        _next[0] += 1
        _objects[key] = value
    mro = [f"{c.__module__}.{c.__qualname__}" for c in type(value).__mro__]
    out = {"$h": key, "mro": mro, "call": callable(value)}
    if isinstance(value, type):
        out["cls_mro"] = [f"{c.__module__}.{c.__qualname__}" for c in value.__mro__]
    return out


def encode(value, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    t = type(value)
    if value is None or t in (bool, int, str):
        return value
    if t is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else {"$f": repr(value)}
    if t is tuple:
        return {"$tu": [encode(v, depth + 1) for v in value]}
    if t is list:
        return [encode(v, depth + 1) for v in value]
    if t is dict:
        return {"$d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    torch = _torch()
    pd = sys.modules.get("pandas")
    if pd is not None and t in (pd.DataFrame, pd.Series):
        index = encode(value.index.tolist(), depth + 1)
        if t is pd.Series:
            return {"$ps": {"name": encode(value.name, depth + 1), "index": index, "dtype": str(value.dtype),
                            "values": encode(value.to_numpy(), depth + 1)}}
        return {"$pd": {"columns": encode(list(value.columns), depth + 1), "index": index,
                        "dtypes": [str(d) for d in value.dtypes],
                        "cols": [encode(value[c].to_numpy(), depth + 1) for c in value.columns]}}
    if _np is not None:
        if t is _np.ndarray and value.dtype.kind in "biufc":
            return _array("$nd", value)
        if t is _np.ndarray and value.dtype.kind in "OUS" and value.size <= MAX_ITEMS:
            return {"$no": list(value.shape), "dtype": value.dtype.str if value.dtype.kind in "US" else "|O",
                    "items": [encode(v, depth + 1) for v in value.ravel().tolist()]}
        if isinstance(value, _np.generic) and value.dtype.kind in "biufc":
            return _array("$ns", _np.asarray(value))
        if t is _np.random.Generator:
            return {"$rng": encode(value.bit_generator.state, depth + 1)}
    if torch is not None and isinstance(value, torch.Tensor) and value.layout == torch.strided:
        v = value.detach().cpu()
        dtype = str(v.dtype).replace("torch.", "")
        if v.dtype == torch.bfloat16:
            v = v.float()
        out = _array("$t", v.resolve_conj().numpy())
        out.update(dtype=dtype, grad=bool(value.requires_grad and value.is_leaf))
        if value.is_leaf and value.grad is not None:
            out["g"] = encode(value.grad, depth + 1)
        if value.requires_grad and _backward_of[0] is not None:   # a result the grader may backpropagate through
            out["bw"] = _handle(value)["$h"]
            out["call"] = _backward_of[0]
        return out
    if torch is not None and isinstance(value, torch.dtype):
        return {"$dt": str(value)}
    if torch is not None and isinstance(value, torch.Generator) and value.device.type == "cpu":
        return {"$tg": encode(value.get_state(), depth + 1)}
    return _handle(value)


_backward_of = [None]   # while encoding a call's result: that call's id
_pickled = [[]]         # while decoding a call's arguments: the objects the grader sent pickled


def _decode_array(d):
    raw = base64.b64decode(d["b64"])
    dtype = _np.dtype(d.get("$nd") or d.get("$ns") or d.get("$t"))
    return _np.frombuffer(raw, dtype=dtype).reshape(d["shape"]).copy()


def decode(d):
    if isinstance(d, list):
        return [decode(v) for v in d]
    if not isinstance(d, dict):
        return d
    if "$f" in d:
        return float(d["$f"])
    if "$tu" in d:
        return tuple(decode(v) for v in d["$tu"])
    if "$d" in d:
        return {decode(k): decode(v) for k, v in d["$d"]}
    if "$nd" in d:
        return _decode_array(d)
    if "$ns" in d:
        return _decode_array(d)[()]
    if "$no" in d:
        items = _np.empty(len(d["items"]), dtype=object)
        items[:] = [decode(v) for v in d["items"]]
        out = items.reshape(d["$no"])
        return out.astype(d["dtype"]) if d["dtype"] != "|O" else out
    if "$ps" in d or "$pd" in d:
        import pandas as pd

        if "$ps" in d:
            f = d["$ps"]
            return pd.Series(decode(f["values"]), index=decode(f["index"]), name=decode(f["name"])).astype(f["dtype"])
        f = d["$pd"]
        columns = decode(f["columns"])
        frame = pd.DataFrame({i: decode(c) for i, c in enumerate(f["cols"])}, index=decode(f["index"]))
        frame.columns = columns
        return frame.astype(dict(zip(columns, f["dtypes"])))
    if "$t" in d:
        torch = importlib.import_module("torch")
        t = torch.from_numpy(_decode_array(d)).to(getattr(torch, d["dtype"]))
        if d.get("grad"):
            t.requires_grad_(True)
        if "g" in d:
            t.grad = decode(d["g"])
        return t
    if "$tg" in d:
        g = importlib.import_module("torch").Generator()
        g.set_state(decode(d["$tg"]))
        return g
    if "$dt" in d:
        return getattr(importlib.import_module("torch"), d["$dt"].replace("torch.", ""))
    if "$rng" in d:
        state = decode(d["$rng"])
        bitgen = getattr(_np.random, state["bit_generator"])()
        bitgen.state = state
        return _np.random.Generator(bitgen)
    if "$h" in d:
        return _objects[d["$h"]]
    if "$pk" in d:
        return _pickled[0][d["$pk"]]
    if "$fn" in d:
        module, _, name = d["$fn"].partition(":")
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj
    if "$obj" in d:
        module, _, name = d["$obj"].partition(":")
        cls = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        obj = cls.__new__(cls)
        obj.__dict__.update(decode(d["state"]))
        return obj
    raise ValueError(f"unknown value {sorted(d)[:3]}")


def _state(value):
    """What the grader copies back after a call: arguments the student's code may change in place."""
    torch = _torch()
    if torch is not None and isinstance(value, torch.nn.Module):
        state = value.state_dict(keep_vars=True)
        grads = {k: v.grad for k, v in state.items() if isinstance(v, torch.Tensor) and v.grad is not None}
        attrs = {k: v for k, v in vars(value).items() if not k.startswith("_") and k != "training"
                 and type(v) in (bool, int, float, str, list, tuple, dict)}
        return {"$mod": encode({"state": {k: v.detach() for k, v in state.items()}, "grads": grads,
                                "training": bool(value.training), "attrs": attrs})}
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        return {"$opt": encode(value.state_dict())}
    if torch is not None and isinstance(value, torch.Generator):
        return encode(value)
    if _np is not None and isinstance(value, _np.random.Generator):
        return encode(value)
    if hasattr(value, "__dict__") and not isinstance(value, type) and type(value).__module__.startswith("helpers."):
        return {"$obj": f"{type(value).__module__}:{type(value).__qualname__}", "state": encode(vars(value))}
    return encode(value)


def _rng(states):
    import random

    if states is None:
        return
    _np.random.set_state(decode(states["np"]))
    random.setstate(decode(states["py"]))
    torch = _torch()
    if torch is not None and "torch" in states:
        torch.set_rng_state(decode(states["torch"]))


def _post(args, kwargs):
    return {"args": [_state(a) for a in args], "kwargs": {k: _state(v) for k, v in kwargs.items()}}


def _ns():
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell.user_ns if shell is not None else sys.modules["__main__"].__dict__


def _op(req):
    op = req["op"]
    if op == "fetch":
        ns = _ns()
        return {name: encode(ns[name]) if name in ns else {"$missing": name} for name in req["names"]}
    target = _objects[req["h"]] if "h" in req else None
    if op == "call":
        if req.get("pickled"):   # the grader's own objects (a model, an optimiser): from the grader, not to it
            import pickle

            import io

            class _Unpickler(pickle.Unpickler):
                def persistent_load(self, pid):
                    return _objects[pid[1]]   # a handle the grader holds: the kernel's own object

            _pickled[0] = _Unpickler(io.BytesIO(base64.b64decode(req["pickled"]))).load()
        args, kwargs = decode(req["args"]), decode(req["kwargs"])
        _pickled[0] = []
        _rng(req.get("rng"))
        torch = _torch()
        grad = torch.set_grad_enabled(req.get("grad", True)) if torch is not None else None
        try:
            with _np.errstate(**req.get("errstate", {})):
                result = target(*args, **kwargs)
        finally:
            if grad is not None:
                grad.__exit__(None, None, None)
        call = _next[0]
        _next[0] += 1
        _calls[call] = (args, kwargs)
        _backward_of[0] = call
        try:
            value = encode(result)
        finally:
            _backward_of[0] = None
        return {"value": value, "post": _post(args, kwargs)}
    if op == "backward":
        args, kwargs = _calls[req["call"]]
        target.backward(decode(req["grad"]))
        return {"post": _post(args, kwargs)}
    if op == "deepcopy":
        import copy

        return encode(copy.deepcopy(target))
    if op == "getattr":
        return encode(getattr(target, req["name"]))
    if op == "setattr":
        setattr(target, req["name"], decode(req["value"]))
        return None
    if op == "getitem":
        return encode(target[decode(req["key"])])
    if op == "setitem":
        target[decode(req["key"])] = decode(req["value"])
        return None
    if op == "iter":
        return [encode(v) for v in list(target)]
    if op == "len":
        return len(target)
    if op == "repr":
        return repr(target)[:2000]
    if op == "str":
        return str(target)[:2000]
    if op == "bool":
        return bool(target)
    raise ValueError(f"unknown operation {op!r}")


def serve(text):
    """One request (JSON text) -> one reply (JSON text): {"ok": value} or {"error": [type, message]}."""
    try:
        return json.dumps({"ok": _op(json.loads(text))})
    except KeyboardInterrupt:  # the grader interrupted a call that ran too long
        raise
    except BaseException as err:  # noqa: BLE001 - the student's exception (SystemExit too) is the answer
        module = type(err).__module__
        name = type(err).__qualname__ if module in ("builtins", "exceptions") else f"{module}.{type(err).__qualname__}"
        return json.dumps({"error": [name, str(err)[:2000]]})
