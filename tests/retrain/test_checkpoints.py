"""The best checkpoint, not the last: the choice follows the scores; the report shows every
candidate and the trend of the model-card scores across versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seedtree.evaluation.evidence import Evaluation
from seedtree.retrain.checkpoints import choose_best, score_candidates
from seedtree.retrain.report import ReportInput, plot_paths, write_report
from seedtree.retrain.results import Candidate, GateRecord, Generation, Prepared, Training
from seedtree.retrain.state import Plan
from seedtree.retrain.trend import BASE, score_trend

OLD_JOURNAL = Path(__file__).parent / "data" / "journal_v0.json"


def scripted(scores: dict[int, tuple[float | None, float | None]]) -> Any:
    """A scorer that gives each candidate (by step) the scores written here, and logs calls."""
    asked: list[int] = []

    def score(model: str, at: int) -> Candidate:
        asked.append(at)
        accuracy, loss = scores[at]
        return Candidate(step=at, model=model, accuracy=accuracy, items=8, loss=loss)

    score.asked = asked  # type: ignore[attr-defined]
    return score


def _candidates(*steps: int) -> dict[str, int]:
    return {f"/run/candidates/step-{s:06d}": s for s in steps}


def test_the_highest_accuracy_is_released_even_over_a_lower_loss() -> None:
    scorer = scripted({3: (0.5, 1.0), 6: (0.75, 1.4), 9: (0.625, 0.9)})
    choice = score_candidates(_candidates(9, 3, 6), scorer)
    assert sorted(scorer.asked) == [3, 6, 9]  # every candidate scored once
    assert [c.step for c in choice.candidates] == [3, 6, 9]
    assert choice.candidates[choice.chosen].step == 6
    assert choice.model == "/run/candidates/step-000006"
    assert choice.why == "the highest seed multiple-choice accuracy 75.0% of 8 items"


def test_equal_accuracy_goes_to_the_lower_loss_then_to_the_later_step() -> None:
    by_loss = score_candidates(
        _candidates(3, 6, 9), scripted({3: (0.5, 1.1), 6: (0.5, 0.8), 9: (0.25, 0.1)})
    )
    assert by_loss.candidates[by_loss.chosen].step == 6
    assert "the lowest held-out loss among them" in by_loss.why
    tied = score_candidates(_candidates(3, 6), scripted({3: (0.5, 1.0), 6: (0.5, 1.0)}))
    assert tied.candidates[tied.chosen].step == 6 and "the latest step" in tied.why
    no_items = choose_best(
        [
            Candidate(step=s, model=str(s), accuracy=None, items=0, loss=loss)
            for s, loss in ((2, 0.7), (4, 0.9))
        ]
    )
    assert no_items.candidates[no_items.chosen].step == 2 and "lowest held-out loss" in no_items.why


def _old() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(OLD_JOURNAL.read_text(encoding="utf-8"))
    return results


def _report_input(training: Training, trend: dict[str, dict[str, float]]) -> ReportInput:
    old = _old()
    gate = GateRecord.model_validate(old["gate"])
    return ReportInput(
        version="v3",
        plan=Plan(**{**old["plan"], "removed": (), "unchanged": ()}),
        generation=Generation.model_validate(old["generate"]),
        prepared=Prepared.model_validate(old["prepare"]),
        training=training,
        evaluation=Evaluation.model_validate(old["evaluate"]),
        decision=gate.decision,
        override=gate.override,
        seconds={"train": 2.0},
        trend=trend,
    )


def test_the_report_shows_each_candidate_the_choice_and_the_trend_png(tmp_path: Path) -> None:
    scorer = scripted({4: (0.5, 1.2), 8: (0.625, 1.3)})
    choice = score_candidates(_candidates(4, 8), scorer)
    training = Training.model_validate(_old()["train"]).model_copy(
        update={"final_model": choice.model, "choice": choice}
    )
    trend = {BASE: {"branch MC accuracy": 0.4}, "v1": {"branch MC accuracy": 0.5}}
    trend["v3"] = {"branch MC accuracy": 0.625, "tiny_task": 0.3}
    report = write_report(_report_input(training, trend), tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "Released the model after step 8: the highest seed multiple-choice accuracy" in text
    assert "| 4 |  | 50.0% (8) | 1.2000 |" in text
    assert "| 8 | **released** | 62.5% (8) | 1.3000 |" in text
    assert "| phase | new samples | replayed samples | general samples | optimizer steps |" in text
    assert "![scores across versions](plots/trend.png)" in text and "of base, v1, v3" in text
    png = tmp_path / "report" / "plots" / "trend.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.resolve() in plot_paths(report)
    # one version alone draws no trend; a run without candidates has no checkpoint section
    alone = _report_input(Training.model_validate(_old()["train"]), {"v1": trend["v1"]})
    text = write_report(alone, tmp_path / "alone").read_text(encoding="utf-8")
    assert "Scores across versions" not in text and "## Checkpoint" not in text
    assert not (tmp_path / "alone" / "plots" / "trend.png").exists()


def test_the_trend_takes_each_release_and_the_base_model_it_started_from() -> None:
    from types import SimpleNamespace

    def release(version: str, previous: str | None, scores: dict[str, list[float]]) -> Any:
        lineage = SimpleNamespace(previous=previous, metrics={"scores": scores})
        return SimpleNamespace(version=version, lineage=lineage)

    known = [
        release("v1", None, {"mc": [0.25, 0.5]}),
        release("v2", "v1", {}),  # recorded no scores: no point
        release("v3", "v2", {"mc": [0.5, 0.75], "task": [0.1, 0.2]}),
    ]
    trend = score_trend(known, "v4", {"mc": [0.75, 0.625]})
    assert list(trend) == [BASE, "v1", "v3", "v4"]
    assert trend[BASE] == {"mc": 0.25} and trend["v3"] == {"mc": 0.75, "task": 0.2}
    assert trend["v4"] == {"mc": 0.625}
    assert score_trend([], "v1", {"mc": [0.2, 0.3]}) == {BASE: {"mc": 0.2}, "v1": {"mc": 0.3}}
