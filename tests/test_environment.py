"""pyproject.toml (ranges), constraints.txt (exact versions) and environment.yml (conda) agree.

The library states what it accepts as ranges; the book states what it was executed with as
exact versions in constraints.txt, which `make` installs with ``pip install -c``; conda users get
the same direct pins from environment.yml.
"""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def canonical(name):
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_requirements():
    """canonical name -> Requirement for [project.dependencies] and every extra (not the self-reference)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    out = {}
    for line in lines:
        req = Requirement(line)
        if canonical(req.name) == "k8sauthlib":
            continue
        assert canonical(req.name) not in out, f"{req.name} listed twice"
        out[canonical(req.name)] = req
    return out


def pins(lines):
    """canonical name -> version of the pins that apply to this interpreter.

    A package may be pinned twice with exclusive environment markers (soupsieve: the newest
    needs Python 3.11.5, Debian 12's python3 is 3.11.2); exactly one of them must apply."""
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not an exact pin: {line!r}"
        if req.marker is not None and not req.marker.evaluate():
            continue
        assert canonical(req.name) not in out, f"{req.name} pinned twice for this interpreter"
        out[canonical(req.name)] = specs[0].version
    return out


def test_a_marked_pin_applies_only_to_its_interpreters():
    both = ['soupsieve==4.1.4; python_full_version >= "3.11.5"', 'soupsieve==2.10; python_full_version < "3.11.5"']
    import platform

    expected = "4.1.4" if Version(platform.python_version()) >= Version("3.11.5") else "2.10"
    assert pins(both) == {"soupsieve": expected}
    with pytest.raises(AssertionError, match="pinned twice"):
        pins(["soupsieve==4.1.4", "soupsieve==2.10"])


def constraints():
    return pins((ROOT / "constraints.txt").read_text().splitlines())


def conda_pip_list():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return env, pip_sections[0]


def test_dependencies_are_ranges_not_pins():
    for name, req in direct_requirements().items():
        assert str(req.specifier), f"{name} has no version range"
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"{name} is pinned in pyproject: {req}"


def test_every_direct_dependency_is_pinned_in_constraints_within_its_range():
    pinned = constraints()
    for name, req in direct_requirements().items():
        assert name in pinned, f"constraints.txt has no exact version for {name}"
        assert Version(pinned[name]) in req.specifier, f"{name}=={pinned[name]} is outside {req.specifier}"


def test_a_pin_outside_its_range_is_caught():
    """The negative: the check above would reject a pin its range excludes."""
    assert Version("41.0.0") not in Requirement("cryptography>=42").specifier


def test_environment_yml_has_the_constraints_pins():
    _, pip_list = conda_pip_list()
    conda = pins(line for line in pip_list if not line.startswith("-"))
    pinned = constraints()
    assert set(conda) == set(direct_requirements())
    assert conda == {name: pinned[name] for name in conda}


def test_environment_yml_installs_the_project_editable_with_python_311():
    env, pip_list = conda_pip_list()
    assert "-e .[dev]" in pip_list
    assert "python=3.11" in env["dependencies"]
    assert "pip" in env["dependencies"]
    assert env["channels"] == ["conda-forge"]


def test_setup_installs_with_the_constraints_and_a_standard_editable_install():
    setup = (ROOT / ".ci" / "setup.sh").read_text()
    assert "-c constraints.txt" in setup
    assert "editable_mode" not in setup
    assert "constraints.txt" in setup.split("want=")[1].splitlines()[0]  # a new pin redoes the venv
