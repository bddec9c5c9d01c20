"""Every candidate of a leaf's run and what became of it: the data a preview shows a reviewer.

A candidate is kept (it became a sample), rejected (with the first reason: a judge and its score
against the threshold, a duplicate or seed copy, a parse failure), or passed everything but was
not needed because the leaf already had its samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from seedtree.generate.pipelines import Candidate, LeafRun, Rejection


@dataclass(frozen=True)
class Outcome:
    question: str  # empty when nothing could be parsed from the completion (see ``raw``)
    answer: str | None
    context: str | None
    chunk_id: str | None
    raw: str | None  # the completion as written, when it could not be parsed
    scores: Mapping[str, float]  # judge -> pass probability (plus ``pair_rating``)
    kept: bool
    rejection: Rejection | None

    @property
    def verdict(self) -> str:
        """``kept``, ``rejected: <why>``, or why a candidate passing everything is not a sample."""
        if self.kept:
            return "kept"
        if self.rejection is not None:
            return f"rejected: {self.rejection.describe()}"
        return "passed every judge; not needed (the leaf had its samples)"

    @property
    def stage(self) -> int:
        """How far the candidate got: 3 kept, 2 judged, 1 parsed, 0 not even parsed."""
        if self.kept:
            return 3
        if self.scores:
            return 2
        return 1 if self.question else 0


def _outcome(cand: Candidate, kept: bool) -> Outcome:
    return Outcome(
        question=cand.question,
        answer=cand.answer,
        context=cand.context,
        chunk_id=cand.chunk.id if cand.chunk else None,
        raw=cand.raw,
        scores=dict(cand.scores),
        kept=kept,
        rejection=cand.rejection,
    )


def outcomes(run: LeafRun) -> tuple[Outcome, ...]:
    """Every candidate ``run`` made, in order, with its verdict."""
    accepted = {id(c) for c in run.accepted}
    return tuple(_outcome(c, id(c) in accepted) for c in run.candidates)
