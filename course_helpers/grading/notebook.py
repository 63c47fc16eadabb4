"""Read a handed-in notebook and rebuild the copy that is executed for grading.

Nothing here runs student code: it only reads JSON and moves cells around.

The reference for each assignment is its solution notebook. From it the grader
takes the *protected* cells (tagged ``check`` or ``setup``), the points of
each check, and the list of written questions. The solution's exercise code
and model answers are never copied into the executed notebook, the feedback
or the CSV files.
"""

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..authoring import EMPTY_ANSWER, student_copy

PROTECTED_TAGS = ("check", "setup")
#: Larger handed-in files are not read (a notebook with huge saved outputs, or not a notebook).
MAX_BYTES = 200 * 2**20
ROLE_TAGS = ("check", "setup", "exercise", "answer", "question", "colab-badge")

# Notebook- and cell-level metadata that Colab (or other front ends) add and
# that the grader neither needs nor trusts.
_COLAB_NOTEBOOK_KEYS = ("colab", "accelerator", "gpuClass", "widgets", "toc")


class UnreadableNotebook(ValueError):
    """A handed-in file is not a notebook nbformat can read and validate."""


def _tags(cell):
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _role(cell):
    for tag in ROLE_TAGS:
        if tag in _tags(cell):
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


def _normalise_source(source):
    if isinstance(source, list):  # nbformat 4.0 files may store lines
        source = "".join(source)
    return "\n".join(line.rstrip() for line in str(source).strip().splitlines())


@dataclass(frozen=True)
class CheckCell:
    """One check cell of a reference notebook: what it scores and how much."""

    exercise: str
    points: float
    ref_index: int


@dataclass
class Reference:
    """One assignment as the grader sees it, read from its solution notebook."""

    name: str
    solution: nbformat.NotebookNode
    student: nbformat.NotebookNode
    checks: list = field(default_factory=list)
    questions: list = field(default_factory=list)

    @classmethod
    def from_path(cls, path, name=None):
        path = Path(path)
        name = name or path.stem
        solution = nbformat.read(path, as_version=4)
        student = student_copy(solution, name)
        checks, questions = [], []
        for index, cell in enumerate(solution.cells):
            grading = cell.metadata.get("grading", {})
            if cell.cell_type == "code" and "check" in _tags(cell):
                exercise = grading.get("exercise") or cell.get("id") or f"cell-{index}"
                points = grading.get("points", 1)
                checks.append(CheckCell(str(exercise), float(points), index))
            elif cell.cell_type == "markdown" and "answer" in _tags(cell):
                question = grading.get("question") or cell.get("id") or f"cell-{index}"
                questions.append(str(question))
        return cls(name, solution, student, checks, questions)

    @property
    def exercises(self):
        """Exercise ids in notebook order, each once."""
        return list(dict.fromkeys(check.exercise for check in self.checks))

    def max_points(self, exercise=None):
        return sum(c.points for c in self.checks if exercise in (None, c.exercise))

    def fingerprint(self):
        """A hash of what grading depends on: the protected cells and the points."""
        protected = [
            (c.source, c.metadata.get("grading"), _tags(c))
            for c in self.solution.cells
            if any(tag in _tags(c) for tag in PROTECTED_TAGS)
        ]
        return hashlib.sha256(json.dumps(protected, sort_keys=True).encode()).hexdigest()[:12]

    def is_protected(self, index):
        return any(tag in _tags(self.solution.cells[index]) for tag in PROTECTED_TAGS)

    def sources(self, index):
        """The texts a handed-in cell may still have: the solution's and the student copy's."""
        return {
            _normalise_source(self.solution.cells[index].source),
            _normalise_source(self.student.cells[index].source),
        }


def read_submission(path):
    """Read and validate a handed-in notebook.

    Returns
    -------
    nb : nbformat.NotebookNode
        The notebook, upgraded to nbformat 4 in memory (the file is not touched).

    Raises
    ------
    UnreadableNotebook
        With a one-line reason: not JSON, not a notebook, or invalid.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UnreadableNotebook(
            f"{size / 2**20:.0f} MB is too large for a notebook (limit {MAX_BYTES // 2**20} MB): "
            "clear its outputs and hand it in again"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableNotebook(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if (
        not isinstance(raw, dict)
        or "nbformat" not in raw
        or not ("cells" in raw or "worksheets" in raw)
    ):
        raise UnreadableNotebook("valid JSON, but not a Jupyter notebook (no 'cells'/'nbformat')")
    if raw.get("nbformat") not in (3, 4):
        # nbformat upgrades version 3 to 4 in memory; older ones are not notebooks of ours.
        raise UnreadableNotebook(f"nbformat {raw.get('nbformat')!r} is not supported (3 and 4 are)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (nbformat.ValidationError, ValueError, KeyError, TypeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableNotebook(f"not a valid notebook: {first_line}") from None
    return nb


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


def claimed_assignment(nb):
    """The assignment name written in the notebook's metadata, or None."""
    course = nb.metadata.get("course")
    if isinstance(course, dict) and isinstance(course.get("assignment"), str):
        return course["assignment"]
    return None


def resemblance(nb, reference):
    """How many cells of ``nb`` are recognisably cells of ``reference`` (ids or text)."""
    ids = {cell.get("id") for cell in reference.solution.cells if cell.get("id")}
    texts = set()
    for index, cell in enumerate(reference.solution.cells):
        if cell.cell_type == "markdown" and "answer" not in _tags(cell):
            texts |= reference.sources(index)
    texts.discard("")
    score = 0
    for cell in nb.cells:
        if cell.get("id") in ids or _normalise_source(cell.source) in texts:
            score += 1
    return score


def identify_assignment(nb, references):
    """Return the name of the reference that ``nb`` is a copy of, by content, or None."""
    scores = {name: resemblance(nb, ref) for name, ref in references.items()}
    if not scores:
        return None
    best = max(scores, key=scores.get)
    runner_up = max((s for n, s in scores.items() if n != best), default=0)
    # A handful of recognised cells, clearly more than any other notebook.
    if scores[best] >= 3 and scores[best] > runner_up:
        return best
    return None


def match_cells(reference, nb):
    """Match the reference's cells to the handed-in cells.

    Returns a dict ``{reference index: handed-in index}``. Cells are matched
    by id, then by their role tag and grading metadata, then by identical text
    (the solution's or the student copy's), and finally by position: between
    two matched neighbours, the unmatched cells of the same type are paired in
    order when they are equally many. Colab may drop ids (nbformat 4.0) and
    metadata, which the later steps make up for.
    """
    ref_cells, sub_cells = reference.solution.cells, nb.cells
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

    # 3. Identical text, for reference cells whose text is unique in the reference.
    counts = {}
    for i in range(len(ref_cells)):
        for text in reference.sources(i):
            counts[text] = counts.get(text, 0) + 1
    for i, cell in enumerate(ref_cells):
        if i in matched:
            continue
        texts = {t for t in reference.sources(i) if t and counts[t] == 1}
        for j, sub in enumerate(sub_cells):
            if (
                j not in used
                and sub.cell_type == cell.cell_type
                and _normalise_source(sub.source) in texts
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


@dataclass
class GradedNotebook:
    """The notebook that is executed, and where its scored cells are."""

    nb: nbformat.NotebookNode
    #: nbval's cell number (code cells counted from 0) -> CheckCell
    check_cells: dict
    #: exercise id -> nbval's cell number of the student's exercise cell
    exercise_cells: dict
    #: what was put back, for the feedback ("check cell blobs-radii restored")
    restored: list


def build_graded_notebook(reference, submitted):
    """Return the notebook to execute: the student's cells with the protected cells restored.

    Protected cells (``check`` and ``setup``) come from the reference, whatever the
    student did to them: edited ones are replaced, deleted ones are put back. A kept
    one stays where the student has it as long as it still comes after the cell that
    precedes it in the reference (for a check: its exercise). A deleted one, or one
    moved above that cell, goes right after that cell and after any cells the student
    added below it. So deleting, editing or moving cells neither helps nor hurts.
    """
    submitted = strip_colab(submitted)
    matched = match_cells(reference, submitted)
    ref_of_sub = {j: i for i, j in matched.items()}

    def kept_in_order(i):
        earlier = [k for k in range(i - 1, -1, -1) if k in matched]
        return not earlier or matched[earlier[0]] < matched[i]

    placed = []  # list of (reference index or None, cell), in execution order
    restored, to_insert = [], []
    for j, cell in enumerate(submitted.cells):
        i = ref_of_sub.get(j)
        if i is None or not reference.is_protected(i):
            placed.append((i, _student_cell(cell)))
            continue
        if _normalise_source(cell.source) not in reference.sources(i):
            restored.append(f"{_describe(reference, i)} (edited: replaced)")
        if kept_in_order(i):
            placed.append((i, _protected_cell(reference.solution.cells[i])))
        else:
            restored.append(f"{_describe(reference, i)} (moved: put back in place)")
            to_insert.append(i)
    for i in range(len(reference.solution.cells)):
        if reference.is_protected(i) and i not in matched:
            restored.append(f"{_describe(reference, i)} (missing: put back)")
            to_insert.append(i)

    for i in sorted(to_insert):
        position = 0
        anchors = {ref: pos for pos, (ref, _) in enumerate(placed) if ref is not None}
        earlier = [anchors[k] for k in range(i - 1, -1, -1) if k in anchors]
        if earlier:
            position = earlier[0] + 1
            while position < len(placed) and placed[position][0] is None:
                position += 1
        placed.insert(position, (i, _protected_cell(reference.solution.cells[i])))

    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.NotebookNode({"course": {"assignment": reference.name}})
    if "kernelspec" in reference.solution.metadata:
        nb.metadata["kernelspec"] = copy.deepcopy(reference.solution.metadata["kernelspec"])
    checks_by_ref = {check.ref_index: check for check in reference.checks}
    exercise_of_ref = {
        i: cell.metadata.get("grading", {}).get("exercise")
        for i, cell in enumerate(reference.solution.cells)
        if "exercise" in _tags(cell)
    }
    check_cells, exercise_cells, seen_ids, code_number = {}, {}, set(), 0
    for n, (i, cell) in enumerate(placed):
        if not cell.get("id") or cell["id"] in seen_ids:
            cell["id"] = f"cell-{n}"
        seen_ids.add(cell["id"])
        nb.cells.append(cell)
        if cell.cell_type != "code":
            continue
        if i is not None and i in checks_by_ref and reference.is_protected(i):
            check_cells[code_number] = checks_by_ref[i]
        elif i is not None and exercise_of_ref.get(i):
            exercise_cells[str(exercise_of_ref[i])] = code_number
        code_number += 1
    nbformat.validate(nb)
    return GradedNotebook(nb, check_cells, exercise_cells, restored)


def _describe(reference, index):
    cell = reference.solution.cells[index]
    grading = cell.metadata.get("grading", {})
    kind = "check cell" if "check" in _tags(cell) else "setup cell"
    return f"{kind} {grading.get('exercise') or cell.get('id', index)}"


def _protected_cell(ref_cell):
    cell = nbformat.v4.new_code_cell(ref_cell.source)
    cell["id"] = ref_cell.get("id")
    cell.metadata = nbformat.NotebookNode(copy.deepcopy(dict(ref_cell.metadata)))
    cell.metadata.pop("execution", None)
    return cell


def _student_cell(sub_cell):
    source = sub_cell.source if isinstance(sub_cell.source, str) else "".join(sub_cell.source)
    # A student's copy of a check (a duplicated check cell) is just code: it is run but
    # not scored, and it must not pose as a protected cell.
    tags = [t for t in _tags(sub_cell) if t not in PROTECTED_TAGS]
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


def written_answers(reference, submitted):
    """Return ``{question: answer text}`` for the reference's answer cells.

    An answer left as the student copy's empty ``**Answer:**`` is returned as "".
    """
    submitted = strip_colab(submitted)
    matched = match_cells(reference, submitted)
    answers = {}
    for i, cell in enumerate(reference.solution.cells):
        if cell.cell_type != "markdown" or "answer" not in _tags(cell):
            continue
        question = str(cell.metadata.get("grading", {}).get("question") or cell.get("id"))
        j = matched.get(i)
        text = ""
        if j is not None:
            text = _normalise_source(submitted.cells[j].source)
            if text.startswith(EMPTY_ANSWER):
                text = text[len(EMPTY_ANSWER) :].strip()
        answers[question] = text
    return answers
