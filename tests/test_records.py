"""Every exercise record (helpers/checks/*.py ``EXERCISES``), walked: the reference passes, the release
stub fails as "not answered", each known mistake fails with its own hint, a float32 answer passes; and
the mentee edition's fixtures judge the visible cases the same way while holding no function at all."""
import importlib
import io
import pickle
import pkgutil
import re

import numpy as np
import pytest

import helpers.checks
from helpers.checks.modules import Build
from helpers.checks.records import Exercise, checks_of, fixtures, forward_backward, replay

MODULES = [importlib.import_module(f"helpers.checks.{m.name}") for m in pkgutil.iter_modules(helpers.checks.__path__)]
RECORDS = [(mod.__name__.rsplit(".", 1)[1], ex) for mod in MODULES for ex in getattr(mod, "EXERCISES", [])]
IDS = [f"{week}-{ex.name}" for week, ex in RECORDS]


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _as_float32(value):
    """A result as a float32 answer gives it: NumPy arrays and numbers in float32, a tuple part by part; anything else
    as it is (a tensor keeps its input's dtype, which an exercise on tensors may check; None; a dict: a cache, an
    update rule's config)."""
    if isinstance(value, tuple):
        return tuple(_as_float32(v) for v in value)
    if hasattr(value, "detach"):
        return value
    if np.isscalar(value) and not isinstance(value, (str, bool, int, np.integer)):   # a size or a count stays an int
        return np.float32(value)
    if isinstance(value, (np.ndarray, list)):
        return np.asarray(value, np.float32)
    return value


def _float32(fn):
    def answer(*args, **kwargs):
        return _as_float32(fn(*args, **kwargs))
    return answer


def test_records_exist_and_their_checks_are_what_the_modules_export():
    assert len(RECORDS) >= 4
    for mod in MODULES:
        for ex in getattr(mod, "EXERCISES", []):
            check = getattr(mod, f"check_{ex.name}")
            assert check.__module__ == mod.__name__ and ex.name in check.__doc__


def _given(ex, answer) -> tuple:
    """What a notebook passes to the record's check: the answer, or for an exercise of several functions the
    reference's earlier ones and ``answer`` as the last (a tuple of them as it is)."""
    if not ex.answers:
        return (answer,)
    return answer if isinstance(answer, tuple) else (*ex.reference[:-1], answer)


def _last(ex):
    return ex.reference[-1] if ex.answers else ex.reference


@pytest.mark.parametrize("week, ex", RECORDS, ids=IDS)
def test_reference_passes_stub_fails_float32_passes(week, ex):
    check = checks_of([ex])[f"check_{ex.name}"]
    for hidden in (False, True):
        check(*_given(ex, ex.reference), hidden=hidden)
        if not isinstance(ex, Build):                   # a module's dtype is its own (a case says which)
            check(*_given(ex, _float32(_last(ex))), hidden=hidden)
        with pytest.raises(AssertionError, match="not answered yet"):
            check(*_given(ex, _stub), hidden=hidden)
        if ex.answers:                                  # the release stubs every answer of the notebook
            with pytest.raises(AssertionError, match="not answered yet"):
                check(*[_stub] * len(ex.answers), hidden=hidden)


@pytest.mark.parametrize("week, ex", RECORDS, ids=IDS)
def test_each_mistake_fails_with_its_own_hint(week, ex):
    check = checks_of([ex])[f"check_{ex.name}"]
    for why, wrong in ex.mistakes.items():
        with pytest.raises(AssertionError, match=re.escape(why)):
            check(*_given(ex, wrong), hidden=True)


def test_fixtures_hold_data_only_and_judge_like_the_reference():
    rows = fixtures([ex for _, ex in RECORDS])
    blob = pickle.dumps(rows)
    assert b"<lambda>" not in blob                                    # no function ...
    found = []

    class Spy(pickle.Unpickler):                                      # ... and no object of ours: what the blob
        def find_class(self, module, name):                           # imports when loaded (torch tensors: torch)
            found.append(f"{module}.{name}")
            return super().find_class(module, name)

    Spy(io.BytesIO(blob)).load()
    assert not [g for g in found if g.startswith("helpers")], found
    mentee = {}                                                       # per module: two weeks may grade one name
    for week in {w for w, _ in RECORDS}:
        mentee[week] = replay(pickle.loads(pickle.dumps(fixtures([ex for w, ex in RECORDS if w == week]))))
    for week, ex in RECORDS:
        check = mentee[week][f"check_{ex.name}"]
        check(*_given(ex, ex.reference))
        with pytest.raises(AssertionError, match="not answered yet"):
            check(*_given(ex, _stub))
        with pytest.raises(PermissionError, match="graded by your mentor"):
            check(*_given(ex, ex.reference), hidden=True)
        for why, wrong in ex.mistakes.items():          # a mistake the visible cases can see fails the same way
            try:
                checks_of([ex])[f"check_{ex.name}"](*_given(ex, wrong))
            except AssertionError as err:
                with pytest.raises(AssertionError, match=re.escape(str(err))):
                    check(*_given(ex, wrong))
            else:
                check(*_given(ex, wrong))


def test_the_fixtures_of_a_numpy_week_hold_no_torch_object():
    """Week 1's first notebooks are NumPy only: the mentee edition's checks load their fixtures on import, and a
    tensor among them would import torch into every such kernel (a mentee's and the grader's; about 2.5 s of CPU)."""
    found = []

    class Spy(pickle.Unpickler):
        def find_class(self, module, name):
            found.append(module)
            return super().find_class(module, name)
    Spy(io.BytesIO(pickle.dumps(fixtures([ex for week, ex in RECORDS if week == "week1"])))).load()
    assert not [m for m in found if m.split(".")[0] == "torch"], sorted(set(found))


def test_a_record_with_forbidden_calls_refuses_them():
    ex = Exercise("double", reference=lambda x: 2 * x, cases=lambda hidden: [(np.arange(3.0),)], hint="twice x",
                  forbidden={"numpy.multiply": "write 2 * x"})
    ns = {}
    source = "import numpy as np\ndef double(x):\n    return np.multiply(x, 2)\n"
    import linecache
    linecache.cache["cell-double"] = (len(source), None, source.splitlines(True), "cell-double")
    exec(compile(source, "cell-double", "exec"), ns)
    with pytest.raises(AssertionError, match="double uses np.multiply: write 2 \\* x"):
        checks_of([ex])["check_double"](ns["double"])


def _square_forward(x):
    return x ** 2, x


def _square_backward(dout, cache):
    return 2 * cache * dout


SQUARE = Exercise("square_backward", answers=("square_forward", "square_backward"),
                  reference=(_square_forward, _square_backward), run=forward_backward,
                  cases=lambda hidden: [((np.arange(-2.0, 3.0),), np.ones(5) / 3)] + ([((np.ones((2, 3)),), np.ones((2, 3)))] if hidden else []),
                  hint="dx = 2 * x * dout", in_place="return a new array",
                  mistakes={"the factor 2 is missing": lambda dout, cache: cache * dout})


def test_an_exercise_of_two_functions_runs_the_learners_forward_then_backward():
    check = checks_of([SQUARE])["check_square_backward"]
    check(_square_forward, _square_backward)
    check(lambda x: (x * x, {"x": x}), lambda dout, cache: 2 * cache["x"] * dout)     # their own cache: fine
    with pytest.raises(AssertionError, match="the factor 2 is missing"):
        check(_square_forward, lambda dout, cache: cache * dout)
    def square_forward(x):
        return x ** 2
    with pytest.raises(AssertionError, match=r"square_forward should return a tuple \(out, cache\)"):
        check(square_forward, _square_backward)

    def in_place(dout, cache):
        dout *= 2 * cache
        return dout
    with pytest.raises(AssertionError, match="square_backward changed `dout` in place: return a new array"):
        check(_square_forward, in_place)
    with pytest.raises(TypeError, match=r"check_square_backward\(square_forward, square_backward\)"):
        check(_square_backward)
    mentee = replay(pickle.loads(pickle.dumps(fixtures([SQUARE]))))["check_square_backward"]
    mentee(lambda x: (x * x, {"x": x}), lambda dout, cache: 2 * cache["x"] * dout)
    with pytest.raises(AssertionError, match="the factor 2 is missing"):
        mentee(_square_forward, lambda dout, cache: cache * dout)
