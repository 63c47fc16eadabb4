"""Checks for notebook 04_digits_kmeans."""

import numpy as np

from ..counting import confusion_counts
from . import fail_unless, run_check
from .plain import Unsupported


def normal_distances(normal_distances, *, kmeans, normal_data):
    """Exercise ``digits-normal-distances``: distances of every normal digit to every centroid."""
    run_check(
        "digits-normal-distances",
        answer=lambda: {
            "normal_distances": normal_distances,
            "is_callable": callable(normal_distances),
        },
        reference=lambda: {"expected": kmeans.transform(np.asarray(normal_data, dtype=float))},
        judge=judge_normal_distances,
    )


def judge_normal_distances(answer, reference):
    """Judge the distance matrix against ``kmeans.transform(normal_data)``."""
    expected = reference["expected"]
    n_rows, n_clusters = expected.shape
    fail_unless(
        answer["normal_distances"] is not None and not answer["is_callable"],
        "normal_distances is not an array yet: call the method, do not just name it",
    )
    values = answer["normal_distances"]
    fail_unless(
        isinstance(values, np.ndarray) and not isinstance(values, Unsupported),
        f"normal_distances should be an array of numbers, got {values}",
    )
    if values.ndim == 1 and len(values) == n_rows:
        integer_like = np.allclose(values, np.round(values)) and values.min() >= 0
        fail_unless(
            not (integer_like and values.max() < n_clusters),
            "these are cluster labels, not distances: look at kmeans.transform",
        )
    fail_unless(
        not (values.ndim == 2 and values.shape[1] == n_clusters and len(values) != n_rows),
        f"normal_distances has {len(values)} rows but there are {n_rows} normal digits: "
        "compute it on normal_data, not on the anomalous digits or on all of them",
    )
    fail_unless(
        values.shape == (n_rows, n_clusters),
        f"normal_distances should hold one row per normal digit and one column per centroid, "
        f"shape ({n_rows}, {n_clusters}) (got {values.shape})",
    )
    if np.allclose(values, expected):
        return f"normal_distances: {values.shape[0]} digits × {values.shape[1]} centroids"
    fail_unless(
        not np.allclose(values, expected**2),
        "these are squared distances: kmeans.transform already gives the distances themselves",
    )
    fail_unless(
        False,
        "normal_distances has the right shape but not the right values: each entry should be "
        "the distance of a normal digit to one centroid (kmeans.transform does exactly that)",
    )


def false_positives_negatives(false_pos, false_neg, *, y_true, y_pred):
    """Exercise ``digits-fp-fn``: count false positives and false negatives (anomalous = positive)."""
    run_check(
        "digits-fp-fn",
        answer=lambda: {"false_pos": false_pos, "false_neg": false_neg},
        reference=lambda: {"y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred)},
        judge=judge_false_positives_negatives,
    )


def judge_false_positives_negatives(answer, reference):
    """Judge the two counts against the confusion counts of ``y_true`` and ``y_pred``."""
    false_pos, false_neg = answer["false_pos"], answer["false_neg"]
    for name, value in (("false_pos", false_pos), ("false_neg", false_neg)):
        fail_unless(
            isinstance(value, int) and not isinstance(value, bool),
            f"{name} should be a whole number (a count), got {type(value).__name__} {value!r}",
        )
    counts = confusion_counts(reference["y_true"], reference["y_pred"])
    if (false_pos, false_neg) == (counts.false_positives, counts.false_negatives):
        return "false positives and false negatives counted right"
    fail_unless(
        (false_pos, false_neg) != (counts.false_negatives, counts.false_positives),
        "the two counts are swapped: a false positive is a NORMAL digit that was flagged, "
        "a false negative an ANOMALY that was not",
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
    fail_unless(False, "not the right counts yet: combine y_true and y_pred with & and ~, then sum")


JUDGES = {
    "digits-normal-distances": judge_normal_distances,
    "digits-fp-fn": judge_false_positives_negatives,
}
