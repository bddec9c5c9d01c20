"""Single-process training runs on the tiny model: learning, replay, evaluation, outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedtree.train.data import heldout_ids
from seedtree.train.evaluate import evaluate_model
from seedtree.train.recipe import Recipe
from seedtree.train.replay import ReplayBuffer
from seedtree.train.run import train_run

TIDES = "knowledge/science/tides"
HAIKU = "compositional_skills/writing/haiku"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_learns_replays_and_writes_its_outputs(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    from transformers import AutoModelForCausalLM

    replay = tmp_path / "replay"
    seeds = {TIDES: [("Question about tides?", "red blue green cat")]}
    result = train_run(
        make_dataset(n=24),
        tiny_model_dir,
        tmp_path / "out",
        fast_recipe(),
        replay,
        progress=False,
        seeds=seeds,
    )
    assert (result.final_model / "model.safetensors").is_file()
    AutoModelForCausalLM.from_pretrained(result.final_model)
    metrics = _rows(result.metrics_path)
    first = [r for r in metrics if r["phase"] == "knowledge"]
    assert len(first) == result.phases[0].steps >= 6
    assert first[-1]["loss"] < first[0]["loss"]
    assert {"loss", "lr", "tokens_per_s", "padding_fraction"} <= set(first[0])
    assert first[0]["lr"] < first[-1]["lr"] == pytest.approx(3e-3)  # warm-up, then constant
    matrix = result.eval
    assert matrix.phases == ("base", "knowledge", "skills")
    assert matrix.learning()[TIDES] > 0 and matrix.learning()[HAIKU] > 0
    assert matrix.seed_loglik["knowledge"][TIDES] > matrix.seed_loglik["base"][TIDES]
    assert set(matrix.forgetting()) == {TIDES}
    assert json.loads(result.eval_path.read_text())["trained_in"] == {
        TIDES: "knowledge",
        HAIKU: "skills",
    }
    assert all(p.is_file() and p.suffix == ".png" for p in result.plots) and len(result.plots) == 2
    # skills replayed knowledge; nothing held out was trained on or kept for replay
    steps = _rows(tmp_path / "out" / "samples.jsonl")
    skills_ids = {i for r in steps if r["phase"] == "skills" for i in r["ids"]}
    assert any(i.startswith(TIDES) for i in skills_ids)
    held = heldout_ids(replay)
    assert held and held.isdisjoint(i for r in steps for i in r["ids"])
    buffer = ReplayBuffer(replay)
    assert sorted(buffer.leaves()) == [HAIKU, TIDES]
    assert held.isdisjoint(i for e in buffer.leaves().values() for i in e.sample_ids)
    # evaluate_model, as the release gate calls it, gives the run's own final figures
    again = evaluate_model(result.final_model, result.heldout)
    assert again == pytest.approx(matrix.heldout_loss["skills"], rel=1e-4)


def test_next_run_replays_earlier_leaves_from_the_buffer(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    replay = tmp_path / "replay"
    recipe = fast_recipe(
        phases=[{"name": "all", "select": {}, "lr": 1e-3, "effective_batch": 4, "max_steps": 2}]
    )
    train_run(make_dataset(n=12), tiny_model_dir, tmp_path / "v1", recipe, replay, progress=False)
    # v2: only the skill leaf changed; knowledge is replayed from the buffer
    skill_only = make_dataset(n=12, leaves={HAIKU: "skill"}, version="h2")
    recipe2 = fast_recipe(
        phases=[
            {
                "name": "skills",
                "select": {"kinds": ["skill"]},
                "lr": 1e-3,
                "effective_batch": 4,
                "replay": [{"select": {}, "ratio": 1.0}],
            }
        ]
    )
    v1_model = tmp_path / "v1" / "phases" / "01-all" / "model"
    train_run(skill_only, v1_model, tmp_path / "v2", recipe2, replay, progress=False)
    ids = {i for r in _rows(tmp_path / "v2" / "samples.jsonl") for i in r["ids"]}
    assert any(i.startswith(f"{TIDES}#h1") for i in ids)
    assert not any(i.startswith(f"{HAIKU}#h1") for i in ids)  # the stale version is not replayed
    assert ReplayBuffer(replay).leaves()[HAIKU].leaf_hash == "h2"


def test_learning_rate_zero_changes_nothing(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    recipe = fast_recipe(
        phases=[{"name": "k", "select": {}, "lr": 0.0, "effective_batch": 4, "max_steps": 2}]
    )
    result = train_run(make_dataset(n=12), tiny_model_dir, tmp_path / "out", recipe, progress=False)
    assert result.eval.heldout_loss["k"] == pytest.approx(result.eval.heldout_loss["base"])
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in result.eval.learning().values())
