"""Checks for notebook 05_digits_tsne."""

import numpy as np

from . import fail_unless, passed


def abnormal_embedding(abnormal_embedding, *, normal_embedding, abnormal_data, leaky_projection):
    """Exercise ``tsne-map-anomalies``: place the anomalies into the map of the normal digits.

    ``leaky_projection`` is the embedding of the anomalies taken from the map
    fitted on all digits (section 1): the typical wrong answer.
    """
    fail_unless(
        abnormal_embedding is not None and not callable(abnormal_embedding),
        "abnormal_embedding is not an array yet: call the method, do not just name it",
    )
    values = np.asarray(abnormal_embedding, dtype=float)
    n_rows = len(abnormal_data)
    fail_unless(
        values.shape == (n_rows, 2),
        f"abnormal_embedding should hold one 2-D point per anomalous digit, shape ({n_rows}, 2) "
        f"(got {values.shape}); map abnormal_data, not the normal digits",
    )
    fail_unless(
        not np.allclose(values, np.asarray(leaky_projection, dtype=float)),
        "these coordinates come from the map that was fitted WITH the anomalies (section 1); "
        "place abnormal_data into normal_embedding instead",
    )
    expected = np.asarray(normal_embedding.transform(abnormal_data))
    if np.allclose(values, expected):
        passed(f"abnormal_embedding: {n_rows} anomalous digits placed into the normal map")
        return
    fail_unless(
        False,
        "abnormal_embedding does not lie in normal_embedding's map: a new t-SNE fitted on the "
        "anomalies alone has axes of its own. Use the fitted normal_embedding to transform them.",
    )
