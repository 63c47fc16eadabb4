"""Checks for notebook 04_digits_kmeans."""

import numbers

import numpy as np

from ..counting import confusion_counts
from . import fail_unless, run_check
from .plain import Unsupported


def normal_distances(normal_distances, *, kmeans, normal_data):
    """Exercise ``digits-normal-distances``: distances of every normal digit to every centroid.

    Any table of numbers with the right values passes: an array (float64 or
    float32), a list of rows, or a pandas DataFrame. The notebook's next cells
    turn it into an array first.
    """

    def reference():
        data = np.asarray(normal_data, dtype=float)
        centres = np.asarray(kmeans.cluster_centers_, dtype=float)
        return {
            "expected": np.asarray(kmeans.transform(data), dtype=float),
            "city_block": np.abs(data[:, None, :] - centres[None, :, :]).sum(axis=2),
        }

    run_check(
        "digits-normal-distances",
        answer=lambda: {
            "normal_distances": normal_distances,
            "is_callable": callable(normal_distances),
            "type": type(normal_distances).__name__,
        },
        reference=reference,
        judge=judge_normal_distances,
    )


def judge_normal_distances(answer, reference):
    """Judge the distance matrix against ``kmeans.transform(normal_data)``."""
    expected = reference["expected"]
    n_rows, n_clusters = expected.shape
    values = answer["normal_distances"]
    fail_unless(
        not answer["is_callable"],
        "normal_distances is a method or function, not its result: call it",
    )
    fail_unless(
        isinstance(values, np.ndarray) and values.dtype.kind in "iuf",
        "normal_distances should be a table of numbers (an array), got "
        f"{values if isinstance(values, Unsupported) else answer.get('type', type(values).__name__)}",
    )
    if values.ndim == 1 and len(values) == n_rows:
        integer_like = np.allclose(values, np.round(values)) and values.min() >= 0
        fail_unless(
            not (integer_like and values.max() < n_clusters),
            "these are cluster numbers (the index of each digit's nearest centroid), not "
            "distances: the exercise needs the distance of each digit to every centroid",
        )
        fail_unless(
            False,
            f"normal_distances has one number per digit, shape ({n_rows},): the exercise needs "
            f"one row per normal digit and one column per centroid, shape ({n_rows}, {n_clusters})",
        )
    fail_unless(
        values.shape != (n_clusters, n_rows),
        f"normal_distances is the wrong way round, shape {values.shape}: one row per normal "
        f"digit and one column per centroid, shape ({n_rows}, {n_clusters})",
    )
    given_rows = values.shape[0] if values.ndim else 0
    fail_unless(
        not (values.ndim == 2 and values.shape[1] == n_clusters and given_rows != n_rows),
        f"normal_distances has {given_rows} rows but there are {n_rows} normal digits: "
        "compute it on normal_data, not on the anomalous digits or on all of them",
    )
    fail_unless(
        values.shape == (n_rows, n_clusters),
        f"normal_distances should hold one row per normal digit and one column per centroid, "
        f"shape ({n_rows}, {n_clusters}) (got {values.shape})",
    )
    values = values.astype(float)
    fail_unless(np.isfinite(values).all(), "normal_distances holds NaN or inf")
    # rtol 1e-5 lets float32 distances through (they agree to about 7 digits).
    if np.allclose(values, expected, rtol=1e-5, atol=1e-6):
        return f"normal_distances: {n_rows} digits × {n_clusters} centroids"
    fail_unless(
        (values >= 0).all(),
        "normal_distances holds negative numbers: a distance is never negative",
    )
    fail_unless(
        not np.allclose(values, expected**2, rtol=1e-5),
        "these are squared distances: the exercise needs the distances themselves",
    )
    fail_unless(
        not np.allclose(values, reference["city_block"], rtol=1e-5),
        "these are city-block distances (the sum of absolute pixel differences). K-means "
        "measures straight-line (Euclidean) distances: square root of the sum of squares",
    )
    fail_unless(
        False,
        "normal_distances has the right shape but not the right values: each entry should be "
        "the straight-line distance of a normal digit to one centroid of the kmeans fitted "
        "above (a newly fitted model, or changed data, gives other distances)",
    )


def false_positives_negatives(false_pos, false_neg, *, y_true, y_pred):
    """Exercise ``digits-fp-fn``: count false positives and false negatives (anomalous = positive)."""
    run_check(
        "digits-fp-fn",
        answer=lambda: {"false_pos": _scalar(false_pos), "false_neg": _scalar(false_neg)},
        reference=lambda: {"y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred)},
        judge=judge_false_positives_negatives,
    )


def _scalar(value):
    """A 0-d array as its number (plain data would send it as an array of one element)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def _count_value(value):
    """A count as a Python number; None when it is not one number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return value


def _integer_mask_traps(y_true, y_pred):
    """Counts that come out when a 0/1 integer array is used as if it were a True/False mask.

    With integers, ``~y`` is ``-1``/``-2`` (every bit flipped), not "not y", and
    ``a[y]`` picks the elements at positions 0 and 1 (or -1 and -2), not the
    elements where ``y`` holds.
    """
    t, p = y_true.astype(np.int64), y_pred.astype(np.int64)
    traps = set()
    if len(t) < 2:  # positions 0/1 and -1/-2 need two elements
        return traps
    for index in (t, ~t, 1 - t, p, ~p, 1 - p):
        for array in (t, p, 1 - t, 1 - p):
            picked = array[index]
            traps.update({int(picked.sum()), int((picked == 0).sum()), int((picked == 1).sum())})
    return traps


def read_counts(answer, *, prefix=""):
    """The answer's ``false_pos`` and ``false_neg`` as ints, or CheckFailed naming the odd one.

    ``prefix`` is how the notebook's variable names start (``"test_"`` in 06).
    """
    counted = {}
    for name in ("false_pos", "false_neg"):
        raw = answer[name]
        value = _count_value(raw)
        fail_unless(
            value is not None,
            f"{prefix}{name} should be one number (a count), got "
            f"{raw if isinstance(raw, Unsupported) else type(raw).__name__ + ' ' + repr(raw)[:60]}",
        )
        fail_unless(
            np.isfinite(value) and float(value).is_integer(),
            f"{prefix}{name} is {value:g}, not a whole number: a count of digits, not a share "
            "or a mean",
        )
        counted[name] = int(value)
    return counted["false_pos"], counted["false_neg"]


def judge_false_positives_negatives(answer, reference):
    """Judge the two counts against the confusion counts of ``y_true`` and ``y_pred``."""
    false_pos, false_neg = read_counts(answer)
    y_true = np.asarray(reference["y_true"]).astype(bool)
    y_pred = np.asarray(reference["y_pred"]).astype(bool)
    counts = confusion_counts(y_true, y_pred)
    if (false_pos, false_neg) == (counts.false_positives, counts.false_negatives):
        return "false positives and false negatives counted right"
    fail_unless(
        (false_pos, false_neg) != (counts.false_negatives, counts.false_positives),
        "the two counts are swapped: a false positive is a NORMAL digit that was flagged, "
        "a false negative an ANOMALY that was not",
    )
    fail_unless(
        false_pos >= 0 and false_neg >= 0,
        "a count came out negative. On 0/1 integer arrays ~ flips every bit (~0 is -1, "
        "~1 is -2): it is not 'not'. Conditions work as True/False arrays.",
    )
    fail_unless(
        false_pos not in (counts.true_positives, counts.true_positives + counts.false_positives),
        "false_pos counts flagged anomalies too: keep only the normal digits (y_true == 0) "
        "that were flagged",
    )
    fail_unless(
        false_neg not in (counts.true_negatives, counts.true_negatives + counts.false_negatives),
        "false_neg counts normal digits too: keep only the anomalies (y_true == 1) "
        "that were not flagged",
    )
    n_normal, n_anomalous = int((~y_true).sum()), int(y_true.sum())
    # Values a confusion-table mix-up gives are left to the hints above and below.
    honest = {
        counts.true_positives,
        counts.false_positives,
        counts.true_negatives,
        counts.false_negatives,
        n_normal,
        n_anomalous,
    }
    traps = _integer_mask_traps(np.asarray(reference["y_true"]), np.asarray(reference["y_pred"]))
    wrong = {
        v
        for v, right in ((false_pos, counts.false_positives), (false_neg, counts.false_negatives))
        if v != right
    }
    fail_unless(
        not wrong & (traps - honest),
        "these counts look like a 0/1 integer array used as a True/False mask. Indexing "
        "with integers picks elements by position (a[y] takes elements 0 and 1 over and "
        "over), and ~ on integers flips bits (~0 is -1). Conditions work as True/False arrays.",
    )
    for name, value, group, size in (
        ("false_pos", false_pos, "normal digits", n_normal),
        ("false_neg", false_neg, "anomalies", n_anomalous),
    ):
        fail_unless(
            value <= size,
            f"{name} is {str(value)[:20]}, more than the {size} {group} there are: it "
            f"counts some of the {group}, so it cannot be larger",
        )
    fail_unless(
        False,
        f"not the right counts yet. Of the {n_normal} normal digits (y_true 0), false_pos "
        f"counts those that were flagged (y_pred 1); of the {n_anomalous} anomalies "
        "(y_true 1), false_neg counts those that were not (y_pred 0).",
    )


JUDGES = {
    "digits-normal-distances": judge_normal_distances,
    "digits-fp-fn": judge_false_positives_negatives,
}
