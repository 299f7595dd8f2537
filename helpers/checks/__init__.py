"""What graded test cells call: comparisons whose failure message is the hint.

One module per week (``helpers.checks.week1`` …) holds ``check_<exercise>(student_fn, hidden=False)``
functions, all written with the shared core (:mod:`helpers.checks.core`): the student's function is
called safely, its result compared with values computed here and with a table of known mistakes, and
an ``AssertionError`` names the likely mistake. The core's public names are re-exported here.
"""
from __future__ import annotations

from .core import *  # noqa: F401,F403 - the public API of the checks core
from .core import __all__  # noqa: F401
