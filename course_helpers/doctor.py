"""Check that this machine can run the course: ``python -m course_helpers.doctor``.

It prints one line per requirement, ``[ OK ]`` or ``[FAIL]`` followed by the fix,
and exits with status 1 when anything failed. It changes nothing and never starts
Spark, so a missing Java is reported as a sentence, not as a Py4J traceback.

Example output::

    [ OK ] Python: 3.11.7 at /home/me/course/.venv/bin/python
    [FAIL] Java: no java on PATH; Spark needs Java 17 or newer (notebooks 01-02).
           Fix: Install it with: sudo apt-get install openjdk-17-jdk-headless ...
"""

import argparse
import importlib.metadata
import shlex
import sys
from dataclasses import dataclass

from . import kernels
from .setup import installed_version, java

#: The distribution whose version ranges the checks read (pyproject.toml's, once installed).
COURSE_DISTRIBUTION = "course-helpers"

SPARK_NOTEBOOKS = "notebooks 01-02"
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes
    ----------
    name : str
        What was checked ("Java", "scikit-learn", ...).
    ok : bool
        Whether the requirement is met.
    detail : str
        What was found.
    fix : str
        What to do about it (empty when ``ok``).
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def __str__(self):
        if self.ok:
            return f"[ OK ] {self.name}: {self.detail}"
        return f"[FAIL] {self.name}: {self.detail}\n       Fix: {self.fix}"


def _pip_install(requirement):
    return f"{shlex.quote(sys.executable)} -m pip install {shlex.quote(str(requirement))}"


def check_python():
    """Python 3.11 or newer."""
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    wanted = ".".join(map(str, MIN_PYTHON))
    return CheckResult(
        "Python",
        ok,
        f"{version} at {sys.executable}" + ("" if ok else f"; the course needs {wanted}+"),
        "" if ok else f"install Python {wanted} or newer and create the .venv with it",
    )


def check_java():
    """The Java Spark would start is 17 or newer."""
    problem = java.java_problem()
    if problem is not None:
        return CheckResult(
            "Java", False, f"{problem} ({SPARK_NOTEBOOKS})", java.java_install_hint()
        )
    return CheckResult("Java", True, f"Java {java.java_major_version()} at {java.find_java()}")


def requirement_of(distribution, *, package=COURSE_DISTRIBUTION):
    """Return the :class:`packaging.requirements.Requirement` ``package`` has on ``distribution``.

    Returns None when it has none, or when ``package`` is not installed as a
    distribution (a folder on ``sys.path``). Requirements of extras count too:
    the doctor checks JupyterLab's range as well as NumPy's.
    """
    from packaging.requirements import Requirement

    try:
        texts = importlib.metadata.requires(package) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for text in texts:
        requirement = Requirement(text)
        if requirement.name.lower() == distribution.lower():
            return requirement
    return None


def check_package(distribution, *, needed_by):
    """``distribution`` is installed in a version the course accepts (pyproject.toml's range).

    Parameters
    ----------
    distribution : str
        The name pip knows it by, e.g. ``"scikit-learn"``.
    needed_by : str
        Which notebooks need it, for the failure message.
    """
    requirement = requirement_of(distribution)
    wanted = requirement if requirement is not None else distribution
    version = installed_version(distribution)
    if version is None:
        return CheckResult(
            distribution, False, f"not installed ({needed_by} need it)", _pip_install(wanted)
        )
    if requirement is not None and not requirement.specifier.contains(version, prereleases=True):
        return CheckResult(
            distribution,
            False,
            f"{version} is installed, the course needs {requirement.specifier} ({needed_by})",
            _pip_install(wanted),
        )
    return CheckResult(distribution, True, version)


def check_kernel():
    """The ``python3`` kernel JupyterLab would start runs this very interpreter."""
    fix = (
        'install JupyterLab and a kernel with `pip install -e ".[lab]"`, then '
        "start JupyterLab with `python -m course_helpers.lab` (it installs this environment's "
        f"kernel), or run: {shlex.quote(sys.executable)} -m ipykernel install --sys-prefix; "
        "if JUPYTER_PATH is set, unset it"
    )
    try:
        found = kernels.kernel_interpreter("python3")
    except (RuntimeError, OSError, ValueError) as exc:
        return CheckResult("Jupyter kernel", False, str(exc), fix)
    if found is None:
        return CheckResult(
            "Jupyter kernel", False, "no 'python3' kernel: ipykernel is missing", fix
        )
    if kernels.kernel_runs_this_environment(found):
        return CheckResult(
            "Jupyter kernel", True, f"python3 runs this environment ({found['interpreter']})"
        )
    runs = found["prefix"] or "an interpreter that does not start"
    return CheckResult(
        "Jupyter kernel",
        False,
        f"python3 (from {found['resource_dir']}) runs {found['interpreter']} in {runs}, "
        f"not this environment ({sys.prefix})",
        fix,
    )


def check_data():
    """The bundled market data of the Spark notebooks is where the package expects it."""
    from .market_data import bundled_data_path

    try:
        path = bundled_data_path()
    except FileNotFoundError:
        return CheckResult(
            "bundled data",
            False,
            f"the market data set was not found ({SPARK_NOTEBOOKS} need it)",
            "reinstall the course (`pip install -e .` in the course folder) or set DATA_PATH "
            "to a candle CSV",
        )
    return CheckResult("bundled data", True, str(path))


def run_checks():
    """Run every check, in the order they are printed.

    Returns
    -------
    results : list of CheckResult
    """
    return [
        check_python(),
        check_java(),
        check_package("pyspark", needed_by=SPARK_NOTEBOOKS),
        check_package("scikit-learn", needed_by="all notebooks"),
        check_package("matplotlib", needed_by="the notebooks' plots"),
        check_package("seaborn", needed_by="the notebooks' plots"),
        check_package("openTSNE", needed_by="notebook 05"),
        check_kernel(),
        check_data(),
    ]


def report(results, *, out=None):
    """Print ``results`` one line each, then a one-line summary; return the failures."""
    out = out or sys.stdout
    for result in results:
        print(result, file=out)
    failed = [r for r in results if not r.ok]
    if failed:
        names = ", ".join(r.name for r in failed)
        print(f"{len(failed)} problem(s): {names}. See the Fix lines above.", file=out)
    else:
        print("Everything the course needs is here.", file=out)
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_helpers.doctor",
        description="Check that this machine can run the course; exit 1 if something fails.",
    )
    parser.parse_args(argv)
    return 1 if report(run_checks()) else 0


if __name__ == "__main__":
    sys.exit(main())
