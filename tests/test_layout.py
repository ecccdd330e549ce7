"""The library's shape, read from its source with ``ast``: one home per concept.

- imports run one way: the graph of ``k8sauthlib`` modules (every import, also those inside
  functions) has no cycle;
- a module fits in one sitting (about 500 lines);
- no private name (``_x``) is imported from another module;
- each Go rule (durations, ``strconv.Quote``, go-yaml, cfssl's host classification) is defined
  in exactly one module, and everyone else imports it;
- ``k8sauthlib/__init__.py`` exports exactly what its explicit import block names.
"""

import ast
from pathlib import Path

import pytest

import k8sauthlib

ROOT = Path(k8sauthlib.__file__).resolve().parent
PACKAGE = "k8sauthlib"
MAX_LINES = 500


def modules():
    """``{dotted name: path}`` for every module of the package."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join((PACKAGE, *parts))] = path
    return out


MODULES = modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """Absolute name of the module a ``from ... import`` statement reads from."""
    if node.level == 0:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str):
    """Yield ``(target module, imported name or None, line)`` for every import in ``module``."""
    path = MODULES[module]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            if not target.startswith(PACKAGE):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # ``from . import diagnose``: a module, not a name
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def graph():
    edges = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _name, _line in imports(module):
            if target in MODULES and target != module:
                edges[module].add(target)
    return edges


def test_the_import_graph_has_no_cycle():
    edges = graph()
    # A package's __init__ that re-exports its modules, and a module importing a sibling
    # through the package, is not a cycle of ideas; drop module -> its own package edges.
    for module, targets in edges.items():
        targets.difference_update({t for t in targets if module.startswith(t + ".")})
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_cycle():
    """The negative: the same search reports a two-module cycle."""
    edges = {"a": {"b"}, "b": {"a"}}
    seen, found = set(), []

    def visit(node, path):
        for nxt in edges[node]:
            if nxt in path:
                found.append(path + [nxt])
            elif nxt not in seen:
                seen.add(nxt)
                visit(nxt, path + [nxt])

    visit("a", ["a"])
    assert found == [["a", "b", "a"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_fits_in_one_sitting(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES}); cut it where its concepts part"


def test_no_private_name_is_imported_across_modules():
    offences = []
    for module, path in MODULES.items():
        for target, name, line in imports(module):
            if name and name.startswith("_") and not name.startswith("__") and target != module:
                offences.append(f"{path.relative_to(ROOT.parent)}:{line} imports {name} from {target}")
    assert not offences, "\n".join(offences)


# Go rules: the function that implements each, and the one module allowed to define it.
# fmt: off
GO_RULES = {
    "parse_duration": "k8sauthlib.go.duration",      # time.ParseDuration
    "format_duration": "k8sauthlib.go.duration",     # time.Duration.String
    "go_quote": "k8sauthlib.go.text",                # strconv.Quote
    "go_json_marshal": "k8sauthlib.go.text",         # encoding/json Marshal
    "go_yaml_dump": "k8sauthlib.go.yaml",            # go-yaml v2 via sigs.k8s.io/yaml
    "go_yaml_load": "k8sauthlib.go.yaml",
    "classify_host": "k8sauthlib.pki.names",         # cfssl's hosts -> SAN rule
    "parse_hosts": "k8sauthlib.pki.names",
    "read_file": "k8sauthlib.files",
}
# fmt: on
# Names an earlier layout used for a second copy of the same rule.
RETIRED = ("parse_go_duration", "format_go_duration", "_go_quote", "_is_email", "_is_uri", "_GO_UNITS")


def definitions():
    """``{name: [modules defining it at module level or as a nested function]}``."""
    found = {}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found.setdefault(node.name, []).append(module)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(module)
    return found


@pytest.mark.parametrize("name, home", sorted(GO_RULES.items()))
def test_each_go_rule_is_defined_once(name, home):
    where = definitions().get(name, [])
    assert where == [home], f"{name} is defined in {where}, expected only in {home}"


def test_retired_copies_are_gone():
    defs = definitions()
    assert {name: defs[name] for name in RETIRED if name in defs} == {}


def test_the_public_surface_is_explicit():
    """Every exported name is importable and the lazy table matches the TYPE_CHECKING imports."""
    tree = ast.parse((ROOT / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    typed = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            typed[alias.asname or alias.name] = node.module
    assert set(typed) == set(k8sauthlib.__all__)
    for name in k8sauthlib.__all__:
        assert getattr(k8sauthlib, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'diagnose_everything'"):
        k8sauthlib.diagnose_everything  # noqa: B018
