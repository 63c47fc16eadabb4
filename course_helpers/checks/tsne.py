"""Checks for notebook 05_digits_tsne."""

import numpy as np

from . import fail_unless, run_check


def abnormal_embedding(abnormal_embedding, *, normal_embedding, abnormal_data, leaky_projection):
    """Exercise ``tsne-map-anomalies``: place the anomalies into the map of the normal digits.

    ``leaky_projection`` is the embedding of the anomalies taken from the map
    fitted on all digits (section 1): the typical wrong answer.
    """
    run_check(
        "tsne-map-anomalies",
        answer=lambda: {
            "abnormal_embedding": abnormal_embedding,
            "is_callable": callable(abnormal_embedding),
        },
        reference=lambda: {
            "expected": np.asarray(normal_embedding.transform(abnormal_data)),
            "leaky_projection": np.asarray(leaky_projection, dtype=float),
        },
        judge=judge_abnormal_embedding,
    )


def judge_abnormal_embedding(answer, reference):
    """Judge the placement of the anomalies against ``normal_embedding.transform``."""
    expected = reference["expected"]
    n_rows = len(expected)
    fail_unless(
        answer["abnormal_embedding"] is not None and not answer["is_callable"],
        "abnormal_embedding is not an array yet: call the method, do not just name it",
    )
    values = answer["abnormal_embedding"]
    fail_unless(
        isinstance(values, np.ndarray),
        f"abnormal_embedding should be an array of 2-D points, got {values}",
    )
    fail_unless(
        values.shape == (n_rows, 2),
        f"abnormal_embedding should hold one 2-D point per anomalous digit, shape ({n_rows}, 2) "
        f"(got {values.shape}); map abnormal_data, not the normal digits",
    )
    fail_unless(
        not np.allclose(values, reference["leaky_projection"]),
        "these coordinates come from the map that was fitted WITH the anomalies (section 1); "
        "place abnormal_data into normal_embedding instead",
    )
    if np.allclose(values, expected):
        return f"abnormal_embedding: {n_rows} anomalous digits placed into the normal map"
    fail_unless(
        False,
        "abnormal_embedding does not lie in normal_embedding's map: a new t-SNE fitted on the "
        "anomalies alone has axes of its own. Use the fitted normal_embedding to transform them.",
    )


JUDGES = {"tsne-map-anomalies": judge_abnormal_embedding}
