"""Fixtures of the attack tests: a taxonomy repository and a secret outside it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attacks import SECRET


@pytest.fixture(autouse=True)
def _removed_after(tmp_path: Path) -> Iterator[None]:
    """Each attack's folder is removed when it ends: some build trees a thousand folders deep,
    which pytest's recursive clean-up of old temporary folders cannot remove later."""
    yield
    subprocess.run(["rm", "-rf", str(tmp_path)], check=False)


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
