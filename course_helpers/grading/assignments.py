"""What the grader knows of each assignment, read from its solution notebook.

The solution is the reference: its cells say which code the student writes
(cells tagged ``exercise``) and which the course gives (every other code cell,
restored before a submission runs), where each exercise is checked and for how
many points (cells tagged ``check``), and which questions are answered in words
(markdown cells tagged ``answer``). The solution's exercise code and model
answers never leave this object: they are not copied into what is executed,
nor into the feedback or the CSV files.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .._course import NOTEBOOKS
from ..authoring import student_copy


def tags_of(cell):
    """The cell's tags, as a list (missing or malformed metadata gives [])."""
    tags = cell.get("metadata", {}).get("tags", []) or []
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def normalise_source(source):
    """A cell's text with line ends and trailing spaces normalised (nbformat 4.0 stores lists)."""
    if isinstance(source, list):
        source = "".join(source)
    return "\n".join(line.rstrip() for line in str(source).strip().splitlines())


@dataclass(frozen=True)
class Check:
    """One check cell of a solution: the exercise it scores, its points, where it is."""

    exercise: str
    points: float
    index: int


@dataclass
class Assignment:
    """One assignment as the grader sees it.

    Attributes
    ----------
    name : str
        The notebook's name, e.g. ``"04_digits_kmeans"``.
    solution, student : nbformat.NotebookNode
        The solution, and the student copy the authoring build derives from it.
    checks : list of Check
        The check cells, in notebook order.
    questions : list of str
        The written questions (``grading.question`` of the answer cells).
    """

    name: str
    solution: nbformat.NotebookNode
    student: nbformat.NotebookNode
    checks: list = field(default_factory=list)
    questions: list = field(default_factory=list)

    @classmethod
    def from_path(cls, path, name=None):
        """Read ``path`` (a solution notebook) as assignment ``name`` (default: its stem)."""
        path = Path(path)
        name = name or path.stem
        solution = nbformat.read(path, as_version=4)
        student = student_copy(solution, name)
        checks, questions = [], []
        for index, cell in enumerate(solution.cells):
            grading = cell.metadata.get("grading", {})
            if cell.cell_type == "code" and "check" in tags_of(cell):
                exercise = grading.get("exercise") or cell.get("id") or f"cell-{index}"
                checks.append(Check(str(exercise), float(grading.get("points", 1)), index))
            elif cell.cell_type == "markdown" and "answer" in tags_of(cell):
                questions.append(str(grading.get("question") or cell.get("id") or index))
        return cls(name, solution, student, checks, questions)

    @property
    def exercises(self):
        """Exercise ids in notebook order, each once."""
        return list(dict.fromkeys(check.exercise for check in self.checks))

    def max_points(self, exercise=None):
        """The points of one exercise, or of the whole assignment."""
        return sum(c.points for c in self.checks if exercise in (None, c.exercise))

    def is_student_code(self, index):
        """True for the cells the student writes: code cells tagged ``exercise``."""
        cell = self.solution.cells[index]
        return cell.cell_type == "code" and "exercise" in tags_of(cell)

    def is_given_code(self, index):
        """True for every other code cell: restored from the solution before a run."""
        return self.solution.cells[index].cell_type == "code" and not self.is_student_code(index)

    def sources(self, index):
        """The texts a handed-in cell may still have: the solution's and the student copy's."""
        return {
            normalise_source(self.solution.cells[index].source),
            normalise_source(self.student.cells[index].source),
        }

    def fingerprint(self):
        """A hash of everything grading depends on: the solution notebook's cells."""
        cells = [
            (c.cell_type, normalise_source(c.source), c.metadata.get("grading"), tags_of(c))
            for c in self.solution.cells
        ]
        return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()[:12]


def load_assignments(solutions_dir, names=None):
    """Read the solution notebooks: ``{name: Assignment}`` in teaching order.

    Parameters
    ----------
    solutions_dir : path-like
        The folder holding ``<name>.ipynb`` solution notebooks.
    names : sequence of str, optional
        The assignments to load. Defaults to the course's notebooks
        (:data:`course_helpers._course.NOTEBOOKS`) that exist in ``solutions_dir``.

    Raises
    ------
    FileNotFoundError
        When the folder, or every notebook asked for, is missing.
    """
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"no solutions folder at {solutions_dir.resolve()}")
    names = list(names) if names is not None else list(NOTEBOOKS)
    assignments = {}
    for name in names:
        path = solutions_dir / f"{name}.ipynb"
        if path.exists():
            assignments[name] = Assignment.from_path(path, name)
    if not assignments:
        raise FileNotFoundError(f"no solution notebook of {names} in {solutions_dir.resolve()}")
    return assignments


def default_solutions_dir():
    """The course's ``solutions/`` folder: next to the package, else in the current folder."""
    beside_package = Path(__file__).resolve().parents[2] / "solutions"
    return beside_package if beside_package.is_dir() else Path("solutions")
