"""Java for Spark: find it, judge it, and on Colab install it.

Spark 4 needs Java 17 or newer. :func:`java_problem` is the one judgement,
used twice: the Spark session factory calls :func:`require_java`, which raises
it as :class:`JavaNotFoundError` before the JVM starts, and ``python -m
course_helpers.doctor`` prints it as a line. On Colab, :func:`require_java`
first calls :func:`ensure_java_on_colab`, which installs openjdk-17 with apt
only when Java is missing or older than 17 (Colab images up to 2025-10 ship
Java 11; later ones ship 17 or 21). It happens there, not in the setup cell,
so the scikit-learn notebooks never pay for it.

Standard library only (see :mod:`course_helpers.setup`).
"""

import glob
import os
import re
import shutil
import subprocess
import sys

from . import in_colab

MIN_JAVA = 17

#: Where Debian and Ubuntu (Colab's OS) install their JDKs.
JVM_ROOT = "/usr/lib/jvm"
#: The apt package ``ensure_java_on_colab`` installs.
COLAB_JAVA_PACKAGE = "openjdk-17-jdk-headless"


class JavaNotFoundError(RuntimeError):
    """Java is missing or too old for Spark 4."""


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


def java_problem(*, minimum=MIN_JAVA):
    """Say what is wrong with the Java that Spark would start, or return None when nothing is.

    Parameters
    ----------
    minimum : int, default=17
        The oldest Java accepted.

    Returns
    -------
    problem : str or None
        What was found, e.g. ``"Java 11 at /usr/bin/java"`` or ``"no java found
        on PATH"``, followed by ``"; Spark needs Java 17 or newer"``.
    """
    java = find_java()
    java_home = os.environ.get("JAVA_HOME")
    if java is None and java_home:
        found = f"JAVA_HOME={java_home} has no bin/java"
    elif java is None:
        found = "no java found on PATH"
    else:
        version = java_major_version(java)
        if version is not None and version >= minimum:
            return None
        found = f"{java} does not run" if version is None else f"Java {version} at {java}"
    return f"{found}; Spark needs Java {minimum} or newer"


def java_install_hint():
    """One sentence on how to get Java 17 on this kind of machine."""
    if in_colab():
        return (
            f"On Colab run: !apt-get update -qq && apt-get install -y -qq {COLAB_JAVA_PACKAGE}, "
            "then run the notebook again from the top."
        )
    if os.environ.get("JAVA_HOME") and find_java() is None:
        prefix = f"Point JAVA_HOME at a JDK {MIN_JAVA}+ folder or unset it. "
    else:
        prefix = ""
    if sys.platform == "darwin":
        how = "Install it with: brew install openjdk@17 (or from https://adoptium.net)"
    elif sys.platform.startswith("win"):
        how = "Install Temurin 17 from https://adoptium.net and set JAVA_HOME"
    else:
        how = (
            "Install it with: sudo apt-get install openjdk-17-jdk-headless "
            "(or conda install -c conda-forge openjdk=17)"
        )
    return f"{prefix}{how}, then restart Jupyter."


def require_java(*, minimum=MIN_JAVA):
    """Return the Java major version, or raise :class:`JavaNotFoundError` with the fix.

    On Colab it first makes Java available with :func:`ensure_java_on_colab`.

    Parameters
    ----------
    minimum : int, default=17
        Spark 4 needs Java 17 or newer.
    """
    if in_colab():
        return ensure_java_on_colab(minimum=minimum)
    problem = java_problem(minimum=minimum)
    if problem is not None:
        raise JavaNotFoundError(f"{problem}. {java_install_hint()}")
    return java_major_version()


def _installed_jdks():
    """Return ``[(major, java_home), ...]`` for the JDKs under :data:`JVM_ROOT`, oldest first."""
    found = []
    for java in sorted(glob.glob(os.path.join(JVM_ROOT, "*", "bin", "java"))):
        home = os.path.dirname(os.path.dirname(java))
        # Debian keeps symlinks (default-java, java-1.17.0-openjdk-amd64) next to the real folder.
        if os.path.islink(home):
            continue
        version = java_major_version(java)
        if version is not None:
            found.append((version, home))
    return sorted(found)


def _apt_get(*args):
    return subprocess.run(
        ["apt-get", *args], capture_output=True, text=True, check=False, timeout=900
    )


def _apt_install(package):
    """Install ``package`` with apt-get, refreshing the package lists once if needed."""
    if shutil.which("apt-get") is None:
        raise JavaNotFoundError(
            f"Spark needs Java {MIN_JAVA} or newer and this runtime has no apt-get to install "
            f"it. {java_install_hint()}"
        )
    result = _apt_get("install", "-y", "-qq", package)
    if result.returncode != 0:
        # A fresh runtime's package lists can be stale (404 on the old file names).
        _apt_get("update", "-qq")
        result = _apt_get("install", "-y", "-qq", package)
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise JavaNotFoundError(
            f"apt-get could not install {package} (exit {result.returncode}: {tail}). "
            f"{java_install_hint()}"
        )


def _use_java_home(home):
    """Point Spark (``JAVA_HOME``) and this process's ``PATH`` at the JDK in ``home``."""
    os.environ["JAVA_HOME"] = home
    os.environ["PATH"] = os.path.join(home, "bin") + os.pathsep + os.environ.get("PATH", "")


def ensure_java_on_colab(*, minimum=MIN_JAVA):
    """Make Java ``minimum``+ available on Colab, installing openjdk-17 only if needed.

    Steps, stopping at the first that succeeds:

    1. the Java that Spark would start (``JAVA_HOME``, else ``PATH``) is new
       enough: nothing changes (Colab images from 2025-12 on ship 17 or 21);
    2. a new enough JDK is already installed under :data:`JVM_ROOT` (an
       earlier run installed it): ``JAVA_HOME`` is pointed at it;
    3. ``apt-get install openjdk-17-jdk-headless`` (about a minute), then
       ``JAVA_HOME`` is pointed at it.

    Parameters
    ----------
    minimum : int, default=17
        The oldest Java Spark accepts.

    Returns
    -------
    version : int
        The major version of the Java Spark will now start.

    Raises
    ------
    JavaNotFoundError
        When no Java ``minimum``+ could be made available; the message says
        what to run by hand.
    """
    current = java_major_version()
    if current is not None and current >= minimum:
        return current
    candidates = [(v, home) for v, home in _installed_jdks() if v >= minimum]
    if not candidates:
        print(
            f"Java {current if current is not None else 'is missing'}"
            f"{' is too old' if current is not None else ''}: Spark needs {minimum}+. "
            f"Installing {COLAB_JAVA_PACKAGE} with apt (about a minute)...",
            flush=True,
        )
        _apt_install(COLAB_JAVA_PACKAGE)
        candidates = [(v, home) for v, home in _installed_jdks() if v >= minimum]
    if not candidates:
        raise JavaNotFoundError(
            f"{COLAB_JAVA_PACKAGE} was installed but no Java {minimum}+ was found under "
            f"{JVM_ROOT}. {java_install_hint()}"
        )
    version, home = candidates[0]
    _use_java_home(home)
    print(f"Spark will use Java {version} from {home}", flush=True)
    return version
