"""Step 4: execute one rebuilt notebook, its kernel shut in a sandbox.

Two processes take part, and only one of them ever runs student code:

* the **runner**, ``pytest`` with nbval and the grader's plugin
  (``_runner/course_grading_plugin.py``), outside the sandbox. It sends the
  cells, reads the kernel's messages and writes a record of every cell (the
  execute reply's status, errors, timeouts, the answers the check cells sent)
  into a folder the sandbox cannot see;
* the **kernel**, started by the runner from a kernel spec this module writes,
  inside the sandbox. The two talk over Unix sockets in the one folder they
  share.

Isolation levels (``--isolation``):

``bwrap`` (Linux, bubblewrap)
    The kernel and everything it starts get a private mount namespace that
    shows, read-only, only the system folders (``/usr``, ``/etc``, ...), the
    Python installation, the course package and its bundled data, and Java;
    a private ``/tmp`` (size-limited tmpfs) that is also the working folder and
    HOME; no network (a namespace with only its own loopback); their own PID
    namespace (they cannot see or signal the grader, and all of them die with
    the run); and, when the grader runs as root, a real unprivileged user
    (``nobody``). The solutions, the submissions, the gradebook, the other runs
    and the instructor's home are not there at all.
``process``
    The kernel runs as the grader's user, in its own scratch folder, with an
    allow-listed environment and the same limits. It guards against accidents
    (endless loops, huge outputs, stray files, leftover processes), not against
    a student who attacks the grader: their code can read and write whatever
    the grader's user can. Points still come only from the grader's own
    judgement of the answers (step 5), but a determined student could reach
    the gradebook. Use it only where bubblewrap cannot run.
``auto``
    ``bwrap`` when it works here, else ``process`` with a warning.

Both levels set, per process of the run, a memory limit (address space), a
file-size limit, one BLAS/OpenMP thread (so ``-j`` never changes a result), a
per-cell timeout and a wall-clock limit for the whole run.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._course import reproducible_environment
from ..checks import GRADING_MODE_ENV
from ._runner import course_grading_plugin as plugin

ISOLATIONS = ("auto", "bwrap", "process")
RUNNER_DIR = Path(__file__).resolve().parent / "_runner"
KERNEL_NAME = "course-sandbox"
#: The user a sandbox runs as when the grader is root (``nobody`` on Debian, Fedora, macOS).
SANDBOX_UID = 65534
#: The runner reads messages and keeps outputs of one cell at a time; it needs little. A
#: soft limit: the kernel it starts sets its own (which may be higher).
RUNNER_MEMORY = 3 * 2**30
#: Variables that pin thread pools to one thread per kernel.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: The longest socket path the kernel's folder may give (Linux allows 107 bytes, macOS 103).
_SOCKET_PATH_LIMIT = 100

#: Passed on from the grader's environment to the runner and the kernel, when set.
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "JAVA_HOME", "SYSTEMROOT")


class SandboxUnavailable(RuntimeError):
    """``--isolation bwrap`` was asked for, and bubblewrap cannot run here."""


@dataclass(frozen=True)
class Limits:
    """What one run may use.

    Parameters
    ----------
    cell_timeout : float
        Seconds one cell may run before it is interrupted.
    total_timeout : float
        Seconds the whole run may take before everything is killed.
    memory_bytes : int or None
        Address-space limit of each process of the run.
    disk_bytes : int
        The size of the sandbox's writable ``/tmp``, and the largest file any
        process of the run may write.
    """

    cell_timeout: float = 300.0
    total_timeout: float = 1200.0
    memory_bytes: int | None = 4 * 2**30
    disk_bytes: int = 2**30


@dataclass
class CellRecord:
    """What the runner saw of one code cell."""

    ran: bool = False
    reply: str | None = None  # the execute reply's status: "ok", "error", "aborted"
    error: str = ""
    timed_out: bool = False
    kernel_died: bool = False
    answers: list = field(default_factory=list)
    answer_count: int = 0
    seconds: float = 0.0

    @property
    def succeeded(self):
        """The cell ran and its execute reply said ``ok`` (a hidden error still says ``error``)."""
        return self.ran and self.reply == "ok" and not self.error


@dataclass
class RunResult:
    """What came back from one run."""

    isolation: str
    cells: list = field(default_factory=list)  # CellRecord per code cell, or None if absent
    finished: bool = False  # the runner wrote its record
    killed: bool = False  # the whole run hit the wall-clock limit
    returncode: int | None = None
    log_tail: str = ""
    kernel_start: float = 0.0
    wall: float = 0.0

    @property
    def execution(self):
        """Seconds spent executing cells."""
        return sum(cell.seconds for cell in self.cells if cell is not None)

    @property
    def timed_out(self):
        return self.killed or any(cell is not None and cell.timed_out for cell in self.cells)

    @property
    def kernel_died(self):
        return any(cell is not None and cell.kernel_died for cell in self.cells)


# --- choosing the isolation ------------------------------------------------------------


_probe_cache = {}


def bwrap_problem():
    """Why bubblewrap cannot run a sandbox here, or None when it can."""
    if "result" not in _probe_cache:
        _probe_cache["result"] = _probe_bwrap()
    return _probe_cache["result"]


def _probe_bwrap():
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    layout = SandboxLayout.for_this_python()
    command = [*layout.bwrap_arguments(env={"PATH": "/usr/bin:/bin"}), sys.executable, "-c", "0"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not start: {exc}"
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bwrap failed: {message[-1] if message else done.returncode}"
    return None


def choose_isolation(requested="auto"):
    """Return ``(isolation, warning)`` for ``--isolation requested``.

    Raises
    ------
    SandboxUnavailable
        When ``bwrap`` is asked for and cannot run here.
    ValueError
        When ``requested`` is not one of :data:`ISOLATIONS`.
    """
    if requested not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {requested!r}")
    if requested == "process":
        return "process", None
    problem = bwrap_problem()
    if problem is None:
        return "bwrap", None
    if requested == "bwrap":
        raise SandboxUnavailable(f"--isolation bwrap: {problem}")
    return "process", (
        f"warning: grading with process isolation only ({problem}). Student code runs as your "
        "user and could read or change your files; see --isolation in the README."
    )


# --- the sandbox's view of the file system -----------------------------------------------


def _course_paths():
    """The course package's folder, and its bundled data beside it in a checkout."""
    package = Path(__file__).resolve().parents[1]
    paths = [package]
    data = package.parent / "data"
    if data.is_dir() and (package.parent / "pyproject.toml").exists():
        paths.append(data)
    return paths


@dataclass
class SandboxLayout:
    """The read-only folders a sandbox shows, and the folders it hides even inside them."""

    read_only: list
    hidden: list = field(default_factory=list)

    @classmethod
    def for_this_python(cls, *, hidden=()):
        """What a kernel of this interpreter needs: Python, the course package, Java."""
        read_only = [Path(sys.base_prefix), Path(sys.prefix), *_course_paths()]
        java_home = os.environ.get("JAVA_HOME")
        if java_home and Path(java_home).is_dir():
            read_only.append(Path(java_home))
        return cls(read_only=read_only, hidden=[Path(p) for p in hidden])

    def bwrap_arguments(self, *, env, binds=(), cwd="/tmp", tmp_bytes=2**30):
        """The ``bwrap ... --`` prefix of a sandboxed command.

        Parameters
        ----------
        env : dict
            The command's whole environment (nothing else is passed in).
        binds : sequence of (host path, sandbox path)
            Writable folders shared with the grader.
        """
        arguments = [
            "bwrap",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ]
        made = set()

        def make_parents(target):
            for parent in reversed(Path(target).parents):
                if str(parent) != "/" and parent not in made:
                    arguments.extend(["--perms", "0755", "--dir", str(parent)])
                    made.add(parent)

        for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            path = Path(top)
            if path.is_symlink():
                arguments.extend(["--symlink", os.readlink(path), top])
            elif path.is_dir():
                arguments.extend(["--ro-bind", top, top])
        # /tmp first: a checkout or a virtual environment under /tmp is then bound on top of
        # the empty /tmp, not hidden by it.
        arguments.extend(["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"])
        made.add(Path("/tmp"))
        system = [Path(p) for p in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64")]
        for path in _outermost(self.read_only):
            if any(path == s or s in path.parents for s in system):
                continue
            make_parents(path)
            arguments.extend(["--ro-bind", str(path), str(path)])
            made.add(path)
        arguments.extend(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm"])
        for host, inside in binds:
            make_parents(inside)
            arguments.extend(["--bind", str(host), str(inside)])
            made.add(Path(inside))
        for path in self.hidden:
            if any(path == r or r in path.parents for r in self.read_only):
                arguments.extend(["--tmpfs", str(path)])
        for key, value in env.items():
            arguments.extend(["--setenv", key, str(value)])
        arguments.extend(["--chdir", cwd])
        if os.geteuid() == 0:
            # bwrap set up the mounts as root; the kernel runs as a real unprivileged
            # user, so file permissions protect even what a mount shows.
            setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
            arguments.extend(
                [
                    "--",
                    setpriv,
                    f"--reuid={SANDBOX_UID}",
                    f"--regid={SANDBOX_UID}",
                    "--clear-groups",
                ]
            )
        arguments.append("--")
        return arguments


def _outermost(paths):
    """``paths`` without those inside another one (a bind of the outer shows the inner)."""
    resolved = sorted({Path(p) for p in paths}, key=lambda p: len(p.parts))
    kept = []
    for path in resolved:
        if not any(k == path or k in path.parents for k in kept):
            kept.append(path)
    return kept


# --- one run -----------------------------------------------------------------------------


def kernel_environment(*, home, tmp, mode, mpl_config):
    """The kernel's whole environment: nothing of the grader's but the allow-listed few."""
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        HOME=str(home),
        TMPDIR=str(tmp),
        # Spark's shuffle and block files, and Python's, stay in the run's own space.
        SPARK_LOCAL_DIRS=str(tmp),
        SPARK_LOCAL_IP="127.0.0.1",
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="agg",
        MPLCONFIGDIR=str(mpl_config),
        **{GRADING_MODE_ENV: mode},
        **dict.fromkeys(THREAD_ENV, "1"),
        **reproducible_environment(),
    )
    return env


def _runner_environment(runner_dir, ipc_dir, results):
    env = {key: os.environ[key] for key in ("PATH", *PASSED_ENV) if key in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(runner_dir / "home"),
        PYTHONPATH=str(RUNNER_DIR),
        PYTHONDONTWRITEBYTECODE="1",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        JUPYTER_PATH=str(runner_dir / "jupyter"),
        JUPYTER_CONFIG_DIR=str(runner_dir / "jupyter-config"),
        JUPYTER_DATA_DIR=str(runner_dir / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(ipc_dir),
        JUPYTER_PLATFORM_DIRS="1",
        **{
            plugin.IPC_DIR_ENV: str(ipc_dir),
            plugin.RESULTS_ENV: str(results),
        },
    )
    if os.geteuid() == 0:
        env[plugin.SANDBOX_UID_ENV] = str(SANDBOX_UID)
    return env


def _own(path):
    """Hand a shared folder to the sandbox's user (when the grader is root)."""
    if os.geteuid() == 0:
        for folder, _, files in os.walk(path):
            os.chown(folder, SANDBOX_UID, SANDBOX_UID)
            for name in files:
                os.chown(Path(folder) / name, SANDBOX_UID, SANDBOX_UID)


class SandboxRun:
    """One run, started before its notebook is known: the runner and its kernel warm up.

    The scratch folder, the kernel spec and the runner are made at once; the runner
    starts its sandboxed kernel and waits. :meth:`execute` then hands it the
    notebook. A grader that starts the next run while the current one executes
    hides Python's, pytest's and the kernel's start-up behind useful work.

    Parameters
    ----------
    scratch : pathlib.Path
        A folder owned by this run (created; the caller removes it).
    isolation : {"bwrap", "process"}
        From :func:`choose_isolation`.
    mode : {"answer", "reference"}
        ``COURSE_GRADING_MODE`` in the kernel: a submission, or the grader's own
        run of the solution.
    limits : Limits, optional
    mpl_cache : pathlib.Path, optional
        A warm matplotlib cache folder, copied into the run (saves a font scan).
    hidden : sequence of path-like
        Folders never to show the sandbox even inside a folder it sees (the
        solutions, submissions and gradebook, for an unusual layout).
    """

    def __init__(
        self, scratch, *, isolation, mode="answer", limits=None, mpl_cache=None, hidden=()
    ):
        if isolation not in ("bwrap", "process"):
            raise ValueError(f"isolation must be 'bwrap' or 'process', got {isolation!r}")
        if mode not in ("answer", "reference"):
            raise ValueError(f"mode must be 'answer' or 'reference', got {mode!r}")
        self.isolation = isolation
        self.limits = limits or Limits()
        scratch = Path(scratch)
        self.runner_dir = scratch / "runner"
        ipc_dir, self._own_ipc_dir = _ipc_folder(scratch)
        kernels = self.runner_dir / "jupyter" / "kernels" / KERNEL_NAME
        for folder in (self.runner_dir / "home", kernels, ipc_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._ipc_dir = ipc_dir
        os.chmod(ipc_dir, 0o700)
        self.notebook_path = self.runner_dir / "submission.ipynb"
        self.results = self.runner_dir / "results.json"
        (self.runner_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        mpl = scratch / "mpl"
        if mpl_cache is not None and Path(mpl_cache).is_dir():
            shutil.copytree(mpl_cache, mpl)
        else:
            mpl.mkdir()
        spec = {
            "argv": self._kernel_argv(scratch, ipc_dir, mpl, mode, hidden),
            "display_name": "course sandbox",
            "language": "python",
            "interrupt_mode": "message",
        }
        (kernels / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        command = [
            sys.executable, str(RUNNER_DIR / "limits.py"),
            f"--soft-address-space={RUNNER_MEMORY}", "--",
            sys.executable, "-m", "pytest", str(self.notebook_path),
            "-c", str(self.runner_dir / "pytest.ini"), "--rootdir", str(self.runner_dir),
            "-p", "no:cacheprovider", "-p", "course_grading_plugin", "-p", "nbval.plugin",
            "--nbval-lax", f"--nbval-kernel-name={KERNEL_NAME}",
            f"--nbval-cell-timeout={self.limits.cell_timeout:g}",
            "--nbval-kernel-startup-timeout=120", "-q", "-s", "--color=no", "-W", "ignore",
        ]  # fmt: skip
        env = _runner_environment(self.runner_dir, ipc_dir, self.results)
        env[plugin.PRESTART_ENV] = "1"
        self.log_path = self.runner_dir / "pytest.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.runner_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _kernel_argv(self, scratch, ipc_dir, mpl, mode, hidden):
        limits = self.limits
        limited = [
            sys.executable,
            str(RUNNER_DIR / "limits.py"),
            f"--file-size={limits.disk_bytes}",
        ]
        if limits.memory_bytes:
            limited.append(f"--address-space={limits.memory_bytes}")
        if self.isolation == "bwrap":
            env = kernel_environment(home="/tmp/home", tmp="/tmp", mode=mode, mpl_config="/tmp/mpl")
            layout = SandboxLayout.for_this_python(hidden=hidden)
            argv = [
                *limited,
                "--",
                *layout.bwrap_arguments(
                    env=env,
                    binds=[(ipc_dir, ipc_dir), (mpl, "/tmp/mpl")],
                    cwd="/tmp",
                    tmp_bytes=limits.disk_bytes,
                ),
            ]
            _own(ipc_dir)
            _own(mpl)
        else:
            run_dir, home = scratch / "run", scratch / "home"
            for folder in (run_dir, home / "tmp"):
                folder.mkdir(parents=True)
            env = kernel_environment(home=home, tmp=home / "tmp", mode=mode, mpl_config=mpl)
            env_file = self.runner_dir / "kernel-env.json"
            env_file.write_text(json.dumps(env), encoding="utf-8")
            argv = [*limited, f"--chdir={run_dir}", f"--env-file={env_file}", "--"]
        return [
            *argv,
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--HistoryManager.enabled=False",
        ]

    def execute(self, nb):
        """Run ``nb`` (the rebuilt notebook) and return the runner's record of it.

        Returns
        -------
        RunResult
        """
        import nbformat

        nbformat.write(nb, self.notebook_path)
        result = RunResult(isolation=self.isolation)
        start = time.perf_counter()
        try:
            self.process.stdin.write(b"go\n")
            self.process.stdin.close()
        except OSError:
            pass  # the runner is gone already: its log says why
        try:
            result.returncode = self.process.wait(timeout=self.limits.total_timeout)
        except subprocess.TimeoutExpired:
            result.killed = True
        finally:
            self.close()
        result.wall = time.perf_counter() - start
        result.log_tail = _tail(self.log_path)
        n_cells = sum(1 for cell in nb.cells if cell.cell_type == "code")
        _read_record(self.results, result, n_cells=n_cells)
        return result

    def close(self):
        """Kill whatever is left of the run: the runner, and with it the sandbox."""
        _kill_tree(self.process.pid)
        self.process.wait()
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        if self._own_ipc_dir:
            remove_tree(self._ipc_dir)


def _ipc_folder(scratch):
    """The kernel's socket folder, and whether it is outside ``scratch`` (ours to remove).

    A Unix socket's path holds at most 107 bytes (103 on macOS): a deep output folder
    (``/home/.../grades/.scratch/00012-answer/ipc/kernel-4``) would stop every kernel
    from starting. Such paths get a short private folder under the system's temp instead.
    """
    ipc_dir = Path(scratch) / "ipc"
    if len(os.fsencode(ipc_dir / "kernel-99")) <= _SOCKET_PATH_LIMIT:
        return ipc_dir, False
    return Path(tempfile.mkdtemp(prefix="course-ipc-")), True


def run_notebook(nb, scratch, **options):
    """Execute ``nb`` in a new :class:`SandboxRun` (same options); return its RunResult."""
    return SandboxRun(scratch, **options).execute(nb)


def _read_record(path, result, *, n_cells):
    result.cells = [None] * n_cells
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    result.finished = bool(record.get("finished"))
    result.kernel_start = float(record.get("kernel_start") or 0.0)
    for key, cell in (record.get("cells") or {}).items():
        number = int(key)
        if 0 <= number < n_cells and isinstance(cell, dict):
            result.cells[number] = CellRecord(
                ran=bool(cell.get("ran")),
                reply=cell.get("reply"),
                error=str(cell.get("error") or ""),
                timed_out=bool(cell.get("timed_out")),
                kernel_died=bool(cell.get("kernel_died")),
                answers=list(cell.get("answers") or []),
                answer_count=int(cell.get("answer_count") or 0),
                seconds=float(cell.get("seconds") or 0.0),
            )


def _kill_tree(pid):
    """Kill the runner and every process under it.

    In bwrap isolation this ends the sandbox, and the kernel then kills everything
    in its PID namespace, however the student's processes detached themselves. In
    process isolation the runner is a child subreaper, so detached processes are
    still under it (see the plugin's docstring).
    """
    import psutil

    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in victims:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=5)


def _tail(path, limit=4000):
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - limit))
        return handle.read().decode("utf-8", "replace")


def remove_tree(path):
    """Remove a scratch folder, whoever owns what the run left in it."""
    shutil.rmtree(path, ignore_errors=True)
