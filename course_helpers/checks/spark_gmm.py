"""Checks for notebook 02_spark_gmm."""

import numpy as np

from . import fail_unless, run_check
from ._spark_common import collect_arrays, missing_columns, spark_error_class, uses_python_udf


def _column_answer(df, column, required):
    """The answer of a check on one new column: its values, or why there are none."""
    missing = missing_columns(df, required)
    if missing is None:
        return {"type": type(df).__name__}
    if missing:
        return {"missing": missing[0]}
    try:
        values = collect_arrays(df, [column])[column]
    except Exception as exc:
        return {"spark_error": spark_error_class(exc)}
    return {"values": values, "python_udf": uses_python_udf(df, column)}


def _require_column(answer, *, name, hint):
    fail_unless(
        "type" not in answer, f"{name} should be a Spark DataFrame, got {answer.get('type')}"
    )
    fail_unless(
        "missing" not in answer, f"{name} has no column {answer.get('missing')!r} yet: {hint}"
    )
    error = answer.get("spark_error")
    fail_unless(error is None, f"Spark could not compute the column ({error})")


def max_probability_column(df_gmm, *, probability_col="probability"):
    """Exercise ``gmm-max-posterior``: a native ``max_probability`` column."""
    run_check(
        "gmm-max-posterior",
        answer=lambda: _column_answer(
            df_gmm, "max_probability", [probability_col, "max_probability"]
        ),
        reference=lambda: {
            "probability": collect_arrays(df_gmm, [probability_col])[probability_col]
        },
        judge=judge_max_probability_column,
    )


def judge_max_probability_column(answer, reference):
    """Judge ``max_probability`` against the largest entry of each probability vector."""
    _require_column(
        answer, name="df_gmm", hint="add it with df_gmm.withColumn('max_probability', ...)"
    )
    fail_unless(
        not answer["python_udf"],
        "max_probability is computed by a Python UDF, which ships every row to Python: "
        "use Spark's own functions on the probability vector",
    )
    given, probabilities = answer["values"], reference["probability"]
    fail_unless(np.isfinite(given).all(), "some max_probability values are null or NaN")
    fail_unless(
        given.shape == (len(probabilities),), "max_probability should be one number per row"
    )
    if np.allclose(given, probabilities.max(axis=1), rtol=1e-12):
        return f"max_probability: {len(given)} rows, computed in the JVM"
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
    run_check(
        "gmm-loglik-flags",
        answer=lambda: {
            "threshold": loglik_threshold,
            **_column_answer(df_gmm, "anomaly_loglik", ["log_likelihood", "anomaly_loglik"]),
        },
        reference=lambda: {
            "scores": collect_arrays(df_gmm, ["log_likelihood"])["log_likelihood"],
            "low_fraction": low_fraction,
        },
        judge=judge_loglik_flags,
    )


def judge_loglik_flags(answer, reference):
    """Judge the threshold and the flags against the log-likelihoods' low quantile."""
    _require_column(
        answer, name="df_gmm", hint="flag the rows with df_gmm.withColumn('anomaly_loglik', ...)"
    )
    loglik_threshold, flags = answer["threshold"], answer["values"]
    scores, low_fraction = reference["scores"], reference["low_fraction"]
    fail_unless(
        isinstance(loglik_threshold, (int, float))
        and not isinstance(loglik_threshold, bool)
        and np.isfinite(loglik_threshold),
        f"loglik_threshold should be a number, got {loglik_threshold!r}",
    )
    fail_unless(
        flags.shape == scores.shape and set(np.unique(flags).tolist()) <= {0.0, 1.0},
        "anomaly_loglik should hold 1 (flagged) and 0 (not flagged), one per row",
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
    # At an exact quantile the threshold is one of the scores: "<" and "<=" differ by that
    # row, and both flag the lowest fraction, so both are right.
    below = (scores < loglik_threshold).astype(float)
    at_or_below = (scores <= loglik_threshold).astype(float)
    fail_unless(
        not (np.array_equal(flags, 1 - below) or np.array_equal(flags, 1 - at_or_below)),
        "the flags are upside down: flag the rows BELOW the threshold",
    )
    fail_unless(
        np.array_equal(flags, below) or np.array_equal(flags, at_or_below),
        "anomaly_loglik should be 1 exactly where log_likelihood < loglik_threshold",
    )
    return f"{int(flags.sum())} rows flagged as the least likely under the mixture"


JUDGES = {
    "gmm-max-posterior": judge_max_probability_column,
    "gmm-loglik-flags": judge_loglik_flags,
}
