"""The Spark notebooks' path as functions: for the tests, the benchmark and the cluster check.

The notebooks spell these steps out cell by cell, because they are the lesson;
this module runs the same steps, with the same settings, in one call, so that
the tests and ``benchmarks/bench_spark_pipeline.py`` measure exactly what the
notebooks do (from the file to the written results) without copying it.
"""

import time

#: The notebooks' settings.
K_CLUSTERS = 3
KMEANS_SEEDS = (42, 1, 2, 3, 4)
GMM_SEEDS = (42, 1, 2)
LOW_FRACTION = 0.05
#: How many flagged timestamps :func:`run_pipeline` returns (the earliest).
FIRST_FLAGS = 20

__all__ = [
    "FIRST_FLAGS",
    "GMM_SEEDS",
    "KMEANS_SEEDS",
    "K_CLUSTERS",
    "LOW_FRACTION",
    "best_gmm",
    "best_kmeans",
    "run_pipeline",
    "scale_features",
]


def scale_features(df):
    """``VectorAssembler`` + ``StandardScaler`` (mean 0, std 1) into ``features``; cached."""
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    from .market_data import FEATURE_COLUMNS

    assembled = VectorAssembler(
        inputCols=list(FEATURE_COLUMNS), outputCol="features_raw"
    ).transform(df)
    scaler = StandardScaler(
        inputCol="features_raw", outputCol="features", withMean=True, withStd=True
    )
    return scaler.fit(assembled).transform(assembled).cache()


def best_kmeans(df_scaled, *, k=K_CLUSTERS, seeds=KMEANS_SEEDS):
    """Fit k-means once per seed; return ``(model with the lowest cost, {seed: cost})``."""
    from pyspark.ml.clustering import KMeans

    kmeans = KMeans(k=k, featuresCol="features", predictionCol="cluster")
    costs, models = {}, {}
    for seed in seeds:
        models[seed] = kmeans.setSeed(seed).fit(df_scaled)
        costs[seed] = models[seed].summary.trainingCost
    return models[min(costs, key=costs.get)], costs


def best_gmm(df_scaled, *, k=K_CLUSTERS, seeds=GMM_SEEDS):
    """Fit a Gaussian mixture once per seed; return the one with the highest log-likelihood."""
    from pyspark.ml.clustering import GaussianMixture

    models = [
        GaussianMixture(k=k, featuresCol="features", predictionCol="gmm_cluster", seed=s).fit(
            df_scaled
        )
        for s in seeds
    ]
    return max(models, key=lambda m: m.summary.logLikelihood)


class _Clock:
    def __init__(self, timings):
        self.timings = timings

    def __call__(self, name, function):
        start = time.perf_counter()
        result = function()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
        return result


def run_pipeline(
    spark,
    path=None,
    *,
    output=None,
    with_gmm=False,
    kmeans_seeds=KMEANS_SEEDS,
    gmm_seeds=GMM_SEEDS,
    timings=None,
    partitions=None,
):
    """Notebook 01's path (and 02's log-likelihood): file -> features -> k-means -> flags.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    path : str or Path, default=None
        The candles (see :func:`course_helpers.spark_data.load_features`).
    output : str, default=None
        Where to write the results as Parquet; None writes nothing.
    with_gmm : bool, default=False
        Also fit the mixture and flag the lowest log-likelihoods (notebook 02).
    kmeans_seeds, gmm_seeds : sequence of int
    timings : dict, default=None
        When given, receives the wall time of each stage in seconds (each
        stage ends with a Spark action, so the times add up).
    partitions : int, default=None
        Passed to ``load_features``.

    Returns
    -------
    dict
        Plain values two runs can be compared with: rows, costs, cluster
        sizes, the threshold, ``flagged`` (``count``, an order-free
        ``checksum`` of the flagged ``symbol timestamp`` strings, and the
        ``first`` :data:`FIRST_FLAGS` of them: bounded, whatever the size),
        and with ``with_gmm`` the log-likelihood threshold and its flags.
    """
    from pyspark.sql import functions as F

    from .spark import distance_to_centre, gmm_parameters, mixture_log_likelihood
    from .spark_data import load_features

    clock = _Clock(timings)
    df, report = clock("read + features", lambda: load_features(spark, path, partitions=partitions))
    df_scaled = clock("scale", lambda: _materialise(scale_features(df)))
    model, costs = clock("k-means fits", lambda: best_kmeans(df_scaled, seeds=kmeans_seeds))
    scored = model.transform(df_scaled).withColumn(
        "distance", distance_to_centre(model.clusterCenters())
    )

    def threshold():
        stats = scored.agg(F.mean("distance").alias("m"), F.stddev("distance").alias("s")).first()
        return stats["m"] + 2 * stats["s"]

    cut = clock("distances + threshold", threshold)
    flagged_df = scored.withColumn("is_anomaly", (F.col("distance") > cut).cast("int"))
    stamp = F.concat_ws(" ", "symbol", F.date_format("timestamp", "yyyy-MM-dd HH:mm:ss"))

    def flags_and_sizes():
        # A count, an order-free checksum and the first few: two runs that flag different
        # rows differ in one of them, and the driver holds FIRST_FLAGS strings, not one per
        # flagged row (250,000 at 10 million rows). One pass gives the sizes too.
        is_flagged = F.col("is_anomaly") == 1
        per_cluster = (
            flagged_df.groupBy("cluster")
            .agg(
                F.count("*").alias("rows"),
                F.sum("is_anomaly").alias("flagged"),
                F.bit_xor(F.when(is_flagged, F.xxhash64(stamp))).alias("checksum"),
            )
            .orderBy("cluster")
            .collect()
        )
        first = flagged_df.filter(is_flagged).select(stamp.alias("t"))
        first = first.orderBy("t").limit(FIRST_FLAGS).collect()
        checksum = 0
        for row in per_cluster:
            checksum ^= row["checksum"] or 0
        flags = {
            "count": sum(row["flagged"] for row in per_cluster),
            "checksum": checksum,
            "first": [row["t"] for row in first],
        }
        return flags, [row["rows"] for row in per_cluster]

    flagged, sizes = clock("flags", flags_and_sizes)
    if output is not None:
        columns = ["symbol", "timestamp", "close", "return", "volume_change", "cluster"]
        clock(
            "write",
            lambda: (
                flagged_df.select(*columns, "distance", "is_anomaly")
                .write.mode("overwrite")
                .parquet(output)
            ),
        )
    result = {
        "rows": report.rows,
        "partitions": report.partitions,
        "costs": {str(seed): cost for seed, cost in costs.items()},
        "cluster_sizes": sizes,
        "threshold": cut,
        "flagged": flagged,
    }
    if with_gmm:
        gmm = clock("GMM fits", lambda: best_gmm(df_scaled, seeds=gmm_seeds))

        def loglik():
            weights, means, covariances = gmm_parameters(gmm)
            scores = df_scaled.select(
                stamp.alias("t"),
                mixture_log_likelihood(weights, means, covariances).alias("ll"),
            )
            low = scores.approxQuantile("ll", [LOW_FRACTION], 0.0)[0]
            n_flagged = scores.filter(F.col("ll") < low).count()
            return low, n_flagged

        result["loglik_threshold"], result["loglik_flagged"] = clock("log-likelihood", loglik)
    df_scaled.unpersist()
    df.unpersist()
    return result


def _materialise(df):
    df.count()
    return df
