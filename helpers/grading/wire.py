"""Plain data across the sandbox wall, both ways, and the kernel's side of a probe.

One file for both ends: the grader imports it (:mod:`helpers.grading.probe`), and sends its source
once to the student's kernel, where :func:`serve` answers the grader's probes. A message is a NumPy
``.npz`` archive (read with ``allow_pickle=False``) holding a JSON tree and the arrays it points to;
it crosses the Jupyter channel as base64 text. Values are data only: None, booleans, numbers,
strings, lists, tuples (a namedtuple arrives as a tuple), dicts, NumPy arrays of numbers, booleans or
strings and NumPy scalars, torch tensors (their gradient too), torch dtypes, NumPy and torch random
generators, pandas Series and DataFrames. Whatever else a student's function returns is reported by
its class names, never sent.

An array of the grader's of 64 KiB or more (a VGG's weights) crosses once per kernel: the kernel keeps
its bytes under their digest (``_HELD``, immutable bytes, at most ``HELD_MAX``) and a later request names
the digest instead. A kernel that no longer holds one (the student's code cleared it) answers ``unheld``
and the grader sends the request again in full. What the kernel holds is only what the grader sent it.

Nothing either side receives is executed or unpickled: a request holds data too (the inputs the
grader made, the random states the call starts from).

This module must run on its own (the standard library, NumPy; torch and pandas when present).
"""
import base64
import contextlib
import hashlib
import importlib
import io
import json
import re
import sys

import numpy as np

MAX_DEPTH = 32
MAX_NODES = 1_000_000
MAX_BYTES = 256 << 20                       # one message, decoded
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
HOLD_BYTES = 64 << 10                       # an array of the grader's this large crosses once per kernel
HELD_MAX = 256 << 20                        # what the kernel keeps of them, at most
_HELD: dict = {}                            # the kernel's side: digest -> (dtype, shape, bytes)


class NotData(TypeError):
    """A value that is not plain data (its class names travel instead)."""

    def __init__(self, value):
        self.mro = [f"{c.__module__}.{c.__qualname__}" for c in type(value).__mro__]
        super().__init__(f"a {type(value).__qualname__} is not plain data")


def _mods():
    return sys.modules.get("torch"), sys.modules.get("pandas")


class Unheld(ValueError):
    """A request names an array the kernel does not hold (any more)."""


def _digest(a) -> str:
    h = hashlib.blake2b(f"{a.dtype.str}{a.shape}".encode(), digest_size=16)
    h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


class _Packer:
    def __init__(self, modules=False, held=None):
        self.arrays, self.nodes, self.modules = [], 0, modules
        self.params, self.serial = {}, 0        # the parameters of the modules packed so far, for an optimizer
        self.held, self.hold = held, []         # digests the kernel holds; arrays it is to hold from this message

    def array(self, a):
        if self.held is not None and a.nbytes >= HOLD_BYTES:
            key = _digest(a)
            if key in self.held:
                return key
            self.held.add(key)
            self.hold.append([len(self.arrays), key])
        self.arrays.append(a)
        return len(self.arrays) - 1

    def tree(self, value, depth=0):
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ValueError("the value is nested too deeply or has too many parts")
        t = type(value)
        if value is None or t in (bool, int, str):
            return value if t is not int or abs(value) < 1 << 62 else {"I": str(value)}
        if t is float:
            return {"F": repr(value)} if value != value or value in (float("inf"), float("-inf")) else value
        if t is complex:
            return {"C": [value.real, value.imag]}
        if isinstance(value, tuple):        # namedtuples too
            return {"T": [self.tree(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [self.tree(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {"D": [[self.tree(k, depth + 1), self.tree(v, depth + 1)] for k, v in value.items()]}
        torch, pd = _mods()
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufcU":
            return {"A": self.array(np.ascontiguousarray(value))}
        if isinstance(value, np.generic) and value.dtype.kind in "biufcU":
            return {"S": self.array(np.asarray(value))}
        if isinstance(value, np.random.Generator):
            return {"G": self.tree(value.bit_generator.state, depth + 1)}
        if torch is not None:
            if isinstance(value, torch.Tensor) and value.layout == torch.strided and not value.is_complex():
                v = value.detach().cpu()
                out = {"Tn": self.array(v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy().copy()),
                       "dtype": str(v.dtype)[6:], "rg": bool(value.requires_grad)}
                if value.is_leaf and value.grad is not None:
                    out["g"] = self.tree(value.grad, depth + 1)
                return out
            if isinstance(value, torch.Size):
                return {"T": [int(v) for v in value]}
            if isinstance(value, torch.dtype):
                return {"dt": str(value)[6:]}
            if isinstance(value, torch.device):
                return {"dv": str(value)}
            if isinstance(value, torch.Generator) and value.device.type == "cpu":
                return {"TG": self.array(value.get_state().numpy())}
            if self.modules and isinstance(value, torch.nn.Module) and value.__dict__.get("_mirror_root") is not None:
                for name, param in value.named_parameters():      # the student's module, held by the grader
                    self.params[id(param)] = [self.serial, name]
                self.serial += 1
                root = value.__dict__["_mirror_root"]
                return {"Mirror": self.tree({"recipe": root.__dict__["_mirror_recipe"], "path": value.__dict__["_mirror_path"],
                                             **state_of(root)}, depth + 1)}
            if self.modules and isinstance(value, torch.nn.Module):     # the grader's module, of known classes
                for name, param in value.named_parameters():
                    self.params[id(param)] = [self.serial, name]
                self.serial += 1
                return {"Mod": self.tree(_module_report(torch, value, known=True), depth + 1)}
            if self.modules and isinstance(value, torch.optim.Optimizer):
                refs = [self.params.get(id(q)) for group in value.param_groups for q in group["params"]]
                if _known(_mro(value)[0]) is not type(value) or None in refs:
                    raise NotData(value)
                return {"Opt": self.tree({"cls": _mro(value)[0], "state": value.state_dict(), "refs": refs}, depth + 1)}
        if self.modules:                # the grader's object of a known class (a loader, a course network), a function
            import functools

            if type(value) is functools.partial:
                return {"Part": self.tree([value.func, list(value.args), dict(value.keywords)], depth + 1)}
            name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
            if callable(value) and _known(name) is value:
                return {"Fn": name}
            if hasattr(value, "__dict__") and not isinstance(value, type) and _known(_mro(value)[0]) is type(value):
                return {"Obj": self.tree({"cls": _mro(value)[0], "attrs": dict(vars(value))}, depth + 1)}
        image = sys.modules.get("PIL.Image")
        if image is not None and isinstance(value, image.Image):
            return {"PIL": self.array(np.asarray(value)), "mode": value.mode}
        if pd is not None and isinstance(value, (pd.Series, pd.DataFrame)):
            frame = value.to_frame() if isinstance(value, pd.Series) else value
            return {"PD": {"series": isinstance(value, pd.Series), "name": self.tree(getattr(value, "name", None), depth + 1),
                           "columns": self.tree(list(frame.columns), depth + 1),
                           "index": self.tree(frame.index.tolist(), depth + 1),
                           "dtypes": [str(d) for d in frame.dtypes],
                           "cols": [self.tree(_column(frame.iloc[:, i]), depth + 1) for i in range(frame.shape[1])]}}
        raise NotData(value)


def _column(series):
    values = series.to_numpy()
    if values.dtype.kind == "O":
        return [None if v is None or v != v else v for v in values.tolist()]
    return values


def pack(value, modules=False, held=None) -> bytes:
    """``value`` as one message (:class:`NotData` for a part that is not plain data). ``modules``: a module made
    of torch.nn's own layers goes as what it is made of (the grader's requests only: the kernel's answers
    never carry a module). ``held``: the digests of the arrays the kernel holds, updated with those it will
    (the grader's requests only)."""
    packer = _Packer(modules, held)
    tree = json.dumps(packer.tree(value), allow_nan=False).encode()
    buffer = io.BytesIO()
    hold = {"hold": np.frombuffer(json.dumps(packer.hold).encode(), dtype=np.uint8)} if packer.hold else {}
    np.savez(buffer, tree=np.frombuffer(tree, dtype=np.uint8), **hold,
             **{f"a{i}": a for i, a in enumerate(packer.arrays)})
    data = buffer.getvalue()
    if len(data) > MAX_BYTES:
        raise ValueError(f"the value takes {len(data) >> 20} MiB; the most a probe carries is {MAX_BYTES >> 20} MiB")
    return data


class _Unpacker:
    def __init__(self, archive, modules=False):
        self.archive, self.nodes, self.modules = archive, 0, modules
        self.params = []                        # each module built so far: {name: parameter}

    def array(self, i):
        if isinstance(i, str):          # an array the kernel holds: a request's only, on the kernel's side
            if not self.modules:
                raise ValueError("a malformed message (an array named by its digest)")
            if i not in _HELD:
                raise Unheld(i)
            dtype, shape, data = _HELD[i]
            return np.frombuffer(data, dtype=dtype).reshape(shape)
        a = self.archive[f"a{int(i)}"]
        if a.dtype.kind not in "biufcU":
            raise ValueError("an array of objects in a message")
        return a

    def value(self, node, depth=0):
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ValueError("the message is nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.value(v, depth + 1) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise ValueError("a malformed message")
        if "T" in node:
            return tuple(self.value(v, depth + 1) for v in node["T"])
        if "D" in node:
            out = {}
            for k, v in node["D"]:
                key = self.value(k, depth + 1)
                out[key if not isinstance(key, list) else tuple(key)] = self.value(v, depth + 1)
            return out
        if "F" in node:
            return float(node["F"])
        if "I" in node:
            return int(node["I"])
        if "C" in node:
            return complex(*node["C"])
        if "A" in node:
            return self.array(node["A"]).copy()
        if "S" in node:
            return self.array(node["S"])[()]
        if "G" in node:
            state = self.value(node["G"], depth + 1)
            bit_generator = getattr(np.random, str(state["bit_generator"]))
            if not (isinstance(bit_generator, type) and issubclass(bit_generator, np.random.BitGenerator)):
                raise ValueError("a malformed random generator")
            made = bit_generator()
            made.state = state
            return np.random.Generator(made)
        if "Tn" in node or "dt" in node or "TG" in node or "dv" in node:
            import torch

            if "dv" in node:
                try:
                    return torch.device(str(node["dv"]))
                except RuntimeError:
                    raise ValueError("a malformed device") from None
            if "dt" in node:
                return _torch_dtype(torch, node["dt"])
            if "TG" in node:
                g = torch.Generator()
                g.set_state(torch.from_numpy(self.array(node["TG"]).astype(np.uint8)))
                return g
            t = torch.from_numpy(self.array(node["Tn"]).copy()).to(_torch_dtype(torch, node.get("dtype", "float32")))
            if node.get("rg") and (t.is_floating_point() or t.is_complex()):
                t.requires_grad_(True)
            if "g" in node and t.requires_grad:
                t.grad = self.value(node["g"], depth + 1)
            return t
        if self.modules and ({"Mod", "Opt", "Obj", "Fn", "Mirror", "Part"} & set(node)):
            return self.grader_object(node, depth)
        if "PIL" in node:
            from PIL import Image

            made = Image.fromarray(self.array(node["PIL"]).copy())
            return made if made.mode == node.get("mode") else made.convert(str(node.get("mode")))
        if "PD" in node:
            import pandas as pd

            f = node["PD"]
            columns = self.value(f["columns"], depth + 1)
            frame = pd.DataFrame({i: self.value(c, depth + 1) for i, c in enumerate(f["cols"])},
                                 index=self.value(f["index"], depth + 1))
            frame.columns = columns
            frame = frame.astype(dict(zip(columns, [str(d) for d in f["dtypes"]])))
            if f.get("series"):
                series = frame.iloc[:, 0]
                series.name = self.value(f["name"], depth + 1)
                return series
            return frame
        raise ValueError(f"a malformed message ({sorted(node)[:3]})")


def _grader_object(self, node, depth):
    """The kernel's copy of the grader's module, optimizer, object or function (the kernel's side only)."""
    import torch

    if "Part" in node:
        import functools

        func, args, kwargs = self.value(node["Part"], depth + 1)
        return functools.partial(func, *args, **kwargs)
    if "Fn" in node:
        found = _known(node["Fn"], importing=True)
        if found is None:
            raise ValueError(f"an unknown function {str(node['Fn'])[:100]}")
        return found
    if "Mod" in node or "Mirror" in node:
        if "Mod" in node:
            root = _assemble(torch, self.value(node["Mod"], depth + 1), _known_module)[""]
        else:
            spec = self.value(node["Mirror"], depth + 1)
            root = _rebuild(torch, spec, _namespace())[0].get_submodule(spec["path"])
        self.params.append(dict(root.named_parameters()))
        return root
    spec = self.value(node["Opt"] if "Opt" in node else node["Obj"], depth + 1)
    cls = _known(spec["cls"], importing=True)
    if not isinstance(cls, type):
        raise ValueError(f"an unknown class {str(spec['cls'])[:100]}")
    if "Obj" in node:
        made = cls.__new__(cls)
        made.__dict__.update(spec["attrs"])
        return made
    params = [self.params[int(serial)][str(name)] for serial, name in spec["refs"]]
    groups = [{**{k: v for k, v in g.items() if k == "lr"}, "params": [params[i] for i in g["params"]]}
              for g in spec["state"]["param_groups"]]
    made = cls(groups)
    made.load_state_dict(spec["state"])
    return made


_Unpacker.grader_object = _grader_object

KNOWN_ROOTS = ("torch.nn", "torch.utils.data", "torch.optim", "helpers", "numpy", "math")  # the grader's objects' kinds


def _known(name, importing=False):
    """The class or function of that dotted name in the roots the grader's objects come from, or None; nothing
    outside them is looked up, and only the kernel imports (the grader's own modules are already loaded)."""
    module, _, qualname = str(name).rpartition(".")
    if not any(module == r or module.startswith(r + ".") for r in KNOWN_ROOTS) or module.startswith("helpers.grading") \
            or "<" in qualname:
        return None
    if module not in sys.modules:
        if not importing:
            return None
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - not there: unknown
            return None
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def _known_module(torch, mro):
    found = _known(mro[0], importing=True)
    return found if isinstance(found, type) and issubclass(found, torch.nn.Module) else None


def _torch_dtype(torch, name):
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown torch dtype {name!r}")
    return dtype


def unpack(data: bytes, modules=False):
    """The value in a message (:func:`pack`); ValueError for anything malformed or too large. ``modules``: build
    the torch.nn modules a request carries (the kernel's side only)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_BYTES:
        raise ValueError("the message is missing or too large")
    try:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - zip, npy header or size errors: all malformed
        raise ValueError(f"the message is malformed ({type(err).__name__})") from None
    tree = arrays.pop("tree", None)
    if tree is None or tree.dtype != np.uint8:
        raise ValueError("the message has no tree")
    hold = arrays.pop("hold", None)
    if hold is not None and modules:
        _keep(arrays, hold)
    try:
        node = json.loads(tree.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError("the message's tree is malformed") from err
    try:
        return _Unpacker(arrays, modules).value(node)
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError, RecursionError) as err:
        raise ValueError(f"the message is malformed ({type(err).__name__}: {err})") from None


def _keep(arrays, hold) -> None:
    """The kernel's side: keep the arrays a request marks to hold, under their digests (checked here), oldest
    dropped beyond ``HELD_MAX``."""
    try:
        marked = [(arrays[f"a{int(i)}"], str(key)) for i, key in json.loads(hold.tobytes().decode())]
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"the message is malformed ({type(err).__name__})") from None
    for a, key in marked:
        if _digest(a) != key:
            raise ValueError("the message is malformed (an array to hold does not match its digest)")
        _HELD.pop(key, None)
        _HELD[key] = (a.dtype.str, a.shape, a.tobytes())
    while sum(len(v[2]) for v in _HELD.values()) > HELD_MAX and len(_HELD) > 1:
        _HELD.pop(next(iter(_HELD)))


def to_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def from_text(text: str) -> bytes:
    if not isinstance(text, str) or len(text) > MAX_BYTES * 4 // 3 + 8 or not _B64.fullmatch(text):
        raise ValueError("the message is not base64 text of an allowed size")
    return base64.b64decode(text)


# --------------------------------------------------------------------------------------------
# the kernel's side: answer one probe with data
# --------------------------------------------------------------------------------------------

def _namespace():
    try:
        return get_ipython().user_ns  # noqa: F821 - defined in an IPython kernel
    except NameError:
        return sys.modules["__main__"].__dict__


def _mro(obj):
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]


def _describe(value):
    """What the grader learns about a name: its value if it is data, else what kind of thing it is."""
    try:
        if _data_bytes(value) > MAX_BYTES:
            raise ValueError(f"more than the {MAX_BYTES >> 20} MiB a probe carries")
        return {"value": value}
    except NotData:
        pass
    except ValueError as err:       # too large or too deep to carry
        return {"kind": "too large", "mro": _mro(value), "why": str(err)}
    if isinstance(value, type(sys)):
        return {"kind": "module", "name": str(getattr(value, "__name__", ""))}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return {"kind": "nn.Module", "report": _module_report(torch, value)}
    if isinstance(value, type):
        return {"kind": "class", "mro": [f"{c.__module__}.{c.__qualname__}" for c in value.__mro__],
                "attrs": _class_data(value)}
    if _is_instance(value) and not callable(value):     # an object (the notebook's setup): its class and data
        return {"kind": "object", "report": _object_report(value)}
    return {"kind": "function" if callable(value) else "object", "mro": _mro(value)}


def _set_random(state):
    import random

    np.random.set_state(state["numpy"])
    random.setstate(tuple(tuple(s) if isinstance(s, list) else s for s in state["python"]))
    torch = sys.modules.get("torch")     # a kernel that never imported torch is not made to (its state then stays
    if torch is not None and state.get("torch") is not None:   # torch's own if the call itself imports it)
        torch.set_rng_state(torch.from_numpy(np.array(state["torch"], dtype=np.uint8)))


def _invoke(req, run, args, kwargs, grad=None):
    """Run ``run()`` (the student's code) from the grader's random states, NumPy error handling and grad mode;
    (its value, what it did: its arguments after it and which random states it drew from)."""
    torch = sys.modules.get("torch")
    _set_random(req["random"])
    before = _random_now()
    with np.errstate(**req["errstate"]), contextlib.ExitStack() as stack:
        if torch is not None:
            stack.enter_context(torch.set_grad_enabled(bool(req["grad"] if grad is None else grad)))
        value = run()
    after = _random_now()
    return value, {"args": [_after(a) for a in args], "kwargs": {k: _after(v) for k, v in kwargs.items()},
                   "drew": [name for name in before if not _same(before[name], after[name])]}


def _call(req, ns):
    fn = ns.get(req["name"])
    if fn is None or not callable(fn):
        raise NameError(f"name {req['name']!r} is not defined")
    args, kwargs = list(req["args"]), dict(req["kwargs"])
    torch = sys.modules.get("torch")
    given = {id(t): ref for ref, t in reversed(refs(torch, args, kwargs))} if torch is not None else {}
    value, did = _invoke(req, lambda: fn(*args, **kwargs), args, kwargs)
    if torch is not None and isinstance(value, torch.nn.Module):   # a module: what it is made of, as data
        return {"module": _module_report(torch, value, given=given), **did}
    if torch is not None and isinstance(value, (tuple, list)) and any(isinstance(v, torch.nn.Module) for v in value):
        return {"parts": _parts(torch, value, given), "tuple": isinstance(value, tuple), **did}
    if _is_instance(value) and not _small_data(value, MAX_BYTES):     # an object: its class, data and methods
        return {"object": _object_report(value), **did}
    jacobian = None
    if torch is not None and isinstance(value, torch.Tensor) and value.grad_fn is not None:
        jacobian = _jacobian(torch, value, _leaves([args, kwargs], []))
        if jacobian is None:
            return {"graph": True}
    elif torch is not None and isinstance(value, (tuple, list)) and any(
            isinstance(v, torch.Tensor) and v.grad_fn is not None for v in value):
        leaves, jacobians = _leaves([args, kwargs], []), []      # several results: each with its derivatives
        for v in value:
            graph = isinstance(v, torch.Tensor) and v.grad_fn is not None
            jacobians.append(_jacobian(torch, v, leaves) if graph else None)
            if graph and jacobians[-1] is None:
                return {"graph": True}
        return {"value": value, **did, "jacobians": jacobians}
    return {"value": value, **did, "jacobian": jacobian}


MAX_JACOBIAN = 1 << 22          # outputs x inputs: a result to backpropagate through travels with its derivatives


def _leaves(value, out, leaves_only=True):
    """The tensors among the arguments that gradients flow back to (leaves; with ``leaves_only=False`` every
    tensor that requires gradients), in a fixed order (both sides walk the same)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.requires_grad and (value.is_leaf or not leaves_only):
            out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _leaves(v, out, leaves_only)
    elif isinstance(value, dict):
        for v in value.values():
            _leaves(v, out, leaves_only)
    return out


def _jacobian(torch, value, leaves):
    """d value / d leaf for each leaf (shape value.shape + leaf.shape; None where unused), or None if too large."""
    n = value.numel()
    if n * sum(leaf.numel() for leaf in leaves) > MAX_JACOBIAN:
        return None
    flat, rows = value.reshape(-1), []
    with torch.enable_grad():
        for i in range(n if leaves else 0):
            rows.append(torch.autograd.grad(flat[i], leaves, retain_graph=True, allow_unused=True))
    out = []
    for k, leaf in enumerate(leaves):
        if all(row[k] is None for row in rows):
            out.append(None)
        else:
            out.append(torch.stack([torch.zeros_like(leaf) if row[k] is None else row[k] for row in rows])
                       .reshape(*value.shape, *leaf.shape))
    return out


def _random_now():
    import random

    torch = sys.modules.get("torch")
    return {"numpy": np.random.get_state(), "python": random.getstate(),
            "torch": torch.get_rng_state().numpy() if torch is not None else None}


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _after(value):
    """An argument after the call, where the student's code could have changed it in place (a module: its report)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return {"module": _module_report(torch, value)}
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        return {"optimizer": value.state_dict()}
    if _is_instance(value) and type(value).__module__.startswith(KNOWN_ROOTS):
        return {"object": {k: v for k, v in vars(value).items() if _small_data(v, MAX_BYTES // 4)}}
    if isinstance(value, (np.ndarray, list, dict, np.random.Generator)) or \
            (torch is not None and isinstance(value, (torch.Tensor, torch.Generator))):
        try:
            pack(value)
            return value
        except (NotData, ValueError):
            return None
    return None


# --------------------------------------------------------------------------------------------
# modules: what one is made of goes to the grader as data; to run it, the kernel builds it again
# from the same call and loads the grader's tensors into it
# --------------------------------------------------------------------------------------------

def _data_bytes(value) -> int:
    """How many bytes of arrays packing ``value`` would carry (what packing would do, without writing the
    archive); NotData if it is not data, ValueError if it is too deep."""
    packer = _Packer()
    packer.tree(value)
    return sum(a.nbytes for a in packer.arrays)


def _small_data(value, limit=1 << 20):
    try:
        return _data_bytes(value) <= limit
    except (NotData, ValueError):
        return False


def _class_data(cls):
    """A class's public attributes that are data (``expansion = 4``), its bases' included."""
    out = {}
    for klass in reversed(cls.__mro__[:-1]):
        for key, value in vars(klass).items():
            if not key.startswith("_") and _small_data(value):
                out[key] = value
    return out


def refs(torch, args, kwargs) -> list:
    """The tensors of a call's module arguments by reference, ``[("0/block.weight", tensor), ...]`` (argument
    position or keyword, then the tensor's name), walked the same way on both sides: a module the call builds
    from them reports each as its reference, and the grader puts its own tensor there."""
    out = []
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, torch.nn.Module):
            out += [(f"{key}/{name}", t) for name, t in (*value.named_parameters(remove_duplicate=False),
                                                         *value.named_buffers(remove_duplicate=False))]
    return out


def _parts(torch, value, given):
    """A tuple or list holding modules (``model, head_params``): each module as its report, each tensor of theirs
    (or of an argument's) as its reference, the rest as data."""
    given, parts = dict(given), []
    for j, v in enumerate(value):
        if isinstance(v, torch.nn.Module):
            parts.append({"module": _module_report(torch, v, given=given)})
            for ref, t in refs(torch, [], {f"r{j}": v}):
                given.setdefault(id(t), ref)
        elif isinstance(v, (list, tuple)) and v and all(isinstance(t, torch.Tensor) and id(t) in given for t in v):
            parts.append({"refs": [given[id(t)] for t in v]})
        elif isinstance(v, torch.Tensor) and id(v) in given:
            parts.append({"ref": given[id(v)]})
        else:
            parts.append({"value": v})
    return parts


def _module_report(torch, module, known=False, given=None):
    """Each module of the tree, parents first: class names, mode, data attributes (``in_features``, a plain
    tensor), its own parameters (with their gradients) and buffers (a tensor shared with an earlier one named as
    such), its children, how many hooks it holds. ``known``: every layer must be of a class :func:`_known` finds.
    ``given``: {id: reference} of the call's arguments' tensors (:func:`refs`), reported as references."""
    given = given or {}
    internal, path_of, tensor_of, nodes = set(vars(torch.nn.Module())), {}, {}, []
    for path, m in module.named_modules():
        path_of[id(m)] = path
        if known and _known(_mro(m)[0]) is not type(m):
            raise NotData(m)
    for path, m in module.named_modules():
        attrs = {k: v for k, v in vars(m).items() if k not in internal and not k.startswith("__") and _small_data(v)}
        params, buffers = [], []
        for kind, own, out in (("p", m._parameters, params), ("b", m._buffers, buffers)):
            for leaf, t in own.items():
                if t is None:           # registered as None (a Linear without bias): kept as such
                    out.append([leaf, None, False, None])
                    continue
                name = f"{path}.{leaf}" if path else leaf
                shared = tensor_of.setdefault(id(t), name)
                row = [leaf, {"same": shared} if shared != name else {"given": given[id(t)]} if id(t) in given
                       else t.detach(),
                       bool(t.requires_grad) if kind == "p" else leaf not in m._non_persistent_buffers_set]
                out.append(row + [t.grad.detach() if kind == "p" and t.grad is not None and isinstance(row[1], torch.Tensor)
                                  else None])
        hooks = sum(len(h) for h in (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks,
                                     getattr(m, "_backward_pre_hooks", {})))
        nodes.append({"path": path, "mro": _mro(m), "training": bool(m.training), "attrs": attrs, "params": params,
                      "buffers": buffers, "hooks": hooks, "children": [[k, path_of.get(id(c)) if c is not None else None]
                                                                      for k, c in m._modules.items()]})
    return nodes


def _assemble(torch, nodes, class_for, given=None):
    """A module from its report (:func:`_module_report`): ``class_for(torch, class names)`` gives each layer's class,
    whose ``__init__`` is not run; attributes, tensors, modes and children are set as reported; a tensor reported
    as a reference is ``given[reference]`` itself."""
    if not isinstance(nodes, list) or not nodes:
        raise ValueError("a malformed module")
    made, tensors = {}, {}
    for node in nodes:
        cls = class_for(torch, [str(c) for c in node["mro"]])
        if cls is None:
            raise ValueError(f"a module of an unknown class ({str(node['mro'][0])[:100]})")
        m = cls.__new__(cls)
        torch.nn.Module.__init__(m)
        for key, value in dict(node["attrs"]).items():     # never one that would hide the class's own
            if isinstance(key, str) and not key.startswith(("__", "_mirror")) and key not in m.__dict__ \
                    and not hasattr(cls, key):
                m.__dict__[key] = value
        m.training = bool(node["training"])
        path = str(node["path"])
        for own, rows, is_param in ((m._parameters, node["params"], True), (m._buffers, node["buffers"], False)):
            for leaf, t, flag, *grad in rows:
                name = f"{path}.{leaf}" if path else str(leaf)
                if t is None:
                    own[str(leaf)] = None
                    continue
                if isinstance(t, dict) and "given" in t:
                    tensors[name] = (given or {})[str(t["given"])]
                elif isinstance(t, dict):
                    tensors[name] = tensors[str(t["same"])]
                elif is_param:
                    tensors[name] = torch.nn.Parameter(t, requires_grad=bool(flag) and t.is_floating_point())
                    if grad and grad[0] is not None:
                        tensors[name].grad = grad[0]
                else:
                    tensors[name] = t
                    if not flag:
                        m._non_persistent_buffers_set.add(str(leaf))
                own[str(leaf)] = tensors[name]
        made[path] = m
    for node in nodes:
        for child, path in node["children"]:
            made[str(node["path"])]._modules[str(child)] = None if path is None else made[str(path)]
    if "" not in made:
        raise ValueError("a malformed module")
    return made


def _load(torch, root, state, grad_names):
    """The grader's tensors into a freshly built module, by name (shared tensors stay shared); {name: parameter}."""
    made, names = {}, {}
    for path, m in root.named_modules():
        for own, is_param in ((m._parameters, True), (m._buffers, False)):
            for leaf, t in list(own.items()):
                if t is None:
                    continue
                name = f"{path}.{leaf}" if path else leaf
                if id(t) not in made:
                    value = state.get(name)
                    if value is None or tuple(value.shape) != tuple(t.shape):
                        raise RuntimeError(f"built again from the same arguments, the module's {name!r} is not what "
                                           f"it was before: build the same layers every time")
                    made[id(t)] = torch.nn.Parameter(value, requires_grad=name in grad_names) if is_param else value
                    names[name] = made[id(t)]
                own[leaf] = made[id(t)]
    missing = sorted(set(state) - set(names))
    if missing:
        raise RuntimeError(f"built again from the same arguments, the module lacks {missing[:3]}: build the same "
                           f"layers every time")
    return names


METHODS = ("__len__", "__getitem__", "__call__")     # what the grader may ask of an object of the student's


def _is_instance(value):
    import types

    return hasattr(value, "__dict__") and not isinstance(value, (type, types.FunctionType, types.MethodType,
                                                                   types.ModuleType, types.BuiltinFunctionType))


def _object_report(value):
    own = [c for c in type(value).__mro__                 # the student's own classes (not a library's, not the course's)
           if str(c.__module__).partition(".")[0] not in ("builtins", "torch", "torchvision", "numpy", "helpers", "abc", "typing")]
    others = sorted({k for c in own for k, v in vars(c).items()
                     if isinstance(k, str) and k not in METHODS and (callable(v) or isinstance(v, property))
                     and (not k.startswith("__") or k in ("__iter__", "__next__", "__contains__"))})
    return {"mro": _mro(value), "state": _object_state(value),
            "methods": [m for m in METHODS if any(callable(vars(c).get(m)) for c in type(value).__mro__)],
            "others": others[:64]}   # what the grader does not ask the kernel to run: names only


def _object_state(value):
    return {k: v for k, v in vars(value).items() if isinstance(k, str) and _small_data(v, MAX_BYTES // 4)}


def _construct(recipe, ns):
    """What the student's function or class returns for the recipe's call (its random state included), or a copy
    of what a notebook name holds (``{"fetch": name}``)."""
    if "fetch" in recipe:
        import copy

        return copy.deepcopy(ns.get(recipe["fetch"]))
    build = ns.get(recipe["name"])
    if build is None or not callable(build):
        raise NameError(f"name {recipe['name']!r} is not defined")
    _set_random(recipe["random"])
    return build(*recipe["args"], **recipe["kwargs"])


def _run_object(req, ns):
    """Build the object again as the recipe says, give it back the data it held, call one of its methods."""
    recipe = req["recipe"]
    made = _construct(recipe, ns)
    made.__dict__.update(req["state"])
    if req["method"] not in METHODS:
        raise ValueError(f"unknown method {req['method']!r}")
    args, kwargs = list(req["args"]), dict(req["kwargs"])
    call = (lambda: len(made)) if req["method"] == "__len__" else (lambda: getattr(made, req["method"])(*args, **kwargs))
    value, did = _invoke(req, call, args, kwargs)
    return {"value": value, **did, "recipe_args": [_after(a) for a in recipe.get("args", [])],
            "recipe_kwargs": {k: _after(v) for k, v in recipe.get("kwargs", {}).items()}, "state": _object_state(made)}


def _drive(req, ns):
    """The check's driver, sent as source and compiled here on its own (it reads nothing the notebook bound),
    run on the student's answer: ``entry(answer, *args)``, its result as data."""
    import builtins

    answer = ns.get(req["name"])
    if answer is None:
        raise NameError(f"name {req['name']!r} is not defined")
    driver = {"__name__": "_dic_driver", "__builtins__": builtins}
    exec(compile(str(req["source"]), "<the grader's driver>", "exec"), driver)
    args = list(req["args"])
    value, did = _invoke(req, lambda: driver[str(req["entry"])](answer, *args), args, {})
    return {"value": value, **did}


def _file(req):
    """A fresh folder for the student's code to write in, or the bytes written at a path (None: no such file)."""
    import os
    import tempfile

    if req["op"] == "folder":
        return {"value": tempfile.mkdtemp(prefix="dic-check-"), "args": []}
    path = str(req["path"])
    if not os.path.isfile(path):
        return {"value": None, "args": []}
    if os.path.getsize(path) > MAX_BYTES:
        raise ValueError(f"the file is more than the {MAX_BYTES >> 20} MiB a probe carries")
    with open(path, "rb") as f:
        return {"value": np.frombuffer(f.read(MAX_BYTES + 1), dtype=np.uint8), "args": []}


def state_of(root):
    """What a module holds that the kernel loads into a module it builds again: tensors, which parameters
    require gradients, each layer's mode."""
    return {"state": {**{n: q.detach() for n, q in root.named_parameters()}, **dict(root.named_buffers())},
            "grad_names": [n for n, q in root.named_parameters() if q.requires_grad],
            "training": [[n, m.training] for n, m in root.named_modules()]}


def _rebuild(torch, spec, ns):
    """The student's module built again as the recipe says (the call that built it, or a copy of the module a
    notebook name holds), the grader's tensors and modes loaded into it; (module, {name: parameter})."""
    recipe = spec["recipe"]
    if "fetch" in recipe:
        import copy

        root = copy.deepcopy(ns.get(recipe["fetch"]))
        what = f"`{recipe['fetch']}`"
    else:
        root = _construct(recipe, ns)
        what = f"{recipe['name']}(...)"
        if "part" in recipe:        # one module of a tuple the call returns
            root = root[int(recipe["part"])] if isinstance(root, (tuple, list)) and len(root) > int(recipe["part"]) else None
            what += f"[{int(recipe['part'])}]"
    if not isinstance(root, torch.nn.Module):
        raise TypeError(f"{what} is a {type(root).__name__} this time, not the nn.Module it was before")
    params = _load(torch, root, spec["state"], set(spec["grad_names"]))
    for path, flag in spec["training"]:
        root.get_submodule(path).training = bool(flag)
    return root, params


def _run_module(req, ns):
    """Build the module again as the grader's recipe says, load the grader's tensors and modes, call the
    layer at ``path`` on the grader's inputs; with ``upstream``, return the gradients of that call instead."""
    torch = sys.modules["torch"]
    root, params = _rebuild(torch, req, ns)
    layer = root.get_submodule(req["path"])
    seen = []
    for name in req.get("watch") or []:
        root.get_submodule(name).register_forward_hook(
            lambda module, inputs, output, name=name: seen.append([name, list(inputs), output]))
    args, kwargs = list(req["args"]), dict(req["kwargs"])
    upstream = req.get("upstream")
    value, did = _invoke(req, lambda: layer(*args, **kwargs), args, kwargs,
                         grad=bool(req["grad"]) or upstream is not None)
    if upstream is not None:
        wrt = _leaves([args, kwargs], [], leaves_only=False) + [params[n] for n in req["grad_names"]]
        if not isinstance(value, torch.Tensor) or not value.requires_grad or not wrt:
            return {"grads": [None] * len(wrt)}
        return {"grads": list(torch.autograd.grad(value, wrt, upstream.to(value.dtype), allow_unused=True))}
    return {"value": value, **did, "buffers": {name: t.detach() for name, t in root.named_buffers()}, "seen": seen}


def serve(text):
    """One probe (a base64 message) -> one answer (a base64 message): ``{"ok": ...}`` or ``{"error": ...}``."""
    try:
        req = unpack(from_text(text), modules=True)
        ns = _namespace()
    except KeyboardInterrupt:
        raise
    except Unheld:
        return to_text(pack({"unheld": True}))
    except BaseException as err:  # noqa: BLE001 - this Python is broken (by the student's code): say so, not "wrong"
        return to_text(pack({"broken": f"{type(err).__name__}: {str(err)[:1000]}"}))
    try:
        if req["op"] == "fetch":
            ok = {name: _describe(ns[name]) for name in req["names"] if name in ns}
        elif req["op"] == "call":
            ok = _call(req, ns)
            if "graph" in ok:
                return to_text(pack(ok))
        elif req["op"] == "module":
            ok = _run_module(req, ns)
        elif req["op"] == "object":
            ok = _run_object(req, ns)
        elif req["op"] == "drive":
            ok = _drive(req, ns)
        elif req["op"] in ("folder", "read"):
            ok = _file(req)
        else:
            raise ValueError(f"unknown probe {req['op']!r}")
        try:
            return to_text(pack({"ok": ok}))
        except NotData as err:
            return to_text(pack({"notdata": err.mro}))
        except ValueError as err:   # more than a probe carries: not a verdict on the student's code
            return to_text(pack({"toolarge": str(err)[:300]}))
    except KeyboardInterrupt:   # the grader interrupted a call that ran too long
        raise
    except BaseException as err:  # noqa: BLE001 - the student's exception (SystemExit too) is the answer
        return to_text(pack({"error": {"mro": _mro(err), "message": str(err)[:4000]}}))
