"""Fixtures of the diff tests; makes ``diffutil`` importable for them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diffutil import commit_all

from helpers import git


@pytest.fixture
def doc_repo(tmp_path: Path) -> Callable[..., tuple[Path, str]]:
    """A git repository holding the given files, committed; returns (folder, commit)."""

    def build(files: dict[str, bytes], name: str = "docs") -> tuple[Path, str]:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        for rel, data in files.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_bytes(data)
        return repo, commit_all(repo, "documents")

    return build
