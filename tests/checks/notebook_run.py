"""Run a solution notebook with one exercise answered another way.

A check must never pass an answer that a later cell of the notebook cannot use.
:func:`run_with_answer` replaces the solution of one exercise cell, runs the
notebook, and fails (``CellExecutionError``) if any cell raises: the check cell,
if it rejects the answer, or a later cell, if it cannot use it.
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def run_with_answer(name, exercise_cell, answer, *, workdir, skip=()):
    """Run ``solutions/<name>.ipynb`` with ``answer`` as the solution of ``exercise_cell``.

    Parameters
    ----------
    name : str
        The notebook, e.g. ``"04_digits_kmeans"``.
    exercise_cell : str
        The id of the exercise cell.
    answer : str
        Code that replaces the lines between the solution markers.
    workdir : path
        Where the kernel runs.
    skip : iterable of str, default=()
        Ids of cells to leave out (slow cells that do not use the answer).

    Returns
    -------
    cells : dict of str to cell
        The executed cells, by id.
    """
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == exercise_cell)
    start, end = cell.source.index(BEGIN), cell.source.index(END) + len(END)
    cell.source = cell.source[:start] + answer + cell.source[end:]
    nb.cells = [c for c in nb.cells if c.get("id") not in set(skip)]
    client = NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return {c.get("id"): c for c in nb.cells}


def printed(cell):
    """What a code cell printed."""
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if "text" in o)
