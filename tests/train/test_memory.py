"""The memory estimate: hand-computed 7B figures, ZeRO stages, the fit check, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from seedtree.cli import run
from seedtree.errors import UsageError
from seedtree.train.memory import (
    GB,
    Layout,
    ModelShape,
    estimate_memory,
    model_shape,
    require_fit,
    shape_of,
)
from seedtree.train.recipe import Recipe

# Llama-2-7B's shape: 32 layers, hidden 4096, MLP 11008, vocabulary 32000
P7B = 6_738_415_616
SHAPE_7B = ModelShape(params=P7B, layers=32, hidden=4096, vocab=32_000)
TOKENS = 16_384


def test_a_7b_config_counts_its_parameters_on_the_meta_device() -> None:
    from transformers import LlamaConfig

    config = LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32_000,
    )
    assert shape_of(config) == SHAPE_7B


def test_7b_activations_without_checkpointing_are_about_70_gb() -> None:
    est = estimate_memory(SHAPE_7B, Layout(3, 8, "bf16", False, TOKENS))
    # 34 bytes * 16384 tokens * 4096 hidden * 32 layers
    assert est.activations == 34 * TOKENS * 4096 * 32
    assert 68 * GB < est.activations < 75 * GB


def test_7b_activations_with_checkpointing_keep_layer_inputs_and_one_layer() -> None:
    est = estimate_memory(SHAPE_7B, Layout(3, 8, "bf16", True, TOKENS))
    inputs = 2 * TOKENS * 4096 * 32  # bf16 input of each layer: 4.3 GB
    one_layer = 34 * TOKENS * 4096  # recomputed in the backward pass: 2.3 GB
    assert est.activations == inputs + one_layer
    assert est.activations == pytest.approx(6.58 * GB, rel=0.01)


def test_7b_logits_of_a_16k_token_micro_batch() -> None:
    est = estimate_memory(SHAPE_7B, Layout(3, 8, "bf16", True, TOKENS))
    # bf16 logits 2 + fp32 copy 4 + log-softmax 4 + fp32 gradient 4 bytes per value
    assert est.logits == 14 * TOKENS * 32_000
    assert est.logits == pytest.approx(7.34 * GB, rel=0.01)


@pytest.mark.parametrize(
    ("stage", "weights", "grads", "optim"),
    [
        (0, 2.0, 2.0, 12.0),
        (1, 2.0, 2.0, 12.0 / 8),
        (2, 2.0, 2.0 / 8, 12.0 / 8),
        (3, 2.0 / 8, 2.0 / 8, 12.0 / 8),
    ],
)
def test_zero_stages_divide_the_state_by_the_ranks(
    stage: int, weights: float, grads: float, optim: float
) -> None:
    est = estimate_memory(SHAPE_7B, Layout(stage, 8, "bf16", True, TOKENS))
    assert est.weights == pytest.approx(weights * P7B)
    assert est.gradients == pytest.approx(grads * P7B)
    assert est.optimizer == pytest.approx(optim * P7B)


def test_plain_engine_keeps_fp32_state_plus_the_autocast_copy() -> None:
    bf16 = estimate_memory(SHAPE_7B, Layout(None, 1, "bf16", True, TOKENS))
    fp32 = estimate_memory(SHAPE_7B, Layout(None, 1, "fp32", True, TOKENS))
    assert (bf16.weights, bf16.gradients, bf16.optimizer) == (6 * P7B, 4 * P7B, 8 * P7B)
    assert fp32.weights == 4 * P7B
    # fp32 activations take twice the bytes of bf16 ones
    assert fp32.activations == 2 * bf16.activations


def test_7b_on_eight_80gb_gpus_fits_with_checkpointing_and_not_without() -> None:
    h100 = 80 * GB
    with_ckpt = estimate_memory(SHAPE_7B, Layout(3, 8, "bf16", True, TOKENS))
    # 1.7 + 1.7 + 10.1 (state) + 6.6 (activations) + 7.3 (logits)
    assert with_ckpt.total == pytest.approx(27.4 * GB, rel=0.01)
    require_fit(with_ckpt, h100, "one H100")
    without = estimate_memory(SHAPE_7B, Layout(3, 8, "bf16", False, TOKENS))
    with pytest.raises(UsageError) as info:
        require_fit(without, h100, "one H100")
    text = str(info.value)
    assert "does not fit one H100" in text and "activations" in text and "73.0 GB" in text
    assert "gradient_checkpointing: true" in text


def test_model_shape_of_a_folder_without_config_is_a_clear_error(tmp_path: Path) -> None:
    from seedtree.errors import ConfigError

    with pytest.raises(ConfigError, match=r"config\.json"):
        model_shape(tmp_path)


def _recipe_file(recipe: Recipe, path: Path, **changes: object) -> Path:
    raw = {**recipe.model_dump(mode="json"), **changes}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_train_estimate_prints_the_estimate_alone(
    tiny_model_dir: Path,
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recipe = _recipe_file(fast_recipe(), tmp_path / "r.yaml", gradient_checkpointing=True)
    args = ["train", "--from", str(tiny_model_dir), "--recipe", str(recipe), "--estimate"]
    code = run([*args, "--world-size", "4", "-C", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "plain engine, 4 rank(s), fp32, 192 tokens per micro-batch" in out
    assert "gradient checkpointing on" in out
    for part in ("weights", "gradients", "optimizer state", "activations", "logits", "total"):
        assert f"  {part}" in out
    assert not (tmp_path / "out").exists()


def test_train_refuses_a_recipe_that_cannot_fit_before_loading_the_model(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a ten-million-token micro-batch: its logits alone need terabytes
    recipe = _recipe_file(fast_recipe(), tmp_path / "r.yaml", token_budget=10_000_000)
    out = tmp_path / "out"
    args = ["train", "--data", str(make_dataset(n=8)), "--from", str(tiny_model_dir)]
    code = run([*args, "--out", str(out), "--recipe", str(recipe), "-C", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "the recipe does not fit" in err and "logits" in err and "lower token_budget" in err
    assert not out.exists()
