"""LAB's knowledge recipe beside the Q&A: what a knowledge leaf's dataset holds besides its Q&A.

- ``document``: each chunk of the leaf's documents as pre-training text (no chat template, loss
  on every token);
- ``summary_detailed``, ``summary_extractive``, ``atomic_facts``: the teacher's augmentations of
  each chunk, as pre-training text (asked, parsed, de-duplicated and judged by
  :func:`seedtree.generate.pipelines.augment`);
- ``knowledge_raft``: each accepted Q&A again, its question preceded by its own chunk and
  distractor chunks of other knowledge leaves (RAFT), so that the model learns to find an answer
  in a context as well as to know it. ``metadata.qa_id`` names the plain Q&A sample, so that the
  held-out split keeps the pair out of training in both forms.

No sample is a copy of one of the leaf's seed Q&A pairs: each text is checked against them with
the same ROUGE-L de-duplication as generated questions (a chunk holds the facts the seeds ask
about, which is the point; the seed pair itself stays out).

Distractors: the chunks of the other knowledge leaves of the run, and the seed contexts of the
taxonomy's knowledge leaves the run does not generate (read from their ``qna.yaml``: no document
is fetched for a leaf outside the run). A Q&A's distractors and the position of its own chunk
among them are drawn from a generator seeded by its sample id. A taxonomy with a single knowledge
leaf has no distractor: its Q&A stay plain, and the funnel says why.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seedtree.errors import SeedtreeError
from seedtree.generate.chunking import Chunk, whitespace_tokens
from seedtree.generate.dedup import SEED_COPY, Deduper
from seedtree.generate.pipelines import LeafRun, seed_pairs
from seedtree.generate.samples import Provenance, length_tag, teacher_meta
from seedtree.samples import (
    AUGMENTATIONS,
    DOCUMENT,
    KNOWLEDGE_RAFT,
    build_record,
    build_text_record,
)
from seedtree.taxonomy.leaves import iter_qna_files, load_leaf

RAFT_INSTRUCTION = "Answer the question. The documents below may help; some are unrelated."
NO_DISTRACTOR = "no other knowledge leaf to take distractor chunks from"


@dataclass(frozen=True)
class Distractors:
    """Chunks by knowledge leaf id: where each leaf's RAFT samples take distractors from."""

    chunks: Mapping[str, tuple[Chunk, ...]]

    def for_leaf(self, leaf_id: str) -> tuple[Chunk, ...]:
        return tuple(
            c for other in sorted(self.chunks) if other != leaf_id for c in self.chunks[other]
        )


def _seed_contexts(runs: Sequence[LeafRun]) -> dict[str, tuple[Chunk, ...]]:
    """Seed contexts of the taxonomy's knowledge leaves outside the run (broken leaves skipped)."""
    inside = {r.leaf.id for r in runs}
    root = runs[0].leaf.root
    out = {}
    for path in iter_qna_files(root):
        try:
            leaf = load_leaf(path, root)
        except SeedtreeError:
            continue
        if leaf.kind == "knowledge" and leaf.id not in inside:
            texts = [s.context for s in leaf.knowledge_seeds]
            out[leaf.id] = tuple(
                Chunk(f"{leaf.id}:seed:{i}", f"{leaf.id}:seed:{i}", 0, t, whitespace_tokens(t))
                for i, t in enumerate(texts)
            )
    return out


def distractor_pool(runs: Sequence[LeafRun]) -> Distractors:
    """The distractors of a run (see the module docstring); none when no leaf builds RAFT."""
    knowledge = [r for r in runs if r.leaf.kind == "knowledge" and _builds(r, KNOWLEDGE_RAFT)]
    if not knowledge:
        return Distractors({})
    own = {r.leaf.id: r.chunks for r in runs if r.leaf.kind == "knowledge"}
    return Distractors({**_seed_contexts(runs), **own})


def _builds(run: LeafRun, source: str) -> bool:
    """Whether the run builds ``source`` (a preview builds none of the recipe's extra sources)."""
    return source in run.config.knowledge_sources and run.limits.candidates is None


def _text_row(
    run: LeafRun, prov: Provenance, source: str, text: str, chunk: Chunk, **meta: Any
) -> dict[str, Any]:
    return build_text_record(
        run.leaf.id,
        run.leaf_hash,
        source,
        text,
        pipeline="knowledge",
        length=length_tag(text, prov.config.long_answer_words),
        chunk_id=chunk.id,
        taxonomy_commit=prov.taxonomy_commit,
        **meta,
    )


def document_rows(run: LeafRun, prov: Provenance) -> list[dict[str, Any]]:
    """Each chunk as pre-training text, except exact or near copies of a seed pair or a chunk."""
    if not _builds(run, DOCUMENT):
        return []
    deduper = Deduper(run.config.rouge_threshold)
    deduper.add_seeds(seed_pairs(run))
    counts = run.funnel.source(DOCUMENT)
    rows = []
    for chunk, reason in zip(run.chunks, deduper.filter([c.text for c in run.chunks]), strict=True):
        counts.made += 1
        if reason is None:
            rows.append(_text_row(run, prov, DOCUMENT, chunk.text, chunk))
        else:
            counts.duplicates += 1
            counts.reject(reason if reason == SEED_COPY else "duplicate")
    counts.samples = len(rows)
    return rows


def augmentation_rows(run: LeafRun, prov: Provenance) -> list[dict[str, Any]]:
    """The augmentations the judge kept, as pre-training text."""
    rows = []
    for kind in AUGMENTATIONS:
        for cand in run.augmented.get(kind, []):
            assert cand.chunk is not None and cand.answer is not None
            meta = {
                "teacher": teacher_meta(prov),
                "prompt_version": dict(sorted(cand.prompts.items())),
                "judge_scores": dict(sorted(cand.scores.items())),
            }
            rows.append(_text_row(run, prov, kind, cand.answer, cand.chunk, **meta))
    return rows


def raft_user(chunks: Sequence[Chunk], question: str) -> str:
    """The prompt of a RAFT sample: the instruction, the documents, then the question."""
    documents = "\n\n".join(f"Document {i}:\n{c.text}" for i, c in enumerate(chunks, 1))
    return f"{RAFT_INSTRUCTION}\n\n{documents}\n\nQuestion: {question}"


def _raft_chunks(own: Chunk, pool: Sequence[Chunk], k: int, qa_id: str) -> list[Chunk]:
    """``k`` distractors from ``pool`` with ``own`` at a position, all drawn by ``qa_id``."""
    rng = random.Random(qa_id)
    others = [c for c in pool if c.text != own.text]
    chosen = [others[i] for i in sorted(rng.sample(range(len(others)), min(k, len(others))))]
    rng.shuffle(chosen)
    chosen.insert(rng.randrange(len(chosen) + 1), own)
    return chosen


def raft_rows(
    run: LeafRun, qa_rows: Sequence[dict[str, Any]], distractors: Distractors
) -> list[dict[str, Any]]:
    """Each Q&A sample again with its chunk among distractor chunks of other leaves."""
    if not _builds(run, KNOWLEDGE_RAFT) or not qa_rows:
        return []
    counts = run.funnel.source(KNOWLEDGE_RAFT)
    counts.made += len(qa_rows)
    pool = distractors.for_leaf(run.leaf.id)
    if not pool:
        counts.reject(NO_DISTRACTOR, len(qa_rows))
        return []
    by_id = {c.id: c for c in run.chunks}
    rows = []
    for qa, cand in zip(qa_rows, run.accepted, strict=True):
        own = by_id[qa["metadata"]["chunk_id"]]
        chunks = _raft_chunks(own, pool, run.config.raft_distractors, qa["id"])
        meta = {k: v for k, v in qa["metadata"].items() if k not in ("leaf", "leaf_hash", "kind")}
        meta.update(source=KNOWLEDGE_RAFT, qa_id=qa["id"], documents=[c.id for c in chunks])
        meta.pop("chunk_text", None)
        user = raft_user(chunks, cand.question)
        rows.append(
            build_record(run.leaf.id, run.leaf_hash, "knowledge", user, cand.answer or "", **meta)
        )
    counts.samples = len(rows)
    return rows


def knowledge_rows(
    run: LeafRun, qa_rows: Sequence[dict[str, Any]], prov: Provenance, distractors: Distractors
) -> list[dict[str, Any]]:
    """Every sample of a knowledge leaf besides its plain Q&A (none for other leaves)."""
    if run.leaf.kind != "knowledge":
        return []
    return [
        *document_rows(run, prov),
        *augmentation_rows(run, prov),
        *raft_rows(run, qa_rows, distractors),
    ]
