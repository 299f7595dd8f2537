"""A notebook's key numbers, each with the tolerance it is regression-tested within.

``config.report(test_acc=0.9515, n_params=235146)`` prints two lines at the end of a notebook::

    [metrics] {"test_acc": 0.9515, "n_params": 235146}
    [tolerances] {"test_acc": "abs=0.02", "n_params": "exact"}

``make run`` collects the first into its table; ``make test`` (tests/portable_nbval.py)
compares every metric with the committed value within its tolerance, because floats that
come out of training differ in the last digits from one CPU to the next (oneDNN, MKL and
OpenBLAS choose different kernels). The tolerance is declared with the metric: by its kind,
read from the name (table below), or explicitly with ``within(value, ...)``.

=====================================  =================================  =====================
metric name contains                   kind                               tolerance
=====================================  =================================  =====================
(an ``int`` value)                     a count: parameters, steps         exact
``seconds``, ``time``                  a duration                         not compared
``err``, ``diff``                      a numerical error (1e-9, 2e-17)    one order of magnitude,
                                                                          below 1e-12 all equal
``loss``, ``mse``, ``nll``, ``rise``   a loss                             5 % relative (≥ 0.01)
``acc``, ``r2``, ``gap``, ``auc``      an accuracy-like fraction          ±0.02 absolute
``mean``, ``std``                      a statistic of fixed data          1 % relative
=====================================  =================================  =====================

A float metric whose name fits none of these must be declared: ``within(x, rel=0.1)``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

__all__ = ["Tolerance", "within", "tolerance_for", "format_report", "parse_lines", "compare"]


@dataclass(frozen=True)
class Tolerance:
    """How far a metric may move between machines. ``spec`` is what the report line prints."""

    abs: float = 0.0
    rel: float = 0.0
    orders: float | None = None   # allowed |log10(new / committed)|
    floor: float = 0.0            # |values| at or below this count as equal (with ``orders``)
    exact: bool = False
    compared: bool = True

    @property
    def spec(self) -> str:
        if not self.compared:
            return "none"
        if self.exact:
            return "exact"
        if self.orders is not None:
            return f"orders={self.orders:g},floor={self.floor:g}"
        parts = [f"rel={self.rel:g}"] if self.rel else []
        return ",".join(parts + ([f"abs={self.abs:g}"] if self.abs or not parts else []))

    @classmethod
    def parse(cls, spec: str) -> "Tolerance":
        if spec == "none":
            return cls(compared=False)
        if spec == "exact":
            return cls(exact=True)
        try:
            fields = {k: float(v) for k, v in (part.split("=") for part in spec.split(","))}
            return cls(**fields)
        except (ValueError, TypeError) as err:
            raise ValueError(f"not a tolerance: {spec!r} (expected e.g. 'abs=0.02', 'rel=0.05,abs=0.01', "
                             f"'orders=1,floor=1e-12', 'exact', 'none')") from err

    def holds(self, committed, new) -> bool:
        if not self.compared:
            return True
        if self.exact or not isinstance(committed, float) or not isinstance(new, float):
            return committed == new
        if math.isnan(committed) or math.isnan(new):
            return math.isnan(committed) and math.isnan(new)
        if self.orders is not None:
            a, b = abs(committed), abs(new)
            if a <= self.floor or b <= self.floor:
                return max(a, b) <= self.floor * 10 ** self.orders
            return abs(math.log10(b / a)) <= self.orders
        return abs(new - committed) <= max(self.abs, self.rel * abs(committed)) + 1e-12  # the bound itself is in

    def used(self, committed, new) -> float | None:
        """The share of an ``abs``/``rel`` tolerance a move spends (1.0 = at the bound); None otherwise."""
        if not self.compared or self.exact or self.orders is not None:
            return None
        if not isinstance(committed, float) or not isinstance(new, float) or math.isnan(committed + new):
            return None
        bound = max(self.abs, self.rel * abs(committed))
        return abs(new - committed) / bound if bound > 0 else None


@dataclass(frozen=True)
class Declared:
    """A metric value with its tolerance, as ``within`` returns it."""

    value: object
    tolerance: Tolerance


def within(value, *, abs: float = 0.0, rel: float = 0.0, orders: float | None = None,
           floor: float = 0.0, exact: bool = False, compared: bool = True) -> Declared:
    """Declare a metric's tolerance where it is reported: ``report(speedup=within(r, rel=0.3))``."""
    if min(abs, rel, floor, orders or 0.0) < 0:
        raise ValueError("tolerances must be >= 0")
    return Declared(value, Tolerance(abs=abs, rel=rel, orders=orders, floor=floor, exact=exact, compared=compared))


_RULES = (  # (pattern on the name, tolerance); the first match wins
    (r"seconds|time", Tolerance(compared=False)),
    (r"err|diff", Tolerance(orders=1, floor=1e-12)),
    (r"loss|mse|nll|rise", Tolerance(rel=0.05, abs=0.01)),
    (r"acc|r2|gap|auc", Tolerance(abs=0.02)),
    (r"mean|std", Tolerance(rel=0.01)),
)


def _number(value):
    """The metric as a Python int/float (numbers in strings such as "4.1e-09" included), or None."""
    if isinstance(value, bool):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def tolerance_for(name: str, value) -> Tolerance:
    """The tolerance a metric gets from its kind (see the module's table)."""
    number = _number(value)
    if number is None:
        return Tolerance(exact=True)          # text is compared exactly
    if isinstance(number, int) and not isinstance(value, str):
        return Tolerance(exact=True)          # counts
    for pattern, tol in _RULES:
        if re.search(pattern, name.lower()):
            return tol
    raise ValueError(f"metric {name!r}: its name says nothing about how far it may move between machines. "
                     f"Name it *_acc, *_loss, *_err (see helpers/metrics.py) or declare it: "
                     f"{name}=within(value, rel=..., abs=...)")


def _clean(value):
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else str(value)
    return value


def format_report(metrics: dict) -> tuple[dict, list[str]]:
    """(the cleaned metrics, the two lines ``config.report`` prints)."""
    values, specs = {}, {}
    for name, value in metrics.items():
        if isinstance(value, Declared):
            value, tol = value.value, value.tolerance
        else:
            tol = tolerance_for(name, value)
        values[name], specs[name] = _clean(value), tol.spec
    return values, [f"[metrics] {json.dumps(values)}", f"[tolerances] {json.dumps(specs)}"]


def parse_lines(text: str) -> tuple[dict, dict]:
    """(metrics, tolerance specs) found in printed output; later lines update earlier ones."""
    metrics, specs = {}, {}
    for line in text.splitlines():
        for tag, into in (("[metrics] ", metrics), ("[tolerances] ", specs)):
            if line.startswith(tag):
                into.update(json.loads(line[len(tag):]))
    return metrics, specs


def compare(committed: dict, new: dict, specs: dict, where: str = "", spent: list | None = None) -> list[str]:
    """One message per metric that moved beyond its tolerance (or appeared / disappeared).

    With ``spent``, each compared metric with an ``abs``/``rel`` tolerance appends
    ``(share of the tolerance used, message)`` to it: how close the run came to failing.
    """
    problems = []
    prefix = f"{where}: " if where else ""
    for name in sorted(set(committed) | set(new)):
        if name not in new or name not in committed:
            side = "committed outputs" if name not in new else "new outputs"
            problems.append(f"{prefix}metric {name!r} is only in the {side}: run `make refresh`")
            continue
        tol = Tolerance.parse(specs[name]) if name in specs else tolerance_for(name, committed[name])
        a, b = _number(committed[name]), _number(new[name])
        if a is None or b is None:
            a, b = committed[name], new[name]
        elif not tol.exact:
            a, b = float(a), float(b)
        message = f"{prefix}metric {name!r}: committed {committed[name]!r}, now {new[name]!r}, tolerance {tol.spec}"
        if not tol.holds(a, b):
            problems.append(message)
        share = tol.used(a, b)
        if spent is not None and share is not None:
            spent.append((share, message))
    return problems
