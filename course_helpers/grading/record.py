"""Step 6: record the results: grades.csv, answers.csv and one feedback file per submission.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``) after each submission, so an interrupted batch never leaves a
half-written gradebook and a rerun resumes where it stopped. One grading run
at a time may write to an output folder (:func:`lock_output`).
"""

import csv
import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

#: ``graded``: it ran and was scored. ``unreadable``: not a notebook (no score, not a zero).
#: ``wrong_assignment``: another assignment's notebook. ``refused``: not read (a link out of
#: the folder). ``timeout`` / ``kernel_died``: scored, but the run was cut short.
#: ``error``: the grader failed (a full disk, a broken reference run); retried on rerun.
STATUSES = (
    "graded",
    "unreadable",
    "wrong_assignment",
    "refused",
    "timeout",
    "kernel_died",
    "error",
)
#: The only status kept on a rerun when the file is unchanged: every other is retried.
CACHED_STATUSES = ("graded",)
LEADING_COLUMNS = ("submission", "assignment", "status")
TRAILING_COLUMNS = ("total", "max_total", "seconds", "isolation", "detail", "sha256", "grader")


class OutputLocked(RuntimeError):
    """Another grading run is writing to the same output folder."""


def lock_output(out_dir):
    """Take the output folder's lock for this process; return the open lock file.

    Keep the returned file open while grading; closing it (or the process ending,
    however it ends) releases the lock.

    Raises
    ------
    OutputLocked
        When another grading run holds it.
    """
    import fcntl

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = open(out_dir / ".grading.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise OutputLocked(
            f"another grading run (pid {holder}) is writing to {out_dir}: wait for it to "
            "finish, or use another --out"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


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
        rows = [{k: _plain_text(v) for k, v in row.items()} for row in csv.DictReader(stream)]
    return {row["submission"]: row for row in rows if row.get("submission")}


def csv_text(rows, columns):
    """CSV text of ``rows``; a student's text that a spreadsheet would run as a formula is defused."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell_text(row.get(column, "")) for column in columns})
    return buffer.getvalue()


def _plain_text(value):
    """Undo :func:`_cell_text` on a value read back."""
    if (
        isinstance(value, str)
        and value[:1] == "'"
        and value[1:2] in ("=", "+", "-", "@", "\t", "\r")
    ):
        return value[1:]
    return value


def _cell_text(value):
    # "=HYPERLINK(...)" in a written answer would run when the instructor opens the CSV.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _number(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def grade_row(result):
    """The grades.csv row of one :class:`~course_helpers.grading.batch.SubmissionResult`."""
    row = {
        "submission": result.submission,
        "assignment": result.assignment or "",
        "status": result.status,
        "seconds": f"{result.seconds:.1f}",
        "isolation": result.isolation,
        "detail": result.detail,
        "sha256": result.sha256,
        "grader": result.grader_key,
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
    """``feedback/<name>.md`` for a submission: a different file for every submission.

    Letters, digits, spaces, ``.``, ``_`` and ``-`` are kept; every other
    character (``/`` of a sub-folder included) becomes ``%XX``, as in a URL, so
    ``Curie Marie.ipynb`` and ``Curie_Marie.ipynb`` do not share a file.
    """
    stem = submission[: -len(".ipynb")] if submission.lower().endswith(".ipynb") else submission
    encoded = "".join(
        char
        if re.fullmatch(r"[A-Za-z0-9 _\-]", char) or (char == "." and i)
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for i, char in enumerate(stem)
    )
    if len(encoded) > 200:  # keep names short; the hash keeps them apart
        digest = hashlib.sha256(submission.encode("utf-8")).hexdigest()[:12]
        encoded = f"{encoded[:180]}-{digest}"
    return (encoded or "%00") + ".md"


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
            "Cells put back from the course before running (only the exercise cells are "
            "yours to change): " + "; ".join(result.restored) + "."
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
