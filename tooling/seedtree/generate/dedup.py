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
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import LCSseq

_WORD = re.compile(r"[a-z0-9]+")
SEED_COPY = "seed copy"
DUPLICATE = "duplicate"


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def rouge_l(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """ROUGE-L F1 of two token lists (1.0 for two empty lists)."""
    if not a and not b:
        return 1.0
    return 2.0 * LCSseq.similarity(a, b) / (len(a) + len(b))


def _tagged(ids: Sequence[int]) -> list[int]:
    """Each token id with its occurrence number folded in, so multisets become sets."""
    seen: Counter[int] = Counter()
    out = []
    for token in ids:
        out.append(token * _OCCURRENCES + min(seen[token], _OCCURRENCES - 1))
        seen[token] += 1
    return out


_OCCURRENCES = 4096


@dataclass
class _Entry:
    ids: list[int]
    reason: str  # what a match with this entry is called


@dataclass
class Deduper:
    """Keeps texts; :meth:`filter` says, in order, which new texts duplicate a kept one."""

    threshold: float
    entries: list[_Entry] = field(default_factory=list)
    exact: dict[str, str] = field(default_factory=dict)
    vocab: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"ROUGE-L threshold must be in (0, 1], got {self.threshold}")

    def _ids(self, text: str) -> list[int]:
        return [self.vocab.setdefault(w, len(self.vocab)) for w in tokens(text)]

    def add_seeds(self, texts: Sequence[str]) -> None:
        for text in texts:
            self._keep(text, self._ids(text), SEED_COPY)

    def _keep(self, text: str, ids: list[int], reason: str) -> None:
        self.exact.setdefault(_exact_key(text), reason)
        self.entries.append(_Entry(ids, reason))

    def filter(self, texts: Sequence[str]) -> list[str | None]:
        """For each text in order: None when kept (and remembered), else the rejection reason."""
        new = [self._ids(t) for t in texts]
        index = _Index(self.threshold, [e.ids for e in self.entries] + new)
        for i, entry in enumerate(self.entries):
            index.add(i, entry.ids)
        out: list[str | None] = []
        for text, ids in zip(texts, new, strict=True):
            reason = self._match(index, text, ids)
            if reason is None:
                index.add(len(self.entries), ids)
                self._keep(text, ids, DUPLICATE)
            out.append(reason)
        return out

    def _match(self, index: _Index, text: str, ids: list[int]) -> str | None:
        key = _exact_key(text)
        if key in self.exact:
            return self.exact[key]
        for j in index.candidates(ids):
            if rouge_l(ids, self.entries[j].ids) >= self.threshold:
                return self.entries[j].reason
        return None


def _exact_key(text: str) -> str:
    return " ".join(tokens(text)) or text.strip().lower()


class _Index:
    """Prefix-filter index (with PPJoin's positional filter) over occurrence-tagged token ids
    ordered rarest first."""

    def __init__(self, threshold: float, corpus: Sequence[Sequence[int]]) -> None:
        self.t = threshold
        frequency: Counter[int] = Counter()
        for ids in corpus:
            frequency.update(_tagged(ids))
        self.rank = {tok: (n, tok) for tok, n in frequency.items()}
        self.postings: dict[int, list[tuple[int, int, int]]] = defaultdict(list)

    def _ordered(self, ids: Sequence[int]) -> list[int]:
        return sorted(_tagged(ids), key=lambda tok: self.rank.get(tok, (0, tok)))

    def _prefix_length(self, n: int) -> int:
        need = math.ceil(self.t * n / (2.0 - self.t) - 1e-9)
        return max(1, n - need + 1)

    def add(self, entry: int, ids: Sequence[int]) -> None:
        ordered = self._ordered(ids)
        for position, tok in enumerate(ordered[: self._prefix_length(len(ordered))]):
            self.postings[tok].append((entry, len(ordered), position))

    def candidates(self, ids: Sequence[int]) -> list[int]:
        """Entries whose token overlap with ``ids`` can still reach the threshold."""
        ordered = self._ordered(ids)
        n, t = len(ordered), self.t
        low, high = n * t / (2.0 - t) - 1e-9, n * (2.0 - t) / t + 1e-9
        overlap: dict[int, int] = {}
        for i, tok in enumerate(ordered[: self._prefix_length(n)]):
            for j, m, position in self.postings.get(tok, ()):
                seen = overlap.get(j, 0)
                if seen < 0 or not low <= m <= high:
                    continue
                need = math.ceil(t * (n + m) / 2.0 - 1e-9)
                fits = seen + 1 + min(n - i - 1, m - position - 1) >= need
                overlap[j] = seen + 1 if fits else -1
        return sorted(j for j, seen in overlap.items() if seen > 0)
