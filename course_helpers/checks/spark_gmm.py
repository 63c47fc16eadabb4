"""Checks for notebook 02_spark_gmm."""

import numpy as np

from . import fail_unless, passed
from ._spark_common import collect_arrays, require_columns, uses_python_udf


def max_probability_column(df_gmm, *, probability_col="probability"):
    """Exercise ``gmm-max-posterior``: a native ``max_probability`` column."""
    require_columns(
        df_gmm,
        [probability_col, "max_probability"],
        name="df_gmm",
        hint="add it with df_gmm.withColumn('max_probability', ...)",
    )
    fail_unless(
        not uses_python_udf(df_gmm, "max_probability"),
        "max_probability is computed by a Python UDF, which ships every row to Python: "
        "use Spark's own functions on the probability vector",
    )
    data = collect_arrays(df_gmm, [probability_col, "max_probability"])
    probabilities, given = data[probability_col], data["max_probability"]
    fail_unless(np.isfinite(given).all(), "some max_probability values are null or NaN")
    if np.allclose(given, probabilities.max(axis=1), rtol=1e-12):
        passed(f"max_probability: {len(given)} rows, computed in the JVM")
        return
    fail_unless(
        not np.allclose(given, probabilities.min(axis=1), rtol=1e-12),
        "this is the smallest component probability: the score is the largest one",
    )
    fail_unless(
        not any(
            np.allclose(given, probabilities[:, j], rtol=1e-12)
            for j in range(probabilities.shape[1])
        ),
        "this is one component's probability: take the largest over all components",
    )
    fail_unless(False, "max_probability should be, per row, the largest entry of probability")


def loglik_flags(df_gmm, *, loglik_threshold, low_fraction):
    """Exercise ``gmm-loglik-flags``: flag the ``low_fraction`` least likely rows."""
    require_columns(
        df_gmm,
        ["log_likelihood", "anomaly_loglik"],
        name="df_gmm",
        hint="flag the rows with df_gmm.withColumn('anomaly_loglik', ...)",
    )
    fail_unless(
        isinstance(loglik_threshold, (int, float, np.floating)) and np.isfinite(loglik_threshold),
        f"loglik_threshold should be a number, got {loglik_threshold!r}",
    )
    data = collect_arrays(df_gmm, ["log_likelihood", "anomaly_loglik", "max_probability"])
    scores, flags = data["log_likelihood"], data["anomaly_loglik"]
    fail_unless(
        set(np.unique(flags).tolist()) <= {0.0, 1.0},
        "anomaly_loglik should hold 1 (flagged) and 0 (not flagged)",
    )
    ordered = np.sort(scores)
    rank = int(np.ceil(low_fraction * len(scores)))
    lowest, highest = ordered[max(rank - 2, 0)], ordered[min(rank + 1, len(ordered) - 1)]
    if not lowest <= loglik_threshold <= highest:
        top = np.quantile(scores, 1 - low_fraction)
        fail_unless(
            not abs(loglik_threshold - top) <= abs(highest - lowest) + 1e-9,
            "this threshold sits at the top of the log-likelihoods: the unlikely rows are "
            "the ones with the LOWEST log-likelihood",
        )
        fail_unless(
            not (0 < loglik_threshold <= 1 and scores.min() < 0),
            "this threshold looks like a probability: take the quantile of log_likelihood",
        )
        fail_unless(
            False,
            f"loglik_threshold should be the {low_fraction:.0%} quantile of log_likelihood "
            "(use relativeError=0.0 for the exact one)",
        )
    expected = (scores < loglik_threshold).astype(float)
    fail_unless(
        not np.array_equal(flags, 1 - expected),
        "the flags are upside down: flag the rows BELOW the threshold",
    )
    fail_unless(
        np.array_equal(flags, expected),
        "anomaly_loglik should be 1 exactly where log_likelihood < loglik_threshold",
    )
    passed(f"{int(flags.sum())} rows flagged as the least likely under the mixture")
