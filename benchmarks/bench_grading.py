"""Grading throughput: the same batch graded with -j 1 and with -j 2, and where one submission's time goes.

Usage::

    python -m benchmarks.bench_grading                 # 40 copies of 04_digits_kmeans
    python -m benchmarks.bench_grading --copies 6      # a quick run
    python -m benchmarks.bench_grading --assignment 03_blobs_kmeans

(from the course folder, so that ``tests.support`` is importable).

Every copy is the student notebook with each exercise answered as in the
solution (so every check runs), given a different file name. The batch is
graded twice into fresh output folders, with ``jobs=1`` and ``jobs=2``; the
ratio of wall times is the figure (target: at most 0.6 on 2 cores). Each
kernel is pinned to one BLAS/OpenMP thread by the grader, whatever ``-j``,
which is what keeps two parallel kernels from oversubscribing two cores.

The CPU seconds per submission (the grading processes' user + system time)
show whether running two at once makes each one more expensive, which is what
oversubscribed threads do; unlike wall time, they hardly depend on what else
the machine is running.

Before each timed batch, one copy is graded into the same output folder: it
runs the grader's reference run of the solution (once per batch, cached), so
that the timed batch measures what each submission costs. The breakdown comes
from the ``-j 1`` run: *execution* (the cells, as timed around each nbval test)
and *overhead*, the rest of the wall time per submission: reading, rebuilding,
starting Python, pytest, the sandbox and the kernel (started ahead, while the
previous submission executes, so mostly hidden), judging and writing the
gradebook. The target is an overhead of at most 0.5 s.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_helpers.grading import grade_submissions
from tests.support.fake_course import solved

ROOT = Path(__file__).resolve().parents[1]


def solved_copy(name):
    """The student notebook with every exercise filled in from the solution."""
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return solved(student, solution)


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def grade(subs, warmup, out, jobs, timeout, isolation):
    """Grade the folder; return (wall seconds, CPU seconds of the graders' processes, results)."""
    options = dict(jobs=jobs, cell_timeout=timeout, progress=False, isolation=isolation)
    grade_submissions(warmup, out, **options)  # the reference run, outside the timing
    cpu, start = _children_cpu(), time.perf_counter()
    results = grade_submissions(subs, out, **options)
    return time.perf_counter() - start, _children_cpu() - cpu, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--assignment", default="04_digits_kmeans")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--isolation", default="auto", choices=("auto", "bwrap", "process"))
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error(f"--copies must be at least 1, got {args.copies}")

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as folder:
        folder = Path(folder)
        subs, warmup = folder / "subs", folder / "warmup"
        subs.mkdir()
        warmup.mkdir()
        nb = solved_copy(args.assignment)
        for index in range(args.copies):
            nbformat.write(nb, subs / f"Student{index:03d}_Name_{args.assignment}.ipynb")
        nbformat.write(nb, warmup / "warmup.ipynb")

        load_before = os.getloadavg()[0]
        timing = (args.timeout, args.isolation)
        serial, serial_cpu, serial_results = grade(subs, warmup, folder / "out-j1", 1, *timing)
        parallel, parallel_cpu, parallel_results = grade(
            subs, warmup, folder / "out-j2", 2, *timing
        )
        load_after = os.getloadavg()[0]

    def totals(results):
        return sorted((r.submission, r.status, r.total) for r in results)

    statuses = {r.status for r in serial_results + parallel_results}
    full = {r.total == r.max_total for r in serial_results + parallel_results}
    same = totals(serial_results) == totals(parallel_results)
    isolation = serial_results[0].isolation if serial_results else "?"
    print(
        f"assignment {args.assignment}, {args.copies} copies, {os.cpu_count()} cores, "
        f"isolation {isolation}, load average {load_before:.1f} before, {load_after:.1f} after"
    )
    for label, wall, cpu in (("-j 1", serial, serial_cpu), ("-j 2", parallel, parallel_cpu)):
        print(
            f"  {label}: {wall:7.1f} s  ({wall / args.copies:.2f} s wall and "
            f"{cpu / args.copies:.2f} s CPU per submission)"
        )
    print(f"  ratio -j 2 / -j 1: {parallel / serial:.2f}  (target <= 0.6)")
    print(
        f"  statuses {sorted(statuses)}; all full marks: {full == {True}}; "
        f"same rows with -j 1 and -j 2: {same}"
    )

    def mean(values):
        return statistics.fmean(values) if values else float("nan")

    kernel = mean([r.kernel_start for r in serial_results])
    execution = mean([r.execution for r in serial_results])
    per_submission = serial / args.copies
    print("one submission (-j 1, mean):")
    print(f"  wall         {per_submission:5.2f} s")
    print(f"  execution    {execution:5.2f} s  (all cells, including the notebook's imports)")
    print(
        f"  overhead     {per_submission - execution:5.2f} s  (target <= 0.5: everything but the "
        "cells; the kernel start below is overlapped with the previous submission)"
    )
    print(f"  kernel start {kernel:5.2f} s  (in the runner started ahead)")
    return 0 if statuses == {"graded"} and full == {True} and same else 1


if __name__ == "__main__":
    sys.exit(main())
