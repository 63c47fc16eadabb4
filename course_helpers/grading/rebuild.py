"""Step 3: rebuild the notebook that is executed, from the submission and the solution.

Nothing here runs student code: it only reads JSON and moves cells around.

The student writes the exercise cells (and may add cells of their own); the
course writes everything else. So every code cell of the solution that is not
an exercise (setup, imports, the lesson's own steps, the checks) is put back
from the solution, whatever the student did to it: edited cells are replaced,
deleted ones restored, moved ones put back in order, the way nbgrader's
read-only cells work. The state entering each exercise is then the state the
course set up. The solution's exercise code is never copied.
"""

import copy
import itertools
import re
from dataclasses import dataclass, field

import nbformat

from ..authoring import EMPTY_ANSWER
from .assignments import normalise_source, tags_of

# Notebook- and cell-level metadata that Colab (or other front ends) add and
# that the grader neither needs nor trusts.
_COLAB_NOTEBOOK_KEYS = ("colab", "accelerator", "gpuClass", "widgets", "toc")
ROLE_TAGS = ("check", "setup", "exercise", "answer", "question", "colab-badge")


def _role(cell):
    for tag in ROLE_TAGS:
        if tag in tags_of(cell):
            return tag
    return None


def _grading_key(cell):
    grading = cell.get("metadata", {}).get("grading") or {}
    if not isinstance(grading, dict):
        return None
    key = grading.get("exercise") or grading.get("question")
    role = _role(cell)
    if key is None or role is None:
        return None
    return (cell.get("cell_type"), role, str(key))


def strip_colab(nb):
    """Return a copy of ``nb`` without what Colab (or any front end) adds.

    Outputs are all dropped: the grader re-executes every cell, so stored
    outputs are never needed, and Colab's
    ``application/vnd.google.colaboratory.intrinsic+json`` outputs would make
    nbval fail with "Missing output fields". Notebook metadata keeps only the
    course's own entry; cell metadata keeps only tags and grading.
    """
    nb = copy.deepcopy(nb)
    for key in _COLAB_NOTEBOOK_KEYS:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        metadata = cell.get("metadata", {})
        kept = {key: metadata[key] for key in ("tags", "grading") if key in metadata}
        cell["metadata"] = nbformat.NotebookNode(kept)
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.pop("attachments", None)
    return nb


def match_cells(assignment, nb):
    """Match the solution's cells to the handed-in cells.

    Returns a dict ``{solution index: handed-in index}``. Cells are matched
    by id, then by their role tag and grading metadata, then by identical text
    (the solution's or the student copy's), and finally by position: between
    two matched neighbours, the unmatched cells of the same type are paired in
    order when they are equally many. Colab may drop ids (nbformat 4.0) and
    metadata, which the later steps make up for.
    """
    ref_cells, sub_cells = assignment.solution.cells, nb.cells
    matched, used = {}, set()

    def pair(ref_index, sub_index):
        matched[ref_index] = sub_index
        used.add(sub_index)

    # 1. Cell ids (nbformat >= 4.5). Ids that nbformat made up on upgrade never match.
    sub_by_id = {}
    for j, cell in enumerate(sub_cells):
        sub_by_id.setdefault(cell.get("id"), j)
    for i, cell in enumerate(ref_cells):
        j = sub_by_id.get(cell.get("id"))
        if j is not None and j not in used and sub_cells[j].cell_type == cell.cell_type:
            pair(i, j)

    # 2. Role tag + grading metadata, when unique on both sides.
    def unique_keys(cells, skip):
        keys = {}
        for index, cell in enumerate(cells):
            if index in skip:
                continue
            key = _grading_key(cell)
            if key is not None:
                keys.setdefault(key, []).append(index)
        return {key: idx[0] for key, idx in keys.items() if len(idx) == 1}

    ref_keys = unique_keys(ref_cells, matched)
    sub_keys = unique_keys(sub_cells, used)
    for key, i in ref_keys.items():
        if key in sub_keys:
            pair(i, sub_keys[key])

    # 3. Identical text, for assignment cells whose text is unique in the assignment.
    counts = {}
    for i in range(len(ref_cells)):
        for text in assignment.sources(i):
            counts[text] = counts.get(text, 0) + 1
    for i, cell in enumerate(ref_cells):
        if i in matched:
            continue
        texts = {t for t in assignment.sources(i) if t and counts[t] == 1}
        for j, sub in enumerate(sub_cells):
            if (
                j not in used
                and sub.cell_type == cell.cell_type
                and normalise_source(sub.source) in texts
            ):
                pair(i, j)
                break

    # 4. Position: fill the gaps between matched neighbours.
    changed = True
    while changed:
        changed = False
        anchors = sorted(matched.items())
        bounds = [(-1, -1), *anchors, (len(ref_cells), len(sub_cells))]
        for (p, sp), (q, sq) in itertools.pairwise(bounds):
            if q - p <= 1 or sq - sp <= 1 or sp > sq:
                continue
            for cell_type in ("code", "markdown"):
                ref_gap = [
                    i
                    for i in range(p + 1, q)
                    if i not in matched and ref_cells[i].cell_type == cell_type
                ]
                sub_gap = [
                    j
                    for j in range(sp + 1, sq)
                    if j not in used and sub_cells[j].cell_type == cell_type
                ]
                if ref_gap and len(ref_gap) == len(sub_gap):
                    for i, j in zip(ref_gap, sub_gap, strict=True):
                        pair(i, j)
                    changed = True
            if changed:
                break
    return matched


@dataclass(frozen=True)
class CodeCell:
    """What one code cell of the executed notebook is, in nbval's numbering.

    ``kind`` is ``"check"`` (scored), ``"exercise"`` (the student's answer),
    ``"given"`` (restored from the solution) or ``"added"`` (the student's own).
    """

    kind: str
    exercise: str = ""
    points: float = 0.0


@dataclass
class RebuiltNotebook:
    """The notebook that is executed, and what each of its code cells is."""

    nb: nbformat.NotebookNode
    #: one entry per code cell, in order (nbval's "Cell N" is entry N)
    code_cells: list = field(default_factory=list)
    #: what was put back, for the feedback ("check cell blobs-radii (edited: replaced)")
    restored: list = field(default_factory=list)

    def checks(self):
        """``[(cell number, CodeCell)]`` of the scored check cells."""
        return [(n, cell) for n, cell in enumerate(self.code_cells) if cell.kind == "check"]

    def exercise_cell(self, exercise):
        """nbval's number of the student's cell for ``exercise``, or None."""
        for number, cell in enumerate(self.code_cells):
            if cell.kind == "exercise" and cell.exercise == exercise:
                return number
        return None


def rebuild(assignment, submitted):
    """Return the notebook to execute: the student's cells, the course's cells restored.

    A given cell the student kept stays where the student has it as long as it
    still comes after the cell that precedes it in the solution; a deleted one,
    or one moved above that cell, goes right after that cell and after any
    cells the student added below it. So deleting, editing or moving the
    course's cells neither helps nor hurts. Cells the student added are kept
    in place; a copy of a check cell is only code (it is run, never scored).

    Parameters
    ----------
    assignment : Assignment
        The solution's view of the assignment.
    submitted : nbformat.NotebookNode
        The handed-in notebook, as :func:`~course_helpers.grading.read.read_submission` returned it.
    """
    submitted = strip_colab(submitted)
    matched = match_cells(assignment, submitted)
    solution_of = {j: i for i, j in matched.items()}
    solution_cells = assignment.solution.cells

    def kept_in_order(i):
        earlier = [k for k in range(i - 1, -1, -1) if k in matched]
        return not earlier or matched[earlier[0]] < matched[i]

    placed = []  # (solution index or None, cell), in execution order
    restored, to_insert = [], []
    for j, cell in enumerate(submitted.cells):
        i = solution_of.get(j)
        if i is None or not assignment.is_given_code(i):
            placed.append((i, _student_cell(cell)))
            continue
        if normalise_source(cell.source) not in assignment.sources(i):
            restored.append(f"{_describe(assignment, i)} (edited: replaced)")
        if kept_in_order(i):
            placed.append((i, _given_cell(solution_cells[i])))
        else:
            restored.append(f"{_describe(assignment, i)} (moved: put back in place)")
            to_insert.append(i)
    for i in range(len(solution_cells)):
        if assignment.is_given_code(i) and i not in matched:
            restored.append(f"{_describe(assignment, i)} (missing: put back)")
            to_insert.append(i)

    for i in sorted(to_insert):
        position = 0
        anchors = {ref: pos for pos, (ref, _) in enumerate(placed) if ref is not None}
        earlier = [anchors[k] for k in range(i - 1, -1, -1) if k in anchors]
        if earlier:
            position = earlier[0] + 1
            while position < len(placed) and placed[position][0] is None:
                position += 1
        placed.insert(position, (i, _given_cell(solution_cells[i])))

    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.NotebookNode({"course": {"assignment": assignment.name}})
    checks = {check.index: check for check in assignment.checks}
    rebuilt = RebuiltNotebook(nb, restored=restored)
    seen_ids = set()
    for n, (i, cell) in enumerate(placed):
        if not cell.get("id") or cell["id"] in seen_ids:
            cell["id"] = f"cell-{n}"
        seen_ids.add(cell["id"])
        nb.cells.append(cell)
        if cell.cell_type != "code":
            continue
        if i is not None and i in checks:
            rebuilt.code_cells.append(CodeCell("check", checks[i].exercise, checks[i].points))
        elif i is not None and assignment.is_student_code(i):
            exercise = solution_cells[i].metadata.get("grading", {}).get("exercise", "")
            rebuilt.code_cells.append(CodeCell("exercise", str(exercise)))
        elif i is not None:
            rebuilt.code_cells.append(CodeCell("given"))
        else:
            rebuilt.code_cells.append(CodeCell("added"))
    nbformat.validate(nb)
    return rebuilt


def _describe(assignment, index):
    cell = assignment.solution.cells[index]
    grading = cell.metadata.get("grading", {})
    tags = tags_of(cell)
    kind = "check cell" if "check" in tags else "setup cell" if "setup" in tags else "course cell"
    return f"{kind} {grading.get('exercise') or cell.get('id', index)}"


def _given_cell(solution_cell):
    cell = nbformat.v4.new_code_cell(solution_cell.source)
    cell["id"] = solution_cell.get("id")
    cell.metadata = nbformat.NotebookNode(copy.deepcopy(dict(solution_cell.metadata)))
    cell.metadata.pop("execution", None)
    return cell


def _student_cell(sub_cell):
    source = sub_cell.source if isinstance(sub_cell.source, str) else "".join(sub_cell.source)
    # nbval acts on these tags; a student's cell must not skip itself or pose as the course's.
    tags = [
        t for t in tags_of(sub_cell) if t not in ROLE_TAGS and not t.startswith(("nbval", "raises"))
    ]
    if sub_cell.cell_type == "code":
        cell = nbformat.v4.new_code_cell(source)
    elif sub_cell.cell_type == "markdown":
        cell = nbformat.v4.new_markdown_cell(source)
    else:
        cell = nbformat.v4.new_raw_cell(source)
    cell["id"] = sub_cell.get("id") if _valid_id(sub_cell.get("id")) else None
    if tags:
        cell.metadata["tags"] = tags
    return cell


_ID_PATTERN = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


def _valid_id(cell_id):
    return isinstance(cell_id, str) and bool(_ID_PATTERN.match(cell_id))


def written_answers(assignment, submitted):
    """Return ``{question: answer text}`` for the solution's answer cells.

    An answer left as the student copy's empty ``**Answer:**`` is returned as "".
    """
    submitted = strip_colab(submitted)
    matched = match_cells(assignment, submitted)
    answers = {}
    for i, cell in enumerate(assignment.solution.cells):
        if cell.cell_type != "markdown" or "answer" not in tags_of(cell):
            continue
        question = str(cell.metadata.get("grading", {}).get("question") or cell.get("id"))
        j = matched.get(i)
        text = ""
        if j is not None and submitted.cells[j].cell_type == "markdown":
            text = normalise_source(submitted.cells[j].source)
            if text.startswith(EMPTY_ANSWER):
                text = text[len(EMPTY_ANSWER) :].strip()
        answers[question] = text
    return answers
