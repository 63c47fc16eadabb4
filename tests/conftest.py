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


#: Test files that must share one pytest-xdist worker, by the start of their path: the two
#: that use the graded digits batch (two minutes of grading, done once per worker), and the
#: check tables with tests/test_checks.py, which reads what the tables recorded.
_SAME_WORKER = (
    ("tests/test_grading_fixtures.py", "digits batch"),
    ("tests/test_grading_red_team.py", "digits batch"),
    ("tests/checks/", "check tables"),
    ("tests/test_checks.py", "check tables"),
)


def _unit(path):
    """The unit of work ``path`` (a test file, from a node id) belongs to."""
    return next((unit for start, unit in _SAME_WORKER if path.startswith(start)), path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (see ``addopts``), with the files of ``_SAME_WORKER`` as one unit.

    Whole files go to a worker, so a notebook's cells run in order in one kernel (nbval)
    and a module's fixtures are built once. (xdist's ``loadgroup`` marks would say the same,
    but they grouped nothing under pytest 9.2 with xdist 3.8: measured.)
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return _unit(nodeid.split("::", 1)[0])

    return ByUnit(config, log)
