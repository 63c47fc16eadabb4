"""Checks for notebook 06_which_detector."""

import numbers

import numpy as np

from ..counting import confusion_counts
from ..evaluation import threshold_at_fp_budget
from . import fail_unless, run_check
from .digits import _scalar, read_counts
from .plain import Unsupported

#: How close a right answer must be: float32 distances agree to about 7 digits.
RTOL, ATOL = 1e-5, 1e-4


def _number(value):
    """``value`` as a float when it is one real number, else None."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _describe(value):
    if isinstance(value, Unsupported):
        return str(value)
    return f"{type(value).__name__} {repr(value)[:60]}"


def _close(values, expected):
    return values.shape == expected.shape and np.allclose(values, expected, rtol=RTOL, atol=ATOL)


# --- exercise detectors-knn-scores -------------------------------------------------------------


def _sorted_distances(queries, points, *, count, metric="euclidean"):
    """Every query's ``count`` smallest distances to the points, in increasing order."""
    from scipy.spatial.distance import cdist

    distances = cdist(np.asarray(queries, dtype=float), np.asarray(points, dtype=float), metric)
    return np.partition(distances, list(range(count)), axis=1)[:, :count]


def knn_scores(knn_train_scores, knn_val_scores, knn_test_scores, *, X_train, X_val, X_test, k):
    """Exercise ``detectors-knn-scores``: each digit's distance to its k-th nearest training digit.

    Any 1-D sequence of numbers with the right values passes (array, list,
    float32, a pandas Series). A training digit is not its own neighbour.
    """

    def reference():
        train = np.asarray(X_train, dtype=float)
        pooled = np.vstack([train, np.asarray(X_val, dtype=float), np.asarray(X_test, dtype=float)])
        out = {"k": int(k)}
        for split, data in (("train", X_train), ("val", X_val), ("test", X_test)):
            near = _sorted_distances(data, train, count=k + 2)
            pooled_near = _sorted_distances(data, pooled, count=k + 1)  # itself first, at 0
            first = 1 if split == "train" else 0  # a training digit's own distance, 0, is first
            out[split] = {
                "expected": near[:, first + k - 1],
                "self_counted": near[:, k - 1],
                "one_too_far": near[:, first + k],
                "nearest": near[:, first],
                "mean_of_k": near[:, first : first + k].mean(axis=1),
                "city_block": _sorted_distances(data, train, count=k + 1, metric="cityblock")[
                    :, first + k - 1
                ],
                "pooled": pooled_near[:, k],
                "pooled_self_counted": pooled_near[:, k - 1],
            }
        return out

    run_check(
        "detectors-knn-scores",
        answer=lambda: {
            "train": knn_train_scores,
            "val": knn_val_scores,
            "test": knn_test_scores,
            "callable": [callable(v) for v in (knn_train_scores, knn_val_scores, knn_test_scores)],
        },
        reference=reference,
        judge=judge_knn_scores,
    )


def judge_knn_scores(answer, reference):
    """Judge the three score arrays against distances to the k-th nearest training digit."""
    k = reference["k"]
    given = {}
    for split, is_callable in zip(("train", "val", "test"), answer["callable"], strict=True):
        name = f"knn_{split}_scores"
        expected = reference[split]["expected"]
        values = answer[split]
        fail_unless(not is_callable, f"{name} is a function or method, not its result: call it")
        fail_unless(
            isinstance(values, np.ndarray) and values.dtype.kind in "iuf",
            f"{name} should be an array of numbers, got {_describe(values)}",
        )
        if values.ndim == 2 and values.shape[0] == len(expected):
            fail_unless(
                False,
                f"{name} has shape {values.shape}: the distances to several neighbours. "
                "The score is one number per digit: the distance to the k-th neighbour only",
            )
        fail_unless(
            values.ndim == 1 and len(values) == len(expected),
            f"{name} should hold one score per {split} digit, {len(expected)} of them "
            f"(got shape {values.shape}): score the {split} digits",
        )
        fail_unless(np.isfinite(values).all(), f"{name} holds NaN or inf")
        given[split] = values.astype(float)

    if _close(given["val"], reference["test"]["expected"]) and _close(
        given["test"], reference["val"]["expected"]
    ):
        fail_unless(False, "knn_val_scores and knn_test_scores are swapped")
    for split in ("val", "test", "train"):
        name, values, ref = f"knn_{split}_scores", given[split], reference[split]
        if _close(values, ref["expected"]):
            continue
        fail_unless(
            not _close(values, ref["city_block"]),
            f"{name} holds city-block distances (the sum of absolute pixel differences): the "
            "score uses straight-line (Euclidean) distances, NearestNeighbors' default",
        )
        fail_unless(
            not (np.all(values == np.round(values)) and values.min() >= 0),
            f"{name} holds whole numbers: positions of neighbours, not distances? kneighbors "
            "returns two arrays, the distances first and the positions second",
        )
        fail_unless(
            not _close(-values, ref["expected"]),
            f"{name} is negative: the course's scores are higher for more anomalous digits, "
            "and a distance already is",
        )
        fail_unless(
            not _close(values, ref["expected"] ** 2),
            f"{name} holds squared distances: the score is the distance itself",
        )
        fail_unless(
            not (split == "train" and _close(values, ref["self_counted"])),
            "knn_train_scores counts each training digit as its own nearest neighbour (at "
            "distance 0), so its k-th neighbour is really its (k-1)-th. A training digit must "
            "be scored like a new one: by its k nearest OTHER training digits",
        )
        fail_unless(
            not (split != "train" and _close(values, ref["one_too_far"])),
            f"{name} is the distance to the (k+1)-th neighbour. A {split} digit is not among "
            "the training digits, so none of its neighbours is itself: drop nothing",
        )
        fail_unless(
            not (_close(values, ref["pooled"]) or _close(values, ref["pooled_self_counted"])),
            f"{name} looks for neighbours among the validation and test digits too. The "
            "detector may learn only from the normal training digits: fit on X_train alone",
        )
        fail_unless(
            not _close(values, ref["nearest"]),
            f"{name} is the distance to the nearest neighbour; the score is the distance "
            f"to the k-th (k = {k})",
        )
        fail_unless(
            not _close(values, ref["mean_of_k"]),
            f"{name} is the mean distance to the k nearest neighbours; the score is the "
            "distance to the k-th one only",
        )
        fail_unless(
            False,
            f"{name} has the right length but not the right values: each should be the "
            f"straight-line distance from a {split} digit to its k-th nearest training digit "
            f"(k = {k}), with neighbours searched among X_train only",
        )
    return f"kNN scores for {', '.join(f'{len(v)} {s}' for s, v in given.items())} digits"


# --- exercise detectors-threshold --------------------------------------------------------------


def threshold(threshold, *, val_scores, y_val, test_scores, y_test, train_scores, max_fp_rate):
    """Exercise ``detectors-threshold``: the lowest threshold within the FP budget on validation.

    A digit is flagged when its score is strictly above the threshold. Every
    threshold that flags the same validation digits as the lowest one passes,
    and so does the next normal score up (the budget read with ``>=``).
    """

    def reference():
        val, test = np.asarray(val_scores, dtype=float), np.asarray(test_scores, dtype=float)
        y_v, y_t = np.asarray(y_val).astype(bool), np.asarray(y_test).astype(bool)
        return {
            "val_normal": val[~y_v],
            "val_all": val,
            "test_normal": test[~y_t],
            "train": np.asarray(train_scores, dtype=float),
            "max_fp_rate": float(max_fp_rate),
        }

    run_check(
        "detectors-threshold",
        answer=lambda: {"threshold": _scalar(threshold)},
        reference=reference,
        judge=judge_threshold,
    )


def _budget_region(scores, max_fp_rate):
    """The closed interval of thresholds that use the budget on ``scores`` (see ``threshold``)."""
    ordered = np.sort(scores)
    low = threshold_at_fp_budget(scores, max_fp_rate=max_fp_rate)
    above = ordered[ordered > low]
    return low, (float(above[0]) if len(above) else low)


def _near_region(scores, max_fp_rate):
    """:func:`_budget_region` widened by one rank down: where np.quantile's interpolation lands."""
    ordered = np.sort(scores)
    low, high = _budget_region(scores, max_fp_rate)
    below = ordered[ordered < low]
    return (float(below[-1]) if len(below) else low), high


def _in(value, region):
    slack = 1e-6 * max(1.0, abs(region[0]), abs(region[1]))  # a float32 threshold is fine
    return region[0] - slack <= value <= region[1] + slack


def judge_threshold(answer, reference):
    """Judge one threshold against the validation scores of the normal digits."""
    raw = answer["threshold"]
    value = _number(raw)
    fail_unless(value is not None, f"threshold should be one number, got {_describe(raw)}")
    fail_unless(np.isfinite(value), f"threshold is {value}: it should be a finite number")
    budget = reference["max_fp_rate"]
    normal = reference["val_normal"]
    n, allowed = len(normal), int(np.floor(budget * len(normal) + 1e-9))
    if _in(value, _budget_region(normal, budget)):
        flagged = int(np.sum(normal > value))
        return (
            f"threshold {value:.4g}: flags {flagged} of {n} normal validation digits "
            f"(budget {budget:.0%})"
        )
    fail_unless(
        not (
            _in(-value, _budget_region(normal, budget))
            or _in(value, _budget_region(-normal, budget))
            or (_in(-value, (normal.min(), normal.max())) and value < normal.min())
        ),
        "this threshold has the wrong sign: it lies among the NEGATED scores. Higher scores are "
        "more anomalous here (the GMM score is minus the log-likelihood): use the scores as given",
    )
    fail_unless(
        not _in(value, _near_region(reference["test_normal"], budget)),
        "this threshold is chosen on the test digits. The test set must stay unseen until the "
        "final report: choose the threshold on the validation digits",
    )
    fail_unless(
        not _in(value, _near_region(reference["train"], budget)),
        "this threshold is chosen on the training digits. The model was fitted to them, so "
        "their scores are lower than those of new digits: choose it on the validation digits",
    )
    fail_unless(
        not _in(value, _near_region(reference["val_all"], budget)),
        "this threshold counts the anomalous validation digits too. The budget limits false "
        "positives, normal digits flagged: choose it on the NORMAL validation digits (y_val == 0)",
    )
    flagged = int(np.sum(normal > value))
    fail_unless(
        flagged <= n / 2,
        f"this threshold flags {flagged} of the {n} normal validation digits: it is taken from "
        "the wrong end of their scores (and np.quantile takes a fraction, np.percentile percent)",
    )
    fail_unless(
        flagged <= allowed,
        f"this threshold flags {flagged} of the {n} normal validation digits, more than the "
        f"budget of {budget:.0%} allows",
    )
    fail_unless(
        False,
        f"this threshold flags only {flagged} of the {n} normal validation digits, but the "
        f"budget allows {allowed}: the lowest threshold within the budget catches more anomalies",
    )


# --- exercise detectors-test-fp-fn -------------------------------------------------------------


def false_positives_negatives_on_test(
    test_false_pos,
    test_false_neg,
    *,
    test_scores,
    y_test,
    val_scores,
    y_val,
    threshold,
    max_fp_rate,
):
    """Exercise ``detectors-test-fp-fn``: FP and FN of the test digits at the given threshold."""

    def reference():
        test, val = np.asarray(test_scores, dtype=float), np.asarray(val_scores, dtype=float)
        y_t, y_v = np.asarray(y_test).astype(bool), np.asarray(y_val).astype(bool)
        counts = {
            "test": confusion_counts(y_t, test > threshold),
            "val": confusion_counts(y_v, val > threshold),
            "below": confusion_counts(y_t, test < threshold),
            "pooled": confusion_counts(np.r_[y_v, y_t], np.r_[val > threshold, test > threshold]),
        }
        rechosen = threshold_at_fp_budget(test[~y_t], max_fp_rate=max_fp_rate)
        counts["rechosen"] = confusion_counts(y_t, test > rechosen)
        out = {
            name: [c.false_positives, c.false_negatives, c.true_positives, c.true_negatives]
            for name, c in counts.items()
        }
        out["sizes"] = [int((~y_t).sum()), int(y_t.sum())]
        # the counts at the other thresholds the threshold exercise accepts (e.g. np.quantile's)
        low, high = _budget_region(val[~y_v], max_fp_rate)
        cuts = [high, *test[(test > low) & (test < high)]]
        out["other_valid"] = [
            [c.false_positives, c.false_negatives]
            for c in (confusion_counts(y_t, test > cut) for cut in cuts)
        ]
        return out

    run_check(
        "detectors-test-fp-fn",
        answer=lambda: {"false_pos": _scalar(test_false_pos), "false_neg": _scalar(test_false_neg)},
        reference=reference,
        judge=judge_test_false_positives_negatives,
    )


def judge_test_false_positives_negatives(answer, reference):
    """Judge two counts against the confusion counts of the test digits."""
    got = read_counts(answer, prefix="test_")
    fp, fn, tp, tn = reference["test"]
    if got == (fp, fn):
        return "false positives and false negatives on the test digits counted right"
    fail_unless(
        got != (fn, fp),
        "the two counts are swapped: a false positive is a NORMAL digit that was flagged, "
        "a false negative an ANOMALY that was not",
    )
    for mistake, hint in (
        (
            "val",
            "these are the counts of the validation digits: the threshold was chosen "
            "there, so they are not a fair report. Count on the test digits",
        ),
        ("pooled", "these counts mix validation and test digits: report on the test digits only"),
        (
            "below",
            "these counts flag the digits BELOW the threshold: a digit is flagged when "
            "its score is above it (higher = more anomalous)",
        ),
        (
            "rechosen",
            "these counts come from a threshold chosen again on the test digits: use "
            "the threshold chosen on validation, as it is",
        ),
    ):
        fail_unless(got != tuple(reference[mistake][:2]), hint)
    fail_unless(
        got not in {tuple(int(v) for v in pair) for pair in reference["other_valid"]},
        "these counts use a threshold of your own: it passed its check, but it is not "
        "gmm_threshold. Count with gmm_threshold, so that everyone reports the same digits",
    )
    n_normal, n_anomalous = reference["sizes"]
    fail_unless(
        got[0] not in (tp, tp + fp),
        "test_false_pos counts flagged anomalies too: keep only the normal test digits that "
        "were flagged",
    )
    fail_unless(
        got[1] not in (tn, tn + fn),
        "test_false_neg counts normal digits too: keep only the anomalous test digits that "
        "were not flagged",
    )
    fail_unless(
        got[0] <= n_normal and got[1] <= n_anomalous,
        f"a count is larger than its group: there are {n_normal} normal and {n_anomalous} "
        "anomalous test digits",
    )
    fail_unless(
        False,
        f"not the right counts yet. Flag the test digits whose score is above the threshold; "
        f"of the {n_normal} normal ones (y_test 0), test_false_pos counts those flagged; of "
        f"the {n_anomalous} anomalies (y_test 1), test_false_neg counts those not flagged",
    )


JUDGES = {
    "detectors-knn-scores": judge_knn_scores,
    "detectors-threshold": judge_threshold,
    "detectors-test-fp-fn": judge_test_false_positives_negatives,
}
