"""The gate's criteria on the branch evaluation and the general benchmarks.

Each is off until its threshold is set in ``seedtree.yaml`` (``retrain:``); each reads the
interval of a change, in points, the way the loss criteria of :mod:`seedtree.retrain.gate` do:

- *forgot* (``max_accuracy_drop``, ``max_grade_drop``): an earlier leaf's multiple-choice accuracy
  or judged grade fell by more than the threshold even at the interval's upper bound (the most
  favourable end): the fall is real and larger than allowed.
- *did not learn* (``min_leaf_gain``): a changed leaf none of whose own evaluations (accuracy,
  grade, pairwise wins minus losses) rose by more than the threshold.
- *lost general ability* (``max_benchmark_drop``): a general benchmark fell by more than the
  threshold even at the interval's upper bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedtree.config import RetrainConfig
from seedtree.evaluation.branch_results import Branch, Scored


def _dropped(scored: Scored | None, threshold: float | None) -> bool:
    return scored is not None and threshold is not None and -scored.change.high > threshold


def _forgot(branch: Branch, earlier: Sequence[str], settings: RetrainConfig) -> list[str]:
    reasons = []
    for leaf in earlier:
        found = branch.leaves.get(leaf)
        if found is None:
            continue
        for what, scored, threshold in (
            ("multiple-choice accuracy", found.accuracy, settings.max_accuracy_drop),
            ("judged grade", found.grade, settings.max_grade_drop),
        ):
            if _dropped(scored, threshold) and scored is not None and threshold is not None:
                reasons.append(
                    f"forgot {leaf}: its {what} {scored.change.points_words()} over "
                    f"{scored.items} items (allowed: a fall of {threshold * 100:.1f} points, at "
                    "the interval's upper bound)"
                )
    return reasons


def _not_learned(branch: Branch, trained: Sequence[str], threshold: float) -> list[str]:
    reasons = []
    for leaf in trained:
        found = branch.leaves.get(leaf)
        gains = found.gains() if found is not None else {}
        if gains and all(change.value <= threshold for change in gains.values()):
            shown = "; ".join(f"{name} {c.points_words()}" for name, c in sorted(gains.items()))
            reasons.append(
                f"did not learn {leaf}: none of its own evaluations rose by more than "
                f"{threshold * 100:.1f} points ({shown})"
            )
    return reasons


def _lost(branch: Branch, threshold: float) -> list[str]:
    return [
        f"lost general ability on {task}: its score {scored.change.points_words()} over "
        f"{scored.items} items (allowed: a fall of {threshold * 100:.1f} points, at the "
        "interval's upper bound)"
        for task, scored in sorted(branch.benchmarks.items())
        if _dropped(scored, threshold)
    ]


def branch_reasons(
    branch: Branch | None, trained: Sequence[str], settings: RetrainConfig
) -> list[str]:
    """Why the branch evaluation refuses the version (empty: it does not)."""
    if branch is None:
        return []
    earlier = sorted(set(branch.leaves) - set(trained))
    reasons = _forgot(branch, earlier, settings)
    if settings.min_leaf_gain is not None:
        reasons += _not_learned(branch, sorted(trained), settings.min_leaf_gain)
    if settings.max_benchmark_drop is not None:
        reasons += _lost(branch, settings.max_benchmark_drop)
    return reasons
