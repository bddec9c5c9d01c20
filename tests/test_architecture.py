"""The package's layout: one package per stage, a small top level, imports that follow the layer
order of ``docs/architecture.md`` (the analysis is ``bench/shape.py``'s, which prints the same
figures)."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "tooling" / "seedtree"
STAGES = {"taxonomy", "validate", "teacher", "generate", "preview", "train", "retrain", "authoring"}
STAGES |= {"versions", "evaluation", "adopt"}


def _shape() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shape", PROJECT_ROOT / "bench" / "shape.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["shape"] = module
    spec.loader.exec_module(module)
    return module


shape = _shape()
ORDER = shape.layer_order((PROJECT_ROOT / "docs" / "architecture.md").read_text())


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for root in sorted(graph):
        if state.get(root):
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def test_no_import_cycle_between_seedtree_modules() -> None:
    cycle = find_cycle(shape.import_graph(PACKAGE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_follow_the_layer_order() -> None:
    upward = shape.upward_imports(shape.import_graph(PACKAGE), ORDER)
    assert upward == [], "\n".join(map(str, upward))


def test_no_two_packages_import_each_other() -> None:
    assert shape.mutual_packages(shape.import_graph(PACKAGE)) == []


def test_every_package_has_its_place_in_the_layer_order() -> None:
    packages = shape.packages_of(shape.import_graph(PACKAGE)) - {"cli", "commands"}
    assert packages <= set(ORDER), packages - set(ORDER)
    assert len(set(ORDER)) == len(ORDER)


def _plant(copy: Path, module: str, line: str) -> None:
    path = copy / module
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_layer_check_finds_an_added_upward_import_and_a_mutual_pair(tmp_path: Path) -> None:
    copy = tmp_path / "seedtree"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    _plant(copy, "taxonomy/identity.py", "from seedtree.train import recipe")
    _plant(copy, "config.py", "import seedtree.validate.rules")
    graph = shape.import_graph(copy)
    found = {(u.source, u.target) for u in shape.upward_imports(graph, ORDER)}
    assert ("seedtree.taxonomy.identity", "seedtree.train.recipe") in found
    assert ("seedtree.config", "seedtree.validate.rules") in found
    assert ("taxonomy", "train") in shape.mutual_packages(graph)


def test_top_level_keeps_only_shared_modules() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 15, top
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages >= STAGES, STAGES - packages


def _documented_modules(text: str) -> set[str]:
    """Every module the architecture page's tables name, as a path below the package."""
    found: set[str] = set()
    section = text.split("## The package", 1)[1].split("## Rules the layout keeps", 1)[0]
    folder = ""
    for line in section.splitlines():
        if line.startswith("### "):
            folders = re.findall(r"`(\w+)/`", line)
            folder = folders[0] + "/" if len(folders) == 1 else ""
        elif line.startswith("| `"):
            cell = line.split("|")[1]
            for name in re.findall(r"`([\w/]+\.py)`", cell):
                found.add(name if "/" in name else folder + name)
    return found


def test_the_architecture_page_lists_every_module() -> None:
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    actual = {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" and p.parent.name != "cli"
    }
    documented = _documented_modules(text)
    assert sorted(actual - documented) == [], "modules the page does not list"
    assert sorted(documented - actual) == [], "modules the page lists that do not exist"


def _command_calls(path: Path) -> list[tuple[str, str, str]]:
    """(command function, module, name) of every ``seedtree.*`` import inside a CLI command."""
    calls = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef) or not any(
            isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "command"
            for d in node.decorator_list
        ):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("seedtree."):
                calls += [(node.name, inner.module or "", a.name) for a in inner.names]
    return calls


def test_every_command_body_is_run_x_in_its_stages_commands_module() -> None:
    bodies = {}
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for command, module, name in _command_calls(path):
            if name.startswith("run_"):
                bodies[f"{path.stem}.{command}"] = f"{module}.{name}"
                assert module.endswith(".commands"), f"{path.name}: {module}.{name}"
        commands = {c for c, _, _ in _command_calls(path)}
        for command in commands:
            assert f"{path.stem}.{command}" in bodies, f"cli/{path.name}: {command} calls no run_*"
    assert len(bodies) >= 20


def test_only_the_command_line_imports_a_commands_module() -> None:
    graph = shape.import_graph(PACKAGE)
    wrong = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if target.endswith(".commands") and not source.startswith("seedtree.cli")
    )
    assert wrong == []


MAX_POSITIONAL = 7
VARARGS_OUTSIDE = {"add_row"}  # rich's Table.add_row(*cells)


def _long_positional_calls(package: Path) -> list[str]:
    """Calls passing more than MAX_POSITIONAL arguments by position to a function that does not
    take ``*args`` (those read better, and survive a change of order, with keywords)."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(package.rglob("*.py"))}
    varargs = set(VARARGS_OUTSIDE)
    for tree in trees.values():
        varargs |= {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.args.vararg
        }
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or len(node.args) <= MAX_POSITIONAL:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in varargs and not any(isinstance(a, ast.Starred) for a in node.args):
                found.append(f"{path.relative_to(package)}:{node.lineno}: {name}")
    return found


def test_calls_with_many_arguments_use_keywords(tmp_path: Path) -> None:
    assert _long_positional_calls(PACKAGE) == []
    (tmp_path / "m.py").write_text(
        "def f(a, b, c, d, e, f, g, h): ...\n"
        "def v(*parts): ...\n"
        "f(1, 2, 3, 4, 5, 6, 7, 8)\n"
        "v(1, 2, 3, 4, 5, 6, 7, 8)\n"
        "f(1, 2, 3, 4, 5, 6, 7, h=8)\n",
        encoding="utf-8",
    )
    assert _long_positional_calls(tmp_path) == ["m.py:3: f"]


def _seedtree_imports(folder: Path) -> Iterator[tuple[str, str, str]]:
    """(file, module, name) of every ``from seedtree... import name``, inside functions too."""
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seedtree"):
                for alias in node.names:
                    yield path.name, node.module or "", alias.name


def test_every_seedtree_import_names_something_that_exists() -> None:
    """mypy skips missing modules (ignore_missing_imports): an import left behind by a move
    would only fail when its function runs."""
    missing = []
    for folder in (PACKAGE, PROJECT_ROOT / "tests", PROJECT_ROOT / "bench"):
        for where, module, name in _seedtree_imports(folder):
            found = importlib.util.find_spec(module) is not None
            if found and not hasattr(importlib.import_module(module), name):
                found = importlib.util.find_spec(f"{module}.{name}") is not None
            if not found:
                missing.append(f"{where}: from {module} import {name}")
    assert missing == []
