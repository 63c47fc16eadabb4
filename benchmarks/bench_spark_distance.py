"""How much faster is the native distance expression than the seed's Python UDF?

Both compute, for each of N rows, the Euclidean distance of a 6-feature vector
to its assigned k-means centre (3 centres):

* **UDF** (the seed notebook's way): a Python function, the centres broadcast,
  NumPy per row;
* **native, arrays** (notebook 01's exercise): ``vector_to_array``, ``zip_with``,
  ``aggregate`` and ``sqrt``, evaluated by the JVM (its lambdas are interpreted);
* **native, coordinates** (``course_helpers.spark.distance_to_centre``): the same
  sum written as plain arithmetic per coordinate, which Spark compiles.

Each is timed on the same cached DataFrame, reduced with ``sum`` so that every
row is computed and nothing is collected; the numbers are then compared row by
row. The ratio is printed against the UDF measured in the same run.

Usage::

    python benchmarks/bench_spark_distance.py              # 1,000,000 rows
    python benchmarks/bench_spark_distance.py --rows 100000 # a quick run
"""

import argparse
import sys
import time

import numpy as np


def build_data(spark, rows, *, seed=0):
    """A cached DataFrame of ``rows`` 6-D vectors with a k-means cluster, and its centres."""
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(3, 6))
    # Random vectors generated in the JVM (fast for 1M rows), assigned to a random centre:
    # the benchmark times the distance, not the clustering.
    columns = [F.randn(seed + j) for j in range(6)]
    df = (
        spark.range(rows)
        .select(
            array_to_vector(F.array(*columns)).alias("features"),
            (F.abs(F.hash("id")) % 3).cast("int").alias("cluster"),
        )
        .cache()
    )
    df.count()
    return df, centres


def time_sum(df, column):
    from pyspark.sql import functions as F

    start = time.perf_counter()
    total = df.select(F.sum(column)).first()[0]
    return time.perf_counter() - start, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per method; best kept")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeats < 1:
        parser.error("--rows and --repeats must be positive")

    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from course_helpers.spark import distance_to_centre, get_spark

    spark = get_spark("bench-spark-distance", config={"spark.driver.memory": "2g"})
    df, centres = build_data(spark, args.rows)

    # The seed's UDF, as written there: broadcast centres, NumPy per row.
    centres_broadcast = spark.sparkContext.broadcast(centres.tolist())

    def distance_to_center(features, cluster):
        center = centres_broadcast.value[cluster]
        diff = np.array(features) - np.array(center)
        return float(np.sqrt(np.sum(diff**2)))

    distance_udf = F.udf(distance_to_center, DoubleType())
    udf_column = distance_udf(F.col("features"), F.col("cluster"))
    native_column = distance_to_centre(centres)
    # Notebook 01's exercise: whole arrays with zip_with and aggregate.
    table = F.array(*[F.array(*[F.lit(float(x)) for x in centre]) for centre in centres])
    squares = F.zip_with(
        vector_to_array(F.col("features")),
        F.element_at(table, F.col("cluster") + 1),
        lambda a, b: (a - b) * (a - b),
    )
    arrays_column = F.sqrt(F.aggregate(squares, F.lit(0.0), lambda total, x: total + x))

    # Warm up every path (JIT, Python workers) on a small slice before timing.
    df.limit(1000).select(F.sum(udf_column), F.sum(native_column), F.sum(arrays_column)).first()
    udf_times, native_times, arrays_times = [], [], []
    for _ in range(args.repeats):
        udf_seconds, udf_total = time_sum(df, udf_column)
        native_seconds, native_total = time_sum(df, native_column)
        arrays_seconds, arrays_total = time_sum(df, arrays_column)
        udf_times.append(udf_seconds)
        native_times.append(native_seconds)
        arrays_times.append(arrays_seconds)

    # The same numbers, row by row (on a sample, to keep the driver's memory small).
    sample = (
        df.limit(200_000)
        .select(
            udf_column.alias("udf"), native_column.alias("native"), arrays_column.alias("arrays")
        )
        .toPandas()
    )
    # Relative difference, row by row: the same sums in another order may differ in the
    # last bit, never more than 1e-12 of the value.
    relative = np.maximum(
        np.abs(sample["udf"] - sample["native"]), np.abs(sample["udf"] - sample["arrays"])
    ) / np.abs(sample["udf"])
    max_difference = float(np.max(relative))
    equal = (
        max_difference <= 1e-12
        and np.isclose(udf_total, native_total, rtol=1e-12)
        and np.isclose(udf_total, arrays_total, rtol=1e-12)
    )

    udf_best, native_best, arrays_best = min(udf_times), min(native_times), min(arrays_times)
    print(
        f"rows: {args.rows:,}  cores: {spark.sparkContext.defaultParallelism}  "
        f"repeats: {args.repeats} (best kept)"
    )
    print(f"Python UDF (seed):        {udf_best:8.2f} s")
    print(f"native, arrays (nb 01):   {arrays_best:8.2f} s   ({udf_best / arrays_best:.1f}x)")
    print(f"native, coordinates:      {native_best:8.2f} s   (distance_to_centre)")
    print(
        f"max |UDF - native| / UDF: {max_difference:.1e} on {len(sample):,} rows "
        f"({'equal' if equal else 'DIFFERENT'})"
    )
    print(f"speed-up (UDF / distance_to_centre): {udf_best / native_best:.1f}x")
    spark.stop()
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
