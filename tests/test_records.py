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
from helpers.checks.records import Exercise, checks_of, fixtures, replay

MODULES = [importlib.import_module(f"helpers.checks.{m.name}") for m in pkgutil.iter_modules(helpers.checks.__path__)]
RECORDS = [(mod.__name__.rsplit(".", 1)[1], ex) for mod in MODULES for ex in getattr(mod, "EXERCISES", [])]
IDS = [f"{week}-{ex.name}" for week, ex in RECORDS]


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _float32(fn):
    def answer(*args, **kwargs):
        out = fn(*args, **kwargs)      # a dict in a returned tuple (an update rule's config) stays as it is
        return tuple(o if isinstance(o, dict) else np.float32(o) if np.isscalar(o) else np.asarray(o, np.float32)
                     for o in out) \
            if isinstance(out, tuple) else np.asarray(out, np.float32)
    return answer


def test_records_exist_and_their_checks_are_what_the_modules_export():
    assert len(RECORDS) >= 4
    for mod in MODULES:
        for ex in getattr(mod, "EXERCISES", []):
            check = getattr(mod, f"check_{ex.name}")
            assert check.__module__ == mod.__name__ and ex.name in check.__doc__


@pytest.mark.parametrize("week, ex", RECORDS, ids=IDS)
def test_reference_passes_stub_fails_float32_passes(week, ex):
    check = checks_of([ex])[f"check_{ex.name}"]
    for hidden in (False, True):
        check(ex.reference, hidden)
        check(_float32(ex.reference), hidden)
        with pytest.raises(AssertionError, match="not answered yet"):
            check(_stub, hidden)


@pytest.mark.parametrize("week, ex", RECORDS, ids=IDS)
def test_each_mistake_fails_with_its_own_hint(week, ex):
    check = checks_of([ex])[f"check_{ex.name}"]
    for why, wrong in ex.mistakes.items():
        with pytest.raises(AssertionError, match=re.escape(why)):
            check(wrong, hidden=True)


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
    mentee = replay(pickle.loads(blob))
    for _, ex in RECORDS:
        check = mentee[f"check_{ex.name}"]
        check(ex.reference)
        with pytest.raises(AssertionError, match="not answered yet"):
            check(_stub)
        with pytest.raises(PermissionError, match="graded by your mentor"):
            check(ex.reference, hidden=True)
        for why, wrong in ex.mistakes.items():          # a mistake the visible cases can see fails the same way
            try:
                checks_of([ex])[f"check_{ex.name}"](wrong)
            except AssertionError as err:
                with pytest.raises(AssertionError, match=re.escape(str(err))):
                    check(wrong)
            else:
                check(wrong)


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
