"""Right and wrong answers for the checks of ."""

import numpy as np
from check_harness import accepts, rejects

from course_helpers.checks import digits

# --- 04_digits_kmeans ----------------------------------------------------------------------


def test_digits_normal_distances(digits_setup, capsys):
    all_data, normal_data, abnormal_data, kmeans = digits_setup
    options = dict(kmeans=kmeans, normal_data=normal_data)
    check = digits.normal_distances
    # right: Euclidean distance to every centroid, written out by hand
    by_hand = np.linalg.norm(normal_data[:, None, :] - kmeans.cluster_centers_[None], axis=2)
    accepts(check, capsys, by_hand, **options)
    rejects(check, kmeans.predict(normal_data), match="cluster labels, not distances", **options)
    rejects(check, kmeans.transform(abnormal_data), match="compute it on normal_data", **options)
    rejects(check, kmeans.transform(all_data), match="compute it on normal_data", **options)
    rejects(check, kmeans.transform(normal_data) ** 2, match="squared distances", **options)
    rejects(check, kmeans.transform, match="call the method", **options)
    rejects(check, by_hand.min(axis=1), match="one row per normal digit", **options)
    rejects(check, kmeans.transform(normal_data / 16), match="not the right values", **options)


def test_digits_false_positives_negatives(capsys):
    rng = np.random.default_rng(0)
    y_true = np.r_[np.zeros(1437, dtype=int), np.ones(360, dtype=int)]
    y_pred = (rng.random(len(y_true)) < np.where(y_true == 1, 0.4, 0.02)).astype(int)
    # right, counted with a plain loop
    fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == 0 and p == 1)
    fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == 1 and p == 0)
    assert 0 < fp < fn  # so that swapping them is a different answer
    check = digits.false_positives_negatives
    options = dict(y_true=y_true, y_pred=y_pred)
    accepts(check, capsys, fp, fn, **options)
    accepts(check, capsys, np.int64(fp), np.int64(fn), **options)
    rejects(check, fn, fp, match="swapped", **options)
    rejects(check, int(y_pred.sum()), fn, match="counts flagged anomalies too", **options)
    rejects(check, fp, int((y_pred == 0).sum()), match="counts normal digits too", **options)
    rejects(check, float(fp), fn, match="whole number", **options)
    rejects(check, fp + 1, fn, match="not the right counts", **options)
