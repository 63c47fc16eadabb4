"""Right and wrong answers for the checks of 06_which_detector.

Right answers are written the way students write the exercise cells; wrong ones are
mistakes seen in practice, each with the hint it must get. All start from the state the
notebook's given cells leave (``detectors_setup`` in conftest.py).
"""

import numpy as np
import pandas as pd
import pytest
from check_harness import accepts, rejects
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist
from sklearn.metrics import confusion_matrix, euclidean_distances
from sklearn.neighbors import NearestNeighbors

from course_helpers import (
    confusion_counts,
    count_false_positives_negatives,
    threshold_at_fp_budget,
)
from course_helpers.checks import detectors

# --- exercise detectors-knn-scores -------------------------------------------------------------


def with_nearest_neighbors(Xtr, Xv, Xt, k):
    neighbours = NearestNeighbors(n_neighbors=k).fit(Xtr)
    return (
        neighbours.kneighbors()[0][:, -1],
        neighbours.kneighbors(Xv)[0][:, -1],
        neighbours.kneighbors(Xt)[0][:, -1],
    )


def drop_self_column(Xtr, Xv, Xt, k):
    # one more neighbour for the training digits, then drop the first: the digit itself
    train = NearestNeighbors(n_neighbors=k + 1).fit(Xtr).kneighbors(Xtr)[0][:, 1:][:, -1]
    neighbours = NearestNeighbors(n_neighbors=k).fit(Xtr)
    return train, neighbours.kneighbors(Xv)[0][:, k - 1], neighbours.kneighbors(Xt)[0][:, k - 1]


def with_cdist(Xtr, Xv, Xt, k):
    return (
        np.sort(cdist(Xtr, Xtr), axis=1)[:, k],  # column 0 is the digit itself
        np.sort(cdist(Xv, Xtr), axis=1)[:, k - 1],
        np.sort(cdist(Xt, Xtr), axis=1)[:, k - 1],
    )


def diagonal_to_infinity(Xtr, Xv, Xt, k):
    own = euclidean_distances(Xtr, Xtr)
    np.fill_diagonal(own, np.inf)
    return (
        np.partition(own, k - 1, axis=1)[:, k - 1],
        np.partition(euclidean_distances(Xv, Xtr), k - 1, axis=1)[:, k - 1],
        np.partition(euclidean_distances(Xt, Xtr), k - 1, axis=1)[:, k - 1],
    )


def with_kdtree(Xtr, Xv, Xt, k):
    tree = KDTree(Xtr)
    return (
        tree.query(Xtr, k=k + 1)[0][:, -1],
        tree.query(Xv, k=k)[0][:, -1],
        tree.query(Xt, k=k)[0][:, -1],
    )


def a_loop(Xtr, Xv, Xt, k):
    def kth(digit, others):
        return np.sort(np.sqrt(((others - digit) ** 2).sum(axis=1)))[k - 1]

    train = [kth(digit, np.delete(Xtr, i, axis=0)) for i, digit in enumerate(Xtr)]
    return train, [kth(d, Xtr) for d in Xv], [kth(d, Xtr) for d in Xt]


KNN_RIGHT = {
    "kneighbors() without X for the training digits": with_nearest_neighbors,
    "n_neighbors=k+1 on the training digits, first column dropped": drop_self_column,
    "cdist and sort": with_cdist,
    "diagonal set to inf, then partition": diagonal_to_infinity,
    "scipy KDTree": with_kdtree,
    "a loop, the digit removed": a_loop,
    "lists": lambda *a: tuple(np.asarray(s).tolist() for s in with_nearest_neighbors(*a)),
    "float32": lambda Xtr, Xv, Xt, k: tuple(
        np.asarray(s, dtype=np.float32)
        for s in with_cdist(*(X.astype(np.float32) for X in (Xtr, Xv, Xt)), k)
    ),
    "pandas Series": lambda *a: tuple(pd.Series(s) for s in with_cdist(*a)),
    "brute force": lambda Xtr, Xv, Xt, k: tuple(
        NearestNeighbors(n_neighbors=k, algorithm="brute").fit(Xtr).kneighbors(X)[0][:, -1]
        if X is not None
        else NearestNeighbors(n_neighbors=k, algorithm="brute").fit(Xtr).kneighbors()[0][:, -1]
        for X in (None, Xv, Xt)
    ),
}


def knn_args(setup):
    return setup["X_train"], setup["X_val"], setup["X_test"], setup["k"]


def knn_kwargs(setup):
    return {
        "X_train": setup["X_train"],
        "X_val": setup["X_val"],
        "X_test": setup["X_test"],
        "k": setup["k"],
    }


@pytest.mark.parametrize("name", KNN_RIGHT)
def test_knn_right_answers_pass(detectors_setup, capsys, name):
    answer = KNN_RIGHT[name](*knn_args(detectors_setup))
    accepts(detectors.knn_scores, capsys, *answer, **knn_kwargs(detectors_setup))


def self_counted(Xtr, Xv, Xt, k):
    neighbours = NearestNeighbors(n_neighbors=k).fit(Xtr)
    _, val, test = with_nearest_neighbors(Xtr, Xv, Xt, k)
    return neighbours.kneighbors(Xtr)[0][:, -1], val, test


def k_plus_one_everywhere(Xtr, Xv, Xt, k):
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(Xtr)
    return tuple(neighbours.kneighbors(X)[0][:, -1] for X in (Xtr, Xv, Xt))


def fitted_on_everything(n_neighbors):
    def build(Xtr, Xv, Xt, k):
        neighbours = NearestNeighbors(n_neighbors=n_neighbors(k)).fit(np.vstack([Xtr, Xv, Xt]))
        train = with_nearest_neighbors(Xtr, Xv, Xt, k)[0]
        return train, neighbours.kneighbors(Xv)[0][:, -1], neighbours.kneighbors(Xt)[0][:, -1]

    return build


def replace(position, make):
    """The right answer with one of its three arrays replaced."""

    def build(Xtr, Xv, Xt, k):
        answer = list(with_nearest_neighbors(Xtr, Xv, Xt, k))
        answer[position] = make(answer, Xtr, Xv, Xt, k)
        return tuple(answer)

    return build


KNN_WRONG = {
    "the training digit counted as its own neighbour": (
        self_counted,
        "knn_train_scores counts each training digit as its own nearest neighbour",
    ),
    "k+1 neighbours for the validation digits too": (
        k_plus_one_everywhere,
        r"knn_val_scores is the distance to the \(k\+1\)-th neighbour.*drop nothing",
    ),
    "neighbours among all digits, self counted": (
        fitted_on_everything(lambda k: k),
        "knn_val_scores looks for neighbours among the validation and test digits too",
    ),
    "neighbours among all digits, self dropped": (
        fitted_on_everything(lambda k: k + 1),
        "knn_val_scores looks for neighbours among the validation and test digits too",
    ),
    "negated, like sklearn's scores": (
        lambda *a: tuple(-s for s in with_nearest_neighbors(*a)),
        "knn_val_scores is negative",
    ),
    "squared distances": (
        lambda Xtr, Xv, Xt, k: tuple(s**2 for s in with_cdist(Xtr, Xv, Xt, k)),
        "squared distances",
    ),
    "the nearest neighbour only": (
        replace(2, lambda ans, Xtr, Xv, Xt, k: np.sort(cdist(Xt, Xtr), axis=1)[:, 0]),
        r"knn_test_scores is the distance to the nearest neighbour.*k-th \(k = 5\)",
    ),
    "the mean of the k distances": (
        replace(1, lambda ans, Xtr, Xv, Xt, k: np.sort(cdist(Xv, Xtr), axis=1)[:, :k].mean(1)),
        "knn_val_scores is the mean distance",
    ),
    "all k distances": (
        replace(
            1,
            lambda ans, Xtr, Xv, Xt, k: NearestNeighbors(n_neighbors=k).fit(Xtr).kneighbors(Xv)[0],
        ),
        r"knn_val_scores has shape \(480, 5\): the distances to several neighbours",
    ),
    "the positions instead of the distances": (
        replace(
            1,
            lambda ans, Xtr, Xv, Xt, k: (
                NearestNeighbors(n_neighbors=k).fit(Xtr).kneighbors(Xv)[1][:, -1]
            ),
        ),
        "positions of neighbours, not distances",
    ),
    "city-block distances": (
        replace(
            2, lambda ans, Xtr, Xv, Xt, k: np.sort(cdist(Xt, Xtr, "cityblock"), axis=1)[:, k - 1]
        ),
        "knn_test_scores holds city-block distances",
    ),
    "validation and test swapped": (
        lambda *a: (lambda tr, v, t: (tr, t, v))(*with_nearest_neighbors(*a)),
        "knn_val_scores and knn_test_scores are swapped",
    ),
    "the validation scores as training scores": (
        replace(0, lambda ans, *_: ans[1]),
        r"knn_train_scores should hold one score per train digit, 837 of them \(got shape \(480,\)\)",
    ),
    "the method, not called": (
        replace(0, lambda ans, Xtr, Xv, Xt, k: NearestNeighbors(n_neighbors=k).fit(Xtr).kneighbors),
        "knn_train_scores is a function or method, not its result",
    ),
    "nothing yet": (
        replace(2, lambda *_: None),
        "knn_test_scores should be an array of numbers, got NoneType",
    ),
}


@pytest.mark.parametrize("name", KNN_WRONG)
def test_knn_wrong_answers_get_their_hint(detectors_setup, name):
    build, hint = KNN_WRONG[name]
    rejects(
        detectors.knn_scores,
        *build(*knn_args(detectors_setup)),
        match=hint,
        **knn_kwargs(detectors_setup),
    )


# --- exercise detectors-threshold --------------------------------------------------------------


def threshold_kwargs(setup):
    return {
        "val_scores": setup["gmm"]["val"],
        "y_val": setup["y_val"],
        "test_scores": setup["gmm"]["test"],
        "y_test": setup["y_test"],
        "train_scores": setup["gmm"]["train"],
        "max_fp_rate": setup["fp_budget"],
    }


def by_loop(normal, budget):
    flagged, threshold = 0, None
    for value in sorted(normal, reverse=True):
        if (flagged + 1) / len(normal) > budget:
            return value
        flagged += 1
    return threshold


THRESHOLD_RIGHT = {
    "sort and index": lambda x, b: np.sort(x)[-(int(b * len(x)) + 1)],
    "sorted descending": lambda x, b: np.sort(x)[::-1][round(b * len(x))],
    "np.quantile": lambda x, b: np.quantile(x, 1 - b),
    "np.percentile": lambda x, b: np.percentile(x, 100 * (1 - b)),
    "np.quantile, method lower": lambda x, b: np.quantile(x, 1 - b, method="lower"),
    # the next normal score up: the budget read with >= rather than >
    "np.quantile, method higher (<= vs <)": lambda x, b: np.quantile(x, 1 - b, method="higher"),
    "the third largest (<= vs <)": lambda x, b: np.sort(x)[-int(b * len(x))],
    "pandas quantile": lambda x, b: pd.Series(x).quantile(1 - b),
    "the course helper": lambda x, b: threshold_at_fp_budget(x, max_fp_rate=b),
    "a loop": by_loop,
    "a Python float": lambda x, b: float(np.quantile(x, 1 - b)),
    "float32": lambda x, b: np.float32(np.sort(x)[-(int(b * len(x)) + 1)]),
    "a 0-d array": lambda x, b: np.array(np.quantile(x, 1 - b)),
}


@pytest.mark.parametrize("name", THRESHOLD_RIGHT)
def test_threshold_right_answers_pass(detectors_setup, capsys, name):
    normal = detectors_setup["gmm"]["val"][detectors_setup["y_val"] == 0]
    answer = THRESHOLD_RIGHT[name](normal, detectors_setup["fp_budget"])
    accepts(detectors.threshold, capsys, answer, **threshold_kwargs(detectors_setup))


THRESHOLD_WRONG = {
    "chosen on the test digits": (
        lambda s, yv, yt, b: np.sort(s["test"][yt == 0])[-16],
        "chosen on the test digits",
    ),
    "np.quantile on the test digits": (
        lambda s, yv, yt, b: np.quantile(s["test"][yt == 0], 1 - b),
        "chosen on the test digits",
    ),
    "chosen on the training digits": (
        lambda s, yv, yt, b: np.quantile(s["train"], 1 - b),
        "chosen on the training digits",
    ),
    "anomalies counted in the budget": (
        lambda s, yv, yt, b: np.quantile(s["val"], 1 - b),
        "counts the anomalous validation digits too",
    ),
    "on the log-likelihood, low end": (
        lambda s, yv, yt, b: np.quantile(-s["val"][yv == 0], b),
        "wrong sign",
    ),
    "on the log-likelihood, high end": (
        lambda s, yv, yt, b: np.quantile(-s["val"][yv == 0], 1 - b),
        "wrong sign",
    ),
    "the wrong end": (
        lambda s, yv, yt, b: np.quantile(s["val"][yv == 0], b),
        "flags 28[0-9] of the 300 .* wrong end",
    ),
    "np.percentile given a fraction": (
        lambda s, yv, yt, b: np.percentile(s["val"][yv == 0], 1 - b),
        "wrong end .* np.percentile percent",
    ),
    "one normal digit too many": (
        lambda s, yv, yt, b: np.sort(s["val"][yv == 0])[-17],
        "flags 16 of the 300 .* more than the budget of 5%",
    ),
    "no false positive at all": (
        lambda s, yv, yt, b: s["val"][yv == 0].max(),
        "flags only 0 of the 300 .* budget allows 15",
    ),
    "an array of one threshold": (
        lambda s, yv, yt, b: np.quantile(s["val"][yv == 0], [1 - b]),
        "threshold should be one number, got ndarray",
    ),
    "a string": (lambda s, yv, yt, b: "71.4", "threshold should be one number, got str"),
    "nothing yet": (lambda s, yv, yt, b: None, "threshold should be one number, got NoneType"),
}


@pytest.mark.parametrize("name", THRESHOLD_WRONG)
def test_threshold_wrong_answers_get_their_hint(detectors_setup, name):
    build, hint = THRESHOLD_WRONG[name]
    s = detectors_setup
    answer = build(s["gmm"], s["y_val"], s["y_test"], s["fp_budget"])
    rejects(detectors.threshold, answer, match=hint, **threshold_kwargs(s))


def test_threshold_data_tell_the_mistakes_apart(detectors_setup):
    """Test, training and validation thresholds must differ for their hints to mean anything."""
    s, b = detectors_setup, detectors_setup["fp_budget"]
    regions = [
        detectors._budget_region(scores, b)
        for scores in (
            s["gmm"]["val"][s["y_val"] == 0],
            s["gmm"]["test"][s["y_test"] == 0],
            s["gmm"]["train"],
            s["gmm"]["val"],
        )
    ]
    regions[1:] = [
        detectors._near_region(scores, b)
        for scores in (s["gmm"]["test"][s["y_test"] == 0], s["gmm"]["train"], s["gmm"]["val"])
    ]
    for i, first in enumerate(regions):
        for second in regions[i + 1 :]:
            assert first[1] < second[0] or second[1] < first[0], (first, second)


# --- exercise detectors-test-fp-fn -------------------------------------------------------------


@pytest.fixture(scope="module")
def fp_fn_setup(detectors_setup):
    s = detectors_setup
    threshold = threshold_at_fp_budget(s["gmm"]["val"][s["y_val"] == 0], max_fp_rate=s["fp_budget"])
    kwargs = {
        "test_scores": s["gmm"]["test"],
        "y_test": s["y_test"],
        "val_scores": s["gmm"]["val"],
        "y_val": s["y_val"],
        "threshold": threshold,
        "max_fp_rate": s["fp_budget"],
    }
    return s["gmm"]["test"], s["y_test"], threshold, kwargs


def with_crosstab(scores, y, t):
    table = pd.crosstab(y, scores > t)
    return table.loc[0, True], table.loc[1, False]


def with_confusion_matrix(scores, y, t):
    _, fp, fn, _ = confusion_matrix(y, (scores > t).astype(int)).ravel()
    return fp, fn


def counted(scores, y, t):
    counts = confusion_counts(y, scores > t)
    return counts.false_positives, counts.false_negatives


FP_FN_RIGHT = {
    "confusion_counts": counted,
    "count_false_positives_negatives": lambda s, y, t: count_false_positives_negatives(y, s > t),
    "masks with ==": lambda s, y, t: (
        int(np.sum((y == 0) & (s > t))),
        int(np.sum((y == 1) & (s <= t))),
    ),
    "numpy ints": lambda s, y, t: (np.sum((y == 0) & (s > t)), np.sum((y == 1) & ~(s > t))),
    ">= instead of >": lambda s, y, t: (
        int(np.sum(s[y == 0] >= t)),
        int(np.sum(s[y == 1] < t)),
    ),
    "confusion_matrix": with_confusion_matrix,
    "pandas crosstab": with_crosstab,
    "float sums": lambda s, y, t: (
        float(np.sum((y == 0) * (s > t) * 1.0)),
        float(np.sum(y * (s <= t))),
    ),
    "0-d arrays": lambda s, y, t: tuple(np.array(v) for v in counted(s, y, t)),
}


@pytest.mark.parametrize("name", FP_FN_RIGHT)
def test_fp_fn_right_answers_pass(fp_fn_setup, capsys, name):
    scores, y, threshold, kwargs = fp_fn_setup
    answer = FP_FN_RIGHT[name](scores, y, threshold)
    accepts(detectors.false_positives_negatives_on_test, capsys, *answer, **kwargs)


def rechosen_on_test(scores, y, t, val, y_val, budget):
    return counted(scores, y, threshold_at_fp_budget(scores[y == 0], max_fp_rate=budget))


FP_FN_WRONG = {
    "swapped": (lambda s, y, t, *_: counted(s, y, t)[::-1], "swapped"),
    "counted on the validation digits": (
        lambda s, y, t, val, y_val, b: counted(val, y_val, t),
        "counts of the validation digits",
    ),
    "validation and test together": (
        lambda s, y, t, val, y_val, b: counted(np.r_[val, s], np.r_[y_val, y], t),
        "mix validation and test digits",
    ),
    "flagged below the threshold": (
        lambda s, y, t, *_: counted(-s, y, -t),
        "flag the digits BELOW the threshold",
    ),
    "threshold chosen again on the test digits": (
        rechosen_on_test,
        "threshold chosen again on the test digits",
    ),
    "the student's own threshold, the next score up": (
        lambda s, y, t, val, y_val, b: counted(
            s, y, np.quantile(val[y_val == 0], 1 - b, method="higher")
        ),
        "a threshold of your own: it passed its check, but it is not gmm_threshold",
    ),
    "every flagged digit as a false positive": (
        lambda s, y, t, *_: (int(np.sum(s > t)), counted(s, y, t)[1]),
        "test_false_pos counts flagged anomalies too",
    ),
    "every unflagged digit as a false negative": (
        lambda s, y, t, *_: (counted(s, y, t)[0], int(np.sum(s <= t))),
        "test_false_neg counts normal digits too",
    ),
    "a rate, not a count": (
        lambda s, y, t, *_: (float(np.mean(s[y == 0] > t)), counted(s, y, t)[1]),
        "not a whole number",
    ),
    "off by one": (
        lambda s, y, t, *_: (counted(s, y, t)[0] + 1, counted(s, y, t)[1]),
        "not the right counts yet",
    ),
    "the counts object": (
        lambda s, y, t, *_: (confusion_counts(y, s > t), None),
        "test_false_pos should be one number .* got",
    ),
    "nothing yet": (lambda *_: (None, None), "test_false_pos should be one number"),
}


@pytest.mark.parametrize("name", FP_FN_WRONG)
def test_fp_fn_wrong_answers_get_their_hint(fp_fn_setup, detectors_setup, name):
    scores, y, threshold, kwargs = fp_fn_setup
    s = detectors_setup
    build, hint = FP_FN_WRONG[name]
    answer = build(scores, y, threshold, s["gmm"]["val"], s["y_val"], s["fp_budget"])
    rejects(detectors.false_positives_negatives_on_test, *answer, match=hint, **kwargs)


def test_fp_fn_data_tell_the_mistakes_apart(fp_fn_setup, detectors_setup):
    """The wrong counts above differ from the right ones on this data."""
    scores, y, threshold, _ = fp_fn_setup
    s = detectors_setup
    right = counted(scores, y, threshold)
    for name, (build, _) in FP_FN_WRONG.items():
        if name not in ("a rate, not a count", "the counts object", "nothing yet"):
            answer = build(scores, y, threshold, s["gmm"]["val"], s["y_val"], s["fp_budget"])
            assert tuple(answer) != right, name


# --- a passing answer works in the rest of the notebook -------------------------------------------


def test_a_passing_answer_as_lists_runs_through_the_notebook(tmp_path):
    from notebook_run import printed, run_with_answer

    answer = (
        "from scipy.spatial.distance import cdist\n"
        "own = cdist(X_train, X_train)\n"
        "knn_train_scores = np.sort(own, axis=1)[:, k].tolist()\n"
        "knn_val_scores = np.sort(cdist(X_val, X_train), axis=1)[:, k - 1].tolist()\n"
        "knn_test_scores = [float(s) for s in np.sort(cdist(X_test, X_train), axis=1)[:, k - 1]]"
    )
    cells = run_with_answer(
        "06_which_detector",
        "ex-detectors-knn-scores",
        answer,
        workdir=tmp_path,
        # slow, and they do not use the answer (the last one needs the gamma cell's pooled_y)
        skip=(
            "detectors-sweeps",
            "detectors-sweeps-figure",
            "detectors-gamma",
            "detectors-threshold-cheat",
        ),
    )
    assert printed(cells["check-detectors-knn-scores"]).startswith("✓")
    assert "kNN " in printed(cells["detectors-table"])
    assert "kNN      threshold from its training scores" in printed(
        cells["detectors-training-threshold"]
    )
