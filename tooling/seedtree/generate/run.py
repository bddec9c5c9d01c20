"""Generation over a set of leaves: the API that the CLI, preview and retraining call.

``generate_leaves`` builds one :class:`~seedtree.generate.pipelines.LeafRun` per leaf, runs them
together through the :class:`~seedtree.generate.executor.Executor` (answers stored as they arrive),
and writes per leaf ``<out>/<leaf id>/samples.jsonl`` and ``funnel.json``: the accepted Q&A, then
for a knowledge leaf the other sources of LAB's knowledge recipe
(:mod:`seedtree.generate.knowledge`). ``estimate`` says what a run would cost before it starts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedtree.atomic import write_json, write_jsonl
from seedtree.config import DocumentsConfig, GenerateConfig
from seedtree.errors import GitError
from seedtree.generate.chunking import Chunk, TokenCounter, chunk_document, token_counter
from seedtree.generate.executor import Executor
from seedtree.generate.funnel import Funnel
from seedtree.generate.knowledge import Distractors, distractor_pool, knowledge_rows
from seedtree.generate.limits import FULL_RUN, Limits
from seedtree.generate.outcomes import Outcome, outcomes
from seedtree.generate.pipelines import LeafRun, augmented_chunks
from seedtree.generate.progress import StageProgress
from seedtree.generate.prompts import Prompts
from seedtree.generate.samples import Provenance, record
from seedtree.generate.store import AnswerStore, dataset_path
from seedtree.git import head_commit
from seedtree.home import RepoHome
from seedtree.project import find_repo_root
from seedtree.samples import AUGMENTATIONS
from seedtree.taxonomy.documents import Document, load_documents
from seedtree.taxonomy.identity import hash_with_documents
from seedtree.taxonomy.leaves import Leaf
from seedtree.teacher.base import Teacher


@dataclass(frozen=True)
class LeafResult:
    """One leaf's outcome: its accepted Q&A samples (JSONL records), funnel, chunks and dataset
    file, which holds the Q&A and then ``knowledge``: a knowledge leaf's documents, augmentations
    and RAFT samples."""

    leaf_id: str
    leaf_hash: str
    kind: str
    samples: list[dict[str, Any]]
    funnel: Funnel
    chunks: tuple[Chunk, ...] = ()
    dataset_path: Path | None = None
    outcomes: tuple[Outcome, ...] = ()  # every candidate made, kept or not, with its verdict
    knowledge: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every record of the dataset file, in its order."""
        return [*self.samples, *self.knowledge]


@dataclass(frozen=True)
class GenerationReport:
    teacher: str
    out_dir: Path
    seconds: float
    leaves: dict[str, LeafResult] = field(default_factory=dict)

    @property
    def teacher_calls(self) -> int:
        """Requests the teacher answered in this run (answers taken from the store excluded)."""
        return sum(r.funnel.teacher_calls for r in self.leaves.values())

    @property
    def samples(self) -> int:
        return sum(len(r.samples) for r in self.leaves.values())


@dataclass(frozen=True)
class LeafEstimate:
    """Expected cost of one leaf: from every candidate passing (min) to the attempt cap (max)."""

    samples: int
    attempt_cap: int
    chunks: int
    calls_min: int
    calls_max: int
    tokens_min: int
    tokens_max: int
    augment_calls: int = 0  # knowledge: augmentation requests and their judges (in calls)
    extra_samples: int = 0  # knowledge: at most this many document, augmentation and RAFT samples


def _prompts(config: GenerateConfig, repo_root: Path) -> Prompts:
    folder = None if config.prompts_dir is None else (repo_root / config.prompts_dir)
    return Prompts(folder)


def leaf_chunks(
    leaf: Leaf,
    repo_root: Path,
    config: GenerateConfig,
    count: TokenCounter,
    per_document: int | None = None,
    documents: Sequence[Document] | None = None,
) -> tuple[Chunk, ...]:
    """A knowledge leaf's document chunks (its seed contexts when it resolves no document);
    with ``per_document``, the first chunks of each document only. ``documents``: the leaf's,
    already loaded (else they are loaded here)."""

    chunks: list[Chunk] = []
    loaded = load_documents(leaf, repo_root) if documents is None else documents
    for doc in loaded:
        chunks += chunk_document(
            doc.path, doc.text, config.chunk_tokens, config.chunk_overlap, count
        )[:per_document]
    if not chunks:
        contexts = [s.context for s in leaf.knowledge_seeds]
        chunks = [Chunk(f"seed:{i}#0", f"seed:{i}", 0, c, count(c)) for i, c in enumerate(contexts)]
    return tuple(chunks)


def _commit(repo_root: Path) -> str | None:

    try:
        return head_commit(repo_root)
    except GitError:
        return None


def _leaf_run(
    leaf: Leaf,
    repo_root: Path,
    config: GenerateConfig,
    prompts: Prompts,
    wanted: int,
    count: TokenCounter | None,
    limits: Limits,
    settings: DocumentsConfig | None = None,
) -> LeafRun:
    """One leaf's run; its documents are loaded once, for the chunks and for the hash."""
    documents = load_documents(leaf, repo_root, settings=settings)
    chunks: tuple[Chunk, ...] = ()
    if leaf.kind == "knowledge":
        counter = count or token_counter(config.tokenizer)
        per_document = limits.chunks_per_document
        chunks = leaf_chunks(leaf, repo_root, config, counter, per_document, documents)
    digest = hash_with_documents(leaf, [(d.path, d.sha256) for d in documents])
    return LeafRun(leaf, digest, config, prompts, wanted, chunks, limits)


def generate_leaves(
    leaves: Sequence[Leaf],
    teacher: Teacher,
    *,
    repo_root: Path,
    config: GenerateConfig,
    samples: int | None = None,
    out_dir: Path | None = None,
    quiet: bool = False,
    tokenizer: TokenCounter | None = None,
    limits: Limits = FULL_RUN,
    documents: DocumentsConfig | None = None,
) -> GenerationReport:
    """Generate ``samples`` accepted samples (default ``config.samples_per_leaf``) per leaf.

    ``tokenizer`` counts chunk tokens (default: ``config.tokenizer``). Answers already stored
    are reused; the rest are asked of ``teacher`` in batches across leaves. ``limits`` caps a
    preview's run (see :mod:`seedtree.generate.limits`). ``documents``: the project's document
    settings, handed down (else read from the repository's configuration).
    """
    started = time.perf_counter()
    wanted = config.samples_per_leaf if samples is None else samples
    prompts = _prompts(config, repo_root)
    runs = [
        _leaf_run(leaf, repo_root, config, prompts, wanted, tokenizer, limits, settings=documents)
        for leaf in leaves
    ]
    store = AnswerStore.for_repo(repo_root)
    try:
        with StageProgress(quiet or config.quiet) as progress:
            Executor(teacher, store, progress, config.batch_requests).run(runs)
    finally:
        store.close()
    out = out_dir or RepoHome.of(repo_root).datasets
    prov = Provenance(teacher.id, _commit(repo_root), config)
    pool = distractor_pool(runs)
    results = {run.leaf.id: _write(run, prov, out, pool) for run in runs}
    return GenerationReport(teacher.id, out, time.perf_counter() - started, results)


def _write(run: LeafRun, prov: Provenance, out: Path, pool: Distractors) -> LeafResult:
    rows = [record(run, cand, prov) for cand in run.accepted]
    extra = knowledge_rows(run, rows, prov, pool)
    path = dataset_path(out, run.leaf.id)
    write_jsonl(path, [*rows, *extra])
    funnel = {
        "leaf": run.leaf.id,
        "leaf_hash": run.leaf_hash,
        "pipeline": run.leaf.kind,
        "teacher": prov.teacher,
        "taxonomy_commit": prov.taxonomy_commit,
        "funnel": run.funnel.to_json(),
    }
    write_json(path.with_name("funnel.json"), funnel)
    return LeafResult(
        leaf_id=run.leaf.id,
        leaf_hash=run.leaf_hash,
        kind=run.leaf.kind,
        samples=rows,
        funnel=run.funnel,
        chunks=run.chunks,
        dataset_path=path,
        outcomes=outcomes(run),
        knowledge=extra,
    )


# -- estimate -------------------------------------------------------------------------------------

JUDGES_PER_CANDIDATE = {"skill": 2, "grounded_skill": 2, "knowledge": 4}
ANSWERS_PER_CANDIDATE = {"skill": 1, "grounded_skill": 1, "knowledge": 0}


def _words(leaf: Leaf) -> int:
    if leaf.kind == "knowledge":
        seed = leaf.knowledge_seeds[0] if leaf.knowledge_seeds else None
        text = (
            "" if seed is None else seed.context + " ".join(q.question + q.answer for q in seed.qas)
        )
    else:
        text = " ".join(f"{s.context or ''} {s.question}" for s in leaf.skill_seeds)
    return len(text.split()) + len(leaf.task_description.split())


def estimate(
    leaves: Sequence[Leaf],
    config: GenerateConfig,
    *,
    repo_root: Path | None = None,
    samples: int | None = None,
    tokenizer: TokenCounter | None = None,
) -> dict[str, LeafEstimate]:
    """Teacher calls and tokens each leaf is expected to cost (approximate, per leaf id).

    Prompt tokens are approximated from word counts (4 tokens per 3 words); every generation call
    counts ``max_tokens`` completion tokens.
    """

    wanted = config.samples_per_leaf if samples is None else samples
    out = {}
    for leaf in leaves:
        chunks: tuple[Chunk, ...] = ()
        if leaf.kind == "knowledge":
            root = repo_root or find_repo_root(leaf.root)
            chunks = leaf_chunks(leaf, root, config, tokenizer or token_counter(config.tokenizer))
        out[leaf.id] = _estimate_leaf(leaf, config, wanted, chunks)
    return out


def _estimate_leaf(
    leaf: Leaf, config: GenerateConfig, wanted: int, chunks: tuple[Chunk, ...]
) -> LeafEstimate:
    per = config.questions_per_prompt
    cap = math.ceil(wanted * config.max_attempts_factor / per)
    gen = (math.ceil(wanted / per), cap)
    extra_gen = 2 if leaf.kind == "grounded_skill" else 1  # contexts, then questions
    per_candidate = JUDGES_PER_CANDIDATE[leaf.kind] + ANSWERS_PER_CANDIDATE[leaf.kind]
    calls = [
        g * extra_gen + c * per_candidate for g, c in zip(gen, (wanted, cap * per), strict=True)
    ]
    prompt = _words(leaf) * config.seeds_per_prompt // max(1, len(leaf.seed_questions)) * 4 // 3
    chunk = max((c.tokens for c in chunks), default=0)
    gen_tokens = prompt + chunk + 60 + config.max_tokens
    judge_tokens = 120 + chunk + config.max_tokens // 2
    tokens = [
        g * extra_gen * gen_tokens + c * per_candidate * judge_tokens
        for g, c in zip(gen, (wanted, cap * per), strict=True)
    ]
    augment = _augment_cost(leaf, config, chunks, wanted)
    return LeafEstimate(
        samples=wanted,
        attempt_cap=cap,
        chunks=len(chunks),
        calls_min=calls[0] + augment[0],
        calls_max=calls[1] + augment[0],
        tokens_min=tokens[0] + augment[1],
        tokens_max=tokens[1] + augment[1],
        augment_calls=augment[0],
        extra_samples=augment[2],
    )


def _augment_cost(
    leaf: Leaf, config: GenerateConfig, chunks: tuple[Chunk, ...], wanted: int
) -> tuple[int, int, int]:
    """A knowledge leaf's augmentations: requests (with their judges) and tokens; and the most
    samples it gets besides its Q&A (documents, augmentations, RAFT copies of the Q&A)."""
    if leaf.kind != "knowledge":
        return 0, 0, 0
    sources = config.knowledge_sources
    kinds = sum(1 for k in AUGMENTATIONS if k in sources)
    augmented = len(augmented_chunks(chunks, config.augmented_chunks))
    chunk = max((c.tokens for c in chunks), default=0)
    asked = kinds * augmented
    tokens = asked * (chunk + 60 + config.max_tokens) + asked * (120 + chunk + config.max_tokens)
    documents = len(chunks) if "document" in sources else 0
    raft = wanted if "knowledge_raft" in sources else 0
    return 2 * asked, tokens, documents + asked + raft
