"""Code shared by the tests and the benchmarks: a package, so both import it by name.

fake_course
    A tiny assignment with the course's conventions, and ways to turn a notebook
    into a realistic submission (answered, Colab-saved, with added cells).
seed_procedure
    The seed tutorial's loop-based radii and counts, the reference the helpers are
    tested and benchmarked against.

Import it as ``tests.support``: pytest puts the course folder on ``sys.path`` (the
root ``conftest.py``), and so does ``python -m benchmarks.NAME`` run from it.
"""
