"""Right and wrong answers for the checks of ."""

import numpy as np
import pytest
from check_harness import accepts, rejects

from course_helpers.checks import tsne

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
