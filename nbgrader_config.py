"""nbgrader settings for mentors: formgrader in JupyterLab and ``nbgrader`` commands run from here.

The course root is ``build/grading/course`` (gitignored), filled by ``make release`` and
``make grade`` (see MENTORS.md): the week folders stay where notebooks are written and are
staged into it. Autograding itself is refused here, before anything is touched (formgrader's
"Autograde" button, a bare ``nbgrader autograde``): it would run student code as you, next to the
gradebook and the hidden tests. ``make grade`` autogrades every student in a sandbox of its own instead.
Feedback pages ("Generate Feedback") get the local MathJax and table style ``make grade`` gives them
(helpers/grading/feedback.py).
"""
import sys
from pathlib import Path

from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec

REPO = Path(__file__).resolve().parent
if str(REPO) not in sys.path:  # the Jupyter server imports this; use this checkout's helpers
    sys.path.insert(0, str(REPO))
from helpers.grading.execute import RefuseUnsandboxed, refuse_unsandboxed_autograde  # noqa: E402
from helpers.grading.feedback import FeedbackExporter  # noqa: E402

refuse_unsandboxed_autograde()   # formgrader's Autograde button: refused before anything is removed

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

COURSE = REPO / "build" / "grading" / "course"
c.CourseDirectory.root = str(COURSE)
c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'gradebook.db'}"
c.CourseDirectory.course_id = "deep-into-cnns"
c.Autograde.sanitize_preprocessors = [RefuseUnsandboxed, ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, CheckCellMetadata]
c.GenerateFeedback.exporter_class = FeedbackExporter
