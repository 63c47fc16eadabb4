"""Right and wrong answers for the checks of ."""

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


def test_spark_kmeans_distance_off_by_one_gets_a_hint(kmeans_runs):
    from course_helpers.checks import spark_kmeans

    df_scaled, _, models, _, _ = kmeans_runs
    model = models[1]
    centres = [np.asarray(c) for c in model.clusterCenters()]
    # element_at counts from 1: "cluster + 0" is the classic off-by-one
    clustered = model.transform(df_scaled).withColumn(
        "distance", _distance_expression(centres, offset=0)
    )
    rejects(spark_kmeans.distance_column, clustered, kmeans_model=model, match="counts from 1")


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
    df = spark.createDataFrame(
        [(float(s), float(p)) for s, p in zip(scores, rng.random(400), strict=True)],
        ["log_likelihood", "max_probability"],
    ).coalesce(1)
    low_fraction = 0.05
    threshold = float(np.sort(scores)[int(np.ceil(low_fraction * len(scores))) - 1])
    check = spark_gmm.loglik_flags

    def flagged(condition):
        return df.withColumn("anomaly_loglik", condition.cast("double"))

    below = F.col("log_likelihood") < threshold
    accepts(check, capsys, flagged(below), loglik_threshold=threshold, low_fraction=low_fraction)
    top = float(np.quantile(scores, 1 - low_fraction))
    rejects(
        check,
        flagged(F.col("log_likelihood") > top),
        loglik_threshold=top,
        low_fraction=low_fraction,
        match="LOWEST",
    )
    rejects(
        check,
        flagged(F.col("log_likelihood") < low_fraction),
        loglik_threshold=low_fraction,
        low_fraction=low_fraction,
        match="probability",
    )
    rejects(
        check,
        flagged(~below),
        loglik_threshold=threshold,
        low_fraction=low_fraction,
        match="upside down",
    )
