"""course_helpers: the small package behind the course *Anomaly detection with
k-means and Gaussian mixtures*.

Modules
-------
boundaries
    Per-cluster radii learned from normal data, flagging, and drawing the circles.
counting
    False positives / false negatives and the full confusion counts.
evaluation
    A threshold at a false-positive budget, and bootstrap intervals for a metric.
checks
    The instant feedback that the notebooks' check cells call.
authoring
    ``python -m course_helpers.authoring`` builds ``notebooks/`` from ``solutions/``.
"""

__version__ = "0.1.0"

from .boundaries import (
    cluster_radii,
    draw_boundaries,
    flag_anomalies,
    nearest_centre_distances,
    plot_detection,
)
from .counting import (
    ConfusionCounts,
    confusion_counts,
    count_false_positives_negatives,
    from_sklearn_outlier_labels,
)
from .evaluation import bootstrap_interval, threshold_at_fp_budget

__all__ = [
    "ConfusionCounts",
    "bootstrap_interval",
    "cluster_radii",
    "confusion_counts",
    "count_false_positives_negatives",
    "draw_boundaries",
    "flag_anomalies",
    "from_sklearn_outlier_labels",
    "nearest_centre_distances",
    "plot_detection",
    "threshold_at_fp_budget",
]
