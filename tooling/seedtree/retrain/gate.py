"""The release gate: did the new model learn the changed leaves without forgetting the others?

Both models (the one training started from, and the new one) are scored on the same held-out
samples of every leaf the new model should know (mean loss per answer token, lower is better).

- *Learned*: for each leaf trained in this version, the relative drop of its held-out loss,
  ``(before - after) / before``. Their mean must reach ``retrain.min_learning``.
- *Forgotten*: for each earlier leaf, the relative rise, ``(after - before) / before``. None may
  exceed ``retrain.max_forgetting``.

A version that trained nothing (only deletions or renames) has nothing to learn; its forgetting
is still checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seedtree.config import RetrainConfig
from seedtree.retrain.release import GateDecision


def _relative(before: float, after: float) -> float:
    return (before - after) / before if before > 0 else 0.0


def decide(
    before: Mapping[str, float],
    after: Mapping[str, float],
    trained: Sequence[str],
    settings: RetrainConfig,
) -> GateDecision:
    """The gate decision from per-leaf held-out losses before and after training."""
    measured = [leaf for leaf in trained if leaf in before and leaf in after]
    learned = {leaf: round(_relative(before[leaf], after[leaf]), 6) for leaf in sorted(measured)}
    earlier = sorted(set(before) & set(after) - set(trained))
    forgotten = {leaf: round(-_relative(before[leaf], after[leaf]), 6) for leaf in earlier}
    reasons = _learning_reasons(trained, learned, settings.min_learning)
    reasons += [
        f"forgot {leaf}: held-out loss rose by {value:.2%} "
        f"(allowed: {settings.max_forgetting:.2%}; {before[leaf]:.4f} -> {after[leaf]:.4f})"
        for leaf, value in forgotten.items()
        if value > settings.max_forgetting
    ]
    return GateDecision(
        passed=not reasons,
        reasons=tuple(reasons),
        learned=learned,
        forgotten=forgotten,
        min_learning=settings.min_learning,
        max_forgetting=settings.max_forgetting,
    )


def _learning_reasons(
    trained: Sequence[str], learned: Mapping[str, float], threshold: float
) -> list[str]:
    if not trained:
        return []
    if not learned:
        return [
            "no held-out samples to measure learning on for "
            + ", ".join(sorted(trained))
            + " (generate more samples per leaf: generate.samples_per_leaf)"
        ]
    mean = sum(learned.values()) / len(learned)
    if mean >= threshold:
        return []
    worst = min(learned, key=lambda leaf: learned[leaf])
    return [
        f"did not learn: held-out loss of the changed leaves dropped by {mean:.2%} on average "
        f"(required: {threshold:.2%}; least learned: {worst} {learned[worst]:+.2%})"
    ]
