"""The Colab bootstrap's decisions, tested in-process with fakes for apt, java and pip.

``tests/test_colab.py`` runs whole notebooks on a simulated Colab whose Java is
already new enough. Here each branch of the decisions is forced: Java missing,
too old or fine; requirements missing, too old, satisfied or Colab's own.
"""

import os
import subprocess
import sys
import types

import pytest

from course_helpers import environment

FAKE_JAVA = """#!/bin/sh
echo 'openjdk version "{version}.0.9" 2023-10-17' >&2
"""


def _write_executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """Pretend to be on Colab with an empty PATH, no JAVA_HOME and an empty JVM folder.

    Returns a namespace with ``bin`` (the only folder on PATH), ``jvm`` (the JVM
    root) and ``apt_log`` (one line per apt-get call).
    """
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    bin_dir, jvm = tmp_path / "bin", tmp_path / "jvm"
    bin_dir.mkdir()
    jvm.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    # ensure_java_on_colab() sets JAVA_HOME itself. monkeypatch only restores what it has
    # recorded, and deleting an absent variable records nothing: set it first, so that the
    # fake JDK never leaks into later tests (Spark would start the fake java).
    monkeypatch.setenv("JAVA_HOME", "")
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setattr(environment, "JVM_ROOT", str(jvm))
    return types.SimpleNamespace(bin=bin_dir, jvm=jvm, apt_log=tmp_path / "apt.log")


def _fake_apt(colab, *, works=True):
    """An apt-get that logs its arguments and, for an install, unpacks a fake JDK 17."""
    java = colab.jvm / "java-17-openjdk-amd64" / "bin" / "java"
    package = _write_executable(
        colab.apt_log.parent / "package" / "java", FAKE_JAVA.format(version=17)
    )
    install = f"/bin/mkdir -p {java.parent}\n/bin/cp -p {package} {java}\n"
    body = install if works else "echo 'E: Unable to locate package' >&2; exit 100\n"
    _write_executable(
        colab.bin / "apt-get",
        f'#!/bin/sh\necho "$@" >> {colab.apt_log}\nif [ "$1" = install ]; then\n{body}fi\n',
    )


def _apt_calls(colab):
    return colab.apt_log.read_text().splitlines() if colab.apt_log.exists() else []


def test_java_17_present_means_no_apt(fake_colab):
    _fake_apt(fake_colab)
    _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=17))
    assert environment.require_java() == 17
    assert _apt_calls(fake_colab) == []


def test_java_21_present_is_kept(fake_colab):
    _fake_apt(fake_colab)
    _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=21))
    assert environment.ensure_java_on_colab() == 21
    assert _apt_calls(fake_colab) == []


@pytest.mark.parametrize("old_java", [None, 11], ids=["missing", "java-11"])
def test_missing_or_old_java_installs_openjdk_17(fake_colab, old_java, capsys, monkeypatch):
    _fake_apt(fake_colab)
    if old_java is not None:
        _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=old_java))
    assert environment.require_java() == 17
    assert _apt_calls(fake_colab) == ["install -y -qq openjdk-17-jdk-headless"]
    home = fake_colab.jvm / "java-17-openjdk-amd64"
    assert os.environ["JAVA_HOME"] == str(home)
    assert environment.find_java() == str(home / "bin" / "java")
    assert "Installing openjdk-17-jdk-headless" in capsys.readouterr().out


def test_a_jdk_installed_earlier_is_reused_without_apt(fake_colab):
    _fake_apt(fake_colab)
    _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=11))
    jdk = fake_colab.jvm / "java-17-openjdk-amd64"
    _write_executable(jdk / "bin" / "java", FAKE_JAVA.format(version=17))
    assert environment.ensure_java_on_colab() == 17
    assert _apt_calls(fake_colab) == []


def test_apt_failure_says_what_to_do(fake_colab):
    _fake_apt(fake_colab, works=False)
    with pytest.raises(environment.JavaNotFoundError) as caught:
        environment.require_java()
    message = str(caught.value)
    assert "could not install openjdk-17-jdk-headless" in message
    assert "Unable to locate package" in message
    assert "apt-get update" in message  # the fix to run by hand
    # It tried once, refreshed the package lists, and tried again.
    assert [c.split()[0] for c in _apt_calls(fake_colab)] == ["install", "update", "install"]


def test_no_apt_get_at_all(fake_colab):
    with pytest.raises(environment.JavaNotFoundError, match="no apt-get"):
        environment.require_java()


def test_outside_colab_java_is_never_installed(fake_colab, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab")
    _fake_apt(fake_colab)
    with pytest.raises(environment.JavaNotFoundError, match="no java was found on PATH"):
        environment.require_java()
    assert _apt_calls(fake_colab) == []


# --- the package's requirements on Colab -------------------------------------

#: A Colab-like set of installed versions (None: not installed).
COLAB_VERSIONS = {
    "numpy": "2.0.2",
    "pandas": "1.5.3",  # too old for the course (it needs >=2.2,<3)
    "scikit-learn": "1.6.1",
    "matplotlib": "3.10.0",
    "seaborn": "0.13.2",
    "opentsne": None,  # Colab does not have it
    "pyspark": "4.0.1",
    "pyarrow": "18.1.0",
    "nbformat": "5.10.4",
    "tqdm": "4.67.1",
    "threadpoolctl": "3.6.0",
    "psutil": "5.9.5",  # ipykernel depends on it, so every Colab kernel has it
    "ipykernel": "6.17.1",  # older than the local minimum, and Colab's own
    "jupyterlab": None,
    "nbval": None,
    "pytest": "8.3.5",
    "nbclient": "0.10.2",
    "nbconvert": "7.16.6",
}


@pytest.fixture
def fake_pip(monkeypatch):
    """Installed versions from COLAB_VERSIONS; pip records its arguments and "installs"."""
    versions = dict(COLAB_VERSIONS)
    calls = []

    def installed(name):
        return versions.get(name.lower())

    def run(command, **kwargs):
        assert command[:4] == [sys.executable, "-m", "pip", "install"], command
        calls.append(command[4:])
        for requirement in command[4:]:
            if not requirement.startswith("-"):
                name = requirement.split("<")[0].split(">")[0].split("=")[0].lower()
                versions[name] = {"pandas": "2.2.3", "opentsne": "1.0.4"}.get(name, "99")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(environment, "installed_version", installed)
    monkeypatch.setattr(environment.subprocess, "run", run)
    return types.SimpleNamespace(calls=calls, versions=versions)


def test_only_missing_and_too_old_requirements_are_installed(fake_pip, capsys):
    changed = environment.install_colab_requirements()
    assert len(fake_pip.calls) == 1
    requested = sorted(r for r in fake_pip.calls[0] if not r.startswith("-"))
    # The ranges come from pyproject.toml (via the installed metadata): check the names.
    assert [r.split("<")[0].split(">")[0] for r in requested] == ["opentsne", "pandas"]
    assert sorted(changed) == ["opentsne", "pandas"]
    assert "Installing:" in capsys.readouterr().out


def test_colab_own_kernel_packages_are_never_touched(fake_pip):
    environment.install_colab_requirements()
    requested = " ".join(fake_pip.calls[0])
    for kept in environment.COLAB_KEEPS:
        assert kept not in requested


def test_nothing_to_do_means_no_pip(fake_pip):
    fake_pip.versions.update(pandas="2.2.3", opentsne="1.0.4")
    assert environment.install_colab_requirements() == []
    assert fake_pip.calls == []


def test_a_changed_package_already_imported_asks_for_a_restart(fake_pip, monkeypatch):
    old_pandas = types.ModuleType("pandas")
    old_pandas.__version__ = "1.5.3"
    monkeypatch.setitem(sys.modules, "pandas", old_pandas)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    with pytest.raises(environment.RestartRequired, match=r"pandas changed.*Restart session"):
        environment.prepare_notebook()


def test_importing_the_environment_module_needs_only_numpy():
    """On Colab it is imported right after ``pip install --no-deps``: no heavy imports."""
    code = (
        "import sys, course_helpers.environment\n"
        "heavy = ['sklearn', 'pandas', 'pyspark', 'openTSNE', 'seaborn', 'matplotlib', "
        "'scipy', 'pyarrow', 'tqdm']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
