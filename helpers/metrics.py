"""A notebook's key numbers: one ``[metrics]`` line, compared exactly.

``config.report(test_acc=0.9515, n_params=235146)`` prints one line at the end of a notebook::

    [metrics] {"test_acc": 0.9515, "n_params": 235146}

(with a person watching, the same JSON goes out under its own MIME type, ``MIME``, which Jupyter
does not render: see ``config.report``). ``make run`` collects it into its table and says which metrics changed since the committed
outputs; ``make test`` compares it exactly, like every other output, because the reproducible CPU
mode (``helpers.config``) prints the same digits on every CPU measured (``helpers/outputs.py``). Floats are rounded to
4 decimal places only to keep the line readable.
"""
from __future__ import annotations

import json
import math

__all__ = ["format_report", "parse_lines", "changed"]

TAG = "[metrics] "
MIME = "application/vnd.deep-into-cnns.metrics+json"


def _clean(value):
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else str(value)
    if not isinstance(value, (int, str, bool)) and value is not None:
        raise ValueError(f"a metric is a number or a string, got {type(value).__name__}: {value!r}")
    return value


def format_report(metrics: dict) -> tuple[dict, str]:
    """(the cleaned metrics, the ``[metrics]`` line ``config.report`` prints)."""
    values = {name: _clean(value) for name, value in metrics.items()}
    return values, TAG + json.dumps(values)


def parse_lines(text: str) -> dict:
    """The metrics found in printed output; later lines update earlier ones."""
    found = {}
    for line in text.splitlines():
        if line.startswith(TAG):
            found.update(json.loads(line[len(TAG):]))
    return found


def changed(committed: dict, new: dict) -> list[str]:
    """One line per metric whose value differs from the committed one (or appeared / disappeared)."""
    lines = []
    for name in sorted(set(committed) | set(new)):
        if name not in new or name not in committed:
            lines.append(f"metric {name!r} is only in the {'committed' if name not in new else 'new'} outputs")
        elif committed[name] != new[name]:
            lines.append(f"metric {name!r}: committed {committed[name]!r}, now {new[name]!r}")
    return lines
