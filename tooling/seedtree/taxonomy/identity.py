"""A leaf's content hash: what caches, generated data and training state are keyed on.

The hash is the sha256 of a canonical JSON value holding

- ``qna``: the parsed ``qna.yaml`` value, serialised as JSON with sorted keys (so reordering keys,
  re-indenting or re-flowing a folded scalar changes nothing; any change inside a string does);
- ``attribution``: the sha256 of ``attribution.txt``'s bytes (``null`` when it is missing);
- ``documents``: ``[path, sha256 of the bytes]`` of every document the leaf resolves to.

The leaf's id (its path) is not part of the hash: moving a leaf keeps its content hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.leaves import Leaf

SCHEME = "seedtree-leaf-v1"


def _plain(value: Any) -> Any:
    """Mapping keys as strings (YAML allows ``1:`` or ``true:`` keys), recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON; values JSON lacks (YAML dates) are written as strings."""
    return json.dumps(
        _plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def leaf_hash(leaf: Leaf, repo_root: Path) -> str:
    """The leaf's content hash (64 hex digits).

    Resolves the leaf's documents (:func:`seedtree.taxonomy.documents.load_documents`), so it raises
    :class:`~seedtree.errors.UsageError` when a knowledge leaf's documents cannot be resolved.
    """

    return hash_with_documents(leaf, [(d.path, d.sha256) for d in load_documents(leaf, repo_root)])


def hash_with_documents(leaf: Leaf, documents: Sequence[tuple[str, str]]) -> str:
    """The leaf's content hash given its documents' ``(path, sha256)``, already resolved."""
    value = {
        "scheme": SCHEME,
        "qna": dict(leaf.data),
        "attribution": _file_sha256(leaf.attribution_path),
        "documents": [[path, sha] for path, sha in documents],
    }
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
