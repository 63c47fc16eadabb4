"""Every exercise that has a judge has a table of right and wrong answers in tests/checks/.

The tables run first (pytest collects ``tests/checks/`` before this file) and
record each exercise they judge in ``check_harness.TESTED``.
"""

import importlib
import pkgutil

import pytest
from check_harness import TESTED

import course_helpers.checks as checks_package
from course_helpers.setup.java import java_major_version


def test_every_exercise_has_a_table():
    judged = set()
    for module_info in pkgutil.iter_modules(checks_package.__path__):
        if not module_info.name.startswith("_"):
            module = importlib.import_module(f"course_helpers.checks.{module_info.name}")
            judged |= set(getattr(module, "JUDGES", {}))
    if not TESTED:
        pytest.skip("run with tests/checks/: the tables there fill TESTED")
    untested = judged - TESTED
    if (java_major_version() or 0) < 17:  # the Spark tables skip without Java
        untested = {e for e in untested if not e.startswith(("kmeans-", "gmm-"))}
    assert untested == set(), "write right and wrong answers for these exercises"
