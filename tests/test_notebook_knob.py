"""Turning the percentile knob of the blobs notebook really changes what it prints.

The seed set ``percentile_treshold`` but used ``percentile_threshold``, so its
knob did nothing. Here the solution notebook is executed with the knob at 97
instead of 99, and the false positives / false negatives it prints must be
those of the seed's own loop procedure at 97 (and differ from those at 99),
both under the figure and in the marked row of the knob table, which 97 adds
to the table's fixed percentiles.
"""

import re
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient

from tests.support.seed_procedure import blobs_demo, seed_count, seed_radii

ROOT = Path(__file__).resolve().parents[1]


def expected_fp_fn(percentile):
    kmeans, X_train, X_anomaly = blobs_demo()
    radii = seed_radii(kmeans, X_train, percentile)
    combined = [*kmeans.transform(X_train), *kmeans.transform(X_anomaly)]
    labels = [*kmeans.predict(X_train), *kmeans.predict(X_anomaly)]
    return seed_count(combined, labels, radii, len(X_train))


def printed_fp_fn(nb):
    cell = next(c for c in nb.cells if c.get("id") == "blobs-classify")
    text = "".join(o.get("text", "") for o in cell.outputs)
    fp = re.search(r"false positives\): (\d+)", text).group(1)
    fn = re.search(r"false negatives\): (\d+)", text).group(1)
    return int(fp), int(fn)


def knob_table_rows(nb):
    """``{percentile: (fp, fn, marked)}`` from the printed knob table."""
    cell = next(c for c in nb.cells if c.get("id") == "blobs-knob-table")
    text = "".join(o.get("text", "") for o in cell.outputs)
    rows = {}
    for line in text.splitlines()[2:]:
        percentile, fp, fn, *mark = line.split()
        rows[float(percentile)] = (int(fp), int(fn), bool(mark))
    return rows


def test_changing_the_percentile_changes_the_printed_counts(tmp_path):
    nb = nbformat.read(ROOT / "solutions" / "03_blobs_kmeans.ipynb", as_version=4)
    assert printed_fp_fn(nb) == expected_fp_fn(99)
    assert knob_table_rows(nb)[99] == (*expected_fp_fn(99), True)

    exercise = next(c for c in nb.cells if c.get("id") == "ex-blobs-radii")
    assert "percentile_threshold = 99" in exercise.source
    exercise.source = exercise.source.replace(
        "percentile_threshold = 99", "percentile_threshold = 97"
    )
    # Keep only what the counts depend on, to keep the test quick.
    keep = {
        "imports",
        "blobs-train",
        "blobs-fit",
        "blobs-anomalies",
        "blobs-distances",
        "ex-blobs-radii",
        "check-blobs-radii",
        "blobs-helper-radii",
        "blobs-classify",
        "blobs-knob-table",
    }
    nb.cells = [c for c in nb.cells if c.get("id") in keep]
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()

    at_97 = printed_fp_fn(nb)
    assert at_97 == expected_fp_fn(97)
    assert at_97 != expected_fp_fn(99)
    assert np.sign(at_97[0] - expected_fp_fn(99)[0]) == 1  # tighter circles: more false alarms
    rows = knob_table_rows(nb)
    assert rows[97] == (*at_97, True)
    assert [p for p, (*_, marked) in rows.items() if marked] == [97]
    assert rows[99] == (*expected_fp_fn(99), False)
