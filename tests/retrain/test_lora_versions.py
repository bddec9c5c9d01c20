"""Versions trained with LoRA and with full training, in either order, on a real repository.

v1 trains a LoRA adapter, v2 (after an edit) every weight from v1's merged model, v3 a LoRA
adapter again from v2: each is a plain model folder, each records the one before it, each
passed the gate, and the adapter is stored beside the model exactly when the version trained one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain.scripted import ScriptedTeacher
from retrain.support import LEAVES, RECIPE, commit, edit_task
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.train.adapters import ADAPTER
from seedtree.versions.tags import releases

pytestmark = pytest.mark.slow

LORA = {"strategy": "lora", "lora": {"rank": 32, "alpha": 64, "dropout": 0.0}}


def _set_strategy(repo: Path, lora: bool) -> None:
    path = repo / "recipe.yaml"
    recipe: dict[str, Any] = yaml.safe_load(path.read_text())
    for key in LORA:
        recipe.pop(key, None)
    # full training as the other retrain tests run it (a copy: RECIPE is shared)
    recipe["phases"] = copy.deepcopy(RECIPE["phases"])
    if lora:
        recipe.update(LORA)
        # an adapter on a tiny random model learns slowly (the output head is not adapted): a
        # larger rate and more steps, so that the gate sees it learn
        recipe["phases"][0].update(lr=5.0e-2, min_steps=24, max_steps=30)
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))


def _lower_the_bar(repo: Path) -> None:
    """The gate of these runs asks a fall of 0.2%: a rank-32 adapter on a random 64-wide model
    learns under 1% in a few steps (the gate's rule itself is tested in test_gate.py)."""
    path = repo / "seedtree.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    config["retrain"]["min_learning"] = 0.002
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _release(repo: Path, lora: bool, change: str | None) -> None:
    _set_strategy(repo, lora)
    _lower_the_bar(repo)
    if change is not None:
        edit_task(repo, sorted(LEAVES)[0], change)
    commit(repo, f"{'lora' if lora else 'full'} version")
    options = Options(quiet=True)
    assert retrain(open_project(repo), options, teacher_factory=lambda _c: ScriptedTeacher()) == 0


def test_lora_and_full_versions_alternate_with_lineage_and_gate_intact(skills_repo: Path) -> None:
    from transformers import AutoModelForCausalLM

    repo = skills_repo
    _release(repo, lora=True, change=None)
    _release(repo, lora=False, change="Answer in one word.")
    _release(repo, lora=True, change="Answer in two words.")
    found = releases(repo)
    assert [r.version for r in found] == ["v1", "v2", "v3"]
    assert [r.lineage.previous for r in found] == [None, "v1", "v2"]
    assert all(r.lineage.gate.passed for r in found)
    for release, lora in zip(found, (True, False, True), strict=True):
        model = RepoHome.of(repo).version(release.version) / "model"
        AutoModelForCausalLM.from_pretrained(model)
        assert (model / ADAPTER / "adapter_config.json").is_file() == lora
