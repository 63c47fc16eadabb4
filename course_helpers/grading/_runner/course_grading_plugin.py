"""The pytest plugin of the grader's runner: nbval runs a submission through it.

The runner is a pytest process outside the sandbox, where no student code ever
runs: it starts the submission's kernel through the kernel spec the grader wrote
(a sandbox around ``ipykernel``), sends it the cells with nbval, and reads the
kernel's messages. This plugin adds what grading needs and nbval 0.11 lacks:

* **A kernel reached through files, not the network.** With
  ``COURSE_GRADING_IPC_DIR`` set, the kernel's sockets are Unix sockets in that
  folder, the one folder the sandbox shares with the runner, so the sandbox can
  have no network at all.
* **A record of every cell**, written as JSON to ``COURSE_GRADING_RESULTS`` by
  this process alone: whether it ran, the execute reply's status (a kernel that
  hides its error messages still replies "error"), the error's name, whether it
  timed out or the kernel died, and the answer outputs (MIME type
  ``ANSWER_MIME``) that a check cell sent. The grader trusts nothing else.
* **A dead kernel is noticed at once**, not after the whole cell timeout.
* **Bounded outputs**: past ``OUTPUT_LIMIT`` bytes in one cell, output text is
  dropped, so a cell printing without end cannot exhaust the runner's memory.
* **A warm start.** With ``COURSE_GRADING_PRESTART`` set, the runner starts
  the kernel as soon as it is configured, then waits for one line on stdin
  (the grader writes the notebook, then says ``go``): the grader starts the
  next run while the current one executes, so Python, pytest and the kernel
  start no longer delay anyone.
* **No process outlives the run.** The runner is a child subreaper (Linux): a
  process the student detached (a new session, an empty environment, a double
  fork) is re-parented to the runner when the kernel ends, not to init, and the
  runner kills whatever is left before it exits. (In the bubblewrap sandbox the
  PID namespace already does this.)

It is a top-level module on purpose (``-p course_grading_plugin`` with this
folder on PYTHONPATH): importing ``course_helpers`` would import NumPy,
scikit-learn and matplotlib into every runner.
"""

import json
import os
import sys
import time
from queue import Empty

# jsonschema imports rfc3987_syntax (when installed) to check the "iri" format,
# which nbformat's schema never uses; that import alone takes about 2 s.
if __name__ == "course_grading_plugin":
    sys.modules.setdefault("rfc3987_syntax", None)

ANSWER_MIME = "application/vnd.course-helpers.answer+json"  # = checks.plain.ANSWER_MIME
IPC_DIR_ENV = "COURSE_GRADING_IPC_DIR"
RESULTS_ENV = "COURSE_GRADING_RESULTS"
SANDBOX_UID_ENV = "COURSE_GRADING_SANDBOX_UID"
PRESTART_ENV = "COURSE_GRADING_PRESTART"
OUTPUT_LIMIT = 64 * 2**20
#: Answers kept per cell: one is expected; more are counted, not kept.
ANSWERS_KEPT = 2

_record = {"kernel_start": 0.0, "cells": {}, "finished": False}


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running."""


def _patch_nbval():
    from jupyter_client.manager import KernelManager
    from nbval import kernel as nbval_kernel

    class SandboxKernelManager(KernelManager):
        """Unix sockets in the shared folder; the connection file readable by the sandbox."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            ipc_dir = os.environ.get(IPC_DIR_ENV)
            if ipc_dir:
                self.transport = "ipc"
                self.ip = os.path.join(ipc_dir, "kernel")
                self.connection_file = os.path.join(ipc_dir, "kernel.json")

        def write_connection_file(self, **kwargs):
            result = super().write_connection_file(**kwargs)
            uid = os.environ.get(SANDBOX_UID_ENV)
            if uid:  # the sandbox runs as another user: it must read its connection file
                os.chown(self.connection_file, int(uid), int(uid))
            return result

    nbval_kernel.KernelManager = SandboxKernelManager
    running_kernel = nbval_kernel.RunningKernel
    original_init = running_kernel.__init__
    original_get_message = running_kernel.get_message

    def timed_init(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            original_init(self, *args, **kwargs)
        finally:
            _record["kernel_start"] += time.perf_counter() - start

    def get_message(self, stream, timeout=None):
        if stream == "iopub":
            msg = original_get_message(self, stream, timeout=timeout)
            _bound_output(self, msg)
            return msg
        if timeout is None:
            return original_get_message(self, stream, timeout=timeout)
        # A whole cell's reply is awaited here: poll, so that a dead kernel shows at once.
        deadline = time.monotonic() + float(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Empty
            try:
                msg = original_get_message(self, stream, timeout=min(1.0, left))
            except Empty:
                if not self.is_alive():
                    raise KernelDied("the kernel died while this cell ran") from None
                continue
            content = msg.get("content", {})
            if msg.get("msg_type") == "execute_reply":
                self.last_reply = {
                    "msg_id": msg.get("parent_header", {}).get("msg_id"),
                    "status": str(content.get("status")),
                    "ename": str(content.get("ename", ""))[:200],
                    "evalue": str(content.get("evalue", ""))[:500],
                }
            return msg

    def execute_cell_input(self, cell_input, allow_stdin=None):
        self.last_reply = None
        self.output_bytes = 0
        msg_id = original_execute(self, cell_input, allow_stdin=allow_stdin)
        self.last_msg_id = msg_id
        return msg_id

    original_execute = running_kernel.execute_cell_input
    running_kernel.__init__ = timed_init
    running_kernel.get_message = get_message
    running_kernel.execute_cell_input = execute_cell_input


def _bound_output(kernel, msg):
    """Drop output text past OUTPUT_LIMIT bytes in one cell (the runner's memory is finite)."""
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        size = len(content.get("text", ""))
    elif msg.get("msg_type") in ("display_data", "execute_result"):
        size = sum(
            len(json.dumps(v)) if not isinstance(v, str) else len(v)
            for v in content.get("data", {}).values()
        )
    else:
        return
    kernel.output_bytes = getattr(kernel, "output_bytes", 0) + size
    if kernel.output_bytes > OUTPUT_LIMIT:
        if msg["msg_type"] == "stream":
            content["text"] = ""
        else:
            content["data"] = {"text/plain": ""}


def _become_subreaper():
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # not Linux: what a student detaches may outlive the run


def _kill_leftovers():
    """Kill the processes left under the runner once the kernel has been shut down."""
    import signal

    try:
        import psutil
    except ImportError:
        return
    me = psutil.Process()
    leftovers = me.children(recursive=True)
    for process in leftovers:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    psutil.wait_procs(leftovers, timeout=5)


if __name__ == "course_grading_plugin":
    _patch_nbval()
    _become_subreaper()


def _read_line(fd):
    """One line from a file descriptor (pytest's capture hides sys.stdin)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()


def pytest_configure(config):
    if not os.environ.get(PRESTART_ENV) or not config.option.nbval_kernel_name:
        return
    from nbval import kernel as nbval_kernel
    from nbval import plugin as nbval_plugin

    kernel = nbval_kernel.RunningKernel(
        config.option.nbval_kernel_name,
        cwd=os.getcwd(),
        startup_timeout=config.option.nbval_kernel_startup_timeout,
    )
    if _read_line(0) != "go":  # the grader went away: nothing to run
        kernel.stop()
        os._exit(0)
    waiting = [kernel]

    def prestarted(*args, **kwargs):
        return waiting.pop() if waiting else nbval_kernel.RunningKernel(*args, **kwargs)

    nbval_plugin.RunningKernel = prestarted


def pytest_runtest_setup(item):
    item._grading_start = time.perf_counter()
    parent = getattr(item, "parent", None)
    item._grading_timed_out_before = bool(getattr(parent, "timed_out", False))


def _answers(outputs):
    found = []
    for output in outputs or []:
        data = output.get("data") if isinstance(output, dict) else None
        if isinstance(data, dict) and ANSWER_MIME in data:
            found.append(data[ANSWER_MIME])
    return found


def _error_of(outputs):
    for output in outputs or []:
        if output.get("output_type") == "error":
            return f"{output.get('ename', '')}: {str(output.get('evalue', ''))[:300]}"
    return ""


def pytest_runtest_makereport(item, call):
    if call.when not in ("setup", "call"):
        return
    match = item.name.rsplit(" ", 1)
    if len(match) != 2 or not match[1].isdigit():
        return
    number = int(match[1])
    cell = _record["cells"].setdefault(
        number,
        {"ran": False, "reply": None, "error": "", "timed_out": False, "kernel_died": False},
    )
    if call.when == "setup":
        return
    kernel = getattr(getattr(item, "parent", None), "kernel", None)
    reply = getattr(kernel, "last_reply", None)
    if reply and reply.get("msg_id") == getattr(kernel, "last_msg_id", None):
        cell["ran"] = True
        cell["reply"] = reply["status"]
        if reply["status"] == "error":
            cell["error"] = f"{reply['ename']}: {reply['evalue']}"
    outputs = getattr(item, "test_outputs", None)
    cell["error"] = cell["error"] or _error_of(outputs)
    answers = _answers(outputs)
    cell["answers"] = answers[:ANSWERS_KEPT]
    cell["answer_count"] = len(answers)
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(KernelDied):
        cell["kernel_died"] = True
    elif excinfo is not None and "Kernel dead" in str(excinfo.value):
        cell["kernel_died"] = True
    timed_out_now = bool(getattr(item.parent, "timed_out", False))
    if timed_out_now and not item._grading_timed_out_before:
        cell["timed_out"] = True
    cell["seconds"] = time.perf_counter() - item._grading_start
    # The outputs are recorded; free them (a run may print a lot in many cells).
    if outputs is not None:
        item.test_outputs = None


def pytest_sessionfinish(session):
    _kill_leftovers()
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    _record["finished"] = True
    _record["cells"] = {str(k): v for k, v in sorted(_record["cells"].items())}
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(_record, handle)
    os.replace(temporary, path)
