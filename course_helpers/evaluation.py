"""Evaluating anomaly scores on held-out data: a threshold at a false-positive budget,
and bootstrap intervals for a metric.

Scores follow pyod's convention: **higher means more anomalous**, and a point is
flagged when its score is strictly above the threshold. Convert scikit-learn's
outputs first (``-score_samples``, ``-decision_function``); nothing here guesses.
"""

import numbers

import numpy as np

from ._validation import check_array, check_binary_labels

__all__ = ["bootstrap_interval", "threshold_at_fp_budget"]


def _check_fraction(value, *, name, low_open=True, high_open=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or np.isnan(value):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    too_low = value <= 0 if low_open else value < 0
    too_high = value >= 1 if high_open else value > 1
    if too_low or too_high:
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return float(value)


def threshold_at_fp_budget(scores_normal, *, max_fp_rate):
    """Return the lowest threshold that flags at most ``max_fp_rate`` of the normal scores.

    A point is flagged when ``score > threshold``. Of ``n`` normal scores, at most
    ``floor(max_fp_rate * n)`` lie above the returned threshold: it is the
    ``floor(max_fp_rate * n) + 1``-th largest normal score. Any lower threshold
    would flag more normal points than the budget allows; any higher one would
    flag fewer anomalies for nothing in return.

    Parameters
    ----------
    scores_normal : array-like of shape (n_samples,)
        Scores of points known to be normal, higher = more anomalous. Use a
        validation set: scores of the training points are optimistic, and a
        threshold chosen on the test set makes the test result meaningless.
    max_fp_rate : float in [0, 1)
        The share of normal points that may be flagged (0.01 for 1%).

    Returns
    -------
    threshold : float

    Raises
    ------
    ValueError
        If the scores are not a non-empty 1-D array of finite numbers, or the
        budget is not in [0, 1).

    Examples
    --------
    >>> threshold_at_fp_budget([0.1, 0.4, 0.2, 0.9, 0.3], max_fp_rate=0.2)
    0.4
    """
    scores = check_array(scores_normal, name="scores_normal", ndim=1)
    budget = _check_fraction(max_fp_rate, name="max_fp_rate", low_open=False)
    allowed = int(np.floor(budget * len(scores) + 1e-9))  # 0.01 * 300 is 3, not 2.9999
    return float(np.sort(scores)[len(scores) - 1 - allowed])


def bootstrap_interval(
    metric,
    y_true,
    *scores,
    n_resamples=1000,
    confidence=0.95,
    random_state=0,
):
    """Return a metric on the data and a bootstrap percentile interval around it.

    Each resample draws the normal points and the anomalies separately, with
    replacement, so every resample keeps both classes and their proportions.
    All score arrays are resampled with the same indices: with two detectors
    and a metric of their difference, the interval is that of the *gap*.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, *scores) -> float``, e.g. ``sklearn.metrics.roc_auc_score``.
    y_true : array-like of shape (n_samples,)
        1 or True for an anomaly, 0 or False for a normal point.
    *scores : array-like of shape (n_samples,)
        One or more score arrays, passed to ``metric`` after ``y_true``.
    n_resamples : int, default=1000
        Number of bootstrap resamples (at least 10).
    confidence : float in (0, 1), default=0.95
        Coverage of the interval.
    random_state : int, default=0
        Seed of the resampling, so the interval is reproducible.

    Returns
    -------
    estimate : float
        ``metric`` on the data as given.
    low, high : float
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
        metric over the resamples.

    Raises
    ------
    ValueError
        If an argument has the wrong type, shape or range; the message names it.
    """
    if not callable(metric):
        raise ValueError(f"metric must be a function metric(y_true, *scores), got {metric!r}")
    truth = check_binary_labels(y_true, name="y_true")
    if not scores:
        raise ValueError("give at least one score array after y_true")
    arrays = []
    for i, values in enumerate(scores):
        array = check_array(values, name=f"scores[{i}]", ndim=1)
        if len(array) != len(truth):
            raise ValueError(
                f"scores[{i}] has {len(array)} values but y_true has {len(truth)}: "
                "one score per point"
            )
        arrays.append(array)
    if truth.all() or not truth.any():
        raise ValueError("y_true must hold both normal points (0) and anomalies (1)")
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, numbers.Integral)
        or n_resamples < 10
    ):
        raise ValueError(f"n_resamples must be an integer of at least 10, got {n_resamples!r}")
    level = _check_fraction(confidence, name="confidence")
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise ValueError(f"random_state must be an integer seed, got {random_state!r}")

    rng = np.random.default_rng(random_state)
    normal, anomalous = np.flatnonzero(~truth), np.flatnonzero(truth)
    values = np.empty(n_resamples)
    for r in range(n_resamples):
        index = np.concatenate(
            [rng.choice(normal, size=len(normal)), rng.choice(anomalous, size=len(anomalous))]
        )
        values[r] = metric(truth[index], *(array[index] for array in arrays))
    estimate = float(metric(truth, *arrays))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return estimate, float(low), float(high)
