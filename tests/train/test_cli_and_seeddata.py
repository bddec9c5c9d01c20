from __future__ import annotations

from pathlib import Path

import pytest

from helpers import PROJECT_ROOT, SAMPLE_TAXONOMY
from seedtree.cli import run
from seedtree.train.data import load_samples
from seedtree.train.seeddata import seed_datasets


def _train(tmp_path: Path, recipe: str) -> int:
    out = str(tmp_path / "out")
    return run(["train", "--data", str(tmp_path), "--from", str(tmp_path), "--out", out,
                "--recipe", recipe, "-C", str(tmp_path)])  # fmt: skip


def test_train_refuses_a_missing_recipe_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(tmp_path, "nope.yaml") == 2
    assert "recipe nope.yaml: no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_train_reports_an_invalid_recipe_with_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("phases: [{name: a, select: {}, lr: 1e-5, effective_batch: 0}]\n")
    assert _train(tmp_path, str(recipe)) == 2
    assert "phases.0.effective_batch" in capsys.readouterr().err


def test_seed_datasets_cover_every_leaf_with_short_and_long_knowledge() -> None:
    data = seed_datasets(SAMPLE_TAXONOMY, PROJECT_ROOT)
    samples = load_samples(data)
    assert set(samples) == set(data) and len(samples) >= 5
    for leaf, rows in samples.items():
        assert rows and len({s.id for s in rows}) == len(rows)
        if leaf.startswith("knowledge/"):
            assert {s.length for s in rows} == {"short", "long"}
            assert all(s.kind == "knowledge" for s in rows)
