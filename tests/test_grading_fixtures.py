"""The grader on realistic submissions of a real notebook: the ten fixtures.

The batch (tests/digits_batch.py) is graded once for this file and the red-team
tests; each test reads its row of grades.csv. Expected points are read straight
from the notebook's check-cell metadata, not from the grader.
"""

import pytest
from digits_batch import CELL_TIMEOUT, FIRST, LAST, NAME, OTHER_NOTEBOOKS

from course_helpers.grading.record import feedback_name


@pytest.fixture(scope="module")
def batch(digits_batch):
    return digits_batch


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
    return (batch["out"] / "feedback" / feedback_name(name)).read_text(encoding="utf-8")


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
    # (the grader's own cache of the solution's reference is not a student's output)
    sizes = [
        path.stat().st_size
        for path in batch["out"].rglob("*")
        if path.is_file() and ".cache" not in path.parts
    ]
    assert max(sizes) < 100_000


def test_10_files_written_by_a_cell_stay_in_its_scratch_folder(batch):
    check_row(batch, "10_writes_files.ipynb", "graded", {FIRST: True, LAST: True})
    out, subs = batch["out"], batch["subs"]
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if ".cache" not in p.parts}
    expected = {"grades.csv", "answers.csv", "feedback", ".grading.lock"}
    expected |= {f"feedback/{feedback_name(n)}" for n in batch["before"]}
    assert written == expected
    assert {p.name for p in subs.iterdir()} == set(batch["before"])


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
