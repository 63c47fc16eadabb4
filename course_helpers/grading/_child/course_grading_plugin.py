"""A pytest plugin loaded next to nbval in the grading child process.

It does two things nbval 0.11 does not:

* **Notice a dead kernel at once.** nbval waits for a cell's reply for the
  whole cell timeout even when the kernel process has already exited (a
  student's ``os._exit(0)``), so one such cell would cost the full timeout.
  Here the wait polls once a second and fails the cell with
  :class:`KernelDied` as soon as the kernel process is gone.
* **Time the run.** It writes ``timings.json`` (kernel start, each cell's
  execution) next to the JUnit report, for the grader's ``seconds`` column
  and the benchmark's breakdown.

It is given to pytest as ``-p course_grading_plugin``, with this folder on
the child's PYTHONPATH, before ``-p nbval.plugin``. It is a top-level module
on purpose: importing it through ``course_helpers`` would import the whole
package (scikit-learn, matplotlib) into the pytest process of every
submission. It patches nbval's ``RunningKernel`` only inside that child
process; if nbval's internals ever change, the patch is skipped and grading
still works, only slower on a dead kernel.
"""

import json
import os
import sys
import time
from queue import Empty

# jsonschema imports rfc3987_syntax (when installed) to check the "iri" format,
# which nbformat's schema never uses; that import alone takes about 2 s, paid by
# every submission's pytest process. Make it fail fast: jsonschema skips it then.
# Only in the grading child (where this file is the top-level module), never in
# a process that merely imports the grader.
if __name__ == "course_grading_plugin":
    sys.modules.setdefault("rfc3987_syntax", None)

TIMINGS_ENV = "COURSE_GRADING_TIMINGS"

_timings = {"kernel_start": 0.0, "cells": {}}


class KernelDied(RuntimeError):
    """The kernel process exited while a cell was running."""


def _patch_nbval():
    try:
        from nbval import kernel as nbval_kernel
    except ImportError:
        return
    running_kernel = getattr(nbval_kernel, "RunningKernel", None)
    if running_kernel is None or not hasattr(running_kernel, "get_message"):
        return

    original_init = running_kernel.__init__
    original_get_message = running_kernel.get_message

    def timed_init(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            original_init(self, *args, **kwargs)
        finally:
            _timings["kernel_start"] += time.perf_counter() - start

    def get_message(self, stream, timeout=None):
        # Only the shell reply is awaited for a whole cell; iopub waits are short.
        if stream != "shell" or timeout is None:
            return original_get_message(self, stream, timeout=timeout)
        deadline = time.monotonic() + float(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Empty
            try:
                return original_get_message(self, stream, timeout=min(1.0, left))
            except Empty:
                if not self.is_alive():
                    raise KernelDied(
                        "the kernel died while this cell ran (os._exit, a crash, "
                        "or the memory limit)"
                    ) from None

    running_kernel.__init__ = timed_init
    running_kernel.get_message = get_message


if __name__ == "course_grading_plugin":
    _patch_nbval()


def pytest_runtest_call(item):
    item._grading_call_start = time.perf_counter()


def pytest_runtest_teardown(item):
    start = getattr(item, "_grading_call_start", None)
    if start is not None:
        _timings["cells"][item.name] = time.perf_counter() - start


def pytest_sessionfinish(session):
    path = os.environ.get(TIMINGS_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_timings, handle)
