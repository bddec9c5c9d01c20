"""Typed step results: a journal the previous version wrote still loads (and renders its report);
a result this version cannot read stops the run saying to start it over.

``data/journal_v0.json`` holds the step results of a real run of the previous version (plain
dicts; the launched trainer, a refused gate released by override), its folders renamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from seedtree.errors import UsageError
from seedtree.evaluation.evidence import Evaluation
from seedtree.retrain.journal import Journal
from seedtree.retrain.report import ReportInput, write_report
from seedtree.retrain.results import GateRecord, Generation, Prepared, Tagged, Training
from seedtree.retrain.state import Plan, recorded, step

OLD_JOURNAL = Path(__file__).parent / "data" / "journal_v0.json"
MODELS: dict[str, type[BaseModel]] = {
    "generate": Generation,
    "prepare": Prepared,
    "train": Training,
    "evaluate": Evaluation,
    "gate": GateRecord,
    "tag": Tagged,
}


def _old_results() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(OLD_JOURNAL.read_text(encoding="utf-8"))
    return results


def _old_journal(path: Path) -> Journal:
    steps = [{"name": n, "result": r, "seconds": 1.5} for n, r in _old_results().items()]
    path.write_text(json.dumps({"fingerprint": "fp", "steps": steps}), encoding="utf-8")
    return Journal(path, "fp")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_result_the_previous_version_recorded_loads_unchanged(tmp_path: Path, name: str) -> None:
    journal = _old_journal(tmp_path / "journal.json")
    typed = recorded(journal, name, MODELS[name])
    assert typed.model_dump(mode="json") == _old_results()[name]


def test_readers_get_attributes_with_the_recorded_values(tmp_path: Path) -> None:
    journal = _old_journal(tmp_path / "journal.json")
    old = _old_results()
    training = recorded(journal, "train", Training)
    assert training.trained and training.final_model == old["train"]["final_model"]
    assert training.steps == sum(p["steps"] for p in old["train"]["phases"]) > 0
    generation = recorded(journal, "generate", Generation)
    leaves = old["generate"]["leaves"]
    assert generation.teacher_calls == sum(v["teacher_calls"] for v in leaves.values()) > 0
    assert {leaf: generation.dataset(leaf) for leaf in leaves} == {
        leaf: v["dataset"] for leaf, v in leaves.items()
    }
    assert generation.dataset("not/generated") is None
    gate = recorded(journal, "gate", GateRecord)
    assert gate.override is not None and gate.override.why == old["gate"]["override"]["why"]


def test_a_result_this_version_cannot_read_says_to_start_over(tmp_path: Path) -> None:
    path = tmp_path / "run" / "journal.json"
    Journal(path, "fp").record("train", {"trained": "perhaps", "final_model": "/m"})
    with pytest.raises(UsageError) as caught:
        recorded(Journal(path, "fp"), "train", Training)
    assert str(path) in caught.value.message and "the train step" in caught.value.message
    assert "trained:" in caught.value.message
    assert caught.value.hint == f"delete {tmp_path / 'run'} to start this run over"


def test_a_typed_step_runs_once_and_reads_back_what_it_recorded(tmp_path: Path) -> None:
    calls: list[str] = []

    def work() -> Prepared:
        calls.append("prepare")
        return Prepared(replay_leaves=("a/b",))

    assert step(Journal(tmp_path / "j.json", "fp"), "prepare", work, Prepared).replay_leaves == (
        "a/b",
    )
    again = step(Journal(tmp_path / "j.json", "fp"), "prepare", work, Prepared)
    assert again == Prepared(replay_leaves=("a/b",)) and calls == ["prepare"]


def test_the_report_of_a_run_the_previous_version_recorded(tmp_path: Path) -> None:
    old = _old_results()
    plan = Plan(**{**old["plan"], "removed": (), "unchanged": ()})
    gate = GateRecord.model_validate(old["gate"])
    generation = Generation.model_validate(old["generate"])
    data = ReportInput(
        version="v1",
        plan=plan,
        generation=generation,
        prepared=Prepared.model_validate(old["prepare"]),
        training=Training.model_validate(old["train"]),
        evaluation=Evaluation.model_validate(old["evaluate"]),
        decision=gate.decision,
        override=gate.override,
        seconds={"generate": 1.0, "train": 2.0},
    )
    text = write_report(data, tmp_path / "report").read_text(encoding="utf-8")
    assert gate.override is not None
    assert f"{gate.override.who} released it anyway ({gate.override.at})" in text
    assert f"Teacher calls: {generation.teacher_calls}." in text
    for leaf, info in generation.leaves.items():
        assert f"### `{leaf}`: {info.samples} samples accepted" in text
    assert "| skills | 12 | 0 |" in text  # the phase: new samples, replayed samples
    summary = (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    assert f"- leaves trained: {len(plan.generate)}, removed: 0" in summary


def test_the_report_shows_each_knowledge_source_of_a_leaf(tmp_path: Path) -> None:
    old = _old_results()
    leaf = next(iter(old["generate"]["leaves"]))
    counts = {"asked": 0, "made": 3, "samples": 2, "rejections": {"seed copy": 1}}
    old["generate"]["leaves"][leaf]["funnel"]["sources"] = {"document": counts}
    data = ReportInput(
        version="v1",
        plan=Plan(**{**old["plan"], "removed": (), "unchanged": ()}),
        generation=Generation.model_validate(old["generate"]),
        prepared=Prepared.model_validate(old["prepare"]),
        training=Training.model_validate(old["train"]),
        evaluation=Evaluation.model_validate(old["evaluate"]),
        decision=GateRecord.model_validate(old["gate"]).decision,
        override=None,
        seconds={},
    )
    text = write_report(data, tmp_path / "report").read_text(encoding="utf-8")
    assert '| source document | {"asked": 0, "made": 3, "rejections": {"seed copy": 1}' in text
    assert "| sources |" not in text
