"""Trusted verdicts, the fast parts: the grader-side runner and the agent, joined by a loopback channel.

In real grading the agent runs in the student's kernel and the channel is the Jupyter protocol
(test_tamper.py exercises that); here the agent's source runs in a module of its own in this
process, so the codec, the handles, the copying back of in-place changes, the random states and
the rejection of malformed replies are tested in milliseconds.
"""
import json
import types

import numpy as np
import pytest
import torch

from helpers.grading import remote


@pytest.fixture
def kernel():
    """(student namespace, Remote): the agent loaded from its source, as the grader sends it."""
    agent = types.ModuleType("_dic_agent_test")
    exec(compile(remote.AGENT_SOURCE, "<agent>", "exec"), agent.__dict__)
    ns = {}
    agent._ns = lambda: ns
    return ns, remote.Remote(agent.serve)


def run(cell, imports, r):
    return remote.run_test_cell(cell, imports, r)


def student(ns, code):
    exec(code, ns)


IMPORTS = ["import numpy as np", "from helpers.checks import close, not_implemented_guard"]


def test_a_right_answer_passes_and_a_wrong_one_fails_with_the_hint(kernel):
    ns, r = kernel
    student(ns, "import numpy as np\ndef mse(p, y):\n    return float(((p - y) ** 2).mean())")
    cell = "close(not_implemented_guard(mse, np.array([1.0, 2.0]), np.array([1.0, 0.0])), 2.0, hint='mean')"
    assert run(cell, IMPORTS, r) == ([], None)
    student(ns, "def mse(p, y):\n    return float(((p - y) ** 2).sum())")
    cell = "close(mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])), 13 / 3, hint='average, do not sum')"
    _, error = run(cell, IMPORTS, r)
    assert error["ename"] == "CheckFailure" and "average, do not sum" in error["evalue"]


def test_the_stub_and_the_students_crash_come_back_as_their_own_exceptions(kernel):
    ns, r = kernel
    student(ns, "def f(x):\n    raise NotImplementedError()\ndef g(x):\n    raise ValueError('shapes (2,) and (3,)')")
    _, error = run("not_implemented_guard(f, 1)", IMPORTS, r)
    assert "not answered yet" in error["evalue"]
    _, error = run("g(1)", IMPORTS, r)
    assert error["ename"] == "ValueError" and "shapes" in error["evalue"]
    student(ns, "class CheckFailure(AssertionError):\n    pass\ndef h():\n    raise CheckFailure('passed!')")
    _, error = run("h()", IMPORTS, r)           # a student's own 'CheckFailure' is not the checks' one
    assert error["ename"] == "RemoteError"


def test_values_cross_exactly_and_objects_stay_behind_as_handles(kernel):
    ns, r = kernel
    student(ns, "import numpy as np, torch\n"
                "def f(a, t, d):\n    return a.astype(np.float32) * 2, t.T, {1: (a.sum(), 'x'), 'n': None}\n"
                "class Net(torch.nn.Module):\n"
                "    def __init__(self):\n        super().__init__()\n        self.fc = torch.nn.Linear(3, 2)\n"
                "    def forward(self, x):\n        return self.fc(x)\n")
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    arr, t, d = r.fetch(["f"])["f"](a, torch.ones(2, 3, dtype=torch.float64), {})
    assert arr.dtype == np.float32 and (arr == a * 2).all()
    assert t.shape == (3, 2) and t.dtype == torch.float64
    assert d == {1: (15, "x"), "n": None} and isinstance(d[1][0], np.int64)
    net = r.fetch(["Net"])["Net"]()
    assert isinstance(net, remote.Handle) and isinstance(net, torch.nn.Module)   # for the checks' isinstance
    assert sum(p.numel() for p in net.parameters()) == 8
    assert [name for name, _ in net.named_children()] == ["fc"]
    out = net(torch.zeros(4, 3))
    assert out.shape == (4, 2) and out.requires_grad        # backpropagating through it continues in the kernel
    assert "Linear" in repr(net)


def test_autograd_through_the_students_function_reaches_the_graders_tensors(kernel):
    ns, r = kernel
    student(ns, "import torch\ndef loss(x, w):\n    return ((x @ w) ** 2).mean()")
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    w = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    got = r.fetch(["loss"])["loss"](x, w)
    assert got.requires_grad and got.ndim == 0
    (2 * got).backward()                                    # grader-side graph on top of the kernel's
    w_ref = w.detach().clone().requires_grad_(True)
    (2 * ((x @ w_ref) ** 2).mean()).backward()
    assert torch.allclose(w.grad, w_ref.grad)


def test_object_arrays_and_tables_cross_by_value(kernel):
    import pandas as pd

    ns, r = kernel
    student(ns, "import numpy as np, pandas as pd\n"
                "def fill(df):\n    return df.fillna(df.median(numeric_only=True))\n"
                "def labels(values):\n    return np.array(sorted(set(values.tolist())), dtype=object)\n")
    df = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "y", None]})
    out = r.fetch(["fill"])["fill"](df)
    assert isinstance(out, pd.DataFrame) and out["a"].tolist() == [1.0, 2.0, 3.0] and out["b"].tolist()[:2] == ["x", "y"]
    got = r.fetch(["labels"])["labels"](np.array(["b", "a", "b"], dtype=object))
    assert got.dtype == object and got.tolist() == ["a", "b"]


def test_in_place_changes_come_back_and_random_states_go_one_way(kernel):
    ns, r = kernel
    student(ns, "import numpy as np\n"
                "def step(params, grads, lr):\n"
                "    for k in params:\n        params[k] -= lr * grads[k]\n"
                "def draw(rng, n):\n    return rng.normal(size=n)\n"
                "def draw_global(n):\n    return np.random.rand(n)\n")
    params, grads = {"w": np.ones(3)}, {"w": np.full(3, 2.0)}
    w = params["w"]
    r.fetch(["step"])["step"](params, grads, 0.5)
    assert params["w"] is w and np.allclose(w, 0.0)        # the same array, changed in place
    rng, mine = np.random.default_rng(3), np.random.default_rng(3)
    draw = r.fetch(["draw"])["draw"]
    assert np.allclose(draw(rng, 4), mine.normal(size=4)) and np.allclose(draw(rng, 2), mine.normal(size=2))
    np.random.seed(11)
    got = r.fetch(["draw_global"])["draw_global"](3)
    np.random.seed(11)
    assert np.allclose(got, np.random.rand(3))    # the call starts from the grader's state; the reply carries none
    # back (in-process the two share NumPy; test_probe and the tamper suite cover the separation)


def test_plain_course_objects_travel_and_grader_closures_do_not(kernel):
    from helpers import scratch

    ns, r = kernel
    student(ns, "def train(net, X, y):\n    loss, grads = net.loss(X, y)\n"
                "    for k in net.params:\n        net.params[k] -= 0.1 * grads[k]\n    return loss\n"
                "def apply(f, x):\n    return f(x)\n")
    net = scratch.TwoLayerNet(4, 5, 3, seed=0)
    X, y = np.random.default_rng(0).normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])
    before = {k: v.copy() for k, v in net.params.items()}
    loss = r.fetch(["train"])["train"](net, X, y)
    assert loss == pytest.approx(scratch.TwoLayerNet(4, 5, 3, seed=0).loss(X, y)[0])
    assert any(not np.allclose(before[k], net.params[k]) for k in before)
    assert np.allclose(r.fetch(["apply"])["apply"](np.sin, np.zeros(2)), 0.0)       # library functions by name
    with pytest.raises(remote.NotRemotable):
        r.fetch(["apply"])["apply"](lambda x: x, 1)


@pytest.mark.parametrize("reply", [
    {"ok": {"$nd": "|O", "shape": [1], "b64": ""}},                       # object arrays: never
    {"ok": {"$nd": "<f8", "shape": [3], "b64": "AAAAAAAAAAA="}},           # bytes do not match the shape
    {"ok": {"$pickle": "gASVAAAAAAAAAACMCGJ1aWx0aW5zlC4="}},               # no such thing
    {"ok": {"$t": "<f4", "shape": [1], "b64": "AAAAAA==", "dtype": "object"}},
    {"ok": {"$rng": {"$d": [["bit_generator", "os.system"]]}}},
    {"ok": {"$f": "__import__('os')"}},
    "not json at all",
])
def test_malformed_replies_are_refused(reply):
    r = remote.Remote(lambda text: reply if isinstance(reply, str) else json.dumps(reply))
    with pytest.raises(ValueError):
        r.value(op="getattr", h=1, name="x")


def test_a_test_cell_assigns_nothing_in_the_kernel_and_prints_in_its_output(kernel):
    ns, r = kernel
    student(ns, "X = [1.0, 2.0]\ndef total(x):\n    return sum(x)")
    outputs, error = run("s = total(X)\nprint('sum is', s)\nassert s == 3.0", ["import numpy as np"], r)
    assert error is None and outputs[0]["text"] == "sum is 3.0\n"
    assert "s" not in ns
    outputs, error = run("0.5", [], r)     # a number as the last expression: nbgrader's partial credit
    assert outputs[-1]["data"]["text/plain"] == "0.5"


def test_the_checks_own_models_and_optimisers_travel_and_come_back_trained(kernel):
    ns, r = kernel
    student(ns, "import torch\n"
                "def train_step(model, opt, x, y):\n"
                "    opt.zero_grad()\n    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n    opt.step()\n"
                "    return float(loss)\n"
                "class Block(torch.nn.Module):\n"
                "    def __init__(self):\n        super().__init__()\n        self.fc = torch.nn.Linear(2, 2)\n"
                "    def forward(self, x):\n        return torch.relu(self.fc(x))\n"
                "def noise(shape, gen):\n    return torch.rand(shape, generator=gen)\n")
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    twin = torch.nn.Linear(2, 1)
    twin.load_state_dict(model.state_dict())
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    step = r.fetch(["train_step"])["train_step"]
    for _ in range(3):                                    # model and optimiser together, momentum kept
        got = step(model, opt, x, y)
        twin_opt.zero_grad()
        want = ((twin(x) - y) ** 2).mean()
        want.backward()
        twin_opt.step()
        assert got == pytest.approx(float(want), rel=1e-6)
    assert torch.allclose(model.weight, twin.weight, atol=1e-6)
    wrapped = torch.nn.Sequential(r.fetch(["Block"])["Block"](), torch.nn.Identity())  # the student's block inside
    assert isinstance(wrapped[0], remote.Handle) and len(list(wrapped.children())) == 2
    g, mine = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(r.fetch(["noise"])["noise"]((3,), g), torch.rand((3,), generator=mine))
    assert torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=mine))      # the state came back


def test_classes_answer_is_subclass_and_a_check_can_ask_for_its_own_process(kernel):
    from helpers.checks import core

    ns, r = kernel
    student(ns, "import torch\nclass Opt(torch.optim.Optimizer):\n    pass\nclass Other:\n    pass\n")
    found = r.fetch(["Opt", "Other"])
    assert core.is_subclass(found["Opt"], torch.optim.Optimizer)
    assert not core.is_subclass(found["Other"], torch.optim.Optimizer)
    assert core.is_subclass(torch.optim.SGD, torch.optim.Optimizer) and not core.is_subclass(3, object)
    core.local_only(torch.nn.Linear(1, 1), "local objects are fine")
    with pytest.raises(remote.NotRemotable, match="steps the parameters"):
        core.local_only(found["Opt"], "steps the parameters")


def test_a_deep_copy_of_the_students_object_is_made_in_the_kernel(kernel):
    """The paper checks load the reference's weights into a deep copy of the student's block: the copy is
    made in the kernel (a new handle); a shallow copy or a pickle would need the object here and sends
    the cell to the kernel instead."""
    import copy
    import pickle

    ns, r = kernel
    student(ns, "import torch\nblock = torch.nn.Linear(2, 2)\n")
    block = r.fetch(["block"])["block"]
    twin = copy.deepcopy(block).double()
    assert isinstance(twin, remote.Handle) and twin._id != block._id
    twin.load_state_dict({"weight": torch.eye(2, dtype=torch.float64), "bias": torch.zeros(2)}, strict=False)
    assert torch.equal(twin(torch.tensor([[1.0, 2.0]], dtype=torch.float64)), torch.tensor([[1.0, 2.0]]).double())
    assert ns["block"].weight.dtype == torch.float32 and not torch.equal(ns["block"].weight, torch.eye(2))
    for attempt in (copy.copy, pickle.dumps):
        with pytest.raises(remote.NotRemotable, match="grader's process"):
            attempt(block)


@pytest.mark.parametrize("pool, ok", [("(3, 2)", True), ("(2, 2)", False)])
def test_a_paper_check_judged_from_outside_passes_the_block_and_names_the_mistake(kernel, pool, ok):
    ns, r = kernel
    student(ns, "from helpers.checks.papers import _alex\n"
                "def alexnet_layer(c_in, c_out, *, kernel, stride, padding, groups, lrn, pool):\n"
                f"    return _alex(c_in, c_out, kernel, stride, padding, groups, lrn, pool, pool_args={pool})\n")
    outputs, error = run("papers.check_alexnet_layer(alexnet_layer)", ["from helpers.checks import papers"], r)
    if ok:
        assert error is None, error
    else:
        assert error["ename"] == "CheckFailure" and "overlapping 3x3 windows" in error["evalue"], error


def test_the_students_own_object_as_an_argument_stays_in_the_kernel(kernel):
    """A visible test passing the student's module (a handle) to the student's function: its in-place
    changes are the kernel's own, nothing is copied back onto the handle (week3/03 failed here)."""
    ns, r = kernel
    student(ns, "import torch\nblock = torch.nn.Sequential(torch.nn.ReLU())\n"
                "def tag(model, x):\n    model.seen = int(x.sum())\n    return x * 2\n")
    found = r.fetch(["block", "tag"])
    assert torch.equal(found["tag"](found["block"], torch.ones(3)), torch.full((3,), 2.0))
    assert ns["block"].seen == 3
    cell = "assert int(tag(block, torch.ones(2)).sum()) == 4 and block.seen == 2"
    assert run(cell, ["import torch"], r) == ([], None)
