"""How much reading documents may cost: one leaf's documents, and one run's.

A document is counted by what it resolves to, not by the path that names it: the real path of a
file in a working tree (so hundreds of symlinks to one file are one document, read once), the
object id of a blob in a git tree. A leaf may resolve to at most ``documents.max_leaf_documents``
documents of ``documents.max_leaf_bytes`` bytes together; a run (one process: a ``validate``, a
``generate``, a retrain) to ``documents.max_run_documents`` distinct documents of
``documents.max_run_bytes`` bytes. Sizes are checked before a document is read; the document that
would cross a cap is not read, and the refusal names the pattern that matched it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seedtree.config import DocumentsConfig


class OverLimit(Exception):
    """Reading one more document would cross a cap; ``pattern`` is the index of the pattern
    that matched it."""

    def __init__(self, message: str, pattern: int) -> None:
        super().__init__(message)
        self.pattern = pattern


@dataclass
class Tally:
    """Distinct documents counted so far, and their bytes together."""

    seen: set[str] = field(default_factory=set)
    bytes: int = 0


RUN = Tally()
"""This process's documents (one command is one run)."""


@dataclass
class LeafBudget:
    """The caps one leaf's reading is held to, with the run's tally it adds to."""

    settings: DocumentsConfig
    leaf: Tally = field(default_factory=Tally)
    run: Tally = field(default_factory=lambda: RUN)

    def admit(self, identity: str, size: int, path: str, pattern: int) -> None:
        """Count ``path`` (``size`` bytes, resolving to ``identity``) before it is read, or
        raise :class:`OverLimit` naming the cap it would cross."""
        caps = self.settings
        problem = _over(self.leaf, size, caps.max_leaf_documents, caps.max_leaf_bytes, "leaf")
        if problem is None and identity not in self.run.seen:
            problem = _over(self.run, size, caps.max_run_documents, caps.max_run_bytes, "run")
        if problem is not None:
            raise OverLimit(f"'{path}' is not read: {problem}", pattern)
        self.leaf.seen.add(identity)
        self.leaf.bytes += size
        if identity not in self.run.seen:
            self.run.seen.add(identity)
            self.run.bytes += size


def _over(tally: Tally, size: int, count: int, total: int, scope: str) -> str | None:
    if len(tally.seen) + 1 > count:
        return (
            f"this {scope}'s documents would be more than {count:,} "
            f"(documents.max_{scope}_documents); name fewer files"
        )
    if tally.bytes + size > total:
        return (
            f"this {scope}'s documents would be {tally.bytes + size:,} bytes together, more than "
            f"{total:,} (documents.max_{scope}_bytes); name fewer or smaller files"
        )
    return None
