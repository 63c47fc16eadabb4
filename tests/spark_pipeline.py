"""The k-means pipeline of notebook 01 as a function, and as a script for subprocesses.

The Spark tests compare its result across masters: ``local[1]``, ``local[2]``, a
standalone cluster and Spark Connect. Run as a script it starts its own session
(``get_spark`` reads ``SPARK_MASTER`` / ``SPARK_REMOTE`` like the notebooks) and
prints one JSON line::

    SPARK_MASTER=local[1] python tests/spark_pipeline.py
"""

import json
import sys

#: JVM options that make a test session start faster. Tests only: they slow down
#: long computations (no optimising JIT).
FAST_JVM = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
TEST_CONFIG = {
    "spark.driver.extraJavaOptions": FAST_JVM,
    "spark.executor.extraJavaOptions": FAST_JVM,
    "spark.executor.memory": "512m",
    "spark.sql.shuffle.partitions": "4",
}


def kmeans_pipeline(spark, features_pd, *, k=3, seeds=(42, 1, 2, 3, 4), partitions=1):
    """Notebook 01's steps: scale, best-of-seeds k-means, native distance, mean + 2σ.

    Returns a dict of plain values that two runs can be compared with.
    """
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.sql import functions as F

    from course_helpers.market_data import FEATURE_COLUMNS
    from course_helpers.spark import distance_to_centre

    df = spark.createDataFrame(features_pd).coalesce(partitions)
    df = VectorAssembler(inputCols=list(FEATURE_COLUMNS), outputCol="features_raw").transform(df)
    scaler = StandardScaler(
        inputCol="features_raw", outputCol="features", withMean=True, withStd=True
    )
    df_scaled = scaler.fit(df).transform(df).cache()
    costs, models = {}, {}
    for seed in seeds:
        models[seed] = KMeans(k=k, featuresCol="features", predictionCol="cluster", seed=seed).fit(
            df_scaled
        )
        costs[seed] = models[seed].summary.trainingCost
    model = models[min(costs, key=costs.get)]
    scored = model.transform(df_scaled).withColumn(
        "distance", distance_to_centre(model.clusterCenters())
    )
    stats = scored.agg(F.mean("distance").alias("m"), F.stddev("distance").alias("s")).first()
    threshold = stats["m"] + 2 * stats["s"]
    flagged = (
        scored.filter(F.col("distance") > threshold)
        .select(F.date_format("timestamp", "yyyy-MM-dd HH:mm:ss").alias("t"))
        .orderBy("t")
        .collect()
    )
    sizes = scored.groupBy("cluster").count().orderBy("cluster").collect()
    return {
        "rows": scored.count(),
        "costs": {str(seed): cost for seed, cost in costs.items()},
        "cluster_sizes": [row["count"] for row in sizes],
        "threshold": threshold,
        "flagged": [row["t"] for row in flagged],
    }


def main():
    from course_helpers.market_data import load_market_data
    from course_helpers.spark import get_spark

    spark = get_spark("course-test-pipeline", config=TEST_CONFIG)
    try:
        result = kmeans_pipeline(spark, load_market_data())
    finally:
        spark.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
