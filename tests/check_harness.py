"""How the check tests judge a case: in the kernel's way and in the grader's way.

A check is used twice: in the student's kernel, where it prints ✓ or raises
CheckFailed at once, and by the grader, which judges the plain answer the check
sends out of the kernel against the reference of its own run of the solution.
:func:`accepts` and :func:`rejects` run both and require the same verdict, with
the answer and reference passed through JSON as on the wire.

The tables of right and wrong answers are in ``tests/checks/test_<module>.py``;
``tests/test_checks.py`` fails when an exercise has no table.
"""

import json
import re

import pytest

import course_helpers.checks as checks_package
from course_helpers.checks import judge_answer, judge_for
from course_helpers.checks.plain import from_plain

#: exercise ids judged by the tests so far (tests/checks/ runs before tests/test_checks.py)
TESTED = set()


def judged_both_ways(check, *args, **kwargs):
    """Run ``check`` in the kernel's way and in the grader's way: ``(passed, message)``."""
    sent = []
    mp = pytest.MonkeyPatch()
    mp.setenv(checks_package.GRADING_MODE_ENV, "reference")
    mp.setattr(checks_package, "_send", lambda exercise, payload: sent.append((exercise, payload)))
    try:
        check(*args, **kwargs)
        in_kernel = (True, None)
    except checks_package.CheckFailed as exc:
        in_kernel = (False, str(exc))
    finally:
        mp.undo()
    assert len(sent) == 1, "a check sends exactly one answer"
    exercise, payload = sent[0]
    TESTED.add(exercise)
    wire = json.loads(json.dumps(payload, allow_nan=False))
    assert wire["passed"] == in_kernel[0]
    graded = judge_answer(
        judge_for(exercise), from_plain(wire["answer"]), from_plain(wire["reference"])
    )
    assert graded[0] == in_kernel[0], (graded, in_kernel)
    if not in_kernel[0]:
        assert graded[1] == in_kernel[1]
    return graded


def rejects(check, *args, match, **kwargs):
    """Assert that ``check`` rejects the answer, both ways, with a hint matching ``match``."""
    ok, message = judged_both_ways(check, *args, **kwargs)
    assert not ok, f"accepted a wrong answer: {message}"
    assert re.search(match, message), message


def accepts(check, capsys, *args, **kwargs):
    """Assert that ``check`` accepts the answer, both ways, and prints one ✓ line."""
    ok, message = judged_both_ways(check, *args, **kwargs)
    assert ok, f"rejected a right answer: {message}"
    check(*args, **kwargs)  # and as a student runs it
    assert capsys.readouterr().out.startswith("✓")
