"""The grader on a tiny fake course: each step, statuses, reruns, the sandbox, the CLI.

The fixture submissions on a real notebook are in test_grading_fixtures.py and the
attacks in test_grading_red_team.py; here the fake assignment (fake_course.py)
keeps each run to a second or two.
"""

import copy
import csv
import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest

from course_helpers.grading import (
    UnreadableNotebook,
    grade_submissions,
    load_assignments,
    read_submission,
    rebuild,
)
from course_helpers.grading.__main__ import main
from course_helpers.grading.identify import choose_assignment
from course_helpers.grading.read import find_submissions
from course_helpers.grading.rebuild import match_cells, written_answers
from tests.support.fake_course import (
    FAKE_NAME,
    HIDDEN_ANSWER,
    answer,
    colab_saved,
    find,
    insert_after,
    solved,
    write_fake_course,
)

REPO = Path(__file__).resolve().parents[1]
SECRET = "GRADING_TEST_SECRET_TOKEN"
SLEEPER_SECONDS = "612.25"  # an odd number, to find the student's process again


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream)}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fake-solutions")
    solution, student = write_fake_course(folder)
    assignment = load_assignments(folder, [FAKE_NAME])[FAKE_NAME]
    return folder, solution, student, assignment


def write(folder, name, nb):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = json.dumps(nb, indent=1) if isinstance(nb, dict) else nbformat.writes(nb)
    path.write_text(text, encoding="utf-8")
    return path


def executed_sources(assignment, nb):
    return [cell.source for cell in rebuild(assignment, nb).nb.cells]


# --- step 3: rebuilding the notebook that is executed (nothing runs) ----------------------


def test_every_course_cell_comes_back_whatever_the_student_did(course):
    _, solution, student, assignment = course
    nb = solved(student, solution)
    nb.cells[find(nb, cell_id="check-distances")].source = "print('✓ all good')"
    nb.cells[find(nb, cell_id="data")].source = "kmeans = None  # the student's own data"
    del nb.cells[find(nb, cell_id="labels")]
    del nb.cells[find(nb, cell_id="setup")]
    rebuilt = rebuild(assignment, nb)
    sources = [cell.source for cell in rebuilt.nb.cells]
    for cell_id in ("setup", "data", "check-distances", "labels", "check-counts"):
        assert solution.cells[find(solution, cell_id=cell_id)].source in sources, cell_id
    assert "print('✓ all good')" not in sources and "kmeans = None" not in "".join(sources)
    assert any("edited" in line for line in rebuilt.restored)
    assert any("missing" in line for line in rebuilt.restored)
    kinds = [cell.kind for cell in rebuilt.code_cells]
    assert kinds.count("check") == 2 and kinds.count("exercise") == 2
    # The course's order: labels (restored) come before the second exercise.
    labels_at = sources.index(solution.cells[find(solution, cell_id="labels")].source)
    assert labels_at < rebuilt.exercise_cell("digits-fp-fn") + 6


def test_the_solutions_exercise_code_is_never_copied(course):
    _, _, student, assignment = course
    sources = "\n".join(executed_sources(assignment, student))
    assert "kmeans.transform(normal_data)" not in sources.split("check.normal_distances")[0]
    assert "NotImplementedError" in sources


def test_a_moved_check_goes_back_after_its_exercise_and_added_cells(course):
    _, solution, student, assignment = course
    nb = solved(student, solution)
    check = nb.cells.pop(find(nb, cell_id="check-counts"))
    nb.cells.insert(find(nb, cell_id="setup") + 1, check)  # moved to the top
    nb = insert_after(nb, find(nb, cell_id="ex-counts"), "extra = 1")
    sources = executed_sources(assignment, nb)
    check_source = solution.cells[find(solution, cell_id="check-counts")].source
    assert sources.index(check_source) == sources.index("extra = 1") + 1


def test_colab_copy_without_ids_or_metadata_is_matched_by_content_and_position(course):
    _, solution, student, assignment = course
    raw = colab_saved(solved(student, solution))
    nb = nbformat.from_dict(raw)
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    matched = match_cells(assignment, nb)
    assert len(matched) == len(solution.cells)
    rebuilt = rebuild(assignment, nb)
    assert [c.kind for c in rebuilt.code_cells].count("check") == 2
    assert all(not cell.get("outputs") for cell in rebuilt.nb.cells if cell.cell_type == "code")


def test_untouched_answer_is_empty_and_the_model_answer_never_copied(course):
    _, _, student, assignment = course
    assert written_answers(assignment, student) == {"Q1": ""}
    nb = copy.deepcopy(student)
    nb.cells[find(nb, cell_id="q1-answer")].source = "**Answer:** because of noise"
    assert written_answers(assignment, nb) == {"Q1": "because of noise"}
    assert HIDDEN_ANSWER not in json.dumps(rebuild(assignment, student).nb)


def test_a_student_copy_of_a_check_is_run_but_never_scored(course):
    _, solution, student, assignment = course
    nb = solved(student, solution)
    copied = copy.deepcopy(nb.cells[find(nb, cell_id="check-counts")])
    copied["id"] = "my-own-check"
    nb.cells.insert(find(nb, cell_id="ex-distances") + 1, copied)
    rebuilt = rebuild(assignment, nb)
    assert [c.kind for c in rebuilt.code_cells].count("check") == 2
    assert "added" in [c.kind for c in rebuilt.code_cells]


# --- steps 1 and 2: reading and identifying (nothing runs) --------------------------------


def test_unreadable_files_say_why(tmp_path):
    cases = {
        "not_json.ipynb": ("{nope", "not valid JSON"),
        "list.ipynb": ("[1, 2]", "not a Jupyter notebook"),
        "old.ipynb": ('{"nbformat": 2, "cells": []}', "nbformat 2"),
        "latin1.ipynb": (b"\xff\xfe{}", "not UTF-8"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        with pytest.raises(UnreadableNotebook, match=reason):
            read_submission(path)


def test_finding_submissions_any_case_no_hidden_links_refused(tmp_path, course):
    _, _, student, _ = course
    subs, outside = tmp_path / "subs", tmp_path / "elsewhere"
    write(subs, "UPPER.IPYNB", student)
    write(subs / "group1", "a.ipynb", student)
    write(subs / ".ipynb_checkpoints", "a-checkpoint.ipynb", student)
    write(outside, "secret.ipynb", student)
    (subs / "link_out.ipynb").symlink_to(outside / "secret.ipynb")
    (subs / "link_in.ipynb").symlink_to(subs / "UPPER.IPYNB")
    found = {item.name: item.refused for item in find_submissions(subs)}
    assert set(found) == {"UPPER.IPYNB", "group1/a.ipynb", "link_out.ipynb", "link_in.ipynb"}
    assert "outside" in found["link_out.ipynb"]
    assert found["UPPER.IPYNB"] == found["link_in.ipynb"] == ""


def test_content_wins_over_metadata():
    assignments = load_assignments(REPO / "solutions", ["03_blobs_kmeans", "04_digits_kmeans"])
    blobs = nbformat.read(REPO / "notebooks" / "03_blobs_kmeans.ipynb", as_version=4)
    blobs.metadata["course"]["assignment"] = "04_digits_kmeans"  # saved over the wrong file
    assert choose_assignment(blobs, assignments) == ("03_blobs_kmeans", None)
    name, reason = choose_assignment(blobs, assignments, forced="04_digits_kmeans")
    assert name is None and "03_blobs_kmeans" in reason


# --- the whole batch on the fake course ---------------------------------------------------


def fake_submissions(subs, solution, student):
    full = solved(student, solution)
    write(subs, "full.ipynb", full)
    write(subs, "untouched.ipynb", student)
    write(subs, "half.ipynb", answer(copy.deepcopy(student), solution, "digits-normal-distances"))
    # Reads the instructor's secret if it can: the exercise is right only if it cannot.
    # (Even process isolation passes no variable outside its allow-list; what bwrap hides
    # besides is tested in test_grading_red_team.py.)
    leaky = solved(student, solution)
    leaky.cells[
        find(leaky, cell_id="ex-counts")
    ].source += f"\nimport os\nif {SECRET!r} in os.environ:\n    false_pos = 99"
    write(subs, "reads_secrets.ipynb", leaky)
    # Allocates more than the 2 GiB limit: a MemoryError in that cell, nothing else.
    after = find(full, cell_id="check-distances")
    write(
        subs,
        "greedy.ipynb",
        insert_after(solved(student, solution), after, "hog = bytearray(3 * 2**30)"),
    )
    # exit() in ipykernel only asks the front end to close: the run goes on.
    write(subs, "quitter.ipynb", insert_after(solved(student, solution), after, "exit()"))
    # Starts a process in a session of its own, with an empty environment.
    write(
        subs,
        "lingering.ipynb",
        insert_after(
            solved(student, solution),
            find(full, cell_id="check-counts"),
            "import subprocess\n"
            f"subprocess.Popen(['sleep', '{SLEEPER_SECONDS}'], start_new_session=True, env={{}})",
        ),
    )
    # The same person twice, spelled two ways: two rows, two feedback files.
    write(subs, "Curie Marie.ipynb", full)
    write(subs, "Curie_Marie.ipynb", student)


EXPECTED = {  # submission: (status, distances points, counts points)
    "full.ipynb": ("graded", "2", "1"),
    "untouched.ipynb": ("graded", "0", "0"),
    "half.ipynb": ("graded", "2", "0"),
    "reads_secrets.ipynb": ("graded", "2", "1"),
    "greedy.ipynb": ("graded", "2", "1"),
    "quitter.ipynb": ("graded", "2", "1"),
    "lingering.ipynb": ("graded", "2", "1"),
    "Curie Marie.ipynb": ("graded", "2", "1"),
    "Curie_Marie.ipynb": ("graded", "0", "0"),
}


@pytest.fixture(scope="module", params=["auto", "process"])
def fake_batch(request, course, tmp_path_factory):
    """Grade the fake submissions once per isolation level; the tests read the outputs."""
    folder, solution, student, _ = course
    root = tmp_path_factory.mktemp(f"fake-{request.param}")
    subs, out = root / "subs", root / "out"
    fake_submissions(subs, solution, student)
    before = {path.name: path.read_bytes() for path in subs.iterdir()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET, "s3cr3t")
        results = grade_submissions(
            subs,
            out,
            solutions_dir=folder,
            names=[FAKE_NAME],
            jobs=2,
            cell_timeout=30,
            memory_gb=2,
            progress=False,
            isolation=request.param,
        )
    return subs, out, before, results, request.param


def test_fake_batch_rows(fake_batch):
    _, out, _, results, isolation = fake_batch
    rows = read_rows(out / "grades.csv")
    assert set(rows) == set(EXPECTED)
    for name, (status, distances, counts) in EXPECTED.items():
        row = rows[name]
        got = (row["status"], row["digits-normal-distances"], row["digits-fp-fn"])
        assert got == (status, distances, counts), (name, row)
        assert row["max_total"] == "3" and row["assignment"] == FAKE_NAME
        assert row["isolation"] in (("bwrap", "process") if isolation == "auto" else ("process",))
    assert len(results) == len(EXPECTED)


def test_background_processes_are_killed_and_scratch_removed(fake_batch):
    import psutil

    _, out, _, _, _ = fake_batch
    sleepers = [
        p.info["pid"]
        for p in psutil.process_iter(["pid", "cmdline"])
        if p.info["cmdline"] == ["sleep", SLEEPER_SECONDS]
    ]
    assert sleepers == []
    assert not (out / ".scratch").exists()


def test_handed_in_files_are_not_modified(fake_batch):
    subs, _, before, _, _ = fake_batch
    assert {path.name: path.read_bytes() for path in subs.iterdir()} == before


def test_feedback_gives_hints_not_answers(fake_batch):
    _, out, _, _, _ = fake_batch
    feedback = {
        path.name: path.read_text(encoding="utf-8") for path in (out / "feedback").iterdir()
    }
    assert len(feedback) == len(EXPECTED)  # Curie Marie and Curie_Marie apart
    untouched = feedback["untouched.md"]
    assert "0 / 3" in untouched and "NotImplementedError" in untouched
    assert "counts normal digits too" not in untouched
    for text in feedback.values():
        assert HIDDEN_ANSWER not in text and "kmeans.transform(normal_data)" not in text
    answers = read_rows(out / "answers.csv")
    assert answers["untouched.ipynb"]["Q1"] == ""
    assert HIDDEN_ANSWER not in (out / "answers.csv").read_text(encoding="utf-8")


def test_a_deep_output_folder_still_grades(course, tmp_path, monkeypatch):
    # A Unix socket's path holds about 100 bytes: the kernel's sockets under a deep output
    # folder could not be made, and every run, the reference too, failed to start.
    folder, solution, student, _ = course
    subs, out = tmp_path / "subs", tmp_path / ("a-long-folder-name-" * 4) / "grades"
    write(subs, "a.ipynb", solved(student, solution))
    short_temp = Path(tempfile.mkdtemp(prefix="t"))  # where the sockets go instead
    monkeypatch.setattr(tempfile, "tempdir", str(short_temp))
    rows = grade_submissions(subs, out, solutions_dir=folder, names=[FAKE_NAME], progress=False)
    assert len(str(out / ".scratch" / "00001-reference" / "ipc" / "kernel-1")) > 107
    assert [(r.status, r.total) for r in rows] == [("graded", 3)]
    assert list(short_temp.iterdir()) == []  # each run removed its socket folder
    short_temp.rmdir()


def test_rerun_skips_graded_retries_the_rest_and_force_regrades(course, tmp_path):
    folder, solution, student, _ = course
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs, "a.ipynb", solved(student, solution))
    write(subs, "b.ipynb", student)
    (subs / "c.ipynb").write_text("{broken", encoding="utf-8")
    options = dict(solutions_dir=folder, names=[FAKE_NAME], progress=False, jobs=2)
    first = grade_submissions(subs, out, **options)
    assert sorted(r.submission for r in first) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    # Graded rows are kept; an unreadable one is tried again.
    assert [r.submission for r in grade_submissions(subs, out, **options)] == ["c.ipynb"]
    # b is improved, a is withdrawn: b is regraded, a's row stays.
    write(subs, "b.ipynb", solved(student, solution))
    (subs / "a.ipynb").unlink()
    again = grade_submissions(subs, out, **options)
    assert [r.submission for r in again] == ["b.ipynb", "c.ipynb"]
    rows = read_rows(out / "grades.csv")
    assert rows["a.ipynb"]["total"] == "3" and rows["b.ipynb"]["total"] == "3"
    assert rows["c.ipynb"]["status"] == "unreadable" and rows["c.ipynb"]["total"] == ""
    forced = grade_submissions(subs, out, force=True, **options)
    assert [r.submission for r in forced] == ["b.ipynb", "c.ipynb"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_grader_fault_is_an_error_and_is_retried(course, tmp_path, monkeypatch):
    from course_helpers.grading import batch

    folder, solution, student, _ = course
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs, "a.ipynb", solved(student, solution))
    options = dict(solutions_dir=folder, names=[FAKE_NAME], progress=False)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    started = []
    start = batch.SandboxRun.__init__

    def recorded(run, *args, **kwargs):
        started.append(run)
        start(run, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(batch.SandboxRun, "execute", disk_full)
        patch.setattr(batch.SandboxRun, "__init__", recorded)
        grade_submissions(subs, out, **options)
    # Every run started was stopped, not left waiting for a notebook that never came.
    assert started and all(run.process.poll() is not None for run in started)
    row = read_rows(out / "grades.csv")["a.ipynb"]
    assert row["status"] == "error" and "No space left" in row["detail"]
    assert row["total"] == ""
    assert [r.status for r in grade_submissions(subs, out, **options)] == ["graded"]


def test_a_second_run_into_the_same_output_is_refused(course, tmp_path):
    from course_helpers.grading.record import OutputLocked, lock_output

    folder, _, student, _ = course
    write(tmp_path / "subs", "a.ipynb", student)
    held = lock_output(tmp_path / "out")
    try:
        with pytest.raises(OutputLocked, match="another grading run"):
            grade_submissions(
                tmp_path / "subs",
                tmp_path / "out",
                solutions_dir=folder,
                names=[FAKE_NAME],
                progress=False,
            )
    finally:
        held.close()


def test_csv_defuses_formulas_and_feedback_names_never_collide():
    from course_helpers.grading.record import csv_text, feedback_name

    names = ["Curie Marie.ipynb", "Curie_Marie.ipynb", "a/b.ipynb", "a%2Fb.ipynb", ".hidden.ipynb"]
    assert len({feedback_name(n) for n in names}) == len(names)
    assert all("/" not in feedback_name(n) and not feedback_name(n).startswith(".") for n in names)
    text = csv_text([{"submission": "=cmd|' /C calc'!A0", "Q1": "+1"}], ["submission", "Q1"])
    assert "\n'=cmd" in text and ",'+1" in text


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
    with pytest.raises(SystemExit):
        main([str(tmp_path / "subs"), "--out", str(tmp_path), "--isolation", "docker"])
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2


def test_bwrap_asked_for_but_missing_is_a_clear_error_auto_falls_back(monkeypatch, capsys):
    from course_helpers.grading import sandbox

    monkeypatch.setattr(sandbox, "bwrap_problem", lambda: "bwrap is not installed")
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        sandbox.choose_isolation("bwrap")
    isolation, warning = sandbox.choose_isolation("auto")
    assert isolation == "process" and "process isolation only" in warning
    with pytest.raises(ValueError, match="docker"):
        sandbox.choose_isolation("docker")


def test_the_kernel_environment_is_an_allow_list(tmp_path):
    from course_helpers.grading.sandbox import kernel_environment

    os.environ[SECRET] = "x"
    try:
        env = kernel_environment(home=tmp_path, tmp=tmp_path, mode="answer", mpl_config=tmp_path)
    finally:
        del os.environ[SECRET]
    assert SECRET not in env and "PYTHONPATH" not in env
    assert env["OMP_NUM_THREADS"] == "1" and env["COURSE_GRADING_MODE"] == "answer"


@pytest.mark.parametrize("isolation", ["auto", "process"])
def test_a_run_past_its_wall_clock_limit_is_killed_whole(tmp_path, isolation):
    import time

    import psutil

    from course_helpers.grading.sandbox import Limits, choose_isolation, run_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import subprocess\nsubprocess.Popen(['sleep', '613.5'])"),
        nbformat.v4.new_code_cell("import time\ntime.sleep(120)"),
    ]
    start = time.perf_counter()
    result = run_notebook(
        nb,
        tmp_path / "run",
        isolation=choose_isolation(isolation)[0],
        limits=Limits(cell_timeout=300, total_timeout=8),
    )
    assert result.killed and result.timed_out
    assert time.perf_counter() - start < 60
    leftovers = [
        p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "613.5"]
    ]
    assert leftovers == []
