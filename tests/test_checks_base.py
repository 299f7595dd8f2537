import re

import numpy as np
import pytest
import torch

from helpers import checks


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __array_priority__ = 1000


def test_close_accepts_right_answers():
    checks.close(np.array([1.0, 2.0]), [1.0, 2.0], "hint")
    checks.close(torch.tensor(3.0), 3.0, "hint")
    checks.close(2, 2.0, "hint")


def test_close_rejects_wrong_shape_nan_and_value():
    with pytest.raises(AssertionError, match=r"shape \(3,\), expected \(2,\)\. my hint"):
        checks.close(np.zeros(3), np.zeros(2), "my hint")
    with pytest.raises(AssertionError, match="NaN or inf. stabilise"):
        checks.close(np.array([np.nan]), [0.0], "stabilise")
    with pytest.raises(AssertionError, match=r"off by up to 1 \(first at index \[0\]: yours 2\)\. average"):
        checks.close(np.array([2.0]), [1.0], "average")


def test_always_equal_object_cannot_pass():
    with pytest.raises(AssertionError, match="should be a number or a NumPy array"):
        checks.close(AlwaysEqual(), 1.0, "hint")


def test_not_implemented_guard():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not answered yet"):
        checks.not_implemented_guard(stub, 1)
    assert checks.not_implemented_guard(lambda x: x + 1, 1) == 2


def test_expect():
    checks.expect(True, "no")
    with pytest.raises(AssertionError, match="the hint"):
        checks.expect(False, "the hint")


# --- the checks core: calling safely, mistake tables, models -----------------------------------

def test_call_turns_a_crash_into_a_failure_naming_function_exception_and_hint():
    def answer(x):
        return x.nope

    with pytest.raises(AssertionError, match=r"answer raised AttributeError: .*nope.* the hint"):
        checks.call(answer, 1, hint="the hint")
    with pytest.raises(AssertionError, match="not answered yet"):
        checks.call(lambda: (_ for _ in ()).throw(NotImplementedError()))


def test_call_recognises_known_crashes_and_passes_check_failures_through():
    def leaf(x):
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")

    with pytest.raises(AssertionError, match=r"leaf raised RuntimeError: use torch.no_grad \(a leaf"):
        checks.call(leaf, 1, hint="general", errors=[(RuntimeError, "leaf Variable", "use torch.no_grad")])

    def inner():
        raise checks.CheckFailure("from the check itself")

    with pytest.raises(checks.CheckFailure, match="^from the check itself$"):
        checks.call(inner, hint="not this")


def test_call_with_fp_traps_names_the_floating_point_error():
    with pytest.raises(AssertionError, match=r"floating-point error .*overflow.* subtract the max"):
        checks.call(np.exp, np.array([1000.0]), hint="subtract the max", fp_traps=True)
    assert checks.call(np.exp, np.array([0.0]))[0] == 1.0


def test_compare_names_the_known_mistake_and_otherwise_the_hint():
    right, wrong = np.array([1.0, 2.0]), np.array([2.0, 4.0])
    checks.compare(right, right, "x", "hint", [(wrong, "doubled")])
    with pytest.raises(AssertionError, match="x is wrong: doubled"):
        checks.compare(wrong, right, "x", "hint", [(None, "skipped"), (wrong, "doubled")])
    with pytest.raises(AssertionError, match=r"x is off by up to 5 \(first at index \[0\]: yours 6\). hint"):
        checks.compare(right + 5, right, "x", "hint", [(wrong, "doubled")])
    with pytest.raises(AssertionError, match=r"x is off by up to 1\. hint"):   # one number: no index
        checks.compare(3.0, 2.0, "x", "hint")
    checks.compare(np.array([np.nan]), np.array([np.nan]), "x", "hint")  # a NaN that is expected


def test_as_scalar_can_insist_on_an_int():
    assert checks.as_scalar(np.int64(3), "n", integer=True) == 3.0
    assert checks.as_scalar(torch.tensor(3), "n", integer=True) == 3.0
    with pytest.raises(AssertionError, match="should be an int, got float"):
        checks.as_scalar(3.0, "n", integer=True)
    with pytest.raises(AssertionError, match="one number"):
        checks.as_scalar(np.zeros(2), "n")


def _f():
    pass


def test_unchanged_and_returns_tuple():
    checks.unchanged(torch.ones(2), torch.ones(2), "no")
    with pytest.raises(AssertionError, match="in place"):
        checks.unchanged(np.ones(2), np.zeros(2), "changed in place")
    with pytest.raises(AssertionError, match=r"f should return a tuple \(a, b\), got a list of length 3"):
        checks.returns_tuple([1, 2, 3], 2, "(a, b)", _f)


def test_check_param_count_is_exact_and_names_the_layers():
    from torch import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    checks.check_param_count(model, 3 * 4 + 4 + 4 * 2 + 2)
    with pytest.raises(AssertionError, match=r"has 26 parameters, expected 25 \(\+1\); per layer: 0: 16, 1: 0, 2: 10"):
        checks.check_param_count(model, 25)
    model[0].requires_grad_(False)
    checks.check_param_count(model, 10, trainable_only=True)


def test_check_output_shape_restores_the_mode_and_reports_crashes():
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Dropout(0.5))
    model.train()
    checks.check_output_shape(model, (2, 3, 2, 2), (2, 5))
    assert model.training
    with pytest.raises(AssertionError, match=r"output has shape \(2, 5\), expected \(2, 6\)"):
        checks.check_output_shape(model, (2, 3, 2, 2), (2, 6))
    with pytest.raises(AssertionError, match=r"raised RuntimeError: .*for an input of shape \(2, 7\)"):
        checks.check_output_shape(model, (2, 7), (2, 5))


def test_forbidden_blocks_and_restores():
    original = torch.softmax
    with checks.forbidden([(torch, "softmax")], "write it yourself"):
        with pytest.raises(AssertionError, match="write it yourself"):
            torch.softmax(torch.zeros(2), 0)
    assert torch.softmax is original


def test_isolated_seeds_and_restores_the_random_state():
    @checks.isolated
    def draw():
        return np.random.rand(), torch.rand(1).item()

    np.random.seed(5)
    torch.manual_seed(5)
    after_np, after_torch = np.random.rand(), torch.rand(1).item()
    np.random.seed(5)
    torch.manual_seed(5)
    assert draw() == draw()  # seeded: the same numbers every call
    assert (np.random.rand(), torch.rand(1).item()) == (after_np, after_torch)


def test_a_passing_check_prints_one_line_and_a_failing_one_none(capsys):
    """A learner sees that the check ran: one line for the outermost check (a check that another check
    calls prints nothing of its own), the hidden cases named where they ran, nothing before a failure."""
    from helpers.checks import week1

    week1.check_mse(lambda pred, y: np.mean((np.asarray(pred) - y) ** 2))
    week1.check_sigmoid(lambda z: np.exp(-np.logaddexp(0, -np.asarray(z, dtype=float))), hidden=True)
    assert capsys.readouterr().out == "\u2713 mse \u2014 passed\n\u2713 sigmoid \u2014 passed, hidden cases too\n"

    @checks.core.isolated
    def check_outer(fn, hidden=False):
        week1.check_mse(fn)

    check_outer(lambda pred, y: np.mean((np.asarray(pred) - y) ** 2), True)
    assert capsys.readouterr().out == "\u2713 outer \u2014 passed, hidden cases too\n"
    with pytest.raises(AssertionError):
        week1.check_mse(lambda pred, y: np.sum((np.asarray(pred) - y) ** 2))
    assert capsys.readouterr().out == ""
    checks.records.fixtures(week1.EXERCISES[:1])          # not a check: drawn under the checks' seeds, silent
    assert capsys.readouterr().out == ""


def test_a_learner_sees_the_hint_in_a_few_lines_and_no_helpers_source(tmp_path):
    """In a real kernel, a failing check's error output is the hint in <= 12 lines: no frame, no source of
    helpers (whose lines would show the reference answer), however long the hint."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(
        "import numpy as np\nfrom helpers.checks import core\n"
        "core.compare(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 2.5]), 'the loss', 'average, do not sum. ' * 30)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    error = next(o for o in nb.cells[0].outputs if o.output_type == "error")
    shown = "\n".join(error.traceback)
    assert error.ename == "CheckFailure" and len(error.traceback) <= 12, shown
    assert "the loss is off by up to 0.5 (first at index [2]: yours 3)" in shown and "average, do not sum" in shown
    assert "helpers/" not in shown and "core.py" not in shown and "np.allclose" not in shown, shown


RULES = {"torch.nn.functional.conv2d": "write the loops", "helpers.scratch": "the course's reference is not yours",
         "torch.autograd": "write the backward pass by hand", ".backward": "write the backward pass by hand"}


def _cell(source: str, name: str = "cell-1") -> dict:
    """Run source as a Jupyter cell runs it (IPython keeps the cell's lines in linecache)."""
    import linecache

    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    ns = {}
    exec(compile(source, name, "exec"), ns)
    return ns


@pytest.mark.parametrize("source, used", [
    ("import torch.nn.functional as G\ndef f(x, w):\n    return G.conv2d(x, w)", "G.conv2d"),
    ("import torch\ndef f(x, w):\n    return torch.conv2d(x, w)", "torch.conv2d"),                # the same object
    ("from helpers.scratch import conv_forward_naive as cf\ndef f(x, w):\n    return cf(x, w, 0, {})", "cf"),
    ("def f(x, w):\n    from helpers import scratch\n    return scratch.conv_forward_naive(x, w, 0, {})", "scratch"),
    ("import torch\ndef f(x, w):\n    t = torch.tensor(x, requires_grad=True)\n    t.sum().backward()\n    return t.grad", ".backward"),
    ("import torch\ndef g(x):\n    return torch.autograd.grad(x.sum(), x)\ndef f(x, w):\n    return g(x)", "torch.autograd.grad"),
    ("import torch\nclass f(torch.nn.Module):\n    def forward(self, x):\n        return torch.nn.functional.conv2d(x, x)",
     "torch.nn.functional.conv2d"),
])
def test_forbid_finds_forbidden_calls_through_aliases_imports_helpers_and_methods(source, used):
    f = _cell(source)["f"]
    assert used in [u for u, _ in checks.forbidden_uses(f, RULES)]
    with pytest.raises(AssertionError, match=r"f uses \S+: "):
        checks.forbid(f, RULES)


def test_forbid_allows_what_is_not_forbidden_and_what_it_cannot_read():
    f = _cell("import numpy as np\nimport torch.nn.functional as F\n"
              "def f(x, w):\n    return F.relu(torch_like(np.pad(x, 1) @ w))\ndef torch_like(a):\n    return a")["f"]
    assert checks.forbidden_uses(f, RULES) == []
    ns = {}
    exec("def g(x):\n    return x.backward()", ns)                # no source on record: nothing to read
    assert checks.forbidden_uses(ns["g"], RULES) == []


def test_forbid_does_not_mistake_a_parameter_or_a_local_variable_for_a_global_of_the_same_name():
    ns = _cell("import torch.nn.functional as F\nfrom helpers import scratch\nrule = scratch.conv_forward_naive\n"
               "def f(x, rule, F=None):\n    out = rule(x)\n    scratch = out\n    return scratch + F\n")
    assert checks.forbidden_uses(ns["f"], RULES) == []
    ns = _cell("from helpers import scratch\ndef f(x):\n    global scratch\n    return scratch.conv_forward_naive(x)\n")
    assert checks.forbidden_uses(ns["f"], RULES)
