"""Judged answers: the teacher compares the previous and the new model's answers, and grades each.

As InstructLab's MT-Bench-branch, on a leaf's seed questions, both models answering greedily with
the release's chat template (:func:`seedtree.evaluation.answers.model_answers`):

- *pairwise*: the teacher is shown both answers and the seed's reference answer and asked which is
  better (``prompts/judge_compare.j2``), twice, once with each answer first. The new model wins a
  question only when the teacher prefers it in both orders and loses only when it prefers the
  previous one in both; a disagreement is a tie, so a judge that favours whatever comes first (as
  small models do) yields ties, not wins.
- *grade*: each answer alone against the reference (``prompts/judge_grade.j2``, 1 to 5); the
  grade is the expected value under the teacher's label probabilities, scaled to 0..1.

Every verdict is label-scored (no free text to parse) and cached in the answer store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.prompts import Prompts
from seedtree.teacher.base import LabelScores, Message, ScoreRequest

COMPARE, GRADE = "judge_compare", "judge_grade"
WIN, TIE, LOSS = 1, 0, -1


@dataclass(frozen=True)
class Answered:
    """One seed question of a leaf, its reference answer, and both models' answers."""

    leaf_hash: str
    question: str
    reference: str
    before: str
    after: str


def _request(prompts: Prompts, name: str, **values: str) -> ScoreRequest:
    template = prompts.get(name)
    text = prompts.render(name, **values)
    return ScoreRequest(messages=(Message("user", text),), labels=template.labels)


def _prefers_first(scores: LabelScores) -> bool | None:
    first, second = (scores.probs.get(label, 0.0) for label in ("A", "B"))
    return None if first == second else first > second


def verdict(new_first: LabelScores, new_second: LabelScores) -> int:
    """WIN, TIE or LOSS of the new answer from the two orders' verdicts."""
    a = _prefers_first(new_first)
    b = _prefers_first(new_second)
    if a is True and b is False:
        return WIN
    if a is False and b is True:
        return LOSS
    return TIE


def compare(teacher: CachedTeacher, prompts: Prompts, items: Sequence[Answered]) -> list[int]:
    """The new model's WIN, TIE or LOSS on each question, asked in both orders."""
    if not items:
        return []
    requests = [
        _request(prompts, COMPARE, question=i.question, reference=i.reference, first=a, second=b)
        for i in items
        for a, b in ((i.after, i.before), (i.before, i.after))
    ]
    hashes = [i.leaf_hash for i in items for _ in range(2)]
    scores = teacher.score(hashes, COMPARE, prompts.get(COMPARE), requests)
    return [verdict(scores[2 * n], scores[2 * n + 1]) for n in range(len(items))]


def expected_grade(scores: LabelScores) -> float:
    """The mean of the digit labels under their probabilities, from 1..5 scaled to 0..1."""
    digits = {label: float(label) for label in scores.probs if label.strip().isdigit()}
    if not digits:
        return 0.0
    low, high = min(digits.values()), max(digits.values())
    mean = sum(scores.probs[label] * value for label, value in digits.items())
    return (mean - low) / (high - low) if high > low else 0.0


def grade(
    teacher: CachedTeacher, prompts: Prompts, items: Sequence[Answered]
) -> tuple[list[float], list[float]]:
    """The grade of each previous answer and each new answer (0 to 1)."""
    if not items:
        return [], []
    requests = [
        _request(prompts, GRADE, question=i.question, reference=i.reference, answer=answer)
        for i in items
        for answer in (i.before, i.after)
    ]
    hashes = [i.leaf_hash for i in items for _ in range(2)]
    scores = [expected_grade(s) for s in teacher.score(hashes, GRADE, prompts.get(GRADE), requests)]
    return scores[0::2], scores[1::2]
