"""Step 5: the verdict, made where no student code has ever run.

A check cell in a graded run only sends the student's answer out of the kernel,
as plain data (:mod:`course_helpers.checks.plain`); the runner records it. Here
each answer is decoded, refusing anything but plain data, and judged by the
check's own judge against the reference from the grader's own run of the
solution. Nothing the student's kernel says about itself counts: not a passing
cell, not a printed tick, not a file. One check cell must send exactly one
answer for its exercise; more than one (a spray of guesses) counts as none.
"""

from dataclasses import dataclass, field

from ..checks import judge_answer, judge_for
from ..checks.plain import PlainDataError, from_plain


class ReferenceRunFailed(RuntimeError):
    """The grader's own run of a solution did not give every check's reference."""


@dataclass
class Verdicts:
    """Points and hints of one graded run."""

    scores: dict
    hints: dict = field(default_factory=dict)

    @property
    def total(self):
        return sum(self.scores.values())


def _single_answer(record, exercise):
    """The one answer a check cell sent for ``exercise``, or ``(None, why not)``."""
    if record is None or not record.ran:
        return None, None
    if record.answer_count > 1:
        return None, (
            f"the check cell sent {record.answer_count} answers; one is expected, so none counts"
        )
    if record.answer_count == 0:
        return None, None
    payload = record.answers[0]
    if not isinstance(payload, dict) or payload.get("exercise") != exercise:
        return None, "the check cell sent an answer for another exercise"
    return payload, None


def reference_answers(assignment, rebuilt, run):
    """The references of every check, from the grader's run of the solution.

    Returns
    -------
    dict of str to dict
        ``{exercise: reference}`` (plain data, as sent).

    Raises
    ------
    ReferenceRunFailed
        When a check's reference is missing, or the solution's own answer does not
        pass its judge: the grader must not grade against it.
    """
    references = {}
    for number, cell in rebuilt.checks():
        record = run.cells[number] if number < len(run.cells) else None
        payload, problem = _single_answer(record, cell.exercise)
        if payload is None or "reference" not in payload:
            reason = problem or (record.error if record is not None else "") or "no answer sent"
            raise ReferenceRunFailed(
                f"{assignment.name}: the solution's check of {cell.exercise} sent no reference "
                f"({reason}); the grader's log:\n{run.log_tail[-1500:]}"
            )
        try:
            ok, message = judge_answer(
                judge_for(cell.exercise),
                from_plain(payload["answer"]),
                from_plain(payload["reference"]),
            )
        except (PlainDataError, KeyError) as exc:
            ok, message = False, str(exc)
        if not ok:
            raise ReferenceRunFailed(
                f"{assignment.name}: the solution's own answer to {cell.exercise} does not pass "
                f"its check here ({message})"
            )
        references[cell.exercise] = payload["reference"]
    return references


def verify(assignment, rebuilt, run, references, *, cell_timeout):
    """Score a submission's run: each check cell's answer, judged against ``references``.

    Parameters
    ----------
    assignment : Assignment
    rebuilt : RebuiltNotebook
        What was executed, and where its check and exercise cells are.
    run : RunResult
        The runner's record of the submission's run.
    references : dict
        From :func:`reference_answers`.
    cell_timeout : float
        For the hint of a cell that was stopped.
    """
    verdicts = Verdicts(scores=dict.fromkeys(assignment.exercises, 0.0))
    for number, cell in rebuilt.checks():
        record = run.cells[number] if number < len(run.cells) else None
        payload, problem = _single_answer(record, cell.exercise)
        if payload is None:
            hint = problem or _why_no_answer(rebuilt, run, cell.exercise, record, cell_timeout)
            verdicts.hints.setdefault(cell.exercise, hint)
            continue
        try:
            answer = from_plain(payload.get("answer"))
            ok, message = judge_answer(
                judge_for(cell.exercise), answer, from_plain(references[cell.exercise])
            )
        except PlainDataError as exc:
            ok, message = False, f"the answer could not be read ({exc})"
        if ok:
            verdicts.scores[cell.exercise] += cell.points
        elif _not_attempted(rebuilt, run, cell.exercise):
            # The check judged what the course's cells left in place of the answer.
            verdicts.hints.setdefault(cell.exercise, NOT_ATTEMPTED)
        else:
            verdicts.hints.setdefault(cell.exercise, _shorten(message))
    return verdicts


NOT_ATTEMPTED = "not attempted yet: the exercise cell still raises NotImplementedError"


def _not_attempted(rebuilt, run, exercise):
    number = rebuilt.exercise_cell(exercise)
    record = run.cells[number] if number is not None and number < len(run.cells) else None
    return record is not None and "NotImplementedError" in record.error


def _why_no_answer(rebuilt, run, exercise, check_record, cell_timeout):
    """A one-line hint for a check cell that sent no answer, from the runner's record."""
    number = rebuilt.exercise_cell(exercise)
    exercise_record = run.cells[number] if number is not None and number < len(run.cells) else None
    if exercise_record is not None and exercise_record.timed_out:
        return (
            f"the exercise cell ran longer than {cell_timeout:g} s and was stopped "
            "(an endless loop?)"
        )
    if _not_attempted(rebuilt, run, exercise):
        return NOT_ATTEMPTED
    if check_record is None or not check_record.ran:
        if run.killed:
            return "not run: the whole run took too long and was stopped before this check"
        if any(c is not None and c.kernel_died for c in run.cells):
            return "not run: the kernel died earlier (os._exit, a crash or the memory limit)"
        if run.timed_out:
            return "not run: an earlier cell had timed out"
        return "not run: the notebook stopped before this check"
    if check_record.timed_out:
        return f"stopped: this check ran longer than {cell_timeout:g} s"
    if exercise_record is not None and exercise_record.error:
        return _shorten(
            f"the exercise cell failed ({exercise_record.error}), so the check could not run"
        )
    if check_record.error:
        return _shorten(f"the check could not run: {check_record.error}")
    return "the check sent no answer"


def _shorten(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
