"""Step 1: find the handed-in files and read each one, refusing what is not a notebook.

Nothing here runs student code: it only reads files.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

#: Larger handed-in files are not read (a notebook with huge saved outputs, or not a notebook).
MAX_BYTES = 200 * 2**20


class UnreadableNotebook(ValueError):
    """A handed-in file is not a notebook nbformat can read and validate."""


@dataclass(frozen=True)
class HandedIn:
    """One handed-in file.

    Attributes
    ----------
    path : pathlib.Path
        Where it is.
    name : str
        Its path relative to the submissions folder, with ``/``: its row in the gradebook.
    refused : str
        Why it is not read at all (a link out of the folder), or "".
    """

    path: Path
    name: str
    refused: str = ""


def find_submissions(submissions_dir):
    """Every notebook under the folder (``.ipynb`` in any case), sorted by name.

    Hidden folders and ``.ipynb_checkpoints`` are skipped. Folder links are not
    followed; a file link that leads out of the folder is returned with ``refused``
    set, so that it gets a row saying so instead of being read.
    """
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"no submissions folder at {submissions_dir.resolve()}")
    root = submissions_dir.resolve()
    found = []
    for folder, subfolders, files in os.walk(submissions_dir):
        subfolders[:] = sorted(
            d for d in subfolders if not d.startswith(".") and d != ".ipynb_checkpoints"
        )
        for file_name in files:
            if file_name.startswith(".") or not file_name.lower().endswith(".ipynb"):
                continue
            path = Path(folder) / file_name
            name = path.relative_to(submissions_dir).as_posix()
            refused = ""
            if path.is_symlink():
                target = path.resolve()
                if root not in target.parents:
                    refused = "a link to a file outside the submissions folder: not read"
                elif not target.is_file():
                    refused = "a link to something that is not a file: not read"
            elif not path.is_file():
                continue
            found.append(HandedIn(path, name, refused))
    return sorted(found, key=lambda handed_in: handed_in.name)


def file_hash(path):
    """The SHA-256 of a file's bytes (the gradebook's key for "unchanged")."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_submission(path):
    """Read and validate a handed-in notebook.

    Returns
    -------
    nb : nbformat.NotebookNode
        The notebook, upgraded to nbformat 4 in memory (the file is not touched).

    Raises
    ------
    UnreadableNotebook
        With a one-line reason: too large, not UTF-8, not JSON, not a notebook, or invalid.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UnreadableNotebook(
            f"{size / 2**20:.0f} MB is too large for a notebook (limit {MAX_BYTES // 2**20} MB): "
            "clear its outputs and hand it in again"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableNotebook(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise UnreadableNotebook("not a notebook: JSON nested too deeply") from None
    if (
        not isinstance(raw, dict)
        or "nbformat" not in raw
        or not ("cells" in raw or "worksheets" in raw)
    ):
        raise UnreadableNotebook("valid JSON, but not a Jupyter notebook (no 'cells'/'nbformat')")
    if raw.get("nbformat") not in (3, 4):
        # nbformat upgrades version 3 to 4 in memory; older ones are not notebooks of ours.
        raise UnreadableNotebook(f"nbformat {raw.get('nbformat')!r} is not supported (3 and 4 are)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (nbformat.ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableNotebook(f"not a valid notebook: {first_line}") from None
    return nb
