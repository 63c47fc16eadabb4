"""The student notebooks are built from solutions/, hold no answers, and are never stale."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_helpers._course import NOTEBOOKS
from course_helpers.authoring import (
    BEGIN,
    END,
    AuthoringError,
    badge_source,
    setup_source,
    strip_solution,
)

ROOT = Path(__file__).resolve().parents[1]


def run_authoring(*args, root=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "course_helpers.authoring", "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_committed_student_notebooks_are_up_to_date():
    result = run_authoring("--check")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def course_copy(tmp_path):
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_check_fails_when_a_student_copy_is_edited_by_hand(course_copy):
    path = course_copy / "notebooks" / "04_digits_kmeans.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][-1]["source"] = "edited by hand"
    path.write_text(json.dumps(nb, indent=1))
    result = run_authoring("--check", root=course_copy)
    assert result.returncode == 1
    assert "stale: notebooks/04_digits_kmeans.ipynb" in result.stdout


def test_check_fails_when_a_solution_changes_and_build_repairs_it(course_copy):
    path = course_copy / "solutions" / "03_blobs_kmeans.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new closing remark.", id="new-remark"))
    nbformat.write(nb, path)
    assert run_authoring("--check", root=course_copy).returncode == 1
    assert run_authoring(root=course_copy).returncode == 0
    assert run_authoring("--check", root=course_copy).returncode == 0
    rebuilt = nbformat.read(course_copy / "notebooks" / "03_blobs_kmeans.ipynb", as_version=4)
    assert rebuilt.cells[-1].source == "A new closing remark."


def test_check_fails_when_a_student_copy_is_missing(course_copy):
    (course_copy / "notebooks" / "05_digits_tsne.ipynb").unlink()
    assert run_authoring("--check", root=course_copy).returncode == 1
    assert run_authoring(root=course_copy).returncode == 0
    assert (course_copy / "notebooks" / "05_digits_tsne.ipynb").exists()


@pytest.mark.parametrize("mode", [[], ["--check"]], ids=["build", "check"])
def test_a_student_notebook_without_a_solution_is_an_error(course_copy, mode):
    """A stray draft in notebooks/ used to be reported "rebuilt", left in place, exit 0."""
    stray = course_copy / "notebooks" / "old_draft.ipynb"
    shutil.copy(course_copy / "notebooks" / "05_digits_tsne.ipynb", stray)
    result = run_authoring(*mode, root=course_copy)
    assert result.returncode == 2
    assert "notebooks/old_draft.ipynb" in result.stderr
    assert "without a solution" in result.stderr
    assert "Traceback" not in result.stderr
    assert "rebuilt" not in result.stdout
    assert stray.exists()  # the build deletes nothing: the author decides


def test_bad_root_is_a_clear_error(tmp_path):
    result = run_authoring("--check", root=tmp_path)
    assert result.returncode == 2
    assert "no solutions/ folder" in result.stderr
    assert "Traceback" not in result.stderr


def _pairs():
    for name in NOTEBOOKS:
        solution_path = ROOT / "solutions" / f"{name}.ipynb"
        if solution_path.exists():
            yield (
                name,
                nbformat.read(solution_path, as_version=4),
                nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4),
            )


@pytest.mark.parametrize(("name", "solution", "student"), list(_pairs()), ids=lambda v: str(v)[:20])
def test_student_copy_keeps_structure_and_hides_answers(name, solution, student):
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]
    assert [c.metadata.get("tags") for c in student.cells] == [
        c.metadata.get("tags") for c in solution.cells
    ]
    assert student.metadata["course"]["assignment"] == name
    exercises = 0
    for sol_cell, stu_cell in zip(solution.cells, student.cells, strict=True):
        tags = sol_cell.metadata.get("tags", [])
        if stu_cell.cell_type == "code":
            assert stu_cell.outputs == [] and stu_cell.execution_count is None
        if "exercise" in tags:
            exercises += 1
            assert "raise NotImplementedError()" in stu_cell.source
            assert BEGIN not in stu_cell.source and END not in stu_cell.source
            # Every line of the model answer is gone from the student copy.
            region = sol_cell.source.split(BEGIN)[1].split(END)[0]
            for line in (line.strip() for line in region.splitlines()):
                # Lines like ")" or "]" are syntax, not answers.
                if sum(ch.isalnum() for ch in line) >= 4:
                    assert line not in stu_cell.source, f"{name}: answer line leaked: {line}"
        elif "answer" in tags:
            assert stu_cell.source == "**Answer:**"
            assert sol_cell.source.strip() != "**Answer:**", "the solution needs a model answer"
        else:
            assert stu_cell.source == sol_cell.source
    assert exercises >= 1


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_opens_the_same_way(name):
    path = ROOT / "solutions" / f"{name}.ipynb"
    if not path.exists():
        pytest.skip(f"{name} is not written yet")
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert cells[1].source == badge_source(name)
    assert f"/notebooks/{name}.ipynb" in cells[1].source
    assert cells[2].source == setup_source()
    assert "nbval-ignore-output" in cells[2].metadata["tags"]


def test_strip_solution_keeps_indentation_and_surroundings():
    source = f"x = 1\nif x:\n    {BEGIN}\n    y = secret()\n    {END}\nprint(y)"
    assert strip_solution(source) == (
        "x = 1\nif x:\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(y)"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (f"{BEGIN}\na = 1", "never closed"),
        (f"a = 1\n{END}", "without"),
        (f"{BEGIN}\n{BEGIN}\n{END}", "nested"),
    ],
)
def test_unbalanced_markers_are_reported(source, message):
    with pytest.raises(AuthoringError, match=message):
        strip_solution(source, where="nb, cell x")
