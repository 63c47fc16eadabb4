"""What a notebook needs from the machine before its first import of the course.

Two modules and two small functions, standard library only: on Colab they run right after the setup
cell's ``pip install``, and a Java problem must be a sentence, not a Py4J
traceback.

colab
    The setup cell's :func:`~course_helpers.setup.colab.prepare_notebook`.
java
    Finding Java 17+ for Spark (and installing it on Colab); the doctor reports
    on it, the Spark session factory requires it.
"""

import importlib.metadata
import importlib.util
import sys


def in_colab():
    """Return True when running inside Google Colab."""
    return "google.colab" in sys.modules


def installed_version(distribution):
    """Return the installed version string of ``distribution``, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def require_extra(extra, *, modules, tool):
    """Raise a readable error when an instructor tool runs without its extra installed.

    A student's ``pip install -e .`` leaves out the grader's stack on purpose, so
    ``python -m course_helpers.grading`` there must say which extra to install, not
    fail deep inside an import.

    Parameters
    ----------
    extra : str
        The ``pyproject.toml`` extra that provides ``modules``, e.g. ``"grading"``.
    modules : iterable of str
        Top-level modules the tool imports.
    tool : str
        What the user ran, for the message.

    Raises
    ------
    ModuleNotFoundError
        Naming the first missing module and the install command.
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(
                f"{tool} needs {module!r}, from the course's {extra!r} extra: "
                f'pip install -e ".[{extra}]"',
                name=module,
            )
