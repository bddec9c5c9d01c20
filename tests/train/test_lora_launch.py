"""LoRA and ZeRO-3 as users launch them: 2 gloo ranks, offload, SIGKILL, a partitioned load."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import PROJECT_ROOT
from seedtree.train.adapters import ADAPTER
from seedtree.train.recipe import Recipe
from seedtree.train.run import train_run
from train.launch import kill_after_steps, rows, torchrun, train_cmd, write_recipe

pytestmark = pytest.mark.slow

LORA = {"rank": 8, "alpha": 16, "dropout": 0.0}
PHASE = {"name": "all", "select": {}, "lr": 3e-3, "effective_batch": 4, "warmup_steps": 1}


def _launch(cmd: list[str], config: str) -> None:
    ds = PROJECT_ROOT / "training" / "deepspeed" / f"{config}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*cmd, "--deepspeed", str(ds)], capture_output=True, text=True, timeout=900, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(
    ("config", "strategy"), [("zero3", "lora"), ("zero2", "lora"), ("zero3-offload", "full")]
)
def test_two_ranks_train_lora_and_offloaded_full_and_release_merged_models(
    config: str,
    strategy: str,
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    recipe = fast_recipe(phases=[{**PHASE, "min_steps": 4}], strategy=strategy, lora=LORA)
    out = tmp_path / "out"
    cmd = torchrun()
    cmd += train_cmd(
        make_dataset(n=16), tiny_model_dir, out, write_recipe(recipe, tmp_path / "r.yaml")
    )[2:]
    _launch(cmd, config)
    metrics = rows(out / "metrics.jsonl")
    assert len(metrics) >= 4 and metrics[-1]["loss"] < metrics[0]["loss"]
    evaluation = json.loads((out / "eval.json").read_text())["heldout_loss"]
    assert all(evaluation["all"][leaf] < evaluation["base"][leaf] for leaf in evaluation["all"])
    model = out / "phases" / "01-all" / "model"
    merged = AutoModelForCausalLM.from_pretrained(model).eval()
    if strategy == "full":
        assert not (model / ADAPTER).exists()
        return
    import torch

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assembled = PeftModel.from_pretrained(base, model / ADAPTER).eval()
    ids = torch.tensor([list(range(5, 60))])
    with torch.no_grad():
        assert merged(ids).logits == pytest.approx(assembled(ids).logits, abs=1e-4)


def test_sigkilled_lora_run_resumes_with_the_same_samples_and_result(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    data = make_dataset(n=16)
    # dropout on: the resumed run must also restore the random state the adapter's dropout uses
    recipe = fast_recipe(checkpoint_every=2, strategy="lora", lora={**LORA, "dropout": 0.1})
    killed = tmp_path / "killed"
    cmd = train_cmd(data, tiny_model_dir, killed, write_recipe(recipe, tmp_path / "r.yaml"))
    kill_after_steps(cmd, killed / "metrics.jsonl", 5)
    state = next((killed / "phases").glob("*/state"))
    # a LoRA checkpoint keeps the adapter, not the frozen base
    saved = next(state.glob("step*.pt"))
    assert saved.stat().st_size < (tiny_model_dir / "model.safetensors").stat().st_size / 3
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    reference = train_run(data, tiny_model_dir, tmp_path / "reference", recipe, progress=False)
    resumed = rows(killed / "samples.jsonl")
    expected = rows(tmp_path / "reference" / "samples.jsonl")
    assert [(r["phase"], r["step"], r["ids"]) for r in resumed] == [
        (r["phase"], r["step"], r["ids"]) for r in expected
    ]
    losses = [r["loss"] for r in rows(killed / "metrics.jsonl")]
    assert losses == pytest.approx([r["loss"] for r in rows(reference.metrics_path)], rel=1e-4)
    final = json.loads((killed / "eval.json").read_text())["heldout_loss"]["skills"]
    assert final == pytest.approx(reference.eval.heldout_loss["skills"], rel=1e-4)


def _load_reports(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("rank*.json"))]


def _mid_model(tokenizer_dir: Path, out: Path) -> Path:
    """An 80M-parameter Llama (320 MB in fp32): large next to the process's own buffers."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=512,
        intermediate_size=1536,
        num_hidden_layers=16,
        num_attention_heads=8,
        num_key_value_heads=8,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_zero3_loads_each_rank_s_shard_with_the_vocabulary_resized(
    tiny_model_dir: Path,
    tokenizer_dir: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    from safetensors.torch import load_file

    model = _mid_model(tokenizer_dir, tmp_path / "mid")
    vocab = int(json.loads((model / "config.json").read_text())["vocab_size"]) + 8
    worker = PROJECT_ROOT / "tests" / "train" / "zero3_load.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    reports = {}
    for mode in ("whole", "partitioned"):
        cmd = torchrun()[:-1]
        cmd += [
            str(worker),
            str(tiny_model_dir),
            str(model),
            str(vocab),
            mode,
            str(tmp_path / mode),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        reports[mode] = _load_reports(tmp_path / mode)
    first = load_file(model / "model.safetensors")["model.embed_tokens.weight"][:2, :4]
    for whole, part in zip(reports["whole"], reports["partitioned"], strict=True):
        # the same weights, the vocabulary grown on every rank, and a rank holds less of them
        assert part["rows"] == whole["rows"] == vocab and part["new_rows_finite"]
        assert [v for row in part["first"] for v in row] == pytest.approx(first.flatten().tolist())
        # its half of every weight, the resized embedding included (one rank's share of 2)
        assert part["local_elements"] < 0.55 * whole["local_elements"]
        for key in ("before", "after", "held"):
            record_property(f"rank{part['rank']}_{key}_partitioned", part[key])
            record_property(f"rank{whole['rank']}_{key}_whole", whole[key])
