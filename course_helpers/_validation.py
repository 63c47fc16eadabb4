"""Argument checks shared by the helpers. Messages name the bad value."""

import numbers

import numpy as np


def check_array(X, *, name="X", ndim=2, allow_empty=False):
    """Return ``X`` as a float array, or raise a ValueError that says what is wrong.

    Parameters
    ----------
    X : array-like
        The values to check.
    name : str, default="X"
        The name used in error messages.
    ndim : {1, 2}, default=2
        The number of dimensions expected. A 1-D input is accepted for
        ``ndim=2`` only if it cannot be mistaken: it is rejected with a hint to
        reshape.
    allow_empty : bool, default=False
        Whether zero rows are acceptable.
    """
    try:
        array = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(X).__name__}: {exc}") from None
    if array.ndim != ndim:
        hint = (
            " (use X.reshape(-1, 1) for a single feature)" if ndim == 2 and array.ndim == 1 else ""
        )
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}{hint}")
    if array.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {array.shape}): at least one row is needed")
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        where = f"row {bad[0]}" + (f", column {bad[1]}" if array.ndim == 2 else "")
        value = array[tuple(bad)]
        raise ValueError(f"{name} contains {value} at {where}: NaN and inf are not allowed")
    return array


def check_percentile(percentile):
    """Return ``percentile`` as a float in (0, 100], or raise a ValueError naming it."""
    if isinstance(percentile, bool) or not isinstance(percentile, numbers.Real):
        raise ValueError(f"percentile must be a number in (0, 100], got {percentile!r}")
    if not 0 < percentile <= 100 or np.isnan(percentile):
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    return float(percentile)


def check_binary_labels(y, *, name):
    """Return ``y`` as a boolean array (True = anomalous), or raise a ValueError.

    Accepts booleans and the integers 0 and 1. scikit-learn's outlier
    detectors answer -1 (outlier) and +1 (inlier); those are rejected with a
    pointer to :func:`course_helpers.counting.from_sklearn_outlier_labels`,
    because silently mapping them would turn every normal point into an anomaly.
    """
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.dtype == bool:
        return array
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must hold 0/1 or True/False, got dtype {array.dtype}")
    values = np.unique(array)
    if np.isin(values, (-1, 1)).all() and (values == -1).any():
        raise ValueError(
            f"{name} holds -1/+1 labels (scikit-learn's outlier convention); "
            "convert them with from_sklearn_outlier_labels() first"
        )
    if not np.isin(values, (0, 1)).all():
        bad = values[~np.isin(values, (0, 1))][:5]
        raise ValueError(f"{name} must hold only 0 and 1 (1 = anomalous), got {bad.tolist()}")
    return array.astype(bool)
