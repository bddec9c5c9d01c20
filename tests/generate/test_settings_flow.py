"""Generation takes the document settings it is handed and reads each leaf's documents once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generate.conftest import KNOWLEDGE, leaves_of
from generate.scripted import ScriptedTeacher
from seedtree.config import DocumentsConfig, GenerateConfig
from seedtree.generate import run as generation
from seedtree.taxonomy import docpolicy
from seedtree.taxonomy.documents import Document
from seedtree.taxonomy.identity import leaf_hash


def test_a_knowledge_leaf_documents_are_read_once_with_the_settings_handed_down(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (leaf,) = leaves_of(repo, KNOWLEDGE)
    expected_hash = leaf_hash(leaf, repo)
    loads: list[DocumentsConfig | None] = []
    real = generation.load_documents

    def counted(*args: Any, **kwargs: Any) -> list[Document]:
        loads.append(kwargs.get("settings"))
        return real(*args, **kwargs)

    def no_config(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("seedtree.yaml read again in the middle of a run")

    monkeypatch.setattr(generation, "load_documents", counted)
    monkeypatch.setattr(docpolicy, "load_config", no_config)
    settings = DocumentsConfig()
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=1, knowledge_sources=[])
    report = generation.generate_leaves(
        [leaf], ScriptedTeacher(), repo_root=repo, config=config, out_dir=tmp_path,
        quiet=True, documents=settings,
    )  # fmt: skip
    assert loads == [settings]  # once: the chunks and the hash come from the same documents
    assert report.leaves[KNOWLEDGE].leaf_hash == expected_hash
    assert report.leaves[KNOWLEDGE].chunks


class _SeedRecorder(ScriptedTeacher):
    def __init__(self) -> None:
        super().__init__()
        self.seeds: list[int] = []

    def _one(self, request: Any) -> Any:
        self.seeds.append(request.seed)
        return super()._one(request)


def _request_seeds(repo: Path, out: Path, seed: int) -> list[int]:
    from generate.conftest import SKILL

    (leaf,) = leaves_of(repo, SKILL)
    teacher = _SeedRecorder()
    config = GenerateConfig(tokenizer="whitespace", samples_per_leaf=2, seed=seed)
    generation.generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=out, quiet=True
    )
    return teacher.seeds


def test_generate_seed_draws_other_samples_and_zero_keeps_the_default_draw(
    repo: Path, tmp_path: Path
) -> None:
    default = _request_seeds(repo, tmp_path / "a", 0)
    # the same draw again: the same requests, every one answered from the answer cache
    assert default and _request_seeds(repo, tmp_path / "b", 0) == []
    other = _request_seeds(repo, tmp_path / "c", 7)
    assert len(other) >= 1 and not set(other) & set(default)
