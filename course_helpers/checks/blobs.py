"""Checks for notebook 03_blobs_kmeans."""

import numbers

import numpy as np

from . import fail_unless, run_check
from .plain import Unsupported

#: Relative tolerance on a radius: float32 distances, or np.quantile against np.percentile,
#: differ from np.percentile's float64 result in the 7th digit at most.
RADIUS_RTOL = 1e-5


def radii(radii, *, kmeans, X_train, percentile_threshold):
    """Exercise ``blobs-radii``: one radius per cluster at ``percentile_threshold``.

    A dict ``{cluster: radius}`` is asked for; a pandas Series indexed by cluster
    (what ``groupby(...).quantile(...)`` returns) is the same mapping and is
    judged as one.
    """

    def answer():
        value = radii
        if _is_series(value):
            value = dict(value.items())
        if isinstance(value, dict):
            # a 0-d array would travel as an array of one element: send its number
            value = {
                k: v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v
                for k, v in value.items()
            }
        # The knob travels with the answer: the student may turn it (the lesson asks them
        # to), and the grader's reference run only knows the solution's setting.
        return {"radii": value, "type": type(radii).__name__, "percentile": percentile_threshold}

    def reference():
        return {"distances": np.asarray(kmeans.transform(np.asarray(X_train, dtype=float)))}

    run_check("blobs-radii", answer=answer, reference=reference, judge=judge_radii)


def _is_series(value):
    # A pandas Series without importing pandas: a 1-D labelled array with .items().
    return type(value).__name__ == "Series" and hasattr(value, "items") and hasattr(value, "index")


def _radius_value(value):
    """A radius as a float, or None when it is not one number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return float(value)
    return None


def _describe(value):
    if isinstance(value, Unsupported):
        return str(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return type(value).__name__


def _per_cluster(values, labels, n_clusters, statistic):
    return np.array([statistic(values[labels == k]) for k in range(n_clusters)])


def judge_radii(answer, reference):
    """Judge a dict ``{cluster: radius}`` against each cluster's own distances."""
    radii, type_name = answer["radii"], answer.get("type", "")
    distances = np.asarray(reference["distances"], dtype=float)
    percentile = answer.get("percentile")
    fail_unless(
        isinstance(percentile, (int, float))
        and not isinstance(percentile, bool)
        and 0 < percentile <= 100,
        f"percentile_threshold should be a number from 0 to 100, got {percentile!r}",
    )
    percentile = float(percentile)
    n_clusters = distances.shape[1]
    labels = distances.argmin(axis=1)
    nearest = distances.min(axis=1)

    fail_unless(
        isinstance(radii, dict),
        f"radii should be a dict {{cluster: radius}}, one entry per cluster, got "
        f"{type_name if not isinstance(radii, Unsupported) else radii}",
    )
    keys = sorted(radii, key=str)
    fail_unless(
        all(isinstance(k, int) and not isinstance(k, bool) for k in radii)
        and keys == list(range(n_clusters)),
        f"radii should have one key per cluster, the cluster numbers 0 to {n_clusters - 1} "
        f"(got keys {keys})",
    )
    values = [_radius_value(radii[k]) for k in range(n_clusters)]
    for k, value in enumerate(values):
        fail_unless(
            value is not None,
            f"radii[{k}] should be one number (the radius of cluster {k}), got "
            f"{_describe(radii[k])}",
        )
    values = np.array(values)
    fail_unless(
        np.isfinite(values).all(), "radii holds NaN or inf: did every cluster get its points?"
    )

    expected = _per_cluster(nearest, labels, n_clusters, lambda d: np.percentile(d, percentile))
    if np.allclose(values, expected, rtol=RADIUS_RTOL, atol=0):
        return f"radii: one radius per cluster at the {percentile:g}th percentile"

    def matches(candidate):
        return np.allclose(values, candidate, rtol=RADIUS_RTOL, atol=1e-12)

    fail_unless(
        (values >= 0).all(),
        "radii has a negative radius: radii are distances, so they cannot be negative",
    )
    fail_unless(
        not matches(np.full(n_clusters, np.percentile(nearest, percentile))),
        f"every cluster got the same radius ({values[0]:.3f}): that is one global threshold "
        "over all points. Each cluster needs its own radius, from its own points.",
    )
    fail_unless(
        not matches(np.arange(n_clusters)),
        "these are percentiles of cluster numbers, not of distances: the radius of a cluster "
        "is a distance from its centre",
    )
    fail_unless(
        not np.allclose(np.sort(values), np.sort(expected), rtol=RADIUS_RTOL, atol=0),
        "these are the right radii, but given to the wrong clusters: radii[k] belongs to the "
        "cluster whose centre is number k in kmeans (the nearest centre), not to another "
        "numbering such as the true blob labels",
    )
    if percentile < 100:
        fail_unless(
            not matches(_per_cluster(nearest, labels, n_clusters, np.max)),
            "these are the largest distance of each cluster (its 100th percentile). The "
            f"{percentile:g}th percentile leaves out the farthest {100 - percentile:g}% of "
            "each cluster's points, so that a few odd training points do not set the boundary",
        )
    fail_unless(
        not matches(
            _per_cluster(nearest, labels, n_clusters, lambda d: np.percentile(d, percentile / 100))
        ),
        f"these radii sit among the smallest distances of each cluster: np.percentile "
        f"expects a percentage from 0 to 100, so {percentile / 100:g} means the "
        f"{percentile / 100:g}th percentile, not the {percentile:g}th",
    )
    for ddof in (0, 1):
        fail_unless(
            not matches(
                _per_cluster(
                    nearest,
                    labels,
                    n_clusters,
                    lambda d, ddof=ddof: d.mean() + 2 * d.std(ddof=ddof),
                )
            ),
            "these are the mean plus two standard deviations of each cluster's distances: a "
            "sensible threshold too (the Spark notebooks use it), but this exercise asks for the "
            f"{percentile:g}th percentile (percentile_threshold)",
        )
    fail_unless(
        not matches(
            _per_cluster(nearest**2, labels, n_clusters, lambda d: np.percentile(d, percentile))
        ),
        "these look like squared distances: the radius is the distance itself",
    )
    for other in np.arange(0.5, 100.5, 0.5):
        if other != percentile and other != 100:
            fail_unless(
                not matches(
                    _per_cluster(
                        nearest, labels, n_clusters, lambda d, q=other: np.percentile(d, q)
                    )
                ),
                f"these are radii at another percentile ({other:g}): use percentile_threshold "
                f"({percentile:g}), not a number typed in, so that the knob works",
            )
    columns = np.array([np.percentile(distances[:, k], percentile) for k in range(n_clusters)])
    fail_unless(
        not matches(columns),
        "for cluster k you used the distances of ALL points to centre k, so the points of "
        "the other clusters, far away, set k's radius. Only the points in cluster k count.",
    )
    fail_unless(
        False,
        f"radii does not match the {percentile:g}th percentile of each cluster's distances. "
        "Check which points, and which of their distances, go into each cluster's percentile.",
    )


JUDGES = {"blobs-radii": judge_radii}
