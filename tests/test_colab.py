"""The Colab path, simulated: a notebook opened "in Colab" installs the course and runs.

What is simulated, and how:

* **Colab's Python** is a fresh virtual environment without ``course_helpers``.
  So that nothing is downloaded, it sees the packages of the environment running
  the tests through a ``.pth`` file that lists a *filtered* copy of that
  environment's site-packages (symlinks to everything except course_helpers).
  Like Colab's image, it already has numpy, scikit-learn, pyspark...
* **Colab itself** is a stub ``google.colab`` package, imported by an IPython
  startup file, so ``"google.colab" in sys.modules`` is true in the kernel only.
* **The install from GitHub** is replaced by ``COURSE_HELPERS_SPEC``, pointing at
  a wheel built from this checkout, with ``PIP_NO_INDEX=1`` so pip can only use
  what is there. The wheel is built by the real build backend, so this also
  checks that the bundled data ships inside it.

The notebooks are the real ones from ``notebooks/`` executed as a student
would: the setup cell (from the authoring templates) must pip-install the
wheel, then the rest runs to the end. The student copies have exercises that
raise NotImplementedError, so the *solutions* are run: they carry the identical
badge and setup cells.
"""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: One scikit-learn notebook and one Spark notebook (the acceptance criterion).
COLAB_NOTEBOOKS = ["03_blobs_kmeans", "01_spark_kmeans"]

DRIVER = textwrap.dedent(
    """
    import sys
    import nbformat
    from nbclient import NotebookClient

    source, target, workdir = sys.argv[1:4]
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": workdir}}
    )
    try:
        client.execute()
    finally:
        nbformat.write(nb, target)
    """
)


def _is_course_helpers(name):
    name = name.lower().replace("-", "_")
    return "course_helpers" in name


def _host_view(target):
    """Symlink every entry of this environment's site-packages, except course_helpers."""
    target.mkdir()
    host = Path(sysconfig.get_paths()["purelib"])
    for entry in host.iterdir():
        # .pth files would not run from a plain path entry anyway; the editable
        # install of course_helpers is one of them.
        if _is_course_helpers(entry.name) or entry.suffix == ".pth":
            continue
        (target / entry.name).symlink_to(entry)
    return target


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{command} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A fake Colab runtime: its python, its environment variables, its work folder."""
    try:
        import hatchling  # noqa: F401
    except ImportError:
        # Building the wheel without downloading needs the build backend installed.
        message = "building the wheel offline needs hatchling: pip install hatchling"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the simulated Colab test)")
        pytest.skip(message)
    base = tmp_path_factory.mktemp("colab")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", base / "dist"],
        cwd=ROOT,
    )
    (wheel,) = (base / "dist").glob("course_helpers-*.whl")

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    view = _host_view(base / "host-site-packages")
    (site / "host_packages.pth").write_text(f"{view}\n")
    stub = site / "google" / "colab"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab (tests only)."""\n')

    home = base / "home"
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    # Colab's kernel has google.colab imported; nothing else in this venv does.
    (startup / "00-colab.py").write_text("import google.colab  # noqa: F401\n")
    (base / "driver.py").write_text(DRIVER)

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "PYTHON", "PIP_", "VIRTUAL_ENV", "COURSE_HELPERS"))
    }
    env.update(
        HOME=str(home),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONNOUSERSITE="1",
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        COURSE_HELPERS_SPEC=str(wheel),
        # The tests' own speed-up for Spark, as elsewhere in the suite.
        OMP_NUM_THREADS="1",
    )
    return {"python": python, "site": site, "env": env, "base": base, "wheel": wheel}


def _fresh(colab, code, *, check=True):
    """Run ``python -c code`` in the fake Colab (outside the checkout, so '' on sys.path is not it)."""
    command = [colab["python"], "-c", code]
    if check:
        return _run(command, env=colab["env"], cwd=colab["base"])
    return subprocess.run(
        command, capture_output=True, text=True, env=colab["env"], cwd=colab["base"], check=False
    )


def test_the_fresh_environment_has_the_libraries_but_not_the_course(colab):
    _fresh(colab, "import numpy, sklearn, pyspark, nbclient, google.colab")
    missing = _fresh(colab, "import course_helpers", check=False)
    assert "No module named 'course_helpers'" in missing.stderr
    metadata = _fresh(
        colab, "import importlib.metadata as m; m.version('course-helpers')", check=False
    )
    assert "PackageNotFoundError" in metadata.stderr
    # Outside a kernel, google.colab is not imported: the setup cell's test is false.
    plain = _fresh(colab, "import sys; print('google.colab' in sys.modules)")
    assert plain.stdout.strip() == "False"


def test_the_wheel_carries_the_bundled_data(colab):
    import zipfile

    names = zipfile.ZipFile(colab["wheel"]).namelist()
    assert any(n.startswith("course_helpers/data/") and n.endswith(".csv") for n in names), names


def _uninstall_course(colab):
    _run(
        [colab["python"], "-m", "pip", "uninstall", "--yes", "--quiet", "course-helpers"],
        env=colab["env"],
        cwd=colab["base"],
    )


def _cell(nb, cell_id):
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return cell


def _text(cell):
    return "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for output in cell.get("outputs", [])
    )


@pytest.mark.parametrize("name", COLAB_NOTEBOOKS)
def test_a_notebook_runs_to_the_end_on_simulated_colab(colab, name, tmp_path):
    source = ROOT / "solutions" / f"{name}.ipynb"
    if not source.exists():
        pytest.skip(f"{source.name} is not written yet")
    python, env = colab["python"], colab["env"]
    # Every Colab session starts without the course: undo the previous notebook's install.
    _uninstall_course(colab)
    target = tmp_path / f"{name}.ipynb"
    result = subprocess.run(
        [python, colab["base"] / "driver.py", source, target, tmp_path],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"{name} failed on simulated Colab:\n{result.stderr[-4000:]}"

    ran = nbformat.read(target, as_version=4)
    setup = _text(_cell(ran, "setup"))
    assert "| Colab" in setup, setup
    assert "bundled data found" in setup, setup
    # The setup cell installed the wheel into Colab's environment, next to its packages.
    installed = _fresh(
        colab, "import course_helpers, json; print(json.dumps(course_helpers.__file__))"
    )
    assert json.loads(installed.stdout).startswith(str(colab["site"]))
    # ...from the wheel that COURSE_HELPERS_SPEC named.
    origin = _fresh(
        colab,
        "import importlib.metadata as m; "
        "print(m.distribution('course-helpers').read_text('direct_url.json'))",
    )
    assert json.loads(origin.stdout)["url"] == colab["wheel"].as_uri()
    assert all(
        cell.get("execution_count") is not None for cell in ran.cells if cell.cell_type == "code"
    ), "some code cell did not run"


def test_the_setup_cell_does_nothing_but_prepare_outside_colab(colab, tmp_path):
    """Without google.colab, the setup cell never calls pip, even with the package missing."""
    from course_helpers.authoring import setup_source

    _uninstall_course(colab)
    python, env = colab["python"], {**colab["env"], "IPYTHONDIR": str(tmp_path)}
    script = tmp_path / "setup_cell.py"
    script.write_text(setup_source())
    result = subprocess.run(
        [python, script], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    # It goes straight to the import, which fails here because nothing installed the package.
    assert "No module named 'course_helpers'" in result.stderr
    assert "pip" not in result.stdout + result.stderr.replace("site-packages", "")


#: The packages of Colab's image that the course requires, at the image's versions
#: (googlecolab/backend-info, 2026-08; pyspark from /work/shared/NOTES.md). openTSNE is absent.
COLAB_IMAGE = {
    "numpy": "2.0.2",
    "pandas": "2.2.2",
    "scikit-learn": "1.6.1",
    # scikit-learn's own dependency; the exact image version was not checked, any >=1.11 holds.
    "scipy": "1.15.3",
    "threadpoolctl": "3.6.0",
    "matplotlib": "3.10.0",
    "seaborn": "0.13.2",
    "pyspark": "4.0.4",
    "pyarrow": "18.1.0",
    "packaging": "24.2",
    # Colab's own notebook stack: the course must not touch it.
    "ipykernel": "6.17.1",
    "jupyter-server": "1.16.0",
    "notebook": "6.5.7",
}


def _metadata(name, version):
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"


def _stub_wheel(folder, name, version):
    """A wheel of ``name`` with metadata only: enough for pip to resolve, offline."""
    import zipfile

    info = f"{name}-{version}.dist-info"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{info}/METADATA", _metadata(name, version))
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_a_plain_install_on_colabs_packages_adds_only_opentsne(colab, tmp_path):
    """What the setup cell's ``pip install`` would change on Colab, measured with pip's report.

    A stand-in of Colab's environment (the metadata of its packages at their
    versions) and pip's own resolver, run offline with ``--dry-run --report``:
    the course and openTSNE are installed, nothing Colab has is upgraded.
    """
    image = tmp_path / "image"
    _run([sys.executable, "-m", "venv", "--without-pip", image])
    site = Path(
        _run(
            [
                image / "bin" / "python",
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]
        ).stdout.strip()
    )
    for name, version in COLAB_IMAGE.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(_metadata(name, version))
        (info / "INSTALLER").write_text("pip\n")
    links = tmp_path / "links"
    links.mkdir()
    _stub_wheel(links, "openTSNE", "1.0.4")
    report = tmp_path / "report.json"
    _run(
        [
            sys.executable, "-m", "pip", "--isolated", "--python", image / "bin" / "python",
            "install", "--dry-run", "--quiet", "--report", report,
            "--no-index", "--find-links", links, colab["wheel"],
        ]
    )  # fmt: skip
    installs = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert set(installs) == {"course-helpers", "opentsne"}, installs
