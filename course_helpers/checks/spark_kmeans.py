"""Checks for notebook 01_spark_kmeans."""

import numpy as np

from . import fail_unless, passed
from ._spark_common import collect_arrays, require_columns, uses_python_udf


def best_seed(costs, *, kmeans_model, seeds, df_scaled, features_col="features"):
    """Exercise ``kmeans-best-seed``: one cost per seed, and the model with the lowest one."""
    fail_unless(
        isinstance(costs, dict),
        f"costs should be a dict {{seed: training cost}}, got {type(costs).__name__}",
    )
    seeds = list(seeds)
    fail_unless(
        sorted(costs) == sorted(seeds),
        f"costs should have one entry per seed in SEEDS ({seeds}); it has {sorted(costs)}",
    )
    values = np.array([costs[s] for s in seeds], dtype=float)
    fail_unless(
        np.isfinite(values).all() and (values > 0).all(),
        "every cost should be a positive number: use model.summary.trainingCost",
    )
    fail_unless(
        hasattr(kmeans_model, "clusterCenters") and hasattr(kmeans_model, "summary"),
        f"kmeans_model should be a fitted KMeansModel, got {type(kmeans_model).__name__}",
    )
    # Recompute the model's cost from the data: the sum of squared distances to the
    # nearest centre. This ties the model to df_scaled and to its own reported cost.
    features = collect_arrays(df_scaled, [features_col])[features_col]
    centres = np.asarray(kmeans_model.clusterCenters(), dtype=float)
    fail_unless(
        centres.shape[1] == features.shape[1],
        f"the model's centres have {centres.shape[1]} coordinates but {features_col!r} has "
        f"{features.shape[1]}: fit on the scaled features",
    )
    squared = ((features[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    model_cost = float(squared.sum())
    fail_unless(
        np.isclose(model_cost, kmeans_model.summary.trainingCost, rtol=1e-6),
        "kmeans_model was not fitted on df_scaled's scaled features: fit every seed on df_scaled",
    )
    fail_unless(
        np.any(np.isclose(values, model_cost, rtol=1e-9)),
        "kmeans_model's cost is not one of the costs you recorded: keep the model "
        "that belongs to the cost you chose",
    )
    if not np.isclose(model_cost, values.min(), rtol=1e-9):
        fail_unless(
            not np.isclose(model_cost, values.max(), rtol=1e-9),
            "you kept the model with the highest cost. The cost is a sum of squared "
            "distances: lower is better",
        )
        fail_unless(
            False,
            "kmeans_model is not the model with the lowest cost: compare all of them "
            "(min with a key) instead of keeping the last one fitted",
        )
    passed(f"{len(seeds)} seeds tried; the best cost is {values.min():.2f}")


def distance_column(df_clustered, *, kmeans_model, features_col="features", cluster_col="cluster"):
    """Exercise ``kmeans-distance``: a native ``distance`` column to the assigned centre."""
    require_columns(
        df_clustered,
        [features_col, cluster_col, "distance"],
        name="df_clustered",
        hint="add it with df_clustered.withColumn('distance', ...)",
    )
    fail_unless(
        not uses_python_udf(df_clustered, "distance"),
        "your distance is right only if it is computed by a Python UDF, which ships every row "
        "to Python: build it from Spark's own functions (vector_to_array, zip_with, aggregate)",
    )
    try:
        data = collect_arrays(df_clustered, [features_col, cluster_col, "distance"])
    except Exception as exc:  # Spark's own error, raised while computing the column
        message = str(exc)
        fail_unless(
            "INVALID_INDEX_OF_ZERO" not in message and "INVALID_ARRAY_INDEX" not in message,
            "Spark could not pick the centre: element_at counts from 1 (element_at(array, 1) "
            "is the first element), while the cluster numbers count from 0",
        )
        raise
    features, clusters, given = data[features_col], data[cluster_col].astype(int), data["distance"]
    fail_unless(
        np.isfinite(given).all(),
        "some distances are null or NaN: does every row find its centre? "
        "(SQL arrays count from 1, the cluster numbers from 0)",
    )
    centres = np.asarray(kmeans_model.clusterCenters(), dtype=float)
    differences = features - centres[clusters]
    expected = np.sqrt((differences**2).sum(axis=1))
    if np.allclose(given, expected, rtol=1e-9, atol=1e-12):
        passed(f"distance: {len(given)} rows, computed in the JVM, equal to NumPy's")
        return
    fail_unless(
        not np.allclose(given, expected**2, rtol=1e-9),
        "these are squared distances: take the square root of the sum",
    )
    for shift in range(1, len(centres)):
        other = np.sqrt(((features - centres[(clusters + shift) % len(centres)]) ** 2).sum(axis=1))
        fail_unless(
            not np.allclose(given, other, rtol=1e-9),
            "these are distances to another cluster's centre: element_at counts from 1, "
            "so cluster c is element c + 1",
        )
    fail_unless(
        not np.allclose(given, np.abs(differences).sum(axis=1), rtol=1e-9),
        "this is the Manhattan (absolute) distance: square the differences, sum, take the root",
    )
    fail_unless(
        False,
        "distance does not match the Euclidean distance from each row's scaled features "
        "to the centre of its own cluster",
    )
