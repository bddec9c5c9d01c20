"""The leaf content hash: what changes it and what does not."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from seedtree.errors import UsageError
from seedtree.taxonomy.identity import leaf_hash
from seedtree.taxonomy.leaves import load_leaf

BICYCLE = "knowledge/history/technology/bicycle"
SKILL = """\
version: 3
task_description: Answer briefly.
created_by: test
seed_examples:
  - question: What is a haiku?
    answer: >
      A short poem of three lines
      with five, seven and five syllables.
"""


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo()


def hash_of(repo: Path, leaf_id: str) -> str:
    return leaf_hash(load_leaf(repo / "taxonomy" / leaf_id / "qna.yaml", repo / "taxonomy"), repo)


def write_skill(repo: Path, text: str, leaf_id: str = "compositional_skills/t/haiku") -> str:
    folder = repo / "taxonomy" / leaf_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qna.yaml").write_text(text, encoding="utf-8")
    (folder / "attribution.txt").write_text("Title of work: Test\n", encoding="utf-8")
    return hash_of(repo, leaf_id)


def test_hash_is_stable_and_hex(repo: Path) -> None:
    first = hash_of(repo, BICYCLE)
    assert first == hash_of(repo, BICYCLE)
    assert len(first) == 64 and int(first, 16) >= 0


def test_key_order_and_layout_do_not_change_it(repo: Path) -> None:
    original = write_skill(repo, SKILL)
    data = yaml.safe_load(SKILL)
    reordered = yaml.safe_dump(dict(reversed(list(data.items()))), sort_keys=False, width=30)
    assert reordered.splitlines()[0].startswith("seed_examples")
    assert write_skill(repo, reordered) == original
    assert write_skill(repo, yaml.safe_dump(data, default_style='"')) == original


def test_refolding_a_folded_scalar_does_not_change_it(repo: Path) -> None:
    original = write_skill(repo, SKILL)
    refolded = SKILL.replace(
        "      A short poem of three lines\n      with five, seven and five syllables.\n",
        "      A short poem of three\n      lines with five, seven\n      and five syllables.\n",
    )
    assert refolded != SKILL
    assert write_skill(repo, refolded) == original


@pytest.mark.parametrize(
    ("old", "new"),
    [("three lines", "three  lines"), ("brief", "Brief"), ("syllables.", "syllables!")],
)
def test_any_change_inside_a_string_changes_it(repo: Path, old: str, new: str) -> None:
    original = write_skill(repo, SKILL)
    assert write_skill(repo, SKILL.replace(old, new)) != original


def test_attribution_and_document_bytes_change_it(repo: Path) -> None:
    original = hash_of(repo, BICYCLE)
    attribution = repo / "taxonomy" / BICYCLE / "attribution.txt"
    attribution.write_text(attribution.read_text(encoding="utf-8") + " ", encoding="utf-8")
    after_attribution = hash_of(repo, BICYCLE)
    assert after_attribution != original
    document = repo / "taxonomy" / BICYCLE / "bicycle_history.md"
    document.write_bytes(document.read_bytes().replace(b"bicycle", b"bicycIe", 1))
    assert hash_of(repo, BICYCLE) not in (original, after_attribution)


def test_moving_a_leaf_keeps_its_hash(repo: Path) -> None:
    original = write_skill(repo, SKILL)
    shutil.move(repo / "taxonomy/compositional_skills/t", repo / "taxonomy/compositional_skills/u")
    assert hash_of(repo, "compositional_skills/u/haiku") == original


def test_unresolvable_documents_raise(repo: Path) -> None:
    (repo / "taxonomy" / BICYCLE / "bicycle_history.md").unlink()
    with pytest.raises(UsageError, match="matches nothing"):
        hash_of(repo, BICYCLE)


def test_odd_yaml_keys_and_dates_hash(repo: Path) -> None:
    text = SKILL + "1: one\ntrue: yes\ncreated: 2024-05-01\n"
    first = write_skill(repo, text)
    assert write_skill(repo, text.replace("2024-05-01", "2024-05-02")) != first
