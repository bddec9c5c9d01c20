"""The benchmarks step: lm-evaluation-harness on a tiny model, offline, over a local task file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from retrain.scripted import ScriptedTeacher
from retrain.support import commit
from seedtree.config import RetrainConfig
from seedtree.evaluation.benchmarks import run_benchmarks, task_specs
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.versions.tags import current_release

ITEMS = [
    {"question": "Which is a colour?", "choices": ["red", "seven", "walk"], "answer": 0},
    {"question": "Which is a number?", "choices": ["blue", "three", "run"], "answer": 1},
    {"question": "Which is a verb?", "choices": ["green", "five", "jump"], "answer": 2},
    {"question": "Which is an animal?", "choices": ["cat", "nine", "sing"], "answer": 0},
    {"question": "Which is a fruit?", "choices": ["door", "apple", "swim"], "answer": 1},
]
TASK = "seedtree_tiny_choice"


def write_task(folder: Path) -> Path:
    """A multiple-choice task of 5 items over a local JSONL (no download)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "items.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ITEMS), encoding="utf-8")
    config = {
        "task": TASK,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": "Question: {{question}}\nAnswer:",
        "doc_to_choice": "{{choices}}",
        "doc_to_target": "{{answer}}",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }
    path = folder / "tiny_choice.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow  # a retrain of a tiny model, then lm-evaluation-harness in a child process
@pytest.mark.timeout(1500)  # a busy machine with two cores
def test_benchmarks_run_offline_and_reach_the_lineage_and_the_report(
    skills_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("lm_eval")
    # Hugging Face caches inside the test's folder: nothing read from or left in the user's
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    write_task(skills_repo / "benchmarks")
    settings = yaml.safe_load((skills_repo / "seedtree.yaml").read_text())
    settings["retrain"]["benchmarks"] = ["benchmarks/tiny_choice.yaml"]
    (skills_repo / "seedtree.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    commit(skills_repo, "a local benchmark")
    options = Options(quiet=True)
    assert retrain(open_project(skills_repo), options, lambda _c: ScriptedTeacher()) == 0
    current = current_release(skills_repo)
    assert current is not None
    figures = current.lineage.metrics["benchmarks"]
    assert set(figures) == {TASK}, figures
    accuracy = figures[TASK]["acc,none"]
    # 5 items of 3 choices: the accuracy is a count of fifths
    assert 0.0 <= accuracy <= 1.0 and abs(accuracy * 5 - round(accuracy * 5)) < 1e-6
    report = (RepoHome.of(skills_repo).version("v1") / "report.md").read_text(encoding="utf-8")
    section = report.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    assert TASK in section and f'"acc,none": {json.dumps(accuracy)}' in section


def test_problems_are_reported_not_raised(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert run_benchmarks(tiny_model_dir, RetrainConfig(benchmarks=()), tmp_path) == {
        "skipped": "retrain.benchmarks is empty"
    }
    missing = run_benchmarks(tiny_model_dir, RetrainConfig(benchmarks=("nope.yaml",)), tmp_path)
    assert "task file nope.yaml not found" in missing["failed"]


def test_task_names_pass_through_and_files_resolve(tmp_path: Path) -> None:
    path = write_task(tmp_path / "b")
    specs = task_specs(["arc_easy", "b/tiny_choice.yaml"], tmp_path)
    assert specs == ["arc_easy", str(path.resolve())]
