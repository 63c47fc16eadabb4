"""Fixtures that several check tables share."""

import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits_setup():
    data = load_digits()
    anomalous = data.target < 2
    normal_data, abnormal_data = data.data[~anomalous], data.data[anomalous]
    kmeans = KMeans(n_clusters=8, n_init=10, random_state=0).fit(normal_data)
    return data.data, normal_data, abnormal_data, kmeans


@pytest.fixture(scope="session")
def spark():
    from spark_pipeline import TEST_CONFIG

    from course_helpers.setup.java import java_major_version
    from course_helpers.spark import get_spark

    if (java_major_version() or 0) < 17:
        pytest.skip("Spark 4 needs Java 17")
    session = get_spark("course-check-tests", master="local[1]", config=TEST_CONFIG)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def detectors_setup():
    """The state 06_which_detector's given cells leave before its exercises (same seeds)."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture
    from sklearn.model_selection import train_test_split

    data = load_digits()
    anomalous = data.target < 2
    normal, normal_label = data.data[~anomalous], data.target[~anomalous]
    abnormal, abnormal_label = data.data[anomalous], data.target[anomalous]
    X_train, rest, _, rest_label = train_test_split(
        normal, normal_label, test_size=600, stratify=normal_label, random_state=0
    )
    normal_val, normal_test = train_test_split(
        rest, test_size=300, stratify=rest_label, random_state=0
    )
    abnormal_val, abnormal_test = train_test_split(
        abnormal, test_size=0.5, stratify=abnormal_label, random_state=0
    )
    X_val, X_test = np.vstack([normal_val, abnormal_val]), np.vstack([normal_test, abnormal_test])
    y_val = np.r_[np.zeros(len(normal_val), dtype=int), np.ones(len(abnormal_val), dtype=int)]
    y_test = np.r_[np.zeros(len(normal_test), dtype=int), np.ones(len(abnormal_test), dtype=int)]
    pca = PCA(n_components=20, random_state=0).fit(X_train)
    gmm = GaussianMixture(n_components=8, random_state=0).fit(pca.transform(X_train))
    scores = {
        name: -gmm.score_samples(pca.transform(X))
        for name, X in (("train", X_train), ("val", X_val), ("test", X_test))
    }
    return {
        "X_train": X_train,
        "X_val": X_val,
        "X_test": X_test,
        "y_val": y_val,
        "y_test": y_test,
        "gmm": scores,
        "k": 5,
        "fp_budget": 0.05,
    }
