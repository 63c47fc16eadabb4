"""The k-means pipeline on a real standalone cluster and over Spark Connect.

Each test starts the servers from the pip package (no Spark download) on
127.0.0.1, runs ``tests/spark_pipeline.py`` against them with the same
environment variables a student would set (``SPARK_MASTER`` or
``SPARK_REMOTE``), and compares the flagged rows with local mode. Every
process started here is stopped at the end, also when the test fails.
"""

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyspark")

from course_helpers.setup.java import java_major_version

HERE = Path(__file__).resolve().parent
PIPELINE = HERE / "spark_pipeline.py"

if (java_major_version() or 0) < 17:
    pytest.skip("Spark 4 needs Java 17", allow_module_level=True)


def spark_home():
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, *, process, log, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s:\n{tail(log)}")


def tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def server_env(tmp_path):
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(tmp_path / "logs"),
        "SPARK_PID_DIR": str(tmp_path / "pids"),
        "SPARK_WORKER_DIR": str(tmp_path / "work"),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DAEMON_JAVA_OPTS": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    }
    for key in ("SPARK_MASTER", "SPARK_REMOTE", "PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET"):
        env.pop(key, None)
    return env


class Processes:
    """Processes started by a test, each in its own process group, all stopped at the end."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.started = []

    def start(self, name, command, env):
        log = self.tmp_path / f"{name}.log"
        handle = open(log, "wb")
        process = subprocess.Popen(
            command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((process, handle))
        return process, log

    def stop_all(self):
        for process, _ in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process, handle in reversed(self.started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            handle.close()
        return [process.poll() is not None for process, _ in self.started]


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    stopped = started.stop_all()
    assert all(stopped), "a server started by the test is still running"


def run_pipeline(**env_overrides):
    # Four partitions of the bundled candles: k-means|| samples each, so identical flags
    # on every master show that the partitioning, not one partition, pins the result.
    env = {**os.environ, "PIPELINE_PARTITIONS": "4", **env_overrides}
    for key in ("SPARK_MASTER", "SPARK_REMOTE", "DATA_PATH"):
        if key not in env_overrides:
            env.pop(key, None)
    result = subprocess.run(
        [sys.executable, str(PIPELINE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def local_result():
    return run_pipeline(SPARK_MASTER="local[2]")


def test_standalone_cluster_flags_the_same_rows_as_local_mode(processes, tmp_path, local_result):
    env = server_env(tmp_path)
    port, ui_port, worker_ui = free_port(), free_port(), free_port()
    spark_class = str(spark_home() / "bin" / "spark-class")
    master, master_log = processes.start(
        "master",
        [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui_port),
        ],
        env,
    )
    wait_for_port(port, process=master, log=master_log)
    url = f"spark://127.0.0.1:{port}"
    worker, worker_log = processes.start(
        "worker",
        [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            url,
            "--host",
            "127.0.0.1",
            "--cores",
            "2",
            "--memory",
            "1g",
            "--webui-port",
            str(worker_ui),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        env,
    )
    deadline = time.monotonic() + 120
    while "Successfully registered with master" not in tail(worker_log, 200):
        assert worker.poll() is None, tail(worker_log)
        assert time.monotonic() < deadline, tail(worker_log)
        time.sleep(0.5)

    on_cluster = run_pipeline(SPARK_MASTER=url)

    assert on_cluster["partitions"] == local_result["partitions"] == 4
    assert on_cluster["flagged"] == local_result["flagged"]
    assert on_cluster["cluster_sizes"] == local_result["cluster_sizes"]
    assert on_cluster["costs"] == pytest.approx(local_result["costs"], rel=1e-12)
    assert on_cluster["threshold"] == pytest.approx(local_result["threshold"], rel=1e-12)
    assert on_cluster["flagged"]["count"] > 0
    # The application really ran on the cluster's executors.
    assert "Launching executor" in tail(worker_log, 400) or "executor" in tail(worker_log, 400)


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("grpc", "grpc_status", "zstandard")),
    reason="Spark Connect needs the 'connect' extras (grpcio, grpcio-status, zstandard)",
)
def test_spark_connect_flags_the_same_rows_as_local_mode(processes, tmp_path, local_result):
    env = server_env(tmp_path)
    port = free_port()
    server, server_log = processes.start(
        "connect",
        [
            str(spark_home() / "sbin" / "start-connect-server.sh"),
            "--wait",
            "--master",
            "local[2]",
            "--conf",
            f"spark.connect.grpc.binding.port={port}",
            "--conf",
            "spark.connect.grpc.binding.address=127.0.0.1",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.extraJavaOptions=-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
        ],
        env,
    )
    wait_for_port(port, process=server, log=server_log)

    over_connect = run_pipeline(SPARK_REMOTE=f"sc://127.0.0.1:{port}")

    assert over_connect["flagged"] == local_result["flagged"]
    assert over_connect["cluster_sizes"] == local_result["cluster_sizes"]
    assert over_connect["threshold"] == pytest.approx(local_result["threshold"], rel=1e-12)
