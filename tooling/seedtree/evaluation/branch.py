"""Branch evaluation: does the new model answer each leaf's questions better than the previous?

For every leaf the new version knows, on items neither model was trained on:

- multiple choice (:mod:`seedtree.evaluation.choices`): the seed Q&A as items, plus for knowledge
  leaves the teacher's questions from the documents (:mod:`seedtree.evaluation.mcq`), scored by
  option log-likelihood, accuracy before and after;
- judged answers (:mod:`seedtree.evaluation.judging`): both models answer the seed questions, the
  teacher compares them in both orders and grades each against the seed answer.

Each figure comes with the paired bootstrap interval of its change
(:mod:`seedtree.evaluation.branch_results`); the gate reads them
(:mod:`seedtree.retrain.branch_gate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seedtree.config import Config
from seedtree.evaluation.answers import Seeds, model_answers
from seedtree.evaluation.branch_results import Branch, LeafBranch, duel, scored
from seedtree.evaluation.choices import (
    SEED,
    TEACHER,
    Choice,
    read_choices,
    score_choices,
    seed_choices,
)
from seedtree.evaluation.judging import Answered, compare, grade
from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.prompts import Prompts
from seedtree.train.evaluate import EvalModel

Picks = Mapping[str, tuple[int, int]]  # item id -> (acc, acc_norm)


@dataclass(frozen=True)
class BranchItems:
    """What the branch evaluation asks of both models."""

    hashes: Mapping[str, str]  # every leaf the version knows -> content hash
    seeds: Seeds
    questions: Path  # the teacher's multiple-choice items, <leaf>.jsonl


def leaf_items(items: BranchItems) -> dict[str, list[Choice]]:
    """Per leaf, its seed items and its teacher items (when the version stores any)."""
    out = {}
    for leaf in sorted(items.hashes):
        found = seed_choices(leaf, list(items.seeds.get(leaf, ())))
        stored = items.questions / f"{leaf}.jsonl"
        found += read_choices(stored) if stored.is_file() else []
        if found:
            out[leaf] = found
    return out


def _accuracy(
    leaf: str, items: Sequence[Choice], before: Picks, after: Picks, config: Config
) -> dict[str, object]:
    def pairs(source: str | None, column: int) -> tuple[list[float], list[float]]:
        ids = [i.id for i in items if (source is None or i.source == source) and i.id in before]
        ids = [i for i in ids if i in after]
        return [before[i][column] for i in ids], [after[i][column] for i in ids]

    settings = config.retrain
    return {
        "accuracy": scored(*pairs(None, 0), f"{leaf}:acc", settings),
        "accuracy_norm": scored(*pairs(None, 1), f"{leaf}:acc_norm", settings),
        "seed_accuracy": scored(*pairs(SEED, 0), f"{leaf}:seed_acc", settings),
        "teacher_accuracy": scored(*pairs(TEACHER, 0), f"{leaf}:teacher_acc", settings),
    }


def _answered(
    previous: EvalModel, current: EvalModel, items: BranchItems, config: Config
) -> dict[str, list[Answered]]:
    """Both models' greedy answers to each leaf's seed questions (up to judge_questions)."""
    cap = config.retrain.judge_questions
    asked = {
        leaf: list(items.seeds.get(leaf, ()))[:cap]
        for leaf in sorted(items.hashes)
        if items.seeds.get(leaf)
    }
    questions = [q for pairs in asked.values() for q, _ in pairs]
    if not questions or cap == 0:
        return {}
    tokens, decoding = config.retrain.answer_tokens, config.chat
    old = iter(model_answers(previous, questions, tokens, decoding))
    new = iter(model_answers(current, questions, tokens, decoding))
    return {
        leaf: [Answered(items.hashes[leaf], q, a, next(old), next(new)) for q, a in pairs]
        for leaf, pairs in asked.items()
    }


def _judged(
    teacher: CachedTeacher, prompts: Prompts, answered: Mapping[str, Sequence[Answered]]
) -> dict[str, tuple[list[int], list[float], list[float]]]:
    flat = [a for rows in answered.values() for a in rows]
    verdicts = iter(compare(teacher, prompts, flat))
    before, after = (iter(g) for g in grade(teacher, prompts, flat))
    return {
        leaf: (
            [next(verdicts) for _ in rows],
            [next(before) for _ in rows],
            [next(after) for _ in rows],
        )
        for leaf, rows in answered.items()
    }


@dataclass(frozen=True)
class Models:
    previous: EvalModel
    current: EvalModel
    budget: int  # tokens per packed scoring batch


def evaluate_branch(
    models: Models,
    items: BranchItems,
    config: Config,
    prompts: Prompts,
    teacher: Callable[[], CachedTeacher],
) -> Branch:
    """Per leaf: multiple-choice accuracy and judged answers, before and after, with intervals.
    ``teacher`` is called (and the teacher loaded) only when there are answers to judge."""
    started = time.monotonic()
    choices = leaf_items(items)
    flat = [c for rows in choices.values() for c in rows]
    before = score_choices(models.previous, flat, models.budget)
    after = score_choices(models.current, flat, models.budget)
    answered = _answered(models.previous, models.current, items, config)
    judge = teacher() if answered else None
    judged = _judged(judge, prompts, answered) if judge else {}
    leaves = {}
    for leaf in sorted(set(choices) | set(judged)):
        fields = _accuracy(leaf, choices.get(leaf, []), before, after, config)
        if leaf in judged:
            verdicts, old, new = judged[leaf]
            fields["grade"] = scored(old, new, f"{leaf}:grade", config.retrain)
            fields["duel"] = duel(verdicts, f"{leaf}:duel", config.retrain)
        leaves[leaf] = LeafBranch.model_validate(fields)
    return Branch(
        leaves=leaves,
        teacher_calls=judge.asked if judge else 0,
        seconds=round(time.monotonic() - started, 3),
    )
