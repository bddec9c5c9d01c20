"""LoRA phases on the tiny model: they learn, their release is a plain merged model, and the
adapter saved beside it reproduces it on the model the phase started from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedtree.errors import UsageError
from seedtree.train.adapters import ADAPTER
from seedtree.train.recipe import Recipe
from seedtree.train.run import train_run

LORA = {"rank": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "up_proj"]}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _logits(model: Any, ids: list[int]) -> Any:
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits


@pytest.mark.slow  # two phases of training: about half a minute
def test_a_lora_run_learns_and_releases_a_merged_model_with_its_adapter_beside_it(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    recipe = fast_recipe(strategy="lora", lora=LORA)
    result = train_run(make_dataset(n=24), tiny_model_dir, tmp_path / "out", recipe, progress=False)
    metrics = _rows(result.metrics_path)
    first = [r for r in metrics if r["phase"] == "knowledge"]
    assert first[-1]["loss"] < first[0]["loss"]
    assert result.eval.learning()["knowledge/science/tides"] > 0
    final = result.final_model
    adapter = final / ADAPTER
    assert (adapter / "adapter_config.json").is_file()
    # the adapter is small next to the model: rank-8 matrices on three layer kinds
    size = (adapter / "adapter_model.safetensors").stat().st_size
    assert size < (final / "model.safetensors").stat().st_size / 5
    # plain transformers loads the release; it equals the phase's start plus its adapter
    merged = AutoModelForCausalLM.from_pretrained(final).eval()
    start = Path(result.phases[0].model_dir)
    assert start != final
    base = AutoModelForCausalLM.from_pretrained(start).eval()
    assembled = PeftModel.from_pretrained(base, adapter).eval()
    ids = list(range(5, 60))
    expected = _logits(assembled, ids)
    assert _logits(merged, ids) == pytest.approx(expected, abs=1e-4)
    # and differs from the start (the adapter changed something)
    assert not _logits(AutoModelForCausalLM.from_pretrained(start), ids).allclose(expected)


@pytest.mark.slow
def test_a_lora_phase_keeps_the_base_frozen_and_trains_only_the_adapter(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    import torch
    from safetensors.torch import load_file

    # the first phase trains every weight, the second a LoRA adapter on attention values only
    recipe = fast_recipe()
    raw = recipe.model_dump(mode="json")
    raw["phases"][1]["training"] = {
        "strategy": "lora",
        "lora": {**LORA, "target_modules": ["v_proj"]},
    }
    result = train_run(
        make_dataset(n=24),
        tiny_model_dir,
        tmp_path / "out",
        Recipe.model_validate(raw),
        progress=False,
    )
    full, lora = (Path(p.model_dir) for p in result.phases)
    assert not (full / ADAPTER).exists() and (lora / ADAPTER).is_dir()
    before, after = load_file(full / "model.safetensors"), load_file(lora / "model.safetensors")
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {f"model.layers.{i}.self_attn.v_proj.weight" for i in range(2)}


def test_qlora_is_refused_on_a_cpu_before_any_training(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    recipe = fast_recipe(strategy="qlora")
    with pytest.raises(UsageError, match="qlora needs a CUDA GPU"):
        train_run(make_dataset(n=8), tiny_model_dir, tmp_path / "out", recipe, progress=False)
    assert not (tmp_path / "out" / "metrics.jsonl").exists()


def test_an_adapter_on_a_tied_output_head_is_refused(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    from seedtree.errors import ConfigError
    from seedtree.train.adapters import wrap_lora
    from seedtree.train.recipe import LoraSettings

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with pytest.raises(ConfigError, match="tied to the input embedding"):
        wrap_lora(model, LoraSettings(target_modules=("q_proj", "lm_head")))
    with pytest.raises(ConfigError, match="no_such_proj"):
        wrap_lora(model, LoraSettings(target_modules=("no_such_proj",)))
