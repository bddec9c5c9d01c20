"""The sample taxonomy and the demo's extra leaves: valid, and fit for generation."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import PROJECT_ROOT, SAMPLE_TAXONOMY
from seedtree.config import ValidateConfig
from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.leaves import Leaf, load_leaf, load_taxonomy
from seedtree.validate.api import validate_paths

DEMO = PROJECT_ROOT / "tooling/seedtree/data/demo"


def test_sample_taxonomy_has_no_findings_at_all() -> None:
    result = validate_paths([SAMPLE_TAXONOMY], config=ValidateConfig())
    assert result.files == 5
    assert result.findings == []


def test_sample_taxonomy_has_every_kind_of_leaf() -> None:
    kinds = sorted(leaf.kind for leaf in load_taxonomy(SAMPLE_TAXONOMY))
    assert kinds == ["grounded_skill", "knowledge", "knowledge", "skill", "skill"]


def _unwrap(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "leaf", [p for p in load_taxonomy(SAMPLE_TAXONOMY) if p.kind == "knowledge"], ids=str
)
def test_knowledge_contexts_are_passages_of_their_document(leaf: Leaf) -> None:
    (document,) = load_documents(leaf, PROJECT_ROOT)
    assert document.path.startswith(f"taxonomy/{leaf.id}/")
    assert 1200 <= len(document.text.split()) <= 2500
    assert len(re.findall(r"^## ", document.text, re.MULTILINE)) >= 5
    assert len(leaf.knowledge_seeds) == 5
    for seed in leaf.knowledge_seeds:
        assert _unwrap(seed.context) in _unwrap(document.text)
        assert len(seed.qas) == 3


def _demo_destinations() -> dict[str, str]:
    """The README's table: demo folder -> intended taxonomy path."""
    rows = re.findall(r"^\| `(\w+)/` \| `([\w/]+)` \|", (DEMO / "README.md").read_text(), re.M)
    return dict(rows)


def test_demo_leaves_are_valid_where_the_demo_puts_them(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("demo-leaves")
    destinations = _demo_destinations()
    assert sorted(destinations) == sorted(p.name for p in DEMO.iterdir() if p.is_dir())
    for folder, where in destinations.items():
        shutil.copytree(DEMO / folder, repo / "taxonomy" / where)
    result = validate_paths([repo / "taxonomy"], config=ValidateConfig())
    assert result.files == 7 and result.findings == []
    tides = load_leaf(repo / "taxonomy" / destinations["tides"] / "qna.yaml")
    (document,) = load_documents(tides, repo)
    for seed in tides.knowledge_seeds:
        assert _unwrap(seed.context) in _unwrap(document.text)
