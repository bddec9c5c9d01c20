"""Strategies: memory of LoRA, QLoRA and offload; which one auto picks; the estimate's output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT
from seedtree.cli import run
from seedtree.train.memory import GB, Layout, ModelShape, estimate_memory
from seedtree.train.recipe import Recipe
from seedtree.train.strategy import (
    TABLE_END,
    TABLE_START,
    Devices,
    options,
    pick,
    reference_table,
    resolve_auto,
)

P7B = 6_738_415_616
EMBED = 2 * 32_000 * 4096  # untied input embedding and output head
SHAPE = ModelShape(params=P7B, layers=32, hidden=4096, vocab=32_000, embedding=EMBED)
ADAPTER = 39_976_960  # rank 16 on the 7 projections of 32 layers
ONE_GPU = Layout(None, 1, "bf16", True, 4096)


def test_a_lora_phase_keeps_the_frozen_base_in_bf16_and_adam_only_for_the_adapter() -> None:
    est = estimate_memory(SHAPE, Layout(None, 1, "bf16", True, 4096, adapter=ADAPTER))
    assert est.weights == pytest.approx(2 * P7B + 6 * ADAPTER)
    assert (est.gradients, est.optimizer) == (4 * ADAPTER, 8 * ADAPTER)


def test_qlora_stores_the_blocks_in_4_bits_and_the_embeddings_in_16() -> None:
    est = estimate_memory(SHAPE, Layout(None, 1, "bf16", True, 4096, ADAPTER, quantized=True))
    base = est.weights - 6 * ADAPTER
    assert base == pytest.approx((P7B - EMBED) * (0.5 + 0.127 / 8) + 2 * EMBED)
    assert 3.8 * GB < base < 4.2 * GB


def test_offload_moves_optimizer_and_parameters_to_the_host() -> None:
    kept = estimate_memory(SHAPE, Layout(3, 1, "bf16", True, 4096))
    off = estimate_memory(
        SHAPE, Layout(3, 1, "bf16", True, 4096, offload_optimizer=True, offload_params=True)
    )
    assert off.optimizer == 0 and kept.optimizer == 12 * P7B
    assert off.weights < kept.weights / 10
    # optimizer state, fp32 gradients and the bf16 weights live in host memory instead
    assert off.host == pytest.approx(12 * P7B + 4 * P7B + 2 * P7B)


def test_auto_picks_full_when_it_fits_then_lora_then_qlora_never_qlora_without_cuda() -> None:
    def chosen(gb: float, cuda: bool = True, host: float = 64) -> str | None:
        found = options(SHAPE, ONE_GPU, ADAPTER, Devices(1, gb * GB, host * GB, cuda))
        picked = pick(found, offload=False)
        return picked.name if picked else None

    assert chosen(1000) == "full"
    assert chosen(48) == "lora"
    assert chosen(16) == "qlora"
    assert chosen(16, cuda=False) is None
    assert chosen(4) is None


def test_resolving_auto_to_offload_turns_it_on_in_the_deepspeed_config(
    fast_recipe: Callable[..., Recipe],
) -> None:
    found = options(SHAPE, Layout(3, 1, "bf16", True, 4096), ADAPTER, Devices(1, 80 * GB, 1e12))
    offload = next(o for o in found if o.name == "full+offload")
    recipe, ds = resolve_auto(
        fast_recipe(strategy="auto"), {"zero_optimization": {"stage": 3}}, offload
    )
    assert recipe.strategy == "full"
    assert ds is not None and ds["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert ds["zero_optimization"]["offload_param"]["device"] == "cpu"


def test_the_table_in_docs_train_md_is_the_estimator_s() -> None:
    page = (PROJECT_ROOT / "docs" / "train.md").read_text(encoding="utf-8")
    start, end = page.index(TABLE_START), page.index(TABLE_END) + len(TABLE_END)
    assert page[start:end] == reference_table(), (
        "docs/train.md's strategy table is out of date: python -m seedtree.train.strategy"
    )


def test_estimate_for_given_gpus_lists_every_strategy_and_the_pick(
    tiny_model_dir: Path,
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(fast_recipe(strategy="auto").model_dump(mode="json")))
    args = ["train", "--from", str(tiny_model_dir), "--recipe", str(recipe), "--estimate"]
    code = run([*args, "--gpus", "2", "--gpu-memory", "24", "--host-memory", "64"])
    out = capsys.readouterr().out
    assert code == 0
    assert "on 2 x 24 GB, host 32 GB per rank" in out
    for name in ("full", "full+offload", "lora", "qlora"):
        assert f"\n  {name} " in out
    assert "picks: full" in out  # a tiny model fits anything


def test_train_refuses_qlora_on_a_cpu_before_loading_the_model(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(fast_recipe(strategy="qlora").model_dump(mode="json")))
    out = tmp_path / "out"
    args = ["train", "--data", str(make_dataset(n=8)), "--from", str(tiny_model_dir)]
    code = run([*args, "--out", str(out), "--recipe", str(recipe), "-C", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "qlora needs a CUDA GPU" in err and "strategy: lora" in err
    assert not out.exists()


def test_doctor_fails_qlora_without_cuda_and_passes_it_with_a_gpu(
    fast_recipe: Callable[..., Recipe],
) -> None:
    import importlib.util

    from seedtree.retrain.doctor import check_qlora
    from seedtree.train.devices import Device, Machine

    cpu = Machine((), 64 * 2**30)
    gpu = Machine((Device("NVIDIA A10", (8, 6), 24 * 2**30),), 64 * 2**30)
    refused = check_qlora(fast_recipe(strategy="qlora"), cpu)
    assert refused.status == "fail" and "needs a CUDA GPU" in refused.detail
    assert check_qlora(fast_recipe(strategy="lora"), cpu).status == "skip"
    on_gpu = check_qlora(fast_recipe(strategy="qlora"), gpu)
    installed = importlib.util.find_spec("bitsandbytes") is not None
    assert on_gpu.status == ("ok" if installed else "fail")
