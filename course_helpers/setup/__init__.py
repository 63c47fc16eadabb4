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
