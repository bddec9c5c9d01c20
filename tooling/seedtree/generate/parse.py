"""Tolerant parsing of what small teachers write: tags, numbered or bulleted lists, Q/A markers.

Every parser returns a list (possibly empty); the pipelines count an empty result as a parse
failure of that completion. Nothing here raises on odd text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = r"<{tag}>\s*(.*?)\s*(?:</{tag}>|$)"
_ITEM = re.compile(r"^\s*(?:\d{1,3}\s*[.):\]-]|[-*•]|\(\d{1,3}\))\s+(.*\S)\s*$")
_MARKER = re.compile(
    r"^\s*(?:\*\*)?(?:\[(question|answer)\]|(question|answer|q|a)\s*\d{0,3}\s*[:.)])"
    r"(?:\*\*)?\s*(.*)$",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:task|question|q)\s*\d*\s*[:.)]\s*", re.IGNORECASE)
MIN_WORDS = 3


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str


def _clean(text: str) -> str:
    return " ".join(text.replace("**", "").split()).strip(" \"'")


def tagged(text: str, tag: str) -> list[str]:
    """Contents of ``<tag>...</tag>`` blocks (an unclosed last block runs to the end)."""
    pattern = re.compile(_TAG.format(tag=re.escape(tag)), re.DOTALL | re.IGNORECASE)
    return [m.strip() for m in pattern.findall(text) if m.strip()]


def list_items(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """Items of a numbered or bulleted list; continuation lines join their item.

    Text without any list marker counts as one item when it is a single line or paragraph.
    """
    items: list[list[str]] = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if match:
            items.append([match.group(1)])
        elif items and line.strip():
            items[-1].append(line.strip())
    if not items and text.strip() and "\n\n" not in text.strip():
        items = [[text.strip()]]
    out = [_LEAD.sub("", _clean(" ".join(parts))) for parts in items]
    return [item for item in out if len(item.split()) >= min_words]


def questions(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """Questions or tasks: ``<question>`` tags when present, else list items."""
    found = [_clean(t) for t in tagged(text, "question")]
    if not found:
        found = list_items(text, min_words)
    seen: set[str] = set()
    unique = []
    for item in found:
        if len(item.split()) >= min_words and item.lower() not in seen:
            seen.add(item.lower())
            unique.append(item)
    return unique


def context(text: str, min_words: int = 10) -> str | None:
    """A generated context: inside ``<context>`` tags, else the whole text (if long enough)."""
    found = tagged(text, "context")
    body = found[0] if found else text.strip()
    return body if len(body.split()) >= min_words else None


def answer(text: str) -> str | None:
    """An answer: the text without a leading ``Answer:`` marker; None when empty."""
    found = tagged(text, "answer")
    body = found[0] if found else re.sub(r"^\s*(?:\[?answer\]?\s*[:.]?)\s*", "", text, flags=re.I)
    body = body.strip()
    return body or None


def _marker(line: str) -> tuple[str, str] | None:
    item = _ITEM.match(line)
    match = _MARKER.match(item.group(1) if item else line)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).lower()[0], match.group(3).strip()


def qa_pairs(text: str, min_words: int = MIN_WORDS) -> list[QAPair]:
    """``Question:``/``Answer:`` (or ``Q:``/``A:``, ``[Question]``/``[Answer]``) pairs, in order."""
    pairs: list[QAPair] = []
    role, question, lines = "", "", []
    for line in [*text.splitlines(), "Question: "]:
        found = _marker(line)
        if found is None:
            if role:
                lines.append(line.rstrip())
            continue
        if role == "q":
            question = " ".join(lines)
        elif role == "a" and question:
            pairs.append(QAPair(_clean(question), "\n".join(lines).strip()))
            question = ""
        role, lines = found[0], [found[1]]
    return [p for p in pairs if len(p.question.split()) >= min_words and p.answer]


_PREAMBLE = re.compile(
    r"^\s*(?:(?:here is|here's|sure[,!.]?)[^\n:]*:|(?:detailed |extractive )?summary\s*:|"
    r"(?:atomic )?facts\s*:)\s*",
    re.IGNORECASE,
)


def summary(text: str, min_words: int = 8) -> str | None:
    """A summary: inside ``<summary>`` tags, else the text without a lead-in line such as
    ``Here is a summary:``; None when shorter than ``min_words``."""
    found = tagged(text, "summary")
    body = found[0] if found else _PREAMBLE.sub("", text.strip(), count=1)
    body = "\n\n".join(" ".join(p.split()) for p in body.split("\n\n") if p.strip())
    return body if len(body.split()) >= min_words else None


def facts(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """Atomic facts: the items of a list (a single sentence counts as one), without duplicates."""
    seen: set[str] = set()
    out = []
    for item in list_items(_PREAMBLE.sub("", text.strip(), count=1), min_words):
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out
