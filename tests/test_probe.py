"""Probes, the fast parts: the grader-side cell runner and the kernel's side of the wire, joined in-process.

In real grading :func:`helpers.grading.wire.serve` runs in the student's sandboxed kernel and the channel
is the Jupyter protocol (test_tamper.py and the grading round trip exercise that); here it runs from
its source in a module of its own, answering from a namespace of its own, so the data format, the
answers' copy-back, the exceptions, the forbidden-call policy read from the source and the refusal of
malformed messages are tested in milliseconds.
"""
import copy
import io
import json
import types

import numpy as np
import pytest
import torch

from helpers.checks import core
from helpers.grading import probe, wire


@pytest.fixture
def kernel():
    """(run student code, Probe): the wire loaded from the source the grader sends, its own namespace."""
    side = types.ModuleType("_dic_wire_test")
    exec(compile(probe.WIRE_SOURCE, "<wire>", "exec"), side.__dict__)
    ns = {"__name__": "__main__"}
    side._namespace = lambda: ns
    sources = []

    def student(code):
        sources.append(code)
        exec(compile(code, "<cell>", "exec"), ns)

    return student, probe.Probe(side.serve, sources)


IMPORTS = ["import numpy as np", "import torch", "from helpers.checks import week1 as checks"]


def run(cell, p):
    return probe.run_cell(cell, IMPORTS, p.fetch)


def passed(result) -> bool:
    """A test cell that passed: no error, and all it printed is each check's one line (``✓ mse — passed``)."""
    outputs, error = result
    lines = "".join(out.get("text", "") for out in outputs).splitlines()
    return error is None and all(out.get("output_type") == "stream" for out in outputs) and bool(lines) \
        and all(line.startswith("\u2713 ") for line in lines)


def test_values_cross_exactly_both_ways():
    frame = __import__("pandas").DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]})
    value = {"x": np.arange(6.0).reshape(2, 3), "t": torch.arange(4, dtype=torch.float16), 1: (1, 2.5, None, "s"),
             "big": 1 << 70, "nan": float("nan"), "scalar": np.float32(2.5), "size": torch.Size([2, 3]),
             "dtype": torch.float64, "rng": np.random.default_rng(3), "frame": frame, "grad": torch.ones(2, requires_grad=True)}
    value["grad"].grad = torch.full((2,), 3.0)
    back = wire.unpack(wire.from_text(wire.to_text(wire.pack(value))))
    assert np.array_equal(back["x"], value["x"]) and back["t"].dtype == torch.float16 and back[1] == (1, 2.5, None, "s")
    assert back["big"] == 1 << 70 and np.isnan(back["nan"]) and back["scalar"] == np.float32(2.5)
    assert back["size"] == (2, 3) and back["dtype"] is torch.float64
    assert back["rng"].random() == np.random.default_rng(3).random()
    assert back["frame"].equals(frame) and torch.equal(back["grad"].grad, value["grad"].grad)


@pytest.mark.parametrize("text", ["not base64!", "", "AAAA", wire.to_text(b"PK\x03\x04garbage")])
def test_malformed_messages_are_refused(text):
    with pytest.raises(ValueError):
        wire.unpack(wire.from_text(text))


def test_objects_and_pickles_never_cross():
    with pytest.raises(wire.NotData):
        wire.pack({"model": torch.nn.Linear(2, 2)})
    with pytest.raises(wire.NotData):
        wire.pack(np.array([object()], dtype=object))
    import io

    buffer = io.BytesIO()
    np.savez(buffer, tree=np.frombuffer(b'{"A": 0}', dtype=np.uint8), a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):     # an object array is refused before it is read (no unpickling)
        wire.unpack(buffer.getvalue())


def test_a_record_is_judged_here_from_the_answers_data(kernel):
    student, p = kernel
    student("import numpy as np\ndef mse(pred, y):\n    return float(((pred - y) ** 2).mean())")
    assert passed(run("checks.check_mse(mse, hidden=True)", p))
    student("def mse(pred, y):\n    return float(((pred - y) ** 2).sum())")
    _, error = run("checks.check_mse(mse, hidden=True)", p)
    assert error["ename"] == "CheckFailure" and "not sum" in error["evalue"]


def test_the_students_exceptions_arrive_as_pythons_own(kernel):
    student, p = kernel
    student("def f(x):\n    raise NotImplementedError()\n"
            "class ShapeError(ValueError):\n    pass\n"
            "def g(x):\n    raise ShapeError('shapes (2,) and (3,)')\n"
            "class CheckFailure(AssertionError):\n    pass\n"
            "def h(x):\n    raise CheckFailure('passed!')\n")
    fetched = p.fetch(["f", "g", "h"])
    with pytest.raises(core.CheckFailure, match="not answered yet"):
        core.call(fetched["f"], 1)
    with pytest.raises(ValueError, match="shapes"):     # a ValueError subclass of theirs is a ValueError
        fetched["g"](1)
    with pytest.raises(AssertionError) as err:          # their own 'CheckFailure' is not the checks' one
        fetched["h"](1)
    assert not isinstance(err.value, core.CheckFailure)


def test_in_place_changes_come_back_and_nothing_else_does(kernel):
    student, p = kernel
    student("import numpy as np, torch, random\n"
            "def f(a, d, t):\n    a += 1\n    d['w'] -= 1\n    t.grad = torch.ones(2)\n"
            "    np.random.seed(0); torch.manual_seed(0); random.seed(0); torch.set_default_dtype(torch.float64)\n"
            "    return a.sum()\n")
    a, d, t = np.zeros(3), {"w": np.ones(2)}, torch.zeros(2, requires_grad=True)
    np.random.seed(5)
    torch.manual_seed(5)
    state = (np.random.get_state()[1].copy(), torch.get_rng_state().clone())
    torch.set_default_dtype(torch.float32)
    assert p.fetch(["f"])["f"](a, d, t) == 3.0
    assert np.array_equal(a, np.ones(3)) and np.array_equal(d["w"], np.zeros(2)) and torch.equal(t.grad, torch.ones(2))
    # in-process, the student's set_default_dtype reached this process; in grading it stays in the kernel. The
    # random states the grader goes on with are its own (advanced by one draw), never the student's seeds:
    torch.set_default_dtype(torch.float32)
    np.random.set_state(("MT19937", state[0], 624, 0, 0.0))
    torch.set_rng_state(state[1])
    probe._advance_random()
    assert np.random.random() != np.random.RandomState(0).random_sample()


def test_what_is_not_data_is_not_judged_from_data(kernel):
    student, p = kernel
    student("import torch, collections\nimport helpers.checks.week1 as fake\n"
            "def make():\n    return collections.Counter\n"
            "def graph(x):\n    return x * 2\n")
    fetched = p.fetch(["fake", "make", "graph"])
    from helpers.checks import week1

    assert fetched["fake"] is week1                     # a module is the grader's own copy
    with pytest.raises(probe.NotProbe, match="not data"):
        fetched["make"]()
    with pytest.raises(probe.NotProbe, match="backpropagate"):
        fetched["graph"](torch.ones(1 << 12, requires_grad=True))      # too large a Jacobian to send
    with pytest.raises(probe.NotProbe, match="sent as data"):
        fetched["graph"](lambda v: v)

    class Watching(torch.nn.Linear):                # a module of the grader's own class: its code stays here
        pass

    with pytest.raises(probe.NotProbe, match="sent as data"):
        fetched["graph"](Watching(2, 2))


def test_a_module_the_kernel_fakes_is_replaced_by_the_graders(kernel):
    student, p = kernel
    student("import types\nchecks = types.ModuleType('helpers.checks.week1')\nchecks.check_mse = lambda *a, **k: None\n"
            "def mse(pred, y):\n    return 0.0\n")
    _, error = probe.run_cell("checks.check_mse(mse, hidden=True)", ["import numpy as np"], p.fetch)
    assert error is not None and error["ename"] == "CheckFailure"


@pytest.mark.parametrize("code, used", [
    ("import torch.nn.functional as F\nsm = F.softmax\ndef softmax(x):\n    return sm(x, dim=1)", "sm"),
    ("from torch.nn import functional\ndef helper(x):\n    return functional.softmax(x, 1)\n"
     "def softmax(x):\n    return helper(x)", "functional.softmax"),
    ("import torch\ndef softmax(x):\n    return x.softmax(1)", ".softmax"),
])
def test_forbidden_calls_are_read_from_the_source_the_grader_saw(kernel, code, used):
    student, p = kernel
    student(code)
    rules = {"torch.nn.functional.softmax": "write it yourself", ".softmax": "write it yourself"}
    found = core.forbidden_uses(p.fetch(["softmax"])["softmax"], rules)
    assert used in [shown for shown, _ in found]


def test_an_own_module_named_like_a_forbidden_one_is_not_loaded_here(kernel):
    student, p = kernel
    student("import torch\ndef softmax(x):\n    import antigravity\n    e = torch.exp(x)\n    return e / e.sum(1, keepdim=True)")
    assert core.forbidden_uses(p.fetch(["softmax"])["softmax"], {"torch.nn.functional.softmax": "no"}) == []
    import sys

    assert "antigravity" not in sys.modules


def test_values_too_large_to_carry_are_not_judged_from_data():
    side = types.ModuleType("_dic_wire_small")
    exec(compile(probe.WIRE_SOURCE, "<wire>", "exec"), side.__dict__)
    side.MAX_BYTES = 1000
    ns = {"big": np.zeros(1000)}
    side._namespace = lambda: ns
    with pytest.raises(probe.NotProbe, match="too large"):
        probe.Probe(side.serve).fetch(["big"])
    ns.update(a=np.zeros(100), b=np.zeros(100))            # each small, together more than a message carries
    with pytest.raises(probe.NotProbe, match="too large"):
        probe.Probe(side.serve).fetch(["a", "b"])


def test_a_kernel_whose_python_is_broken_is_not_a_wrong_answer(kernel):
    with pytest.raises(probe.KernelGone, match="could not talk"):
        probe.Probe(lambda text: "not base64!").fetch(["x"])
    side = types.ModuleType("_dic_wire_broken")
    exec(compile(probe.WIRE_SOURCE, "<wire>", "exec"), side.__dict__)
    side.unpack = lambda data, **_: 1 / 0          # the student's code broke what the wire needs in their kernel
    with pytest.raises(probe.KernelGone, match="ZeroDivisionError"):
        probe.Probe(side.serve).fetch(["x"])


def test_generators_passed_in_move_on_as_they_would_in_the_notebook(kernel):
    student, p = kernel
    student("import torch\ndef draw(rng, g):\n    return rng.normal(size=3), torch.rand(2, generator=g)")
    rng, g = np.random.default_rng(3), torch.Generator().manual_seed(4)
    mine, my_g = np.random.default_rng(3), torch.Generator().manual_seed(4)
    draw = p.fetch(["draw"])["draw"]
    for _ in range(2):
        a, b = draw(rng, g)
        assert np.array_equal(a, mine.normal(size=3)) and torch.equal(b, torch.rand(2, generator=my_g))


def test_a_result_to_backpropagate_through_reaches_the_graders_tensors(kernel):
    student, p = kernel
    student("import torch\ndef loss(lp, y):\n    return -lp[torch.arange(len(y)), y].mean()\n"
            "def forward(x, params):\n    w, b = params\n    return torch.relu(x @ w + b)\n")
    fetched = p.fetch(["loss", "forward"])
    lp = torch.log_softmax(torch.randn(3, 4, dtype=torch.float64), 1).requires_grad_(True)
    y = torch.tensor([0, 3, 1])
    got = fetched["loss"](lp, y)
    assert got.requires_grad and got.ndim == 0
    got.backward()
    mine = lp.detach().clone().requires_grad_(True)
    (-mine[torch.arange(3), y].mean()).backward()
    assert torch.equal(lp.grad, mine.grad)
    x, w, b = torch.randn(2, 3), torch.randn(3, 4, requires_grad=True), torch.zeros(4, requires_grad=True)
    upstream = torch.randn(2, 4)
    fetched["forward"](x, [w, b]).backward(upstream)
    w2, b2 = w.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    torch.relu(x @ w2 + b2).backward(upstream)
    assert torch.allclose(w.grad, w2.grad) and torch.allclose(b.grad, b2.grad)


def test_several_results_to_backpropagate_through_each_reach_the_graders_tensors(kernel):
    """An honest answer returning a tuple of results with gradients (``out, hidden``): each comes with its own
    derivatives, so a check's backward through any of them, or through both, reaches its tensors."""
    student, p = kernel
    student("import torch\ndef two(x, w):\n    h = torch.tanh(x @ w)\n    return h.sum(1), (h, 3)\n"
            "def pair(x, w):\n    h = torch.tanh(x @ w)\n    return h.sum(1), h ** 2\n")
    fetched = p.fetch(["pair", "two"])
    x, w = torch.randn(2, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    total, squares = fetched["pair"](x, w)
    assert isinstance(total, torch.Tensor) and total.requires_grad and squares.shape == (2, 4)
    (total.sum() + 2 * squares.sum()).backward()
    w2 = w.detach().clone().requires_grad_(True)
    h = torch.tanh(x @ w2)
    (h.sum(1).sum() + 2 * (h ** 2).sum()).backward()
    assert torch.allclose(w.grad, w2.grad)
    total, (hidden, three) = fetched["two"](x, w)       # nested deeper: the values, as data
    assert total.requires_grad and torch.allclose(hidden, torch.tanh(x @ w2)) and three == 3


IMPORTS2 = ["import torch", "from helpers.checks import week2 as checks"]
SOFTMAX = ("import torch\ndef softmax(z):\n    e = torch.exp(z - z.max(dim=1, keepdim=True).values)\n"
           "    return e / e.sum(dim=1, keepdim=True)\n")


@pytest.mark.parametrize("code, passes", [
    (SOFTMAX, True),
    ("import torch\nfrom collections import namedtuple\nfrom tqdm.auto import tqdm\ndef softmax(z):\n"
     "    rows = [torch.exp(r - r.amax()) for r in tqdm(z)]\n    return torch.stack([r / r.sum() for r in rows])", True),
    ("import torch.nn.functional as F\nsm = F.softmax\ndef softmax(z):\n    return sm(z, dim=1)", False),
    ("import torch\ndef softmax(z):\n    return z.softmax(1)", False),
    ("import torch\ndef helper(z):\n    return torch.special.softmax(z, 1)\ndef softmax(z):\n    return helper(z)", False),
])
def test_forbidden_library_calls_fail_when_judged_from_outside(kernel, code, passes):
    student, p = kernel
    student(code)
    _, error = probe.run_cell("checks.check_softmax(softmax, hidden=True)", IMPORTS2, p.fetch)
    assert (error is None) == passes, error
    if not passes:
        assert "softmax" in error["evalue"] and "uses" in error["evalue"]


def test_a_test_cells_modules_come_from_the_released_notebook_not_the_submission(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from helpers.grading.execute import release_imports

    def meta(**kw):
        return {"nbgrader": {"grade_id": "x", "schema_version": 3, "grade": False, "solution": False, "locked": False, **kw}}

    nb = new_notebook(cells=[
        new_code_cell("%matplotlib inline\nimport numpy as np\nfrom helpers.checks import week2 as checks", metadata=meta()),
        new_code_cell("import torch.nn.functional as F\ndef softmax(z):\n    return F.softmax(z, 1)", metadata=meta(solution=True)),
        new_code_cell("checks.check_softmax(softmax)", metadata=meta(grade=True, locked=True, points=1)),
    ])
    nbformat.write(nb, tmp_path / "02_x.ipynb")
    imports = release_imports(tmp_path)["02_x.ipynb"]
    assert imports == ["import numpy as np", "from helpers.checks import week2 as checks"]   # not the student's own
    fetched = []

    def fetch(names):
        fetched.extend(names)
        return {"checks": types.SimpleNamespace(check_softmax=lambda *a, **k: None), "softmax": lambda z: z}

    _, error = probe.run_cell("checks.check_softmax(softmax)", imports, fetch)
    assert fetched == ["softmax"] and error is not None        # `checks` was never asked of the kernel


BLOCK = """
import torch
from torch import nn
class Block(nn.Module):
    expansion = 4
    def __init__(self, c, p=0.5):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(c, c), nn.BatchNorm1d(c), nn.ReLU(), nn.Dropout(p))
        self.width = c
    def forward(self, x):
        return self.body(x) + x
"""


def test_a_module_answer_runs_in_the_kernel_with_the_graders_tensors(kernel):
    """The student's class builds a module that the grader holds as a mirror: its structure as data, the grader's
    own tensors; each call is run by the kernel on a module built again from the same call, with those tensors and
    modes loaded (dropout drawing from the grader's random state), and backward asks the kernel for gradients."""
    student, p = kernel
    student(BLOCK)
    Block = p.fetch(["Block"])["Block"]
    assert Block.expansion == 4 and core.class_names(Block)[:2] == ["__main__.Block", "torch.nn.modules.module.Module"]
    mine = Block(5)
    ns = {}
    exec(BLOCK, ns)                                     # the same class, here: what the answer should behave as
    ref = ns["Block"](5)
    with torch.no_grad():
        for q in mine.parameters():
            q.normal_()
    ref.load_state_dict(mine.state_dict())
    assert isinstance(mine.body[0], torch.nn.Linear) and mine.body[0].in_features == 5 and mine.width == 5
    x = torch.randn(4, 5)
    with torch.no_grad():
        assert torch.allclose(mine.eval()(x), ref.eval()(x))
    mine.train(), ref.train()
    torch.manual_seed(3)
    got = mine(x)
    torch.manual_seed(3)
    want = ref(x)
    assert torch.allclose(got, want)                                        # the same dropout mask
    assert torch.allclose(mine.body[1].running_mean, ref.body[1].running_mean)   # the buffers came back
    xr, xl = x.clone().requires_grad_(), x.clone().requires_grad_()
    torch.manual_seed(4)
    mine(xr).pow(2).sum().backward()
    torch.manual_seed(4)
    ref(xl).pow(2).sum().backward()
    assert torch.allclose(mine.body[0].weight.grad, ref.body[0].weight.grad) and torch.allclose(xr.grad, xl.grad)
    double = copy.deepcopy(mine).double().eval()
    with torch.no_grad():
        assert double(x.double()).dtype == torch.float64
    assert core.class_names(type(mine))[0] == "__main__.Block"


def test_a_big_array_crosses_once_per_kernel_and_again_when_the_kernel_dropped_it(kernel):
    """A module's weights of a megabyte or more go to the kernel with the first call only (VGG-16's 59 MB took about
    1.8 s a call); later calls name them by digest. A kernel that no longer holds them (the student's code cleared
    what the wire keeps) gets the call again in full, and the answers are the same."""
    student, p = kernel
    student(BLOCK)
    Block = p.fetch(["Block"])["Block"]
    sizes, send = [], p._send
    p._send = lambda text: sizes.append(len(text)) or send(text)
    mine = Block(600).eval()                                  # a 600 x 600 weight: 1.4 MB
    x = torch.randn(3, 600)
    sizes.clear()                                             # what building it asked
    with torch.no_grad():
        first, second = mine(x), mine(x)
        assert sizes[0] > 1_400_000 and sizes[1] < 100_000, sizes
        send.__globals__["_HELD"].clear()                     # the kernel's side, as student code could reach it
        third = mine(x)
        assert len(sizes) == 4 and sizes[2] < 100_000 < 1_400_000 < sizes[3], sizes
        mine.body[0].weight.add_(1.0)                         # other weights: sent again, the answer changes
        fourth = mine(x)
    assert torch.equal(first, second) and torch.equal(first, third) and not torch.allclose(first, fourth)
    assert sizes[4] > 1_400_000


def test_an_array_to_hold_must_match_its_digest():
    side = types.ModuleType("_dic_wire_hold")
    exec(compile(probe.WIRE_SOURCE, "<wire>", "exec"), side.__dict__)
    held = set()
    data = side.pack({"w": np.ones(300_000)}, held=held)
    assert side.unpack(data, modules=True)["w"].sum() == 300_000 and len(side._HELD) == 1
    assert side.unpack(side.pack({"w": np.ones(300_000)}, held=held), modules=True)["w"].sum() == 300_000
    with np.load(io.BytesIO(side.pack({"w": np.zeros(300_000)}, held=set()))) as archive:
        parts = dict(archive)                                 # zeros marked to hold under the digest of ones
    parts["hold"] = np.frombuffer(json.dumps([[0, next(iter(held))]]).encode(), dtype=np.uint8)
    forged = io.BytesIO()
    np.savez(forged, **parts)
    with pytest.raises(ValueError, match="does not match its digest"):
        side.unpack(forged.getvalue(), modules=True)
    with pytest.raises(ValueError, match="malformed"):          # the grader never resolves a digest
        wire.unpack(side.pack({"w": np.ones(300_000)}, held=held))


def test_a_module_that_builds_differently_each_time_gets_a_clear_error(kernel):
    student, p = kernel
    student(BLOCK + """
class Shifty(Block):
    built = 0
    def __init__(self, c):
        Shifty.built += 1
        super().__init__(c + Shifty.built)
""")
    shifty = p.fetch(["Shifty"])["Shifty"](3)
    with pytest.raises(RuntimeError, match="build the same layers every time"):
        shifty(torch.zeros(2, 3))


def test_a_paper_block_is_judged_from_its_mirror(kernel):
    """ResNet's basic block through the real check: the reference passes, a known mistake fails with its hint."""
    student, p = kernel
    imports = ["import torch", "from helpers.checks import papers"]
    right = """
import torch
from torch import nn
import torch.nn.functional as F
class BasicBlock(nn.Module):
    expansion = 1
    def __init__(self, c_in, width, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != width:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, width, 1, stride, bias=False), nn.BatchNorm2d(width))
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out RELU_BEFORE + self.shortcut(x))
"""
    student(right.replace("RELU_BEFORE ", ""))
    assert passed(probe.run_cell("papers.check_basic_block(BasicBlock)", imports, p.fetch))
    student(right.replace("out RELU_BEFORE", "F.relu(out)"))
    _, error = probe.run_cell("papers.check_basic_block(BasicBlock)", imports, p.fetch)
    assert error is not None and "the last ReLU comes after the addition" in error["evalue"]


def test_the_graders_module_goes_to_the_students_function_as_data_and_comes_back(kernel):
    """A module made of torch.nn's own layers travels as what it is made of; the kernel builds it and the
    student's function works on it; weights, gradients, buffers, modes and hooks left behind come back onto the
    grader's module. A layer replaced is not judged from data."""
    student, p = kernel
    student("import torch\n"
            "def fit(model, x):\n    model.train()\n    model(x).sum().backward()\n"
            "    with torch.no_grad():\n        model[0].weight -= 0.5 * model[0].weight.grad\n    model.eval()\n"
            "    return sum(p.numel() for p in model.parameters())\n"
            "def swap(model):\n    model[1] = torch.nn.Tanh()\n"
            "def hook(model):\n    model[0].register_forward_hook(lambda *a: None)\n")
    f = p.fetch(["fit", "swap", "hook"])
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ref = copy.deepcopy(model)
    x = torch.randn(5, 3)
    assert f["fit"](model, x) == 24
    ref.train()
    ref(x).sum().backward()
    with torch.no_grad():
        ref[0].weight -= 0.5 * ref[0].weight.grad
    assert torch.equal(model[0].weight, ref[0].weight) and torch.equal(model[0].weight.grad, ref[0].weight.grad)
    assert torch.equal(model[1].running_mean, ref[1].running_mean) and not model.training
    with pytest.raises(probe.NotProbe, match="changed the layers"):
        f["swap"](model)
    f["hook"](model)
    assert len(model[0]._forward_hooks) == 1        # a hook left behind is seen here (what it does is not)


@pytest.mark.parametrize("check, right, wrong, hint", [
    ("check_count_parameters", "sum(p.numel() for p in model.parameters() if p.requires_grad)",
     "sum(p.numel() for p in model.parameters())", "frozen parameters"),
    ("check_load_matching", None, None, None),
])
def test_week2_checks_that_hand_over_their_own_module_judge_from_data(kernel, check, right, wrong, hint):
    student, p = kernel
    imports = ["import torch", "from helpers.checks import week2 as checks"]
    cell = f"checks.{check}({'count_parameters' if 'count' in check else 'load_matching'}, hidden=True)"
    if right is None:
        student("def load_matching(model, state_dict):\n    own = model.state_dict()\n"
                "    keep = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}\n"
                "    model.load_state_dict(keep, strict=False)\n    return sorted(set(state_dict) - set(keep))\n")
        assert passed(probe.run_cell(cell, imports, p.fetch))
        student("def load_matching(model, state_dict):\n    own = model.state_dict()\n"
                "    keep = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}\n"
                "    return sorted(set(state_dict) - set(keep))\n")
        _, error = probe.run_cell(cell, imports, p.fetch)
        assert error is not None and "was not copied" in error["evalue"]
        return
    student(f"def count_parameters(model):\n    return {right}\n")
    assert passed(probe.run_cell(cell, imports, p.fetch))
    student(f"def count_parameters(model):\n    return {wrong}\n")
    _, error = probe.run_cell(cell, imports, p.fetch)
    assert error is not None and hint in error["evalue"]


TRAIN_STEP = """
def train_step(model, xb, yb, loss_fn, optimizer):
    ZERO
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()
"""
EVALUATE = """
import torch
def evaluate_accuracy(model, loader):
    EVAL
    correct = total = 0
    with torch.no_grad():
        for xb, yb in loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
            total += len(yb)
    return correct / total
"""
TRAIN_EPOCH = """
import numpy as np
def train_epoch(net, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = net.loss(X[idx], y[idx])
        for k in net.params:
            net.params[k] SIGN= lr * grads[k]
        losses.append(loss)
    return float(np.mean(losses))
"""


def _right_passes_mistake_fails(kernel, week, check, right, wrong, hint):
    """Judged from outside the kernel: the right answer passes, the mistake fails with its hint."""
    student, p = kernel
    imports = ["import torch", "import numpy as np", f"from helpers.checks import {week} as checks"]
    student(right)
    assert passed(probe.run_cell(f"checks.{check}", imports, p.fetch))
    student(wrong)
    _, error = probe.run_cell(f"checks.{check}", imports, p.fetch)
    assert error is not None and hint in error["evalue"], error


@pytest.mark.parametrize("week, check, right, wrong, hint", [
    ("week2", "check_train_step(train_step, hidden=True)", TRAIN_STEP.replace("ZERO", "optimizer.zero_grad()"),
     TRAIN_STEP.replace("ZERO", "pass"), "accumulated"),
    ("week2", "check_evaluate_accuracy(evaluate_accuracy, hidden=True)", EVALUATE.replace("EVAL", "model.eval()"),
     EVALUATE.replace("EVAL", "pass"), "training mode"),
    ("week1", "check_train_epoch(train_epoch, hidden=True)", TRAIN_EPOCH.replace("SIGN", "-"),
     TRAIN_EPOCH.replace("SIGN", "+"), "AGAINST the gradient"),
])
def test_checks_that_hand_over_their_own_objects_judge_from_data(kernel, week, check, right, wrong, hint):
    """The check's model, optimizer (its state too), loader or course network go to the student's function as
    data; what the function did to them comes back onto the check's own: right passes, a known mistake fails."""
    _right_passes_mistake_fails(kernel, week, check, right, wrong, hint)


def test_only_the_graders_own_kinds_of_objects_travel():
    class Local:
        pass

    with pytest.raises(wire.NotData):
        wire.pack([Local()], modules=True)
    with pytest.raises(wire.NotData):
        wire.pack([lambda v: v], modules=True)
    with pytest.raises(wire.NotData):               # an optimizer over parameters that did not travel with it
        wire.pack([torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)], modules=True)
    data = wire.pack([torch.nn.Linear(2, 2)], modules=True)
    with pytest.raises(ValueError):                 # the grader never builds an object from the kernel's answer
        wire.unpack(data)


def test_the_students_modules_go_back_to_their_functions_as_recipes(kernel):
    """A module the notebook holds (``block`` in a visible test) and one the student's class built are mirrors
    here; handed to the student's function they travel as how to build them again and the grader's tensors."""
    student, p = kernel
    student(BLOCK + "block = Block(3).eval()\n"
            "def scale_first(model, x):\n    with torch.no_grad():\n        model.body[0].weight.mul_(2)\n"
            "    return model(x)\n")
    found = p.fetch(["block", "Block", "scale_first"])
    x = torch.randn(2, 3)
    for model in (found["block"], found["Block"](3).eval()):
        ns = {}
        exec(BLOCK, ns)
        ref = ns["Block"](3).eval()
        ref.load_state_dict(model.state_dict())
        with torch.no_grad():
            ref.body[0].weight.mul_(2)
            assert torch.allclose(found["scale_first"](model, x), ref(x))
        assert torch.equal(model.body[0].weight, ref.body[0].weight)        # the change came back
    maps = """
def activation_maps(model, x, layer_name):
    layers = dict(model.named_modules())
    if layer_name not in layers:
        raise ValueError(f"no layer {layer_name!r}; valid names: {[n for n in layers if n]}")
    saved = []
    handle = layers[layer_name].register_forward_hook(lambda m, i, o: saved.append(o.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        REMOVE
    return saved[0]
"""
    cell, imports = "checks.check_activation_maps(activation_maps, hidden=True)", ["from helpers.checks import week3 as checks"]
    student(maps.replace("REMOVE", "handle.remove()"))
    assert passed(probe.run_cell(cell, imports, p.fetch))
    student(maps.replace("REMOVE", "pass"))
    _, error = probe.run_cell(cell, imports, p.fetch)
    assert error is not None and "hooks are still registered" in error["evalue"]


DATASET = """
import torch
from torch.utils.data import Dataset
class ArrayDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.transform = images, labels, transform
        self.cache = {}
    def __len__(self):
        return len(self.images)
    def __getitem__(self, i):
        KEEP
        x = self.images[i]
        x = self.transform(x) if self.transform is not None else x
        self.cache[i] = x
        return x, int(self.labels[i])
"""
TRANSFORM = """
import torchvision.transforms as T
def make_transform(mean, std):
    return T.Compose([T.ToTensor()NORMALIZE])
"""


@pytest.mark.parametrize("check, right, wrong, hint", [
    ("check_array_dataset(ArrayDataset, hidden=True)", DATASET.replace("KEEP", "pass"),
     DATASET.replace("KEEP", "if i in self.cache:\n            return self.cache[i], int(self.labels[i])"),
     "kept from the first read"),
    ("check_make_transform(make_transform, hidden=True)", TRANSFORM.replace("NORMALIZE", ", T.Normalize(mean, std)"),
     TRANSFORM.replace("NORMALIZE", ""), "still in [0, 1]"),
])
def test_an_object_answer_is_built_again_with_the_data_it_holds(kernel, check, right, wrong, hint):
    """A dataset or transform the student's code returns is held here as its class names and the data it holds;
    reading an item or applying it asks the kernel to build it again (on the check's own arguments as they are
    now, a counting transform's count too) with that data, so state kept between reads is seen."""
    student, p = kernel
    imports = ["import torch", "from helpers.checks import week2 as checks"]
    student(right)
    assert passed(probe.run_cell(f"checks.{check}", imports, p.fetch))
    student(wrong)
    _, error = probe.run_cell(f"checks.{check}", imports, p.fetch)
    assert error is not None and hint in error["evalue"], error


NUMGRAD = """
import numpy as np
def numeric_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / DENOM
    return grad
"""


def test_a_check_hands_its_named_functions_to_the_students_code(kernel):
    """numeric_gradient probes the check's functions: they travel by name (a partial with its data too)."""
    student, p = kernel
    cell, imports = "checks.check_numeric_gradient(numeric_gradient, hidden=True)", ["from helpers.checks import week1 as checks"]
    student(NUMGRAD.replace("DENOM", "(2 * h)"))
    assert passed(probe.run_cell(cell, imports, p.fetch))
    student(NUMGRAD.replace("DENOM", "h"))
    _, error = probe.run_cell(cell, imports, p.fetch)
    assert error is not None and "divide by 2h" in error["evalue"]


def test_the_checks_hooks_on_a_layer_of_the_students_module_see_what_it_computed(kernel):
    student, p = kernel
    student(BLOCK)
    model = p.fetch(["Block"])["Block"](3).eval()
    seen = []
    model.body[0].register_forward_hook(lambda m, i, o: seen.append((m, i[0].shape, o.clone())))
    x = torch.randn(2, 3)
    with torch.no_grad():
        model(x)
        want = model.body[0].weight @ x.T
    assert seen[0][0] is model.body[0] and seen[0][1] == (2, 3)
    assert torch.allclose(seen[0][2], want.T + model.body[0].bias)
    model.body[1].register_forward_hook(lambda m, i, o: o * 0)      # a hook that would change the output
    with pytest.raises(probe.NotProbe, match="changes a layer's output"):
        model(x)


def test_data_from_the_kernel_never_hides_a_method_of_the_graders_objects(kernel):
    """A student's module or function that sets attributes named like nn.Module's methods: the grader's module and
    the mirror keep their own methods (the attribute is not carried)."""
    student, p = kernel
    student(BLOCK + "class Sneaky(Block):\n    def __init__(self, c):\n        super().__init__(c)\n"
            "        self.state_dict = {'x': 1}\n        self._mirror_path = 'body'\n"
            "def tamper(model):\n    model.parameters = [1, 2]\n    model.eval = 3\n")
    found = p.fetch(["Sneaky", "tamper"])
    sneaky = found["Sneaky"](3)
    assert callable(sneaky.state_dict) and sneaky.__dict__["_mirror_path"] == ""
    model = torch.nn.Linear(2, 2)
    found["tamper"](model)
    assert callable(model.parameters) and callable(model.eval)


RESIDUAL = """
import torch.nn as nn
class Residual(nn.Module):
    def __init__(self, block, shortcut=None):
        super().__init__()
        KEEP
    def forward(self, x):
        return self.block(x) + (x if self.shortcut is None else self.shortcut(x))
"""
TRANSFER = """
import torch.nn as nn
def transfer_model(backbone, num_features, num_classes):
    for p in backbone.parameters():
        p.requires_grad_(FLAG)
    head = nn.Linear(num_features, num_classes)
    return nn.Sequential(backbone, head), list(head.parameters())
"""
FEATURES = """
import copy
import torch.nn as nn
def penultimate_features(classifier):
    return nn.Sequential(*list(COPY.children())[:-1])
"""
TTA = """
import torch
def tta_probs(model, images):
    EVAL
    with torch.no_grad():
        return (torch.softmax(model(images), 1) + torch.softmax(model(torch.flip(images, dims=[3])), 1)) / 2
"""


@pytest.mark.parametrize("week, check, right, wrong, hint", [
    ("week2", "check_residual(Residual, hidden=True)",
     RESIDUAL.replace("KEEP", "self.block, self.shortcut = block, shortcut"),
     RESIDUAL.replace("KEEP", "self.parts = [block, shortcut]\n        self.block, self.shortcut = (lambda x: block(x)), "
                      "(None if shortcut is None else (lambda x: shortcut(x)))"), "not among model.parameters()"),
    ("week2", "check_transfer_model(transfer_model, hidden=True)", TRANSFER.replace("FLAG", "False"),
     TRANSFER.replace("FLAG", "True"), "still have requires_grad=True"),
    ("gans", "check_penultimate_features(penultimate_features, hidden=True)",
     FEATURES.replace("COPY", "classifier"), FEATURES.replace("COPY", "copy.deepcopy(classifier)"),
     "reuse the classifier's trained layers"),
    ("hackathon", "check_tta_probs(tta_probs, hidden=True)", TTA.replace("EVAL", "model.eval()"),
     TTA.replace("EVAL", "pass"), "model.eval()"),
])
def test_a_module_built_from_the_checks_own_holds_the_checks_tensors(kernel, week, check, right, wrong, hint):
    """A module the student's code builds from the check's modules (a residual around its block, a model on its
    backbone, features from its classifier's layers) holds the check's own tensors where the kernel's shares
    them (its report names them), so a copy or a plain list is told apart from the real thing; a tuple of a
    module and its parameters comes back as a mirror and the mirror's own tensors."""
    _right_passes_mistake_fails(kernel, week, check, right, wrong, hint)


def test_an_object_the_notebook_holds_is_its_data_here(kernel):
    student, p = kernel
    student("import torch\nfrom helpers import config\ncfg = config.Setup('quick', torch.device('cpu'), 7)")
    found = p.fetch(["cfg"])["cfg"]
    assert found.device == torch.device("cpu") and found.seed == 7 and type(found).__name__ == "Setup"
    with pytest.raises(AttributeError):
        found.pick(1, 2)                # its methods stay in the kernel


SAVE = """
import torch
def save_training_state(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), OPTIMIZER "epoch": epoch}, path)
def load_training_state(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    if "optimizer" in checkpoint:
        optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
"""
SCRATCH_OPTIMIZER = """
import torch
class ScratchOptimizer(torch.optim.Optimizer):
    def __init__(self, params, rule, **config):
        super().__init__(params, dict(config))
        self.rule = rule
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            hyper = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if SKIP:
                    continue
                conf = self.state[p].setdefault("config", {})
                conf.update(hyper)
                w, conf = self.rule(p.detach().numpy(), p.grad.detach().numpy(), conf)
                self.state[p]["config"] = conf
                p.copy_(torch.as_tensor(w, dtype=p.dtype))
"""


@pytest.mark.parametrize("week, check, right, wrong, hint", [
    ("week2", "check_save_resume(save_training_state, load_training_state, hidden=True)",
     SAVE.replace("OPTIMIZER", '"optimizer": optimizer.state_dict(),'), SAVE.replace("OPTIMIZER", ""),
     "the optimizer's state"),
    ("week4", "check_scratch_optimizer(ScratchOptimizer, hidden=True)", SCRATCH_OPTIMIZER.replace("SKIP", "p.grad is None"),
     SCRATCH_OPTIMIZER.replace("SKIP", "p.grad is None or not p.grad.any()"), "skip only p.grad is None"),
])
def test_checks_that_work_where_the_answer_runs(kernel, week, check, right, wrong, hint):
    """A file the student's code writes is read back from where it ran (a folder the kernel made); an optimizer
    class is stepped 100 times next to it by the check's driver, sent as source: right passes, a mistake fails."""
    _right_passes_mistake_fails(kernel, week, check, right, wrong, hint)



def test_an_honest_module_passes_whatever_weights_it_starts_from(kernel):
    """Judged from outside, the student's module starts from other random weights than in the notebook (the
    grader's random state moves on by its own draws): a check must not lean on them. A right make_mlp that
    builds its layers its own way passes, also with float64 as the notebook's default dtype."""
    student, p = kernel
    student("import torch.nn as nn\ndef make_mlp(n_in, hidden, n_out):\n    sizes = [n_in, *hidden, n_out]\n"
            "    layers = [nn.Flatten()]\n    for a, b in zip(sizes[:-1], sizes[1:]):\n"
            "        layers += [nn.Linear(a, b), nn.ReLU()]\n    return nn.Sequential(*layers[:-1])\n")
    imports = ["import torch", "from helpers.checks import week2 as checks"]
    assert passed(probe.run_cell("checks.check_make_mlp(make_mlp, hidden=True)", imports, p.fetch))
    student("import torch\ntorch.set_default_dtype(torch.float64)")
    try:
        assert passed(probe.run_cell("checks.check_make_mlp(make_mlp, hidden=True)", imports, p.fetch))
    finally:
        torch.set_default_dtype(torch.float32)


STREAM = """
class Batches:
    def __init__(self, n):
        self.n = n
    def __len__(self):
        return self.n
    def __iter__(self):
        return iter(range(self.n))
    def shuffled(self):
        return list(range(self.n))[::-1]
def make(n):
    return Batches(n)
"""


def test_what_an_object_answer_does_beyond_data_goes_to_review_not_to_a_wrong_answer(kernel):
    """Iterating over a student's object, or calling a method of its own class, is not asked of the kernel: the
    check stops as not judged from data (0 points and the mentor's review list), never as a wrong answer."""
    student, p = kernel
    student(STREAM)
    made = p.fetch(["make"])["make"](3)
    assert len(made) == 3 and made.n == 3                     # data and the asked methods still work
    with pytest.raises(probe.NotProbe, match="`__iter__` of the student's Batches"):
        list(made)
    with pytest.raises(probe.NotProbe, match="`shuffled` of the student's Batches"):
        made.shuffled()
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        made.missing


TWO_HEADS = """
import torch.nn.functional as F
def two_head_loss(outputs, target, weight=0.3):
    main, aux = outputs
    return F.cross_entropy(main, target) + weight * F.cross_entropy(aux, target)
"""


def test_an_answer_on_the_outputs_of_the_graders_model_backpropagates_into_it(kernel):
    """The inputs the check hands over may be results of its own graph (a model's outputs, not leaves): the kernel
    gets them as leaves, the derivatives come back, and backward goes on into the grader's model."""
    student, p = kernel
    student(TWO_HEADS)
    loss_fn = p.fetch(["two_head_loss"])["two_head_loss"]
    torch.manual_seed(0)
    main, aux = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    loss = loss_fn((main(x), aux(x)), y)
    loss.backward()
    want_main, want_aux = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    want_main.load_state_dict(main.state_dict()), want_aux.load_state_dict(aux.state_dict())
    want = torch.nn.functional.cross_entropy(want_main(x), y) + 0.3 * torch.nn.functional.cross_entropy(want_aux(x), y)
    want.backward()
    assert torch.allclose(loss, want)
    assert torch.allclose(main.weight.grad, want_main.weight.grad) and torch.allclose(aux.weight.grad, want_aux.weight.grad)


def _served_elsewhere(text: str, cell: str) -> tuple[str, bool]:
    """``text`` answered by the wire in a fresh Python that ran only ``cell``: (the answer, whether torch got loaded)."""
    import subprocess
    import sys

    script = ("import sys, types\nside = types.ModuleType('_dic_wire')\n"
              f"exec(compile({probe.WIRE_SOURCE!r}, '<wire>', 'exec'), side.__dict__)\n"
              f"ns = {{'__name__': '__main__'}}\nexec({cell!r}, ns)\nside._namespace = lambda: ns\n"
              f"print(side.serve({text!r}))\nprint('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    return out[0], out[1] == "True"


@pytest.mark.parametrize("cell, loads_torch", [
    ("import numpy as np\ndef relu(x):\n    return np.maximum(x, 0) + np.random.rand() * 0", False),
    ("import numpy as np\nimport torch\ndef relu(x):\n    return np.maximum(x, 0) + torch.rand(1).item() * 0", True)])
def test_a_numpy_answer_is_judged_without_importing_torch_into_its_kernel(cell, loads_torch):
    """The grader's global random states travel as data (torch's as an array): decoding them imports nothing, so a
    NumPy-only notebook's kernel never pays for torch; a kernel with torch still starts from the grader's state."""
    loaded = []

    def send(text):
        answer, torch_there = _served_elsewhere(text, cell)
        loaded.append(torch_there)
        return answer

    p = probe.Probe(send, [cell])
    torch.manual_seed(5)
    value = p.fetch(["relu"])["relu"](np.array([-1.0, 2.0]))
    assert np.array_equal(value, [0.0, 2.0]) and loaded[-1] == loads_torch
    after = torch.rand(1)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(1)) != loads_torch    # the grader's torch moved on where the kernel's drew


SGD_RULE = """
import numpy as np
def sgd(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("weight_decay", 0.0)
    STEP
    return w, config
"""


@pytest.mark.parametrize("step, hint", [
    ("w = w - config['learning_rate'] * (dw + config['weight_decay'] * w)", None),
    ("w = w + config['learning_rate'] * (dw + config['weight_decay'] * w)", "uphill"),
    ("dw += config['weight_decay'] * w\n    w = w - config['learning_rate'] * dw", "changed dw in place"),
])
def test_an_update_rule_is_walked_where_it_runs_in_one_probe_per_walk(kernel, step, hint):
    """records.over_updates walks a rule 100 steps where the rule lives (core.drive): the grader sends the walk once
    per case, not one probe per step, and judges the trajectories it gets back; what the walk finds wrong on the way
    (a gradient changed in place) comes back as its message."""
    student, p = kernel
    served, serve = [], p._send
    p._send = lambda text: served.append(1) or serve(text)
    student(SGD_RULE.replace("STEP", step))
    result = probe.run_cell("checks.check_sgd(sgd, hidden=True)", ["from helpers.checks import week4 as checks"], p.fetch)
    from helpers.checks import week4

    cases = len(next(ex for ex in week4.EXERCISES if ex.name == "sgd").cases(True))
    if hint is None:
        assert passed(result)
        assert len(served) <= cases + 3, len(served)     # the walks, the answer's lookup and its source
    else:
        _, error = result
        assert error is not None and hint in error["evalue"], error


@pytest.mark.parametrize("body, hint", [
    ("return base_lr * gamma ** (t // step_size)", None),
    ("return base_lr * gamma ** (t / step_size)", "whole periods"),
    ("return str(base_lr)", "should return a float, got str"),
])
def test_a_schedule_is_run_where_it_lives_in_one_probe_per_run(kernel, body, hint):
    """records.over_steps asks for a schedule's rates over a whole run at once (core.drive), then judges them here."""
    student, p = kernel
    served, serve = [], p._send
    p._send = lambda text: served.append(1) or serve(text)
    student(f"def step_lr(t, base_lr, step_size, gamma=0.1):\n    {body}\n")
    result = probe.run_cell("checks.check_step_lr(step_lr, hidden=True)",
                            ["from helpers.checks import week4_training as checks"], p.fetch)
    if hint is None:
        assert passed(result) and len(served) <= 5 + 3, len(served)     # five runs, the lookup and the source
    else:
        _, error = result
        assert error is not None and hint in error["evalue"], error
