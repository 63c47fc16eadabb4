"""Open the course in JupyterLab, with this environment as the kernel.

Usage (the README's run command ends with it)::

    python -m course_helpers.lab [JUPYTER LAB OPTIONS...]

It prints the doctor's report (a failed line does not stop it: without Java,
notebooks 03-05 still run), then starts JupyterLab on the course's
``notebooks/`` folder with *this* interpreter. Options are passed on to
``jupyter lab``, e.g. ``--no-browser --port 8899``.

Why the kernel is this environment's: the notebooks ask for the kernel named
``python3``. A machine that once ran ``ipykernel install --user`` with another
Python has a ``python3`` kernel spec in ``~/.local/share/jupyter`` that would
win, and the notebooks would run in an interpreter without the course. JupyterLab
is therefore started with ``JUPYTER_PREFER_ENV_PATH=1`` (the environment's
kernel specs come before the user's), and a ``python3`` kernel spec is
installed into the environment (``ipykernel install --sys-prefix``) when the
one found does not run this interpreter.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from . import doctor, kernels


def course_folder():
    """Return the folder holding the student notebooks, or None.

    It is ``notebooks/`` next to the package in a checkout (the README installs
    it with ``pip install -e .``), else ``notebooks/`` in the current folder.
    """
    package = Path(__file__).resolve().parent
    for folder in (package.parent / "notebooks", Path.cwd() / "notebooks"):
        if folder.is_dir():
            return folder
    return None


def ensure_kernel(*, out=None):
    """Make the ``python3`` kernel that JupyterLab will start run this interpreter.

    Returns
    -------
    ok : bool
        Whether it does now.
    """
    out = out or sys.stdout
    try:
        if kernels.kernel_runs_this_environment(kernels.kernel_interpreter("python3")):
            return True
        from ipykernel.kernelspec import install

        where = install(kernel_name="python3", prefix=sys.prefix)
        print(f"Installed this environment's python3 kernel in {where}", file=out)
        return kernels.kernel_runs_this_environment(kernels.kernel_interpreter("python3"))
    except (ImportError, OSError, RuntimeError) as exc:
        # The doctor's report below says what is wrong and how to fix it.
        print(f"Could not set up the python3 kernel: {exc}", file=out)
        return False


def lab_command(folder, extra_args=()):
    """Return the command that starts JupyterLab on ``folder`` with this interpreter.

    As root (a container, a cloud machine) JupyterLab refuses to start unless
    told ``--allow-root``; the README's command should work there too, so it is
    added, with a note.
    """
    extra_args = list(extra_args)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra_args:
        print("Running as root: starting JupyterLab with --allow-root")
        extra_args.append("--allow-root")
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", *extra_args]


def main(argv=None):
    extra_args = list(sys.argv[1:] if argv is None else argv)
    folder = course_folder()
    if folder is None:
        print(
            "error: no notebooks/ folder found next to course_helpers or in the current folder; "
            "run this from the course folder (where README.md is)",
            file=sys.stderr,
        )
        return 2
    if importlib.util.find_spec("jupyterlab") is None:
        # The course itself installs without it (Colab has its own); the lab extra adds it.
        print(
            "error: JupyterLab is not installed in this environment; run: "
            f'{sys.executable} -m pip install -e ".[lab]" (in the course folder)',
            file=sys.stderr,
        )
        return 2
    ensure_kernel()
    failed = doctor.report(doctor.run_checks())
    if failed:
        print(
            "Starting JupyterLab anyway: the notebooks that need what failed will stop with "
            "the same message; the others run."
        )
    command = lab_command(folder, extra_args)
    env = {**os.environ, **kernels.JUPYTER_ENVIRONMENT}
    print(f"Starting JupyterLab on {folder} with {sys.executable} (stop it with Ctrl+C)")
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        # Replace this process, so Ctrl+C and signals reach JupyterLab directly.
        os.execve(sys.executable, command, env)
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
