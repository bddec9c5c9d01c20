"""Fixtures for training tests: small per-leaf JSONL datasets and a fast recipe."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedtree.train.recipe import Recipe, recipe_from_dict

WORDS = ["red", "blue", "green", "cat", "dog", "sun", "moon", "tree", "river", "stone"]
LEAVES = {"knowledge/science/tides": "knowledge", "compositional_skills/writing/haiku": "skill"}


def record(leaf: str, kind: str, i: int, rng: random.Random, version: str = "h1") -> dict[str, Any]:
    # each leaf has its own vocabulary pattern so that learning one is measurable
    words = WORDS[:5] if kind == "knowledge" else WORDS[5:]
    answer = " ".join(rng.choice(words) for _ in range(rng.randint(4, 24)))
    return {
        "id": f"{leaf}#{version}#{i}",
        "messages": [
            {"role": "system", "content": "You are a test."},
            {"role": "user", "content": f"Question {i} about {leaf.rsplit('/', 1)[-1]}?"},
            {"role": "assistant", "content": answer},
        ],
        "metadata": {
            "leaf": leaf,
            "leaf_hash": version,
            "kind": kind,
            "length": "short" if i % 3 else "long",
        },
    }


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Write one JSONL file per leaf into a fresh folder; return the folder."""

    def build(n: int = 24, leaves: dict[str, str] | None = None, version: str = "h1") -> Path:
        folder = tmp_path / f"data-{version}-{n}"
        folder.mkdir(exist_ok=True)
        for leaf, kind in (leaves or LEAVES).items():
            rng = random.Random(leaf)
            rows = [record(leaf, kind, i, rng, version) for i in range(n)]
            text = "".join(json.dumps(r) + "\n" for r in rows)
            (folder / f"{leaf.replace('/', '__')}.jsonl").write_text(text, encoding="utf-8")
        return folder

    return build


def _fast_recipe(**overrides: Any) -> Recipe:
    """Two short phases (knowledge, then skills replaying knowledge) on a tiny model."""
    phase = {"lr": 3e-3, "effective_batch": 4, "min_steps": 4, "warmup_steps": 2}
    raw: dict[str, Any] = {
        "seed": 7,
        "max_seq_len": 128,
        "token_budget": 192,
        "precision": "fp32",
        "checkpoint_every": 3,
        "heldout": {"fraction": 0.15, "min_per_leaf": 2},
        "phases": [
            {"name": "knowledge", "select": {"kinds": ["knowledge"]}, **phase},
            {
                "name": "skills",
                "select": {"kinds": ["skill"]},
                "replay": [{"select": {"kinds": ["knowledge"]}, "ratio": 0.5}],
                **phase,
            },
        ],
    }
    raw.update(overrides)
    return recipe_from_dict(raw)


@pytest.fixture
def fast_recipe() -> Callable[..., Recipe]:
    return _fast_recipe
