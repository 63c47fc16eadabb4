"""The README and the notebooks point students at the same place, and the README leads
with exactly the two commands.

The expected addresses are rebuilt here from the repository and branch in
``course_helpers/_course.py`` (the one place they are written), not taken from
the helpers that write the badges.
"""

import re
from pathlib import Path

import nbformat
import pytest

from course_helpers._course import GITHUB_BRANCH, GITHUB_REPOSITORY, NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

RUN_COMMAND = 'python3 -m venv .venv && .venv/bin/pip install -e ".[lab]" && .venv/bin/python -m course_helpers.lab'
TEST_COMMAND = (
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest'
)

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/(?P<repo>[^/]+/[^/]+)/blob/(?P<branch>[^/]+)"
    r"/(?P<path>[^)\s]+\.ipynb)"
)


def _fenced_blocks(markdown):
    return [m.group(1).strip() for m in re.finditer(r"```[a-z]*\n(.*?)```", markdown, re.S)]


def test_the_first_two_code_blocks_are_the_two_commands():
    blocks = _fenced_blocks(README)
    assert blocks[:2] == [RUN_COMMAND, TEST_COMMAND]


def test_nothing_before_the_two_commands_looks_like_a_command():
    before = README.split(RUN_COMMAND, 1)[0]
    assert before.count("```") == 1  # only the opening fence of the run command itself
    assert not re.search(r"^\s*(\$ |pip |python|conda |git |\.venv/)", before, re.M)


def test_readme_has_one_badge_per_notebook_at_the_course_address():
    links = [m for m in COLAB_LINK.finditer(README)]
    assert [m.group("path") for m in links] == [f"notebooks/{name}.ipynb" for name in NOTEBOOKS]
    for link in links:
        assert (link.group("repo"), link.group("branch")) == (GITHUB_REPOSITORY, GITHUB_BRANCH)
        # The link is a badge (the image inside a link), not a bare address.
        assert f"[![Open In Colab]({BADGE_IMAGE})]({link.group(0)})" in README


def test_readme_table_names_every_notebook():
    for name in NOTEBOOKS:
        assert re.search(rf"^\| \d\d \| `{name}` \| .+ \| \[!\[Open In Colab\]", README, re.M), name


def _built_notebooks():
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
        (ROOT / "solutions").glob("*.ipynb")
    )
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in paths]


@pytest.mark.parametrize("path", _built_notebooks())
def test_each_notebook_badge_points_at_itself(path):
    nb = nbformat.read(path, as_version=4)
    badges = [c for c in nb.cells if "colab-badge" in c.get("metadata", {}).get("tags", [])]
    assert len(badges) == 1, "exactly one badge cell"
    (link,) = COLAB_LINK.finditer(badges[0].source)
    assert link.group("repo") == GITHUB_REPOSITORY
    assert link.group("branch") == GITHUB_BRANCH
    # Students open the student copy, from the solution as well as from the student copy.
    assert link.group("path") == f"notebooks/{path.name}"
    assert "Save a copy in Drive" in badges[0].source


@pytest.mark.parametrize("path", _built_notebooks())
def test_each_setup_cell_installs_from_the_badge_repository_and_branch(path):
    nb = nbformat.read(path, as_version=4)
    (setup,) = [c for c in nb.cells if "setup" in c.get("metadata", {}).get("tags", [])]
    assert f"git+https://github.com/{GITHUB_REPOSITORY}@{GITHUB_BRANCH}" in setup.source
    assert "COURSE_HELPERS_SPEC" in setup.source
    assert '"google.colab" in sys.modules' in setup.source
