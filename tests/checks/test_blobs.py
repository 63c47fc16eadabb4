"""Right and wrong answers for the checks of ."""

import numpy as np
import pytest
from check_harness import accepts, rejects
from seed_procedure import blobs_demo

from course_helpers.checks import blobs

# --- 03_blobs_kmeans -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs_setup():
    kmeans, X_train, X_anomaly = blobs_demo()
    return X_train, X_anomaly, kmeans


def student_radii(kmeans, X, percentile, *, per_cluster=True):
    """The exercise as a student writes it: distances with transform, nearest centre, percentile."""
    distances = kmeans.transform(X)
    nearest = distances.argmin(axis=1)
    nearest_distance = distances.min(axis=1)
    if not per_cluster:
        radius = float(np.percentile(nearest_distance, percentile))
        return dict.fromkeys(range(len(kmeans.cluster_centers_)), radius)
    return {
        k: float(np.percentile(nearest_distance[nearest == k], percentile))
        for k in range(len(kmeans.cluster_centers_))
    }


def test_blobs_radii(blobs_setup, capsys):
    X_train, X_anomaly, kmeans = blobs_setup
    options = dict(kmeans=kmeans, X_train=X_train, percentile_threshold=99)
    accepts(blobs.radii, capsys, student_radii(kmeans, X_train, 99), **options)
    rejects(
        blobs.radii,
        student_radii(kmeans, X_train, 99, per_cluster=False),
        match="global threshold",
        **options,
    )
    rejects(blobs.radii, student_radii(kmeans, X_train, 95), match="another percentile", **options)
    # distances on the wrong data: normal and anomalous points together
    X_all = np.vstack([X_train, X_anomaly])
    rejects(blobs.radii, student_radii(kmeans, X_all, 99), match="percentile", **options)
    # predict instead of transform: percentiles of cluster labels, not of distances
    labels = kmeans.predict(X_train)
    from_labels = {k: float(np.percentile(labels[labels == k], 99)) for k in range(3)}
    rejects(blobs.radii, from_labels, match="does not match", **options)
    rejects(blobs.radii, [0.5, 0.6, 0.7], match="dict", **options)
    rejects(blobs.radii, {0: 1.0, 1: 1.0}, match="one key per cluster", **options)
