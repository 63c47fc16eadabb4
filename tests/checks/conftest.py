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
