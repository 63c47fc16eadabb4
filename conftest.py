"""Loaded by pytest before anything is collected, for tests/ and solutions/ alike."""

import importlib.util
import os
from pathlib import Path

# _course.py is loaded by its path: importing the package would load NumPy (and its
# OpenBLAS) before the pin below could apply to this process.
_spec = importlib.util.spec_from_file_location(
    "course_helpers_course", Path(__file__).parent / "course_helpers" / "_course.py"
)
_course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_course)

# Every numerical library of this process and of nbval's kernels runs under this
# environment, as the solutions' stored outputs were made (authoring --execute).
os.environ.update(_course.reproducible_environment())
