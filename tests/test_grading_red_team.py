"""The red team: hostile submissions graded in a real batch, and what they achieved.

The attacks are in red_team.py, one or more per category: forging success in the
kernel, reading what a run must not see, persisting into the package or later
runs, forging result files, killing the grader, reaching the network and
exhausting resources. They are graded in one batch with the fixtures and honest
copies (tests/digits_batch.py), then a second batch of victims is graded.

Asserted: no attack scores more than the same notebook without the attack
(0: each leaves its exercises blank, or solves them only if it reached what it
must not); the honest copies and the victims keep their right grades; nothing
outside the runs changed, now or a few seconds after the grader finished.
"""

import time

import psutil
import pytest
import red_team

from course_helpers.grading.sandbox import bwrap_problem


@pytest.fixture(scope="module")
def batch(digits_batch):
    if bwrap_problem() is not None:
        pytest.skip(f"the red team needs the bubblewrap sandbox: {bwrap_problem()}")
    return digits_batch


@pytest.mark.parametrize("attack", red_team.ATTACKS, ids=lambda a: a.name)
def test_no_attack_earns_a_point(batch, attack):
    row = batch["rows"][f"attack_{attack.name}.ipynb"]
    assert row["isolation"] == "bwrap"
    assert row["status"] in ("graded", "timeout", "kernel_died"), row
    assert float(row["total"]) == 0, (attack.name, row)


def test_the_categories_of_the_issue_are_all_attacked():
    categories = {attack.category for attack in red_team.ATTACKS}
    assert len(categories) == 7, categories


def test_honest_copies_graded_among_the_attacks_keep_their_marks(batch):
    rows, full = batch["rows"], batch["full"]
    assert float(rows["zz_honest_solved.ipynb"]["total"]) == full
    half = rows["zz_honest_half.ipynb"]
    assert (half["status"], float(half["total"])) == ("graded", full / 2), half


def test_victims_graded_after_the_attacks_keep_their_grades(batch):
    victims = batch["victim_rows"]
    assert {name: row["status"] for name, row in victims.items()} == {
        "victim_blank.ipynb": "graded",
        "victim_wrong.ipynb": "graded",
    }
    assert float(victims["victim_blank.ipynb"]["total"]) == 0
    assert float(victims["victim_wrong.ipynb"]["total"]) == batch["full"] / 2  # one right


def test_nothing_outside_the_runs_changed_even_later(batch):
    time.sleep(5)  # a detached forger waits 3 s before it strikes
    assert red_team.snapshot() == batch["world_before"]
    assert (batch["out"] / "grades.csv").read_bytes() == batch["gradebook"]
    assert {p.name: p.read_bytes() for p in batch["subs"].iterdir()} == batch["before"]
    assert not (batch["out"] / ".scratch").exists()


def test_no_process_of_any_run_is_left(batch):
    root = str(batch["root"])
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"]
        and (p.info["cmdline"][:2] == ["sleep", "714.5"] or root in " ".join(p.info["cmdline"]))
    ]
    assert leftovers == []
