"""``python -m course_helpers.lab``: JupyterLab on notebooks/, with this environment's kernel.

The machine is given a *decoy*: a user-level ``python3`` kernel spec that starts
another interpreter (as ``ipykernel install --user`` from another Python leaves
behind), and ``JUPYTER_PREFER_ENV_PATH=0`` (jupyter's default outside an owned
virtual environment), under which the decoy would win. The lab must still start
the notebooks' kernel with this interpreter.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-test-token"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _decoy_home(tmp_path):
    """A HOME whose user-level python3 kernel starts the base interpreter."""
    home = tmp_path / "home"
    data = home / ".local" / "share" / "jupyter"
    decoy = data / "kernels" / "python3"
    decoy.mkdir(parents=True)
    # The interpreter the virtual environment was made from: it has no course_helpers.
    other = os.path.join(sys.base_prefix, "bin", "python3")
    assert sys.prefix != sys.base_prefix, "the tests run in a virtual environment"
    (decoy / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [other, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (somewhere else)",
                "language": "python",
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(
        HOME=str(home),
        JUPYTER_DATA_DIR=str(data),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_PREFER_ENV_PATH="0",
    )
    return env, decoy


LOOKUP = (
    "import sys; from jupyter_client.kernelspec import KernelSpecManager; "
    "print(KernelSpecManager().get_kernel_spec('python3').resource_dir)"
)


def test_without_the_lab_the_decoy_kernel_would_win(tmp_path):
    """The control: the decoy is real, so the lab test below can fail."""
    env, decoy = _decoy_home(tmp_path)
    found = subprocess.run(
        [sys.executable, "-c", LOOKUP], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == str(decoy)


def _get(port, path, *, method="GET", timeout=5):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        headers={"Authorization": f"token {TOKEN}"},
        data=b"{}" if method == "POST" else None,
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
        return json.loads(body) if body else None


@pytest.fixture
def lab(tmp_path, request):
    """A running ``python -m course_helpers.lab`` on a free port, stopped afterwards.

    Parametrize it indirectly with a dict of environment variables to change.
    """
    env, decoy = _decoy_home(tmp_path)
    env.update(getattr(request, "param", {}))
    port = _free_port()
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "course_helpers.lab",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={TOKEN}",
            ],
            cwd=tmp_path,  # the lab must find notebooks/ by itself
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(port, "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"process": process, "port": port, "decoy": decoy, "log": log}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_lab_serves_the_notebooks_with_this_interpreter_as_kernel(lab):
    port, process = lab["port"], lab["process"]
    listing = _get(port, "/api/contents")
    names = {item["name"] for item in listing["content"]}
    built = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert built and built <= names, names

    specs = _get(port, "/api/kernelspecs")
    python3 = specs["kernelspecs"]["python3"]["spec"]
    assert python3["display_name"] != "Python 3 (somewhere else)"

    # Start the notebooks' kernel and look at the process the server really started.
    kernel = _get(port, "/api/kernels", method="POST")
    try:
        server = psutil.Process(process.pid)
        deadline = time.monotonic() + 60
        kernels = []
        while not kernels and time.monotonic() < deadline:
            kernels = [
                child
                for child in server.children(recursive=True)
                if "ipykernel_launcher" in " ".join(child.cmdline())
            ]
            time.sleep(0.2)
        assert kernels, "no kernel process appeared"
        (kernel_process,) = kernels
        assert kernel_process.cmdline()[0] == sys.executable
        assert kernel["name"] == "python3"
    finally:
        _get(port, f"/api/kernels/{kernel['id']}", method="DELETE")

    # The doctor's report came first, and the lab said what it started.
    log = lab["log"].read_text()
    assert "[ OK ] Jupyter kernel: python3 runs this environment" in log
    assert f"Starting JupyterLab on {ROOT / 'notebooks'} with {sys.executable}" in log


def test_lab_stops_cleanly(lab):
    process = lab["process"]
    server = psutil.Process(process.pid)
    _get(lab["port"], "/api/kernels", method="POST")
    children = server.children(recursive=True)
    assert children  # the kernel
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"


def test_lab_without_notebooks_folder_says_where_to_run(tmp_path, monkeypatch):
    from course_helpers import lab as lab_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lab_module, "__file__", str(tmp_path / "pkg" / "lab.py"))
    assert lab_module.course_folder() is None
    assert lab_module.main(["--no-browser"]) == 2


@pytest.mark.parametrize("lab", [{"JAVA_HOME": "/nonexistent-jdk"}], indirect=True)
def test_lab_starts_without_java_and_says_so(lab):
    """A student without Java can still do notebooks 03-05."""
    assert _get(lab["port"], "/api/status") is not None
    log = lab["log"].read_text()
    assert "[FAIL] Java: JAVA_HOME=/nonexistent-jdk has no bin/java" in log
    assert "Starting JupyterLab anyway" in log
    assert "Traceback" not in log
