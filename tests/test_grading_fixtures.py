"""The grader on realistic submissions of a real notebook: the ten fixtures of issue 4.

The submissions are generated here from the current solution and student copy of
04_digits_kmeans (so they never go stale), graded once in one batch (-j 2), and
each test reads its row of grades.csv. Expected points are read straight from the
notebook's check-cell metadata, not from the grader.
"""

import copy
import csv
import json
import tempfile
from pathlib import Path

import nbformat
import pytest
from fake_course import answer, colab_saved, exercises_of, find, insert_after, solved

from course_helpers.grading import grade_submissions

REPO = Path(__file__).resolve().parents[1]
NAME = "04_digits_kmeans"
FIRST, LAST = "digits-normal-distances", "digits-fp-fn"
CELL_TIMEOUT = 20
#: Other notebooks graded in the same batch: the solution must get full marks and the
#: student copy zero. The Spark notebooks (a JVM each) and 05_digits_tsne (t-SNE cells longer
#: than CELL_TIMEOUT) work the same way but would make this batch minutes longer; nbval
#: executes their solutions elsewhere in the suite, and test_checks.py tests their checks.
OTHER_NOTEBOOKS = ("03_blobs_kmeans",)

# Realistic wrong answers to the last exercise.
COUNTS_ALL_FLAGGED = (
    "false_pos = int(np.sum(y_pred == 1))  # every flagged digit\n"
    "false_neg = int(np.sum(y_pred == 0))"
)
SWAPPED = (
    "false_neg = int(np.sum((y_true == 0) & (y_pred == 1)))\n"
    "false_pos = int(np.sum((y_true == 1) & (y_pred == 0)))"
)


def _write(folder, name, nb):
    text = json.dumps(nb, indent=1) if isinstance(nb, dict) else nbformat.writes(nb)
    (folder / name).write_text(text, encoding="utf-8")


def make_submissions(folder):
    """Write the fixture submissions into ``folder``."""
    solution_path = REPO / "solutions" / f"{NAME}.ipynb"
    solution = nbformat.read(solution_path, as_version=4)
    student = nbformat.read(REPO / "notebooks" / f"{NAME}.ipynb", as_version=4)
    assert list(exercises_of(solution)) == [FIRST, LAST], "the digits exercises changed"
    after_first_check = find(solution, exercise=FIRST, role="check")

    def solved_with_cell(source):
        nb = solved(student, solution)
        return insert_after(nb, find(nb, exercise=FIRST, role="check"), source)

    # 1. The solution itself, outputs and all.
    (folder / "01_solution.ipynb").write_bytes(solution_path.read_bytes())
    # 2. The student copy, untouched.
    _write(folder, "02_untouched.ipynb", student)
    # 3. First exercise right, last one counts every flagged digit.
    _write(
        folder,
        "03_partly.ipynb",
        answer(answer(copy.deepcopy(student), solution, FIRST), solution, LAST, COUNTS_ALL_FLAGGED),
    )
    # 4. Solved, then saved by Colab (nbformat 4.0, no ids, Colab outputs and metadata).
    _write(folder, f"Doe_Jane_{NAME}.ipynb", colab_saved(solved(student, solution)))
    # 5. A download cut off halfway: invalid JSON.
    text = solution_path.read_text(encoding="utf-8")
    (folder / "05_truncated.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    # 6. An infinite loop in the last exercise.
    looping = solved(student, solution)
    cell = looping.cells[find(looping, exercise=LAST, role="exercise")]
    cell.source = "while True:\n    pass\n" + cell.source
    _write(folder, "06_infinite_loop.ipynb", looping)
    # 7. First check deleted (answer right), last check edited to `pass` (answer wrong).
    tampered = answer(answer(copy.deepcopy(student), solution, FIRST), solution, LAST, SWAPPED)
    tampered.cells[find(tampered, exercise=LAST, role="check")].source = "pass"
    del tampered.cells[find(tampered, exercise=FIRST, role="check")]
    _write(folder, "07_checks_tampered.ipynb", tampered)
    # 8. The kernel killed with os._exit(0) after the first check; sys.exit() elsewhere.
    _write(folder, "08_os_exit.ipynb", solved_with_cell("import os\n\nos._exit(0)"))
    _write(folder, "08_sys_exit.ipynb", solved_with_cell("import sys\n\nsys.exit()"))
    # 9. A cell printing 50 MB.
    _write(folder, "09_big_output.ipynb", solved_with_cell('print("x" * 50_000_000)'))
    # 10. A cell writing files next to itself and one folder up.
    _write(
        folder,
        "10_writes_files.ipynb",
        solved_with_cell(
            "from pathlib import Path\n"
            "Path('next_to_me.txt').write_text('hello')\n"
            "Path('../one_folder_up.txt').write_text('hello')\n"
            "Path('../submissions_dir_guess.ipynb').write_text('{}')"
        ),
    )
    assert after_first_check  # the first check exists in the solution
    for other in OTHER_NOTEBOOKS:
        (folder / f"solution_{other}.ipynb").write_bytes(
            (REPO / "solutions" / f"{other}.ipynb").read_bytes()
        )
        (folder / f"student_{other}.ipynb").write_bytes(
            (REPO / "notebooks" / f"{other}.ipynb").read_bytes()
        )
    return solution


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits-grading")
    subs, out, scratch_parent = root / "subs", root / "out", root / "scratch"
    for folder in (subs, scratch_parent):
        folder.mkdir()
    solution = make_submissions(subs)
    before = {path.name: path.read_bytes() for path in subs.iterdir()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(scratch_parent))
        grade_submissions(subs, out, jobs=2, cell_timeout=CELL_TIMEOUT, progress=False)
    with open(out / "grades.csv", encoding="utf-8", newline="") as stream:
        rows = {row["submission"]: row for row in csv.DictReader(stream)}
    points = exercises_of(solution)
    others = {
        name: exercises_of(nbformat.read(REPO / "solutions" / f"{name}.ipynb", as_version=4))
        for name in OTHER_NOTEBOOKS
    }
    return {
        "others": others,
        "subs": subs,
        "out": out,
        "root": root,
        "scratch": scratch_parent,
        "before": before,
        "rows": rows,
        "points": points,
        "full": sum(points.values()),
        "solution": solution,
    }


def check_row(batch, name, status, scores):
    row = batch["rows"][name]
    points = batch["points"]
    expected = {exercise: points[exercise] if right else 0 for exercise, right in scores.items()}
    assert row["status"] == status, row
    assert row["assignment"] == NAME
    assert {exercise: float(row[exercise]) for exercise in points} == expected, row
    assert float(row["total"]) == sum(expected.values())
    assert float(row["max_total"]) == batch["full"]
    return row


def feedback(batch, name):
    return (batch["out"] / "feedback" / name.replace(".ipynb", ".md")).read_text(encoding="utf-8")


def test_01_solution_gets_full_marks(batch):
    check_row(batch, "01_solution.ipynb", "graded", {FIRST: True, LAST: True})


def test_02_untouched_student_copy_is_graded_zero(batch):
    check_row(batch, "02_untouched.ipynb", "graded", {FIRST: False, LAST: False})
    assert "NotImplementedError" in feedback(batch, "02_untouched.ipynb")


def test_03_partly_correct_gets_exactly_its_points(batch):
    check_row(batch, "03_partly.ipynb", "graded", {FIRST: True, LAST: False})
    # The hint comes from the check, and says what is wrong without the answer.
    assert "counts flagged anomalies too" in feedback(batch, "03_partly.ipynb")


def test_04_colab_saved_copy_is_graded_normally(batch):
    check_row(batch, f"Doe_Jane_{NAME}.ipynb", "graded", {FIRST: True, LAST: True})


def test_05_invalid_json_is_unreadable_not_zero(batch):
    row = batch["rows"]["05_truncated.ipynb"]
    assert row["status"] == "unreadable"
    assert row["total"] == "" and "JSON" in row["detail"]


def test_06_infinite_loop_times_out_and_the_batch_goes_on(batch):
    row = check_row(batch, "06_infinite_loop.ipynb", "timeout", {FIRST: True, LAST: False})
    assert float(row["seconds"]) >= CELL_TIMEOUT
    assert "endless loop" in feedback(batch, "06_infinite_loop.ipynb")
    graded = [r for r in batch["rows"].values() if r["status"] == "graded"]
    assert len(graded) >= 6


def test_07_deleted_and_edited_checks_still_run(batch):
    check_row(batch, "07_checks_tampered.ipynb", "graded", {FIRST: True, LAST: False})
    text = feedback(batch, "07_checks_tampered.ipynb")
    assert "swapped" in text  # the real check ran on the wrong answer
    assert "put back" in text and "replaced" in text


def test_08_os_exit_kills_the_kernel_sys_exit_does_not(batch):
    check_row(batch, "08_os_exit.ipynb", "kernel_died", {FIRST: True, LAST: False})
    check_row(batch, "08_sys_exit.ipynb", "graded", {FIRST: True, LAST: True})


def test_09_fifty_megabytes_of_output_stay_out_of_the_gradebook(batch):
    check_row(batch, "09_big_output.ipynb", "graded", {FIRST: True, LAST: True})
    sizes = [path.stat().st_size for path in batch["out"].rglob("*") if path.is_file()]
    assert max(sizes) < 100_000


def test_10_files_written_by_a_cell_stay_in_its_scratch_folder(batch):
    check_row(batch, "10_writes_files.ipynb", "graded", {FIRST: True, LAST: True})
    root = batch["root"]
    everything = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    expected_out = {"out", "out/grades.csv", "out/answers.csv", "out/feedback"}
    expected_out |= {f"out/feedback/{Path(n).stem}.md" for n in batch["before"]}
    expected_subs = {"subs"} | {f"subs/{n}" for n in batch["before"]}
    assert set(everything) == expected_out | expected_subs | {"scratch"}


@pytest.mark.parametrize("name", OTHER_NOTEBOOKS)
def test_other_notebooks_full_marks_for_the_solution_zero_for_the_student_copy(batch, name):
    points = batch["others"][name]
    assert points, f"{name} has no check cell"
    for prefix, expected_total in (("solution", sum(points.values())), ("student", 0)):
        row = batch["rows"][f"{prefix}_{name}.ipynb"]
        assert (row["status"], row["assignment"]) == ("graded", name), row
        assert float(row["total"]) == expected_total, row
        assert float(row["max_total"]) == sum(points.values())
        for exercise, possible in points.items():
            assert float(row[exercise]) == (possible if prefix == "solution" else 0), row


def test_handed_in_files_are_byte_for_byte_unchanged(batch):
    after = {path.name: path.read_bytes() for path in batch["subs"].iterdir()}
    assert after == batch["before"]


def test_feedback_never_shows_the_hidden_solution(batch):
    solution = batch["solution"]
    secrets = []
    for cell in solution.cells:
        tags = cell.metadata.get("tags", [])
        if "answer" in tags:
            secrets += [line for line in cell.source.splitlines()[1:] if len(line) > 30]
        if "exercise" in tags:
            inside = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            secrets += [line.strip() for line in inside.splitlines() if line.strip()]
    assert secrets
    for path in (batch["out"] / "feedback").iterdir():
        text = path.read_text(encoding="utf-8")
        assert not [s for s in secrets if s in text], path.name
