"""The Colab bootstrap's decisions, tested in-process with fakes for apt, java and pip.

``tests/test_colab.py`` runs whole notebooks on a simulated Colab whose Java is
already new enough. Here each branch of the decisions is forced: Java missing,
too old or fine; a package changed under a module the session had imported, or not.
"""

import os
import subprocess
import sys
import types

import pytest

from course_helpers import environment
from course_helpers.setup import colab, java

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
    monkeypatch.setattr(java, "JVM_ROOT", str(jvm))
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
    assert java.require_java() == 17
    assert _apt_calls(fake_colab) == []


def test_java_21_present_is_kept(fake_colab):
    _fake_apt(fake_colab)
    _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=21))
    assert java.ensure_java_on_colab() == 21
    assert _apt_calls(fake_colab) == []


@pytest.mark.parametrize("old_java", [None, 11], ids=["missing", "java-11"])
def test_missing_or_old_java_installs_openjdk_17(fake_colab, old_java, capsys, monkeypatch):
    _fake_apt(fake_colab)
    if old_java is not None:
        _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=old_java))
    assert java.require_java() == 17
    assert _apt_calls(fake_colab) == ["install -y -qq openjdk-17-jdk-headless"]
    home = fake_colab.jvm / "java-17-openjdk-amd64"
    assert os.environ["JAVA_HOME"] == str(home)
    assert java.find_java() == str(home / "bin" / "java")
    assert "Installing openjdk-17-jdk-headless" in capsys.readouterr().out


def test_a_jdk_installed_earlier_is_reused_without_apt(fake_colab):
    _fake_apt(fake_colab)
    _write_executable(fake_colab.bin / "java", FAKE_JAVA.format(version=11))
    jdk = fake_colab.jvm / "java-17-openjdk-amd64"
    _write_executable(jdk / "bin" / "java", FAKE_JAVA.format(version=17))
    assert java.ensure_java_on_colab() == 17
    assert _apt_calls(fake_colab) == []


def test_apt_failure_says_what_to_do(fake_colab):
    _fake_apt(fake_colab, works=False)
    with pytest.raises(java.JavaNotFoundError) as caught:
        java.require_java()
    message = str(caught.value)
    assert "could not install openjdk-17-jdk-headless" in message
    assert "Unable to locate package" in message
    assert "apt-get update" in message  # the fix to run by hand
    # It tried once, refreshed the package lists, and tried again.
    assert [c.split()[0] for c in _apt_calls(fake_colab)] == ["install", "update", "install"]


def test_no_apt_get_at_all(fake_colab):
    with pytest.raises(java.JavaNotFoundError, match="no apt-get"):
        java.require_java()


def test_outside_colab_java_is_never_installed(fake_colab, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab")
    _fake_apt(fake_colab)
    with pytest.raises(java.JavaNotFoundError, match="no java found on PATH"):
        java.require_java()
    assert _apt_calls(fake_colab) == []


# --- a package changed under an imported module ------------------------------


def _imported(monkeypatch, module_name, version):
    module = types.ModuleType(module_name)
    module.__version__ = version
    monkeypatch.setitem(sys.modules, module_name, module)


def test_the_core_requirements_are_what_a_plain_install_installs():
    names = [r.split(">")[0].split("<")[0].split("=")[0] for r in colab.core_requirements()]
    assert "pandas" in names and "opentsne" in [n.lower() for n in names]
    # The extras (lab, grading, test) are not installed on Colab.
    assert not {"jupyterlab", "ipykernel", "pytest", "nbval"} & {n.lower() for n in names}


def test_an_imported_module_older_than_the_installed_package_is_stale(monkeypatch):
    installed = colab.installed_version("pandas")
    _imported(monkeypatch, "pandas", "1.5.3")
    _imported(monkeypatch, "sklearn", colab.installed_version("scikit-learn"))
    assert installed != "1.5.3"
    assert colab.stale_imports(["pandas<3,>=2.2", "scikit-learn>=1.5", "openTSNE>=1.0"]) == [
        "pandas"
    ]


def test_a_fresh_install_over_an_imported_module_asks_for_a_restart(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    _imported(monkeypatch, "pandas", "1.5.3")
    with pytest.raises(colab.RestartRequired, match=r"pandas changed.*Restart session"):
        colab.prepare_notebook(just_installed=True)


def test_without_an_install_the_versions_are_not_compared(monkeypatch, capsys):
    """A __version__ spelled unlike its metadata must not ask for a restart after each restart."""
    _imported(monkeypatch, "pandas", "1.5.3")
    colab.prepare_notebook(just_installed=False)
    assert "| local" in capsys.readouterr().out


def test_prepare_notebook_validates_its_flag():
    with pytest.raises(TypeError, match="just_installed must be True or False, got 'yes'"):
        colab.prepare_notebook(just_installed="yes")


def test_an_old_setup_cell_gets_the_requirements_its_no_deps_install_skipped(monkeypatch, capsys):
    """Setup cells written before course_helpers.setup call environment.prepare_notebook."""
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(environment.subprocess, "run", lambda command, **kw: calls.append(command))
    monkeypatch.setattr(colab, "_java_text", lambda: "Java 17")
    environment.prepare_notebook()
    ((command),) = calls
    assert command[:5] == [sys.executable, "-m", "pip", "install", "--quiet"]
    assert sorted(command[5:]) == sorted(colab.core_requirements())
    assert "| Colab" in capsys.readouterr().out


def test_importing_the_setup_modules_needs_only_numpy():
    """On Colab they are imported right after pip install: no heavy imports."""
    code = (
        "import sys, course_helpers.setup.colab, course_helpers.setup.java\n"
        "heavy = ['sklearn', 'pandas', 'pyspark', 'openTSNE', 'seaborn', 'matplotlib', "
        "'scipy', 'pyarrow', 'tqdm']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_an_old_setup_cell_whose_install_changed_an_imported_module_asks_for_a_restart(
    monkeypatch,
):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    versions = {"pandas": "1.5.3"}
    real = colab.installed_version
    monkeypatch.setattr(colab, "installed_version", lambda name: versions.get(name, real(name)))

    def pip_upgrades_pandas(command, **kwargs):
        versions["pandas"] = "2.2.3"

    monkeypatch.setattr(environment.subprocess, "run", pip_upgrades_pandas)
    _imported(monkeypatch, "pandas", "1.5.3")
    with pytest.raises(colab.RestartRequired, match=r"pandas changed"):
        environment.prepare_notebook()
