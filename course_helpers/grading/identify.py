"""Step 2: decide which assignment a handed-in notebook is.

The notebook's content decides: its cells are recognised by id and by text.
The metadata (``course.assignment``, written by the authoring build) is only
used when the content does not tell, since it is the easiest part to get
wrong: a copy of notebook 03 saved over notebook 04's file keeps 04's metadata.
"""

from .assignments import normalise_source, tags_of


def claimed_assignment(nb):
    """The assignment name written in the notebook's metadata, or None."""
    course = nb.metadata.get("course")
    if isinstance(course, dict) and isinstance(course.get("assignment"), str):
        return course["assignment"]
    return None


def resemblance(nb, assignment):
    """How many cells of ``nb`` are recognisably cells of ``assignment`` (ids or text)."""
    solution = assignment.solution
    ids = {cell.get("id") for cell in solution.cells if cell.get("id")}
    texts = set()
    for index, cell in enumerate(solution.cells):
        if cell.cell_type == "markdown" and "answer" not in tags_of(cell):
            texts |= assignment.sources(index)
    texts.discard("")
    return sum(
        1 for cell in nb.cells if cell.get("id") in ids or normalise_source(cell.source) in texts
    )


def recognise(nb, assignments):
    """The name of the assignment ``nb`` is a copy of, by content, or None."""
    scores = {name: resemblance(nb, assignment) for name, assignment in assignments.items()}
    if not scores:
        return None
    best = max(scores, key=scores.get)
    runner_up = max((s for n, s in scores.items() if n != best), default=0)
    # A handful of recognised cells, clearly more than any other notebook.
    if scores[best] >= 3 and scores[best] > runner_up:
        return best
    return None


def choose_assignment(nb, assignments, *, forced=None):
    """Return ``(name, None)``, or ``(None, reason)`` for a ``wrong_assignment`` row.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A readable handed-in notebook.
    assignments : dict of str to Assignment
        The assignments of this batch.
    forced : str, optional
        ``--assignment``: grade as this one, unless the content is another's.
    """
    recognised = recognise(nb, assignments)
    claimed = claimed_assignment(nb)
    if forced is not None:
        if recognised is not None and recognised != forced:
            return None, f"graded as {forced}, but its cells are those of {recognised}"
        if recognised is None and claimed in assignments and claimed != forced:
            return None, f"graded as {forced}, but its metadata says {claimed}"
        return forced, None
    if recognised is not None:
        return recognised, None
    if claimed in assignments:
        return claimed, None
    if claimed:
        return None, f"its metadata names {claimed!r}, which is not an assignment here"
    return None, "not recognisably any assignment of this course"
