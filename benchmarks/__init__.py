"""Scripts that print the ratios behind the course's speed claims (never timed assertions).

Run them from the course folder as modules, e.g. ``python -m benchmarks.bench_counting``:
they import ``course_helpers`` and the test suite's shared code, ``tests.support``.
"""
