"""Markdown-aware chunking of knowledge documents, by tokens of the student's tokenizer.

A document is split into blocks (headings, paragraphs, list runs, fenced code, tables), and
blocks are packed in order into chunks of at most ``chunk_tokens`` tokens. A block larger than that
is split at sentences, then at words. Each chunk after the first starts with the last whole
blocks or sentences of the previous chunk that fit in ``chunk_overlap`` tokens, so a fact cut at a
boundary is seen whole in one of the two chunks. A chunk that starts inside a section is prefixed
with that section's heading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from seedtree.errors import UsageError
from seedtree.models import resolve_model

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_FENCE = re.compile(r"^\s*(```|~~~)")
WHITESPACE = "whitespace"


TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    id: str  # "<document path>#<index>"
    source: str
    index: int
    text: str
    tokens: int


def whitespace_tokens(text: str) -> int:
    return len(text.split())


@lru_cache(maxsize=4)
def _hf_counter(model_dir: str) -> Callable[[str], int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    return count


def token_counter(name: str) -> TokenCounter:
    """``"whitespace"``, a model name for :func:`seedtree.models.resolve_model`, or a folder."""
    if name == WHITESPACE:
        return whitespace_tokens

    folder = resolve_model(name)
    if not (Path(folder) / "tokenizer_config.json").is_file():
        raise UsageError(f"generate.tokenizer: {folder} holds no tokenizer")
    return _hf_counter(str(folder))


def blocks(markdown: str) -> list[str]:
    """Markdown blocks in order: fenced code stays whole, other blocks end at blank lines."""
    out: list[str] = []
    current: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = not fenced and line.lstrip().startswith("#")
        if not fenced and (not line.strip() or heading) and current:
            out.append("\n".join(current))
            current = []
        if line.strip() or fenced:
            current.append(line)
        if heading:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return [b.strip("\n") for b in out if b.strip()]


def _split_large(block: str, limit: int, count: TokenCounter) -> list[str]:
    if count(block) <= limit:
        return [block]
    sentences = _SENTENCE.split(block)
    if len(sentences) > 1:
        return _pack_units(sentences, limit, count, " ")
    words = block.split()
    step = max(1, len(words) * limit // max(1, count(block)))
    return [" ".join(words[i : i + step]) for i in range(0, len(words), step)]


def _pack_units(units: Sequence[str], limit: int, count: TokenCounter, sep: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    for unit in units:
        for piece in _split_large(unit, limit, count) if count(unit) > limit else [unit]:
            if current and count(sep.join([*current, piece])) > limit:
                out.append(sep.join(current))
                current = []
            current.append(piece)
    if current:
        out.append(sep.join(current))
    return out


def _units(markdown: str, limit: int, count: TokenCounter) -> list[tuple[str, str]]:
    """(heading, unit) pairs: blocks (a heading glued to the block after it), with over-long
    blocks split into sentences or words."""
    heading, pending, out = "", "", []
    for block in blocks(markdown):
        if block.lstrip().startswith("#"):
            heading = block.strip()
            pending = f"{pending}\n\n{heading}".strip()
            continue
        for piece in _split_large(block, limit, count):
            out.append((heading, f"{pending}\n\n{piece}".strip()))
            pending = ""
    if pending:
        out.append((heading, pending))
    return out


def _overlap(units: list[tuple[str, str]], budget: int, count: TokenCounter) -> str:
    """The last sentences of ``units`` that fit in ``budget`` tokens."""
    text = " ".join(u.split("\n\n")[-1] for _, u in units[-1:])
    carried: list[str] = []
    for sentence in reversed(_SENTENCE.split(text)):
        if sentence.lstrip().startswith("#") or count(" ".join([sentence, *carried])) > budget:
            break
        carried.insert(0, sentence)
    return " ".join(carried)


def chunk_document(
    path: str, markdown: str, chunk_tokens: int, overlap: int, count: TokenCounter
) -> list[Chunk]:
    """Chunks of one document (see the module docstring)."""
    if chunk_tokens < 8 or not 0 <= overlap < chunk_tokens // 2:
        raise UsageError(
            f"generate.chunk_tokens={chunk_tokens}, chunk_overlap={overlap}: need chunk_tokens "
            "of at least 8 and an overlap under half of it"
        )
    units = _units(markdown, chunk_tokens - overlap, count)
    texts: list[str] = []
    current: list[tuple[str, str]] = []
    for heading, unit in units:
        if current and count(_join([*current, (heading, unit)])) > chunk_tokens:
            texts.append(_join(current))
            current = _restart(current, heading, unit, overlap, count)
            while current and count(_join([*current, (heading, unit)])) > chunk_tokens:
                current.pop(0)
        current.append((heading, unit))
    if current:
        texts.append(_join(current))
    return [Chunk(f"{path}#{i}", path, i, t, count(t)) for i, t in enumerate(texts)]


def _restart(
    previous: list[tuple[str, str]], heading: str, unit: str, overlap: int, count: TokenCounter
) -> list[tuple[str, str]]:
    """The start of a new chunk: its section heading (unless the unit opens with one), then the
    overlap carried from the previous chunk when it is in the same section."""
    start: list[tuple[str, str]] = []
    if heading and not unit.lstrip().startswith("#"):
        start.append((heading, heading))
    carried = _overlap(previous, overlap, count) if previous[-1][0] == heading else ""
    if carried:
        start.append((heading, carried))
    return start


def _join(units: list[tuple[str, str]]) -> str:
    return "\n\n".join(unit for _, unit in units)
