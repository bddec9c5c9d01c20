"""The package's shape at a glance: the largest module, modules per package, upward imports.

The layer order is read from ``docs/architecture.md`` (the line that starts with ``Layers:``):
each package may import the shared top-level modules and the packages before it in that order,
never one after it; the top-level modules (but the entry points ``__main__`` and ``demo``)
import no package at all. ``tests/test_architecture.py`` holds the package to the same rule with
the functions below, so the figures printed here are the ones the tests keep.

    .venv/bin/python bench/shape.py
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tooling" / "seedtree"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ENTRY_POINTS = frozenset({"__main__", "demo"})
# targets: the longest module must stay readable, and no import may run up the layers
MAX_MODULE_LINES = 600


@dataclass(frozen=True, order=True)
class Upward:
    """One import that breaks the layer order: ``source`` (a module) imports ``target``."""

    source: str
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.why})"


def layer_order(text: str) -> list[str]:
    """The packages in layer order, from ``Layers: a → b → c`` in the architecture page."""
    match = re.search(r"^Layers:\s*(.+)$", text, re.M)
    if not match:
        raise ValueError("no 'Layers:' line in the architecture page")
    return [name.strip(" `") for name in re.split(r"→|->", match.group(1)) if name.strip(" `")]


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def imported(tree: ast.AST, known: set[str]) -> Iterator[str]:
    """Every module of the package a source imports, at module level or inside functions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from (name for name in names if name in known)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    found = modules(package)
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {t for t in imported(tree, known) if t != name}
    return graph


def packages_of(graph: dict[str, set[str]]) -> set[str]:
    """The names of the sub-packages (``retrain``), as opposed to top-level modules."""
    return {m.split(".")[1] for m in graph if m.count(".") >= 2}


def _unit(module: str, packages: set[str]) -> str:
    """The package a module belongs to (``retrain``), or "" for a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in packages else ""


def _entry(module: str) -> bool:
    top = module.removeprefix("seedtree.")
    return top in ENTRY_POINTS or top == "cli" or top.startswith("cli.")


def _why_upward(source: str, target: str, rank: dict[str, int], packages: set[str]) -> str | None:
    """Why ``source`` may not import ``target``, or None when it may."""
    here, there = _unit(source, packages), _unit(target, packages)
    if _entry(source) or (here and here == there):
        return None
    if _entry(target):
        return "imports an entry point"
    if not here:
        return "a shared top-level module imports a package" if there else None
    if here not in rank:
        return f"package '{here}' is not in the layer order"
    if there and (there not in rank or rank[there] > rank[here]):
        return f"'{here}' is below '{there}' in the layer order"
    return None


def upward_imports(graph: dict[str, set[str]], order: list[str]) -> list[Upward]:
    """Every import that runs up the layers (or out of a shared module into a package)."""
    rank = {name: i for i, name in enumerate(order)}
    packages = packages_of(graph)
    found = [
        Upward(source, target, why)
        for source, targets in graph.items()
        for target in targets
        if (why := _why_upward(source, target, rank, packages))
    ]
    return sorted(found)


def mutual_packages(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of packages that import each other (in either direction, through any module)."""
    packages = packages_of(graph)
    edges = {
        (_unit(s, packages), _unit(t, packages)) for s, targets in graph.items() for t in targets
    }
    return sorted((a, b) for a, b in edges if a and b and a < b and (b, a) in edges)


def main() -> int:
    graph = import_graph()
    order = layer_order(ARCHITECTURE.read_text(encoding="utf-8"))
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()
    }
    largest = max(sizes, key=lambda n: sizes[n])
    packages = packages_of(graph)
    per_package: dict[str, int] = {}
    for name in sizes:
        unit = _unit(name, packages) or "(top level)"
        per_package[unit] = per_package.get(unit, 0) + 1
    print("modules per package:")
    for unit, count in sorted(per_package.items()):
        print(f"  {unit:14} {count}")
    upward = upward_imports(graph, order)
    for item in upward:
        print(f"upward import: {item}")
    mutual = mutual_packages(graph)
    for a, b in mutual:
        print(f"packages importing each other: {a} <-> {b}")
    most = max(per_package.values())
    lines = sizes[largest]
    print(f"largest module: {largest} ({lines} lines)")
    print(
        f"RESULT largest_module_lines={lines} target<={MAX_MODULE_LINES} "
        f"{'ok' if lines <= MAX_MODULE_LINES else 'short'}"
    )
    print(f"RESULT most_modules_per_package={most} target<=25 {'ok' if most <= 25 else 'short'}")
    print(f"RESULT upward_imports={len(upward)} target=0 {'ok' if not upward else 'short'}")
    print(f"RESULT mutual_package_imports={len(mutual)} target=0 {'ok' if not mutual else 'short'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
