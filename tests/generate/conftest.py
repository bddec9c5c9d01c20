"""Fixtures for generation tests: a real git repository with the sample taxonomy, a small config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.config import GenerateConfig
from seedtree.taxonomy.leaves import Leaf, load_taxonomy

SKILL = "compositional_skills/writing/poetry/haiku"
GROUNDED = "compositional_skills/grounded/summarize_meeting_notes"
KNOWLEDGE = "knowledge/history/technology/bicycle"


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo("taxo")


@pytest.fixture
def config() -> GenerateConfig:
    return GenerateConfig(tokenizer="whitespace", samples_per_leaf=6, chunk_tokens=200)


def leaves_of(repo: Path, *ids: str) -> list[Leaf]:
    found = load_taxonomy(repo / "taxonomy")
    return [leaf for leaf in found if not ids or leaf.id in ids]
