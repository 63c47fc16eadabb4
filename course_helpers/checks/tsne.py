"""Checks for notebook 05_digits_tsne."""

import numpy as np

from . import fail_unless, run_check
from .plain import Unsupported

#: The normal digits an anomaly "resembles": its nearest ones in the 64 pixels (openTSNE's
#: ``transform`` starts a new point at the median map position of as many).
NEIGHBOURS = 25
#: The normal digits "next to" a point in the map: its nearest ones there.
MAP_NEIGHBOURS = 5
#: A placement into the map puts most anomalies next to digits they resemble. Measured on
#: the digits (and on subsets of 600 normal and 150 anomalous ones): ``transform`` with any
#: options, and ``prepare_partial`` with or without ``optimize``, do so for 71% of the
#: anomalies or more; a map fitted anew (on the anomalies, or on all digits), PCA, or the
#: wrong rows, for 32% or fewer.
MIN_AGREEMENT = 0.6


def _map_centre(points):
    """The middle of the map's bounding box.

    openTSNE's ``transform`` moves the fitted map in place so that this is the
    origin; ``prepare_partial`` does not. Measuring every position from it makes
    placements done either way comparable, in any kernel.
    """
    return (points.max(axis=0) + points.min(axis=0)) / 2


def abnormal_embedding(
    abnormal_embedding, *, normal_embedding, normal_data, abnormal_data, leaky_projection
):
    """Exercise ``tsne-map-anomalies``: place the anomalies into the map of the normal digits.

    Any placement into the fitted map passes (``transform`` with its default or
    other options, ``prepare_partial`` followed by ``optimize`` or not): in each,
    the anomalies sit next to the normal digits they resemble most. A map fitted
    anew has axes of its own, and fails.

    ``leaky_projection`` is the embedding of the anomalies taken from the map
    fitted on all digits (section 1): the typical wrong answer.
    """

    def answer():
        normal_points = np.asarray(normal_embedding, dtype=float)
        return {
            "abnormal_embedding": abnormal_embedding,
            "is_callable": callable(abnormal_embedding),
            "type": type(abnormal_embedding).__name__,
            # The frame the student's map is in right now (see _map_centre).
            "map_centre": _map_centre(normal_points),
        }

    def reference():
        # Read only: calling normal_embedding.transform here would move the student's map.
        normal_points = np.asarray(normal_embedding, dtype=float)
        normal = np.asarray(normal_data, dtype=float)
        abnormal = np.asarray(abnormal_data, dtype=float)
        squared = (
            (abnormal**2).sum(axis=1)[:, None] - 2 * abnormal @ normal.T + (normal**2).sum(axis=1)
        )
        neighbours = np.argsort(squared, axis=1, kind="stable")[:, :NEIGHBOURS]
        return {
            "normal_points": normal_points - _map_centre(normal_points),
            "neighbours": neighbours.astype(np.int32),
            "leaky_projection": np.asarray(leaky_projection, dtype=float),
        }

    run_check(
        "tsne-map-anomalies", answer=answer, reference=reference, judge=judge_abnormal_embedding
    )


def neighbour_agreement(placed, normal_points, neighbours):
    """Share of the placed points that have a digit they resemble next to them in the map.

    Parameters
    ----------
    placed : ndarray of shape (n_placed, 2)
        The placed points, in the frame of ``normal_points``.
    normal_points : ndarray of shape (n_normal, 2)
        The map of the normal digits.
    neighbours : ndarray of int, shape (n_placed, n_neighbours)
        For each placed point, its nearest normal digits in the original space.

    Returns
    -------
    agreement : float
        The share of placed points for which one of their ``MAP_NEIGHBOURS``
        nearest normal points in the map is one of ``neighbours``.
    """
    squared = ((placed[:, None, :] - normal_points[None, :, :]) ** 2).sum(axis=2)
    next_to = np.argsort(squared, axis=1, kind="stable")[:, :MAP_NEIGHBOURS]
    shared = (next_to[:, :, None] == neighbours[:, None, :]).any(axis=(1, 2))
    return float(shared.mean())


def judge_abnormal_embedding(answer, reference):
    """Judge a placement of the anomalies into the normal map, by where each one landed.

    t-SNE's map puts similar digits next to each other, and a point placed
    into it lands next to the normal digits it resembles in the 64 pixels. A
    map fitted anew has axes of its own, so its points land next to unrelated
    digits of the normal map. See :data:`MIN_AGREEMENT`.
    """
    neighbours = reference["neighbours"]
    n_rows = len(neighbours)
    values = answer["abnormal_embedding"]
    fail_unless(
        not answer["is_callable"],
        "abnormal_embedding is a method or function, not its result: call it",
    )
    fail_unless(
        isinstance(values, np.ndarray) and values.dtype.kind in "iuf",
        "abnormal_embedding should be an array of 2-D points, got "
        f"{values if isinstance(values, Unsupported) else answer.get('type', type(values).__name__)}",
    )
    fail_unless(
        values.shape == (n_rows, 2),
        f"abnormal_embedding should hold one 2-D point per anomalous digit, shape ({n_rows}, 2) "
        f"(got {values.shape}); place abnormal_data, not the normal digits or all of them",
    )
    values = values.astype(float)
    fail_unless(np.isfinite(values).all(), "abnormal_embedding holds NaN or inf")
    fail_unless(
        not np.allclose(values, reference["leaky_projection"]),
        "these coordinates come from the map that was fitted WITH the anomalies (section 1); "
        "place abnormal_data into normal_embedding instead",
    )
    centre = np.asarray(answer["map_centre"], dtype=float)
    fail_unless(
        centre.shape == (2,) and np.isfinite(centre).all(),
        "normal_embedding is no longer a 2-D map: rerun the notebook from the top",
    )
    agreement = neighbour_agreement(values - centre, reference["normal_points"], neighbours)
    if agreement >= MIN_AGREEMENT:
        return f"abnormal_embedding: {n_rows} anomalous digits placed into the normal map"
    fail_unless(
        False,
        "abnormal_embedding does not lie in normal_embedding's map: only "
        f"{agreement:.0%} of the anomalies landed next to normal digits they resemble. A t-SNE "
        "fitted anew (on the anomalies, or on all digits) has axes of its own. Place "
        "abnormal_data, in its order, into the map that normal_embedding already is, "
        "without fitting again.",
    )


JUDGES = {"tsne-map-anomalies": judge_abnormal_embedding}
