"""Checks for notebook 03_blobs_kmeans."""

from ._common import per_cluster_radii


def radii(radii, *, kmeans, X_train, percentile_threshold):
    """Exercise ``blobs-radii``: one radius per cluster at ``percentile_threshold``."""
    per_cluster_radii(radii, model=kmeans, X_normal=X_train, percentile=percentile_threshold)
