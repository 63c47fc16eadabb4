"""threshold_at_fp_budget and bootstrap_interval: behaviour, not stored numbers."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from course_helpers import bootstrap_interval, threshold_at_fp_budget

# --- threshold_at_fp_budget -----------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 100, 300, 1001])
@pytest.mark.parametrize("budget", [0.0, 0.01, 0.05, 0.29, 0.5])
def test_the_threshold_is_the_lowest_within_the_budget(n, budget):
    scores = np.random.default_rng(n).normal(size=n)
    threshold = threshold_at_fp_budget(scores, max_fp_rate=budget)
    flagged = np.sum(scores > threshold)
    assert flagged / n <= budget
    # the budget is used in full: also flagging the threshold's own point would break it
    assert (flagged + 1) / n > budget
    assert threshold in scores


def test_a_budget_that_fits_exactly_is_used_in_full():
    # 1% of 300 is 3: floating point must not round it down to 2
    scores = np.arange(300.0)
    threshold = threshold_at_fp_budget(scores, max_fp_rate=0.01)
    assert np.sum(scores > threshold) == 3
    # 0.29 * 100 is 28.999999999999996 in floating point: 29 may still be flagged
    assert (
        np.sum(np.arange(100.0) > threshold_at_fp_budget(np.arange(100.0), max_fp_rate=0.29)) == 29
    )


def test_ties_never_push_past_the_budget():
    scores = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    threshold = threshold_at_fp_budget(scores, max_fp_rate=0.4)
    assert np.sum(scores > threshold) <= 2
    assert threshold == 1.0


def test_zero_budget_flags_no_normal_point_and_order_does_not_matter():
    scores = [0.3, 5.0, -1.0, 2.5]
    assert threshold_at_fp_budget(scores, max_fp_rate=0) == 5.0
    assert threshold_at_fp_budget(scores[::-1], max_fp_rate=0.25) == 2.5


def test_the_threshold_follows_the_scores_not_their_sign():
    # negated log-likelihoods, as the notebook uses them
    scores = -np.linspace(-50, -10, 101)
    assert threshold_at_fp_budget(scores, max_fp_rate=0.1) == pytest.approx(46.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores_normal": [], "max_fp_rate": 0.1}, "scores_normal is empty"),
        ({"scores_normal": [[1.0, 2.0]], "max_fp_rate": 0.1}, r"1-D, got shape \(1, 2\)"),
        ({"scores_normal": [1.0, np.nan], "max_fp_rate": 0.1}, "nan at row 1"),
        ({"scores_normal": ["a"], "max_fp_rate": 0.1}, "must be numeric"),
        ({"scores_normal": [1.0], "max_fp_rate": 1.0}, r"max_fp_rate must be in \[0, 1\), got 1.0"),
        ({"scores_normal": [1.0], "max_fp_rate": -0.1}, "got -0.1"),
        ({"scores_normal": [1.0], "max_fp_rate": "1%"}, "got '1%'"),
        ({"scores_normal": [1.0], "max_fp_rate": True}, "got True"),
    ],
)
def test_threshold_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        threshold_at_fp_budget(**kwargs)


def test_budget_is_keyword_only():
    with pytest.raises(TypeError):
        threshold_at_fp_budget([1.0, 2.0], 0.1)


# --- bootstrap_interval ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy_scores():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(300, dtype=int), np.ones(100, dtype=int)]
    scores = rng.normal(size=400) + 1.2 * y
    return y, scores


def test_the_interval_surrounds_the_estimate_and_is_reproducible(noisy_scores):
    y, scores = noisy_scores
    estimate, low, high = bootstrap_interval(roc_auc_score, y, scores, n_resamples=200)
    assert estimate == roc_auc_score(y, scores)
    assert low < estimate < high
    assert bootstrap_interval(roc_auc_score, y, scores, n_resamples=200) == (estimate, low, high)
    assert bootstrap_interval(roc_auc_score, y, scores, n_resamples=200, random_state=1) != (
        estimate,
        low,
        high,
    )


def test_more_data_gives_a_narrower_interval():
    rng = np.random.default_rng(3)
    widths = []
    for n in (100, 1600):
        y = (np.arange(n) % 4 == 0).astype(int)
        scores = rng.normal(size=n) + y
        _, low, high = bootstrap_interval(roc_auc_score, y, scores, n_resamples=200)
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # width falls like 1/sqrt(n): 4x fewer would be 1/4


def test_a_wider_confidence_gives_a_wider_interval(noisy_scores):
    y, scores = noisy_scores
    _, low90, high90 = bootstrap_interval(roc_auc_score, y, scores, confidence=0.9)
    _, low99, high99 = bootstrap_interval(roc_auc_score, y, scores, confidence=0.99)
    assert low99 < low90 < high90 < high99


def test_every_resample_keeps_both_classes_in_their_proportions(noisy_scores):
    y, scores = noisy_scores
    seen = []

    def metric(truth, values):
        seen.append((int(truth.sum()), len(truth)))
        return 0.0

    bootstrap_interval(metric, y, scores, n_resamples=50)
    assert set(seen) == {(100, 400)}


def test_several_score_arrays_are_resampled_together(noisy_scores):
    y, scores = noisy_scores
    # the same scores twice: the gap is exactly 0 in every resample
    gap = bootstrap_interval(
        lambda t, a, b: roc_auc_score(t, a) - roc_auc_score(t, b), y, scores, scores.copy()
    )
    assert gap == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("auc", [0, 1], [0.1, 0.2]), {}, "metric must be a function"),
        ((roc_auc_score, [0, 1]), {}, "at least one score array"),
        ((roc_auc_score, [0, 1], [0.1, 0.2, 0.3]), {}, "scores.0. has 3 values but y_true has 2"),
        ((roc_auc_score, [0, 0], [0.1, 0.2]), {}, "both normal points"),
        ((roc_auc_score, [-1, 1], [0.1, 0.2]), {}, "-1/.1 labels"),
        ((roc_auc_score, [0, 1], [0.1, 0.2]), {"n_resamples": 5}, "at least 10, got 5"),
        ((roc_auc_score, [0, 1], [0.1, 0.2]), {"n_resamples": 100.0}, "got 100.0"),
        ((roc_auc_score, [0, 1], [0.1, 0.2]), {"confidence": 95}, r"in \(0, 1\), got 95"),
        ((roc_auc_score, [0, 1], [0.1, 0.2]), {"random_state": None}, "integer seed, got None"),
    ],
)
def test_bootstrap_bad_arguments_are_named(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_interval(*args, **kwargs)
