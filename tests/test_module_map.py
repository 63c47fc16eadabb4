"""CONTRIBUTING.md's module map has a row for every module of course_helpers."""

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_helpers"


def _mapped_patterns():
    """The backticked paths in the first column of the module map's table."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    patterns = []
    for line in section.splitlines():
        if line.startswith("| `"):
            patterns.extend(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return patterns


def _modules():
    """Every non-empty module file, as a path relative to the package."""
    return sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.stat().st_size and "__pycache__" not in path.parts
    )


def test_every_module_has_a_line_in_the_map():
    patterns = _mapped_patterns()
    missing = [m for m in _modules() if not any(fnmatch.fnmatch(m, p) for p in patterns)]
    assert not missing, f"add a row to CONTRIBUTING.md's module map for: {missing}"


def test_the_map_names_no_module_that_is_gone():
    modules = _modules()
    stale = [p for p in _mapped_patterns() if not fnmatch.filter(modules, p)]
    assert not stale, f"CONTRIBUTING.md's module map names modules that do not exist: {stale}"
