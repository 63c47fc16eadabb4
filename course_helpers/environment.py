"""What the notebooks need from the machine: detection and friendly messages.

The setup cell of every notebook calls :func:`prepare_notebook`. The Spark
session factory calls :func:`require_java`. ``python -m course_helpers.doctor``
builds on the same functions.
"""

import os
import re
import shutil
import subprocess
import sys

MIN_JAVA = 17


def in_colab():
    """Return True when running inside Google Colab."""
    return "google.colab" in sys.modules


def find_java():
    """Return the path of the ``java`` that Spark would start, or None.

    Spark uses ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, and the
    ``java`` on ``PATH`` otherwise.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = os.path.join(java_home, "bin", "java")
        return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def java_major_version(java=None):
    """Return the major version of ``java`` (17 for "17.0.15"), or None if it cannot run."""
    java = java or find_java()
    if java is None:
        return None
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older report themselves as "1.8".
    return int(match.group(2)) if major == 1 and match.group(2) else major


class JavaNotFoundError(RuntimeError):
    """Java is missing or too old for Spark 4."""


def require_java(minimum=MIN_JAVA):
    """Return the Java major version, or raise :class:`JavaNotFoundError` with the fix.

    Parameters
    ----------
    minimum : int, default=17
        Spark 4 needs Java 17 or newer.
    """
    java = find_java()
    where = f"JAVA_HOME={os.environ['JAVA_HOME']}" if os.environ.get("JAVA_HOME") else "PATH"
    if java is None:
        raise JavaNotFoundError(
            f"Spark needs Java {minimum} or newer, and no java was found on {where}. "
            + java_install_hint()
        )
    version = java_major_version(java)
    if version is None or version < minimum:
        raise JavaNotFoundError(
            f"Spark needs Java {minimum} or newer, but {java} is "
            f"{'unusable' if version is None else f'Java {version}'}. " + java_install_hint()
        )
    return version


def java_install_hint():
    """One sentence on how to get Java 17 on this kind of machine."""
    if in_colab():
        return (
            "On Colab run: !apt-get install -y openjdk-17-jdk-headless, then restart the runtime."
        )
    if sys.platform == "darwin":
        return "Install it with: brew install openjdk@17 (or from https://adoptium.net), then restart Jupyter."
    if sys.platform.startswith("win"):
        return (
            "Install Temurin 17 from https://adoptium.net and set JAVA_HOME, then restart Jupyter."
        )
    return (
        "Install it with: sudo apt-get install openjdk-17-jdk-headless (or conda install "
        "-c conda-forge openjdk=17), then restart Jupyter."
    )


def prepare_notebook():
    """Check versions and print one line about the environment (the setup cell calls this).

    It changes nothing outside Colab.
    """
    import sklearn

    from . import __version__

    where = "Colab" if in_colab() else "local"
    print(
        f"course_helpers {__version__} | Python {sys.version.split()[0]} | "
        f"scikit-learn {sklearn.__version__} | {where}"
    )
