"""The gate's branch criteria: forgot, did not learn, lost general ability; words match signs."""

from __future__ import annotations

from seedtree.config import RetrainConfig
from seedtree.evaluation.bootstrap import paired_difference
from seedtree.evaluation.branch_results import Branch, LeafBranch, Scored, duel, scored
from seedtree.retrain.branch_gate import branch_reasons

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


def test_the_report_shows_the_card_table_per_leaf_rows_and_plain_words() -> None:
    from seedtree.retrain.branch_report import branch_section, merged_lines

    gained = _scored([0.0] * 20, [1.0] * 15 + [0.0] * 5, "gained")
    same = _scored([1.0, 0.0] * 5, [1.0, 0.0] * 5, "same")
    bench = _scored([1.0] * 30 + [0.0] * 10, [1.0] * 29 + [0.0] * 11, "bench")
    branch = Branch(
        leaves={CHANGED: LeafBranch(accuracy=gained), EARLIER: LeafBranch(accuracy=same)},
        benchmarks={"general_facts": bench},
    )
    text = "\n".join(branch_section(branch, "v1", "v2"))
    assert "| model | general\\_facts | branch MC accuracy |" in text
    assert "| v1 | 75.0 | 16.7 |" in text and "| v2 | 72.5 | 66.7 |" in text
    assert f"| `{CHANGED}` | 20 | 0.0 → 75.0 (+75.0 [" in text
    [line] = merged_lines(branch, [CHANGED])
    assert line.startswith(f"- `{CHANGED}`: the new model answers its questions better")
    [flat] = merged_lines(branch.model_copy(update={"leaves": {}}), [EARLIER])
    assert flat == f"- `{EARLIER}`: no questions to measure it on"


def test_shots_group_tasks_and_the_strict_score_is_the_item_score() -> None:
    from seedtree.evaluation.benchmarks import by_shots, per_item

    specs = ["mmlu@5", "arc_challenge@25", "winogrande@5", "/abs/task.yaml"]
    assert by_shots(specs) == {5: ["mmlu", "winogrande"], 25: ["arc_challenge"], None: specs[3:]}
    rows = [
        {"doc_id": 0, "filter": "flexible-extract", "exact_match": 1.0},
        {"doc_id": 0, "filter": "strict-match", "exact_match": 0.0},
        {"doc_id": 1, "filter": "strict-match", "exact_match": 1.0},
    ]
    found = per_item({"samples": {"gsm8k": rows}, "versions": {"gsm8k": 3.0}})
    assert found == {
        "gsm8k": {"version": "3.0", "metric": "exact_match", "items": {"0": 0.0, "1": 1.0}}
    }


def test_history_prints_the_card_columns_of_every_version() -> None:
    from seedtree.versions.history import score_table
    from seedtree.versions.lineage import Lineage, Release

    def release(number: int, previous: str | None, scores: dict[str, list[float]]) -> Release:
        lineage = Lineage.model_construct(
            previous=previous, base_model="smollm2", metrics={"scores": scores}
        )
        return Release(number, "c" * 40, lineage)

    known = [
        release(1, None, {"facts": [0.5, 0.525], "branch MC accuracy": [0.2, 0.6]}),
        release(2, "v1", {"facts": [0.525, 0.5]}),
    ]
    assert score_table(known) == [
        "scores (%):",
        "  version | branch MC accuracy | facts",
        "  smollm2 | 20.0 | 50.0",
        "  v1 | 60.0 | 52.5",
        "  v2 | - | 50.0",
    ]
    assert score_table([release(1, None, {})]) == []


def test_a_score_over_too_few_items_decides_nothing_and_says_so() -> None:
    """The demo's one judged question a leaf: a grade that fell by 10.4 points on one answer."""
    from seedtree.retrain.branch_gate import branch_verdicts

    one = _scored([0.9], [0.796], "one")
    assert one.change.low == one.change.high  # one item: the interval is that item's change
    branch = Branch(leaves={EARLIER: LeafBranch(grade=one), CHANGED: LeafBranch()})
    found = branch_verdicts(branch, [CHANGED], SETTINGS)
    assert found.reasons == []
    [said] = found.undecided
    assert said.startswith(f"{EARLIER}'s judged grade: fell by 10.4 points")
    assert "over 1 item(s), beyond 10.0 points but fewer items than min_gate_items (5)" in said
    # a small fall over one item is neither a reason nor worth a line
    small = _scored([0.9], [0.85], "small")
    quiet = Branch(leaves={EARLIER: LeafBranch(grade=small), CHANGED: LeafBranch()})
    assert branch_verdicts(quiet, [CHANGED], SETTINGS).undecided == []
    # at the threshold of items the same fall, on every item, refuses the version
    five = _scored([0.9] * 5, [0.796] * 5, "five")
    many = Branch(leaves={EARLIER: LeafBranch(grade=five), CHANGED: LeafBranch()})
    [reason] = branch_verdicts(many, [CHANGED], SETTINGS).reasons
    assert reason.startswith(f"forgot {EARLIER}: its judged grade fell by 10.4 points")
    lenient = SETTINGS.model_copy(update={"min_gate_items": 1})
    assert branch_reasons(branch, [CHANGED], lenient) != []
