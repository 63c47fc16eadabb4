"""course_helpers.spark and the Spark checks, on one local[2] session for the module.

References are computed independently with NumPy and SciPy from values
collected out of Spark.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from spark_pipeline import TEST_CONFIG

from course_helpers.checks import CheckFailed
from course_helpers.checks import spark_gmm as gmm_checks
from course_helpers.checks import spark_kmeans as kmeans_checks
from course_helpers.setup.java import JavaNotFoundError, java_major_version
from course_helpers.spark import (
    distance_to_centre,
    driver_memory,
    get_spark,
    gmm_parameters,
    jvm_log_path,
    max_posterior,
    mixture_log_likelihood,
    results_path,
    spark_error_summary,
    spark_mode,
)
from course_helpers.spark_data import load_features
from course_helpers.spark_lesson import FIRST_FLAGS, run_pipeline, scale_features

HERE = Path(__file__).resolve().parent

if (java_major_version() or 0) < 17:
    pytest.skip("Spark 4 needs Java 17", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    session = get_spark("course-tests", master="local[2]", config=TEST_CONFIG)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def scaled(spark):
    df, _ = load_features(spark, HERE.parent / "data" / "btcusdt_1h_synthetic.csv")
    return scale_features(df)


@pytest.fixture(scope="module")
def kmeans_scored(scaled):
    from pyspark.ml.clustering import KMeans

    model = KMeans(k=3, featuresCol="features", predictionCol="cluster", seed=4).fit(scaled)
    return model, model.transform(scaled)


@pytest.fixture(scope="module")
def gmm_scored(scaled):
    from pyspark.ml.clustering import GaussianMixture

    model = GaussianMixture(k=3, featuresCol="features", predictionCol="cluster", seed=2).fit(
        scaled
    )
    return model, model.transform(scaled)


def collect(df, *columns):
    rows = df.select(*columns).collect()
    out = []
    for column in columns:
        values = [row[column] for row in rows]
        if hasattr(values[0], "toArray"):
            out.append(np.array([v.toArray() for v in values]))
        else:
            out.append(np.array(values, dtype=float))
    return out


# --- the session factory -------------------------------------------------------------


def test_session_runs_python_workers_with_this_interpreter(spark):
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    # get_spark sets it to this interpreter unless the user chose one before.
    assert os.environ.get("PYSPARK_PYTHON")
    # A Python UDF (Arrow-based since pyspark 4.2) runs, so the workers found pyarrow.
    where = F.udf(lambda _: sys.executable, StringType())
    (row,) = spark.range(1).select(where("id").alias("python")).collect()
    assert row["python"] == os.environ["PYSPARK_PYTHON"]
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_get_spark_points_python_workers_at_this_interpreter(spark, monkeypatch):
    monkeypatch.delenv("PYSPARK_PYTHON")
    monkeypatch.delenv("PYSPARK_DRIVER_PYTHON", raising=False)
    again = get_spark("course-tests", master="local[2]", config=TEST_CONFIG)
    assert again.sparkContext is spark.sparkContext  # the running session is reused
    assert os.environ["PYSPARK_PYTHON"] == sys.executable
    assert os.environ["PYSPARK_DRIVER_PYTHON"] == sys.executable


def test_jvm_output_goes_to_the_log_file_not_the_notebook(spark):
    # The JVM's start-up banner (log4j profile, log level notice) went to the file.
    assert "log4j" in Path(jvm_log_path()).read_text(errors="replace")


def test_missing_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java-here"))
    with pytest.raises(JavaNotFoundError, match="Java 17"):
        get_spark("never-starts", master="local[1]")


def test_spark_mode_reads_the_environment(monkeypatch):
    monkeypatch.delenv("SPARK_MASTER", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    assert spark_mode() == ("master", "local[*]")
    monkeypatch.setenv("SPARK_MASTER", "spark://head:7077")
    assert spark_mode() == ("master", "spark://head:7077")
    monkeypatch.setenv("SPARK_REMOTE", "sc://head:15002")
    assert spark_mode() == ("remote", "sc://head:15002")
    assert spark_mode(master="local[1]") == ("master", "local[1]")


def test_results_path(monkeypatch):
    monkeypatch.delenv("RESULTS_PATH", raising=False)
    assert results_path("kmeans_results") == "results/kmeans_results"
    monkeypatch.setenv("RESULTS_PATH", "s3a://bucket/run1/")
    assert results_path("kmeans_results") == "s3a://bucket/run1/kmeans_results"
    with pytest.raises(ValueError, match="'a/b'"):
        results_path("a/b")


# --- the native scores ---------------------------------------------------------------


def test_distance_to_centre_matches_numpy(kmeans_scored):
    model, scored = kmeans_scored
    centres = np.array(model.clusterCenters())
    features, clusters, distance = collect(
        scored.withColumn("distance", distance_to_centre(centres)),
        "features",
        "cluster",
        "distance",
    )
    expected = np.linalg.norm(features - centres[clusters.astype(int)], axis=1)
    np.testing.assert_allclose(distance, expected, rtol=1e-12)
    # k-means assigns the nearest centre, so this is also the smallest of all distances.
    nearest = np.linalg.norm(features[:, None, :] - centres[None], axis=2).min(axis=1)
    np.testing.assert_allclose(distance, nearest, rtol=1e-12)


def test_distance_to_centre_validates_centres():
    with pytest.raises(ValueError, match="2-D"):
        distance_to_centre([1.0, 2.0])


def test_max_posterior_matches_numpy(gmm_scored):
    _, scored = gmm_scored
    probability, best = collect(scored.withColumn("best", max_posterior()), "probability", "best")
    np.testing.assert_array_equal(best, probability.max(axis=1))


def test_mixture_log_likelihood_matches_scipy(gmm_scored):
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    model, scored = gmm_scored
    weights, means, covariances = gmm_parameters(model)
    assert weights.shape == (3,) and means.shape == (3, 6) and covariances.shape == (3, 6, 6)
    features, probability, log_likelihood = collect(
        scored.withColumn("ll", mixture_log_likelihood(weights, means, covariances)),
        "features",
        "probability",
        "ll",
    )
    per_component = np.column_stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(features)
            for w, m, c in zip(weights, means, covariances, strict=True)
        ]
    )
    expected = logsumexp(per_component, axis=1)
    # return and log_return are almost collinear, so the covariances are ill-conditioned:
    # two correct methods (Cholesky here, SciPy's eigendecomposition) agree to ~1e-9.
    np.testing.assert_allclose(log_likelihood, expected, rtol=1e-7, atol=1e-7)
    # The same components give Spark's own posterior probabilities back.
    np.testing.assert_allclose(np.exp(per_component - expected[:, None]), probability, atol=1e-6)


def test_log_likelihood_ranks_far_outliers_where_the_posterior_cannot(spark, gmm_scored):
    from pyspark.ml.linalg import Vectors

    model, _ = gmm_scored
    weights, means, covariances = gmm_parameters(model)
    far = spark.createDataFrame(
        [(1, Vectors.dense(np.full(6, 400.0))), (2, Vectors.dense(np.full(6, 800.0)))],
        ["id", "features"],
    )
    rows = (
        model.transform(far)
        .select(
            "id",
            max_posterior().alias("p"),
            mixture_log_likelihood(weights, means, covariances).alias("ll"),
        )
        .orderBy("id")
        .collect()
    )
    # Every density underflows: Spark's epsilon makes the posterior uniform (1/k) ...
    assert [row["p"] for row in rows] == pytest.approx([1 / 3, 1 / 3])
    # ... while the log-likelihood stays finite and keeps ranking the rows.
    assert all(np.isfinite(row["ll"]) for row in rows)
    assert rows[1]["ll"] < rows[0]["ll"] < -1e4


@pytest.mark.parametrize(
    ("weights", "match"),
    [([0.5, 0.6], "sum to 1"), ([1.0, 0.0], "positive"), ([[0.5, 0.5]], "1-D")],
)
def test_mixture_log_likelihood_validates_weights(weights, match):
    means, covariances = np.zeros((2, 2)), np.stack([np.eye(2)] * 2)
    with pytest.raises(ValueError, match=match):
        mixture_log_likelihood(weights, means, covariances)


def test_mixture_log_likelihood_names_a_degenerate_component(spark):
    covariances = np.stack([np.eye(2), np.zeros((2, 2))])
    with pytest.raises(ValueError, match="component 1"):
        mixture_log_likelihood([0.5, 0.5], np.zeros((2, 2)), covariances)


# --- determinism ---------------------------------------------------------------------


def run_script(timeout=300, **env_overrides):
    """tests/spark_pipeline.py in a fresh process; its JSON line."""
    env = {**os.environ, **env_overrides}
    for key in ("SPARK_MASTER", "SPARK_REMOTE", "DATA_PATH", "SPARK_DRIVER_MEMORY"):
        if key not in env_overrides:
            env.pop(key, None)
    result = subprocess.run(
        [sys.executable, str(HERE / "spark_pipeline.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pipeline_gives_the_same_result_on_one_and_two_cores(spark):
    # Four partitions of the bundled candles: k-means|| samples each one, so the result
    # would change with the cores if the partitions did.
    on_two = run_pipeline(spark, partitions=4)
    on_one = run_script(SPARK_MASTER="local[1]", PIPELINE_PARTITIONS="4")
    # The same clusters and the same flagged rows. The costs and the threshold are sums
    # whose per-partition parts the driver adds in the order the tasks finish: they may
    # differ in the last bit, never more.
    assert on_one["flagged"] == on_two["flagged"]
    assert on_one["cluster_sizes"] == on_two["cluster_sizes"]
    assert on_one["costs"] == pytest.approx(on_two["costs"], rel=1e-12)
    assert on_one["threshold"] == pytest.approx(on_two["threshold"], rel=1e-12)
    assert on_two["rows"] == 976 and on_two["partitions"] == 4
    assert sum(on_two["cluster_sizes"]) == 976 and on_two["flagged"]["count"] > 0


def test_pipeline_runs_a_few_hundred_thousand_rows_with_default_memory(tmp_path):
    from course_helpers.market_generator import write_candles_parquet

    data = write_candles_parquet(tmp_path / "candles", 150_000, symbols=["AAAUSDT", "BBBUSDT"])
    output = tmp_path / "results"
    result = run_script(
        SPARK_MASTER="local[2]",
        DATA_PATH=str(data),
        PIPELINE_DEFAULTS="1",
        PIPELINE_OUTPUT=str(output),
        timeout=600,
    )
    assert result["rows"] == 2 * (150_000 - 24) and result["partitions"] == 2
    # The flash crash of each series (row 62% of 150,000) is flagged in the written results;
    # they hold every row, and the flagged ones agree with the count the run returned.
    import pyarrow.parquet as pq

    written = pq.read_table(output, columns=["symbol", "timestamp", "is_anomaly"]).to_pandas()
    # Spark writes instants (UTC); the generator's hours are UTC wall-clock times.
    if written["timestamp"].dt.tz is not None:
        written["timestamp"] = written["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    assert len(written) == result["rows"]
    assert written["is_anomaly"].sum() == result["flagged"]["count"] > 0
    assert len(result["flagged"]["first"]) == FIRST_FLAGS
    crash = pd.Timestamp("2025-12-10") + pd.Timedelta(hours=93_000)
    for symbol in ("AAAUSDT", "BBBUSDT"):
        row = written[(written["symbol"] == symbol) & (written["timestamp"] == crash)]
        assert row["is_anomaly"].tolist() == [1], symbol


# --- memory -------------------------------------------------------------------------------


def test_driver_memory_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("SPARK_DRIVER_MEMORY", raising=False)
    assert driver_memory() == "2g"
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "6g")
    assert driver_memory() == "6g"
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "lots")
    with pytest.raises(ValueError, match="'lots'"):
        driver_memory()


OOM_SCRIPT = """
import sys
from pyspark.sql import functions as F
from course_helpers.spark import SparkJVMDiedError, get_spark
spark = get_spark("course-oom", master="local[1]")
try:
    # One task gathers 200 million numbers into one array: far beyond a 512 MB heap.
    spark.range(0, 200_000_000, numPartitions=1).agg(F.size(F.collect_list("id"))).first()
except SparkJVMDiedError as error:
    print("DIED:", error)
try:
    get_spark("course-oom-again", master="local[1]")
except SparkJVMDiedError as error:
    print("AGAIN:", error)
"""


def test_a_jvm_out_of_memory_is_a_clear_error_not_a_hang():
    env = {**os.environ, "SPARK_DRIVER_MEMORY": "512m"}
    env.pop("SPARK_MASTER", None)
    # The timeout only guards against the old hang; the error comes within seconds.
    result = subprocess.run(
        [sys.executable, "-c", OOM_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = result.stdout.splitlines()
    died = next(line for line in lines if line.startswith("DIED:"))
    assert "ran out of memory" in died and "spark.driver.memory=512m" in died
    assert "SPARK_DRIVER_MEMORY" in died
    assert any(line.startswith("AGAIN:") for line in lines)  # no silent reuse of a dead JVM


def test_spark_error_summary_is_one_short_line(spark):
    from pyspark.sql import functions as F

    with pytest.raises(Exception) as info:
        spark.range(3).select(
            F.element_at(F.array(F.lit(1.0)), (F.col("id") * 0).cast("int"))
        ).collect()
    summary = spark_error_summary(info.value)
    assert summary.startswith("INVALID_INDEX_OF_ZERO")
    assert "\n" not in summary and len(summary) <= 240
    assert "\n" in str(info.value).strip()  # the full text goes on with the JVM call site


# --- the checks reject the typical wrong answers -------------------------------------


def test_kmeans_distance_check(kmeans_scored):
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    model, scored = kmeans_scored
    centres = np.array(model.clusterCenters())
    right = distance_to_centre(centres)
    kmeans_checks.distance_column(scored.withColumn("distance", right), kmeans_model=model)

    with pytest.raises(CheckFailed, match="squared"):
        kmeans_checks.distance_column(
            scored.withColumn("distance", right * right), kmeans_model=model
        )
    wrong_centre = distance_to_centre(centres[[1, 2, 0]])
    with pytest.raises(CheckFailed, match="element_at counts from 1"):
        kmeans_checks.distance_column(
            scored.withColumn("distance", wrong_centre), kmeans_model=model
        )
    with pytest.raises(CheckFailed, match="no column 'distance'"):
        kmeans_checks.distance_column(scored, kmeans_model=model)
    as_udf = F.udf(lambda v, c: float(np.linalg.norm(np.array(v) - centres[c])), DoubleType())
    with pytest.raises(CheckFailed, match="Python UDF"):
        kmeans_checks.distance_column(
            scored.withColumn("distance", as_udf(vector_to_array("features"), "cluster")),
            kmeans_model=model,
        )


def test_kmeans_best_seed_check(scaled):
    from pyspark.ml.clustering import KMeans

    seeds = [42, 1, 4]
    models = {
        s: KMeans(k=3, featuresCol="features", predictionCol="cluster", seed=s).fit(scaled)
        for s in seeds
    }
    costs = {s: m.summary.trainingCost for s, m in models.items()}
    best, worst = min(costs, key=costs.get), max(costs, key=costs.get)
    assert costs[best] < costs[worst]
    kmeans_checks.best_seed(costs, kmeans_model=models[best], seeds=seeds, df_scaled=scaled)
    with pytest.raises(CheckFailed, match="highest cost"):
        kmeans_checks.best_seed(costs, kmeans_model=models[worst], seeds=seeds, df_scaled=scaled)
    with pytest.raises(CheckFailed, match="one entry per seed"):
        kmeans_checks.best_seed(
            {best: costs[best]}, kmeans_model=models[best], seeds=seeds, df_scaled=scaled
        )


def test_gmm_checks(gmm_scored):
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    model, scored = gmm_scored
    probability = vector_to_array("probability")
    right = scored.withColumn("max_probability", F.array_max(probability))
    gmm_checks.max_probability_column(right)
    with pytest.raises(CheckFailed, match="smallest"):
        gmm_checks.max_probability_column(
            scored.withColumn("max_probability", F.array_min(probability))
        )
    with pytest.raises(CheckFailed, match="one component"):
        gmm_checks.max_probability_column(
            scored.withColumn("max_probability", F.element_at(probability, 1))
        )

    weights, means, covariances = gmm_parameters(model)
    scored_ll = right.withColumn(
        "log_likelihood", mixture_log_likelihood(weights, means, covariances)
    )
    low = scored_ll.approxQuantile("log_likelihood", [0.05], 0.0)[0]
    high = scored_ll.approxQuantile("log_likelihood", [0.95], 0.0)[0]

    def flagged(threshold, below=True):
        condition = (
            F.col("log_likelihood") < threshold if below else F.col("log_likelihood") >= threshold
        )
        return scored_ll.withColumn("anomaly_loglik", F.when(condition, 1).otherwise(0))

    gmm_checks.loglik_flags(flagged(low), loglik_threshold=low, low_fraction=0.05)
    with pytest.raises(CheckFailed, match="LOWEST"):
        gmm_checks.loglik_flags(flagged(high), loglik_threshold=high, low_fraction=0.05)
    with pytest.raises(CheckFailed, match="upside down"):
        gmm_checks.loglik_flags(flagged(low, below=False), loglik_threshold=low, low_fraction=0.05)
