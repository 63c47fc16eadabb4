"""Which interpreter the notebooks' ``python3`` kernel runs, as the course's JupyterLab sees it.

``python -m course_helpers.lab`` starts JupyterLab with :data:`JUPYTER_ENVIRONMENT`
and installs this environment's kernel when :func:`kernel_runs_this_environment`
says the one found runs another Python; ``python -m course_helpers.doctor``
reports the same finding as its *Jupyter kernel* line.
"""

import json
import os
import shutil
import subprocess
import sys

#: What ``python -m course_helpers.lab`` adds to JupyterLab's environment. With it, a
#: kernel spec inside the virtual environment wins over a user-level one (for instance
#: ``~/.local/share/jupyter/kernels/python3`` left by another Python), so the notebooks'
#: ``python3`` kernel is the environment the README installed.
JUPYTER_ENVIRONMENT = {"JUPYTER_PREFER_ENV_PATH": "1"}

#: jupyter_client replaces these kernel commands by the server's own interpreter.
_SERVER_PYTHON_NAMES = {
    "python",
    f"python{sys.version_info[0]}",
    f"python{sys.version_info[0]}.{sys.version_info[1]}",
}

_FIND_SPEC = """
import json, sys
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
try:
    spec = KernelSpecManager().get_kernel_spec(sys.argv[1])
except NoSuchKernel:
    print(json.dumps(None))
else:
    print(json.dumps({"resource_dir": spec.resource_dir, "argv": spec.argv}))
"""


def kernel_interpreter(kernel_name="python3"):
    """Find the interpreter behind a kernel, as JupyterLab started by the course would.

    The kernel spec is looked up the way ``python -m course_helpers.lab``
    starts JupyterLab: with this interpreter and :data:`JUPYTER_ENVIRONMENT`.

    Parameters
    ----------
    kernel_name : str, default="python3"
        The kernel the notebooks ask for.

    Returns
    -------
    found : dict or None
        None when no such kernel exists. Otherwise ``resource_dir`` (the
        kernel spec's folder), ``interpreter`` (the program it starts) and
        ``prefix`` (that interpreter's ``sys.prefix``, None if it does not run).
    """
    env = {**os.environ, **JUPYTER_ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-c", _FIND_SPEC, kernel_name],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"could not look up the Jupyter kernel {kernel_name!r}: "
            + (result.stderr.strip().splitlines() or ["no output"])[-1]
        )
    spec = json.loads(result.stdout.strip().splitlines()[-1])
    if spec is None:
        return None
    program = spec["argv"][0] if spec["argv"] else ""
    if program in _SERVER_PYTHON_NAMES:
        interpreter = sys.executable
    else:
        interpreter = shutil.which(program) or program
    try:
        ran = subprocess.run(
            [interpreter, "-c", "import sys; print(sys.prefix)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        prefix = ran.stdout.strip() if ran.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        prefix = None
    return {"resource_dir": spec["resource_dir"], "interpreter": interpreter, "prefix": prefix}


def kernel_runs_this_environment(found):
    """Return True when the kernel found by :func:`kernel_interpreter` runs ``sys.prefix``."""
    return (
        found is not None
        and found["prefix"] is not None
        and os.path.realpath(found["prefix"]) == os.path.realpath(sys.prefix)
    )
