"""Spark for the course: one way to start a session, and per-row scores without Python UDFs.

:func:`get_spark` starts the session the notebooks use. The same call runs
embedded (``local[*]``), on a standalone or YARN/Kubernetes cluster
(``SPARK_MASTER``), or against a Spark Connect server (``SPARK_REMOTE``), so
a notebook moves to a cluster with no code change.

The score functions return :class:`pyspark.sql.Column` expressions that the
JVM evaluates: no row is shipped to a Python worker, which makes them tens of
times faster than the seed notebooks' Python UDFs (see
``benchmarks/bench_spark_distance.py``).

* :func:`distance_to_centre`: Euclidean distance of each row to its assigned
  k-means centre.
* :func:`max_posterior`: the largest component probability of a Gaussian
  mixture (how *unambiguous* the assignment is).
* :func:`mixture_log_likelihood`: the log density of each row under the
  mixture (how *likely* the row is), from the model's weights and Gaussians.
"""

import contextlib
import os
import re
import sys
import tempfile

import numpy as np

from .setup.java import require_java

__all__ = [
    "DEFAULT_DRIVER_MEMORY",
    "DEFAULT_MASTER",
    "SparkJVMDiedError",
    "distance_to_centre",
    "get_spark",
    "gmm_parameters",
    "jvm_log_path",
    "max_posterior",
    "mixture_log_likelihood",
    "results_path",
    "spark_error_summary",
    "spark_mode",
]

#: The master used when neither ``SPARK_MASTER`` nor ``SPARK_REMOTE`` is set.
DEFAULT_MASTER = "local[*]"

#: The driver's heap when ``SPARK_DRIVER_MEMORY`` is not set. In local mode the
#: executors live in the driver JVM too, so this is all of Spark's memory. The data
#: never passes through the driver, so it need not grow with the data.
DEFAULT_DRIVER_MEMORY = "2g"

#: A JVM that runs out of memory exits at once instead of limping on: otherwise an
#: OutOfMemoryError can kill the scheduler's thread and leave Python waiting forever.
_EXIT_ON_OOM = "-XX:+ExitOnOutOfMemoryError"


class SparkJVMDiedError(RuntimeError):
    """The Spark driver JVM has exited (out of memory, or killed) under a running notebook."""


#: Settings every session gets. The UI is off (it costs start-up time and a
#: port per notebook); timestamps are shown in UTC on every machine; a small
#: data set needs few shuffle partitions.
_BASE_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def spark_mode(*, master=None, remote=None):
    """Return ``("remote", url)`` or ``("master", url)``: where a session would run.

    Explicit arguments win over the environment; ``SPARK_REMOTE`` wins over
    ``SPARK_MASTER``; the default is ``("master", "local[*]")``.
    """
    if remote:
        return "remote", remote
    if master:
        return "master", master
    if os.environ.get("SPARK_REMOTE"):
        return "remote", os.environ["SPARK_REMOTE"]
    if os.environ.get("SPARK_MASTER"):
        return "master", os.environ["SPARK_MASTER"]
    return "master", DEFAULT_MASTER


def _needs_local_jvm(mode, url):
    """Whether this session starts a JVM here: all but a Connect client to a remote server.

    ``remote="local[...]"`` starts a local Connect server, so it does need one.
    """
    return not (mode == "remote" and url.startswith("sc://"))


def driver_memory():
    """The driver memory to start with: ``$SPARK_DRIVER_MEMORY``, else ``DEFAULT_DRIVER_MEMORY``.

    Raises
    ------
    ValueError
        When the value is not a JVM size such as ``"4g"`` or ``"1536m"``.
    """
    value = os.environ.get("SPARK_DRIVER_MEMORY", "").strip() or DEFAULT_DRIVER_MEMORY
    if not re.fullmatch(r"[0-9]+[kmgt]?", value.lower()):
        raise ValueError(
            f"SPARK_DRIVER_MEMORY must be a JVM size such as '4g' or '1536m', got {value!r}"
        )
    return value


def _died_message(exit_code, memory):
    cause = "ran out of memory" if exit_code == 3 else f"exited with code {exit_code}"
    return (
        f"the Spark driver JVM {cause} (spark.driver.memory={memory}). Restart the kernel, "
        f"and raise the memory before Spark starts, e.g. SPARK_DRIVER_MEMORY=8g in the "
        f"environment (or config={{'spark.driver.memory': '8g'}} in get_spark); "
        f"the JVM's own output is in {jvm_log_path()}"
    )


def _watch_for_jvm_exit(memory):
    """Turn the Py4J error of a call whose JVM has died into a :class:`SparkJVMDiedError`.

    The gateway client of this process gets a wrapper around ``send_command``
    (the one door every JVM call goes through): when a call fails and the
    JVM process has exited, the error says so, with the setting to raise,
    instead of Py4J's "Answer from Java side is empty".
    """
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    client = getattr(gateway, "_gateway_client", None)
    if process is None or client is None or getattr(client, "_course_watched", False):
        return
    send = client.send_command

    def send_command(*args, **kwargs):
        try:
            return send(*args, **kwargs)
        except Exception as exc:
            try:
                process.wait(timeout=5)  # a dying JVM closes the socket just before it exits
            except Exception:
                raise exc from None
            raise SparkJVMDiedError(_died_message(process.returncode, memory)) from exc

    client.send_command = send_command
    client._course_watched = True


def _quiet_query_error_logs():
    """Stop PySpark printing each query error as a JSON line (kilobytes) on stderr.

    PySpark 4 logs an error with its query context before raising it; the
    exception carries the same message, so the notebook would show it twice,
    the log line first and longest.
    """
    import logging

    from pyspark.logger import PySparkLogger

    for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def _dead_jvm_exit_code():
    """The exit code of this process's Spark JVM if it has died, else None."""
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    return None if process is None else process.poll()


def jvm_log_path():
    """Return the file that receives the output of a JVM started by :func:`get_spark`."""
    return os.path.join(tempfile.gettempdir(), f"course-spark-jvm-{os.getpid()}.log")


@contextlib.contextmanager
def _jvm_output_to(path):
    """Point file descriptors 1 and 2 at ``path`` while a JVM is being spawned.

    The JVM inherits the descriptors it is started with. In Jupyter they are
    captured and shown in whatever cell runs, so Spark's start-up banner and
    native-library notices would land in random cells; the JVM keeps writing
    to ``path`` instead, and the kernel's own output is restored at once.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = []
    try:
        with open(path, "ab") as log:
            for fd in (1, 2):
                saved.append((fd, os.dup(fd)))
                os.dup2(log.fileno(), fd)
            yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


def _jvm_running():
    from pyspark import SparkContext

    return SparkContext._gateway is not None


def get_spark(
    app_name="anomaly-course",
    *,
    master=None,
    remote=None,
    config=None,
    log_level="ERROR",
    quiet_jvm=True,
):
    """Start (or return the running) SparkSession, embedded or on a cluster.

    Where it runs, first match wins:

    1. ``remote=`` or the environment variable ``SPARK_REMOTE`` (e.g.
       ``sc://spark-connect.example.org:15002``): a Spark Connect client;
    2. ``master=`` or ``SPARK_MASTER`` (e.g. ``spark://host:7077``, ``yarn``);
    3. ``local[*]``: embedded, one worker thread per core.

    Memory: the driver gets ``$SPARK_DRIVER_MEMORY`` (default
    :data:`DEFAULT_DRIVER_MEMORY`; in local mode this is all of Spark's
    memory), and the JVM exits at its first ``OutOfMemoryError``: the running
    call then raises :class:`SparkJVMDiedError` naming the setting to raise,
    instead of hanging with a half-dead scheduler. A later call to
    ``get_spark`` in the same kernel says the same until the kernel restarts.

    Before the JVM starts, it checks that Java 17 or newer is there (a clear
    :class:`~course_helpers.setup.java.JavaNotFoundError` instead of a Py4J
    traceback), and sets ``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON`` to
    this kernel's interpreter unless they are already set: otherwise the
    Python workers start the system ``python3``, which lacks pyarrow (Python
    UDFs use Arrow since pyspark 4.2). On a cluster whose machines keep
    Python elsewhere, set ``PYSPARK_PYTHON`` yourself before calling this.

    Parameters
    ----------
    app_name : str, default="anomaly-course"
        The application name shown by the cluster manager.
    master : str, default=None
        Overrides ``SPARK_MASTER``.
    remote : str, default=None
        Overrides ``SPARK_REMOTE``.
    config : dict of str to str, default=None
        Extra Spark settings, applied after the course's defaults.
    log_level : str, default="ERROR"
        Level of Spark's own log. Not applied over Spark Connect, where the
        server owns its log.
    quiet_jvm : bool, default=True
        Send the output of a JVM started here (start-up banner, native
        library notices, log lines) to the file :func:`jvm_log_path` instead
        of the notebook. Look there when something goes wrong in the JVM.

    Returns
    -------
    spark : pyspark.sql.SparkSession
    """
    if not isinstance(app_name, str) or not app_name:
        raise ValueError(f"app_name must be a non-empty string, got {app_name!r}")
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"config must be a dict of Spark settings, got {type(config).__name__}")
    mode, url = spark_mode(master=master, remote=remote)
    local_jvm = _needs_local_jvm(mode, url)
    if local_jvm:
        require_java()
        if _jvm_running() and _dead_jvm_exit_code() is not None:
            raise SparkJVMDiedError(_died_message(_dead_jvm_exit_code(), driver_memory()))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    builder = builder.remote(url) if mode == "remote" else builder.master(url)
    settings = dict(_BASE_CONFIG)
    if mode == "remote":
        # Static settings cannot be changed from a Connect client.
        settings = {
            k: v for k, v in settings.items() if k.startswith("spark.sql.") and "arrow" not in k
        }
    # Connect clients cannot set static settings: only a classic session gets these.
    starts_jvm = mode == "master" and not _jvm_running()
    if starts_jvm:
        settings["spark.driver.memory"] = driver_memory()
    settings.update(config or {})
    if starts_jvm:
        # Always exit on OutOfMemoryError, whatever other JVM options are asked for.
        for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
            options = settings.get(key, "")
            if _EXIT_ON_OOM not in options:
                settings[key] = f"{options} {_EXIT_ON_OOM}".strip()
    for key, value in settings.items():
        builder = builder.config(key, value)
    redirect = (
        _jvm_output_to(jvm_log_path()) if quiet_jvm and starts_jvm else contextlib.nullcontext()
    )
    try:
        with redirect:
            spark = builder.getOrCreate()
    except Exception as exc:
        if "JAVA_GATEWAY_EXITED" in str(exc) and quiet_jvm:
            raise RuntimeError(
                f"the Spark JVM exited while starting; its output is in {jvm_log_path()}"
            ) from exc
        raise
    if mode == "master":
        spark.sparkContext.setLogLevel(log_level)
    _quiet_query_error_logs()
    if mode == "master":
        _watch_for_jvm_exit(spark.sparkContext.getConf().get("spark.driver.memory", "1g"))
    return spark


def spark_error_summary(error, *, limit=240):
    """One short line for a Spark error: its error class and the first line of its message.

    Spark's exceptions carry the whole JVM stack trace in their text (kilobytes);
    a notebook that catches one shows this instead.

    Parameters
    ----------
    error : BaseException
    limit : int, default=240
        The most characters returned.
    """
    getter = getattr(error, "getCondition", None) or getattr(error, "getErrorClass", None)
    try:
        name = getter() if getter else None
    except Exception:
        name = None
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    # Spark prefixes the message with "[CLASS] "; keep it once.
    if name and text.startswith(f"[{name}]"):
        text = text[len(name) + 2 :].strip()
    line = f"{name or type(error).__name__}: {text}" if text else (name or type(error).__name__)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def results_path(name, *, default="results"):
    """Return where a notebook saves its results: ``$RESULTS_PATH/name``.

    Parameters
    ----------
    name : str
        The results' own folder, e.g. ``"kmeans_results"``.
    default : str, default="results"
        The base folder when ``RESULTS_PATH`` is not set (relative to the
        notebook; git ignores it).

    Returns
    -------
    str
        A string rather than a Path, so that cluster URLs such as
        ``s3a://bucket/run1`` or ``hdfs:///course`` survive intact. Spark's
        writer creates the folder.
    """
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a plain folder name, got {name!r}")
    base = os.environ.get("RESULTS_PATH") or default
    return base.rstrip("/") + "/" + name


def _literal_array(values):
    from pyspark.sql import functions as F

    return F.array(*[F.lit(float(v)) for v in values])


def distance_to_centre(centres, *, features_col="features", cluster_col="cluster"):
    """Column: Euclidean distance from each row's features to its assigned centre.

    The JVM evaluates it (no Python worker), coordinate by coordinate::

        x = vector_to_array(features)
        sqrt((x[1] - element_at(array(c[0][0], c[1][0], ...), cluster + 1))^2 + ...)

    Notebook 01 teaches the same distance with ``zip_with`` and ``aggregate``
    on whole arrays. That form is shorter to write, but Spark evaluates its
    lambdas without code generation; plain arithmetic on the coordinates is
    compiled, and about twice as fast (``benchmarks/bench_spark_distance.py``
    times both). Both add the squares in the same order, so they give the same
    numbers to the last bit.

    Parameters
    ----------
    centres : array-like of shape (n_clusters, n_features)
        The centres, e.g. ``kmeans_model.clusterCenters()``.
    features_col : str, default="features"
        The vector column the model was fitted on.
    cluster_col : str, default="cluster"
        The model's prediction column (0-based cluster index).

    Returns
    -------
    pyspark.sql.Column
    """
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    centres = np.asarray(centres, dtype=float)
    if centres.ndim != 2 or centres.shape[0] == 0:
        raise ValueError(f"centres must be 2-D (n_clusters, n_features), got shape {centres.shape}")
    if not np.isfinite(centres).all():
        raise ValueError("centres contain NaN or inf")
    features = vector_to_array(F.col(features_col))
    index = F.col(cluster_col) + 1  # SQL arrays count from 1, clusters from 0
    total = None
    for i in range(centres.shape[1]):
        # The i-th coordinate of the row's own centre, picked from a literal array.
        difference = F.element_at(features, i + 1) - F.element_at(
            _literal_array(centres[:, i]), index
        )
        square = difference * difference
        total = square if total is None else total + square
    return F.sqrt(total)


def max_posterior(probability_col="probability"):
    """Column: the largest component probability of a Gaussian mixture, per row.

    ``array_max(vector_to_array(probability))``. A low value means the row
    is *ambiguous* between components, not that it is unlikely: a row far
    from every component can still get a posterior near 1 for the nearest
    one (see :func:`mixture_log_likelihood` for the outlier score).
    """
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    return F.array_max(vector_to_array(F.col(probability_col)))


def gmm_parameters(model):
    """Return a fitted GaussianMixtureModel's ``(weights, means, covariances)`` as arrays.

    Works on a classic session and over Spark Connect (it reads
    ``model.weights`` and ``model.gaussiansDF``).

    Returns
    -------
    weights : ndarray of shape (k,)
    means : ndarray of shape (k, d)
    covariances : ndarray of shape (k, d, d)
    """
    weights = np.asarray(model.weights, dtype=float)
    rows = model.gaussiansDF.collect()
    means = np.array([row["mean"].toArray() for row in rows], dtype=float)
    covariances = np.array([row["cov"].toArray() for row in rows], dtype=float)
    return weights, means, covariances


def _component_log_densities(x, weights, means, covariances):
    """Columns log(w_k) + log N(x | mu_k, Sigma_k), one per component, as plain arithmetic."""
    from pyspark.sql import functions as F

    k, d = means.shape
    terms = []
    for j in range(k):
        # Sigma = L L^T, so (x-mu)^T Sigma^-1 (x-mu) = |L^-1 (x - mu)|^2. With P = L^-1,
        # row i of P(x - mu) is sum_m P[i, m] x_m - (P mu)_i: literal coefficients only.
        try:
            cholesky = np.linalg.cholesky(covariances[j])
        except np.linalg.LinAlgError:
            raise ValueError(
                f"the covariance of component {j} is not positive definite; "
                "the mixture has a degenerate component (try fewer components or more data)"
            ) from None
        whitening = np.linalg.inv(cholesky)
        shift = whitening @ means[j]
        log_det = 2.0 * np.log(np.diag(cholesky)).sum()
        constant = np.log(weights[j]) - 0.5 * (d * np.log(2 * np.pi) + log_det)
        squared = None
        for i in range(d):
            projection = F.lit(-float(shift[i]))
            for m in range(i + 1):  # P is lower triangular
                projection = projection + F.lit(float(whitening[i, m])) * x[m]
            term = projection * projection
            squared = term if squared is None else squared + term
        terms.append(F.lit(float(constant)) - 0.5 * squared)
    return terms


def mixture_log_likelihood(weights, means, covariances, *, features_col="features"):
    """Column: the log density of each row under a Gaussian mixture.

    ``log p(x) = log sum_k w_k N(x | mu_k, Sigma_k)``, evaluated by the JVM
    with the log-sum-exp trick (the largest term is factored out, so a far
    outlier gives a large negative number instead of ``log(0) = -inf``).
    Higher means more typical; the outliers are the *lowest* values.

    Unlike Spark's ``probability`` column, no epsilon is added to the
    densities, so the score keeps ranking rows that lie far from every
    component.

    Parameters
    ----------
    weights : array-like of shape (k,)
        Mixing weights, e.g. ``gmm_model.weights``.
    means : array-like of shape (k, d)
    covariances : array-like of shape (k, d, d)
        From :func:`gmm_parameters`.
    features_col : str, default="features"
        The vector column the mixture was fitted on.

    Returns
    -------
    pyspark.sql.Column
    """
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    if weights.ndim != 1 or len(weights) == 0:
        raise ValueError(f"weights must be 1-D and non-empty, got shape {weights.shape}")
    if (weights <= 0).any() or not np.isclose(weights.sum(), 1.0, atol=1e-6):
        raise ValueError(f"weights must be positive and sum to 1, got {weights.tolist()}")
    k = len(weights)
    if means.ndim != 2 or means.shape[0] != k:
        raise ValueError(f"means must have shape ({k}, d), got {means.shape}")
    d = means.shape[1]
    if covariances.shape != (k, d, d):
        raise ValueError(f"covariances must have shape ({k}, {d}, {d}), got {covariances.shape}")
    array = vector_to_array(F.col(features_col))
    x = [F.element_at(array, m + 1) for m in range(d)]
    terms = _component_log_densities(x, weights, means, covariances)
    if k == 1:
        return terms[0]
    top = F.greatest(*terms)
    total = None
    for term in terms:
        part = F.exp(term - top)
        total = part if total is None else total + part
    return top + F.log(total)
