"""Document digests cached by (repository, commit), so that hashing a leaf fetches nothing twice.

A leaf's content hash (:mod:`seedtree.taxonomy.identity`) covers the ``(path, sha256)`` of every
document it references. Files of a git repository at a full commit SHA never change, so the
digests that ``document: {repo, commit, patterns}`` resolves to are stored once, under
``$SEEDTREE_HOME/documents/digests/<key>.json``, and read back by every later run: planning a
retrain of an unchanged taxonomy then needs no fetch, no git process and no document read.

The key covers the taxonomy repository, ``repo``, ``commit``, ``patterns`` and the whole
``documents`` configuration (its allow-lists included: an entry made under another policy is
never used, so a cache hit never bypasses the repository checks of ``load_documents``).
References without a full SHA (a working tree) are resolved each time.
Misses (and unreadable entries) go through :func:`seedtree.taxonomy.documents.load_documents`,
so every rule of resolving documents applies to what the cache holds; failures are not cached.

:func:`prune` (``seedtree cache gc``) keeps the fetched repositories and digests the current
leaves name and removes the rest: both are caches, fetched or computed again when needed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from seedtree.atomic import write_json
from seedtree.config import DocumentsConfig
from seedtree.home import documents_dir
from seedtree.taxonomy.docfetch import cache_key
from seedtree.taxonomy.docfetch import prune as prune_fetched
from seedtree.taxonomy.docpolicy import RemoteRepository, RepoRefused, classify, settings_for
from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.identity import hash_with_documents
from seedtree.taxonomy.leaves import DocumentRef, Leaf

FORMAT = 1
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
Digests = list[tuple[str, str]]


def entry_path(ref: DocumentRef | None, repo_root: Path, settings: DocumentsConfig) -> Path | None:
    """Where the digests of ``ref`` are cached; ``None`` when they may change (no full SHA)."""
    if ref is None or ref.commit is None or not _FULL_SHA.match(ref.commit):
        return None
    key = [
        FORMAT,
        str(repo_root.resolve()),
        ref.repo,
        ref.commit,
        ref.patterns,
        settings.model_dump(mode="json"),
    ]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]
    return documents_dir() / "digests" / f"{digest}.json"


def _read(path: Path) -> Digests | None:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["documents"]
        return [(str(p), str(s)) for p, s in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: resolve again and overwrite


def document_digests(
    leaf: Leaf, repo_root: Path, *, settings: DocumentsConfig | None = None
) -> Digests:
    """``(path, sha256)`` of every document of ``leaf`` (``[]`` for a skill), from the cache
    when it holds them; raises :class:`~seedtree.errors.UsageError` like ``load_documents``."""
    settings = settings or settings_for(repo_root)
    path = entry_path(leaf.document, repo_root, settings)
    cached = _read(path) if path is not None else None
    if cached is not None:
        return cached
    found = [(d.path, d.sha256) for d in load_documents(leaf, repo_root, settings=settings)]
    if path is not None:
        write_json(path, {"format": FORMAT, "documents": found})
    return found


def cached_leaf_hash(
    leaf: Leaf, repo_root: Path, *, settings: DocumentsConfig | None = None
) -> str:
    """:func:`seedtree.taxonomy.identity.leaf_hash`, with documents from the digest cache."""
    return hash_with_documents(leaf, document_digests(leaf, repo_root, settings=settings))


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune` removed."""

    repositories: int
    repository_bytes: int
    digests: int


def _fetched_key(ref: DocumentRef, settings: DocumentsConfig) -> str | None:
    try:
        kind = classify(ref.repo.strip(), settings)
    except RepoRefused:
        return None
    if not isinstance(kind, RemoteRepository) or ref.commit is None:
        return None
    return cache_key(kind.url, ref.commit)


def prune(leaves: Iterable[Leaf], repo_root: Path) -> Pruned:
    """Remove the fetched repositories and digest entries no leaf of ``leaves`` names."""
    settings = settings_for(repo_root)
    refs = [leaf.document for leaf in leaves if leaf.document is not None]
    repositories, freed = prune_fetched({k for r in refs if (k := _fetched_key(r, settings))})
    keep = {p.name for r in refs if (p := entry_path(r, repo_root, settings)) is not None}
    digests = 0
    for entry in (documents_dir() / "digests").glob("*.json"):
        if entry.name not in keep:
            entry.unlink(missing_ok=True)
            digests += 1
    return Pruned(repositories, freed, digests)
