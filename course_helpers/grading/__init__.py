"""Grade handed-in notebooks: ``python -m course_helpers.grading SUBMISSIONS_DIR --out OUT_DIR``.

For each ``.ipynb`` in the folder (any names, sub-folders included):

1. read it with nbformat and validate it (invalid JSON: status ``unreadable``);
2. decide the assignment: ``--assignment``, else the notebook's metadata
   (``course.assignment``), else its cells (Colab may drop the metadata);
   a notebook of another assignment gets ``wrong_assignment``;
3. drop what Colab adds (its output MIME types and metadata: all stored
   outputs go, the grader re-executes everything);
4. put back the check and setup cells from the solution, matched by cell id,
   then tag and grading metadata, then text and position, so that deleting,
   editing or moving them neither helps nor hurts (Colab may save
   nbformat 4.0 without ids);
5. execute it with nbval (``pytest --nbval-lax``, JUnit XML, a per-cell
   timeout) in a scratch folder that holds only that notebook;
6. score each check cell: its ``grading.points`` (default 1) if it ran
   without error, else 0 with the check's hint.

Outputs (each written atomically): ``OUT_DIR/grades.csv`` (one row per
submission: status, one column per exercise, total, max_total, seconds),
``OUT_DIR/feedback/<submission>.md`` (per-exercise result and hint, never the
solution), and ``OUT_DIR/answers.csv`` (the written answers, for hand marking).
A rerun skips files whose hash (and assignment checks) did not change, unless
``--force``, and keeps the earlier rows.

What the sandbox protects against
---------------------------------
Each submission runs in its own process tree and scratch folder (deleted
afterwards) with: a per-cell timeout and a wall-clock limit (infinite loops);
an address-space limit per process (runaway memory); an environment built
from an allow-list (the instructor's tokens and credentials in environment
variables are not visible, SPARK_MASTER/SPARK_REMOTE are dropped so grading
runs locally); HOME, TMPDIR and the Jupyter/IPython folders inside the
scratch folder (stray files, ``~/.ipython`` startup scripts); a fresh kernel
per submission (no state shared between students); the whole process tree
killed at the end (background processes it left); outputs are never copied
into the gradebook (a cell printing 50 MB). The handed-in files are only
read.

What only a container (or a separate user account / VM) would protect against
------------------------------------------------------------------------------
The student's code runs as the instructor's user. It can read and write
anything that user can, by absolute path: ``~/.ssh``, other students'
submissions, the output folder, the grader's own files; it can open network
connections; it can fork a daemon that escapes the process tree; it can
monkeypatch ``course_helpers.checks`` in its own kernel to make a check pass,
or fill the disk. The memory limit is per process, not for the run as a whole.
Grade untrusted work inside a container or VM with no network, a read-only
mount of the submissions and a disk quota (e.g. ``docker run --network none
--read-only -v subs:/subs:ro ...``); the grader itself needs no change.
"""

from .grader import Grader, SubmissionResult, grade_submissions, load_references
from .notebook import Reference, UnreadableNotebook, build_graded_notebook, read_submission

__all__ = [
    "Grader",
    "Reference",
    "SubmissionResult",
    "UnreadableNotebook",
    "build_graded_notebook",
    "grade_submissions",
    "load_references",
    "read_submission",
]
