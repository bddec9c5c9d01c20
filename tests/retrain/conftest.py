"""Fixtures for retrain tests: a small skills taxonomy in a real git repository, tiny models."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from retrain.support import LEAVES, commit, write_settings


@pytest.fixture
def skills_repo(make_repo: Callable[..., Path], tiny_model_dir: Path) -> Path:
    """Commit 1: three freeform skill leaves, settings for the tiny model."""
    repo = make_repo(with_taxonomy=False)
    for leaf, source in LEAVES.items():
        shutil.copytree(source, repo / "taxonomy" / leaf)
    write_settings(repo, tiny_model_dir)
    commit(repo, "three leaves")
    return repo
