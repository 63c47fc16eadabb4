"""The grader on a tiny fake course: cell matching, sandbox, statuses, reruns, CLI.

The ten fixture submissions on a real notebook are in test_grading_fixtures.py;
here the fake assignment (fake_course.py) keeps each run to about a second.
"""

import copy
import csv
import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from fake_course import (
    FAKE_NAME,
    HIDDEN_ANSWER,
    colab_saved,
    find,
    insert_after,
    solved,
    write_fake_course,
)

from course_helpers.grading import (
    UnreadableNotebook,
    build_graded_notebook,
    grade_submissions,
    load_references,
    read_submission,
)
from course_helpers.grading.__main__ import main
from course_helpers.grading.notebook import match_cells, written_answers

REPO = Path(__file__).resolve().parents[1]


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream)}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fake-solutions")
    solution, student = write_fake_course(folder)
    reference = load_references(folder, [FAKE_NAME])[FAKE_NAME]
    return folder, solution, student, reference


def write(folder, name, nb):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = json.dumps(nb, indent=1) if isinstance(nb, dict) else nbformat.writes(nb)
    path.write_text(text, encoding="utf-8")
    return path


def graded_sources(reference, nb):
    return [cell.source for cell in build_graded_notebook(reference, nb).nb.cells]


# --- rebuilding the notebook that is executed (no execution) ----------------------------


def test_protected_cells_come_back_whatever_the_student_did(course):
    _, solution, student, reference = course
    nb = solved(student, solution)
    squares_check = find(nb, cell_id="check-squares")
    total_check = find(nb, cell_id="check-total")
    nb.cells[total_check].source = "pass"  # edited away
    nb.cells[find(nb, cell_id="setup")].source = "SETUP_RAN = False"
    del nb.cells[squares_check]  # deleted
    graded = build_graded_notebook(reference, nb)
    sources = [cell.source for cell in graded.nb.cells]
    for cell_id in ("setup", "check-squares", "check-total"):
        original = solution.cells[find(solution, cell_id=cell_id)].source
        assert sources.count(original) == 1, cell_id
    assert "pass" not in sources and "SETUP_RAN = False" not in sources
    # Each check sits right after its exercise.
    for exercise_id, check_id in (("ex-squares", "check-squares"), ("ex-total", "check-total")):
        exercise_position = [c.get("id") for c in graded.nb.cells].index(exercise_id)
        assert graded.nb.cells[exercise_position + 1].source == (
            solution.cells[find(solution, cell_id=check_id)].source
        )
    assert len(graded.restored) == 3


def test_a_moved_check_goes_back_after_its_exercise_and_added_cells(course):
    _, solution, student, reference = course
    nb = solved(student, solution)
    check = nb.cells.pop(find(nb, cell_id="check-total"))
    nb.cells.insert(find(nb, cell_id="ex-squares"), check)  # moved before both exercises
    insert_after(nb, find(nb, cell_id="ex-total"), "total = total + 0  # a student's extra cell")
    ids = [cell.get("id") for cell in build_graded_notebook(reference, nb).nb.cells]
    assert ids.index("check-total") == ids.index("ex-total") + 2
    assert ids.index("check-total") - 1 == ids.index(next(i for i in ids if "student-added" in i))


def test_colab_copy_without_ids_or_metadata_is_matched_by_content_and_position(course):
    _, solution, student, reference = course
    nb = solved(student, solution)
    nb.cells[find(nb, cell_id="check-total")].source = "pass"
    nb.cells[find(nb, cell_id="q1-answer")].source = "**Answer:** Because n² = n·n."
    raw = colab_saved(nb)
    submitted = nbformat.from_dict(raw)
    matched = match_cells(reference, submitted)
    assert len(matched) == len(solution.cells)  # every cell found again, in order
    assert sorted(matched.values()) == list(range(len(solution.cells)))
    sources = graded_sources(reference, submitted)
    assert solution.cells[find(solution, cell_id="check-total")].source in sources
    assert "pass" not in sources
    assert written_answers(reference, submitted) == {"Q1": "Because n² = n·n."}


def test_untouched_answer_is_empty_and_the_model_answer_never_copied(course):
    _, _, student, reference = course
    assert written_answers(reference, student) == {"Q1": ""}
    graded = build_graded_notebook(reference, student)
    assert all(HIDDEN_ANSWER not in cell.source for cell in graded.nb.cells)
    assert all("BEGIN SOLUTION" not in cell.source for cell in graded.nb.cells)


def test_a_student_copy_of_a_check_is_run_but_never_scored(course):
    _, _, student, reference = course
    nb = copy.deepcopy(student)
    duplicate = copy.deepcopy(nb.cells[find(nb, cell_id="check-squares")])
    duplicate["id"] = "my-copy"
    nb.cells.append(duplicate)
    graded = build_graded_notebook(reference, nb)
    assert len(graded.check_cells) == len(reference.checks) == 2
    copied = next(c for c in graded.nb.cells if c.get("id") == "my-copy")
    assert "check" not in copied.metadata.get("tags", [])


def test_unreadable_files_say_why(tmp_path):
    (tmp_path / "a.ipynb").write_text('{"cells": [', encoding="utf-8")
    (tmp_path / "b.ipynb").write_text('{"hello": 1}', encoding="utf-8")
    (tmp_path / "c.ipynb").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UnreadableNotebook, match="not valid JSON"):
        read_submission(tmp_path / "a.ipynb")
    with pytest.raises(UnreadableNotebook, match="not a Jupyter notebook"):
        read_submission(tmp_path / "b.ipynb")
    with pytest.raises(UnreadableNotebook, match="not UTF-8"):
        read_submission(tmp_path / "c.ipynb")


# --- running a batch of fake submissions ---------------------------------------------------

SECRET = "GRADING_TEST_SECRET_TOKEN"
SLEEPER_SECONDS = "612.25"  # an odd number, to find the student's process again


@pytest.fixture(scope="module")
def fake_batch(course, tmp_path_factory):
    """Grade a folder of fake submissions once; the tests below read its outputs."""
    folder, solution, student, _ = course
    subs = tmp_path_factory.mktemp("fake-submissions")
    out = tmp_path_factory.mktemp("fake-out")
    full = solved(student, solution)
    write(subs, "full.ipynb", full)
    write(subs, "untouched.ipynb", student)
    # Reads the instructor's secret if it can: the exercise is right only if it cannot.
    leaky = solved(student, solution)
    leaky.cells[find(leaky, cell_id="ex-squares")].source = (
        "import os\nsquares = [i * i for i in range(10)]\n"
        f"if {SECRET!r} in os.environ or os.environ.get('HOME') == {str(Path.home())!r}:\n"
        "    squares = None"
    )
    write(subs, "reads_secrets.ipynb", leaky)
    # Allocates more than the 2 GiB limit (this machine could give it): a MemoryError
    # in that cell, nothing else.
    greedy = insert_after(
        solved(student, solution),
        find(full, cell_id="check-squares"),
        "hog = bytearray(3 * 2**30)",
    )
    write(subs, "greedy.ipynb", greedy)
    # exit() in ipykernel only asks the front end to close: the run goes on.
    quitter = insert_after(solved(student, solution), find(full, cell_id="check-squares"), "exit()")
    write(subs, "quitter.ipynb", quitter)
    # Starts a process in a session of its own, which would outlive the kernel.
    lingering = insert_after(
        solved(student, solution),
        find(full, cell_id="check-total"),
        f"import subprocess\nsleeper = subprocess.Popen(['sleep', '{SLEEPER_SECONDS}'], start_new_session=True)\n"
        "open('sleeper.pid', 'w').write(str(sleeper.pid))\n"
        "import shutil\nshutil.copy('sleeper.pid', '../../sleeper.pid')",
    )
    write(subs, "lingering.ipynb", lingering)
    before = {path.name: path.read_bytes() for path in subs.iterdir()}
    scratch_parent = tmp_path_factory.mktemp("scratch-parent")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET, "s3cr3t")
        patch.setattr(tempfile, "tempdir", str(scratch_parent))
        results = grade_submissions(
            subs,
            out,
            solutions_dir=folder,
            names=[FAKE_NAME],
            jobs=2,
            cell_timeout=30,
            memory_gb=2,
            progress=False,
        )
    return subs, out, before, results, scratch_parent


def test_fake_batch_rows(fake_batch):
    _, out, _, results, _ = fake_batch
    rows = read_rows(out / "grades.csv")
    expect = {
        "full.ipynb": ("graded", "2", "1", "3"),
        "untouched.ipynb": ("graded", "0", "0", "0"),
        "reads_secrets.ipynb": ("graded", "2", "1", "3"),
        "greedy.ipynb": ("graded", "2", "1", "3"),
        "quitter.ipynb": ("graded", "2", "1", "3"),
        "lingering.ipynb": ("graded", "2", "1", "3"),
    }
    assert set(rows) == set(expect)
    for name, (status, squares, total_points, total) in expect.items():
        row = rows[name]
        assert (row["status"], row["fake-squares"], row["fake-total"], row["total"]) == (
            status,
            squares,
            total_points,
            total,
        ), (name, row)
        assert row["max_total"] == "3" and row["assignment"] == FAKE_NAME
    assert len(results) == len(expect)


def test_background_processes_are_killed_and_scratch_removed(fake_batch):
    import psutil

    _, _, _, _, scratch_parent = fake_batch
    sleepers = [
        p.info["pid"]
        for p in psutil.process_iter(["pid", "cmdline"])
        if p.info["cmdline"] == ["sleep", SLEEPER_SECONDS]
    ]
    assert sleepers == []
    pid_files = list(scratch_parent.rglob("sleeper.pid"))
    # The student's copy one folder up from its own scratch folder was deleted with it.
    assert pid_files == []
    assert list(scratch_parent.iterdir()) == []


def test_handed_in_files_are_not_modified(fake_batch):
    subs, _, before, _, _ = fake_batch
    assert {path.name: path.read_bytes() for path in subs.iterdir()} == before


def test_feedback_gives_hints_not_answers(fake_batch):
    _, out, _, _, _ = fake_batch
    untouched = (out / "feedback" / "untouched.md").read_text(encoding="utf-8")
    assert "0 / 3" in untouched
    assert "NotImplementedError" in untouched  # the hint says the exercise is not done
    for path in (out / "feedback").iterdir():
        text = path.read_text(encoding="utf-8")
        assert HIDDEN_ANSWER not in text and "range(10)]" not in text
    answers = read_rows(out / "answers.csv")
    assert answers["untouched.ipynb"]["Q1"] == ""
    assert HIDDEN_ANSWER not in (out / "answers.csv").read_text(encoding="utf-8")


def test_rerun_skips_unchanged_keeps_rows_and_force_regrades(course, tmp_path):
    folder, solution, student, _ = course
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs, "a.ipynb", solved(student, solution))
    write(subs, "b.ipynb", student)
    options = dict(solutions_dir=folder, names=[FAKE_NAME], progress=False, jobs=2)
    first = grade_submissions(subs, out, **options)
    assert sorted(r.submission for r in first) == ["a.ipynb", "b.ipynb"]
    assert grade_submissions(subs, out, **options) == []
    # b is improved, a is withdrawn: b is regraded, a's row stays.
    write(subs, "b.ipynb", solved(student, solution))
    (subs / "a.ipynb").unlink()
    again = grade_submissions(subs, out, **options)
    assert [r.submission for r in again] == ["b.ipynb"]
    rows = read_rows(out / "grades.csv")
    assert rows["a.ipynb"]["total"] == "3" and rows["b.ipynb"]["total"] == "3"
    forced = grade_submissions(subs, out, force=True, **options)
    assert [r.submission for r in forced] == ["b.ipynb"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# --- assignment choice and the command line (nothing is executed) -------------------------


def test_wrong_assignment_and_unreadable_from_the_command_line(tmp_path, capsys):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    blobs = nbformat.read(REPO / "notebooks" / "03_blobs_kmeans.ipynb", as_version=4)
    write(subs, "Doe_Jane_03_blobs_kmeans.ipynb", blobs)
    no_metadata = copy.deepcopy(blobs)
    no_metadata.metadata.pop("course")
    write(subs, "no_metadata.ipynb", no_metadata)
    (subs / "broken.ipynb").write_text("{not json", encoding="utf-8")
    code = main([str(subs), "--out", str(out), "--assignment", "04_digits_kmeans", "--no-progress"])
    assert code == 0
    rows = read_rows(out / "grades.csv")
    assert rows["Doe_Jane_03_blobs_kmeans.ipynb"]["status"] == "wrong_assignment"
    assert "03_blobs_kmeans" in rows["Doe_Jane_03_blobs_kmeans.ipynb"]["detail"]
    # Without metadata it is recognised by its cells.
    assert rows["no_metadata.ipynb"]["status"] == "wrong_assignment"
    assert rows["broken.ipynb"]["status"] == "unreadable"
    assert rows["broken.ipynb"]["total"] == ""  # not a zero: the status says why
    assert "3 submission(s)" in capsys.readouterr().out


def test_command_line_rejects_bad_options(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert main([str(tmp_path / "subs"), "--out", str(tmp_path), "--assignment", "nope"]) == 2
    assert "'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "subs"), "--out", str(tmp_path), "-j", "0"])
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2


def test_the_environment_of_a_run_is_an_allow_list(tmp_path):
    from course_helpers.grading.sandbox import child_environment

    os.environ[SECRET] = "x"
    try:
        env = child_environment(tmp_path)
    finally:
        del os.environ[SECRET]
    assert SECRET not in env
    assert env["HOME"].startswith(str(tmp_path)) and env["OMP_NUM_THREADS"] == "1"


def test_a_run_past_its_wall_clock_limit_is_killed_whole(tmp_path):
    import time

    import psutil

    from course_helpers.grading.sandbox import execute_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import subprocess\nsubprocess.Popen(['sleep', '613.5'])"),
        nbformat.v4.new_code_cell("import time\ntime.sleep(120)"),
    ]
    start = time.perf_counter()
    result = execute_notebook(
        nb, tmp_path / "run", cell_timeout=300, total_timeout=8, memory_bytes=None
    )
    assert result.killed and result.timed_out
    assert time.perf_counter() - start < 60
    leftovers = [
        p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "613.5"]
    ]
    assert leftovers == []
