"""Every check of course_helpers.checks accepts the right answer and rejects realistic wrong ones.

Each wrong answer is one a student would plausibly write (predict instead of
transform, the wrong percentile, one global radius, distances on the wrong data,
swapped counts, a Python UDF, ...). The right answers are written here the way a
student would write them, not taken from the checks.

Every case is judged twice, the two ways a check is used: in the kernel, as the
student sees it, and the grader's way, from the plain answer and reference that
the check sends out of the kernel (through JSON, as on the wire). The two
verdicts must agree. The last test fails when an exercise has no test here.
"""

import json
import re

import numpy as np
import pytest
from seed_procedure import blobs_demo
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs

import course_helpers.checks as checks_package
from course_helpers.checks import blobs, digits, judge_answer, judge_for, tsne
from course_helpers.checks.plain import from_plain

#: exercise ids that the tests below judge (filled in as they run)
TESTED = set()


def judged_both_ways(check, *args, **kwargs):
    """Run ``check`` in the kernel's way and in the grader's way: ``(passed, message)``."""
    sent = []
    mp = pytest.MonkeyPatch()
    mp.setenv(checks_package.GRADING_MODE_ENV, "reference")
    mp.setattr(checks_package, "_send", lambda exercise, payload: sent.append((exercise, payload)))
    try:
        check(*args, **kwargs)
        in_kernel = (True, None)
    except checks_package.CheckFailed as exc:
        in_kernel = (False, str(exc))
    finally:
        mp.undo()
    assert len(sent) == 1, "a check sends exactly one answer"
    exercise, payload = sent[0]
    TESTED.add(exercise)
    wire = json.loads(json.dumps(payload, allow_nan=False))
    assert wire["passed"] == in_kernel[0]
    graded = judge_answer(
        judge_for(exercise), from_plain(wire["answer"]), from_plain(wire["reference"])
    )
    assert graded[0] == in_kernel[0], (graded, in_kernel)
    if not in_kernel[0]:
        assert graded[1] == in_kernel[1]
    return graded


def rejects(check, *args, match, **kwargs):
    ok, message = judged_both_ways(check, *args, **kwargs)
    assert not ok, f"accepted a wrong answer: {message}"
    assert re.search(match, message), message


def accepts(check, capsys, *args, **kwargs):
    ok, message = judged_both_ways(check, *args, **kwargs)
    assert ok, f"rejected a right answer: {message}"
    check(*args, **kwargs)  # and as a student runs it: one success line
    assert capsys.readouterr().out.startswith("✓")


# --- 03_blobs_kmeans -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs_setup():
    kmeans, X_train, X_anomaly = blobs_demo()
    return X_train, X_anomaly, kmeans


def student_radii(kmeans, X, percentile, *, per_cluster=True):
    """The exercise as a student writes it: distances with transform, nearest centre, percentile."""
    distances = kmeans.transform(X)
    nearest = distances.argmin(axis=1)
    nearest_distance = distances.min(axis=1)
    if not per_cluster:
        radius = float(np.percentile(nearest_distance, percentile))
        return dict.fromkeys(range(len(kmeans.cluster_centers_)), radius)
    return {
        k: float(np.percentile(nearest_distance[nearest == k], percentile))
        for k in range(len(kmeans.cluster_centers_))
    }


def test_blobs_radii(blobs_setup, capsys):
    X_train, X_anomaly, kmeans = blobs_setup
    options = dict(kmeans=kmeans, X_train=X_train, percentile_threshold=99)
    accepts(blobs.radii, capsys, student_radii(kmeans, X_train, 99), **options)
    rejects(
        blobs.radii,
        student_radii(kmeans, X_train, 99, per_cluster=False),
        match="global threshold",
        **options,
    )
    rejects(blobs.radii, student_radii(kmeans, X_train, 95), match="another percentile", **options)
    # distances on the wrong data: normal and anomalous points together
    X_all = np.vstack([X_train, X_anomaly])
    rejects(blobs.radii, student_radii(kmeans, X_all, 99), match="percentile", **options)
    # predict instead of transform: percentiles of cluster labels, not of distances
    labels = kmeans.predict(X_train)
    from_labels = {k: float(np.percentile(labels[labels == k], 99)) for k in range(3)}
    rejects(blobs.radii, from_labels, match="does not match", **options)
    rejects(blobs.radii, [0.5, 0.6, 0.7], match="dict", **options)
    rejects(blobs.radii, {0: 1.0, 1: 1.0}, match="one key per cluster", **options)


# --- 04_digits_kmeans ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_setup():
    data = load_digits()
    anomalous = data.target < 2
    normal_data, abnormal_data = data.data[~anomalous], data.data[anomalous]
    kmeans = KMeans(n_clusters=8, n_init=10, random_state=0).fit(normal_data)
    return data.data, normal_data, abnormal_data, kmeans


def test_digits_normal_distances(digits_setup, capsys):
    all_data, normal_data, abnormal_data, kmeans = digits_setup
    options = dict(kmeans=kmeans, normal_data=normal_data)
    check = digits.normal_distances
    # right: Euclidean distance to every centroid, written out by hand
    by_hand = np.linalg.norm(normal_data[:, None, :] - kmeans.cluster_centers_[None], axis=2)
    accepts(check, capsys, by_hand, **options)
    rejects(check, kmeans.predict(normal_data), match="cluster labels, not distances", **options)
    rejects(check, kmeans.transform(abnormal_data), match="compute it on normal_data", **options)
    rejects(check, kmeans.transform(all_data), match="compute it on normal_data", **options)
    rejects(check, kmeans.transform(normal_data) ** 2, match="squared distances", **options)
    rejects(check, kmeans.transform, match="call the method", **options)
    rejects(check, by_hand.min(axis=1), match="one row per normal digit", **options)
    rejects(check, kmeans.transform(normal_data / 16), match="not the right values", **options)


def test_digits_false_positives_negatives(capsys):
    rng = np.random.default_rng(0)
    y_true = np.r_[np.zeros(1437, dtype=int), np.ones(360, dtype=int)]
    y_pred = (rng.random(len(y_true)) < np.where(y_true == 1, 0.4, 0.02)).astype(int)
    # right, counted with a plain loop
    fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == 0 and p == 1)
    fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == 1 and p == 0)
    assert 0 < fp < fn  # so that swapping them is a different answer
    check = digits.false_positives_negatives
    options = dict(y_true=y_true, y_pred=y_pred)
    accepts(check, capsys, fp, fn, **options)
    accepts(check, capsys, np.int64(fp), np.int64(fn), **options)
    rejects(check, fn, fp, match="swapped", **options)
    rejects(check, int(y_pred.sum()), fn, match="counts flagged anomalies too", **options)
    rejects(check, fp, int((y_pred == 0).sum()), match="counts normal digits too", **options)
    rejects(check, float(fp), fn, match="whole number", **options)
    rejects(check, fp + 1, fn, match="not the right counts", **options)


# --- 05_digits_tsne ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tsne_setup(digits_setup):
    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    _, normal_data, abnormal_data, _ = digits_setup
    # A small subset keeps this test quick; the check does not depend on the size.
    normal, abnormal = normal_data[:300], abnormal_data[:40]
    with threadpool_limits(1):
        embedding = OpenTSNE(n_components=2, neighbors="exact", n_jobs=1, random_state=0).fit(
            normal
        )
        leaky = TSNE(n_components=2, init="random", random_state=0, perplexity=20).fit_transform(
            np.vstack([normal, abnormal])
        )[len(normal) :]
        right = embedding.transform(abnormal)
        own_map = OpenTSNE(n_components=2, neighbors="exact", n_jobs=1, random_state=0).fit(
            abnormal
        )
    return normal, abnormal, embedding, leaky, right, np.asarray(own_map)


def test_tsne_abnormal_embedding(tsne_setup, capsys):
    from threadpoolctl import threadpool_limits

    _, abnormal, embedding, leaky, right, own_map = tsne_setup
    check = tsne.abnormal_embedding
    options = dict(normal_embedding=embedding, abnormal_data=abnormal, leaky_projection=leaky)
    with threadpool_limits(1):
        accepts(check, capsys, right, **options)
        rejects(check, leaky, match="fitted WITH the anomalies", **options)
        rejects(check, own_map, match="axes of its own", **options)
        rejects(check, np.asarray(embedding), match="map abnormal_data", **options)
        rejects(check, embedding.transform, match="call the method", **options)


# --- 01_spark_kmeans and 02_spark_gmm ------------------------------------------------------


@pytest.fixture(scope="module")
def spark():
    from spark_pipeline import TEST_CONFIG

    from course_helpers.environment import java_major_version
    from course_helpers.spark import get_spark

    if (java_major_version() or 0) < 17:
        pytest.skip("Spark 4 needs Java 17")
    session = get_spark("course-check-tests", master="local[1]", config=TEST_CONFIG)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def kmeans_runs(spark):
    from pyspark.ml.clustering import KMeans as SparkKMeans
    from pyspark.ml.linalg import Vectors

    X, _ = make_blobs(n_samples=200, centers=5, cluster_std=0.6, random_state=3)
    scaled = (X - X.mean(axis=0)) / X.std(axis=0)
    df_scaled = spark.createDataFrame(
        [(Vectors.dense(row),) for row in scaled], ["features"]
    ).coalesce(1)
    df_raw = spark.createDataFrame([(Vectors.dense(row),) for row in X], ["features"]).coalesce(1)
    seeds = [1, 2, 3, 4]
    models = {
        seed: SparkKMeans(k=3, seed=seed, maxIter=10, predictionCol="cluster").fit(df_scaled)
        for seed in seeds
    }
    costs = {seed: model.summary.trainingCost for seed, model in models.items()}
    raw_model = SparkKMeans(k=3, seed=1, predictionCol="cluster").fit(df_raw)
    return df_scaled, seeds, models, costs, raw_model


def test_spark_kmeans_best_seed(kmeans_runs, capsys):
    from course_helpers.checks import spark_kmeans

    df_scaled, seeds, models, costs, raw_model = kmeans_runs
    ordered = sorted(seeds, key=costs.get)
    assert costs[ordered[0]] < costs[ordered[1]] < costs[ordered[-1]], costs  # distinct optima
    check = spark_kmeans.best_seed
    options = dict(seeds=seeds, df_scaled=df_scaled)
    accepts(check, capsys, costs, kmeans_model=models[ordered[0]], **options)
    rejects(check, costs, kmeans_model=models[ordered[-1]], match="highest cost", **options)
    rejects(check, costs, kmeans_model=models[ordered[1]], match="lowest cost", **options)
    rejects(check, costs, kmeans_model=raw_model, match="not fitted on df_scaled", **options)
    rejects(
        check,
        {s: costs[s] for s in seeds[:-1]},
        kmeans_model=models[1],
        match="one entry per seed",
        **options,
    )
    rejects(check, list(costs.values()), kmeans_model=models[1], match="dict", **options)


def _distance_expression(centres, *, offset=1, squared=False):
    """The native distance a student builds from Spark's functions."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    table = F.array(*[F.array(*[F.lit(float(v)) for v in centre]) for centre in centres])
    squares = F.zip_with(
        vector_to_array("features"),
        F.element_at(table, F.col("cluster") + offset),
        lambda a, b: (a - b) * (a - b),
    )
    total = F.aggregate(squares, F.lit(0.0), lambda s, x: s + x)
    return total if squared else F.sqrt(total)


def test_spark_kmeans_distance_column(kmeans_runs, capsys):
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from course_helpers.checks import spark_kmeans

    df_scaled, _, models, _, _ = kmeans_runs
    model = models[1]
    centres = [np.asarray(c) for c in model.clusterCenters()]
    clustered = model.transform(df_scaled)
    check = spark_kmeans.distance_column

    def with_distance(column):
        return clustered.withColumn("distance", column)

    accepts(check, capsys, with_distance(_distance_expression(centres)), kmeans_model=model)
    rejects(
        check,
        with_distance(_distance_expression(centres, squared=True)),
        kmeans_model=model,
        match="squared distances",
    )

    @F.udf(DoubleType())
    def python_distance(features, cluster):
        return float(np.linalg.norm(features.toArray() - centres[cluster]))

    rejects(
        check,
        with_distance(python_distance("features", "cluster")),
        kmeans_model=model,
        match="Python UDF",
    )
    rejects(check, clustered, kmeans_model=model, match="no column 'distance'")


def test_spark_kmeans_distance_off_by_one_gets_a_hint(kmeans_runs):
    from course_helpers.checks import spark_kmeans

    df_scaled, _, models, _, _ = kmeans_runs
    model = models[1]
    centres = [np.asarray(c) for c in model.clusterCenters()]
    # element_at counts from 1: "cluster + 0" is the classic off-by-one
    clustered = model.transform(df_scaled).withColumn(
        "distance", _distance_expression(centres, offset=0)
    )
    rejects(spark_kmeans.distance_column, clustered, kmeans_model=model, match="counts from 1")


@pytest.fixture(scope="module")
def gmm_scored(spark, kmeans_runs):
    from pyspark.ml.clustering import GaussianMixture

    df_scaled = kmeans_runs[0]
    model = GaussianMixture(k=3, seed=0).fit(df_scaled)
    return model.transform(df_scaled)


def test_spark_gmm_max_probability_column(gmm_scored, capsys):
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from course_helpers.checks import spark_gmm

    check = spark_gmm.max_probability_column
    probabilities = vector_to_array("probability")
    accepts(check, capsys, gmm_scored.withColumn("max_probability", F.array_max(probabilities)))
    rejects(
        check,
        gmm_scored.withColumn("max_probability", F.array_min(probabilities)),
        match="smallest",
    )
    rejects(
        check,
        gmm_scored.withColumn("max_probability", F.element_at(probabilities, 1)),
        match="one component",
    )
    python_max = F.udf(lambda v: float(max(v)), DoubleType())
    rejects(
        check,
        gmm_scored.withColumn("max_probability", python_max("probability")),
        match="Python UDF",
    )


def test_spark_gmm_loglik_flags(spark, capsys):
    from pyspark.sql import functions as F

    from course_helpers.checks import spark_gmm

    rng = np.random.default_rng(1)
    scores = rng.normal(-8, 3, size=400)
    df = spark.createDataFrame(
        [(float(s), float(p)) for s, p in zip(scores, rng.random(400), strict=True)],
        ["log_likelihood", "max_probability"],
    ).coalesce(1)
    low_fraction = 0.05
    threshold = float(np.sort(scores)[int(np.ceil(low_fraction * len(scores))) - 1])
    check = spark_gmm.loglik_flags

    def flagged(condition):
        return df.withColumn("anomaly_loglik", condition.cast("double"))

    below = F.col("log_likelihood") < threshold
    accepts(check, capsys, flagged(below), loglik_threshold=threshold, low_fraction=low_fraction)
    top = float(np.quantile(scores, 1 - low_fraction))
    rejects(
        check,
        flagged(F.col("log_likelihood") > top),
        loglik_threshold=top,
        low_fraction=low_fraction,
        match="LOWEST",
    )
    rejects(
        check,
        flagged(F.col("log_likelihood") < low_fraction),
        loglik_threshold=low_fraction,
        low_fraction=low_fraction,
        match="probability",
    )
    rejects(
        check,
        flagged(~below),
        loglik_threshold=threshold,
        low_fraction=low_fraction,
        match="upside down",
    )


# --- every check is covered -----------------------------------------------------------------


def test_every_exercise_has_a_test_here():
    """Runs last in this file: every exercise with a judge was judged above."""
    import importlib
    import pkgutil

    judged = set()
    for module_info in pkgutil.iter_modules(checks_package.__path__):
        if not module_info.name.startswith("_"):
            module = importlib.import_module(f"course_helpers.checks.{module_info.name}")
            judged |= set(getattr(module, "JUDGES", {}))
    if not TESTED:
        pytest.skip("run the whole file: the other tests fill TESTED")
    untested = judged - TESTED
    if any(e.startswith(("kmeans-", "gmm-")) for e in untested) and not _java_ok():
        untested = {e for e in untested if not e.startswith(("kmeans-", "gmm-"))}
    assert untested == set(), "write right and wrong answers for these exercises"


def _java_ok():
    from course_helpers.environment import java_major_version

    return (java_major_version() or 0) >= 17
