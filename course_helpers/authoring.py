"""Build the student notebooks in ``notebooks/`` from the solutions in ``solutions/``.

Usage::

    python -m course_helpers.authoring            # rebuild notebooks/
    python -m course_helpers.authoring --check    # exit 1 if notebooks/ is stale
    python -m course_helpers.authoring --execute 04_digits_kmeans   # run a solution, rebuild

``solutions/`` is the source: complete, executed, outputs kept (nbval's
reference). The student copy of each notebook is derived from it:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
  markers) becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()``;
* markdown cells tagged ``answer`` become an empty ``**Answer:**``;
* every output and execution count is cleared;
* cell ids, tags and the grading metadata are kept, so the grader can find
  each cell again in a handed-in copy.

Two cells are written from templates in both copies, so that the course's
address lives in one place (:mod:`course_helpers._course`): the Colab badge
(tag ``colab-badge``) and the setup cell (tag ``setup``).
"""

import argparse
import copy
import sys
from pathlib import Path

from .setup import require_extra

require_extra("grading", modules=("nbformat", "nbclient"), tool="the authoring build")

import nbformat

from ._course import (
    COLAB_COPY_NAME,
    NOTEBOOKS,
    colab_url,
    pip_install_spec,
    reproducible_environment,
)

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUDENT_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
EMPTY_ANSWER = "**Answer:**"

BADGE_TAG = "colab-badge"
SETUP_TAG = "setup"

BADGE_TEMPLATE = """\
[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})

**On Colab:** the course's copy is read-only, so first use *File > Save a copy in Drive* \
and name your copy `{copy_name}`; then work in that copy, or your changes are lost. \
**In JupyterLab:** run the cells from the top."""

SETUP_TEMPLATE = """\
# Setup: the same cell opens every notebook. On Colab it first installs the course
# package (it brings the data); anywhere else it only checks the environment.
import sys

just_installed = False
if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    if importlib.util.find_spec("course_helpers") is None:
        # pip keeps each package Colab has in a version the course accepts: it adds openTSNE.
        spec = os.environ.get(
            "COURSE_HELPERS_SPEC",
            "{spec}",
        )
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", spec], check=True)
        importlib.invalidate_caches()
        just_installed = True

from course_helpers.setup.colab import prepare_notebook

prepare_notebook(just_installed=just_installed)"""


class AuthoringError(ValueError):
    """A solution notebook breaks the course's conventions."""


def badge_source(name):
    """Return the markdown of the Colab badge cell of notebook ``name``."""
    return BADGE_TEMPLATE.format(
        url=colab_url(name), copy_name=COLAB_COPY_NAME.format(notebook=name)
    )


def setup_source():
    """Return the source of the setup cell (identical in every notebook)."""
    return SETUP_TEMPLATE.format(spec=pip_install_spec())


def strip_solution(source, *, where="cell"):
    """Replace every solution region of a code cell by the student stub.

    Parameters
    ----------
    source : str
        The cell's code.
    where : str, default="cell"
        Names the cell in error messages.

    Returns
    -------
    str
        The code with each region between the markers replaced by
        ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, indented
        like the ``BEGIN`` marker.
    """
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise AuthoringError(f"{where}: nested '{BEGIN}'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub for stub in STUDENT_STUB)
        elif stripped == END:
            if not inside:
                raise AuthoringError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise AuthoringError(f"{where}: '{BEGIN}' is never closed")
    return "\n".join(out)


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def apply_templates(nb, name):
    """Write the badge and setup cells of ``nb`` from their templates, in place."""
    found = set()
    for cell in nb.cells:
        if BADGE_TAG in _tags(cell):
            cell.source = badge_source(name)
            found.add(BADGE_TAG)
        elif SETUP_TAG in _tags(cell):
            cell.source = setup_source()
            found.add(SETUP_TAG)
    missing = {BADGE_TAG, SETUP_TAG} - found
    if missing:
        raise AuthoringError(f"{name}: no cell tagged {sorted(missing)}")
    nb.metadata.setdefault("course", {})["assignment"] = name
    return nb


def student_copy(solution, name):
    """Return the student notebook derived from a solution notebook.

    Parameters
    ----------
    solution : nbformat.NotebookNode
        The executed solution.
    name : str
        The notebook's name, e.g. ``"04_digits_kmeans"``.
    """
    nb = apply_templates(copy.deepcopy(solution), name)
    for cell in nb.cells:
        where = f"{name}, cell {cell.get('id', '?')}"
        if cell.cell_type == "code":
            has_marker = BEGIN in cell.source
            if "exercise" in _tags(cell) and not has_marker:
                raise AuthoringError(f"{where} is tagged 'exercise' but has no '{BEGIN}'")
            cell.source = strip_solution(cell.source, where=where)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        elif cell.cell_type == "markdown" and "answer" in _tags(cell):
            cell.source = EMPTY_ANSWER
        elif BEGIN in cell.source:
            raise AuthoringError(f"{where}: solution markers are only allowed in code cells")
    for key in ("widgets", "toc"):
        nb.metadata.pop(key, None)
    return nb


def _dump(nb):
    return nbformat.writes(nb) + "\n"


def build(root, *, check=False, out=sys.stdout):
    """Build (or, with ``check=True``, verify) the student notebooks under ``root``.

    Returns
    -------
    stale : list of str
        The files that were (or, when checking, would be) rewritten.

    Raises
    ------
    AuthoringError
        When ``notebooks/`` holds a notebook that no solution builds.
    """
    root = Path(root)
    solutions, notebooks = root / "solutions", root / "notebooks"
    if not solutions.is_dir():
        raise AuthoringError(f"no solutions/ folder under {root.resolve()}")
    # A student copy nothing builds would be served by the lab and never updated: an error,
    # before anything is written, so that the build cannot report success around it.
    orphans = sorted(path.name for path in notebooks.glob("*.ipynb") if path.stem not in NOTEBOOKS)
    if orphans:
        raise AuthoringError(
            "student notebook(s) without a solution: "
            + ", ".join(f"notebooks/{name}" for name in orphans)
            + ". Delete them, or add solutions/<name>.ipynb and its name to NOTEBOOKS in "
            "course_helpers/_course.py."
        )
    stale = []
    for name in NOTEBOOKS:
        source_path = solutions / f"{name}.ipynb"
        if not source_path.exists():
            # While a course is being written some notebooks do not exist yet: a build
            # skips them, a check reports them.
            stale.append(f"{source_path.relative_to(root)} (missing)")
            continue
        solution_text = source_path.read_text(encoding="utf-8")
        solution = nbformat.reads(solution_text, as_version=4)
        nbformat.validate(solution)
        # The solution carries the same badge and setup cell as the student copy.
        templated = _dump(apply_templates(copy.deepcopy(solution), name))
        if templated != solution_text:
            stale.append(str(source_path.relative_to(root)))
            if not check:
                source_path.write_text(templated, encoding="utf-8")
        target = notebooks / f"{name}.ipynb"
        expected = _dump(student_copy(solution, name))
        if not target.exists() or target.read_text(encoding="utf-8") != expected:
            stale.append(str(target.relative_to(root)))
            if not check:
                notebooks.mkdir(exist_ok=True)
                target.write_text(expected, encoding="utf-8")
    verb = "stale" if check else "rebuilt"
    for path in stale:
        print(
            f"{'skipped' if path.endswith('(missing)') and not check else verb}: {path}", file=out
        )
    if not stale:
        print(f"notebooks/ is up to date with solutions/ ({len(NOTEBOOKS)} notebooks)", file=out)
    return stale


def execute_solution(path, *, timeout=600):
    """Execute a solution notebook in place, the way the tests will re-execute it.

    The kernel runs in the notebook's folder, under
    :func:`~course_helpers._course.reproducible_environment`, with the same
    interpreter as this process; outputs and execution counts are rewritten.
    """
    import os

    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update(reproducible_environment())
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    path.write_text(_dump(nb), encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_helpers.authoring",
        description="Build the student notebooks in notebooks/ from solutions/.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if notebooks/ is stale"
    )
    parser.add_argument(
        "--execute",
        nargs="+",
        metavar="NAME",
        default=[],
        help="first execute these solutions in place (e.g. 04_digits_kmeans)",
    )
    parser.add_argument("--root", default=".", help="the course folder (default: current folder)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.execute if name not in NOTEBOOKS]
    if unknown:
        print(
            f"error: {unknown[0]!r} is not one of the notebooks {list(NOTEBOOKS)}", file=sys.stderr
        )
        return 2
    try:
        for name in args.execute:
            print(f"executing solutions/{name}.ipynb ...", file=sys.stderr)
            execute_solution(Path(args.root) / "solutions" / f"{name}.ipynb")
        stale = build(args.root, check=args.check)
    except (AuthoringError, nbformat.ValidationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check and stale:
        print("run: python -m course_helpers.authoring", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
