"""The exercises' checks: instant feedback for students, plain answers for the grader.

Each notebook has a module here (``blobs``, ``digits``, ``tsne``, ...). For each
exercise it has two functions and one registry entry:

* the **check** that the notebook's check cell calls, e.g.
  ``digits.normal_distances(normal_distances, kmeans=kmeans, normal_data=normal_data)``.
  It turns the student's objects into the *answer* and the kernel's own state
  into the *reference*, both as plain data (:mod:`.plain`), and hands them to
  :func:`run_check`;
* the **judge**, a pure function ``judge(answer, reference) -> message`` over
  plain data only. It returns the success line, or raises :class:`CheckFailed`
  with a hint that names the likely mistake without giving the answer away;
* ``JUDGES = {exercise id: judge}``, which the grader looks up with :func:`judge_for`.

In a student's session the judge runs at once in the kernel. When the grader
runs a handed-in notebook (``COURSE_GRADING_MODE=answer``) the check only sends
the answer out of the kernel and judges nothing there: the grader judges it in
a process of its own, against the reference from its own run of the solution
(``COURSE_GRADING_MODE=reference``). The same judge decides both, so a student
gets the same verdict at home as in the gradebook, and nothing the student's
code does inside its kernel can award a point.
"""

import importlib
import os
import pkgutil

from .plain import ANSWER_MIME, to_plain

__all__ = ["ANSWER_MIME", "CheckFailed", "fail_unless", "judge_for", "passed", "run_check"]

#: Set by the grader in the kernel's environment: ``answer`` or ``reference``.
GRADING_MODE_ENV = "COURSE_GRADING_MODE"
#: The key of an answer whose extraction raised (see :func:`run_check`).
ERROR_KEY = "__error__"


class CheckFailed(AssertionError):
    """An exercise's answer is not right yet. The message is the hint.

    In Jupyter it is shown as one short line instead of a traceback through
    the helper package.
    """

    def _render_traceback_(self):
        # IPython calls this instead of printing the full traceback.
        return [f"\x1b[31m✗ Not yet: {self}\x1b[0m"]


def passed(what):
    """Print the success line of a check."""
    print(f"✓ {what}")


def fail_unless(condition, hint):
    """Raise :class:`CheckFailed` with ``hint`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(hint)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def collect(build):
    """Call ``build()`` and return its dict as plain data.

    An exception while building (a Spark job that fails, an object that will not
    convert) becomes ``{ERROR_KEY: "<error>: <first line>"}``, which
    :func:`judge_answer` reports as a hint instead of a traceback.
    """
    try:
        return to_plain(build())
    except Exception as exc:
        return to_plain({ERROR_KEY: _first_line(exc)})


def judge_answer(judge, answer, reference):
    """Judge plain ``answer`` against plain ``reference``: ``(passed, message)``.

    This is the one place a verdict is made, in the kernel and in the grader.
    A judge that trips over an odd answer (a wrong type it did not foresee)
    gives a fail with a generic hint, never an exception.
    """
    if isinstance(answer, dict) and ERROR_KEY in answer:
        return False, f"your answer could not be read: {answer[ERROR_KEY]}"
    try:
        return True, judge(answer, reference)
    except CheckFailed as exc:
        return False, str(exc)
    except Exception as exc:
        return False, f"your answer has an unexpected form ({_first_line(exc)})"


def run_check(exercise, *, answer, reference, judge):
    """Run one exercise's check: the entry point of every check function.

    Parameters
    ----------
    exercise : str
        The exercise id (the check cell's ``grading.exercise``).
    answer : callable
        Returns a dict of the student's values; made plain with :func:`collect`.
    reference : callable
        Returns a dict of what the judge compares with, from the kernel's own state.
        Never called when a handed-in notebook is graded.
    judge : callable
        ``judge(answer, reference)`` over plain data, see the module docstring.
    """
    from .plain import from_plain

    mode = os.environ.get(GRADING_MODE_ENV, "")
    submitted = collect(answer)
    if mode == "answer":
        _send(exercise, {"answer": submitted})
        print("answer recorded for grading")
        return
    expected = collect(reference)
    ok, message = judge_answer(judge, from_plain(submitted), from_plain(expected))
    if mode == "reference":
        _send(exercise, {"answer": submitted, "reference": expected, "passed": ok})
    if not ok:
        raise CheckFailed(message)
    passed(message)


def _send(exercise, payload):
    """Show ``payload`` as one output of type ANSWER_MIME: the grader reads it from outside."""
    from IPython.display import display

    display({ANSWER_MIME: {"exercise": exercise, **payload}}, raw=True)


def judge_for(exercise):
    """Return the judge of ``exercise`` from the check modules' ``JUDGES``.

    Raises
    ------
    KeyError
        When no check module has a judge for ``exercise``.
    """
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        judges = getattr(module, "JUDGES", {})
        if exercise in judges:
            return judges[exercise]
    raise KeyError(f"no check module has a judge for exercise {exercise!r}")
