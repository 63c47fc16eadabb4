"""Confusion counts: by hand, against the seed loop, and on bad input."""

import numpy as np
import pytest

from course_helpers import (
    confusion_counts,
    count_false_positives_negatives,
    from_sklearn_outlier_labels,
)
from tests.support.seed_procedure import seed_count


def test_counts_by_hand():
    y_true = [0, 0, 0, 0, 1, 1, 1]
    y_pred = [0, 1, 1, 0, 1, 0, 0]
    counts = confusion_counts(y_true, y_pred)
    assert (counts.true_positives, counts.false_positives) == (1, 2)
    assert (counts.true_negatives, counts.false_negatives) == (2, 2)
    assert counts.precision == pytest.approx(1 / 3)
    assert counts.recall == pytest.approx(1 / 3)
    assert count_false_positives_negatives(y_true, y_pred) == (2, 2)


def test_booleans_and_integers_agree():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.random(1000) < 0.2, rng.random(1000) < 0.3
    assert confusion_counts(y_true, y_pred) == confusion_counts(
        y_true.astype(int), y_pred.astype(np.int8)
    )


def test_equal_to_the_seed_loop_on_random_data():
    rng = np.random.default_rng(1)
    n_normal, n_anomalous, k = 700, 300, 4
    distances = rng.random((n_normal + n_anomalous, k)) * 3
    labels = distances.argmin(axis=1)
    radii = {c: float(rng.uniform(0.2, 0.8)) for c in range(k)}
    nearest = distances[np.arange(len(labels)), labels]
    y_pred = nearest > np.array([radii[c] for c in labels])
    y_true = np.r_[np.zeros(n_normal), np.ones(n_anomalous)]
    assert count_false_positives_negatives(y_true, y_pred) == seed_count(
        list(distances), list(labels), radii, n_normal
    )


def test_empty_perfect_and_degenerate_cases():
    with pytest.raises(ValueError, match="empty"):
        confusion_counts([], [])
    perfect = confusion_counts([0, 1], [0, 1])
    assert (perfect.false_positives, perfect.false_negatives) == (0, 0)
    nothing_flagged = confusion_counts([0, 0], [0, 0])
    assert np.isnan(nothing_flagged.precision) and np.isnan(nothing_flagged.recall)


def test_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        confusion_counts([0, 1, 0], [0, 1])


def test_sklearn_minus_one_labels_are_refused_not_guessed():
    with pytest.raises(ValueError, match=r"-1/\+1 labels.*from_sklearn_outlier_labels"):
        confusion_counts([0, 1, 1], [1, -1, 1])
    converted = from_sklearn_outlier_labels([1, -1, 1])
    assert converted.tolist() == [0, 1, 0]
    assert confusion_counts([0, 1, 1], converted).false_negatives == 1


@pytest.mark.parametrize(
    ("labels", "message"),
    [([0, 2, 1], r"only 0 and 1.*\[2\]"), (["a", "b"], "dtype"), ([[0, 1]], "1-D")],
)
def test_bad_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        confusion_counts(labels, np.zeros(np.shape(labels), dtype=int))


def test_from_sklearn_refuses_other_values():
    with pytest.raises(ValueError, match=r"only -1 and \+1, got \[0, 1\]"):
        from_sklearn_outlier_labels([0, 1])
