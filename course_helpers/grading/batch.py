"""Grade a folder of handed-in notebooks: the batch, and each submission's way through it.

Each submission goes through the steps in order, one module each:
read (:mod:`.read`) → identify (:mod:`.identify`) → rebuild (:mod:`.rebuild`) →
run in the sandbox (:mod:`.sandbox`) → verify (:mod:`.verify`) → record
(:mod:`.record`). The references that step 5 judges against come from the
grader's own run of each solution, through the same steps, cached in the
output folder.
"""

import hashlib
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from . import record
from .assignments import default_solutions_dir, load_assignments
from .identify import choose_assignment
from .read import UnreadableNotebook, file_hash, find_submissions, read_submission
from .rebuild import rebuild, written_answers
from .sandbox import Limits, SandboxRun, choose_isolation, remove_tree
from .verify import ReferenceRunFailed, reference_answers, verify

# Generous: a correct Spark cell on a loaded machine must not be cut off; an endless
# loop costs this much once per submission.
DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_MEMORY_GB = 4.0


@dataclass
class SubmissionResult:
    """The outcome of grading one handed-in file."""

    submission: str
    sha256: str = ""
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
    isolation: str = ""
    grader_key: str = ""
    kernel_start: float = 0.0
    execution: float = 0.0
    run_wall: float = 0.0


def grader_code_version():
    """A hash of the grader's and the checks' source: a change to either regrades everything."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    for folder in ("grading", "checks"):
        for path in sorted((package / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class Grader:
    """Grade handed-in notebooks against the course's solutions.

    Parameters
    ----------
    assignments : dict of str to Assignment
        From :func:`~course_helpers.grading.assignments.load_assignments`.
    isolation : {"bwrap", "process"}
        From :func:`~course_helpers.grading.sandbox.choose_isolation`.
    assignment : str, optional
        Grade every submission as this assignment (``--assignment``).
    limits : Limits
    scratch_root : pathlib.Path
        Where each run gets a folder of its own.
    cache_dir : pathlib.Path, optional
        Where the references of the solutions' runs are kept between batches.
    hidden : sequence of path-like
        Folders a sandbox must never show (solutions, submissions, gradebook).
    warm_runs : int, default=1
        Runs kept started ahead (usually ``-j``): a submission's run is started
        while the one before it executes, which hides the start-up of Python,
        pytest and the kernel.
    """

    def __init__(
        self,
        assignments,
        *,
        isolation,
        assignment=None,
        limits=None,
        scratch_root,
        cache_dir=None,
        hidden=(),
        warm_runs=1,
    ):
        if assignment is not None and assignment not in assignments:
            raise ValueError(
                f"assignment {assignment!r} is not one of {sorted(assignments)} "
                "(each needs solutions/<assignment>.ipynb)"
            )
        self.assignments = assignments
        self.isolation = isolation
        self.assignment = assignment
        self.limits = limits or Limits()
        self.scratch_root = Path(scratch_root)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.hidden = list(hidden)
        self.code_version = grader_code_version()
        self.mpl_cache = None
        self._references = {}
        self._reference_locks = {name: threading.Lock() for name in assignments}
        self._counter = 0
        self._counter_lock = threading.Lock()
        self.warm_runs = warm_runs
        self._warm = []  # (SandboxRun, scratch) started ahead, for submissions
        self._to_start = 0  # submissions whose run has not been started yet

    def key(self, name):
        """What a cached row depends on: the grader's code, the assignment, the choice rule."""
        forced = self.assignment or "auto"
        return f"{self.code_version}-{self.assignments[name].fingerprint()}-{forced}"

    def _scratch(self, label):
        with self._counter_lock:
            self._counter += 1
            return self.scratch_root / f"{self._counter:05d}-{label}"

    def _start(self, mode):
        scratch = self._scratch(mode)
        run = SandboxRun(
            scratch,
            isolation=self.isolation,
            mode=mode,
            limits=self.limits,
            mpl_cache=self.mpl_cache,
            hidden=self.hidden,
        )
        return run, scratch

    def expect(self, submissions):
        """Say how many submissions will be run, so that their runs can start ahead."""
        with self._counter_lock:
            self._to_start = submissions
        self._keep_warm()

    def _keep_warm(self):
        while True:
            with self._counter_lock:
                if len(self._warm) >= self.warm_runs or self._to_start <= len(self._warm):
                    return
            started = self._start("answer")
            with self._counter_lock:
                self._warm.append(started)

    def _take_warm(self):
        with self._counter_lock:
            self._to_start = max(self._to_start - 1, 0)
            started = self._warm.pop(0) if self._warm else None
        return started or self._start("answer")

    def close(self):
        """Stop the runs started ahead that no submission needed."""
        with self._counter_lock:
            warm, self._warm, self._to_start = self._warm, [], 0
        for run, scratch in warm:
            run.close()
            remove_tree(scratch)

    def _run(self, nb, mode):
        if mode == "answer":
            run, scratch = self._take_warm()
            self._keep_warm()  # the next submission's run starts while this one executes
        else:
            run, scratch = self._start(mode)
        try:
            return run.execute(nb)
        finally:
            run.close()  # execute closes it too, unless it failed before (a full disk)
            remove_tree(scratch)

    def references(self, name):
        """The references of assignment ``name``: from the cache, else from a run of its solution."""
        with self._reference_locks[name]:
            if name in self._references:
                return self._references[name]
            cache = None
            if self.cache_dir is not None:
                cache = self.cache_dir / f"reference-{name}-{self.key(name)}-{self.isolation}.json"
                if cache.exists():
                    import json

                    self._references[name] = json.loads(cache.read_text(encoding="utf-8"))
                    return self._references[name]
            assignment = self.assignments[name]
            rebuilt = rebuild(assignment, assignment.solution)
            run = self._run(rebuilt.nb, "reference")
            references = reference_answers(assignment, rebuilt, run)
            if cache is not None:
                import json

                record.write_atomic(cache, json.dumps(references))
            self._references[name] = references
            return references

    def grade(self, handed_in):
        """Grade one handed-in file (a :class:`~course_helpers.grading.read.HandedIn`)."""
        start = time.perf_counter()
        result = SubmissionResult(submission=handed_in.name, isolation=self.isolation)
        try:
            self._grade(handed_in, result)
        except ReferenceRunFailed as exc:
            result.status, result.detail = "error", _shorten(f"the grader's reference: {exc}")
            result.scores = None
        except Exception as exc:  # a grader fault never stops the batch; a rerun retries it
            result.status = "error"
            result.detail = _shorten(f"the grader failed: {type(exc).__name__}: {exc}")
            result.scores = None
        result.seconds = time.perf_counter() - start
        return result

    def _grade(self, handed_in, result):
        # 1. read
        if handed_in.refused:
            result.status, result.detail = "refused", handed_in.refused
            return
        result.sha256 = file_hash(handed_in.path)
        try:
            nb = read_submission(handed_in.path)
        except UnreadableNotebook as exc:
            result.status, result.detail = "unreadable", str(exc)
            return
        # 2. identify
        name, reason = choose_assignment(nb, self.assignments, forced=self.assignment)
        if name is None:
            result.status, result.detail = "wrong_assignment", reason
            return
        assignment = self.assignments[name]
        result.assignment, result.grader_key = name, self.key(name)
        result.answers = written_answers(assignment, nb)
        # 3. rebuild
        rebuilt = rebuild(assignment, nb)
        result.restored = rebuilt.restored
        references = self.references(name)
        # 4. run in the sandbox
        run = self._run(rebuilt.nb, "answer")
        result.kernel_start, result.execution, result.run_wall = (
            run.kernel_start,
            run.execution,
            run.wall,
        )
        # 5. verify
        verdicts = verify(
            assignment, rebuilt, run, references, cell_timeout=self.limits.cell_timeout
        )
        result.scores, result.hints = verdicts.scores, verdicts.hints
        result.total, result.max_total = verdicts.total, assignment.max_points()
        if run.killed:
            result.status = "timeout"
            result.detail = "the whole run exceeded its time limit and was stopped"
        elif run.timed_out:
            result.status = "timeout"
            result.detail = f"a cell ran longer than {self.limits.cell_timeout:g} s and was stopped"
        elif run.kernel_died:
            result.status = "kernel_died"
            result.detail = "the kernel died during the run (os._exit, a crash or the memory limit)"
        elif not run.finished or any(cell is None for cell in run.cells):
            # The runner must account for every cell: a run it could not record is a
            # grader fault, retried on rerun, never a silent zero.
            result.status = "error"
            result.detail = _shorten(
                "the run ended without a record of every cell: " + _last_line(run.log_tail)
            )


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _shorten(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def warm_matplotlib_cache(folder):
    """Build matplotlib's font cache once per batch; each run starts from a copy."""
    import os
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "agg"}
    subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"],
        env=env,
        capture_output=True,
        check=False,
        timeout=300,
    )
    return folder


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
    isolation="auto",
):
    """Grade every notebook in ``submissions_dir`` and write the gradebook to ``out_dir``.

    Parameters
    ----------
    submissions_dir, out_dir : path-like
        Where the handed-in notebooks are (only read), and where ``grades.csv``,
        ``answers.csv`` and ``feedback/`` go.
    solutions_dir : path-like, optional
        The course's solutions (default: the course's ``solutions/``).
    assignment : str, optional
        Grade every submission as this assignment; another assignment's notebook
        gets ``wrong_assignment``.
    jobs : int, default=1
        Submissions graded at the same time.
    cell_timeout : float, default=300
        Seconds a cell may run.
    memory_gb : float, default=4
        Address-space limit per process of a run, in GiB.
    force : bool, default=False
        Regrade submissions already graded with the same file, assignment and grader.
    progress : bool, default=True
        Show a progress bar on stderr.
    names : sequence of str, optional
        The assignments to load from ``solutions_dir`` (default: the course's notebooks).
    isolation : {"auto", "bwrap", "process"}, default="auto"
        How each run is shut in (see :mod:`~course_helpers.grading.sandbox`).

    Returns
    -------
    list of SubmissionResult
        The submissions graded in this run (rows kept from an earlier run are not included).

    Raises
    ------
    ValueError
        For a bad option.
    FileNotFoundError
        When the submissions or solutions folder does not exist.
    OutputLocked
        When another grading run writes to ``out_dir``.
    SandboxUnavailable
        When ``isolation="bwrap"`` and bubblewrap cannot run here.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if not (isinstance(cell_timeout, (int, float)) and cell_timeout > 0):
        raise ValueError(f"cell_timeout must be a positive number of seconds, got {cell_timeout!r}")
    if memory_gb is not None and not (isinstance(memory_gb, (int, float)) and memory_gb > 0):
        raise ValueError(f"memory_gb must be a positive number, got {memory_gb!r}")
    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    solutions_dir = Path(solutions_dir) if solutions_dir else default_solutions_dir()
    handed_in = find_submissions(submissions_dir)
    chosen, warning = choose_isolation(isolation)
    grader = Grader(
        load_assignments(solutions_dir, names),
        isolation=chosen,
        assignment=assignment,
        limits=Limits(
            cell_timeout=float(cell_timeout),
            total_timeout=max(4 * float(cell_timeout), 600.0),
            memory_bytes=int(memory_gb * 2**30) if memory_gb else None,
        ),
        scratch_root=out_dir / ".scratch",
        cache_dir=out_dir / ".cache",
        hidden=[solutions_dir, submissions_dir, out_dir],
        warm_runs=jobs,
    )
    if warning:
        print(warning, file=sys.stderr)
    lock = record.lock_output(out_dir)
    try:
        return _grade_batch(grader, handed_in, out_dir, jobs=jobs, force=force, progress=progress)
    finally:
        lock.close()


def _grade_batch(grader, handed_in, out_dir, *, jobs, force, progress):
    assignments = grader.assignments
    out_resolved = out_dir.resolve()
    handed_in = [h for h in handed_in if out_resolved not in h.path.resolve().parents]
    grades_path, answers_path = out_dir / "grades.csv", out_dir / "answers.csv"
    grade_rows = record.read_csv_rows(grades_path)
    answer_rows = record.read_csv_rows(answers_path)
    scratch_root = grader.scratch_root
    remove_tree(scratch_root)  # what a killed earlier run left
    scratch_root.mkdir(parents=True)

    todo = []
    for item in handed_in:
        old = grade_rows.get(item.name)
        if (
            not force
            and not item.refused
            and old is not None
            and old.get("status") in record.CACHED_STATUSES
            and old.get("assignment") in assignments
            and old.get("grader") == grader.key(old["assignment"])
            and old.get("sha256") == file_hash(item.path)
        ):
            continue
        todo.append(item)

    lock = threading.Lock()
    results = []

    def write_outputs():
        exercise_columns, question_columns = [], []
        for name, known in assignments.items():
            if any(row.get("assignment") == name for row in grade_rows.values()):
                exercise_columns += [e for e in known.exercises if e not in exercise_columns]
                question_columns += [q for q in known.questions if q not in question_columns]
        record.write_atomic(
            grades_path,
            record.csv_text(
                [grade_rows[key] for key in sorted(grade_rows)],
                record.grade_columns(exercise_columns),
            ),
        )
        record.write_atomic(
            answers_path,
            record.csv_text(
                [answer_rows[key] for key in sorted(answer_rows)],
                ["submission", "assignment", *question_columns],
            ),
        )

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="notebook", disable=not progress or not todo)
    try:
        if todo:
            grader.mpl_cache = warm_matplotlib_cache(scratch_root / "matplotlib-cache")
            grader.expect(sum(1 for item in todo if not item.refused))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(grader.grade, item) for item in todo]
            try:
                for future in as_completed(futures):
                    result = future.result()
                    with lock:
                        results.append(result)
                        grade_rows[result.submission] = record.grade_row(result)
                        answer_rows[result.submission] = record.answer_row(result)
                        record.write_atomic(
                            out_dir / "feedback" / record.feedback_name(result.submission),
                            record.feedback_markdown(result, assignments.get(result.assignment)),
                        )
                        write_outputs()
                    bar.set_postfix_str(f"{result.submission}: {result.status}", refresh=False)
                    bar.update()
            except BaseException:
                # Ctrl-C: drop the submissions not started; the running ones finish, and
                # every row written so far stays in grades.csv.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        with lock:
            write_outputs()
    finally:
        bar.close()
        grader.close()
        remove_tree(scratch_root)
    return sorted(results, key=lambda r: r.submission)
