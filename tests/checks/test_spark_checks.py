"""Right and wrong answers for the checks of 01_spark_kmeans and 02_spark_gmm."""

import numpy as np
import pytest
from check_harness import accepts, rejects
from sklearn.datasets import make_blobs

# --- 01_spark_kmeans and 02_spark_gmm ------------------------------------------------------


@pytest.fixture(scope="module")
def kmeans_runs(spark):
    from pyspark.ml.clustering import KMeans as SparkKMeans
    from pyspark.ml.linalg import Vectors

    X, _ = make_blobs(n_samples=200, centers=5, cluster_std=0.6, random_state=3)
    scaled = (X - X.mean(axis=0)) / X.std(axis=0)
    df_scaled = spark.createDataFrame(
        [(Vectors.dense(row),) for row in scaled], ["features"]
    ).coalesce(1)
    df_raw = spark.createDataFrame([(Vectors.dense(row),) for row in X], ["features"]).coalesce(1)
    seeds = [1, 2, 3, 4]
    models = {
        seed: SparkKMeans(k=3, seed=seed, maxIter=10, predictionCol="cluster").fit(df_scaled)
        for seed in seeds
    }
    costs = {seed: model.summary.trainingCost for seed, model in models.items()}
    raw_model = SparkKMeans(k=3, seed=1, predictionCol="cluster").fit(df_raw)
    return df_scaled, seeds, models, costs, raw_model


def test_spark_kmeans_best_seed(kmeans_runs, capsys):
    from course_helpers.checks import spark_kmeans

    df_scaled, seeds, models, costs, raw_model = kmeans_runs
    ordered = sorted(seeds, key=costs.get)
    assert costs[ordered[0]] < costs[ordered[1]] < costs[ordered[-1]], costs  # distinct optima
    check = spark_kmeans.best_seed
    options = dict(seeds=seeds, df_scaled=df_scaled)
    accepts(check, capsys, costs, kmeans_model=models[ordered[0]], **options)
    rejects(check, costs, kmeans_model=models[ordered[-1]], match="highest cost", **options)
    rejects(check, costs, kmeans_model=models[ordered[1]], match="lowest cost", **options)
    rejects(check, costs, kmeans_model=raw_model, match="not fitted on df_scaled", **options)
    rejects(
        check,
        {s: costs[s] for s in seeds[:-1]},
        kmeans_model=models[1],
        match="one entry per seed",
        **options,
    )
    rejects(check, list(costs.values()), kmeans_model=models[1], match="dict", **options)


def _distance_expression(centres, *, offset=1, squared=False):
    """The native distance a student builds from Spark's functions."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    table = F.array(*[F.array(*[F.lit(float(v)) for v in centre]) for centre in centres])
    squares = F.zip_with(
        vector_to_array("features"),
        F.element_at(table, F.col("cluster") + offset),
        lambda a, b: (a - b) * (a - b),
    )
    total = F.aggregate(squares, F.lit(0.0), lambda s, x: s + x)
    return total if squared else F.sqrt(total)


def test_spark_kmeans_distance_column(kmeans_runs, capsys):
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from course_helpers.checks import spark_kmeans

    df_scaled, _, models, _, _ = kmeans_runs
    model = models[1]
    centres = [np.asarray(c) for c in model.clusterCenters()]
    clustered = model.transform(df_scaled)
    check = spark_kmeans.distance_column

    def with_distance(column):
        return clustered.withColumn("distance", column)

    accepts(check, capsys, with_distance(_distance_expression(centres)), kmeans_model=model)
    # The course's helper: the same sum, coordinate by coordinate.
    from course_helpers.spark import distance_to_centre

    accepts(check, capsys, with_distance(distance_to_centre(centres)), kmeans_model=model)
    # Coordinates picked one by one with element_at, squared with pow.
    from pyspark.ml.functions import vector_to_array

    table = F.array(*[F.array(*[F.lit(float(v)) for v in centre]) for centre in centres])
    own = F.element_at(table, F.col("cluster") + 1)
    features = vector_to_array("features")
    by_coordinate = F.sqrt(
        sum(F.pow(F.element_at(features, i) - F.element_at(own, i), 2) for i in range(1, 3))
    )
    accepts(check, capsys, with_distance(by_coordinate), kmeans_model=model)
    # Wrong: the Manhattan distance, and the distance to the next cluster's centre.
    manhattan = F.aggregate(
        F.zip_with(features, own, lambda a, b: F.abs(a - b)), F.lit(0.0), lambda s, x: s + x
    )
    rejects(check, with_distance(manhattan), kmeans_model=model, match="Manhattan")
    shifted = [centres[(i + 1) % len(centres)] for i in range(len(centres))]
    rejects(
        check,
        with_distance(_distance_expression(shifted)),
        kmeans_model=model,
        match="another cluster's centre",
    )
    rejects(
        check,
        with_distance(_distance_expression(centres, squared=True)),
        kmeans_model=model,
        match="squared distances",
    )

    @F.udf(DoubleType())
    def python_distance(features, cluster):
        return float(np.linalg.norm(features.toArray() - centres[cluster]))

    rejects(
        check,
        with_distance(python_distance("features", "cluster")),
        kmeans_model=model,
        match="Python UDF",
    )
    rejects(check, clustered, kmeans_model=model, match="no column 'distance'")


def test_spark_kmeans_distance_off_by_one_gets_a_hint(kmeans_runs, capfd):
    from course_helpers.checks import spark_kmeans

    df_scaled, _, models, _, _ = kmeans_runs
    model = models[1]
    centres = [np.asarray(c) for c in model.clusterCenters()]
    # element_at counts from 1: "cluster + 0" is the classic off-by-one
    clustered = model.transform(df_scaled).withColumn(
        "distance", _distance_expression(centres, offset=0)
    )
    capfd.readouterr()
    rejects(spark_kmeans.distance_column, clustered, kmeans_model=model, match="counts from 1")
    # Only the hint: no JSON log line of the Spark error (kilobytes) above it.
    printed = capfd.readouterr()
    assert "errorClass" not in printed.err + printed.out, printed.err[:300]


@pytest.fixture(scope="module")
def gmm_scored(spark, kmeans_runs):
    from pyspark.ml.clustering import GaussianMixture

    df_scaled = kmeans_runs[0]
    model = GaussianMixture(k=3, seed=0).fit(df_scaled)
    return model.transform(df_scaled)


def test_spark_gmm_max_probability_column(gmm_scored, capsys):
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from course_helpers.checks import spark_gmm

    check = spark_gmm.max_probability_column
    probabilities = vector_to_array("probability")
    accepts(check, capsys, gmm_scored.withColumn("max_probability", F.array_max(probabilities)))
    greatest = F.greatest(*[F.element_at(probabilities, j) for j in range(1, 4)])
    accepts(check, capsys, gmm_scored.withColumn("max_probability", greatest))
    first_of_sorted = F.element_at(F.sort_array(probabilities, asc=False), 1)
    accepts(check, capsys, gmm_scored.withColumn("max_probability", first_of_sorted))
    rejects(
        check,
        gmm_scored.withColumn("max_probability", F.array_min(probabilities)),
        match="smallest",
    )
    rejects(
        check,
        gmm_scored.withColumn("max_probability", F.element_at(probabilities, 1)),
        match="one component",
    )
    python_max = F.udf(lambda v: float(max(v)), DoubleType())
    rejects(
        check,
        gmm_scored.withColumn("max_probability", python_max("probability")),
        match="Python UDF",
    )


def test_spark_gmm_loglik_flags(spark, capsys):
    from pyspark.sql import functions as F

    from course_helpers.checks import spark_gmm

    rng = np.random.default_rng(1)
    scores = rng.normal(-8, 3, size=400)
    # No max_probability column: the check must not need one (Exercise 1 may be skipped).
    df = spark.createDataFrame([(float(s),) for s in scores], ["log_likelihood"]).coalesce(1)
    low_fraction = 0.05
    exact = df.approxQuantile("log_likelihood", [low_fraction], 0.0)[0]
    check = spark_gmm.loglik_flags

    def flagged(condition):
        return df.withColumn("anomaly_loglik", condition.cast("double"))

    ll = F.col("log_likelihood")
    options = dict(low_fraction=low_fraction)
    # Right: the exact quantile with < or <= (it is one of the scores), NumPy's
    # interpolated quantile, and Spark's percentile_approx at full accuracy.
    accepts(check, capsys, flagged(ll < exact), loglik_threshold=exact, **options)
    accepts(check, capsys, flagged(ll <= exact), loglik_threshold=exact, **options)
    interpolated = float(np.quantile(scores, low_fraction))
    accepts(check, capsys, flagged(ll < interpolated), loglik_threshold=interpolated, **options)
    approx = df.agg(F.percentile_approx("log_likelihood", low_fraction, 1_000_000)).first()[0]
    accepts(check, capsys, flagged(ll < approx), loglik_threshold=approx, **options)
    as_int = df.withColumn("anomaly_loglik", F.when(ll < exact, 1).otherwise(0))
    accepts(check, capsys, as_int, loglik_threshold=exact, **options)
    # Wrong: the top quantile, a probability as threshold, flags upside down, a
    # quantile of the wrong fraction, flags that do not follow the threshold.
    top = float(np.quantile(scores, 1 - low_fraction))
    rejects(check, flagged(ll > top), loglik_threshold=top, match="LOWEST", **options)
    rejects(
        check,
        flagged(ll < low_fraction),
        loglik_threshold=low_fraction,
        match="probability",
        **options,
    )
    rejects(check, flagged(ll >= exact), loglik_threshold=exact, match="upside down", **options)
    tenth = float(np.quantile(scores, 0.10))
    rejects(check, flagged(ll < tenth), loglik_threshold=tenth, match="5% quantile", **options)
    rejects(
        check,
        flagged(ll < exact - 2),
        loglik_threshold=exact,
        match="exactly where log_likelihood < loglik_threshold",
        **options,
    )


def test_spark_kmeans_keeping_the_last_fitted_model_fails_in_the_notebook(tmp_path):
    """With the notebook's SEEDS, the last seed is not the best, so skipping the choice fails."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from notebook_run import ROOT, run_with_answer

    answer = (
        "costs = {}\n"
        "for seed in SEEDS:\n"
        "    kmeans_model = kmeans.setSeed(seed).fit(df_scaled)\n"
        "    costs[seed] = kmeans_model.summary.trainingCost\n"
    )
    ids = [
        c.get("id") for c in nbformat.read(ROOT / "solutions" / "01_spark_kmeans.ipynb", 4).cells
    ]
    later = ids[ids.index("check-kmeans-best-seed") + 1 :]
    with pytest.raises(CellExecutionError, match="not the model with the lowest cost"):
        run_with_answer(
            "01_spark_kmeans", "ex-kmeans-best-seed", answer, workdir=tmp_path, skip=later
        )
