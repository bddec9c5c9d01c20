"""Files of a folder that match a pattern, found without following symlinks out of a boundary.

The walk starts at the pattern's literal folders, enters only folders the pattern can still
match below, never enters a symlinked folder, skips ``.git``, and stops after ``max_entries``
directory entries. A symlink the pattern reaches whose target resolves outside ``boundary``, or
into a ``.git`` folder inside it, is never followed: it is returned as an escape, for the caller
to report.

:func:`tree` walks a taxonomy the same way for every stage: an explicit stack instead of
recursion (a folder a thousand levels deep is a list entry, not a ``RecursionError``), no
symlinked or hidden folders, and no folder more than :data:`MAX_TREE_DEPTH` below the root:
those it returns, for validation to report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seedtree.taxonomy.globs import Glob, compile_glob, in_git_dir, is_git_name, literal_prefix

EVERYTHING = "**/*"


class TooManyEntries(Exception):
    """The walk met more than its cap of directory entries."""


@dataclass(frozen=True)
class Walked:
    """Matching files (relative POSIX paths, sorted) and symlinks that lead outside."""

    files: tuple[str, ...]
    escapes: tuple[str, ...]


def leads_outside(path: Path, boundary: Path) -> bool:
    """Whether ``path`` (a symlink or a folder reached through one) resolves outside, or into a
    ``.git`` folder (the repository's own configuration and credentials are outside too)."""
    try:
        target, fence = path.resolve(), boundary.resolve()
    except (OSError, RuntimeError):  # a loop of symlinks
        return True
    return not target.is_relative_to(fence) or in_git_dir(target.relative_to(fence).as_posix())


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


States = frozenset[int]


class _Walk:
    def __init__(self, root: Path, glob: Glob, boundary: Path, max_entries: int) -> None:
        self.root, self.glob, self.boundary = root, glob, boundary
        self.max_entries, self.seen = max_entries, 0
        self.files: list[str] = []
        self.escapes: list[str] = []

    def folder(self, folder: str, states: States) -> list[tuple[str, States]]:
        """Visit one folder (``states``: the pattern positions it reached); return the
        subfolders to enter with theirs."""
        try:
            with os.scandir(self.root / folder if folder else self.root) as entries:
                return [sub for entry in entries if (sub := self.entry(folder, states, entry))]
        except OSError:  # not a folder, gone, unreadable, or a path too long to name
            return []

    def entry(
        self, folder: str, states: States, entry: os.DirEntry[str]
    ) -> tuple[str, States] | None:
        self.seen += 1
        if self.seen > self.max_entries:
            raise TooManyEntries(f"more than {self.max_entries:,} files and folders")
        if is_git_name(entry.name):
            return None
        rel, reached = _join(folder, entry.name), self.glob.step(states, entry.name)
        if not reached:
            return None
        if entry.is_symlink():
            self.symlink(rel, self.glob.accepts(reached))
        elif entry.is_dir(follow_symlinks=False):
            return (rel, reached) if self.glob.alive(reached) else None
        elif entry.is_file(follow_symlinks=False) and self.glob.accepts(reached):
            self.files.append(rel)
        return None

    def symlink(self, rel: str, matched: bool) -> None:
        path = self.root / rel
        if leads_outside(path, self.boundary):
            self.escapes.append(rel)
        elif matched and path.is_file():
            self.files.append(rel)


def walk(
    root: Path, pattern: str | Glob, *, boundary: Path | None = None, max_entries: int = 100_000
) -> Walked:
    """Files under ``root`` matching ``pattern`` (raises :class:`TooManyEntries` past the cap,
    :class:`~seedtree.taxonomy.globs.PatternError` for a malformed pattern)."""
    glob = compile_glob(pattern) if isinstance(pattern, str) else pattern
    fence = boundary or root
    state = _Walk(root, glob, fence, max_entries)
    start = literal_prefix(glob)
    if start and leads_outside(root / start, fence):
        return Walked((), (start,))
    pending = [(start, glob.follow(glob.start(), start))]
    while pending:
        pending.extend(state.folder(*pending.pop()))
    return Walked(tuple(sorted(state.files)), tuple(sorted(state.escapes)))


# --- the taxonomy tree -----------------------------------------------------------------------

MAX_TREE_DEPTH = 32
"""Folders below a taxonomy root a walk enters (the public taxonomy's deepest leaf is 6 down)."""

_SKIP_FOLDERS = frozenset({".git", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class Tree:
    """What :func:`tree` found: the entries whose name was wanted (folders too, not entered when
    wanted), and the folders it did not enter because they lie deeper than its cap (paths as
    strings, sorted as paths sort)."""

    found: tuple[os.DirEntry[str], ...]
    too_deep: tuple[str, ...]


def _path_key(path: str) -> list[str]:
    return path.split(os.sep)


def tree(folder: Path | str, wanted: Callable[[str], bool], *, depth: int = 0) -> Tree:
    """Every entry under ``folder`` whose name ``wanted`` accepts, with an explicit stack (no
    recursion, whatever the nesting), never entering a symlinked folder, a hidden one, or one
    more than :data:`MAX_TREE_DEPTH` below the taxonomy root (``depth``: how far below the root
    ``folder`` already is)."""
    found: list[os.DirEntry[str]] = []
    too_deep: list[str] = []
    pending = [(os.fspath(folder), depth)]
    while pending:
        current, level = pending.pop()
        if level > MAX_TREE_DEPTH:
            too_deep.append(current)
            continue
        for entry in _entries(current):
            is_dir = entry.is_dir(follow_symlinks=False)
            if wanted(entry.name):
                found.append(entry)
            elif is_dir and not entry.name.startswith(".") and entry.name not in _SKIP_FOLDERS:
                pending.append((entry.path, level + 1))
    found.sort(key=lambda entry: _path_key(entry.path))
    return Tree(tuple(found), tuple(sorted(too_deep, key=_path_key)))


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:  # gone, unreadable, or a path the system cannot name
        return []
