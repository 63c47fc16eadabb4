"""Counting what a detector got right and wrong (anomalous = positive, as in the seed)."""

from dataclasses import dataclass

import numpy as np

from ._validation import check_binary_labels

__all__ = [
    "ConfusionCounts",
    "confusion_counts",
    "count_false_positives_negatives",
    "from_sklearn_outlier_labels",
]


@dataclass(frozen=True)
class ConfusionCounts:
    """The four counts of a binary detector, anomalous being the positive class.

    Attributes
    ----------
    true_positives : int
        Anomalies that were flagged.
    false_positives : int
        Normal points that were flagged ("normal misclassified as abnormal").
    true_negatives : int
        Normal points that were not flagged.
    false_negatives : int
        Anomalies that were missed ("abnormal misclassified as normal").
    """

    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int

    @property
    def precision(self):
        """Share of flagged points that are anomalies (NaN if nothing was flagged)."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else float("nan")

    @property
    def recall(self):
        """Share of anomalies that were flagged (NaN if there are none)."""
        anomalies = self.true_positives + self.false_negatives
        return self.true_positives / anomalies if anomalies else float("nan")

    def __str__(self):
        return (
            f"false positives (normal flagged): {self.false_positives}, "
            f"false negatives (anomalies missed): {self.false_negatives}, "
            f"true positives: {self.true_positives}, true negatives: {self.true_negatives}"
        )


def confusion_counts(y_true, y_pred):
    """Count true/false positives/negatives, with anomalous as the positive class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 or True where the point really is anomalous, 0 or False where normal.
    y_pred : array-like of shape (n_samples,)
        1 or True where the detector flagged the point.

    Returns
    -------
    counts : ConfusionCounts

    Notes
    -----
    scikit-learn's outlier detectors answer -1 (outlier) / +1 (inlier). Such
    labels are rejected rather than guessed; convert them with
    :func:`from_sklearn_outlier_labels`.
    """
    truth = check_binary_labels(y_true, name="y_true")
    flagged = check_binary_labels(y_pred, name="y_pred")
    if truth.shape != flagged.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {len(truth)} and {len(flagged)}"
        )
    if truth.size == 0:
        raise ValueError("y_true and y_pred are empty: there is nothing to count")
    true_positives = int(np.count_nonzero(truth & flagged))
    false_positives = int(np.count_nonzero(flagged)) - true_positives
    false_negatives = int(np.count_nonzero(truth)) - true_positives
    true_negatives = truth.size - true_positives - false_positives - false_negatives
    return ConfusionCounts(true_positives, false_positives, true_negatives, false_negatives)


def count_false_positives_negatives(y_true, y_pred):
    """Return ``(false_positives, false_negatives)``; see :func:`confusion_counts`."""
    counts = confusion_counts(y_true, y_pred)
    return counts.false_positives, counts.false_negatives


def from_sklearn_outlier_labels(labels):
    """Convert scikit-learn's outlier labels (-1 outlier, +1 inlier) to 1/0.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Output of e.g. ``IsolationForest.predict``.

    Returns
    -------
    is_anomaly : ndarray of int, shape (n_samples,)
        1 where the label was -1, 0 where it was +1.
    """
    labels = np.asarray(labels)
    values = set(np.unique(labels).tolist())
    if not values <= {-1, 1}:
        raise ValueError(f"labels must hold only -1 and +1, got {sorted(values)[:5]}")
    return (labels == -1).astype(int)
