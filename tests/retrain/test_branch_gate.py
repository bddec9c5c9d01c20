"""The gate's branch criteria: forgot, did not learn, lost general ability; words match signs."""

from __future__ import annotations

from seedtree.config import RetrainConfig
from seedtree.retrain.bootstrap import paired_difference
from seedtree.retrain.branch_gate import branch_reasons
from seedtree.retrain.branch_results import Branch, LeafBranch, Scored, duel, scored

SETTINGS = RetrainConfig(
    max_accuracy_drop=0.10, max_grade_drop=0.10, min_leaf_gain=0.0, max_benchmark_drop=0.02
)
EARLIER, CHANGED = "knowledge/tides", "skills/antonyms"


def _scored(before: list[float], after: list[float], key: str) -> Scored:
    found = scored(before, after, key, SETTINGS)
    assert found is not None
    return found


def test_a_leaf_that_forgot_its_answers_refuses_the_version() -> None:
    fell = _scored([1.0] * 20, [1.0] * 5 + [0.0] * 15, "fell")
    kept = _scored([1.0] * 10 + [0.0] * 10, [1.0] * 10 + [0.0] * 10, "kept")
    gained = _scored([0.0] * 20, [1.0] * 10 + [0.0] * 10, "gained")
    branch = Branch(
        leaves={
            EARLIER: LeafBranch(accuracy=fell, grade=kept),
            CHANGED: LeafBranch(accuracy=gained),
        }
    )
    [reason] = branch_reasons(branch, [CHANGED], SETTINGS)
    assert reason.startswith(f"forgot {EARLIER}: its multiple-choice accuracy fell by 75.0 points")
    assert "\u221275.0 [" in reason  # the figures carry the sign the words say
    calm = Branch(leaves={EARLIER: LeafBranch(accuracy=kept), CHANGED: LeafBranch(accuracy=gained)})
    assert branch_reasons(calm, [CHANGED], SETTINGS) == []
    assert branch_reasons(branch, [CHANGED], RetrainConfig()) == []  # off unless configured


def test_a_changed_leaf_without_any_gain_did_not_learn() -> None:
    flat = _scored([1.0, 0.0] * 5, [1.0, 0.0] * 5, "flat")
    verdicts = duel([0, 0, -1, 1, -1], "duel", SETTINGS)
    branch = Branch(leaves={CHANGED: LeafBranch(accuracy=flat, grade=flat, duel=verdicts)})
    [reason] = branch_reasons(branch, [CHANGED], SETTINGS)
    assert reason.startswith(f"did not learn {CHANGED}: none of its own evaluations rose")
    assert "wins fell by 20.0 points" in reason and "accuracy did not change" in reason
    won = duel([1, 1, 0, 1, -1], "won", SETTINGS)
    learned = Branch(leaves={CHANGED: LeafBranch(accuracy=flat, duel=won)})
    assert branch_reasons(learned, [CHANGED], SETTINGS) == []
    assert won is not None and (won.wins, won.ties, won.losses) == (3, 1, 1)


def test_a_general_benchmark_that_fell_beyond_its_interval_refuses() -> None:
    fell = _scored([1.0] * 40 + [0.0] * 10, [1.0] * 20 + [0.0] * 30, "bench")
    noise = _scored([1.0, 0.0] * 25, [0.0, 1.0] + [1.0, 0.0] * 24, "noise")
    [reason] = branch_reasons(Branch(benchmarks={"local_facts": fell}), [], SETTINGS)
    assert reason.startswith("lost general ability on local_facts: its score fell by 40.0 points")
    assert branch_reasons(Branch(benchmarks={"local_facts": noise}), [], SETTINGS) == []


def test_the_difference_interval_holds_the_change_and_agrees_in_sign() -> None:
    change = paired_difference([0.0] * 10, [1.0] * 6 + [0.0] * 4, key="k", seed=1)
    assert change.value == 0.6 and change.low <= 0.6 <= change.high
    assert change.points_words().startswith("rose by 60.0 points (+60.0 [")
    assert change.negated().points_words().startswith("fell by 60.0 points (\u221260.0 [")
