"""Instant feedback for the exercises: the notebooks' check cells call these.

Each notebook has a module here (``blobs``, ``digits``, ``tsne``, ...) with one
function per exercise. A check recomputes what it needs from the objects the
student already has, so it never stores the answer, and it either prints one
success line or raises :class:`CheckFailed` with a hint that points at the
mistake without giving the answer away.

A failing check raises, so the cell shows an error. That is what nbval and the
instructor's grader see, and it is how a failed cell is mapped to its question.
"""

__all__ = ["CheckFailed", "passed"]


class CheckFailed(AssertionError):
    """An exercise's answer is not right yet. The message is the hint.

    In Jupyter it is shown as one short line instead of a traceback through
    the helper package.
    """

    def _render_traceback_(self):
        # IPython calls this instead of printing the full traceback.
        return [f"\x1b[31m✗ Not yet: {self}\x1b[0m"]


def passed(what):
    """Print the success line of a check."""
    print(f"✓ {what}")


def fail_unless(condition, hint):
    """Raise :class:`CheckFailed` with ``hint`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(hint)
