"""Training as users launch it: the CLI killed and resumed; DeepSpeed with 2 ranks (gloo, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedtree.train.evaluate import evaluate_model
from seedtree.train.recipe import Recipe
from seedtree.train.run import train_run
from train.launch import (
    kill_after_steps,
    kill_group_after_steps,
    rows,
    torchrun,
    train_cmd,
    write_recipe,
)

# trains models or runs retrain in subprocesses for minutes
pytestmark = pytest.mark.slow

PHASE = {"name": "all", "select": {}, "lr": 3e-3, "effective_batch": 4, "warmup_steps": 1}


def test_sigkilled_run_resumes_with_the_same_samples_none_twice(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    data = make_dataset(n=16)
    recipe = fast_recipe(checkpoint_every=2)
    recipe_path = write_recipe(recipe, tmp_path / "recipe.yaml")
    killed = tmp_path / "killed"
    cmd = train_cmd(data, tiny_model_dir, killed, recipe_path)
    kill_after_steps(cmd, killed / "metrics.jsonl", 5)
    assert not (killed / "eval.json").exists()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "model:" in done.stdout
    reference = train_run(data, tiny_model_dir, tmp_path / "reference", recipe, progress=False)
    resumed = rows(killed / "samples.jsonl")
    expected = rows(tmp_path / "reference" / "samples.jsonl")
    assert [(r["phase"], r["step"]) for r in resumed] == [(r["phase"], r["step"]) for r in expected]
    assert [r["ids"] for r in resumed] == [r["ids"] for r in expected]
    for phase in ("knowledge", "skills"):
        steps = [r["step"] for r in resumed if r["phase"] == phase]
        assert steps == sorted(set(steps))
    final = json.loads((killed / "eval.json").read_text())["heldout_loss"]["skills"]
    assert final == pytest.approx(reference.eval.heldout_loss["skills"], rel=1e-3)


@pytest.mark.parametrize("config", ["zero2", "zero3"])
def test_deepspeed_two_ranks_learn_and_save_a_loadable_model(
    config: str,
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    from helpers import PROJECT_ROOT

    recipe = fast_recipe(
        phases=[
            {
                "name": "all",
                "select": {},
                "lr": 3e-3,
                "effective_batch": 4,
                "min_steps": 4,
                "warmup_steps": 1,
            }
        ]
    )
    recipe_path = write_recipe(recipe, tmp_path / "recipe.yaml")
    out = tmp_path / "out"
    ds = PROJECT_ROOT / "training" / "deepspeed" / f"{config}.json"
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(29400 + os.getpid() % 500 + (config == "zero3")),
        "-m",
    ]
    cmd = launcher + train_cmd(make_dataset(n=16), tiny_model_dir, out, recipe_path)[2:]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*cmd, "--deepspeed", str(ds)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = rows(out / "metrics.jsonl")
    assert len(metrics) >= 4 and metrics[-1]["loss"] < metrics[0]["loss"]
    model = out / "phases" / "01-all" / "model"
    evaluation = json.loads((out / "eval.json").read_text())["heldout_loss"]
    reloaded = evaluate_model(model, train_heldout(out, make_dataset))
    assert reloaded == pytest.approx(evaluation["all"], rel=1e-4)
    assert all(evaluation["all"][leaf] < evaluation["base"][leaf] for leaf in reloaded)


def train_heldout(out: Path, make_dataset: Callable[..., Path]) -> dict[str, list[Any]]:
    """The held-out samples of the run in ``out`` (from its persisted manifest)."""
    from seedtree.train.data import load_samples, read_heldout

    ids = read_heldout(out / "replay")
    samples = load_samples(make_dataset(n=16))
    return {leaf: [s for s in rows if s.id in ids[leaf]] for leaf, rows in samples.items()}


def test_zero3_two_ranks_killed_mid_phase_resume_from_the_checkpoint(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    from helpers import PROJECT_ROOT

    recipe = fast_recipe(
        checkpoint_every=2,
        gradient_checkpointing=True,
        phases=[{**PHASE, "min_steps": 8, "max_steps": 8}],
    )
    recipe_path = write_recipe(recipe, tmp_path / "recipe.yaml")
    out = tmp_path / "out"
    ds = PROJECT_ROOT / "training" / "deepspeed" / "zero3.json"
    cmd = torchrun()
    cmd += train_cmd(make_dataset(n=16), tiny_model_dir, out, recipe_path)[2:]
    cmd += ["--deepspeed", str(ds)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    metrics = out / "metrics.jsonl"
    kill_group_after_steps(cmd, metrics, 5, env)
    state = out / "phases" / "01-all" / "state"
    saved = (state / "latest").read_text().strip()
    assert saved in ("step4", "step6")  # every 2 steps; the 5th step was logged
    resumed_at = int(saved.removeprefix("step"))
    before = rows(metrics)[:resumed_at]
    assert not (out / "eval.json").exists()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    after = rows(metrics)
    assert [r["step"] for r in after] == list(range(1, 9))
    # the steps up to the checkpoint were not run again (their timings are the first run's)
    assert after[:resumed_at] == before
    assert after[-1]["loss"] < after[0]["loss"]
    evaluation = json.loads((out / "eval.json").read_text())["heldout_loss"]
    assert all(evaluation["all"][leaf] < evaluation["base"][leaf] for leaf in evaluation["all"])


def test_zero3_two_ranks_with_a_resized_vocabulary_finish_and_exit_0(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from helpers import PROJECT_ROOT

    # the LAB template adds special tokens: every rank resizes the embedding under ZeRO-3
    recipe = fast_recipe(template="lab", phases=[{**PHASE, "min_steps": 2, "max_steps": 2}])
    out, logs = tmp_path / "out", tmp_path / "logs"
    ds = PROJECT_ROOT / "training" / "deepspeed" / "zero3.json"
    cmd = [*torchrun()[:-1], "--log-dir", str(logs), "--tee", "3", "-m"]
    recipe_path = write_recipe(recipe, tmp_path / "recipe.yaml")
    cmd += train_cmd(make_dataset(n=8), tiny_model_dir, out, recipe_path)[2:]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*cmd, "--deepspeed", str(ds)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "terminate called" not in done.stderr
    model = out / "phases" / "01-all" / "model"
    # both ranks returned from the run and printed its result (one log folder per rank)
    printed = sorted(p.read_text() for p in logs.rglob("stdout.log"))
    assert len(printed) == 2 and all(f"model: {model}\n" in text for text in printed)
    assert [r["step"] for r in rows(out / "metrics.jsonl")] == [1, 2]
    for name in ("eval.json", "summary.json", "phases/01-all/done.json"):
        assert (out / name).is_file()
    saved = AutoModelForCausalLM.from_pretrained(model)
    vocab = len(AutoTokenizer.from_pretrained(model))
    assert vocab > len(AutoTokenizer.from_pretrained(tiny_model_dir))
    embedding = saved.get_input_embeddings().weight
    assert embedding.shape[0] == vocab and bool(embedding.isfinite().all())
