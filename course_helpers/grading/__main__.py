"""``python -m course_helpers.grading SUBMISSIONS_DIR --out OUT_DIR``: see the package docstring."""

import argparse
import sys
from collections import Counter

from .batch import DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY_GB, grade_submissions
from .record import OutputLocked
from .sandbox import ISOLATIONS, SandboxUnavailable


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_helpers.grading",
        description="Grade a folder of handed-in notebooks into OUT_DIR/grades.csv, "
        "OUT_DIR/answers.csv and OUT_DIR/feedback/.",
    )
    parser.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="folder of .ipynb files")
    parser.add_argument("--out", required=True, metavar="OUT_DIR", help="where the gradebook goes")
    parser.add_argument(
        "--assignment", metavar="NAME", help="grade every notebook as this assignment"
    )
    parser.add_argument(
        "-j", "--jobs", type=_positive_int, default=1, metavar="N", help="notebooks at a time"
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="SECONDS",
        help=f"how long one cell may run (default {DEFAULT_CELL_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory-gb",
        type=_positive_float,
        default=DEFAULT_MEMORY_GB,
        help=f"address-space limit per process (default {DEFAULT_MEMORY_GB:g})",
    )
    parser.add_argument(
        "--isolation",
        choices=ISOLATIONS,
        default="auto",
        help="bwrap: a bubblewrap sandbox per run (Linux); process: limits only; "
        "auto (default): bwrap when it works here, else process with a warning",
    )
    parser.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    parser.add_argument(
        "--solutions", metavar="DIR", help="the solution notebooks (default: the course's)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        results = grade_submissions(
            args.submissions,
            args.out,
            solutions_dir=args.solutions,
            assignment=args.assignment,
            jobs=args.jobs,
            cell_timeout=args.timeout,
            memory_gb=args.memory_gb,
            force=args.force,
            progress=not args.no_progress,
            isolation=args.isolation,
        )
    except (FileNotFoundError, ValueError, OutputLocked, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = Counter(result.status for result in results)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing new"
    print(f"graded {len(results)} submission(s): {summary}; see {args.out}/grades.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
