"""Checks for notebook 01_spark_kmeans."""

import numpy as np

from . import fail_unless, run_check
from ._spark_common import collect_arrays, missing_columns, spark_error_class, uses_python_udf


def best_seed(costs, *, kmeans_model, seeds, df_scaled, features_col="features"):
    """Exercise ``kmeans-best-seed``: one cost per seed, and the model with the lowest one."""

    def answer():
        fitted = hasattr(kmeans_model, "clusterCenters") and hasattr(kmeans_model, "summary")
        return {
            "costs": costs,
            "model_type": type(kmeans_model).__name__,
            "centres": np.asarray(kmeans_model.clusterCenters(), dtype=float) if fitted else None,
            "model_cost": float(kmeans_model.summary.trainingCost) if fitted else None,
        }

    run_check(
        "kmeans-best-seed",
        answer=answer,
        reference=lambda: {
            "seeds": list(seeds),
            "features": collect_arrays(df_scaled, [features_col])[features_col],
        },
        judge=judge_best_seed,
    )


def judge_best_seed(answer, reference):
    """Judge the costs per seed and the model kept."""
    costs, seeds = answer["costs"], reference["seeds"]
    fail_unless(
        isinstance(costs, dict),
        f"costs should be a dict {{seed: training cost}}, got {type(costs).__name__}",
    )
    fail_unless(
        sorted(costs, key=str) == sorted(seeds, key=str),
        f"costs should have one entry per seed in SEEDS ({seeds}); it has {sorted(costs, key=str)}",
    )
    values = np.array([costs[s] for s in seeds], dtype=float)
    fail_unless(
        np.isfinite(values).all() and (values > 0).all(),
        "every cost should be a positive number: use model.summary.trainingCost",
    )
    fail_unless(
        answer["centres"] is not None,
        f"kmeans_model should be a fitted KMeansModel, got {answer['model_type']}",
    )
    # Recompute the model's cost from the data: the sum of squared distances to the
    # nearest centre. This ties the model to df_scaled and to its own reported cost.
    features, centres = reference["features"], answer["centres"]
    fail_unless(
        centres.ndim == 2 and centres.shape[1] == features.shape[1],
        f"the model's centres have {centres.shape[-1]} coordinates but the features have "
        f"{features.shape[1]}: fit on the scaled features",
    )
    squared = ((features[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    model_cost = float(squared.sum())
    fail_unless(
        np.isclose(model_cost, answer["model_cost"], rtol=1e-6),
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
    return f"{len(seeds)} seeds tried; the best cost is {values.min():.2f}"


def distance_column(df_clustered, *, kmeans_model, features_col="features", cluster_col="cluster"):
    """Exercise ``kmeans-distance``: a native ``distance`` column to the assigned centre."""
    columns = [features_col, cluster_col, "distance"]

    def answer():
        missing = missing_columns(df_clustered, columns)
        if missing is None:
            return {"type": type(df_clustered).__name__}
        if missing:
            return {"missing": missing[0]}
        try:
            distance = collect_arrays(df_clustered, ["distance"])["distance"]
        except Exception as exc:  # Spark's own error, raised while computing the column
            return {"spark_error": spark_error_class(exc)}
        return {"distance": distance, "python_udf": uses_python_udf(df_clustered, "distance")}

    def reference():
        data = collect_arrays(df_clustered, [features_col, cluster_col])
        return {
            "features": data[features_col],
            "clusters": data[cluster_col].astype(int),
            "centres": np.asarray(kmeans_model.clusterCenters(), dtype=float),
        }

    run_check("kmeans-distance", answer=answer, reference=reference, judge=judge_distance_column)


def judge_distance_column(answer, reference):
    """Judge the ``distance`` column against NumPy's distance to each row's own centre."""
    fail_unless(
        "type" not in answer,
        f"df_clustered should be a Spark DataFrame, got {answer.get('type')}",
    )
    fail_unless(
        "missing" not in answer,
        f"df_clustered has no column {answer.get('missing')!r} yet: add it with "
        "df_clustered.withColumn('distance', ...)",
    )
    error = answer.get("spark_error")
    fail_unless(
        error not in ("INVALID_INDEX_OF_ZERO", "INVALID_ARRAY_INDEX"),
        "Spark could not pick the centre: element_at counts from 1 (element_at(array, 1) "
        "is the first element), while the cluster numbers count from 0",
    )
    fail_unless(error is None, f"Spark could not compute the distance column ({error})")
    fail_unless(
        not answer["python_udf"],
        "distance is computed by a Python UDF, which ships every row to Python: build it "
        "from Spark's own functions instead (vector_to_array, zip_with, aggregate)",
    )
    given = answer["distance"]
    features, clusters, centres = reference["features"], reference["clusters"], reference["centres"]
    fail_unless(
        np.isfinite(given).all(),
        "some distances are null or NaN: does every row find its centre? "
        "(SQL arrays count from 1, the cluster numbers from 0)",
    )
    differences = features - centres[clusters]
    expected = np.sqrt((differences**2).sum(axis=1))
    fail_unless(
        given.shape == expected.shape,
        f"distance has {len(given)} values for {len(expected)} rows",
    )
    if np.allclose(given, expected, rtol=1e-9, atol=1e-12):
        return f"distance: {len(given)} rows, computed in the JVM, equal to NumPy's"
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


JUDGES = {"kmeans-best-seed": judge_best_seed, "kmeans-distance": judge_distance_column}
