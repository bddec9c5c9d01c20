from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT
from seedtree.errors import ConfigError
from seedtree.train.recipe import load_recipe


def test_shipped_recipes_validate() -> None:
    gpu = load_recipe(PROJECT_ROOT / "training" / "recipe.yaml")
    cpu = load_recipe(PROJECT_ROOT / "training" / "recipe.cpu.yaml")
    assert [p.name for p in gpu.phases] == ["knowledge_short", "knowledge_long", "skills"]
    assert gpu.precision == "bf16" and min(p.effective_batch for p in gpu.phases) >= 1000
    assert cpu.precision == "fp32" and all(p.min_steps >= 50 for p in cpu.phases)
    long_phase = gpu.phases[1]
    assert long_phase.replay[0].select.lengths == ("short",)
    for name in ("zero2", "zero3"):
        config = json.loads((PROJECT_ROOT / "training" / "deepspeed" / f"{name}.json").read_text())
        assert config["zero_optimization"]["stage"] == int(name[-1])


def test_invalid_recipe_names_file_and_field(tmp_path: Path) -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "training" / "recipe.cpu.yaml").read_text())
    raw["phases"][1]["lr"] = -1
    raw["phases"][2]["select"]["kinds"] = ["knowlege"]
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    text = str(info.value)
    assert str(path) in text
    assert "phases.1.lr" in text and "phases.2.select.kinds.0" in text


def test_token_budget_must_hold_the_longest_sample(tmp_path: Path) -> None:
    path = tmp_path / "recipe.yaml"
    phase = {"name": "a", "select": {}, "lr": 1e-5, "effective_batch": 2}
    path.write_text(yaml.safe_dump({"max_seq_len": 512, "token_budget": 256, "phases": [phase]}))
    with pytest.raises(ConfigError, match="token_budget"):
        load_recipe(path)
