"""No import cycle between the modules of robot/, pages/, scenarios/ and sandbox/, and the
layers only import downwards.

The module graph is read from the source with :mod:`ast`, never by importing anything:

- a module is a ``.py`` file; a package's ``__init__.py`` is the module ``pkg`` itself;
- every import counts, at any depth (inside functions, ``try`` blocks, …), except those
  under ``if TYPE_CHECKING:`` (its ``else:`` branch counts): they never run;
- ``import a.b.c`` imports the module ``a.b.c``; ``from a.b import c`` imports ``a.b.c``
  when that is a module, and ``a.b`` itself (its ``__init__``) for every name that is not
  one (a function, a class, a name the ``__init__`` re-exports, ``*``); relative imports are
  resolved against the importing module's package;
- importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``: each is an edge too,
  *except* towards a package that contains the importing module itself. Python has already
  started running that package's ``__init__`` before any of its modules runs, so reaching a
  sibling (``a.b.x`` importing ``a.b.y``, or ``a.x``) asks nothing more of it. Without this
  rule every package whose ``__init__`` re-exports its submodules, and whose submodules
  import one another, would be a cycle. Asking the package itself for a name (``from a.b
  import name`` in ``a.b.x``, ``name`` not a module) is a real edge: that name only exists
  once the ``__init__`` has got that far, which is what a cycle breaks;
- only modules of the four packages are nodes: the standard library and third-party
  packages are left out.

A cycle is reported as a path, e.g. ``robot.otp.imap -> robot.otp.sources -> robot.otp.imap``,
with the line of each import. ``importlib.import_module`` and other dynamic imports are not
seen.

Layers (every import, ``TYPE_CHECKING`` ones included: a type-only import is a dependency
too): ``pages`` never imports ``robot`` or ``scenarios``; ``scenarios`` never imports
``robot``; ``sandbox`` imports none of ``robot``, ``pages``, ``scenarios``.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("robot", "pages", "scenarios", "sandbox")
#: What each package must never import.
FORBIDDEN = {
    "pages": {"robot", "scenarios"},
    "scenarios": {"robot"},
    "sandbox": {"robot", "pages", "scenarios"},
}


@dataclass(frozen=True)
class Import:
    """One edge of the graph: ``source`` imports ``target`` at ``where`` (``file:line``)."""

    source: str
    target: str
    where: str
    type_only: bool


def modules_of(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted name -> file of every module of ``packages`` under ``root``."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    body: Iterable[ast.AST], type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, at any depth, and whether it sits under TYPE_CHECKING."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.body, True)
            yield from _import_nodes(node.orelse, type_only)
        else:
            yield from _import_nodes(ast.iter_child_nodes(node), type_only)


def _imported_names(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]
) -> Iterator[str]:
    """The dotted names an import statement asks for (modules, or packages for a name)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)]
        origin = ".".join([*base, *(node.module.split(".") if node.module else [])])
    else:
        origin = node.module or ""
    for alias in node.names:
        submodule = f"{origin}.{alias.name}"
        yield submodule if submodule in modules else origin


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> list[Import]:
    """Every edge between the modules of ``packages`` (rules in the module's docstring)."""
    modules = modules_of(root, packages)
    edges: list[Import] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, type_only in _import_nodes(tree.body):
            where = f"{path.relative_to(root)}:{node.lineno}"
            for name in _imported_names(node, module, is_package, modules):
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):
                    target = ".".join(parts[:depth])
                    implied = depth < len(parts)  # a package's __init__, run on the way
                    if target not in modules or target == module:
                        continue
                    if implied and module.startswith(target + "."):
                        continue  # a package containing the importer: already running
                    edges.append(Import(module, target, where, type_only))
    return edges


def find_cycles(edges: Iterable[Import]) -> list[list[Import]]:
    """One shortest cycle per strongly connected component of the runtime graph, as the
    edges along it, starting from the component's first module (alphabetically)."""
    first_edge: dict[tuple[str, str], Import] = {}
    for edge in edges:
        if not edge.type_only:
            first_edge.setdefault((edge.source, edge.target), edge)
    successors: dict[str, list[str]] = {}
    for source, target in sorted(first_edge):
        successors.setdefault(source, []).append(target)
    cycles = []
    for component in _components(successors):
        start = min(component)
        path = _shortest_path_back(start, successors, component)
        cycles.append([first_edge[pair] for pair in itertools.pairwise(path)])
    return cycles


def _components(successors: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components with a cycle in them (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in successors.get(node, []):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(successors):
        if node not in index:
            visit(node)
    return sorted(found, key=min)


def _shortest_path_back(
    start: str, successors: dict[str, list[str]], within: set[str]
) -> list[str]:
    """``start -> … -> start``, the fewest edges, staying inside the component."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in successors.get(node, []):
            if child not in within:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is in a component without a cycle back to it")


def describe(cycle: list[Import]) -> str:
    """``a -> b -> a`` and, below, where each of those imports is."""
    path = " -> ".join([cycle[0].source, *(edge.target for edge in cycle)])
    lines = "\n".join(f"    {e.source} -> {e.target}  ({e.where})" for e in cycle)
    return f"{path}\n{lines}"


def layer_violations(edges: Iterable[Import]) -> list[str]:
    """Each import statement crossing a layer downwards-only rule, named by its deepest
    target (``import pages.errors`` is one violation, not one for ``pages`` and one more)."""
    deepest: dict[tuple[str, str], str] = {}
    for edge in edges:
        if edge.target.split(".")[0] in FORBIDDEN.get(edge.source.split(".")[0], set()):
            key = (edge.source, edge.where)
            deepest[key] = max(deepest.get(key, ""), edge.target, key=len)
    return sorted(
        f"{source} imports {target} ({where})" for (source, where), target in deepest.items()
    )


# The project itself.


@pytest.fixture(scope="module")
def project_graph() -> list[Import]:
    return import_graph(ROOT)


def test_the_graph_covers_every_package_and_sees_known_imports(
    project_graph: list[Import],
) -> None:
    """Guards the two checks below against an empty or partial graph."""
    pairs = {(edge.source, edge.target) for edge in project_graph}
    assert {edge.source.split(".")[0] for edge in project_graph} == set(PACKAGES)
    assert ("robot.browser.launch", "robot.browser.find") in pairs
    assert ("robot.browser.find", "robot.errors") in pairs
    assert ("robot.otp", "robot.otp.sources") in pairs  # an __init__ re-exporting
    assert ("scenarios", "pages") in {(s.split(".")[0], t) for s, t in pairs}


def test_no_import_cycle_between_the_modules_of_the_four_packages(
    project_graph: list[Import],
) -> None:
    cycles = find_cycles(project_graph)
    assert not cycles, "Import cycles:\n" + "\n".join(describe(cycle) for cycle in cycles)


def test_layers_only_import_downwards(project_graph: list[Import]) -> None:
    assert layer_violations(project_graph) == []


# The rules, each on a small package of its own.


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _cycles_in(root: Path, packages: tuple[str, ...] = ("pkg",)) -> list[str]:
    return [describe(cycle).splitlines()[0] for cycle in find_cycles(import_graph(root, packages))]


def test_an_init_re_exporting_submodules_that_import_each_other_is_no_cycle(
    tmp_path: Path,
) -> None:
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import A\nfrom pkg.sub import B\n",
            "pkg/a.py": "import pkg.sub.b\nfrom . import c\n",
            "pkg/c.py": "def helper() -> None: ...\n",
            "pkg/sub/__init__.py": "from pkg.sub.b import B\n",
            "pkg/sub/b.py": "from pkg.c import helper\nfrom .. import c\n",
        },
    )
    edges = {(e.source, e.target) for e in import_graph(root, ("pkg",))}
    assert _cycles_in(root) == []
    assert ("pkg.a", "pkg.sub") in edges  # another package's __init__ runs: an edge
    assert ("pkg.sub.b", "pkg") not in edges  # its own ancestor's: none
    assert ("pkg.sub.b", "pkg.sub") not in edges
    assert ("pkg.a", "pkg.c") in edges  # `from . import c` is the module pkg.c
    assert ("pkg.sub.b", "pkg.c") in edges  # and so is `from .. import c` one level down


def test_a_cycle_through_an_import_inside_a_function_is_named_with_its_lines(
    tmp_path: Path,
) -> None:
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/imap.py": "from pkg.sources import read\n",
            "pkg/sources.py": "def read():\n    if True:\n        from .imap import fetch\n",
        },
    )
    [cycle] = find_cycles(import_graph(root, ("pkg",)))
    assert describe(cycle).splitlines() == [
        "pkg.imap -> pkg.sources -> pkg.imap",
        "    pkg.imap -> pkg.sources  (pkg/imap.py:1)",
        "    pkg.sources -> pkg.imap  (pkg/sources.py:3)",
    ]


def test_a_name_asked_of_the_own_package_init_that_imports_back_is_a_cycle(
    tmp_path: Path,
) -> None:
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import A\nDEFAULT = 1\n",
            "pkg/a.py": "from pkg import DEFAULT\n",
        },
    )
    assert _cycles_in(root) == ["pkg -> pkg.a -> pkg"]


def test_imports_under_type_checking_make_no_cycle_but_its_else_branch_does(
    tmp_path: Path,
) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "import pkg.b\n",
        "pkg/b.py": (
            "import typing\nif typing.TYPE_CHECKING:\n    from pkg.a import A\n"
            "else:\n    from pkg.c import C\n"
        ),
        "pkg/c.py": "",
    }
    root = _package(tmp_path / "typed", files)
    assert _cycles_in(root) == []
    files["pkg/c.py"] = "from pkg import a\n"
    root = _package(tmp_path / "runtime", files)
    assert _cycles_in(root) == ["pkg.a -> pkg.b -> pkg.c -> pkg.a"]


def test_a_cycle_between_packages_through_an_init_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "low/__init__.py": "from low.tools import tool\n",
            "low/tools.py": "def tool():\n    import high.jobs\n",
            "high/__init__.py": "",
            "high/jobs.py": "from low import tool\n",
        },
    )
    assert _cycles_in(root, ("high", "low")) == ["high.jobs -> low -> low.tools -> high.jobs"]


def test_layer_violations_name_the_import_type_only_ones_included(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "robot/__init__.py": "import pages\nimport scenarios\nimport sandbox\n",
            "pages/__init__.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from robot import Config\n",
            "pages/errors.py": "",
            "scenarios/__init__.py": "import pages.errors\n",
            "sandbox/__init__.py": "import json\n",
            "sandbox/app.py": "def page():\n    from pages.errors import PageError\n",
        },
    )
    assert layer_violations(import_graph(root, PACKAGES)) == [
        "pages imports robot (pages/__init__.py:3)",
        "sandbox.app imports pages.errors (sandbox/app.py:2)",
    ]
