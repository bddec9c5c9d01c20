"""Rules about where a leaf sits: its file name, its folder, its type, leaves above it, how
deep it is, and whether its files are files.

- ``folder-depth``: a folder more than :data:`~seedtree.taxonomy.safewalk.MAX_TREE_DEPTH` levels
  below the taxonomy root (every walk stops there, so nothing below it is ever read);
- ``leaf-symlink``: ``qna.yaml`` or ``attribution.txt`` is a symlink. Leaf files must be regular
  files: every other stage skips such a leaf, so a leaf that validates is one they all load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from seedtree.findings import Finding
from seedtree.taxonomy.leaves import QNA, TOPS, linked_files
from seedtree.taxonomy.safewalk import MAX_TREE_DEPTH
from seedtree.validate.context import FileCheck
from seedtree.yamlpos import Pos

FOLDER_NAME = re.compile(r"^[a-z0-9_]+$")
_START = Pos(1, 1)


def is_misnamed(name: str) -> bool:
    """``qna.yml``, ``QnA.yaml``, ``qna.YAML``: a leaf file that is not exactly ``qna.yaml``."""
    return name != QNA and name.lower() in {"qna.yaml", "qna.yml"}


def file_name(check: FileCheck) -> Iterator[Finding]:
    name = check.path.name
    if name != QNA:
        yield check.at(
            _START,
            "file-name",
            f"a leaf file must be named exactly '{QNA}', not '{name}' (other tools skip it): "
            f"rename it",
        )


def location(check: FileCheck) -> Iterator[Finding]:
    rel = check.rel
    if rel is None:
        yield check.at(
            _START,
            "leaf-location",
            "not inside a taxonomy: a leaf must sit under knowledge/, compositional_skills/ or "
            "foundational_skills/",
        )
    elif rel.parts[0] not in TOPS:
        yield check.at(
            _START,
            "leaf-location",
            f"'{rel.parts[0]}/' is not a taxonomy part: move the leaf under one of "
            f"{', '.join(t + '/' for t in TOPS)}",
        )
    elif len(rel.parts) < 3:
        yield check.at(
            _START,
            "leaf-location",
            f"the leaf sits directly in {rel.parts[0]}/: put it in a folder that names it",
        )


def _looks_like(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    seeds = data.get("seed_examples")
    first = seeds[0] if isinstance(seeds, list) and seeds else None
    if "document" in data or (isinstance(first, dict) and "questions_and_answers" in first):
        return "knowledge"
    if "task_description" in data and isinstance(first, dict) and "question" in first:
        return "skills"
    return None


def leaf_type(check: FileCheck) -> Iterator[Finding]:
    top = check.top
    looks = _looks_like(check.data)
    if top is None or looks is None or looks == check.kind:
        return
    where = "knowledge/" if looks == "knowledge" else "compositional_skills/"
    what = (
        "a knowledge leaf (document, questions_and_answers)"
        if looks == "knowledge"
        else ("a skill (task_description, question/answer seeds)")
    )
    yield check.at(
        _START, "leaf-type", f"this is {what} but it sits under {top}/: move it under {where}"
    )


def nested_leaf(check: FileCheck) -> Iterator[Finding]:
    if check.root is None or check.rel is None:
        return
    for depth in range(1, len(check.rel.parts) - 1):
        above = "/".join(check.rel.parts[:depth])
        if _is_leaf_dir(os.path.join(check.root, above)):
            yield check.at(
                _START,
                "nested-leaf",
                f"{above}/ above this leaf is itself a leaf ({above}/{QNA}): leaves must not "
                "contain leaves; move one of them",
            )


@lru_cache(maxsize=4096)
def _is_leaf_dir(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, QNA))


def folder_names(check: FileCheck) -> Iterator[Finding]:
    if check.rel is None:
        return
    for part in check.rel.parts[:-1]:
        if not FOLDER_NAME.match(part):
            yield check.at(
                _START,
                "folder-name",
                f"folder '{part}' should be lowercase letters, digits and underscores",
            )


def too_deep(path: Path, shown: str, rel: PurePosixPath | None) -> Finding | None:
    """``folder-depth`` when ``path`` (a leaf file or a folder) lies below the depth every walk
    stops at; the file is then not read."""
    if rel is None or len(rel.parts) <= MAX_TREE_DEPTH:
        return None
    levels = len(rel.parts) - (0 if path.is_dir() else 1)
    if levels <= MAX_TREE_DEPTH:
        return None
    return Finding(
        shown,
        1,
        1,
        "error",
        "folder-depth",
        f"{levels} folders below the taxonomy root, more than the limit of {MAX_TREE_DEPTH}: "
        "no stage reads anything below it; flatten the tree",
    )


def linked_leaf_files(path: Path, shown: str) -> list[Finding]:
    """``leaf-symlink`` for the leaf's ``qna.yaml`` and ``attribution.txt`` that are symlinks."""
    base = os.path.dirname(shown)
    linked = {p.name for p in linked_files(path.parent)} | (
        {path.name} if path.is_symlink() else set()
    )
    return [
        Finding(
            f"{base}/{name}" if base else name,
            1,
            1,
            "error",
            "leaf-symlink",
            "a symlink: leaf files (qna.yaml, attribution.txt) must be regular files, and no "
            "other stage reads a leaf whose files are not; replace it with a copy of the file",
        )
        for name in sorted(linked)
    ]
