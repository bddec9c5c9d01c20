"""What the evaluate step records and the gate reads: paired per-item losses and answers.

Every leaf the new model should know is scored on two sets of items, the same items for the
previous and the new model:

- *held-out*: generated samples set aside before training (never trained on);
- *seeds*: the contributor's own seed Q&A (at least 5 per skill, 15 per knowledge leaf). They are
  never trained on either: generation rejects candidates that copy a seed, so they cost no
  teacher call and make the evaluation large enough to decide on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seedtree.evaluation.branch_results import Branch

HELDOUT, SEEDS, BOTH = "heldout", "seeds", "both"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PairedItems(_Frozen):
    """Mean loss per answer token of each item, previous model and new model, in one order."""

    ids: tuple[str, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]

    @classmethod
    def pair(cls, before: Mapping[str, float], after: Mapping[str, float]) -> PairedItems | None:
        ids = tuple(sorted(set(before) & set(after)))
        if not ids:
            return None
        return cls(
            ids=ids, before=tuple(before[i] for i in ids), after=tuple(after[i] for i in ids)
        )

    def mean_before(self) -> float:
        return sum(self.before) / len(self.before)

    def mean_after(self) -> float:
        return sum(self.after) / len(self.after)


class LeafItems(_Frozen):
    heldout: PairedItems | None = None
    seeds: PairedItems | None = None

    def sets(self) -> dict[str, PairedItems]:
        """Held-out, seeds, and both pooled (what the gate decides on)."""
        found = {name: s for name, s in ((HELDOUT, self.heldout), (SEEDS, self.seeds)) if s}
        if len(found) == 2:
            parts = list(found.values())
            found[BOTH] = PairedItems(
                ids=tuple(i for p in parts for i in p.ids),
                before=tuple(v for p in parts for v in p.before),
                after=tuple(v for p in parts for v in p.after),
            )
        elif found:
            found[BOTH] = next(iter(found.values()))
        return found


class ItemScores(Protocol):
    """Per-item losses of one model: ``leaf -> item id -> loss`` on each set."""

    @property
    def heldout(self) -> Mapping[str, Mapping[str, float]]: ...

    @property
    def seeds(self) -> Mapping[str, Mapping[str, float]]: ...


def paired_leaves(before: ItemScores, after: ItemScores) -> dict[str, LeafItems]:
    """Every leaf's items scored by both models, paired by id, per set."""
    leaves = sorted(set(before.heldout) | set(before.seeds))
    return {
        leaf: LeafItems(
            heldout=PairedItems.pair(before.heldout.get(leaf, {}), after.heldout.get(leaf, {})),
            seeds=PairedItems.pair(before.seeds.get(leaf, {}), after.seeds.get(leaf, {})),
        )
        for leaf in leaves
    }


class Answer(_Frozen):
    """One seed question answered greedily by the previous model and the new one."""

    question: str
    reference: str
    before: str
    after: str


class AnswerScores(_Frozen):
    """Per-leaf answer quality on its seed questions (mean over the questions), before/after."""

    questions: int
    rouge_before: float
    rouge_after: float
    judge_before: float | None = None  # the teacher's faithfulness judge, where configured
    judge_after: float | None = None
    # seed questions answered with the document's answer (ROUGE-L recall of the seed answer of
    # at least GIVES_ANSWER); None in journals of earlier versions
    gives_before: int | None = None
    gives_after: int | None = None

    def gives_words(self) -> str | None:
        """Whether the trained model now gives the document's answer, in plain words."""
        if self.gives_before is None or self.gives_after is None:
            return None
        change = self.gives_after - self.gives_before
        how = (
            "more often than before"
            if change > 0
            else "less often than before"
            if change < 0
            else "as often as before"
        )
        return (
            f"The new model gives the document's answer to {self.gives_after} of "
            f"{self.questions} seed questions (the previous one to {self.gives_before}): {how}."
        )


class LeafAnswers(_Frozen):
    example: Answer
    scores: AnswerScores | None = None  # knowledge leaves only


class Evaluation(_Frozen):
    """The evaluate step's result in the journal."""

    leaves: dict[str, LeafItems]
    answers: dict[str, LeafAnswers] = {}
    answer_seconds: float = 0.0
    benchmarks: dict[str, Any] = {}
    # multiple choice, judged answers, benchmarks paired (None: a journal of an earlier version,
    # which is then written back as it was read)
    branch: Branch | None = Field(default=None, exclude_if=lambda value: value is None)

    def means(self, which: str) -> dict[str, float]:
        """Per leaf, the mean item loss of the previous (``before``) or new (``after``) model."""
        out = {}
        for leaf, items in self.leaves.items():
            both = items.sets().get(BOTH)
            if both is not None:
                out[leaf] = both.mean_before() if which == "before" else both.mean_after()
        return out
