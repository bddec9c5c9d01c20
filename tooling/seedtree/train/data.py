"""Training samples: loading per-leaf JSONL datasets and the held-out split.

The record format and :class:`~seedtree.samples.Sample` are owned by :mod:`seedtree.samples`.
Only Q&A samples are held out (a document chunk or a summary of one is what a leaf teaches, not a
question to measure it by); a RAFT sample, which is a Q&A sample with its chunk and distractor
chunks in the prompt, is trained on only when its plain Q&A (``metadata.qa_id``) is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from seedtree.atomic import write_json
from seedtree.errors import UsageError
from seedtree.samples import KNOWLEDGE_RAFT, Record, Sample, parse_sample
from seedtree.train.recipe import HeldOut

DatasetSource = Mapping[str, Sequence[Record]] | Path | Sequence[Path]
HELDOUT_FILE = "heldout.json"


def _jsonl_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    raise UsageError(f"dataset {path}: no such file or folder")


def read_jsonl(path: Path) -> Iterable[tuple[str, Record]]:
    """Each JSON line of ``path`` with its ``file:line`` position."""
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            if not isinstance(value, dict):
                raise UsageError(f"{path}:{number}: expected a JSON object per line")
            yield f"{path}:{number}", value


def _records(source: DatasetSource) -> Iterable[tuple[str, Record, str | None]]:
    if isinstance(source, Mapping):
        for leaf, rows in source.items():
            for i, row in enumerate(rows):
                yield f"{leaf}[{i}]", row, leaf
        return
    paths = [source] if isinstance(source, Path) else list(source)
    for path in paths:
        for file in _jsonl_files(Path(path)):
            for where, row in read_jsonl(file):
                yield where, row, None


def load_samples(source: DatasetSource) -> dict[str, list[Sample]]:
    """Samples per leaf (sorted by leaf id, file order within a leaf; duplicate ids dropped)."""
    by_leaf: dict[str, list[Sample]] = {}
    seen: set[str] = set()
    for where, record, leaf in _records(source):
        sample = parse_sample(record, where, leaf)
        if sample.id in seen:
            continue
        seen.add(sample.id)
        by_leaf.setdefault(sample.leaf, []).append(sample)
    return dict(sorted(by_leaf.items()))


def id_fraction(sample_id: str) -> float:
    """A stable number in [0, 1) from a sample id (the held-out split depends on nothing else)."""
    digest = hashlib.sha256(sample_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def heldout_eligible(sample: Sample) -> bool:
    """A sample the held-out split may choose: a Q&A pair, without a document in its prompt."""
    return not sample.pretrain and sample.source != KNOWLEDGE_RAFT


def _qa_id(sample: Sample) -> str | None:
    meta = sample.record.get("metadata") or {}
    found = meta.get("qa_id") if isinstance(meta, Mapping) else None
    return None if found is None else str(found)


def _choose_heldout(samples: Sequence[Sample], rule: HeldOut, kept: set[str]) -> set[str]:
    ids = {s.id for s in samples if heldout_eligible(s)}
    chosen = {i for i in ids if i in kept or id_fraction(i) < rule.fraction}
    if len(chosen) < rule.min_per_leaf and len(ids) > 2 * rule.min_per_leaf:
        ranked = sorted(ids - chosen, key=id_fraction)
        chosen |= set(ranked[: rule.min_per_leaf - len(chosen)])
    return chosen


def read_heldout(store: Path) -> dict[str, list[str]]:
    path = store / HELDOUT_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: unreadable held-out manifest: {exc}") from None
    return {str(k): [str(i) for i in v] for k, v in dict(data.get("leaves", {})).items()}


def split_heldout(
    by_leaf: Mapping[str, Sequence[Sample]], rule: HeldOut, store: Path, persist: bool = True
) -> tuple[dict[str, list[Sample]], dict[str, list[Sample]]]:
    """(train, held-out) per leaf. Held-out ids are persisted in ``store`` and stay held out."""
    manifest = read_heldout(store)
    train: dict[str, list[Sample]] = {}
    heldout: dict[str, list[Sample]] = {}
    for leaf, samples in by_leaf.items():
        chosen = _choose_heldout(samples, rule, set(manifest.get(leaf, ())))
        heldout[leaf] = [s for s in samples if s.id in chosen]
        train[leaf] = [s for s in samples if s.id not in chosen and _qa_id(s) not in chosen]
        manifest[leaf] = sorted(set(manifest.get(leaf, ())) | chosen)
    if persist:
        write_json(store / HELDOUT_FILE, {"leaves": dict(sorted(manifest.items()))})
    return train, heldout


def heldout_ids(store: Path) -> set[str]:
    """Every sample id ever held out in ``store`` (never trained on nor replayed)."""
    return {i for ids in read_heldout(store).values() for i in ids}
