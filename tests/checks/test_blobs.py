"""Right and wrong answers for the check of 03_blobs_kmeans (exercise ``blobs-radii``).

Each right answer is written the way a student would write the exercise cell,
starting from what the notebook's earlier cells define (``train_distances``,
``nearest_cluster``, ``nearest_distance``); each wrong one is a mistake seen in
practice, with the hint it must get.
"""

import numpy as np
import pandas as pd
import pytest
from check_harness import accepts, rejects
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances_argmin_min

from course_helpers.checks import blobs
from tests.support.seed_procedure import blobs_demo

PERCENTILE = 99


@pytest.fixture(scope="module")
def state():
    """The kernel's state when the exercise starts, as the notebook's given cells leave it."""
    kmeans, X_train, X_anomaly = blobs_demo()
    train_distances = kmeans.transform(X_train)
    nearest_cluster = train_distances.argmin(axis=1)
    nearest_distance = train_distances[np.arange(len(X_train)), nearest_cluster]
    return {
        "kmeans": kmeans,
        "X_train": X_train,
        "X_anomaly": X_anomaly,
        "num_centers": 3,
        "train_distances": train_distances,
        "nearest_cluster": nearest_cluster,
        "nearest_distance": nearest_distance,
        "y_train_kmeans": kmeans.predict(X_train),
        # the notebook's blobs-train cell: the same call as blobs_demo, keeping the labels
        "y_train_true": make_blobs(n_samples=300, centers=3, cluster_std=0.40, random_state=0)[1],
    }


# --- right answers ---------------------------------------------------------------------------


def loop_over_clusters(s, p):
    radii = {}
    for cluster in range(s["num_centers"]):
        radii[cluster] = np.percentile(s["nearest_distance"][s["nearest_cluster"] == cluster], p)
    return radii


def dict_comprehension_with_quantile(s, p):
    return {
        k: np.quantile(s["nearest_distance"][s["nearest_cluster"] == k], p / 100)
        for k in range(s["num_centers"])
    }


def pandas_groupby_quantile(s, p):
    frame = pd.DataFrame({"cluster": s["nearest_cluster"], "distance": s["nearest_distance"]})
    return frame.groupby("cluster")["distance"].quantile(p / 100)  # a Series indexed by cluster


def pandas_groupby_to_dict(s, p):
    return pandas_groupby_quantile(s, p).to_dict()


def seed_style_lists(s, p):
    # the original tutorial's way: a list of distances per cluster, built in a loop
    center_distances = {key: [] for key in range(s["num_centers"])}
    labels = s["y_train_kmeans"]
    for i in range(len(labels)):
        center_distances[labels[i]].append(s["train_distances"][i][labels[i]])
    return {key: np.percentile(values, p) for key, values in center_distances.items()}


def numpy_int_keys_from_unique(s, p):
    clusters = np.unique(s["nearest_cluster"])  # numpy ints, not Python ints
    return {k: np.percentile(s["nearest_distance"][s["nearest_cluster"] == k], p) for k in clusters}


def pairwise_distances_argmin_min_version(s, p):
    labels, distance = pairwise_distances_argmin_min(s["X_train"], s["kmeans"].cluster_centers_)
    return {k: float(np.percentile(distance[labels == k], p)) for k in range(3)}


def cdist_float32(s, p):
    X = s["X_train"].astype(np.float32)
    centres = s["kmeans"].cluster_centers_.astype(np.float32)
    d = cdist(X, centres).astype(np.float32)
    own = d.min(axis=1)
    return {k: np.percentile(own[d.argmin(axis=1) == k], p) for k in range(3)}


def broadcasting_by_hand(s, p):
    diff = s["X_train"][:, None, :] - s["kmeans"].cluster_centers_[None, :, :]
    d = np.sqrt((diff**2).sum(axis=2))
    return {k: np.percentile(d[d.argmin(axis=1) == k, k], p) for k in range(3)}


def max_at_percentile_100(s, p):
    return {k: s["nearest_distance"][s["nearest_cluster"] == k].max() for k in range(3)}


RIGHT = [
    loop_over_clusters,
    dict_comprehension_with_quantile,
    pandas_groupby_quantile,
    pandas_groupby_to_dict,
    seed_style_lists,
    numpy_int_keys_from_unique,
    pairwise_distances_argmin_min_version,
    cdist_float32,
    broadcasting_by_hand,
]


@pytest.mark.parametrize("build", RIGHT, ids=lambda f: f.__name__)
def test_right_answers_pass(state, capsys, build):
    accepts(
        blobs.radii,
        capsys,
        build(state, PERCENTILE),
        kmeans=state["kmeans"],
        X_train=state["X_train"],
        percentile_threshold=PERCENTILE,
    )


@pytest.mark.parametrize("percentile", [90, 95, 97.5, 100])
def test_right_answers_follow_the_knob(state, capsys, percentile):
    options = dict(kmeans=state["kmeans"], X_train=state["X_train"])
    accepts(
        blobs.radii,
        capsys,
        loop_over_clusters(state, percentile),
        **options,
        percentile_threshold=percentile,
    )
    if percentile == 100:  # the largest distance IS the 100th percentile
        accepts(
            blobs.radii,
            capsys,
            max_at_percentile_100(state, 100),
            **options,
            percentile_threshold=100,
        )


# --- wrong answers ---------------------------------------------------------------------------


def one_global_threshold(s, p):
    radius = np.percentile(s["nearest_distance"], p)
    return dict.fromkeys(range(3), radius)


def fraction_instead_of_percentage(s, p):
    return {
        k: np.percentile(s["nearest_distance"][s["nearest_cluster"] == k], p / 100)
        for k in range(3)
    }


def mean_plus_two_sigma(s, p):
    return {
        k: s["nearest_distance"][s["nearest_cluster"] == k].mean()
        + 2 * s["nearest_distance"][s["nearest_cluster"] == k].std()
        for k in range(3)
    }


def mean_plus_two_sigma_pandas(s, p):
    # pandas' std divides by n - 1
    frame = pd.DataFrame({"cluster": s["nearest_cluster"], "distance": s["nearest_distance"]})
    by_cluster = frame.groupby("cluster")["distance"]
    return (by_cluster.mean() + 2 * by_cluster.std()).to_dict()


def largest_distance(s, p):
    return max_at_percentile_100(s, p)


def typed_in_95(s, p):
    return loop_over_clusters(s, 95)


def all_points_to_each_centre(s, p):
    return {k: np.percentile(s["train_distances"][:, k], p) for k in range(3)}


def true_blob_labels(s, p):
    # make_blobs' labels number the blobs differently from k-means' clusters
    labels = s["y_train_true"]
    return {k: np.percentile(s["nearest_distance"][labels == k], p) for k in range(3)}


def percentile_of_labels(s, p):
    labels = s["y_train_kmeans"]
    return {k: np.percentile(labels[labels == k], p) for k in range(3)}


def normal_and_anomalous_points(s, p):
    d = s["kmeans"].transform(np.vstack([s["X_train"], s["X_anomaly"]]))
    return {k: np.percentile(d.min(axis=1)[d.argmin(axis=1) == k], p) for k in range(3)}


def squared_distances(s, p):
    return {
        k: np.percentile(s["nearest_distance"][s["nearest_cluster"] == k] ** 2, p) for k in range(3)
    }


def percentile_kept_as_array(s, p):
    return {
        k: np.percentile(s["nearest_distance"][s["nearest_cluster"] == k], [p]) for k in range(3)
    }


def list_of_radii(s, p):
    return list(loop_over_clusters(s, p).values())


def string_keys(s, p):
    return {str(k): r for k, r in loop_over_clusters(s, p).items()}


WRONG = [
    (one_global_threshold, "one global threshold"),
    (fraction_instead_of_percentage, "percentage from 0 to 100"),
    (mean_plus_two_sigma, "mean plus two standard deviations"),
    (mean_plus_two_sigma_pandas, "mean plus two standard deviations"),
    (largest_distance, r"largest distance of each cluster .* leaves out the farthest 1%"),
    (typed_in_95, r"another percentile \(95\).*not a number typed in"),
    (all_points_to_each_centre, "ALL points to centre k"),
    (true_blob_labels, "wrong clusters"),
    (percentile_of_labels, "cluster numbers, not of distances"),
    (normal_and_anomalous_points, "which points"),
    (squared_distances, "squared distances"),
    (percentile_kept_as_array, r"radii\[0\] should be one number .*shape \(1,\)"),
    (list_of_radii, "should be a dict .* got list"),
    (string_keys, "cluster numbers 0 to 2"),
    # variables the notebook defined before the exercise: a skipped exercise must not pass
    (lambda s, p: s["nearest_distance"], "should be a dict .* got ndarray"),
    (lambda s, p: s["train_distances"], "should be a dict .* got ndarray"),
    (lambda s, p: None, "should be a dict .* got NoneType"),
    (lambda s, p: {0: 1.0, 1: 1.0}, "one key per cluster"),
    (lambda s, p: {0: None, 1: 1.0, 2: 1.0}, r"radii\[0\] should be one number"),
    (lambda s, p: {0: float("nan"), 1: 1.0, 2: 1.0}, "NaN"),
    (lambda s, p: {k: -r for k, r in loop_over_clusters(s, p).items()}, "negative"),
]


@pytest.mark.parametrize(
    ("build", "hint"), WRONG, ids=lambda x: getattr(x, "__name__", None) if callable(x) else None
)
def test_wrong_answers_get_their_hint(state, build, hint):
    rejects(
        blobs.radii,
        build(state, PERCENTILE),
        match=hint,
        kmeans=state["kmeans"],
        X_train=state["X_train"],
        percentile_threshold=PERCENTILE,
    )


def test_right_answers_do_not_look_like_the_mistakes(state):
    """Each mistake above is a different answer from the right one (else its test is void)."""
    right = np.array(list(loop_over_clusters(state, PERCENTILE).values()))
    for build, _ in WRONG[:11]:  # the mistakes in the values, not in the container
        wrong = build(state, PERCENTILE)
        values = np.array([wrong[k] for k in range(3)], dtype=float)
        assert not np.allclose(values, right, rtol=1e-3), build.__name__


def test_a_typed_in_percentile_is_caught_when_the_knob_moves(state):
    # 99 typed in while the knob is at 95: the check names the mistake, not the numbers
    rejects(
        blobs.radii,
        loop_over_clusters(state, 99),
        match=r"another percentile \(99\).*knob",
        kmeans=state["kmeans"],
        X_train=state["X_train"],
        percentile_threshold=95,
    )


def test_a_passing_series_runs_through_the_notebook(tmp_path):
    """groupby().quantile() gives a Series, not a dict: the check passes it, and so do the
    exercise cell's print and the cells after it."""
    from notebook_run import printed, run_with_answer

    answer = (
        "frame = pd.DataFrame({'cluster': nearest_cluster, 'distance': nearest_distance})\n"
        "radii = frame.groupby('cluster')['distance'].quantile(percentile_threshold / 100)\n"
    )
    cells = run_with_answer(
        "03_blobs_kmeans",
        "ex-blobs-radii",
        answer,
        workdir=tmp_path,
        skip=("blobs-knob-figure", "quick-spread-figure"),
    )
    assert printed(cells["check-blobs-radii"]).startswith("✓")
    assert printed(cells["ex-blobs-radii"]) == printed(cells["blobs-helper-radii"])
