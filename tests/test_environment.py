"""environment.yml (conda) must install exactly the pinned set of pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# PEP 508 name, then the specifier; extras and markers are not used by this project.
REQ = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>.*?)\s*$")


def canonical(name):
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(requirements):
    """Map canonical name -> specifier for a list of requirement strings."""
    result = {}
    for line in requirements:
        match = REQ.match(line)
        assert match, f"cannot parse requirement {line!r}"
        name = canonical(match["name"])
        assert name not in result, f"{name} listed twice"
        result[name] = match["spec"].replace(" ", "")
    return result


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return parse(project["dependencies"]), parse(project["optional-dependencies"]["dev"])


def conda_pip_list():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return env, pip_sections[0]


def test_every_pyproject_dependency_is_pinned_exactly():
    main, dev = pyproject_pins()
    assert main and dev
    for name, spec in {**main, **dev}.items():
        assert re.fullmatch(r"==[A-Za-z0-9.+!-]+", spec), f"{name} is not pinned with ==: {spec!r}"


def test_environment_yml_has_the_same_pins_as_pyproject():
    main, dev = pyproject_pins()
    _, pip_list = conda_pip_list()
    packages = [line for line in pip_list if not line.startswith("-")]
    conda = parse(packages)
    for name, spec in conda.items():
        assert spec.startswith("=="), f"environment.yml: {name} is not pinned with ==: {spec!r}"
    assert conda == {**main, **dev}
    # main and dev pins are disjoint, so equality above covers both sets in full
    assert set(main).isdisjoint(dev)


def test_environment_yml_installs_the_project_editable_with_python_311():
    env, pip_list = conda_pip_list()
    assert "-e ." in pip_list
    assert "python=3.11" in env["dependencies"]
    assert "pip" in env["dependencies"]
    assert env["channels"] == ["conda-forge"]
