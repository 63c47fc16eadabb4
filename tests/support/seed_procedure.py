"""The seed tutorial's loop-based procedure (T2.5), kept verbatim in spirit.

The helpers are tested against it: same fitted model and data, so the radii
and the false-positive / false-negative counts must be equal. It is also the
baseline of benchmarks/bench_counting.py.
"""

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs


def blobs_demo():
    """The blobs demo of notebook 03: ``(kmeans, X_train, X_anomaly)``, seeded as there."""
    X_train, _ = make_blobs(n_samples=300, centers=3, cluster_std=0.40, random_state=0)
    X_anomaly, _ = make_blobs(n_samples=300, centers=2, cluster_std=0.40, random_state=1)
    kmeans = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X_train)
    return kmeans, X_train, X_anomaly


def seed_radii(kmeans, X_normal, percentile_threshold):
    """Per-cluster percentile radii, as the seed computes them (Python loops)."""
    num_centers = len(kmeans.cluster_centers_)
    y_normal = kmeans.predict(X_normal)
    normal_distances = kmeans.transform(X_normal)
    center_distances = {key: [] for key in range(num_centers)}
    for i in range(len(y_normal)):
        cluster_num = y_normal[i]
        center_distances[cluster_num].append(normal_distances[i][cluster_num])
    center_percentile_distance = {}
    for key in center_distances:
        center_percentile_distance[key] = np.percentile(center_distances[key], percentile_threshold)
    return center_percentile_distance


def seed_count(combined_distances, combined_y, radii, normal_data_length):
    """The seed's classification loop: returns (false_pos, false_neg)."""
    false_neg = 0
    false_pos = 0
    for i in range(len(combined_distances)):
        min_distance = combined_distances[i][combined_y[i]]
        cluster_num = combined_y[i]
        if min_distance > radii[cluster_num]:  # anomalous - positive
            if i < normal_data_length:
                false_pos += 1
        else:  # normal - negative
            if i >= normal_data_length:
                false_neg += 1
    return false_pos, false_neg
