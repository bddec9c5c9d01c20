"""Multiple-choice items of a leaf, and a model's pick among the options by log-likelihood.

Two sources of items, both held out (never trained on):

- *seed*: each seed question with its own answer among up to three other seeds' answers of the
  same leaf as distractors (no teacher involved, so it holds where the teacher is small);
- *teacher*: questions the teacher wrote from a knowledge leaf's document chunks
  (:mod:`seedtree.evaluation.mcq`), stored with the version's data.

A model is scored as lm-evaluation-harness scores its multiple-choice tasks: the question is the
user turn (rendered with the release's chat template), each option the assistant's answer, and the
option with the highest summed log-likelihood is the model's pick (``acc``); dividing by the
option's length in bytes first gives ``acc_norm``, which does not favour short options.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from seedtree.atomic import write_text
from seedtree.errors import UsageError
from seedtree.samples import Sample
from seedtree.train.evaluate import EvalModel, scored_losses

DISTRACTORS = 3
SEED, TEACHER = "seed", "teacher"


class Choice(BaseModel):
    """One multiple-choice item: a question, its options, and the index of the right one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    leaf: str
    source: str  # "seed" | "teacher"
    question: str
    options: tuple[str, ...] = Field(min_length=2)
    answer: int = Field(ge=0)
    chunk: str | None = None  # the document chunk a teacher item was written from


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def item_id(leaf: str, source: str, question: str) -> str:
    return f"{source}:{leaf}:{_digest(leaf, question)}"


def shuffled(leaf: str, question: str, right: str, wrong: Sequence[str]) -> tuple[list[str], int]:
    """The options in an order fixed by the question (the right one not always first)."""
    options = [right, *wrong]
    random.Random(_digest(leaf, question, "order")).shuffle(options)
    return options, options.index(right)


def seed_choices(leaf: str, pairs: Sequence[tuple[str, str]]) -> list[Choice]:
    """Each seed Q&A as an item: its answer against other seeds' answers of the leaf."""
    items = []
    answers = [a for _, a in pairs]
    for n, (question, answer) in enumerate(pairs):
        others = sorted({a for m, a in enumerate(answers) if m != n and a != answer})
        if not others:
            continue
        picks = random.Random(_digest(leaf, question, "pick")).sample(
            others, min(DISTRACTORS, len(others))
        )
        options, right = shuffled(leaf, question, answer, picks)
        items.append(
            Choice(
                id=item_id(leaf, SEED, question),
                leaf=leaf,
                source=SEED,
                question=question,
                options=tuple(options),
                answer=right,
            )
        )
    return items


def write_choices(path: Path, items: Iterable[Choice]) -> None:
    lines = [json.dumps(item.model_dump(mode="json"), ensure_ascii=False) for item in items]
    write_text(path, "".join(line + "\n" for line in lines))


def read_choices(path: Path) -> list[Choice]:
    """Items of a JSONL file; a bad line is reported with its place."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Choice.model_validate_json(line))
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            raise UsageError(f"{path}:{number}:1: not a multiple-choice item: {first}") from None
    return items


def _option_samples(items: Sequence[Choice], system: str) -> list[Sample]:
    return [
        Sample(
            id=f"{item.id}#{n}",
            leaf=item.leaf,
            leaf_hash="",
            kind="choice",
            length=None,
            system=system,
            user=item.question,
            assistant=option,
        )
        for item in items
        for n, option in enumerate(item.options)
    ]


def option_logliks(loaded: EvalModel, items: Sequence[Choice], budget: int) -> dict[str, float]:
    """The summed log-likelihood of every option (``<item id>#<n>``) as the model's answer."""
    renderer = loaded.renderer
    encoded = renderer.encode_all(_option_samples(items, renderer.system_prompt or "")).encoded
    means = scored_losses(loaded, encoded, budget)
    return {enc.sample_id: -means[enc.leaf][enc.sample_id] * enc.trained_tokens for enc in encoded}


def picks(items: Sequence[Choice], logliks: Mapping[str, float]) -> dict[str, tuple[int, int]]:
    """Per item, whether the model picks the right option: ``(acc, acc_norm)``, each 0 or 1.
    An item whose options could not all be scored (too long to render) is left out."""
    out = {}
    for item in items:
        keys = [f"{item.id}#{n}" for n in range(len(item.options))]
        if not all(k in logliks for k in keys):
            continue
        raw = [logliks[k] for k in keys]
        norm = [v / max(1, len(o.encode())) for v, o in zip(raw, item.options, strict=True)]
        best = max(range(len(raw)), key=raw.__getitem__)
        best_norm = max(range(len(norm)), key=norm.__getitem__)
        out[item.id] = (int(best == item.answer), int(best_norm == item.answer))
    return out


def score_choices(
    loaded: EvalModel, items: Sequence[Choice], budget: int
) -> dict[str, tuple[int, int]]:
    """The model's ``(acc, acc_norm)`` on each item (see :func:`picks`)."""
    if not items:
        return {}
    return picks(items, option_logliks(loaded, items, budget))
