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

A score over fewer than ``min_gate_items`` paired items decides nothing: the bootstrap interval
of one item is that item's own change, whatever it is. One that would have refused the version
is listed as not decided instead, so that no release hinges on one answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seedtree.config import RetrainConfig
from seedtree.evaluation.branch_results import Branch, Scored


@dataclass
class Verdicts:
    reasons: list[str] = field(default_factory=list)  # why the version is refused
    undecided: list[str] = field(default_factory=list)  # criteria with too few items to decide


def _dropped(
    scored: Scored | None,
    threshold: float | None,
    settings: RetrainConfig,
    undecided: list[str],
    what: str,
) -> bool:
    if scored is None or threshold is None:
        return False
    beyond = -scored.change.high > threshold
    if beyond and scored.items < settings.min_gate_items:
        undecided.append(
            f"{what}: {scored.change.points_words()} over {scored.items} item(s), beyond "
            f"{threshold * 100:.1f} points but fewer items than min_gate_items "
            f"({settings.min_gate_items}) to decide on"
        )
        return False
    return beyond


def _forgot(branch: Branch, earlier: Sequence[str], settings: RetrainConfig, out: Verdicts) -> None:
    reasons = out.reasons
    for leaf in earlier:
        found = branch.leaves.get(leaf)
        if found is None:
            continue
        for what, scored, threshold in (
            ("multiple-choice accuracy", found.accuracy, settings.max_accuracy_drop),
            ("judged grade", found.grade, settings.max_grade_drop),
        ):
            named = f"{leaf}'s {what}"
            dropped = _dropped(scored, threshold, settings, out.undecided, named)
            if dropped and scored is not None and threshold is not None:
                reasons.append(
                    f"forgot {leaf}: its {what} {scored.change.points_words()} over "
                    f"{scored.items} items (allowed: a fall of {threshold * 100:.1f} points, at "
                    "the interval's upper bound)"
                )


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


def _lost(branch: Branch, threshold: float, settings: RetrainConfig, out: Verdicts) -> None:
    for task, scored in sorted(branch.benchmarks.items()):
        if _dropped(scored, threshold, settings, out.undecided, f"general benchmark {task}"):
            out.reasons.append(
                f"lost general ability on {task}: its score {scored.change.points_words()} over "
                f"{scored.items} items (allowed: a fall of {threshold * 100:.1f} points, at the "
                "interval's upper bound)"
            )


def branch_verdicts(
    branch: Branch | None, trained: Sequence[str], settings: RetrainConfig
) -> Verdicts:
    """Why the branch evaluation refuses the version (no reason: it does not), and which of its
    criteria had too few items to decide."""
    out = Verdicts()
    if branch is None:
        return out
    earlier = sorted(set(branch.leaves) - set(trained))
    _forgot(branch, earlier, settings, out)
    if settings.min_leaf_gain is not None:
        out.reasons += _not_learned(branch, sorted(trained), settings.min_leaf_gain)
    if settings.max_benchmark_drop is not None:
        _lost(branch, settings.max_benchmark_drop, settings, out)
    return out


def branch_reasons(
    branch: Branch | None, trained: Sequence[str], settings: RetrainConfig
) -> list[str]:
    """Why the branch evaluation refuses the version (empty: it does not)."""
    return branch_verdicts(branch, trained, settings).reasons
