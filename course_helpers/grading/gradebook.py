"""The grader's outputs: grades.csv, answers.csv and one feedback file per submission.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted batch never leaves a half-written gradebook.
"""

import csv
import io
import os
import re
import tempfile
from pathlib import Path

STATUSES = ("graded", "unreadable", "timeout", "kernel_died", "wrong_assignment")
LEADING_COLUMNS = ("submission", "assignment", "status")
TRAILING_COLUMNS = ("total", "max_total", "seconds", "detail", "sha256", "checks")


def write_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_csv_rows(path):
    """Rows of an earlier grades.csv / answers.csv as dicts keyed by submission."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream) if row.get("submission")}


def csv_text(rows, columns):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return buffer.getvalue()


def _number(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def grade_row(result):
    """The grades.csv row of one :class:`~course_helpers.grading.grader.SubmissionResult`."""
    row = {
        "submission": result.submission,
        "assignment": result.assignment or "",
        "status": result.status,
        "seconds": f"{result.seconds:.1f}",
        "detail": result.detail,
        "sha256": result.sha256,
        "checks": result.checks_fingerprint,
    }
    if result.scores is not None:
        row.update({exercise: _number(points) for exercise, points in result.scores.items()})
        row["total"] = _number(result.total)
        row["max_total"] = _number(result.max_total)
    return row


def answer_row(result):
    row = {"submission": result.submission, "assignment": result.assignment or ""}
    row.update(result.answers or {})
    return row


def grade_columns(exercise_columns):
    return [*LEADING_COLUMNS, *exercise_columns, *TRAILING_COLUMNS]


def feedback_name(submission):
    """``feedback/<submission>.md``: folders flattened, odd characters replaced."""
    stem = submission[: -len(".ipynb")] if submission.endswith(".ipynb") else submission
    stem = stem.replace("/", "__")
    return re.sub(r"[^\w.\-]+", "_", stem) + ".md"


def feedback_markdown(result, reference=None):
    """The feedback a student gets: per-exercise result and hint, never the answer."""
    lines = [f"# Feedback: {result.submission}", ""]
    if result.assignment:
        lines.append(f"- Assignment: `{result.assignment}`")
    lines.append(f"- Status: **{result.status}**")
    if result.scores is not None:
        lines.append(
            f"- Auto-graded score: **{_number(result.total)} / {_number(result.max_total)}**"
        )
    if result.detail:
        lines.append(f"- Note: {result.detail}")
    lines.append("")
    if result.scores is not None and reference is not None:
        lines += ["| exercise | points | result |", "|---|---|---|"]
        for exercise in reference.exercises:
            earned = result.scores.get(exercise, 0)
            possible = reference.max_points(exercise)
            if earned >= possible:
                verdict = "✓ correct"
            else:
                verdict = "✗ " + _table_text(result.hints.get(exercise, "not correct yet"))
            lines.append(f"| `{exercise}` | {_number(earned)} / {_number(possible)} | {verdict} |")
        lines.append("")
    if result.restored:
        lines.append(
            "Cells put back from the course before running (edits to check and setup "
            "cells do not count): " + "; ".join(result.restored) + "."
        )
        lines.append("")
    if reference is not None and reference.questions:
        answered = [q for q in reference.questions if (result.answers or {}).get(q)]
        missing = [q for q in reference.questions if q not in answered]
        lines.append(
            "Written questions are marked by hand. "
            f"Answered: {', '.join(answered) or 'none'}."
            + (f" Not answered: {', '.join(missing)}." if missing else "")
        )
        lines.append("")
    return "\n".join(lines)


def _table_text(text):
    return text.replace("|", "\\|").replace("\n", " ")
