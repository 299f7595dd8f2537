"""nbgrader settings for mentors: formgrader in JupyterLab and ``nbgrader`` commands run from here.

The course root is ``build/grading/course`` (gitignored), filled by ``make release`` and
``make grade`` (see MENTORS.md): the week folders stay where notebooks are written and are
staged into it. Autograding never runs student code as you, next to the gradebook and the hidden
tests: formgrader's "Autograde" button (``nbgrader autograde WEEK --student NAME``) grades that
submission in the sandbox ``make grade`` uses (helpers.grading.pipeline.regrade), and anything
else (every student at once) is refused before anything is touched; ``make grade`` grades everyone.
Feedback pages ("Generate Feedback") get the local MathJax and table style ``make grade`` gives them
(helpers/grading/feedback.py).
"""
import sys
from pathlib import Path

from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec

REPO = Path(__file__).resolve().parent
if str(REPO) not in sys.path:  # the Jupyter server imports this; use this checkout's helpers
    sys.path.insert(0, str(REPO))
from helpers.grading.execute import RefuseUnsandboxed, sandboxed_autograde  # noqa: E402
from helpers.grading.feedback import FeedbackExporter  # noqa: E402

sandboxed_autograde()   # formgrader's Autograde button: the grader's sandbox, or refused before anything is removed

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

COURSE = REPO / "build" / "grading" / "course"
c.CourseDirectory.root = str(COURSE)
c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'gradebook.db'}"
c.CourseDirectory.course_id = "deep-into-cnns"
c.Autograde.sanitize_preprocessors = [RefuseUnsandboxed, ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, CheckCellMetadata]
c.GenerateFeedback.exporter_class = FeedbackExporter
