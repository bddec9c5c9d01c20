"""A fixed reference set of judge prompts, built from the sample taxonomy's seed examples.

Each item is a judge request rendered from the shipped templates, as generation sends it: the
seed pairs themselves (which a judge should accept) and the same pairs with another seed's answer
or another leaf's context (which it should reject). It is what a faster teacher path is checked
against: the path may change the numbers, not the judges' decisions (``bench/teacher.py`` and
the slow test in ``test_fast.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from seedtree.config import JUDGE_THRESHOLDS
from seedtree.generate.pipelines import JUDGE_OF
from seedtree.generate.prompts import Prompts
from seedtree.taxonomy.leaves import Leaf, load_taxonomy
from seedtree.teacher.base import LabelScores, Message, ScoreRequest, Teacher

TAXONOMY = Path(__file__).resolve().parents[2] / "taxonomy"


@dataclass(frozen=True)
class JudgeItem:
    """One judge prompt and the labels whose probability counts as a pass."""

    template: str
    request: ScoreRequest
    accept: tuple[str, ...]

    def passes(self, scores: LabelScores) -> bool:
        passed = sum(scores.probs.get(label, 0.0) for label in self.accept)
        return passed >= JUDGE_THRESHOLDS[JUDGE_OF[self.template]]


def reference_set(limit: int | None = None) -> list[JudgeItem]:
    """The reference judge prompts, in a fixed order (the first ``limit`` when given)."""
    prompts = Prompts()
    leaves = load_taxonomy(TAXONOMY)
    items = [
        _item(prompts, name, values)
        for leaf in leaves
        for name, values in _judgements(leaf, _other_context(leaves, leaf))
    ]
    return items[:limit]


def decisions(teacher: Teacher, items: Sequence[JudgeItem]) -> list[bool]:
    """The teacher's pass/fail decision on each item."""
    scores = teacher.score_labels([item.request for item in items])
    return [item.passes(s) for item, s in zip(items, scores, strict=True)]


def _item(prompts: Prompts, name: str, values: dict[str, str]) -> JudgeItem:
    template = prompts.get(name)
    text = prompts.render(name, **values)
    request = ScoreRequest((Message("user", text),), tuple(template.labels))
    return JudgeItem(name, request, tuple(template.accept))


def _other_context(leaves: Sequence[Leaf], leaf: Leaf) -> str:
    """A context from another knowledge leaf: a chunk that does not hold the answer."""
    others = [s.context for other in leaves if other.id != leaf.id for s in other.knowledge_seeds]
    return others[0] if others else ""


def _judgements(leaf: Leaf, elsewhere: str) -> Iterator[tuple[str, dict[str, str]]]:
    task = leaf.task_description
    if leaf.kind == "knowledge":
        for seed in leaf.knowledge_seeds:
            for i, qa in enumerate(seed.qas):
                wrong = seed.qas[(i + 1) % len(seed.qas)].answer
                base = {"task_description": task, "question": qa.question, "context": ""}
                yield "judge_faithfulness", {**base, "chunk": seed.context, "answer": qa.answer}
                yield "judge_faithfulness", {**base, "chunk": elsewhere, "answer": qa.answer}
                yield "judge_relevancy", {**base, "chunk": "", "answer": qa.answer}
                yield "judge_relevancy", {**base, "chunk": "", "answer": wrong}
                yield "judge_knowledge_question", {**base, "chunk": seed.context, "answer": ""}
        return
    seeds = leaf.skill_seeds
    for i, seed in enumerate(seeds):
        wrong = seeds[(i + 1) % len(seeds)].answer
        base = {"task_description": task, "question": seed.question, "context": seed.context or ""}
        yield "judge_question", {**base, "answer": "", "chunk": ""}
        yield "judge_pair", {**base, "answer": seed.answer, "chunk": ""}
        yield "judge_pair", {**base, "answer": wrong, "chunk": ""}
        yield "judge_safety", {**base, "answer": seed.answer, "chunk": ""}
