"""Accepted candidates as chat samples: the JSONL records training reads.

The other sources of a knowledge leaf (its chunks, their augmentations, RAFT Q&A) are built by
:mod:`seedtree.generate.knowledge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seedtree.config import GenerateConfig
from seedtree.generate.pipelines import Candidate, LeafRun
from seedtree.samples import KNOWLEDGE_QA, SKILL_QA, build_record


@dataclass(frozen=True)
class Provenance:
    """What every sample of a run records besides its own content."""

    teacher: str
    taxonomy_commit: str | None
    config: GenerateConfig


def length_tag(answer: str, long_words: int) -> str:
    return "long" if len(answer.split()) > long_words else "short"


def _user(cand: Candidate) -> str:
    if cand.context:
        return f"{cand.context}\n\n{cand.question}"
    return cand.question


def teacher_meta(prov: Provenance) -> dict[str, Any]:
    return {
        "id": prov.teacher,
        "temperature": prov.config.temperature,
        "top_p": prov.config.top_p,
        "max_tokens": prov.config.max_tokens,
    }


def record(run: LeafRun, cand: Candidate, prov: Provenance) -> dict[str, Any]:
    answer = cand.answer or ""
    meta: dict[str, Any] = {
        "pipeline": run.leaf.kind,
        "source": KNOWLEDGE_QA if run.leaf.kind == "knowledge" else SKILL_QA,
        "length": length_tag(answer, prov.config.long_answer_words),
        "seed_ids": list(cand.seed_ids),
        "chunk_id": cand.chunk.id if cand.chunk else None,
        "teacher": teacher_meta(prov),
        "prompt_version": dict(sorted(cand.prompts.items())),
        "judge_scores": dict(sorted(cand.scores.items())),
        "taxonomy_commit": prov.taxonomy_commit,
    }
    if prov.config.answer_temperature is not None and run.leaf.kind != "knowledge":
        meta["teacher"]["answer_temperature"] = prov.config.answer_temperature
    if cand.chunk is not None:
        meta["chunk_text"] = cand.chunk.text
    if cand.context is not None:
        meta["context"] = cand.context
    return build_record(run.leaf.id, run.leaf_hash, run.leaf.kind, _user(cand), answer, **meta)
