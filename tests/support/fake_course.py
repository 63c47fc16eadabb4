"""A tiny course for the grader's tests, and ways to turn a notebook into a realistic submission.

The fake assignment has the real conventions (badge, setup, exercise + check,
question + answer) but runs in a second, so edge cases of the grader can be
tested without the real notebooks. The submission makers work on any notebook
of the course, real or fake, so fixtures are generated from the current
solutions and never go stale.
"""

import copy
import json
import random

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_helpers.authoring import BEGIN, END, STUDENT_STUB, student_copy

FAKE_NAME = "99_fake"
HIDDEN_ANSWER = "The hidden model answer: the two classes overlap near the boundary."
COLAB_MIME = "application/vnd.google.colaboratory.intrinsic+json"


def _cell(kind, source, cell_id, *, tags=(), grading=None):
    cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    cell["id"] = cell_id
    if tags:
        cell.metadata["tags"] = list(tags)
    if grading:
        cell.metadata["grading"] = dict(grading)
    return cell


def fake_solution():
    """The fake assignment's solution: two exercises (2 + 1 points) and one written question.

    Its exercises are two of the course's own (``digits-normal-distances`` and
    ``digits-fp-fn``, judged by ``course_helpers.checks.digits``) on a few rows of
    made-up data, so it runs in a second with NumPy alone.
    """
    nb = new_notebook()
    nb.metadata["course"] = {"assignment": FAKE_NAME}
    nb.cells = [
        _cell("markdown", "# 99 · A fake assignment\n\nLearning goals: none.", "title"),
        _cell("markdown", "badge", "colab-badge", tags=["colab-badge"]),
        _cell("code", "SETUP_RAN = True", "setup", tags=["setup", "nbval-ignore-output"]),
        _cell("code", "import numpy as np", "imports"),
        _cell(
            "code",
            "class TinyKMeans:\n"
            "    cluster_centers_ = np.array([[0.0, 0.0], [3.0, 3.0]])\n\n"
            "    def transform(self, X):\n"
            "        X = np.asarray(X, dtype=float)\n"
            "        return np.linalg.norm(X[:, None, :] - self.cluster_centers_[None], axis=2)\n\n\n"
            "kmeans = TinyKMeans()\n"
            "normal_data = np.array([[0.0, 0.5], [3.0, 2.5], [0.2, 0.0], [2.9, 3.1]])",
            "data",
        ),
        _cell("markdown", "### Exercise: distances to the centres", "ex-distances-intro"),
        _cell(
            "code",
            f"{BEGIN}\nnormal_distances = kmeans.transform(normal_data)\n{END}",
            "ex-distances",
            tags=["exercise"],
            grading={"exercise": "digits-normal-distances"},
        ),
        _cell(
            "code",
            "from course_helpers.checks import digits as check\n\n"
            "check.normal_distances(normal_distances, kmeans=kmeans, normal_data=normal_data)",
            "check-distances",
            tags=["check"],
            grading={"exercise": "digits-normal-distances", "points": 2},
        ),
        _cell(
            "code",
            "y_true = np.array([0, 0, 0, 0, 1, 1, 1])\ny_pred = np.array([0, 1, 0, 0, 1, 0, 0])",
            "labels",
        ),
        _cell("markdown", "### Exercise: count the mistakes", "ex-counts-intro"),
        _cell(
            "code",
            f"{BEGIN}\nfalse_pos = int(np.sum((y_true == 0) & (y_pred == 1)))\n"
            f"false_neg = int(np.sum((y_true == 1) & (y_pred == 0)))\n{END}",
            "ex-counts",
            tags=["exercise"],
            grading={"exercise": "digits-fp-fn"},
        ),
        _cell(
            "code",
            "from course_helpers.checks import digits as check\n\n"
            "check.false_positives_negatives(false_pos, false_neg, y_true=y_true, y_pred=y_pred)",
            "check-counts",
            tags=["check"],
            grading={"exercise": "digits-fp-fn"},
        ),
        _cell(
            "markdown",
            "**Question 1:** Why do mistakes happen?",
            "q1-question",
            tags=["question"],
            grading={"question": "Q1"},
        ),
        _cell(
            "markdown",
            f"**Answer:** {HIDDEN_ANSWER}",
            "q1-answer",
            tags=["answer"],
            grading={"question": "Q1"},
        ),
    ]
    nbformat.validate(nb)
    return nb


def write_fake_course(folder):
    """Write ``folder/99_fake.ipynb``; return ``(solution, student copy)``."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = fake_solution()
    nbformat.write(solution, folder / f"{FAKE_NAME}.ipynb")
    return solution, student_copy(solution, FAKE_NAME)


# --- turning a notebook into a submission ----------------------------------------------


def find(nb, *, cell_id=None, exercise=None, role=None):
    """Index of the cell with this id, or of the ``role`` cell ("exercise"/"check") of ``exercise``."""
    for index, cell in enumerate(nb.cells):
        if cell_id is not None and cell.get("id") == cell_id:
            return index
        grading = cell.metadata.get("grading", {})
        if (
            exercise is not None
            and grading.get("exercise") == exercise
            and role in cell.metadata.get("tags", [])
        ):
            return index
    raise LookupError(f"no cell id={cell_id!r} exercise={exercise!r} role={role!r}")


def exercises_of(nb):
    """Exercise ids and their points, in order, read straight from the check cells' metadata."""
    points = {}
    for cell in nb.cells:
        if "check" in cell.metadata.get("tags", []):
            grading = cell.metadata["grading"]
            points[grading["exercise"]] = points.get(grading["exercise"], 0) + grading.get(
                "points", 1
            )
    return points


def solution_code(solution, exercise):
    """The code between the solution markers of ``exercise`` (what a correct student writes)."""
    source = solution.cells[find(solution, exercise=exercise, role="exercise")].source
    return source.split(BEGIN)[1].split(END)[0].strip("\n")


def answer(student, solution, exercise, code=None):
    """Answer ``exercise`` in the student copy: ``code`` (default: the solution's) replaces
    the ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` stub, as a student would."""
    cell = student.cells[find(student, exercise=exercise, role="exercise")]
    stub = "\n".join(STUDENT_STUB)
    assert stub in cell.source, f"{exercise}: no stub to replace"
    code = solution_code(solution, exercise) if code is None else code
    cell.source = cell.source.replace(stub, code, 1)
    return student


def solved(student, solution):
    """A student copy with every exercise answered as in the solution."""
    nb = copy.deepcopy(student)
    for exercise in exercises_of(solution):
        answer(nb, solution, exercise)
    return nb


def insert_after(nb, index, source):
    """Insert a student's code cell after cell ``index``."""
    cell = new_code_cell(source)
    cell["id"] = f"student-added-{len(nb.cells)}"
    nb.cells.insert(index + 1, cell)
    return nb


def colab_saved(nb, *, seed=0):
    """The notebook as Colab saves it: nbformat 4.0, no cell ids, Colab metadata and MIME types.

    Everything the course wrote in the metadata (tags, grading, course.assignment) is
    lost on the way, the worst case the grader has to survive. Returns a dict (JSON).
    """
    rng = random.Random(seed)
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = 0
    raw["metadata"] = {
        "colab": {"provenance": [], "name": "LastName_FirstName_copy.ipynb"},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
    }
    for count, cell in enumerate(raw["cells"], start=1):
        cell.pop("id", None)
        cell["metadata"] = {"id": "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=12))}
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["metadata"]["outputId"] = "0f3c2a7e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"
            cell["execution_count"] = count
            cell["outputs"] = [
                {
                    "output_type": "execute_result",
                    "execution_count": count,
                    "metadata": {},
                    "data": {
                        "text/plain": ["<IPython.core.display.Javascript object>"],
                        COLAB_MIME: {"type": "string", "value": "colab output"},
                    },
                }
            ]
    nbformat.validate(nbformat.from_dict(raw))
    return raw
