"""What the branch evaluation records: per leaf and per benchmark, before, after, and the change.

Every figure is a fraction (an accuracy, a grade from 0 to 1, a share of wins); its change is
``after - before`` in points, with a paired bootstrap interval over the same items
(:func:`seedtree.evaluation.bootstrap.paired_difference`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from seedtree.config import RetrainConfig
from seedtree.evaluation.bootstrap import paired_difference
from seedtree.versions.lineage import Interval

ACCURACY, GRADE, DUEL = "accuracy", "grade", "wins"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Scored(_Frozen):
    """A score of the previous and the new model on the same items, and its change."""

    items: int
    before: float
    after: float
    change: Interval  # after - before, in points (0.1: 10 points)


class Duel(_Frozen):
    """Pairwise verdicts on the new model's answers; ``net`` is (wins - losses) / questions."""

    wins: int
    ties: int
    losses: int
    net: Interval


class LeafBranch(_Frozen):
    """One leaf's branch evaluations (each None when the leaf has no such items)."""

    accuracy: Scored | None = None  # multiple choice, all items (acc)
    accuracy_norm: Scored | None = None  # the same, length-normalised (acc_norm)
    seed_accuracy: Scored | None = None  # seed Q&A items only
    teacher_accuracy: Scored | None = None  # teacher-written items only
    grade: Scored | None = None  # the judge's grade of the answers against the seed answers
    duel: Duel | None = None

    def gains(self) -> dict[str, Interval]:
        """The changes a "did it learn" question looks at, by name."""
        found = {ACCURACY: self.accuracy, GRADE: self.grade}
        out = {name: s.change for name, s in found.items() if s is not None}
        if self.duel is not None:
            out[DUEL] = self.duel.net
        return out


class Branch(_Frozen):
    """The branch evaluation of a version (the evaluate step's ``branch``)."""

    leaves: dict[str, LeafBranch] = {}
    benchmarks: dict[str, Scored] = {}  # general benchmarks, per task, paired per item
    notes: tuple[str, ...] = ()  # what was not measured, and why
    teacher_calls: int = 0
    seconds: float = 0.0


def difference(
    before: Sequence[float], after: Sequence[float], key: str, settings: RetrainConfig
) -> Interval:
    """``mean(after) - mean(before)`` with the configured paired bootstrap."""
    return paired_difference(
        before,
        after,
        key=key,
        resamples=settings.bootstrap_resamples,
        confidence=settings.confidence,
        seed=settings.bootstrap_seed,
    )


def scored(
    before: Sequence[float], after: Sequence[float], key: str, settings: RetrainConfig
) -> Scored | None:
    """Both models' mean on paired items and the interval of the change; None without items."""
    if not before:
        return None
    return Scored(
        items=len(before),
        before=round(sum(before) / len(before), 6),
        after=round(sum(after) / len(after), 6),
        change=difference(before, after, key, settings),
    )


def duel(verdicts: Sequence[int], key: str, settings: RetrainConfig) -> Duel | None:
    """Wins, ties and losses, and the interval of (wins - losses) / questions."""
    if not verdicts:
        return None
    zeros = [0.0] * len(verdicts)
    net = difference(zeros, [float(v) for v in verdicts], key, settings)
    return Duel(
        wins=sum(v > 0 for v in verdicts),
        ties=sum(v == 0 for v in verdicts),
        losses=sum(v < 0 for v in verdicts),
        net=net,
    )
