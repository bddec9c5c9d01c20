"""Fixtures of the attack tests: a taxonomy repository and a secret outside it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attacks import SECRET


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file next to the checkout that no contribution may read."""
    path = tmp_path / "runner-secrets" / "token.md"
    path.parent.mkdir()
    path.write_text(f"# token\n\n{SECRET}\nAKIA{'Q' * 16}\n", encoding="utf-8")
    return path


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    """The sample taxonomy in a real git repository, counting words instead of tokens."""
    root = make_repo()
    (root / "seedtree.yaml").write_text(
        "taxonomy_dir: taxonomy\ngenerate:\n  tokenizer: whitespace\n", encoding="utf-8"
    )
    return root
