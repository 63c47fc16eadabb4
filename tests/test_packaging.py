"""Dependencies by audience: the core is what the notebooks import, the instructor's tools are
extras; environment.yml agrees with pyproject.toml; CI runs the README's test command."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _requirement(text):
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*(.*?)\s*", text)
    name, _, specifier = match.groups()
    return name.lower().replace("_", "-"), specifier.replace(" ", "")


def _conda_dependencies():
    deps, in_deps = {}, False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        item = re.match(r"  - (\S.*)$", line)
        if in_deps and item and not item.group(1).startswith("pip:"):
            name, specifier = _requirement(item.group(1))
            deps[name] = specifier
    return deps


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_asks_for_the_core_and_lab_packages_of_pyproject():
    project = _project()
    pip_deps = dict(
        _requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["lab"]
    )
    conda_deps = _conda_dependencies()
    # conda also provides the interpreter, Java for Spark, and pip itself.
    extra = {name: conda_deps.pop(name) for name in ("python", "openjdk", "pip")}
    assert extra["python"] == project["requires-python"]
    assert extra["openjdk"] == "=17"
    assert conda_deps == pip_deps


#: Instructor tools: a student (and every Colab session) must not install them.
INSTRUCTOR_TOOLS = {"pytest", "nbval", "jupyterlab", "nbclient", "nbconvert", "psutil", "tqdm"}


def test_the_core_is_what_the_notebooks_need_and_the_tools_are_extras():
    project = _project()
    core = {_requirement(r)[0] for r in project["dependencies"]}
    assert not core & INSTRUCTOR_TOOLS
    extras = project["optional-dependencies"]
    assert {_requirement(r)[0] for r in extras["lab"]} >= {"jupyterlab", "ipykernel"}
    assert {_requirement(r)[0] for r in extras["grading"]} >= {"nbval", "pytest", "nbformat"}
    # The test suite runs the lab and the grader: its extra pulls both in.
    assert "course-helpers[lab,grading]" in extras["test"]


def test_environment_yml_installs_the_package_itself():
    assert re.search(r"^\s+- pip:\n\s+- -e \.$", (ROOT / "environment.yml").read_text(), re.M)


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh|shell)?\n(.*?)```", readme, re.S)
    commands = [line for block in blocks[:2] for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_an_instructor_tool_without_its_extra_names_the_install_command():
    from course_helpers.setup import require_extra

    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[grading\]"') as raised:
        require_extra("grading", modules=("json", "no_such_module_xyz"), tool="the grader")
    assert raised.value.name == "no_such_module_xyz"
    require_extra("grading", modules=("json",), tool="the grader")  # present: no error
