"""The boundary helpers, checked against the seed's loop procedure and by hand."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import load_digits, make_blobs

from course_helpers import (
    cluster_radii,
    confusion_counts,
    draw_boundaries,
    flag_anomalies,
    nearest_centre_distances,
    plot_detection,
)
from tests.support.seed_procedure import blobs_demo, seed_count, seed_radii


@pytest.fixture(scope="module")
def blobs():
    return blobs_demo()


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    normal, abnormal = data.data[data.target >= 2], data.data[data.target < 2]
    kmeans = KMeans(n_clusters=8, n_init=10, random_state=0).fit(normal)
    return kmeans, normal, abnormal


@pytest.mark.parametrize("percentile", [50, 90, 95, 99, 99.5, 100])
@pytest.mark.parametrize("dataset", ["blobs", "digits"])
def test_radii_and_counts_equal_the_seed_loop(request, dataset, percentile):
    kmeans, normal, anomalous = request.getfixturevalue(dataset)
    radii = cluster_radii(kmeans, normal, percentile=percentile)
    expected_radii = seed_radii(kmeans, normal, percentile)
    assert radii.keys() == expected_radii.keys()
    for k in radii:
        assert radii[k] == pytest.approx(expected_radii[k], rel=1e-12)

    X_all = np.vstack([normal, anomalous])
    y_true = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    counts = confusion_counts(y_true, flag_anomalies(kmeans, X_all, radii))
    combined = [*kmeans.transform(normal), *kmeans.transform(anomalous)]
    combined_y = [*kmeans.predict(normal), *kmeans.predict(anomalous)]
    assert (counts.false_positives, counts.false_negatives) == seed_count(
        combined, combined_y, expected_radii, len(normal)
    )


def test_known_radii_by_hand():
    # Two clusters on a line with hand-picked centres: distances are easy to work out.
    class FixedCentres:
        cluster_centers_ = np.array([[0.0, 0.0], [10.0, 0.0]])

        def transform(self, X):
            return np.linalg.norm(X[:, None, :] - self.cluster_centers_[None], axis=2)

    X = np.array([[1, 0], [2, 0], [3, 0], [4, 0], [10, 1], [10, 3]], dtype=float)
    radii = cluster_radii(FixedCentres(), X, percentile=100)
    assert radii == {0: 4.0, 1: 3.0}
    # 50th percentile of [1, 2, 3, 4] with linear interpolation is 2.5; of [1, 3] it is 2.
    assert cluster_radii(FixedCentres(), X, percentile=50) == {0: 2.5, 1: 2.0}
    flagged = flag_anomalies(FixedCentres(), np.array([[4.5, 0], [3.9, 0], [10, -3.5]]), radii)
    assert flagged.tolist() == [True, False, True]


def test_percentile_changes_the_result(blobs):
    kmeans, normal, anomalous = blobs
    X_all = np.vstack([normal, anomalous])
    y_true = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    fp_fn = {
        p: (lambda c: (c.false_positives, c.false_negatives))(
            confusion_counts(
                y_true, flag_anomalies(kmeans, X_all, cluster_radii(kmeans, normal, percentile=p))
            )
        )
        for p in (90, 99)
    }
    assert fp_fn[90] != fp_fn[99]
    assert fp_fn[90][0] > fp_fn[99][0]  # tighter circles, more false alarms


def test_nearest_centre_agrees_with_predict(digits):
    kmeans, normal, _ = digits
    labels, distances = nearest_centre_distances(kmeans, normal)
    assert (labels == kmeans.predict(normal)).all()
    assert np.allclose(distances, kmeans.transform(normal).min(axis=1))


def test_works_with_minibatch_kmeans():
    X, _ = make_blobs(n_samples=200, centers=2, random_state=3)
    model = MiniBatchKMeans(n_clusters=2, n_init=3, random_state=0).fit(X)
    assert len(cluster_radii(model, X)) == 2


@pytest.mark.parametrize("bad", [0, -5, 100.5, float("nan"), "99", None, True])
def test_bad_percentile_is_named(blobs, bad):
    kmeans, normal, _ = blobs
    with pytest.raises(ValueError, match="percentile must be"):
        cluster_radii(kmeans, normal, percentile=bad)
    with pytest.raises(ValueError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")):
        cluster_radii(kmeans, normal, percentile=bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_with_their_place(blobs, value):
    kmeans, normal, _ = blobs
    X = normal.copy()
    X[7, 1] = value
    with pytest.raises(ValueError, match=r"X_normal contains .* at row 7, column 1"):
        cluster_radii(kmeans, X)
    with pytest.raises(ValueError, match=r"X contains .* at row 7, column 1"):
        flag_anomalies(kmeans, X, cluster_radii(kmeans, normal))


def test_shape_mismatches_are_explained(blobs):
    kmeans, normal, _ = blobs
    with pytest.raises(ValueError, match="X has 3 features but the model's centres have 2"):
        flag_anomalies(kmeans, np.zeros((4, 3)), cluster_radii(kmeans, normal))
    with pytest.raises(ValueError, match=r"must be 2-D, got shape \(300,\).*reshape"):
        cluster_radii(kmeans, normal[:, 0])
    with pytest.raises(ValueError, match="radii has no entry for cluster"):
        flag_anomalies(kmeans, normal, {0: 1.0, 1: 1.0})


def test_empty_input_is_refused(blobs):
    kmeans, _, _ = blobs
    with pytest.raises(ValueError, match="X_normal is empty"):
        cluster_radii(kmeans, np.empty((0, 2)))


def test_cluster_without_normal_points_is_an_error_not_nan(blobs):
    kmeans, normal, _ = blobs
    only_two_clusters = normal[kmeans.predict(normal) != 2]
    with pytest.raises(ValueError, match="cluster 2 received no point of X_normal"):
        cluster_radii(kmeans, only_two_clusters)


def test_unfitted_model_is_named():
    with pytest.raises(TypeError, match=r"fitted k-means-like estimator.*KMeans.*call fit first"):
        cluster_radii(KMeans(n_clusters=2), np.zeros((3, 2)))


def test_draw_boundaries_draws_one_circle_per_cluster_with_the_radius(blobs):
    kmeans, normal, _ = blobs
    radii = cluster_radii(kmeans, normal)
    fig, ax = plt.subplots()
    returned = draw_boundaries(kmeans.cluster_centers_, radii, ax=ax)
    assert returned is ax
    circles = [p for p in ax.patches if isinstance(p, matplotlib.patches.Circle)]
    assert sorted(c.get_radius() for c in circles) == sorted(radii.values())
    for k, circle in enumerate(circles):
        assert np.allclose(circle.center, kmeans.cluster_centers_[k])
    # The view must contain every circle entirely.
    x0, x1 = ax.get_xlim()
    assert x0 <= (kmeans.cluster_centers_[:, 0] - list(radii.values())).min()
    assert x1 >= (kmeans.cluster_centers_[:, 0] + list(radii.values())).max()
    plt.close(fig)


def test_draw_boundaries_uses_current_axes_and_refuses_3d(blobs):
    kmeans, normal, _ = blobs
    fig, ax = plt.subplots()
    assert draw_boundaries(kmeans.cluster_centers_, cluster_radii(kmeans, normal)) is ax
    with pytest.raises(ValueError, match="2 columns to draw circles"):
        draw_boundaries(np.zeros((2, 3)), {0: 1.0, 1: 1.0})
    plt.close(fig)


def test_plot_detection_counts_each_outcome_in_the_legend():
    X = np.arange(12, dtype=float).reshape(6, 2)
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([0, 1, 0, 1, 0, 0])
    fig, ax = plt.subplots()
    plot_detection(X, y_pred, y_true=y_true, ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "normal, called normal (2)",
        "anomaly, flagged (1)",
        "false positive (1)",
        "false negative (2)",
    ]
    with pytest.raises(ValueError, match="y_pred has 5 entries but X has 6 rows"):
        plot_detection(X, y_pred[:5], ax=ax)
    plt.close(fig)
