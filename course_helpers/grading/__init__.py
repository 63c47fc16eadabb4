"""Grade handed-in notebooks: ``python -m course_helpers.grading SUBMISSIONS_DIR --out OUT_DIR``.

Each handed-in notebook is treated as hostile code and goes through six steps,
one module each, in this order:

1. :mod:`.read`: find the ``.ipynb`` files (any case, sub-folders too; links
   out of the folder are ``refused``) and read each one (not a notebook:
   ``unreadable``, an empty total, never a silent zero);
2. :mod:`.identify`: which assignment it is, by its cells (content wins over
   metadata; another assignment's notebook is ``wrong_assignment``);
3. :mod:`.rebuild`: drop what Colab adds, and put back every code cell the
   student does not write (setup, the lesson's steps, the checks) from the
   solution, so that the state entering each exercise is the course's;
4. :mod:`.sandbox`: execute it with nbval, the kernel shut in a bubblewrap
   sandbox (no network, a read-only system, no view of the solutions, the
   submissions, the gradebook or your home, its own PID namespace, memory and
   time limits), the runner outside recording every cell;
5. :mod:`.verify`: judge the answer each check cell sent out of the kernel, in
   the grader's own process, against the reference from the grader's own run
   of the solution: points come from nothing the student's code can forge;
6. :mod:`.record`: ``OUT_DIR/grades.csv`` (one row per submission: status, one
   column per exercise, total, the isolation used), ``OUT_DIR/feedback/*.md``
   (per-exercise points and hints, never the solution) and
   ``OUT_DIR/answers.csv`` (the written answers, for hand marking).

:mod:`.batch` runs the steps over a folder: in parallel (``-j``), resuming
after an interruption (rows written after each submission; a ``graded`` row is
kept while its file, assignment and grader are unchanged, every other status
is retried), with the output folder locked against a second run.
"""

from ..setup import require_extra

require_extra("grading", modules=("nbformat", "nbval", "pytest", "psutil"), tool="the grader")

from .assignments import Assignment, load_assignments
from .batch import Grader, SubmissionResult, grade_submissions
from .read import UnreadableNotebook, read_submission
from .rebuild import rebuild

__all__ = [
    "Assignment",
    "Grader",
    "SubmissionResult",
    "UnreadableNotebook",
    "grade_submissions",
    "load_assignments",
    "read_submission",
    "rebuild",
]
