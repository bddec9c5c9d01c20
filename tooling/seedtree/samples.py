"""The training-sample record: one owner for building it, reading it and naming it.

A sample is one JSON line of a per-leaf dataset::

    {"id": "<leaf id>:<16 hex>", "messages": [{"role": "system", ...}, {"role": "user", ...},
     {"role": "assistant", ...}], "metadata": {"leaf", "leaf_hash", "kind", "length", ...}}

Generation (:mod:`seedtree.generate.samples`) and the seed datasets
(:mod:`seedtree.train.seeddata`) build records with :func:`build_record`; training, replay and
evaluation read them with :func:`parse_sample`. The id depends only on the leaf and the
conversation's content (:func:`sample_id`), so identical content gets one id wherever it is built.
``metadata.unmask: true`` (or a top-level ``unmask``) asks for loss on everything but the system
prompt (LAB's ``unmask``, used for knowledge text); otherwise only the answer is trained on.

A pre-training sample (a document chunk, or a teacher's summary or atomic facts of one) has no
conversation: ``{"id", "text", "metadata"}``, rendered without a chat template and trained on
every token (:func:`build_text_record`). ``metadata.source`` names what made a sample (one of
:data:`SOURCES`, or ``seeds``); a recipe phase selects samples by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seedtree.errors import UsageError

SYSTEM = "You are a helpful, accurate assistant."
# what made a sample: knowledge leaves have every source but skill_qa, skill leaves skill_qa
DOCUMENT = "document"
AUGMENTATIONS = ("summary_detailed", "summary_extractive", "atomic_facts")
KNOWLEDGE_QA = "knowledge_qa"
KNOWLEDGE_RAFT = "knowledge_raft"
SKILL_QA = "skill_qa"
SOURCES = (DOCUMENT, *AUGMENTATIONS, KNOWLEDGE_QA, KNOWLEDGE_RAFT, SKILL_QA)
PRETRAIN_SOURCES = (DOCUMENT, *AUGMENTATIONS)

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Sample:
    id: str
    leaf: str
    leaf_hash: str
    kind: str
    length: str | None
    system: str
    user: str
    assistant: str
    unmask: bool = False
    source: str = ""  # see SOURCES ("" in records older than sources: the kind's Q&A)
    pretrain: bool = False  # plain text: no chat template, every token trained on
    record: Record = field(default_factory=dict, compare=False, repr=False)


def sample_id(leaf: str, user: str, answer: str) -> str:
    """``<leaf>:<16 hex>``: the leaf id and a digest of the user turn and the answer."""
    digest = hashlib.sha256(f"{user}\n\x00{answer}".encode()).hexdigest()[:16]
    return f"{leaf}:{digest}"


def leaf_kind(leaf_type: str) -> str:
    """The training kind of a leaf type: ``knowledge`` or ``skill``."""
    return "knowledge" if leaf_type == "knowledge" else "skill"


def build_record(
    leaf: str, leaf_hash: str, leaf_type: str, user: str, answer: str, **metadata: Any
) -> dict[str, Any]:
    """A dataset record; ``metadata`` adds fields after leaf, leaf_hash and kind."""
    return {
        "id": sample_id(leaf, user, answer),
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ],
        "metadata": {
            "leaf": leaf,
            "leaf_hash": leaf_hash,
            "kind": leaf_kind(leaf_type),
            **metadata,
        },
    }


def default_source(kind: str) -> str:
    """The source of a record that names none: the Q&A of its kind."""
    return KNOWLEDGE_QA if leaf_kind(kind) == "knowledge" else SKILL_QA


def build_text_record(
    leaf: str, leaf_hash: str, source: str, text: str, **metadata: Any
) -> dict[str, Any]:
    """A pre-training record of a knowledge leaf (``source``: one of PRETRAIN_SOURCES)."""
    if source not in PRETRAIN_SOURCES:
        raise ValueError(f"{source} is not a pre-training source")
    return {
        "id": sample_id(leaf, "", text),
        "text": text,
        "metadata": {
            "leaf": leaf,
            "leaf_hash": leaf_hash,
            "kind": "knowledge",
            "source": source,
            **metadata,
        },
    }


def sample_record(sample: Sample) -> dict[str, Any]:
    """The record of a sample (the one it was read from, with its current leaf and hash)."""
    record = dict(sample.record)
    if not record and sample.pretrain:
        meta = {"kind": sample.kind, "length": sample.length, "source": sample.source}
        record = {"id": sample.id, "text": sample.assistant, "metadata": meta}
    elif not record:
        record = {
            "id": sample.id,
            "messages": [
                {"role": "system", "content": sample.system},
                {"role": "user", "content": sample.user},
                {"role": "assistant", "content": sample.assistant},
            ],
            "metadata": {"kind": sample.kind, "length": sample.length, "unmask": sample.unmask},
        }
    meta = dict(record.get("metadata") or {})
    meta.update(leaf=sample.leaf, leaf_hash=sample.leaf_hash)
    record["metadata"] = meta
    return record


def _content(messages: Sequence[Record], role: str) -> str | None:
    found = [m.get("content") for m in messages if isinstance(m, Mapping) and m.get("role") == role]
    return str(found[-1]) if found else None


def _turns(record: Record, where: str) -> tuple[str | None, str | None, str]:
    """(user, assistant, system) of a chat record; (``""``, text, ``""``) of a text record."""
    text, messages = record.get("text"), record.get("messages")
    if isinstance(text, str) and messages is None:
        return "", text, ""
    if not isinstance(messages, list):
        raise UsageError(f"{where}: a sample needs 'messages' (a list) or 'text' (a string)")
    user, assistant = _content(messages, "user"), _content(messages, "assistant")
    return user, assistant, _content(messages, "system") or ""


def parse_sample(record: Record, where: str, leaf: str | None = None) -> Sample:
    """One dataset record as a :class:`Sample` (``where`` names it in errors)."""
    meta = record.get("metadata") or {}
    if not isinstance(meta, Mapping):
        raise UsageError(f"{where}: a sample's 'metadata' must be a mapping")
    user, assistant, system = _turns(record, where)
    leaf_id = str(meta.get("leaf") or leaf or "")
    if record.get("id") is None or user is None or assistant is None or not leaf_id:
        raise UsageError(
            f"{where}: a sample needs an 'id', a user and an assistant message (or a 'text'), "
            "and metadata.leaf",
            hint="regenerate the dataset with `seedtree generate`",
        )
    kind = str(meta.get("kind") or ("knowledge" if leaf_id.startswith("knowledge/") else "skill"))
    length = meta.get("length")
    return Sample(
        id=str(record["id"]),
        leaf=leaf_id,
        leaf_hash=str(meta.get("leaf_hash") or ""),
        kind=leaf_kind(kind),
        length=None if length is None else str(length),
        system=system,
        user=user,
        assistant=assistant,
        unmask=bool(meta.get("unmask") or record.get("unmask")),
        source=str(meta.get("source") or default_source(kind)),
        pretrain="messages" not in record,
        record=record,
    )
