"""Per-leaf funnel statistics: how many prompts, completions and candidates each step kept.

Every candidate that does not become a sample is counted under exactly one rejection reason, so
"why is my dataset empty?" has an answer in the numbers. A knowledge leaf also counts, per source
of LAB's knowledge recipe (document chunks, the three augmentations, RAFT Q&A), what was made,
dropped and kept, in :attr:`Funnel.sources`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SourceFunnel:
    """One knowledge source of a leaf: what was asked or built, dropped and kept."""

    asked: int = 0  # teacher requests (0 for sources built without the teacher)
    made: int = 0  # candidates parsed from the answers, or built
    parse_failures: int = 0
    duplicates: int = 0  # near-duplicates and copies of a seed Q&A pair
    passed_faithfulness: int | None = None  # teacher-written sources only
    samples: int = 0
    rejections: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str, count: int = 1) -> None:
        if count:
            self.rejections[reason] = self.rejections.get(reason, 0) + count


JUDGES = ("question", "pair", "faithfulness", "relevancy", "knowledge_question", "safety")


@dataclass
class Funnel:
    """Counts for one leaf, in pipeline order (``None``: the step does not apply to the leaf)."""

    wanted: int = 0
    attempt_cap: int = 0
    attempts: int = 0  # generation prompts for questions or knowledge Q&A (what the cap bounds)
    prompts_sent: int = 0  # every completion request: contexts, questions, answers, Q&A
    judge_requests: int = 0
    teacher_calls: int = 0  # requests the teacher answered in this run (the rest came from store)
    from_store: int = 0
    completions: int = 0
    parse_failures: int = 0
    contexts: int | None = None  # grounded skills: new contexts kept
    parsed: int = 0  # candidates parsed from completions
    duplicates: int = 0  # exact or near duplicates and seed copies
    after_dedup: int = 0
    passed_question: int | None = None
    answered: int | None = None
    passed_pair: int | None = None
    passed_faithfulness: int | None = None
    passed_relevancy: int | None = None
    passed_knowledge_question: int | None = None
    passed_safety: int | None = None
    accepted: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    sources: dict[str, SourceFunnel] = field(default_factory=dict)  # knowledge recipe, by source

    def source(self, name: str) -> SourceFunnel:
        return self.sources.setdefault(name, SourceFunnel())

    def reject(self, reason: str, count: int = 1) -> None:
        if count:
            self.rejections[reason] += count

    def passed(self, judge: str, count: int) -> None:
        name = f"passed_{judge}"
        setattr(self, name, (getattr(self, name) or 0) + count)

    def top_rejections(self, n: int = 5) -> list[tuple[str, int]]:
        return sorted(self.rejections.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rejections")
        # None (like every step that does not apply) for a leaf without knowledge sources
        data["sources"] = {k: asdict(v) for k, v in sorted(self.sources.items())} or None
        data["top_rejections"] = [[reason, n] for reason, n in self.top_rejections()]
        data["rejections"] = dict(sorted(self.rejections.items()))
        return data

    def steps(self) -> list[tuple[str, int]]:
        """The counts that apply to this leaf's Q&A, in order, for tables."""
        data = asdict(self)
        data.pop("rejections")
        data.pop("sources")
        return [(k, int(v)) for k, v in data.items() if v is not None]
