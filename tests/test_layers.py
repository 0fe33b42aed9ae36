"""The tree shows the layers: each package imports only from the ones below it.

Read from the source (no import runs): every ``import`` of a sleuth module,
at module level or inside a function (a lazy import is still a dependency),
except under ``if TYPE_CHECKING:``, which never runs. CONTRIBUTING.md draws
the same picture for people.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

# Top to bottom. A module's layer is its first name under ``sleuth``; the
# package's own ``__init__`` (the public API, which loads the target lazily)
# and ``__main__`` sit on top.
LAYERS: list[set[str]] = [
    {"__init__", "__main__"},
    {"cli"},
    {"watch"},
    {"web"},
    {"demo", "init", "lint"},
    {"plugin"},
    {"target"},
    {"rows"},
    {"probes"},
    {"http"},
    {"settings"},
    {"history"},
    {"clients"},
    {"reports"},
    {"engine"},
    {"suite"},
    {"errors", "redact", "_evidence", "_timing", "_version", "_compat"}
    | {"_atomicfile", "_bodytext", "_certificate", "_localdir", "_wireclock"},
]
RANK = {name: depth for depth, names in enumerate(LAYERS) for name in names}
# Below ``plugin`` nothing imports pytest: the engine, HTTP, probes, settings,
# history and the suite's configuration run (and are tested) without it.
PYTEST_FREE = {name for name, depth in RANK.items() if depth > RANK["plugin"]} - {
    "_compat"
}


@dataclasses.dataclass(frozen=True)
class Edge:
    module: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.module} imports {self.imported} (line {self.line})"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "sleuth").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (i for n in node.orelse for i in _imports(n))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _edges(module: str, path: Path) -> Iterator[Edge]:
    is_package = path.name == "__init__.py"
    for node in _imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                here = module.split(".")[: None if is_package else -1]
                here = here[: len(here) - node.level + 1]
                base = ".".join([*here, *([base] if base else [])])
            # ``from sleuth.x import y``: y is a module, or a name in sleuth.x.
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                for a in node.names
            ]
        for name in names:
            if name == "sleuth" or name.startswith("sleuth."):
                yield Edge(module, name, node.lineno)


EDGES = [edge for module, path in MODULES.items() for edge in _edges(module, path)]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_at_the_root_is_public_or_says_it_is_not() -> None:
    """Public: in ``sleuth.__all__``'s modules, the target, or the entry points."""
    public = {"__init__", "__main__", "errors", "redact", "target"}
    at_root = {_layer(m) for m in MODULES}
    assert {name for name in at_root if not name.startswith("_")} - RANK.keys() == set()
    unsaid = sorted(
        name
        for name in at_root
        if not name.startswith("_")
        and name not in public
        and not (SRC / "sleuth" / name).is_dir()
    )
    assert unsaid == [], (
        f"private modules at the root get a leading underscore: {unsaid}"
    )


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({_layer(m) for m in MODULES} - RANK.keys())
    assert not unplaced, f"place these in LAYERS (and CONTRIBUTING.md): {unplaced}"


def test_each_package_imports_only_from_below() -> None:
    upward = [
        str(edge)
        for edge in EDGES
        if _layer(edge.module) != _layer(edge.imported)
        and RANK[_layer(edge.imported)] <= RANK[_layer(edge.module)]
        and not (
            _layer(edge.module) in LAYERS[-1] and _layer(edge.imported) in LAYERS[-1]
        )
    ]
    assert not upward, "\n".join(upward)


def test_the_shared_modules_at_the_root_do_not_import_one_another_in_a_loop() -> None:
    _assert_no_loops([e for e in EDGES if _layer(e.module) in LAYERS[-1]])


def test_no_import_loops_between_modules_even_through_lazy_imports() -> None:
    _assert_no_loops(EDGES)


def _assert_no_loops(edges: list[Edge]) -> None:
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.module, set()).add(edge.imported)
    loops = []
    for start in sorted(graph):
        path = _path_back(graph, start)
        if path:
            loops.append(" -> ".join(path))
    assert not loops, "\n".join(sorted(set(loops)))


def _path_back(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


@pytest.mark.parametrize("layer", sorted(PYTEST_FREE))
def test_nothing_below_the_plugin_imports_pytest(layer: str) -> None:
    offenders = []
    for module, path in MODULES.items():
        if _layer(module) != layer:
            continue
        for node in _imports(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if any(
                n == "pytest" or n.startswith(("pytest.", "_pytest")) for n in names
            ):
                offenders.append(f"{module} (line {node.lineno})")
    assert not offenders, offenders


def test_the_checks_above_see_what_they_guard() -> None:
    """The readers are not blind: they find the imports known to be there."""
    session = {e.imported for e in EDGES if e.module == "sleuth.plugin.session"}
    assert "sleuth.plugin.keys" in session
    lazy = {e.imported for e in EDGES if e.module == "sleuth.cli"}
    assert "sleuth.cli.commands" in lazy  # imported inside main()
    typed_only = {e.imported for e in EDGES if e.module == "sleuth.rows.http"}
    assert "sleuth.target" not in typed_only  # under TYPE_CHECKING
