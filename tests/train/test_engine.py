"""The engines: gradient checkpointing applied and still learning; precision per device."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedtree.errors import UsageError
from seedtree.train.engine import PlainEngine, autocast_forward, ds_config, free_port, use_bf16
from seedtree.train.loop import load_model
from seedtree.train.recipe import Recipe
from seedtree.train.run import train_run


def _layer_calls(model: Any) -> list[int]:
    calls = [0]

    def count(_module: Any, _args: Any) -> None:
        calls[0] += 1

    # a module inside the layer: transformers checkpoints the layer's forward, so the layer's own
    # hooks run once, and what runs inside it runs again in the backward pass
    model.model.layers[0].mlp.register_forward_pre_hook(count)
    return calls


def _one_step(engine: PlainEngine) -> None:
    import torch

    ids = torch.arange(10, 30).unsqueeze(0)
    out = engine.forward(input_ids=ids, labels=ids, use_cache=False)
    engine.micro_step(out.loss)
    engine.boundary()


@pytest.mark.parametrize(("checkpointing", "runs"), [(False, 1), (True, 2)])
def test_checkpointing_recomputes_each_layer_in_the_backward_pass(
    checkpointing: bool,
    runs: int,
    tiny_model_dir: Path,
    fast_recipe: Callable[..., Recipe],
) -> None:
    recipe = fast_recipe(gradient_checkpointing=checkpointing)
    model = load_model(tiny_model_dir, 0)
    model.train()
    engine = PlainEngine(model, recipe, recipe.phases[0])
    calls = _layer_calls(model)
    _one_step(engine)
    assert model.is_activation_checkpointing is checkpointing
    assert calls[0] == runs  # forward, plus the recomputation when checkpointing


def test_training_with_checkpointing_learns_as_without(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
) -> None:
    data = make_dataset(n=12)
    phase = {"name": "all", "select": {}, "lr": 3e-3, "effective_batch": 4, "min_steps": 4}
    plain = fast_recipe(phases=[phase])
    first = train_run(data, tiny_model_dir, tmp_path / "plain", plain, progress=False)
    recipe = fast_recipe(phases=[phase], gradient_checkpointing=True)
    ckpt = train_run(data, tiny_model_dir, tmp_path / "ckpt", recipe, progress=False)
    for leaf, loss in ckpt.eval.heldout_loss["all"].items():
        assert loss < ckpt.eval.heldout_loss["base"][leaf]
        # the same arithmetic, recomputed: the same model up to float rounding
        assert loss == pytest.approx(first.eval.heldout_loss["all"][leaf], rel=1e-4)


def test_a_cpu_trains_a_bf16_recipe_in_fp32(
    tiny_model_dir: Path, fast_recipe: Callable[..., Recipe]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the CPU fallback")
    recipe = fast_recipe(precision="bf16")
    model = load_model(tiny_model_dir, 0)
    engine = PlainEngine(model, recipe, recipe.phases[0])
    assert not use_bf16(recipe)
    assert engine.forward is model
    assert ds_config({}, recipe, 2)["bf16"] == {"enabled": False}


def test_autocast_computes_in_bf16_and_keeps_fp32_weights_and_gradients(
    tiny_model_dir: Path,
) -> None:
    import torch

    model = load_model(tiny_model_dir, 0)
    # the CUDA path's wrapper, run with the CPU's autocast (same mechanism, no GPU here)
    forward = autocast_forward(model, "cpu")
    ids = torch.arange(10, 30).unsqueeze(0)
    out = forward(input_ids=ids, use_cache=False)
    assert out.logits.dtype == torch.bfloat16
    out.logits.float().mean().backward()
    weight = model.model.layers[0].mlp.up_proj.weight
    assert weight.dtype == torch.float32 and weight.grad is not None
    assert weight.grad.dtype == torch.float32


def test_deepspeed_bf16_loads_the_weights_in_bf16(tiny_model_dir: Path) -> None:
    import torch

    assert load_model(tiny_model_dir, 0, bf16=True).dtype == torch.bfloat16
    assert load_model(tiny_model_dir, 0).dtype == torch.float32


# a DeepSpeed config for one in-process rank (gloo on a CPU)
ONE_RANK = {"zero_optimization": {"stage": 2}}
ONE_PHASE = {"name": "all", "select": {}, "lr": 3e-3, "effective_batch": 4, "max_steps": 2}


def _bad_data(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    return bad


def test_a_run_destroys_the_process_group_it_formed_on_success_and_on_error(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch.distributed

    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    recipe = fast_recipe(phases=[ONE_PHASE])
    data = make_dataset(n=8)
    result = train_run(data, tiny_model_dir, tmp_path / "ok", recipe, None, ONE_RANK, False)
    assert (result.final_model / "model.safetensors").is_file()
    assert not torch.distributed.is_initialized()
    # the group of one's rendezvous is forgotten: the next run forms its own on a fresh port
    assert "RANK" not in os.environ and "MASTER_PORT" not in os.environ
    with pytest.raises(UsageError, match=r"bad\.jsonl"):  # fails after the group is formed
        train_run(_bad_data(tmp_path), tiny_model_dir, tmp_path / "bad", recipe, None, ONE_RANK)
    assert not torch.distributed.is_initialized()


def test_a_run_leaves_the_process_group_its_caller_formed(
    tiny_model_dir: Path, fast_recipe: Callable[..., Recipe], tmp_path: Path
) -> None:
    import torch.distributed

    recipe = fast_recipe(phases=[ONE_PHASE])
    address = f"tcp://127.0.0.1:{free_port()}"
    torch.distributed.init_process_group("gloo", init_method=address, rank=0, world_size=1)
    try:
        with pytest.raises(UsageError):
            train_run(_bad_data(tmp_path), tiny_model_dir, tmp_path / "o", recipe, None, ONE_RANK)
        assert torch.distributed.is_initialized()
    finally:
        torch.distributed.destroy_process_group()
