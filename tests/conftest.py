import sys
from pathlib import Path

# The tests' own helper modules (check_harness, digits_batch, red_team...) are imported by
# name; what the benchmarks share with the tests is the package tests.support.
sys.path.insert(0, str(Path(__file__).parent))


import pytest


@pytest.fixture(scope="session")
def digits_batch(tmp_path_factory):
    """Real submissions of notebook 04 (fixtures, attacks, honest copies), graded once."""
    from digits_batch import grade_digits_batch

    return grade_digits_batch(tmp_path_factory.mktemp("digits-grading"))
