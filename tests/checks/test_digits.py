"""Right and wrong answers for the checks of 04_digits_kmeans.

Right answers are written the way students write the exercise cells; wrong ones
are mistakes seen in practice, each with the hint it must get. Both start from
the state the notebook's given cells leave (``digits_setup`` in conftest.py).
"""

import copy

import numpy as np
import pandas as pd
import pytest
from check_harness import accepts, rejects
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.metrics import confusion_matrix, euclidean_distances, pairwise_distances

from course_helpers import cluster_radii, flag_anomalies
from course_helpers.checks import digits

# --- exercise digits-normal-distances ----------------------------------------------------------


def loop_into_zeros(kmeans, normal_data):
    distances = np.zeros((len(normal_data), len(kmeans.cluster_centers_)))
    for i, digit in enumerate(normal_data):
        for k, centre in enumerate(kmeans.cluster_centers_):
            distances[i, k] = np.sqrt(np.sum((digit - centre) ** 2))
    return distances


NORMAL_DISTANCES_RIGHT = {
    "transform": lambda km, X: km.transform(X),
    "fit_transform refits the same model": lambda km, X: copy.deepcopy(km).fit_transform(X),
    "cdist": lambda km, X: cdist(X, km.cluster_centers_),
    "pairwise_distances": lambda km, X: pairwise_distances(X, km.cluster_centers_),
    "euclidean_distances": lambda km, X: euclidean_distances(X, km.cluster_centers_),
    "broadcasting with norm": lambda km, X: np.linalg.norm(
        X[:, None, :] - km.cluster_centers_[None, :, :], axis=2
    ),
    "a double loop": loop_into_zeros,
    "float32": lambda km, X: km.transform(X.astype(np.float32)).astype(np.float32),
    "cdist in float32": lambda km, X: cdist(
        X.astype(np.float32), km.cluster_centers_.astype(np.float32)
    ).astype(np.float32),
    "a list of rows": lambda km, X: km.transform(X).tolist(),
    "a list comprehension": lambda km, X: [
        [float(np.linalg.norm(x - c)) for c in km.cluster_centers_] for x in X
    ],
    "a DataFrame": lambda km, X: pd.DataFrame(
        km.transform(X), columns=[f"centroid {k}" for k in range(8)]
    ),
}


@pytest.mark.parametrize("name", NORMAL_DISTANCES_RIGHT)
def test_normal_distances_right_answers_pass(digits_setup, capsys, name):
    _, normal_data, _, kmeans = digits_setup
    answer = NORMAL_DISTANCES_RIGHT[name](kmeans, normal_data)
    accepts(digits.normal_distances, capsys, answer, kmeans=kmeans, normal_data=normal_data)


NORMAL_DISTANCES_WRONG = {
    "predict: the nearest centroid's number": (
        lambda km, X, A, D: km.predict(X),
        "cluster numbers .*, not distances",
    ),
    "argmin of the distances": (
        lambda km, X, A, D: km.transform(X).argmin(axis=1),
        "cluster numbers .*, not distances",
    ),
    "only the nearest distance": (
        lambda km, X, A, D: km.transform(X).min(axis=1),
        r"one number per digit, shape \(1437,\)",
    ),
    "the anomalous digits": (
        lambda km, X, A, D: km.transform(A),
        "360 rows .* compute it on normal_data",
    ),
    "all digits": (lambda km, X, A, D: km.transform(D), "1797 rows .* compute it on normal_data"),
    "squared distances": (lambda km, X, A, D: km.transform(X) ** 2, "squared distances"),
    "cdist sqeuclidean": (
        lambda km, X, A, D: cdist(X, km.cluster_centers_, "sqeuclidean"),
        "squared distances",
    ),
    "city-block distances": (
        lambda km, X, A, D: np.abs(X[:, None, :] - km.cluster_centers_[None]).sum(axis=2),
        "city-block",
    ),
    "the wrong way round": (
        lambda km, X, A, D: cdist(km.cluster_centers_, X),
        r"wrong way round, shape \(8, 1437\)",
    ),
    "the method, not called": (lambda km, X, A, D: km.transform, "call it"),
    "a score, not a table": (lambda km, X, A, D: km.score(X), "table of numbers .* got float"),
    "a new model": (
        lambda km, X, A, D: KMeans(n_clusters=8, n_init=1, random_state=1).fit_transform(X),
        "newly fitted model",
    ),
    "rescaled pixels": (lambda km, X, A, D: km.transform(X / 16), "not the right values"),
    "negative distances": (lambda km, X, A, D: -km.transform(X), "negative"),
    # variables the notebook defined before the exercise: a skipped exercise must not pass
    "the centroids": (
        lambda km, X, A, D: km.cluster_centers_,
        r"shape \(1437, 8\) \(got \(8, 64\)",
    ),
    "the normal digits": (lambda km, X, A, D: X, r"shape \(1437, 8\) \(got \(1437, 64\)"),
    "nothing": (lambda km, X, A, D: None, "got NoneType"),
}


@pytest.mark.parametrize("name", NORMAL_DISTANCES_WRONG)
def test_normal_distances_wrong_answers_get_their_hint(digits_setup, name):
    all_data, normal_data, abnormal_data, kmeans = digits_setup
    build, hint = NORMAL_DISTANCES_WRONG[name]
    rejects(
        digits.normal_distances,
        build(kmeans, normal_data, abnormal_data, all_data),
        match=hint,
        kmeans=kmeans,
        normal_data=normal_data,
    )


# --- exercise digits-fp-fn ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def labels(digits_setup):
    """``y_true`` and ``y_pred`` as the exercise cell's given lines make them."""
    _, normal_data, abnormal_data, kmeans = digits_setup
    radii = cluster_radii(kmeans, normal_data, percentile=99)
    all_data = np.vstack([normal_data, abnormal_data])
    y_true = np.r_[np.zeros(len(normal_data), dtype=int), np.ones(len(abnormal_data), dtype=int)]
    y_pred = flag_anomalies(kmeans, all_data, radii).astype(int)
    return y_true, y_pred


def by_loop(t, p):
    false_pos = false_neg = 0
    for truth, flagged in zip(t, p, strict=True):
        if truth == 0 and flagged == 1:
            false_pos += 1
        elif truth == 1 and flagged == 0:
            false_neg += 1
    return false_pos, false_neg


def as_booleans(t, p):
    is_anomaly, is_flagged = t.astype(bool), p.astype(bool)
    return int((~is_anomaly & is_flagged).sum()), int((is_anomaly & ~is_flagged).sum())


def with_confusion_matrix(t, p):
    _, fp, fn, _ = confusion_matrix(t, p).ravel()
    return fp, fn  # numpy ints


def with_crosstab(t, p):
    table = pd.crosstab(t, p)
    return table.loc[0, 1], table.loc[1, 0]


FP_FN_RIGHT = {
    "masks with ==": lambda t, p: (
        int(np.sum((t == 0) & (p == 1))),
        int(np.sum((t == 1) & (p == 0))),
    ),
    "numpy ints, not converted": lambda t, p: (
        np.sum((t == 0) & (p == 1)),
        np.sum((t == 1) & (p == 0)),
    ),
    "count_nonzero and logical_and": lambda t, p: (
        np.count_nonzero(np.logical_and(t == 0, p == 1)),
        np.count_nonzero(np.logical_and(t == 1, p == 0)),
    ),
    "select then sum": lambda t, p: (p[t == 0].sum(), (p[t == 1] == 0).sum()),
    "integer arithmetic": lambda t, p: (((1 - t) * p).sum(), (t * (1 - p)).sum()),
    "len of where": lambda t, p: (
        len(np.where((t == 0) & (p == 1))[0]),
        len(np.where((t == 1) & (p == 0))[0]),
    ),
    "a loop": by_loop,
    "boolean arrays with ~": as_booleans,
    "confusion_matrix": with_confusion_matrix,
    "pandas crosstab": with_crosstab,
    "float sums of whole numbers": lambda t, p: (
        float(np.sum((t == 0) * (p == 1) * 1.0)),
        float(np.sum((t == 1) * (p == 0) * 1.0)),
    ),
    "0-d arrays": lambda t, p: (
        np.array(np.sum((t == 0) & (p == 1))),
        np.array(np.sum((t == 1) & (p == 0))),
    ),
}


@pytest.mark.parametrize("name", FP_FN_RIGHT)
def test_fp_fn_right_answers_pass(labels, capsys, name):
    y_true, y_pred = labels
    false_pos, false_neg = FP_FN_RIGHT[name](y_true, y_pred)
    check = digits.false_positives_negatives
    accepts(check, capsys, false_pos, false_neg, y_true=y_true, y_pred=y_pred)


def test_fp_fn_boolean_labels_pass(labels, capsys):
    # a student who turns the label arrays into booleans in the exercise cell
    y_true, y_pred = (a.astype(bool) for a in labels)
    false_pos, false_neg = int((~y_true & y_pred).sum()), int((y_true & ~y_pred).sum())
    check = digits.false_positives_negatives
    accepts(check, capsys, false_pos, false_neg, y_true=y_true, y_pred=y_pred)


FP_FN_WRONG = {
    "swapped": (lambda t, p, fp, fn: (fn, fp), "swapped"),
    "every flagged digit": (
        lambda t, p, fp, fn: (int(np.sum(p == 1)), fn),
        "false_pos counts flagged anomalies too",
    ),
    "flagged anomalies": (
        lambda t, p, fp, fn: (int(np.sum((t == 1) & (p == 1))), fn),
        "false_pos counts flagged anomalies too",
    ),
    "every digit called normal": (
        lambda t, p, fp, fn: (fp, int(np.sum(p == 0))),
        "false_neg counts normal digits too",
    ),
    "~ on the integer labels, as an index": (
        lambda t, p, fp, fn: (int(p[~t].sum()), int((p[t] == 0).sum())),
        "integer array used as a True/False mask",
    ),
    "integer labels as an index": (
        lambda t, p, fp, fn: (int(p[1 - t].sum()), fn),
        "integer array used as a True/False mask",
    ),
    "~ times an integer array": (
        lambda t, p, fp, fn: (int(np.sum(~t * p)), fn),
        "came out negative.*~ flips every bit",
    ),
    "every digit counted": (
        lambda t, p, fp, fn: (fp, len(t) - fp),  # "the rest"
        "false_neg is .*, more than the 360 anomalies there are",
    ),
    "a share, not a count": (
        lambda t, p, fp, fn: (float(np.mean((t == 0) & (p == 1))), fn),
        "not a whole number",
    ),
    "off by one": (lambda t, p, fp, fn: (fp + 1, fn), "not the right counts yet"),
    "an array of one count": (
        lambda t, p, fp, fn: (np.array([fp]), fn),
        "false_pos should be one number .* got ndarray",
    ),
    "a string": (lambda t, p, fp, fn: (str(fp), fn), "false_pos should be one number .* got str"),
    "a boolean": (lambda t, p, fp, fn: (fp, True), "false_neg should be one number .* got bool"),
    "nothing": (lambda t, p, fp, fn: (None, None), "false_pos should be one number"),
}


@pytest.mark.parametrize("name", FP_FN_WRONG)
def test_fp_fn_wrong_answers_get_their_hint(labels, name):
    y_true, y_pred = labels
    fp, fn = by_loop(y_true, y_pred)
    build, hint = FP_FN_WRONG[name]
    false_pos, false_neg = build(y_true, y_pred, fp, fn)
    assert (false_pos, false_neg) != (fp, fn) or name.startswith(("an array", "a string"))
    rejects(
        digits.false_positives_negatives,
        false_pos,
        false_neg,
        match=hint,
        y_true=y_true,
        y_pred=y_pred,
    )


def test_fp_fn_data_tell_the_mistakes_apart(labels):
    """The tables above mean something only if the counts they confuse differ."""
    y_true, y_pred = labels
    fp, fn = by_loop(y_true, y_pred)
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    assert len({fp, fn, tp, int(y_pred.sum()), int((y_pred == 0).sum())}) == 5


# --- a passing answer works in the rest of the notebook -------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "normal_distances = kmeans.transform(normal_data).tolist()",
        "normal_distances = pd.DataFrame(kmeans.transform(normal_data))",
    ],
    ids=["a list", "a DataFrame"],
)
def test_a_passing_answer_runs_through_the_notebook(tmp_path, answer):
    from notebook_run import printed, run_with_answer

    cells = run_with_answer(
        "04_digits_kmeans",
        "ex-digits-normal-distances",
        answer,
        workdir=tmp_path,
        skip=("digits-k-sweep", "digits-k-sweep-figure"),  # slow, and they do not use it
    )
    assert printed(cells["check-digits-normal-distances"]).startswith("✓")
    assert "same as the helper: True" in printed(cells["digits-radii"])
    assert printed(cells["check-digits-fp-fn"]).startswith("✓")
