"""How much faster is vectorised FP/FN counting than the seed's Python loop?

The seed (T2.5) classifies and counts with a loop over every point:
``combined_distances[i][combined_y[i]] > radius[cluster]``, then ``i < 300``.
The course does the same with NumPy: pick each row's nearest-centre distance,
compare with that cluster's radius, and count with
:func:`course_helpers.confusion_counts`.

Both start from the same inputs (the ``kmeans.transform`` output and the
nearest-centre labels of 1M points) and must give equal counts; the script
prints the ratios of their times: for classifying and counting together, and
for the counting alone (the target: at least 100x). A last line adds the
model's ``transform`` (``flag_anomalies``), for context.

Usage, from the course folder: python -m benchmarks.bench_counting [--points 1000000] [--repeats 3]
"""

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import make_blobs

from course_helpers import cluster_radii, confusion_counts, flag_anomalies
from tests.support.seed_procedure import blobs_demo, seed_count


def best_time(function, repeats):
    """Return (best wall time in seconds, last result) over ``repeats`` runs."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.points < 10:
        parser.error(f"--points must be at least 10, got {args.points}")

    kmeans, X_train, _ = blobs_demo()
    radii = cluster_radii(kmeans, X_train, percentile=99)
    n_normal = args.points // 2
    X_normal, _ = make_blobs(n_samples=n_normal, centers=3, cluster_std=0.4, random_state=0)
    X_anomaly, _ = make_blobs(
        n_samples=args.points - n_normal, centers=2, cluster_std=0.4, random_state=1
    )
    X_all = np.vstack([X_normal, X_anomaly])
    y_true = np.r_[np.zeros(n_normal, dtype=bool), np.ones(len(X_anomaly), dtype=bool)]

    distances = kmeans.transform(X_all)
    labels = kmeans.predict(X_all)
    # The seed's own data layout: a list of rows and a list of labels.
    combined_distances, combined_y = [*distances], [*labels]

    def seed():
        return seed_count(combined_distances, combined_y, radii, n_normal)

    radius_of = np.array([radii[k] for k in range(len(radii))])

    def vectorised():
        nearest = np.take_along_axis(distances, labels[:, None], axis=1)[:, 0]
        counts = confusion_counts(y_true, nearest > radius_of.take(labels))
        return counts.false_positives, counts.false_negatives

    y_pred = np.take_along_axis(distances, labels[:, None], axis=1)[:, 0] > radius_of.take(labels)

    def counting_only():
        counts = confusion_counts(y_true, y_pred)
        return counts.false_positives, counts.false_negatives

    seed_seconds, seed_counts = best_time(seed, max(1, args.repeats // 3))
    vector_seconds, vector_counts = best_time(vectorised, args.repeats)
    count_seconds, count_counts = best_time(counting_only, args.repeats)
    if not seed_counts == vector_counts == count_counts:
        print(f"MISMATCH: seed loop {seed_counts}, vectorised {vector_counts} / {count_counts}")
        return 1

    def end_to_end():
        counts = confusion_counts(y_true, flag_anomalies(kmeans, X_all, radii))
        return counts.false_positives, counts.false_negatives

    e2e_seconds, e2e_counts = best_time(end_to_end, args.repeats)
    assert e2e_counts == seed_counts

    fp, fn = seed_counts
    print(f"points: {args.points:,}  (false positives {fp:,}, false negatives {fn:,}: equal)")
    print(f"seed Python loop (classify + count):   {seed_seconds * 1000:9.1f} ms")
    print(f"vectorised classify + count:           {vector_seconds * 1000:9.1f} ms")
    print(f"vectorised count (confusion_counts):   {count_seconds * 1000:9.2f} ms")
    print(f"speed-up, classify + count:   {seed_seconds / vector_seconds:8.0f}x")
    print(f"speed-up, count alone:        {seed_seconds / count_seconds:8.0f}x   (target >= 100x)")
    print(
        f"flag_anomalies (with kmeans.transform) + count: {e2e_seconds * 1000:.1f} ms "
        f"-> {seed_seconds / e2e_seconds:.0f}x against the loop alone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
