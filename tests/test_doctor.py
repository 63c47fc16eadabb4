"""``python -m course_helpers.doctor``: passes here, fails clearly without Java."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_helpers import doctor
from course_helpers.setup import java

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = [
    "Python",
    "Java",
    "pyspark",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "openTSNE",
    "Jupyter kernel",
    "bundled data",
]


def _doctor(env=None):
    return subprocess.run(
        [sys.executable, "-m", "course_helpers.doctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )


def _lines(stdout):
    """Map each requirement to its status line ("[ OK ] ..." or "[FAIL] ...")."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith(("[ OK ] ", "[FAIL] ")):
            found[line[7:].split(":")[0]] = line
    return found


def test_doctor_passes_here():
    result = _doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert list(lines) == REQUIREMENTS
    assert all(line.startswith("[ OK ]") for line in lines.values()), result.stdout
    assert f"Java {java.java_major_version()}" in lines["Java"]


@pytest.mark.parametrize("java_home", ["/nonexistent-jdk", None], ids=["JAVA_HOME", "PATH"])
def test_doctor_fails_clearly_without_java(tmp_path, java_home):
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty folder: no java on PATH
    env.pop("JAVA_HOME", None)
    if java_home:
        env["JAVA_HOME"] = java_home
    result = _doctor(env)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "Py4J" not in output and "py4j" not in output
    lines = _lines(result.stdout)
    assert list(lines) == REQUIREMENTS  # every check still ran
    assert lines["Java"].startswith("[FAIL] Java:")
    assert "Java 17 or newer" in lines["Java"]
    # The fix is on the next line, and names what to install.
    after = result.stdout.split(lines["Java"], 1)[1].splitlines()[1]
    assert after.strip().startswith("Fix:")
    assert "openjdk" in after.lower() or "adoptium" in after.lower()
    if java_home:
        assert java_home in lines["Java"]
    # Only Java failed: the rest does not depend on it.
    failed = [name for name, line in lines.items() if line.startswith("[FAIL]")]
    assert failed == ["Java"]


def test_java_too_old_is_a_failure(tmp_path, monkeypatch):
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    result = doctor.check_java()
    assert not result.ok
    assert "Java 11" in result.detail and "17 or newer" in result.detail


def test_a_missing_package_is_a_failure_with_the_install_command(monkeypatch):
    real = doctor.installed_version
    monkeypatch.setattr(
        doctor,
        "installed_version",
        lambda name: None if name.lower() == "opentsne" else real(name),
    )
    result = doctor.check_package("openTSNE", needed_by="notebook 05")
    assert not result.ok
    assert "notebook 05" in result.detail
    assert "-m pip install" in result.fix and "opentsne>=" in result.fix.lower()


def test_a_package_outside_the_course_range_is_a_failure(monkeypatch):
    monkeypatch.setattr(doctor, "installed_version", lambda name: "1.2.2")
    result = doctor.check_package("scikit-learn", needed_by="all notebooks")
    assert not result.ok
    assert "1.2.2 is installed" in result.detail


def test_pyspark_3_is_a_failure_against_pyprojects_range(monkeypatch):
    monkeypatch.setattr(doctor, "installed_version", lambda name: "3.5.1")
    result = doctor.check_package("pyspark", needed_by=doctor.SPARK_NOTEBOOKS)
    assert not result.ok
    # The range is pyproject.toml's (read from the installed metadata), not a copy of it.
    wanted = doctor.requirement_of("pyspark")
    assert f"3.5.1 is installed, the course needs {wanted.specifier}" in result.detail
    assert str(wanted) in result.fix


def test_a_kernel_running_another_python_is_a_failure(tmp_path, monkeypatch):
    """A kernel spec on JUPYTER_PATH (searched first) that starts another interpreter."""
    other = _write_decoy_kernel(tmp_path / "path" / "kernels")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "path"))
    result = doctor.check_kernel()
    assert not result.ok
    assert other in result.detail
    assert "ipykernel install --sys-prefix" in result.fix


def _write_decoy_kernel(kernels):
    """A python3 kernel spec that starts the base interpreter, not this environment."""
    import json

    decoy = kernels / "python3"
    decoy.mkdir(parents=True)
    other = os.path.realpath(os.path.join(sys.base_prefix, "bin", "python3"))
    assert os.path.realpath(sys.prefix) != os.path.realpath(sys.base_prefix), "run in a venv"
    spec = {"argv": [other, "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    (decoy / "kernel.json").write_text(
        json.dumps({**spec, "display_name": "decoy", "language": "python"})
    )
    return other


def test_missing_data_is_a_failure(monkeypatch):
    from course_helpers import market_data

    def missing():
        raise FileNotFoundError("the bundled data set is missing")

    monkeypatch.setattr(market_data, "bundled_data_path", missing)
    result = doctor.check_data()
    assert not result.ok and "DATA_PATH" in result.fix
