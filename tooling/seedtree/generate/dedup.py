"""Exact and near-duplicate removal by ROUGE-L, fast enough for 100k samples.

ROUGE-L here is the F1 of the longest common subsequence of lower-cased word tokens:
``2 * LCS(a, b) / (len(a) + len(b))``. A text is a near-duplicate when its ROUGE-L with a seed or
with an earlier kept text reaches the threshold.

Comparing every pair would be quadratic. Since ``LCS <= |a ∩ b|`` (as multisets), a pair can reach
threshold ``t`` only when the two texts share enough tokens, which bounds their lengths
(``t / (2 - t) <= len(b) / len(a) <= (2 - t) / t``) and lets a prefix filter (the AllPairs /
PPJoin signature scheme over occurrence-tagged tokens, rarest first) propose the only pairs that
can match. Exact ROUGE-L (rapidfuzz's LCSseq) is computed for those alone, so the result is the
same as comparing every pair.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import LCSseq

_WORD = re.compile(r"[a-z0-9]+")
SEED_COPY = "seed copy"
DUPLICATE = "duplicate"


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def rouge_l(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F1 of two token lists (1.0 for two empty lists)."""
    if not a and not b:
        return 1.0
    return 2.0 * LCSseq.similarity(a, b) / (len(a) + len(b))


def _tagged(words: Sequence[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for word in words:
        out.append(f"{word}\x00{seen[word]}")
        seen[word] += 1
    return out


@dataclass
class _Entry:
    words: list[str]
    reason: str  # what a match with this entry is called


@dataclass
class Deduper:
    """Keeps texts; :meth:`filter` says, in order, which new texts duplicate a kept one."""

    threshold: float
    entries: list[_Entry] = field(default_factory=list)
    exact: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"ROUGE-L threshold must be in (0, 1], got {self.threshold}")

    def add_seeds(self, texts: Sequence[str]) -> None:
        for text in texts:
            self._keep(text, SEED_COPY)

    def _keep(self, text: str, reason: str) -> None:
        self.exact.setdefault(" ".join(tokens(text)) or text.strip().lower(), reason)
        self.entries.append(_Entry(tokens(text), reason))

    def filter(self, texts: Sequence[str]) -> list[str | None]:
        """For each text in order: None when kept (and remembered), else the rejection reason."""
        index = _Index(self.threshold, [e.words for e in self.entries] + [tokens(t) for t in texts])
        for i, entry in enumerate(self.entries):
            index.add(i, entry.words)
        out: list[str | None] = []
        for text in texts:
            reason = self._match(index, text)
            if reason is None:
                index.add(len(self.entries), tokens(text))
                self._keep(text, DUPLICATE)
            out.append(reason)
        return out

    def _match(self, index: _Index, text: str) -> str | None:
        words = tokens(text)
        key = " ".join(words) or text.strip().lower()
        if key in self.exact:
            return self.exact[key]
        for j in index.candidates(words):
            if rouge_l(words, self.entries[j].words) >= self.threshold:
                return self.entries[j].reason
        return None


class _Index:
    """Prefix-filter index over occurrence-tagged tokens ordered rarest first."""

    def __init__(self, threshold: float, corpus: Sequence[Sequence[str]]) -> None:
        self.t = threshold
        frequency: Counter[str] = Counter()
        for words in corpus:
            frequency.update(_tagged(words))
        self.rank = {tok: (n, tok) for tok, n in frequency.items()}
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def _prefix(self, words: Sequence[str]) -> list[str]:
        ordered = sorted(_tagged(words), key=lambda tok: self.rank.get(tok, (0, tok)))
        need = math.ceil(self.t * len(ordered) / (2.0 - self.t) - 1e-9)
        return ordered[: max(1, len(ordered) - need + 1)]

    def add(self, entry: int, words: Sequence[str]) -> None:
        for tok in self._prefix(words):
            self.postings[tok].append((entry, len(words)))

    def candidates(self, words: Sequence[str]) -> list[int]:
        n = len(words)
        low, high = n * self.t / (2.0 - self.t) - 1e-9, n * (2.0 - self.t) / self.t + 1e-9
        found: set[int] = set()
        for tok in self._prefix(words):
            found.update(j for j, m in self.postings.get(tok, ()) if low <= m <= high)
        return sorted(found)
