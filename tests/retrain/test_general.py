"""General ability before and after: lm-evaluation-harness on both models, paired per item, and
the gate refusing a version whose general benchmark fell (a model damaged on purpose)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT
from seedtree.config import RetrainConfig
from seedtree.evaluation.branch_results import Branch
from seedtree.evaluation.general import ITEMS_FILE, general_change
from seedtree.retrain.branch_gate import branch_reasons

DEMO_TASK = PROJECT_ROOT / "demo" / "benchmarks" / "general_facts.yaml"
TASK = "seedtree_general_facts"


def _task(folder: Path, items: int) -> Path:
    """The demo's general task over its first ``items`` rows, as a task file in ``folder``."""
    rows = (PROJECT_ROOT / "demo" / "benchmarks" / "general_facts.jsonl").read_text()
    data = folder / "facts.jsonl"
    data.write_text("".join(rows.splitlines(keepends=True)[:items]))
    config = yaml.safe_load(DEMO_TASK.read_text())
    config["dataset_kwargs"]["data_files"]["test"] = str(data)
    path = folder / "facts.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _taught(tiny_model_dir: Path, data: Path, out: Path) -> Path:
    """The tiny model trained on the task's right answers, in the harness's own format."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    texts = [f"Question: {r['question']}\nAnswer: {r['choices'][r['answer']]}" for r in rows]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    model.train()
    for _ in range(40):
        for text in texts:
            ids = torch.tensor([tok(text)["input_ids"]])
            loss = model(input_ids=ids, labels=ids).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.mark.slow  # lm-evaluation-harness in three child processes
@pytest.mark.timeout(1500)
@pytest.mark.usefixtures("offline_harness")
def test_the_gate_refuses_a_damaged_model_and_passes_an_unchanged_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    task = _task(tmp_path, 12)
    good = _taught(tiny_model_dir, tmp_path / "facts.jsonl", tmp_path / "good")
    damaged = tmp_path / "damaged"  # the same model before it learned anything
    shutil.copytree(tiny_model_dir, damaged)
    settings = RetrainConfig(benchmarks=(str(task),), max_benchmark_drop=0.02, confidence=0.9)

    fell = general_change((good, damaged), None, settings, tmp_path, tmp_path / "run1")
    change = fell.changes[TASK]
    assert change.items == 12 and change.before > change.after
    [reason] = branch_reasons(Branch(benchmarks=fell.changes), [], settings)
    assert reason.startswith(f"lost general ability on {TASK}: its score fell by ")

    # the next version, unchanged: the previous model's items are read back, not run again
    recorded = tmp_path / "run1" / "previous.json"
    kept = general_change((good, good), recorded, settings, tmp_path, tmp_path / "run2")
    assert kept.notes == ("previous model's scores read from its version",)
    assert not (tmp_path / "run2" / "previous.json").exists()
    assert kept.changes[TASK].change.value == 0.0
    assert branch_reasons(Branch(benchmarks=kept.changes), [], settings) == []
    assert (tmp_path / "run2" / ITEMS_FILE).is_file()
