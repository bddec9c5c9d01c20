"""MFU arithmetic with injected device names; the phase summary reports tokens per second."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.train.flops import flops_per_token, peak_flops, throughput
from seedtree.train.memory import ModelShape
from seedtree.train.recipe import Recipe
from seedtree.train.run import train_run

SHAPE_7B = ModelShape(params=6_738_415_616, layers=32, hidden=4096, vocab=32_000)


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA A100 80GB PCIe", 312.0),
        ("NVIDIA H100 80GB HBM3", 989.0),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.0),
        ("NVIDIA H200", 989.0),
        ("NVIDIA L40S", 362.0),
    ],
)
def test_peak_of_known_devices(name: str, tflops: float) -> None:
    assert peak_flops(name) == tflops * 1e12


def test_flops_per_token_is_six_p_plus_attention() -> None:
    # 6 * 6.74e9 + 12 * 32 * 4096 * 1000 (mean sample length 1000)
    assert flops_per_token(SHAPE_7B, 1000) == 6 * 6_738_415_616 + 12 * 32 * 4096 * 1000


def test_mfu_of_a_7b_model_on_eight_h100() -> None:
    per_token = flops_per_token(SHAPE_7B, 1000)  # 4.19e10 FLOPs
    # 8 GPUs at 3000 tokens/s each: 24000 tokens/s * 4.19e10 / (8 * 989e12) = 12.7%
    speed = throughput(240_000, 10.0, per_token, "NVIDIA H100 80GB HBM3", 8)
    assert speed.tokens_per_s == 24_000
    assert speed.mfu == pytest.approx(24_000 * per_token / (8 * 989e12))
    assert speed.mfu == pytest.approx(0.127, abs=0.001)
    assert speed.describe() == "24,000 tokens/s, MFU 12.7%"


@pytest.mark.parametrize("name", [None, "Tesla V100-SXM2-32GB", "NVIDIA GeForce RTX 4090"])
def test_unknown_devices_and_cpus_get_tokens_per_second_only(name: str | None) -> None:
    speed = throughput(1000, 2.0, 1e9, name, 1)
    assert speed.mfu is None
    assert speed.describe() == "500 tokens/s"


def test_each_phase_reports_tokens_per_second(
    tiny_model_dir: Path,
    make_dataset: Callable[..., Path],
    fast_recipe: Callable[..., Recipe],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    phase = {"name": "all", "select": {}, "lr": 3e-3, "effective_batch": 4, "min_steps": 2}
    recipe = fast_recipe(phases=[phase])
    result = train_run(make_dataset(n=8), tiny_model_dir, tmp_path / "out", recipe)
    err = capsys.readouterr().err
    for phase in result.phases:
        assert phase.tokens_per_s is not None and phase.tokens_per_s > 0
        assert phase.mfu is None  # a CPU has no peak in the table
        assert re.search(rf"phase {phase.name}: [\d,]+ tokens/s\n", err)
