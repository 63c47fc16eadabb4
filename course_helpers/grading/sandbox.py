"""Execute one rebuilt notebook with nbval, in its own process and scratch folder.

What the run gets:

* a fresh scratch folder holding only the notebook to execute, with HOME,
  TMPDIR, IPython's and Jupyter's folders inside it; the kernel starts in
  ``<scratch>/run/``, so a cell writing next to itself or one folder up writes
  into the scratch folder, which is deleted afterwards;
* an environment built from an allow-list (PATH, locale, JAVA_HOME, ...):
  the instructor's tokens, cloud credentials and SPARK_MASTER/SPARK_REMOTE
  are not passed on;
* a memory limit (``RLIMIT_AS``, set in the child before pytest starts and
  inherited by the kernel and anything it starts, per process);
* a per-cell timeout (nbval interrupts the cell; the next cells still run)
  and a wall-clock limit for the whole run, after which the process tree is
  killed;
* one BLAS/OpenMP thread per kernel, whatever ``-j``: parallel kernels do not
  oversubscribe the cores, and a submission is computed the same way (same
  summation order) whether it is graded alone or beside others.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ._child.course_grading_plugin import TIMINGS_ENV

#: Environment variables passed on to the child, when the grader has them.
ALLOWED_ENV = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "JAVA_HOME",
    "SPARK_HOME",
    "SPARK_LOCAL_IP",
    "SYSTEMROOT",
)
#: Variables that pin thread pools to one thread per kernel.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
NOTEBOOK_NAME = "submission.ipynb"
CHILD_DIR = Path(__file__).resolve().parent / "_child"
# Colour codes of IPython tracebacks; the JUnit report writes ESC as "#x1B".
_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*[A-Za-z]")


@dataclass
class CellOutcome:
    """How one code cell fared: ``passed``, ``failed`` or ``skipped``."""

    state: str
    message: str = ""


@dataclass
class RunResult:
    """What came back from executing one notebook."""

    cells: dict = field(default_factory=dict)  # nbval cell number -> CellOutcome
    timed_out: bool = False
    kernel_died: bool = False
    killed: bool = False  # the whole run hit the wall-clock limit
    returncode: int | None = None
    log_tail: str = ""
    kernel_start: float = 0.0
    execution: float = 0.0
    wall: float = 0.0


def child_environment(scratch, *, extra=None):
    """Return the environment of the grading child: allow-listed variables only."""
    home = scratch / "home"
    env = {key: os.environ[key] for key in ALLOWED_ENV if key in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        # Spark's shuffle and block files go to the scratch folder too (not /tmp).
        SPARK_LOCAL_DIRS=str(home / "tmp"),
        IPYTHONDIR=str(home / ".ipython"),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local" / "share" / "jupyter" / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        MPLBACKEND="agg",
        **dict.fromkeys(THREAD_ENV, "1"),
    )
    # The child imports this very course_helpers, installed or not, and the
    # grader's pytest plugin (a lone module in _child/, see its docstring).
    package_root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(package_root), str(CHILD_DIR)])
    if extra:
        env.update(extra)
    for folder in ("tmp", ".ipython", ".jupyter"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    return env


def _limit_resources(memory_bytes):
    def apply():
        import resource

        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        # No core dumps of student processes in the scratch folder.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


RUN_TOKEN_ENV = "COURSE_GRADING_RUN"


def _kill_run(pid, token):
    """Kill every process of a run: ``pid``'s tree, and whatever still carries ``token``.

    The kernel runs in a session of its own and is shut down by nbval, so a
    process the student started (``subprocess.Popen(..., start_new_session=True)``)
    is no longer in the tree by the end. Every process of the run inherits
    ``COURSE_GRADING_RUN=<token>`` in its environment, which finds it again, unless
    the student cleared its environment on purpose (see the package docstring).
    """
    import psutil

    victims = []
    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    me = os.getuid()
    for process in psutil.process_iter(["pid", "uids"]):
        try:
            if process.info["uids"] is None or process.info["uids"].real != me:
                continue
            if process.pid != os.getpid() and process.environ().get(RUN_TOKEN_ENV) == token:
                victims.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for process in victims:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=5)


def execute_notebook(
    nb,
    scratch,
    *,
    cell_timeout,
    total_timeout,
    memory_bytes,
    mpl_cache=None,
):
    """Execute ``nb`` with ``pytest --nbval-lax`` inside ``scratch`` and read the JUnit report.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook to run (already rebuilt by the grader).
    scratch : pathlib.Path
        An empty folder owned by this run.
    cell_timeout : float
        Seconds one cell may run before nbval interrupts it.
    total_timeout : float
        Seconds the whole run may take before its process tree is killed.
    memory_bytes : int or None
        The address-space limit of each process of the run.
    mpl_cache : pathlib.Path, optional
        A matplotlib cache folder shared by the batch (saves rebuilding the font cache).
    """
    scratch = Path(scratch)
    run_dir = scratch / "run"
    run_dir.mkdir(parents=True)
    notebook_path = run_dir / NOTEBOOK_NAME
    nbformat.write(nb, notebook_path)
    junit = scratch / "junit.xml"
    timings = scratch / "timings.json"
    config = scratch / "pytest.ini"
    # An empty config of our own: the course's pyproject addopts (--nbval, sanitizers,
    # testpaths) must not apply to a submission.
    config.write_text("[pytest]\n", encoding="utf-8")
    token = f"{os.getpid()}-{scratch.name}-{secrets.token_hex(8)}"
    extra = {TIMINGS_ENV: str(timings), RUN_TOKEN_ENV: token}
    if mpl_cache is not None:
        extra["MPLCONFIGDIR"] = str(mpl_cache)
    env = child_environment(scratch, extra=extra)
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(notebook_path),
        "-c",
        str(config),
        "--rootdir",
        str(run_dir),
        "-p",
        "no:cacheprovider",
        "-p",
        "course_grading_plugin",
        "-p",
        "nbval.plugin",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={cell_timeout:g}",
        "--nbval-kernel-startup-timeout=120",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
        "-q",
        "--color=no",
        "-W",
        "ignore",
    ]
    log_path = scratch / "pytest.log"
    result = RunResult()
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=run_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_limit_resources(memory_bytes),
            start_new_session=True,
        )
        try:
            result.returncode = process.wait(timeout=total_timeout)
        except subprocess.TimeoutExpired:
            result.killed = True
            result.timed_out = True
        finally:
            # Whatever is left (the kernel, a JVM, a student's background process).
            _kill_run(process.pid, token)
            process.wait()
    result.wall = time.perf_counter() - start
    result.log_tail = _tail(log_path)
    if junit.exists():
        try:
            result.cells = parse_junit(junit)
        except ET.ParseError:
            result.cells = {}
    if timings.exists():
        try:
            data = json.loads(timings.read_text(encoding="utf-8"))
            result.kernel_start = float(data.get("kernel_start", 0.0))
            result.execution = float(sum(data.get("cells", {}).values()))
        except (ValueError, TypeError):
            pass
    for outcome in result.cells.values():
        text = outcome.message
        if "Timeout of" in text and "exceeded" in text:
            result.timed_out = True
        if "KernelDied" in text or "Kernel dead on test start" in text or "kernel died" in text:
            result.kernel_died = True
    if not result.killed and not result.cells:
        # pytest ran but reported nothing: the kernel never came up, or pytest itself died.
        result.kernel_died = True
    return result


def _tail(path, limit=4000):
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - limit))
        return handle.read().decode("utf-8", "replace")


def parse_junit(path):
    """Return ``{cell number: CellOutcome}`` from nbval's JUnit report."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        match = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
        if not match:
            continue
        number = int(match.group(1))
        state, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                state = "failed"
                message = child.text or child.get("message") or ""
                break
            if child.tag == "skipped":
                state = "skipped"
                message = child.get("message") or ""
                break
        outcomes[number] = CellOutcome(state, _ANSI.sub("", message))
    return outcomes


def make_scratch_root():
    """A private folder for one batch's scratch folders (deleted by the caller)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="course-grading-"))


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
