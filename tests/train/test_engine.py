"""The engines: gradient checkpointing applied and still learning; precision per device."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedtree.train.engine import PlainEngine, autocast_forward, ds_config, use_bf16
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
