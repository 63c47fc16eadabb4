"""Per-cluster distance boundaries for k-means anomaly detection.

The idea of the course in three steps, each a function here:

1. :func:`cluster_radii` learns, from *normal* data only, how far points of
   each cluster lie from their centre: the radius of cluster ``k`` is a
   percentile of the distances of the normal points assigned to ``k``.
2. :func:`flag_anomalies` calls a new point anomalous when its distance to
   the nearest centre exceeds that centre's radius.
3. :func:`draw_boundaries` draws the radii as circles (2-D data only), and
   :func:`plot_detection` shows which points were flagged and which were wrong.

Any fitted model with ``transform`` (distances to every centre) and
``cluster_centers_`` works: scikit-learn's ``KMeans`` and ``MiniBatchKMeans``
among them.
"""

import numpy as np

from ._validation import check_array, check_binary_labels, check_percentile

__all__ = [
    "cluster_radii",
    "draw_boundaries",
    "flag_anomalies",
    "nearest_centre_distances",
    "plot_detection",
]


def _check_model(model):
    centres = getattr(model, "cluster_centers_", None)
    if centres is None or not callable(getattr(model, "transform", None)):
        raise TypeError(
            "model must be a fitted k-means-like estimator with transform() and "
            f"cluster_centers_, got {type(model).__name__}"
            + (" (call fit first?)" if hasattr(model, "fit") else "")
        )
    return np.asarray(centres)


def nearest_centre_distances(model, X):
    """Assign each row of ``X`` to its nearest centre and return the distance.

    Parameters
    ----------
    model : fitted estimator
        Has ``transform`` (distance to every centre) and ``cluster_centers_``.
    X : array-like of shape (n_samples, n_features)
        The points.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Index of the nearest centre (what ``KMeans.predict`` returns).
    distances : ndarray of shape (n_samples,)
        Euclidean distance to that centre.
    """
    centres = _check_model(model)
    X = check_array(X)
    if X.shape[1] != centres.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the model's centres have {centres.shape[1]}"
        )
    all_distances = np.asarray(model.transform(X))
    labels = all_distances.argmin(axis=1)
    return labels, all_distances[np.arange(len(labels)), labels]


def cluster_radii(model, X_normal, *, percentile=99.0):
    """Learn one radius per cluster from normal data.

    Parameters
    ----------
    model : fitted estimator
        Has ``transform`` and ``cluster_centers_`` (for example ``KMeans``).
    X_normal : array-like of shape (n_samples, n_features)
        Normal points only. Anomalies here would stretch the radii.
    percentile : float in (0, 100], default=99.0
        Which percentile of each cluster's distances becomes its radius
        (``np.percentile`` with linear interpolation, as in the seed).
        100 means the farthest normal point.

    Returns
    -------
    radii : dict of int to float
        ``radii[k]`` is the radius of cluster ``k``, for every cluster.

    Raises
    ------
    ValueError
        If a cluster receives no normal point. Its radius would be undefined
        (``np.percentile`` of nothing is NaN, which compares False and would
        silently call every point of that cluster normal), so this is an error:
        fit fewer clusters, or fit the model on the same normal data.
    """
    percentile = check_percentile(percentile)
    labels, distances = nearest_centre_distances(model, check_array(X_normal, name="X_normal"))
    n_clusters = len(model.cluster_centers_)
    radii = {}
    for cluster in range(n_clusters):
        members = distances[labels == cluster]
        if members.size == 0:
            raise ValueError(
                f"cluster {cluster} received no point of X_normal, so it has no radius; "
                "fit the model on this normal data or use fewer clusters"
            )
        radii[cluster] = float(np.percentile(members, percentile))
    return radii


def _radii_array(radii, n_clusters):
    if not isinstance(radii, dict):
        raise TypeError(f"radii must be a dict {{cluster: radius}}, got {type(radii).__name__}")
    missing = [k for k in range(n_clusters) if k not in radii]
    if missing:
        raise ValueError(f"radii has no entry for cluster(s) {missing}")
    array = np.array([radii[k] for k in range(n_clusters)], dtype=float)
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"radii must be finite and non-negative, got {radii}")
    return array


def flag_anomalies(model, X, radii):
    """Flag the points that lie outside their nearest centre's radius.

    Parameters
    ----------
    model : fitted estimator
        The model the radii were learned with.
    X : array-like of shape (n_samples, n_features)
        Points to classify: normal, anomalous or both.
    radii : dict of int to float
        From :func:`cluster_radii`.

    Returns
    -------
    is_flagged : ndarray of bool, shape (n_samples,)
        True where the point is called anomalous (distance > radius).
    """
    labels, distances = nearest_centre_distances(model, X)
    return distances > _radii_array(radii, len(model.cluster_centers_))[labels]


def draw_boundaries(centres, radii, *, ax=None, color="black", alpha=0.1, label=None):
    """Draw each cluster's radius as a filled circle around its centre.

    Parameters
    ----------
    centres : array-like of shape (n_clusters, 2)
        Cluster centres, e.g. ``kmeans.cluster_centers_``. Only 2-D data can
        be drawn this way.
    radii : dict of int to float
        From :func:`cluster_radii`.
    ax : matplotlib Axes, default=None
        Where to draw; None means the current Axes (``plt.gca()``).
    color : color, default="black"
        Fill colour of the circles.
    alpha : float, default=0.1
        Opacity of the circles.
    label : str, default=None
        Legend label, given to the first circle only.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    centres = check_array(centres, name="centres")
    if centres.shape[1] != 2:
        raise ValueError(
            f"centres must have 2 columns to draw circles, got shape {centres.shape}; "
            "reduce the data to 2-D first"
        )
    radius_of = _radii_array(radii, len(centres))
    if ax is None:
        ax = plt.gca()
    for k, (centre, radius) in enumerate(zip(centres, radius_of, strict=True)):
        ax.add_patch(
            Circle(centre, radius, color=color, alpha=alpha, label=label if k == 0 else None)
        )
    ax.scatter(centres[:, 0], centres[:, 1], c=color, s=120, marker="+", linewidths=2)
    # Circles are patches, which autoscaling ignores: make room for them.
    ax.update_datalim(np.vstack([centres - radius_of[:, None], centres + radius_of[:, None]]))
    ax.autoscale_view()
    # Circles must look round; "datalim" is not allowed on axes shared in both directions.
    shared = (
        len(ax.get_shared_x_axes().get_siblings(ax)) > 1
        and len(ax.get_shared_y_axes().get_siblings(ax)) > 1
    )
    ax.set_aspect("equal", adjustable="box" if shared else "datalim")
    return ax


def plot_detection(X, y_pred, *, y_true=None, ax=None, s=20):
    """Scatter 2-D points, showing what was flagged and, given the truth, what was wrong.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        The points.
    y_pred : array-like of shape (n_samples,)
        1/True where the point was flagged anomalous.
    y_true : array-like of shape (n_samples,), default=None
        1/True where the point really is anomalous. When given, false
        positives and false negatives get their own marker and the legend
        counts them.
    ax : matplotlib Axes, default=None
        Where to draw; None means the current Axes.
    s : float, default=20
        Marker size.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    X = check_array(X)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be plotted, got shape {X.shape}")
    flagged = check_binary_labels(y_pred, name="y_pred")
    if len(flagged) != len(X):
        raise ValueError(f"y_pred has {len(flagged)} entries but X has {len(X)} rows")
    if ax is None:
        ax = plt.gca()
    if y_true is None:
        groups = [
            (~flagged, "called normal", "tab:blue", "o"),
            (flagged, "flagged anomalous", "tab:red", "o"),
        ]
    else:
        truth = check_binary_labels(y_true, name="y_true")
        if len(truth) != len(X):
            raise ValueError(f"y_true has {len(truth)} entries but X has {len(X)} rows")
        groups = [
            (~truth & ~flagged, "normal, called normal", "tab:blue", "o"),
            (truth & flagged, "anomaly, flagged", "tab:orange", "o"),
            (~truth & flagged, "false positive", "tab:red", "X"),
            (truth & ~flagged, "false negative", "black", "s"),
        ]
    for mask, name, color, marker in groups:
        ax.scatter(
            X[mask, 0], X[mask, 1], s=s, c=color, marker=marker, label=f"{name} ({int(mask.sum())})"
        )
    ax.legend(loc="best", fontsize="small")
    return ax


#: The old name of :func:`nearest_centre_distances`, for code written before the course
#: settled on "centre"; no notebook uses it.
nearest_centroid_distances = nearest_centre_distances
