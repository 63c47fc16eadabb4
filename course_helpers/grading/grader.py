"""Grade a folder of handed-in notebooks: the batch, one submission at a time."""

import hashlib
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .._course import NOTEBOOKS
from . import gradebook
from .notebook import (
    Reference,
    UnreadableNotebook,
    build_graded_notebook,
    claimed_assignment,
    identify_assignment,
    read_submission,
    written_answers,
)
from .sandbox import execute_notebook, make_scratch_root, remove_tree

# Generous: a correct Spark cell on a loaded machine must not be cut off; an endless
# loop costs this much once per submission.
DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_MEMORY_GB = 4.0


@dataclass
class SubmissionResult:
    """The outcome of grading one handed-in file."""

    submission: str
    sha256: str
    status: str = "graded"
    assignment: str | None = None
    detail: str = ""
    scores: dict | None = None
    total: float = 0.0
    max_total: float = 0.0
    seconds: float = 0.0
    hints: dict = field(default_factory=dict)
    answers: dict | None = None
    restored: list = field(default_factory=list)
    checks_fingerprint: str = ""
    kernel_start: float = 0.0
    execution: float = 0.0
    run_wall: float = 0.0


def default_solutions_dir():
    """The course's ``solutions/`` folder: next to the package, else in the current folder."""
    beside_package = Path(__file__).resolve().parents[2] / "solutions"
    return beside_package if beside_package.is_dir() else Path("solutions")


def load_references(solutions_dir, names=None):
    """Read the solution notebooks: ``{assignment: Reference}`` in teaching order.

    Parameters
    ----------
    solutions_dir : path-like
        The folder holding ``<name>.ipynb`` solution notebooks.
    names : sequence of str, optional
        The assignments to load. Defaults to the course's notebooks
        (:data:`course_helpers._course.NOTEBOOKS`) that exist in ``solutions_dir``.
    """
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"no solutions folder at {solutions_dir.resolve()}")
    names = list(names) if names is not None else list(NOTEBOOKS)
    references = {}
    for name in names:
        path = solutions_dir / f"{name}.ipynb"
        if path.exists():
            references[name] = Reference.from_path(path, name)
    if not references:
        raise FileNotFoundError(f"no solution notebook of {names} in {solutions_dir.resolve()}")
    return references


def find_submissions(submissions_dir):
    """Every ``.ipynb`` under the folder (sorted), skipping checkpoints and hidden folders."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"no submissions folder at {submissions_dir.resolve()}")
    found = []
    for path in sorted(submissions_dir.rglob("*.ipynb")):
        relative = path.relative_to(submissions_dir)
        if any(part.startswith(".") for part in relative.parts) or any(
            part == ".ipynb_checkpoints" for part in relative.parts
        ):
            continue
        if path.is_file():
            found.append(path)
    return found


_NOT_YET = "✗ Not yet:"


def _error_line(message):
    """The last line of a failed cell's traceback, which names the error."""
    text = message.split("Traceback:", 1)[1] if "Traceback:" in message else message
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not set(line) <= set("-^~ ")]
    return lines[-1] if lines else ""


def _shorten(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hint_for(check_outcome, exercise_outcome, cell_timeout):
    """A one-line hint for a failed check, from the check's own message when there is one."""
    exercise_failed = exercise_outcome is not None and exercise_outcome.state == "failed"
    exercise_message = exercise_outcome.message if exercise_failed else ""
    exercise_error = _error_line(exercise_message) if exercise_failed else ""
    if "Timeout of" in exercise_message:
        return f"the exercise cell ran longer than {cell_timeout:g} s and was stopped (an endless loop?)"
    if "NotImplementedError" in exercise_error:
        return "not attempted yet: the exercise cell still raises NotImplementedError"
    if check_outcome is None:
        return "not run: the notebook was stopped before this check"
    if check_outcome.state == "skipped":
        # nbval marks every cell after a timeout as expected to fail, and then reports
        # a failure without its error (one that passes still counts).
        return "did not pass; an earlier cell had timed out, so its error is not shown"
    message = check_outcome.message
    if "KernelDied" in message or "kernel died" in message:
        return "not run: the kernel died in this cell (os._exit, a crash or the memory limit)"
    if "Kernel dead on test start" in message:
        return "not run: the kernel had died in an earlier cell"
    if "Timeout of" in message:
        return f"stopped: this check ran longer than {cell_timeout:g} s"
    line = _error_line(message)
    if _NOT_YET in line:
        return _shorten(line.split(_NOT_YET, 1)[1].strip())
    if exercise_failed:
        return _shorten(f"the exercise cell failed ({exercise_error}), so the check could not run")
    return _shorten(f"the check could not run: {line}")


def _hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Grader:
    """Grade handed-in notebooks against the course's solutions.

    Parameters
    ----------
    references : dict of str to Reference
        From :func:`load_references`.
    assignment : str, optional
        Grade every submission as this assignment (``--assignment``).
    cell_timeout : float, default=300
        Seconds one cell may run before it is interrupted (``--timeout``).
    memory_gb : float, default=4
        Address-space limit of each process of a run, in GiB.
    """

    def __init__(
        self,
        references,
        *,
        assignment=None,
        cell_timeout=DEFAULT_CELL_TIMEOUT,
        memory_gb=DEFAULT_MEMORY_GB,
    ):
        if assignment is not None and assignment not in references:
            raise ValueError(
                f"assignment {assignment!r} is not one of {sorted(references)} "
                "(each needs solutions/<assignment>.ipynb)"
            )
        if not cell_timeout > 0:
            raise ValueError(
                f"cell_timeout must be a positive number of seconds, got {cell_timeout!r}"
            )
        if memory_gb is not None and not memory_gb > 0:
            raise ValueError(f"memory_gb must be positive, got {memory_gb!r}")
        self.references = references
        self.assignment = assignment
        self.cell_timeout = float(cell_timeout)
        self.memory_bytes = int(memory_gb * 2**30) if memory_gb else None

    def total_timeout(self):
        """The wall-clock limit of one whole run, a safety net behind nbval's per-cell timeout.

        nbval interrupts a cell after ``cell_timeout`` and goes on, so this only
        fires when something hangs outside a cell (a kernel that will not start or
        stop) or a notebook is long enough to take several cell timeouts in a row.
        """
        return max(4 * self.cell_timeout, 600.0)

    def choose_assignment(self, nb):
        """Return ``(name, None)`` or ``(None, reason)`` for a readable notebook."""
        claimed = claimed_assignment(nb)
        recognised = identify_assignment(nb, self.references)
        if self.assignment is not None:
            other = claimed if claimed in self.references else recognised
            if other is not None and other != self.assignment:
                how = "its metadata says" if other == claimed else "its cells are those of"
                return None, f"graded as {self.assignment}, but {how} {other}"
            return self.assignment, None
        if claimed in self.references:
            return claimed, None
        if recognised is not None:
            return recognised, None
        if claimed:
            return None, f"its metadata names {claimed!r}, which is not an assignment here"
        return None, "not recognisably any assignment of this course"

    def grade(self, path, name, scratch):
        """Grade one file. ``scratch`` is a folder of its own; nothing else is written."""
        start = time.perf_counter()
        result = SubmissionResult(submission=name, sha256=_hash(path))
        try:
            nb = read_submission(path)
        except UnreadableNotebook as exc:
            result.status, result.detail = "unreadable", str(exc)
            result.seconds = time.perf_counter() - start
            return result
        assignment, reason = self.choose_assignment(nb)
        if assignment is None:
            result.status, result.detail = "wrong_assignment", reason
            result.seconds = time.perf_counter() - start
            return result
        reference = self.references[assignment]
        result.assignment = assignment
        result.checks_fingerprint = reference.fingerprint()
        result.answers = written_answers(reference, nb)
        graded = build_graded_notebook(reference, nb)
        result.restored = graded.restored
        run = execute_notebook(
            graded.nb,
            scratch,
            cell_timeout=self.cell_timeout,
            total_timeout=self.total_timeout(),
            memory_bytes=self.memory_bytes,
            mpl_cache=scratch.parent / "matplotlib-cache",
        )
        result.kernel_start, result.execution, result.run_wall = (
            run.kernel_start,
            run.execution,
            run.wall,
        )
        scores = {exercise: 0.0 for exercise in reference.exercises}
        for number, check in graded.check_cells.items():
            outcome = run.cells.get(number)
            if outcome is not None and outcome.state == "passed":
                scores[check.exercise] += check.points
            elif check.exercise not in result.hints:
                exercise_number = graded.exercise_cells.get(check.exercise)
                result.hints[check.exercise] = hint_for(
                    outcome, run.cells.get(exercise_number), self.cell_timeout
                )
        result.scores = scores
        result.total = sum(scores.values())
        result.max_total = reference.max_points()
        if run.killed:
            result.status = "timeout"
            result.detail = "the whole run exceeded its time limit and was stopped"
        elif run.timed_out:
            result.status = "timeout"
            result.detail = f"a cell ran longer than {self.cell_timeout:g} s and was interrupted"
        elif run.kernel_died:
            result.status = "kernel_died"
            result.detail = "the kernel died during the run (os._exit, a crash or the memory limit)"
            if not run.cells:
                result.detail += ": " + _shorten(_last_error(run.log_tail), 200)
        result.seconds = time.perf_counter() - start
        return result


def _last_error(log):
    lines = [line for line in log.splitlines() if re.search(r"Error|error", line)]
    return lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else ""


def grade_submissions(
    submissions_dir,
    out_dir,
    *,
    solutions_dir=None,
    assignment=None,
    jobs=1,
    cell_timeout=DEFAULT_CELL_TIMEOUT,
    memory_gb=DEFAULT_MEMORY_GB,
    force=False,
    progress=True,
    names=None,
):
    """Grade every notebook in ``submissions_dir`` and write the gradebook to ``out_dir``.

    Parameters
    ----------
    submissions_dir, out_dir : path-like
        Where the handed-in ``.ipynb`` files are (never modified), and where
        ``grades.csv``, ``answers.csv`` and ``feedback/`` go.
    solutions_dir : path-like, optional
        The course's solutions (default: :func:`default_solutions_dir`).
    assignment : str, optional
        Grade every submission as this assignment instead of reading it from
        each notebook's metadata.
    jobs : int, default=1
        Submissions graded at the same time, each in its own process.
    cell_timeout : float, default=300
        Seconds a cell may run.
    memory_gb : float, default=4
        Address-space limit per process, in GiB.
    force : bool, default=False
        Regrade submissions whose file (and the assignment's checks) did not change.
    progress : bool, default=True
        Show a progress bar on stderr.
    names : sequence of str, optional
        The assignments to load from ``solutions_dir`` (default: the course's notebooks).

    Returns
    -------
    list of SubmissionResult
        The submissions graded in this run (skipped ones are not included).
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    references = load_references(solutions_dir or default_solutions_dir(), names)
    grader = Grader(
        references, assignment=assignment, cell_timeout=cell_timeout, memory_gb=memory_gb
    )
    paths = find_submissions(submissions_dir)
    out_resolved = out_dir.resolve()
    paths = [p for p in paths if out_resolved not in p.resolve().parents]

    grades_path, answers_path = out_dir / "grades.csv", out_dir / "answers.csv"
    grade_rows = gradebook.read_csv_rows(grades_path)
    answer_rows = gradebook.read_csv_rows(answers_path)
    fingerprints = {name: ref.fingerprint() for name, ref in references.items()}

    todo = []
    for path in paths:
        name = path.relative_to(submissions_dir).as_posix()
        old = grade_rows.get(name)
        if (
            not force
            and old is not None
            and old.get("sha256") == _hash(path)
            and old.get("checks", "") == fingerprints.get(old.get("assignment"), "")
        ):
            continue
        todo.append((path, name))

    lock = threading.Lock()
    results = []

    def write_outputs():
        exercise_columns, question_columns = [], []
        for ref_name, ref in references.items():
            present = any(row.get("assignment") == ref_name for row in grade_rows.values())
            if present:
                exercise_columns += [e for e in ref.exercises if e not in exercise_columns]
                question_columns += [q for q in ref.questions if q not in question_columns]
        ordered = [grade_rows[key] for key in sorted(grade_rows)]
        gradebook.write_atomic(
            grades_path, gradebook.csv_text(ordered, gradebook.grade_columns(exercise_columns))
        )
        gradebook.write_atomic(
            answers_path,
            gradebook.csv_text(
                [answer_rows[key] for key in sorted(answer_rows)],
                ["submission", "assignment", *question_columns],
            ),
        )

    scratch_root = make_scratch_root()
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="notebook", disable=not progress or not todo)

        def work(index, path, name):
            scratch = scratch_root / f"{index:05d}"
            try:
                return grader.grade(path, name, scratch)
            except Exception as exc:  # a broken submission never stops the batch
                return SubmissionResult(
                    submission=name,
                    sha256=_hash(path),
                    status="unreadable",
                    detail=_shorten(f"the grader could not handle it: {type(exc).__name__}: {exc}"),
                )
            finally:
                remove_tree(scratch)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(work, index, path, name) for index, (path, name) in enumerate(todo)
            ]
            try:
                for future in as_completed(futures):
                    result = future.result()
                    reference = references.get(result.assignment)
                    with lock:
                        results.append(result)
                        grade_rows[result.submission] = gradebook.grade_row(result)
                        answer_rows[result.submission] = gradebook.answer_row(result)
                        gradebook.write_atomic(
                            out_dir / "feedback" / gradebook.feedback_name(result.submission),
                            gradebook.feedback_markdown(result, reference),
                        )
                        write_outputs()
                    bar.set_postfix_str(f"{result.submission}: {result.status}", refresh=False)
                    bar.update()
            except BaseException:
                # Ctrl-C: drop the submissions not started; the running ones finish, and
                # every row written so far stays in grades.csv.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        bar.close()
        with lock:
            write_outputs()
    finally:
        remove_tree(scratch_root)
    return sorted(results, key=lambda r: r.submission)
