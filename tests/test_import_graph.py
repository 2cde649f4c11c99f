"""The import graph of `dpi/`, `protocols/` and `classifiers/` (issue #18, "the house";
docs/architecture.md, "Where things live").

Every module is parsed with `ast`, nothing is imported: an edge is any import of a
module of these packages, at the top of a module or inside a function, except those
under `if TYPE_CHECKING:` (they never run). The rules:
- no circle anywhere in `dpi/` (the failure names the circle, file and line per step);
- the pipeline (the modules directly in `dpi/`, and `dpi/tls/`) imports nothing from
  the packages around it: `dpi.runs`, `dpi.outputs`, `dpi.findings`, `dpi.cli`;
- `protocols/` and `classifiers/` import nothing from `dpi` nor from each other.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dpi", "protocols", "classifiers")
# Around the pipeline: how a scan is run, what it writes, what it concludes, the command line.
APPLICATIONS = ("dpi.runs", "dpi.outputs", "dpi.findings", "dpi.cli")
# The doors into the house, not part of the pipeline: `import dpi`, `python -m dpi`, the Python API.
FRONT_DOORS = ("dpi", "dpi.__main__", "dpi.api")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module `name` names, or the innermost package of ours that holds it."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: list[Edge] = []

    def add(target: str | None, line: int) -> None:
        if target is not None and target != name:
            edges.append(Edge(name, target, line))

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for statement in child.orelse:  # `else:` runs
                    visit_one(statement)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_known(alias.name), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"  # `from dpi.cli import batch`
                add(submodule if submodule in MODULES else _known(module), node.lineno)
        else:
            visit(node)

    visit(tree)
    return edges


EDGES = [edge for name, path in MODULES.items() for edge in _imports(name, path)]


def _graph(edges: list[Edge]) -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {name: {} for name in MODULES}
    for edge in edges:
        graph[edge.source].setdefault(edge.target, edge.line)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_circle(graph, set(component)) for component in components]


def _circle(graph: dict[str, dict[str, int]], component: set[str]) -> list[str]:
    """A path from the component's first module back to it, inside the component."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return paths[node] + [start]
            if target in component and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"no circle through {start}")


def _describe(graph: dict[str, dict[str, int]], circle: list[str]) -> str:
    steps = [
        f"{a} ({MODULES[a].relative_to(ROOT)}:{graph[a][b]}) -> {b}"
        for a, b in zip(circle, circle[1:])
    ]
    return "circle: " + "; ".join(steps)


def _in(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _pipeline(name: str) -> bool:
    return _in(name, ("dpi",)) and not _in(name, APPLICATIONS) and name not in FRONT_DOORS


def test_the_parser_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    """What the rules below stand on: the graph has the edges it must have and not
    the ones it must not (else every rule would pass on an empty graph)."""
    graph = _graph(EDGES)
    assert "dpi.decode" in graph["dpi.engine"]  # top of the module
    assert "dpi.runs.batch" in graph["dpi.cli.batch"]  # inside a function
    assert "dpi.cli.batch" in graph["dpi.cli.scan"]  # `from dpi.cli import batch`
    assert "dpi.runs.sharding" not in graph["dpi.engine"]  # only under TYPE_CHECKING
    assert _cycles({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}}) == [["a", "b", "c", "a"]]


def test_dpi_has_no_import_circle() -> None:
    graph = _graph(EDGES)
    circles = [c for c in _cycles(graph) if any(_in(m, ("dpi",)) for m in c)]
    assert not circles, "\n".join(_describe(graph, c) for c in circles)


def test_protocols_and_classifiers_have_no_import_circle() -> None:
    graph = _graph(EDGES)
    circles = [c for c in _cycles(graph) if not any(_in(m, ("dpi",)) for m in c)]
    assert not circles, "\n".join(_describe(graph, c) for c in circles)


def test_the_pipeline_imports_nothing_from_the_packages_around_it() -> None:
    wrong = sorted({
        f"{MODULES[e.source].relative_to(ROOT)}:{e.line} imports {e.target}"
        for e in EDGES
        if _pipeline(e.source) and _in(e.target, APPLICATIONS)
    })
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("protocols", ("dpi", "classifiers")), ("classifiers", ("dpi", "protocols"))],
)
def test_protocols_and_classifiers_stand_alone(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted({
        f"{MODULES[e.source].relative_to(ROOT)}:{e.line} imports {e.target}"
        for e in EDGES
        if _in(e.source, (package,)) and _in(e.target, forbidden)
    })
    assert not wrong, "\n".join(wrong)
