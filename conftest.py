"""Loaded by pytest before anything is collected, for tests/ and solutions/ alike."""

import os

from course_helpers._course import reproducible_environment

# nbval's kernels inherit this environment: the solutions' stored outputs were made under
# it too (python -m course_helpers.authoring --execute NAME), so they agree on any machine.
os.environ.update(reproducible_environment())
