"""Checks shared by several notebooks (one home for each)."""

import numpy as np

from ..boundaries import nearest_centroid_distances
from . import fail_unless, passed


def per_cluster_radii(radii, *, model, X_normal, percentile, name="radii"):
    """Check a dict of per-cluster radii computed by the student.

    The reference is recomputed from ``model`` and ``X_normal``: the
    ``percentile`` of the distances of each cluster's own normal points to
    their centre.
    """
    n_clusters = len(model.cluster_centers_)
    fail_unless(
        isinstance(radii, dict),
        f"{name} should be a dict {{cluster: radius}}, got {type(radii).__name__}",
    )
    fail_unless(
        sorted(radii) == list(range(n_clusters)),
        f"{name} should have one key per cluster, 0 to {n_clusters - 1} (got keys {sorted(radii)})",
    )
    labels, distances = nearest_centroid_distances(model, X_normal)
    values = np.array([radii[k] for k in range(n_clusters)], dtype=float)
    fail_unless(
        np.isfinite(values).all(), f"{name} holds NaN or inf: did every cluster get points?"
    )
    expected = np.array(
        [np.percentile(distances[labels == k], percentile) for k in range(n_clusters)]
    )
    if np.allclose(values, expected, rtol=1e-6):
        passed(f"{name}: one radius per cluster at the {percentile:g}th percentile")
        return
    global_radius = np.percentile(distances, percentile)
    fail_unless(
        not np.allclose(values, global_radius, rtol=1e-6),
        f"every cluster got the same radius ({values[0]:.3f}): that is one global threshold. "
        "Take the percentile of each cluster's own distances separately.",
    )
    for other in (50, 90, 95, 99, 100):
        if other != percentile:
            other_radii = [np.percentile(distances[labels == k], other) for k in range(n_clusters)]
            fail_unless(
                not np.allclose(values, other_radii, rtol=1e-6),
                f"these look like radii at another percentile: use percentile_threshold "
                f"({percentile:g}), not a number typed in",
            )
    fail_unless(
        (values >= 0).all(),
        f"{name} has a negative radius: radii are distances, so they cannot be negative",
    )
    fail_unless(
        False,
        f"{name} does not match the {percentile:g}th percentile of each cluster's distances. "
        "For cluster k, keep only the distances of the normal points whose nearest centre is k.",
    )
