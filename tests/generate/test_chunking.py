from __future__ import annotations

import itertools

import pytest

from helpers import SAMPLE_TAXONOMY
from seedtree.errors import UsageError
from seedtree.generate.chunking import (
    blocks,
    chunk_document,
    token_counter,
    whitespace_tokens,
)

BICYCLE = SAMPLE_TAXONOMY / "knowledge/history/technology/bicycle/bicycle_history.md"


def test_blocks_keep_code_fences_whole_and_split_headings() -> None:
    text = "# Title\nintro line\n\n```\ncode\n\nmore code\n```\n## Part\ntext"
    assert blocks(text) == [
        "# Title",
        "intro line",
        "```\ncode\n\nmore code\n```",
        "## Part",
        "text",
    ]


def test_chunks_respect_the_budget_and_cover_every_word() -> None:
    text = BICYCLE.read_text(encoding="utf-8")
    chunks = chunk_document("b.md", text, 120, 20, whitespace_tokens)
    assert len(chunks) > 5
    assert all(c.tokens <= 120 for c in chunks)
    assert [c.id for c in chunks] == [f"b.md#{i}" for i in range(len(chunks))]
    joined = " ".join(c.text for c in chunks).split()
    assert set(text.split()) <= set(joined)


def test_a_chunk_starting_inside_a_section_repeats_its_heading_and_overlaps() -> None:
    para = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_document("d.md", f"## Tides\n\n{para}", 60, 12, whitespace_tokens)
    assert len(chunks) >= 3
    for before, after in itertools.pairwise(chunks):
        assert after.text.startswith("## Tides\n\n")
        carried = after.text.removeprefix("## Tides\n\n").split(". ")[0]
        assert carried in before.text  # the overlap: the previous chunk's last sentence(s)


@pytest.mark.slow
def test_the_student_tokenizer_counts_chunk_tokens() -> None:
    count = token_counter("default")  # the embedded student's tokenizer (converted once)
    chunks = chunk_document("b.md", BICYCLE.read_text(encoding="utf-8"), 150, 20, count)
    assert all(count(c.text) == c.tokens <= 150 for c in chunks)
    assert sum(whitespace_tokens(c.text) for c in chunks) < sum(c.tokens for c in chunks)


def test_bad_budgets_are_refused() -> None:
    with pytest.raises(UsageError, match="chunk_overlap"):
        chunk_document("d.md", "text", 100, 60, whitespace_tokens)
