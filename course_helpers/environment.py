"""What the notebooks need from the machine: detection, Colab bootstrap, friendly messages.

Three callers build on this module:

* the **setup cell** of every notebook calls :func:`prepare_notebook`. Outside
  Colab it only prints versions. On Colab (after the setup cell has installed
  this package with ``pip install --no-deps``) it installs the few runtime
  requirements Colab lacks (:func:`install_colab_requirements`), asks for a
  runtime restart when an already imported package had to change, and reports
  Java, pyspark and the bundled data;
* the **Spark session factory** calls :func:`require_java` before the JVM
  starts. On Colab that first calls :func:`ensure_java_on_colab`, which installs
  openjdk-17 with apt only when Java is missing or older than 17 (Colab images
  up to 2025-10 ship Java 11; later ones ship 17 or 21). The install happens
  there, not in the setup cell, so the scikit-learn notebooks never pay for it;
* ``python -m course_helpers.doctor`` reports on all of it, one line each.

Importing this module must stay cheap and need nothing but the standard
library: on Colab it runs before the course's requirements are installed.
"""

import glob
import importlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

MIN_JAVA = 17
MIN_PYSPARK_MAJOR = 4

#: Where Debian and Ubuntu (Colab's OS) install their JDKs.
JVM_ROOT = "/usr/lib/jvm"
#: The apt package ``ensure_java_on_colab`` installs.
COLAB_JAVA_PACKAGE = "openjdk-17-jdk-headless"

#: Requirements of the package that Colab provides with its own notebook server and
#: kernel. The notebooks do not need newer ones, and replacing them under a running
#: Colab kernel breaks it, so the Colab bootstrap never installs them.
COLAB_KEEPS = frozenset({"jupyterlab", "ipykernel", "nbclient", "nbconvert", "nbval", "pytest"})

#: Distribution name -> module name, where they differ.
_MODULE_OF = {"scikit-learn": "sklearn", "opentsne": "openTSNE"}

_DISTRIBUTION = "course-helpers"


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

    On Colab it first makes Java available with :func:`ensure_java_on_colab`.

    Parameters
    ----------
    minimum : int, default=17
        Spark 4 needs Java 17 or newer.
    """
    if in_colab():
        return ensure_java_on_colab(minimum=minimum)
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
            f"On Colab run: !apt-get update -qq && apt-get install -y -qq {COLAB_JAVA_PACKAGE}, "
            "then run the notebook again from the top."
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


def requirement_of(distribution, *, package=_DISTRIBUTION):
    """Return the :class:`packaging.requirements.Requirement` this package has on
    ``distribution``, or None when it has none (or is not installed as a distribution)."""
    for requirement in _runtime_requirements(package, keep_all=True):
        if requirement.name.lower() == distribution.lower():
            return requirement
    return None


def installed_version(distribution):
    """Return the installed version string of ``distribution``, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def pyspark_problem():
    """Return why pyspark cannot run the Spark notebooks, or None when it can."""
    version = installed_version("pyspark")
    if version is None:
        return "pyspark is not installed"
    major = int(re.match(r"\d+", version).group())
    if major < MIN_PYSPARK_MAJOR:
        return f"pyspark {version} is installed, and the Spark notebooks need {MIN_PYSPARK_MAJOR}.x"
    return None


def _runtime_requirements(distribution=_DISTRIBUTION, *, keep_all=False):
    """The package's unconditional requirements, minus those Colab keeps unless ``keep_all``."""
    from packaging.requirements import Requirement

    try:
        texts = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return []  # running from a folder that is on sys.path but not installed
    requirements = []
    for text in texts:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an optional extra, or another platform
        if requirement.name.lower() in COLAB_KEEPS and not keep_all:
            continue
        requirements.append(requirement)
    return requirements


def _module_name(distribution):
    name = distribution.lower()
    return _MODULE_OF.get(name, name.replace("-", "_"))


def install_colab_requirements(*, distribution=_DISTRIBUTION):
    """Install the runtime requirements that are missing or too old, and nothing else.

    The Colab setup cell installs this package with ``--no-deps``, because a
    plain ``pip install`` would also upgrade what Colab runs its own kernel
    with (``ipykernel``, ``jupyterlab``... see :data:`COLAB_KEEPS`). This adds
    the rest: each requirement whose installed version already satisfies the
    package's range is left alone, as pip's default only-if-needed strategy would.

    Returns
    -------
    changed : list of str
        The distributions that were installed or upgraded.
    """
    requirements = _runtime_requirements(distribution)
    needed = [
        r
        for r in requirements
        if installed_version(r.name) is None
        or not r.specifier.contains(installed_version(r.name), prereleases=True)
    ]
    if not needed:
        return []
    before = {r.name: installed_version(r.name) for r in needed}
    print("Installing: " + ", ".join(str(r) for r in needed), flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *(str(r) for r in needed)],
        check=True,
    )
    importlib.invalidate_caches()
    return [name for name, version in before.items() if installed_version(name) != version]


class RestartRequired(RuntimeError):
    """Packages changed under modules this kernel has already imported."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"\x1b[31m{self}\x1b[0m"]


def stale_imports(distributions):
    """Return the distributions whose already imported module differs from the installed one."""
    stale = []
    for distribution in distributions:
        module = sys.modules.get(_module_name(distribution))
        if module is None:
            continue
        imported = getattr(module, "__version__", None)
        if imported is not None and imported != installed_version(distribution):
            stale.append(distribution)
    return stale


def bundled_data_path():
    """Return the path of the bundled market data as a string, or None when it is missing."""
    # Imported here: market_data needs pandas, and this module must stay light (see above).
    from .market_data import bundled_data_path as find_bundled_data

    try:
        return str(find_bundled_data())
    except FileNotFoundError:
        return None


def prepare_notebook():
    """Check the environment and print one line about it (the setup cell calls this).

    Outside Colab it changes nothing. On Colab it installs the missing runtime
    requirements (:func:`install_colab_requirements`) and raises
    :class:`RestartRequired` when a package this kernel already imported had to
    change; Java is installed later, only by the notebooks that start Spark.
    """
    if in_colab():
        changed = install_colab_requirements()
        stale = stale_imports(changed)
        if stale:
            raise RestartRequired(
                f"{', '.join(stale)} changed while already imported: use Runtime > "
                "Restart session, then run the notebook again from the top."
            )
    import sklearn

    from . import __version__

    where = "Colab" if in_colab() else "local"
    print(
        f"course_helpers {__version__} | Python {sys.version.split()[0]} | "
        f"scikit-learn {sklearn.__version__} | {where}"
    )
    if in_colab():
        java = java_major_version()
        java_text = (
            f"Java {java}"
            if java is not None and java >= MIN_JAVA
            else f"Java {java or 'missing'} (the Spark notebooks install Java {MIN_JAVA} "
            "when they start Spark)"
        )
        spark_text = pyspark_problem() or f"pyspark {installed_version('pyspark')}"
        data = bundled_data_path()
        data_text = "bundled data found" if data else "bundled data NOT found"
        print(f"{java_text} | {spark_text} | {data_text}")


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
    import json

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
