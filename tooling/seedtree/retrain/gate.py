"""The release gate: did the new model learn the changed leaves without forgetting the others?

Both models (the one training started from, and the new one) are scored on the same items of
every leaf the new model should know: its held-out generated samples and its seed Q&A, one mean
loss per answer token per item (see :mod:`seedtree.evaluation.evidence`). A leaf's change is the
relative change of its mean item loss, ``mean(after) / mean(before) - 1``, with a paired
bootstrap interval (``retrain.confidence``, 90% by default) over both sets pooled:

- *Forgotten*: an earlier leaf whose rise is above ``retrain.max_forgetting`` even at the lower
  bound of its interval. A rise the interval cannot tell from noise does not block a release.
- *Learned*: the mean relative drop over the changed leaves reaches ``retrain.min_learning``
  and the lower bound of its interval is above zero (the drop is not noise).

Why intervals: with a few items per leaf, one leaf's loss moves by 10-20% between runs that
differ only in which samples were replayed; a threshold on a point estimate then refuses good
versions and passes bad ones at random. The interval says how much of a change the items
support, so the threshold can stay at the value that matters (5% forgetting).

The branch evaluation (multiple-choice accuracy, judged answers, general benchmarks) adds the
criteria of :mod:`seedtree.retrain.branch_gate`, each with its own threshold.

A version that trained nothing (only deletions or renames) has nothing to learn; its forgetting
is still checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from seedtree.config import RetrainConfig
from seedtree.evaluation.bootstrap import mean_drop, paired_change
from seedtree.evaluation.evidence import BOTH, Evaluation, LeafItems
from seedtree.retrain.branch_gate import branch_verdicts
from seedtree.versions.lineage import GateDecision, Interval, LeafChange


def _draws(settings: RetrainConfig) -> dict[str, Any]:
    return {
        "resamples": settings.bootstrap_resamples,
        "confidence": settings.confidence,
        "seed": settings.bootstrap_seed,
    }


def leaf_change(leaf: str, items: LeafItems, settings: RetrainConfig) -> LeafChange:
    sets = items.sets()
    change = {
        name: paired_change(paired.before, paired.after, key=f"{leaf}:{name}", **_draws(settings))
        for name, paired in sets.items()
    }
    return LeafChange(items={name: len(p.ids) for name, p in sets.items()}, change=change)


def decide(evaluation: Evaluation, trained: Sequence[str], settings: RetrainConfig) -> GateDecision:
    """The gate decision from the paired item losses before and after training."""
    changes = {
        leaf: leaf_change(leaf, items, settings)
        for leaf, items in sorted(evaluation.leaves.items())
        if items.sets()
    }
    measured = sorted(leaf for leaf in trained if leaf in changes)
    learning = _learning(evaluation, measured, settings)
    earlier = sorted(set(changes) - set(trained))
    reasons = _learning_reasons(trained, learning, changes, settings.min_learning)
    reasons += _forgetting_reasons(earlier, changes, settings)
    branch = branch_verdicts(evaluation.branch, trained, settings)
    reasons += branch.reasons
    return GateDecision(
        passed=not reasons,
        reasons=tuple(reasons),
        undecided=tuple(branch.undecided),
        learned={leaf: -changes[leaf].change[BOTH].value for leaf in measured},
        forgotten={leaf: changes[leaf].change[BOTH].value for leaf in earlier},
        min_learning=settings.min_learning,
        max_forgetting=settings.max_forgetting,
        changes=changes,
        learning=learning,
        confidence=settings.confidence,
    )


def _learning(
    evaluation: Evaluation, measured: Sequence[str], settings: RetrainConfig
) -> Interval | None:
    if not measured:
        return None
    pairs = {}
    for leaf in measured:
        both = evaluation.leaves[leaf].sets()[BOTH]
        pairs[leaf] = (both.before, both.after)
    return mean_drop(pairs, **_draws(settings))


def _forgetting_reasons(
    earlier: Sequence[str], changes: Mapping[str, LeafChange], settings: RetrainConfig
) -> list[str]:
    reasons = []
    for leaf in earlier:
        rise = changes[leaf].change[BOTH]
        if rise.low > settings.max_forgetting:
            reasons.append(
                f"forgot {leaf}: its loss {rise.change_words()} over {changes[leaf].items[BOTH]} "
                f"items (allowed: {settings.max_forgetting:.2%}, at the interval's lower bound)"
            )
    return reasons


def _learning_reasons(
    trained: Sequence[str],
    learning: Interval | None,
    changes: Mapping[str, LeafChange],
    threshold: float,
) -> list[str]:
    if not trained:
        return []
    if learning is None:
        return [
            "no held-out samples or seeds to measure learning on for "
            + ", ".join(sorted(trained))
            + " (generate more samples per leaf: generate.samples_per_leaf)"
        ]
    if learning.value >= threshold and learning.low > 0:
        return []
    rises = {leaf: changes[leaf].change[BOTH] for leaf in trained if leaf in changes}
    worst = max(rises, key=lambda leaf: rises[leaf].value)
    return [
        f"did not learn: the loss of the changed leaves {learning.negated().change_words()} on "
        f"average (required: a fall of at least {threshold:.2%}, the whole interval below 0; "
        f"least learned: {worst}, whose loss {rises[worst].change_words()})"
    ]
