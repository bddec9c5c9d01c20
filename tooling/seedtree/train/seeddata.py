"""Training samples made from a taxonomy's own seeds and documents, without a teacher.

Used by the training benchmarks (and for smoke runs) when no generated data is at hand: each seed
Q&A becomes a few samples with differently worded questions, and each paragraph of a knowledge
leaf's documents becomes a long sample. The records have the same shape as generated datasets.
Documents kept in this repository (``repo: .``) are read through the one document loader
(:func:`seedtree.taxonomy.documents.load_documents`), with its patterns, caps and boundary;
documents of other repositories are left out (these samples are made offline).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from seedtree.samples import build_record
from seedtree.taxonomy.docpolicy import is_this_repository
from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.leaves import Leaf, load_taxonomy

QUESTION_FORMS = ("{q}", "Please answer this: {q}", "{q} Answer in your own words.")
PASSAGE_FORMS = (
    'What does the reference on {topic} say under "{heading}" (part {n})?',
    'Recite part {n} of the section "{heading}" of the reference on {topic}.',
)


def _record(leaf: Leaf, leaf_hash: str, user: str, answer: str, length: str) -> dict[str, Any]:
    return build_record(leaf.id, leaf_hash, leaf.kind, user, answer, length=length, source="seeds")


def paragraphs(markdown: str, min_words: int = 20) -> list[tuple[str, str]]:
    """(heading, paragraph) pairs of a markdown text; short paragraphs are skipped."""
    heading, out = "Introduction", []
    for block in markdown.split("\n\n"):
        text = " ".join(block.split())
        if text.startswith("#"):
            heading = text.lstrip("#").strip()
        elif len(text.split()) >= min_words:
            out.append((heading, text))
    return out


def _documents(leaf: Leaf, repo_root: Path) -> list[str]:
    """The texts of the leaf's documents in this repository; raises
    :class:`~seedtree.errors.UsageError` when they cannot be resolved."""
    if leaf.document is None or not is_this_repository(leaf.document.repo):
        return []
    return [document.text for document in load_documents(leaf, repo_root)]


def leaf_records(leaf: Leaf, repo_root: Path) -> list[dict[str, Any]]:
    leaf_hash = hashlib.sha256(leaf.qna_path.read_bytes()).hexdigest()[:16]
    rows = []
    for qa in leaf.seed_questions:
        for form in QUESTION_FORMS:
            rows.append(_record(leaf, leaf_hash, form.format(q=qa.question), qa.answer, "short"))
    topic = leaf.domain or leaf.id.rsplit("/", 1)[-1].replace("_", " ")
    for text in _documents(leaf, repo_root):
        for n, (heading, para) in enumerate(paragraphs(text), 1):
            for form in PASSAGE_FORMS:
                user = form.format(topic=topic, heading=heading, n=n)
                rows.append(_record(leaf, leaf_hash, user, para, "long"))
    return rows


def seed_datasets(taxonomy_root: Path, repo_root: Path) -> dict[str, list[dict[str, Any]]]:
    """Per leaf of the taxonomy, sample records built from its seeds and documents."""
    return {leaf.id: leaf_records(leaf, repo_root) for leaf in load_taxonomy(taxonomy_root)}
