"""The replay buffer: per leaf, a reservoir sample of the data the model was trained on.

It persists in a folder the caller chooses (the retrain pipeline uses
``$SEEDTREE_HOME/repos/<repository id>/replay``)::

    manifest.json            {"leaves": {leaf id: {"leaf_hash", "sample_ids", "seen", "file"}}}
    samples/<key>.jsonl      the kept samples of one leaf, as they were generated
    samples/<key>.offered    every id ever offered for the leaf's current hash (one per line)

Reservoir sampling is deterministic (seeded by the leaf id and how many samples it has seen), so
the same runs give the same buffer. A leaf whose hash changes starts a new reservoir: its old data
no longer describes it. Phases draw replay from it at a ratio, deterministically from a seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seedtree.atomic import write_json, write_jsonl, write_text
from seedtree.errors import UsageError
from seedtree.samples import Sample, parse_sample, sample_record
from seedtree.train.data import HELDOUT_FILE, read_heldout, read_jsonl
from seedtree.train.recipe import ReplaySource

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class LeafEntry:
    leaf_hash: str
    sample_ids: tuple[str, ...]
    seen: int
    file: str


def _key(leaf: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in leaf)[-60:]
    return f"{slug}-{hashlib.sha256(leaf.encode()).hexdigest()[:10]}"


def _offered_file(leaf: str) -> str:
    return f"samples/{_key(leaf)}.offered"


class ReplayBuffer:
    """Reservoir samples per leaf under ``root``; every change is written atomically."""

    def __init__(self, root: Path, capacity_per_leaf: int = 1000) -> None:
        self.root = root
        self.capacity = capacity_per_leaf
        self._entries = self._read_manifest()

    def _read_manifest(self) -> dict[str, LeafEntry]:
        path = self.root / MANIFEST
        if not path.is_file():
            return {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))["leaves"]
            return {
                leaf: LeafEntry(e["leaf_hash"], tuple(e["sample_ids"]), int(e["seen"]), e["file"])
                for leaf, e in raw.items()
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"{path}: unreadable replay manifest ({exc})",
                hint="restore it from a backup or delete the replay folder to start over",
            ) from None

    def _write_manifest(self) -> None:
        leaves = {
            leaf: {
                "leaf_hash": e.leaf_hash,
                "sample_ids": list(e.sample_ids),
                "seen": e.seen,
                "file": e.file,
            }
            for leaf, e in sorted(self._entries.items())
        }
        write_json(self.root / MANIFEST, {"leaves": leaves})

    def leaves(self) -> dict[str, LeafEntry]:
        return dict(self._entries)

    def samples(self, leaf: str) -> list[Sample]:
        entry = self._entries.get(leaf)
        if entry is None:
            return []
        path = self.root / entry.file
        if not path.is_file():
            raise UsageError(f"replay buffer {self.root}: {entry.file} is missing for {leaf}")
        return [parse_sample(row, where, leaf) for where, row in read_jsonl(path)]

    def add(self, leaf: str, leaf_hash: str, samples: Sequence[Sample]) -> None:
        """Offer ``samples`` to the leaf's reservoir; ids offered before are not offered again."""
        entry = self._entries.get(leaf)
        same = entry is not None and entry.leaf_hash == leaf_hash
        kept = self.samples(leaf) if same else []
        offered = self._offered(leaf) if same else []
        known = set(offered)
        for sample in samples:
            if sample.id in known:
                continue
            known.add(sample.id)
            offered.append(sample.id)
            if len(kept) < self.capacity:
                kept.append(sample)
                continue
            slot = random.Random(f"{leaf}:{len(offered)}").randrange(len(offered))
            if slot < self.capacity:
                kept[slot] = sample
        write_text(self.root / _offered_file(leaf), "".join(f"{i}\n" for i in offered))
        self._store(leaf, LeafEntry(leaf_hash, tuple(s.id for s in kept), len(offered), ""), kept)

    def _offered(self, leaf: str) -> list[str]:
        path = self.root / _offered_file(leaf)
        return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []

    def _store(self, leaf: str, entry: LeafEntry, kept: Sequence[Sample]) -> None:
        file = f"samples/{_key(leaf)}.jsonl"
        write_jsonl(self.root / file, [sample_record(s) for s in kept])
        self._entries[leaf] = LeafEntry(entry.leaf_hash, entry.sample_ids, entry.seen, file)
        self._write_manifest()

    def remove_leaf(self, leaf: str) -> bool:
        """Stop replaying ``leaf`` (a deleted leaf). Returns whether it was in the buffer."""
        _move_heldout(self.root, leaf, None)
        entry = self._entries.pop(leaf, None)
        if entry is None:
            return False
        self._write_manifest()
        (self.root / entry.file).unlink(missing_ok=True)
        (self.root / _offered_file(leaf)).unlink(missing_ok=True)
        return True

    def rename_leaf(self, old: str, new: str) -> bool:
        """Keep a renamed leaf's data under its new id. Returns whether ``old`` was present."""
        if old not in self._entries:
            return False
        if new in self._entries:
            raise UsageError(f"replay buffer {self.root}: cannot rename {old} to {new}: exists")
        _move_heldout(self.root, old, new)
        entry = self._entries[old]
        moved = [_renamed(s, new) for s in self.samples(old)]
        write_text(self.root / _offered_file(new), "".join(f"{i}\n" for i in self._offered(old)))
        self._store(new, entry, moved)
        self.remove_leaf(old)
        return True


def _move_heldout(root: Path, leaf: str, new: str | None) -> None:
    """Carry a leaf's held-out ids (kept beside the buffer) to its new id, or drop them."""
    manifest = read_heldout(root)
    if leaf not in manifest:
        return
    ids = manifest.pop(leaf)
    if new is not None:
        manifest[new] = sorted(set(manifest.get(new, [])) | set(ids))
    write_json(root / HELDOUT_FILE, {"leaves": dict(sorted(manifest.items()))})


def _renamed(sample: Sample, leaf: str) -> Sample:
    record = dict(sample.record)
    record["metadata"] = {**dict(record.get("metadata") or {}), "leaf": leaf}
    return parse_sample(record, f"replay:{sample.id}", leaf)


def draw_replay(
    pool: Mapping[str, Sequence[Sample]],
    sources: Iterable[ReplaySource],
    n_new: int,
    exclude: set[str],
    seed: str,
) -> list[Sample]:
    """Replay for a phase with ``n_new`` new samples: per source, ``ratio * n_new`` samples drawn
    without replacement from the matching pool, spread over its leaves: every leaf gives one
    before any gives a second, leaves and samples in an order shuffled by ``seed``."""
    chosen: list[Sample] = []
    taken = set(exclude)
    for number, source in enumerate(sources):
        rng = random.Random(f"{seed}:{number}")
        per_leaf = [
            rows for leaf in sorted(pool) if (rows := _shuffled(pool[leaf], source, taken, rng))
        ]
        rng.shuffle(per_leaf)
        rounds = (s for row in itertools.zip_longest(*per_leaf) for s in row if s is not None)
        picked = list(itertools.islice(rounds, round(source.ratio * n_new)))
        taken |= {s.id for s in picked}
        chosen += picked
    return chosen


def _shuffled(
    rows: Sequence[Sample], source: ReplaySource, taken: set[str], rng: random.Random
) -> list[Sample]:
    """The samples of one leaf that ``source`` selects and nobody took, in ``rng``'s order."""
    matching = sorted(
        (s for s in rows if s.id not in taken and source.select.takes(s)),
        key=lambda s: s.id,
    )
    rng.shuffle(matching)
    return matching
