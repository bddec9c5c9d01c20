"""Validate paths or one leaf: find the files, check each (both cores for big trees), collect.

A broken file never hides the others: every file is checked and every problem is a located
:class:`~seedtree.findings.Finding`. Only a path that does not exist is a usage error.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from seedtree.config import CONFIG_FILE, ValidateConfig
from seedtree.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from seedtree.findings import Finding, shown_path
from seedtree.project import find_repo_root, open_project
from seedtree.taxonomy.leaves import ATTRIBUTION, QNA, TOPS, find_root
from seedtree.taxonomy.safewalk import tree
from seedtree.validate.check import Target, check_file
from seedtree.validate.layout import is_misnamed

PARALLEL_MIN_FILES = 400


@dataclass(frozen=True)
class ValidationResult:
    files: int
    findings: list[Finding] = field(default_factory=list)
    # findings a baseline already lists (see validate/baseline.py): reported, never failing
    known: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    def exit_code(self, strict: bool = False) -> int:
        failed = self.errors > 0 or (strict and self.warnings > 0)
        return EXIT_FINDINGS if failed else EXIT_OK


def _is_leaf_name(name: str) -> bool:
    return name == QNA or is_misnamed(name)


def _walk(folder: Path, depth: int) -> list[Path]:
    """Every ``qna.yaml`` (or misnamed one, file or folder) below ``folder`` (``depth`` levels
    below the taxonomy root), and every folder too deep to enter (``folder-depth`` reports it),
    sorted as paths sort."""
    found = tree(folder, _is_leaf_name, depth=depth)
    paths = [entry.path for entry in found.found] + list(found.too_deep)
    return [Path(path) for path in sorted(paths, key=lambda path: path.split(os.sep))]


def _depth(path: Path, root: Path | None) -> int:
    """How many folders below the taxonomy root ``path`` is (0 when outside any)."""
    if root is None:
        return 0
    relative = os.path.relpath(path.resolve(), root)
    return 0 if relative.startswith("..") else len(Path(relative).parts)


def discover(path: Path) -> list[Path]:
    """The leaf files a user means by ``path`` (a leaf file, a leaf folder, a subtree, a root)."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder", hint="give a leaf, a folder or none")
    if not path.is_dir():
        if path.name == ATTRIBUTION:
            sibling = path.parent / QNA
            return [sibling] if sibling.exists() else []
        return [path]
    if _is_leaf_name(path.name):
        return [path]
    root = find_root(path)
    if root is not None and root == path.resolve():
        return [p for top in TOPS if (path / top).is_dir() for p in _walk(path / top, 1)]
    if root is None and (path / CONFIG_FILE).is_file():
        # a repository root: its configured taxonomy, not its tests' or tools' files
        taxonomy = path / open_project(path).config.taxonomy_dir
        if taxonomy.is_dir() and find_root(taxonomy) is not None:
            return discover(taxonomy)
    return _walk(path, _depth(path, root))


@cache
def _root_of_dir(folder: str) -> str | None:
    """The taxonomy root above ``folder`` (absolute): the parent of its nearest top part."""
    while True:
        parent = os.path.dirname(folder)
        if os.path.basename(folder) in TOPS:
            return parent
        if parent == folder:
            return None
        folder = parent


@cache
def _repo_of_root(root: str) -> Path:
    return find_repo_root(_root_path(root))


@cache
def _root_path(root: str) -> Path:
    return Path(root)


def _target(path: Path, latest: bool, cwd: str) -> Target:
    absolute = os.path.abspath(path)
    root = _root_of_dir(os.path.dirname(absolute))
    if root is None:
        found = find_root(path)
        root = str(found) if found is not None else None
    repo = _repo_of_root(root) if root is not None else None
    return Target(path, shown_path(path, cwd), _root_path(root) if root else None, latest, repo)


def targets_for(
    paths: Sequence[Path], latest_for: Callable[[Path], bool] | None = None
) -> list[Target]:
    """One :class:`Target` per distinct leaf file under ``paths``."""
    seen: set[str] = set()
    targets: list[Target] = []
    cwd = os.getcwd()
    for given in paths:
        for path in discover(given):
            absolute = os.path.abspath(path)
            if absolute in seen:
                continue
            seen.add(absolute)
            latest = bool(latest_for(Path(absolute))) if latest_for is not None else False
            targets.append(_target(path, latest, cwd))
    return targets


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Checking makes many small short-lived objects, none in cycles: let the cyclic garbage
    collector run rarely, and never over what is already loaded (forked workers inherit this)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check_all(targets: Sequence[Target], config: ValidateConfig) -> list[list[Finding]]:
    workers = min(os.cpu_count() or 1, 4)
    with _fewer_collections():
        if len(targets) < PARALLEL_MIN_FILES or workers < 2:
            return [check_file(t, config) for t in targets]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        chunk = max(1, len(targets) // (workers * 8))
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(pool.map(check_file, targets, [config] * len(targets), chunksize=chunk))


def validate_targets(targets: Sequence[Target], config: ValidateConfig) -> ValidationResult:
    per_file = _check_all(targets, config)
    findings = [f for t, found in zip(targets, per_file, strict=True) for f in _ordered(t, found)]
    return ValidationResult(len(targets), findings)


def _ordered(target: Target, findings: list[Finding]) -> list[Finding]:
    """The leaf file's findings first, by position; then its attribution's and documents'."""
    return sorted(findings, key=lambda f: (f.file != target.shown, f.file, f.line, f.column))


def validate_paths(
    paths: Iterable[Path],
    *,
    config: ValidateConfig,
    latest_for: Callable[[Path], bool] | None = None,
) -> ValidationResult:
    """Validate every leaf under ``paths``; ``latest_for(path)`` holds a file to the latest
    schema version (files a change touches) instead of its own ``version``."""
    return validate_targets(targets_for(list(paths), latest_for), config)


def validate_leaf(
    leaf_qna_path: Path,
    *,
    config: ValidateConfig | None = None,
    held_to_latest: bool = False,
) -> list[Finding]:
    """Every finding for one ``qna.yaml`` (other stages call this before trusting a leaf)."""
    root = find_root(leaf_qna_path)
    target = Target(
        leaf_qna_path,
        shown_path(leaf_qna_path),
        root,
        held_to_latest,
        find_repo_root(root) if root is not None else None,
    )
    return _ordered(target, check_file(target, config or ValidateConfig()))
