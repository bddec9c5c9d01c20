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
