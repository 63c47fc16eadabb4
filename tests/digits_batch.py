"""One batch of real submissions of notebook 04, graded once for several test files.

It holds the realistic fixtures (test_grading_fixtures.py), the attacks of
red_team.py with honest copies graded beside them (test_grading_red_team.py),
and the solution and student copy of 03. Everything is generated from the
current solution and student copy, so it never goes stale.
"""

import copy
import csv
import json
from pathlib import Path

import nbformat
import red_team

from course_helpers.grading import grade_submissions
from course_helpers.grading.sandbox import bwrap_problem
from tests.support.fake_course import answer, colab_saved, exercises_of, find, insert_after, solved

REPO = Path(__file__).resolve().parents[1]
NAME = "04_digits_kmeans"
FIRST, LAST = "digits-normal-distances", "digits-fp-fn"
CELL_TIMEOUT = 20
#: Other notebooks graded in the same batch: the solution must get full marks and the
#: student copy zero. The Spark notebooks (a JVM each) and 05_digits_tsne (t-SNE cells longer
#: than CELL_TIMEOUT) work the same way but would make this batch minutes longer; nbval
#: executes their solutions elsewhere in the suite, and test_checks.py tests their checks.
OTHER_NOTEBOOKS = ("03_blobs_kmeans", "06_which_detector")

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


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream)}


def grade_digits_batch(root):
    """Write and grade the batch under ``root``; return what the tests read."""
    import os
    import socket

    subs, out = root / "subs", root / "out"
    subs.mkdir()
    solution = make_submissions(subs)
    # A server on the grader's loopback: a spy that can connect has reached the network.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    # Only into a real sandbox: without one, some attacks work (that is what they test),
    # and one of them kills the grader's parents, the test run and its shell with it.
    attacks = {}
    if bwrap_problem() is None:
        attacks = red_team.write_attacks(subs, port=server.getsockname()[1])
    # Honest copies graded after the attacks (names sort last): they keep their marks.
    student = nbformat.read(REPO / "notebooks" / f"{NAME}.ipynb", as_version=4)
    _write(subs, "zz_honest_solved.ipynb", solved(student, solution))
    _write(subs, "zz_honest_half.ipynb", answer(copy.deepcopy(student), solution, FIRST))
    before = {path.name: path.read_bytes() for path in subs.iterdir()}
    world_before = red_team.snapshot()
    os.environ[red_team.SECRET_ENV] = red_team.SECRET_VALUE
    try:
        grade_submissions(subs, out, jobs=2, cell_timeout=CELL_TIMEOUT, progress=False)
        rows = read_rows(out / "grades.csv")
        gradebook = (out / "grades.csv").read_bytes()
        # Victims, graded in a second batch after the attacks: wrong answers stay wrong.
        victims, victims_out = root / "victims", root / "victims-out"
        victims.mkdir()
        _write(victims, "victim_blank.ipynb", student)
        _write(
            victims,
            "victim_wrong.ipynb",
            answer(answer(copy.deepcopy(student), solution, FIRST), solution, LAST, SWAPPED),
        )
        grade_submissions(victims, victims_out, jobs=2, cell_timeout=CELL_TIMEOUT, progress=False)
        victim_rows = read_rows(victims_out / "grades.csv")
    finally:
        del os.environ[red_team.SECRET_ENV]
        server.close()
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
        "before": before,
        "rows": rows,
        "gradebook": gradebook,
        "victim_rows": victim_rows,
        "attacks": attacks,
        "world_before": world_before,
        "points": points,
        "full": sum(points.values()),
        "solution": solution,
    }
