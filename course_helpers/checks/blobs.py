"""Checks for notebook 03_blobs_kmeans."""

import numpy as np

from ..boundaries import nearest_centroid_distances
from . import fail_unless, run_check
from .plain import Unsupported


def radii(radii, *, kmeans, X_train, percentile_threshold):
    """Exercise ``blobs-radii``: one radius per cluster at ``percentile_threshold``."""

    def reference():
        labels, distances = nearest_centroid_distances(kmeans, X_train)
        return {
            "labels": labels,
            "distances": distances,
            "n_clusters": len(kmeans.cluster_centers_),
            "percentile": percentile_threshold,
        }

    run_check(
        "blobs-radii", answer=lambda: {"radii": radii}, reference=reference, judge=judge_radii
    )


def judge_radii(answer, reference):
    """Judge a dict ``{cluster: radius}`` against each cluster's own distances."""
    radii = answer["radii"]
    labels, distances = reference["labels"], reference["distances"]
    n_clusters, percentile = reference["n_clusters"], reference["percentile"]
    fail_unless(
        isinstance(radii, dict),
        f"radii should be a dict {{cluster: radius}}, got "
        f"{radii if isinstance(radii, Unsupported) else type(radii).__name__}",
    )
    fail_unless(
        sorted(radii, key=str) == list(range(n_clusters)),
        f"radii should have one key per cluster, 0 to {n_clusters - 1} "
        f"(got keys {sorted(radii, key=str)})",
    )
    values = np.array([radii[k] for k in range(n_clusters)], dtype=float)
    fail_unless(np.isfinite(values).all(), "radii holds NaN or inf: did every cluster get points?")
    expected = np.array(
        [np.percentile(distances[labels == k], percentile) for k in range(n_clusters)]
    )
    if np.allclose(values, expected, rtol=1e-6):
        return f"radii: one radius per cluster at the {percentile:g}th percentile"
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
        "radii has a negative radius: radii are distances, so they cannot be negative",
    )
    fail_unless(
        False,
        f"radii does not match the {percentile:g}th percentile of each cluster's distances. "
        "For cluster k, keep only the distances of the normal points whose nearest centre is k.",
    )


JUDGES = {"blobs-radii": judge_radii}
